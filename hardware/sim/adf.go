package sim

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"giascan/forms"
	"giascan/hardware"
)

func init() {
	hardware.Register("sim", func(arg string) (hardware.Scanner, error) { return Open(arg) })
}

// Faults asks the simulated feeder for device events. Numbers count sheets
// of the stack (pages in simplex); 0 means never. Each event happens once.
type Faults struct {
	JamAfter       int // paper jam after sheet N; sheet N+1 stays in the stack
	DoubleFeedAt   int // double feed detected at sheet N; it stays in the stack
	CoverOpenAfter int // cover opened after sheet N
	// GoneAfter unplugs the device after sheet N: it stays gone until it
	// is closed and its spec opened again (see ADF).
	GoneAfter int
}

// ADF is a simulated scanner with an automatic document feeder loaded with
// a planned stream. It implements hardware.Scanner (adapter "sim").
//
// A device-gone event is an unplug: the Scan that hit it and every Scan
// after return the fault, until the ADF is closed and its spec opened again
// through the registry, which is replugging it: the fresh ADF has the stack
// where the unplugged one left it and goes on numbering from there. An ADF
// made by New or NewShape has no spec and is not reopened.
type ADF struct {
	scanning  sync.Mutex // one Scan at a time
	mu        sync.Mutex // guards truth, which a receiver may read during a Scan
	dev       hardware.Device
	sheets    []Sheet
	set       Settings
	faults    Faults
	fired     map[hardware.FaultKind]bool
	pos       int  // next sheet to feed
	backDue   bool // duplex: the front of sheet pos went out, its back did not
	delivered int  // pages delivered so far; the next page's Seq is delivered+1
	resume    int  // pages stored by an earlier run, skipped by the first Scan (Open's resume=N)
	truth     map[int]forms.PageResult
	how       []variant // planted rendering by stack position (plant.go); nil without plants
	spec      string    // the argument Open was given; "" from New
	gone      hardware.Gone
	closed    bool
}

// unplugged are the feeders closed while gone, by the spec that opened
// them: the next Open of that spec plugs the feeder in again.
var unplugged = struct {
	sync.Mutex
	by map[string]*ADF
}{by: map[string]*ADF{}}

// Close lets go of the feeder. A feeder that went away is set aside with
// its stack, for the next Open of its spec.
func (a *ADF) Close() error {
	a.scanning.Lock()
	defer a.scanning.Unlock()
	if a.closed {
		return nil
	}
	a.closed = true
	if a.gone.Err() != nil && a.spec != "" {
		unplugged.Lock()
		unplugged.by[a.spec] = a
		unplugged.Unlock()
	}
	return nil
}

// replugged takes back the feeder unplugged under spec, if there is one:
// a new ADF with its stack, its position and its numbering.
func replugged(spec string) *ADF {
	unplugged.Lock()
	old := unplugged.by[spec]
	delete(unplugged.by, spec)
	unplugged.Unlock()
	if old == nil {
		return nil
	}
	a := newFeeder(old.dev.ID, old.sheets, old.set, old.faults)
	a.dev = old.dev
	a.pos, a.backDue, a.delivered, a.how, a.spec = old.pos, old.backDue, old.delivered, old.how, old.spec
	old.mu.Lock()
	for k, v := range old.truth {
		a.truth[k] = v
	}
	old.mu.Unlock()
	for k, v := range old.fired {
		a.fired[k] = v
	}
	return a
}

// New loads a simulated feeder with count pages of the stream of seed.
func New(seed int64, count int, set Settings, faults Faults) (*ADF, error) {
	if err := set.check(); err != nil {
		return nil, err
	}
	sheets, err := Plan(seed, count)
	if err != nil {
		return nil, err
	}
	return newFeeder(fmt.Sprintf("sim-%d-%d-%s", seed, count, set.Profile), sheets, set, faults), nil
}

// NewShape loads a simulated feeder with the stack of one ППЭ of auds
// auditoriums of kits participants (PlanShape).
func NewShape(seed int64, auds, kits int, set Settings, faults Faults) (*ADF, error) {
	if err := set.check(); err != nil {
		return nil, err
	}
	sheets, err := PlanShape(seed, auds, kits)
	if err != nil {
		return nil, err
	}
	return newFeeder(fmt.Sprintf("sim-%d-%dx%d-%s", seed, auds, kits, set.Profile), sheets, set, faults), nil
}

func newFeeder(id string, sheets []Sheet, set Settings, faults Faults) *ADF {
	return &ADF{
		dev: hardware.Device{ID: id, Name: fmt.Sprintf("Имитатор сканера с автоподатчиком (профиль %s)", set.Profile), Adapter: "sim",
			Caps: hardware.Capabilities{
				Sources: []hardware.Source{hardware.ADF, hardware.Duplex},
				DPIs:    []int{150, 200, 240, 300, 400, 600},
				Modes:   []string{ModeGray, ModeColor, ModeLineart},
			}},
		sheets: sheets, set: set, faults: faults,
		fired: map[hardware.FaultKind]bool{}, truth: map[int]forms.PageResult{},
	}
}

// Open makes a feeder from a spec argument: comma-separated key=value
// pairs seed, count, profile (clean, real, hard), jam, double, cover,
// gone (sheet numbers as in Faults; gone=N unplugs the device after sheet
// N, and opening the same spec again after closing it plugs it back in
// with the rest of the stack), resume (pages an earlier run of the
// same stack stored: the first Scan skips them, without rendering them,
// and numbers pages on from resume+1; in Duplex a page is a side), and
// the keys of Plants (from,
// dupscan, dupbarcode, foreign, drop, gap, smudge, removed) and of Trainer
// (exam, auditorium, kit). Defaults:
// seed=1, count=20, profile=real, no faults, nothing planted; shape=AxK
// feeds one ППЭ of A auditoriums of K participants instead. Example:
// "seed=7,count=40,profile=hard,jam=5".
func Open(arg string) (*ADF, error) {
	if a := replugged(arg); a != nil {
		return a, nil
	}
	seed, count, profile := int64(1), 20, Real
	auds, kits := 0, 0
	resume := 0
	var f Faults
	var plants Plants
	var trainer Trainer
	for _, kv := range strings.Split(arg, ",") {
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("sim: %q is not key=value", kv)
		}
		var err error
		switch k {
		case "seed":
			seed, err = strconv.ParseInt(v, 10, 64)
		case "profile":
			profile, err = ParseProfile(v)
		case "count":
			count, err = strconv.Atoi(v)
		case "shape": // AUDSxKITS: one ППЭ of that size, e.g. 15x20
			a, k, ok := strings.Cut(v, "x")
			if auds, err = strconv.Atoi(a); err == nil && ok {
				kits, err = strconv.Atoi(k)
			} else if err == nil {
				err = errors.New("want AUDITORIUMSxKITS, e.g. 15x20")
			}
		case "jam":
			f.JamAfter, err = strconv.Atoi(v)
		case "double":
			f.DoubleFeedAt, err = strconv.Atoi(v)
		case "cover":
			f.CoverOpenAfter, err = strconv.Atoi(v)
		case "gone":
			f.GoneAfter, err = strconv.Atoi(v)
		case "resume":
			resume, err = strconv.Atoi(v)
			if err == nil && resume < 0 {
				err = errors.New("want a number of pages from 0")
			}
		default:
			if IsPlantKey(k) {
				err = plants.Set(k, v)
				break
			}
			if IsTrainerKey(k) {
				err = trainer.Set(k, v)
				break
			}
			err = errors.New("unknown key")
		}
		if err != nil {
			return nil, fmt.Errorf("sim: %s: %w", kv, err)
		}
	}
	var a *ADF
	var err error
	if auds > 0 {
		a, err = NewShape(seed, auds, kits, Settings{Profile: profile}, f)
	} else {
		a, err = New(seed, count, Settings{Profile: profile}, f)
	}
	if err != nil {
		return nil, err
	}
	if !trainer.Zero() {
		if a.sheets, err = trainer.Apply(a.sheets); err != nil {
			return nil, fmt.Errorf("sim: %w", err)
		}
	}
	a.resume = resume
	a.spec, a.dev.Spec = arg, "sim"
	if arg != "" {
		a.dev.Spec += ":" + arg
	}
	if plants.Zero() {
		return a, nil
	}
	return a, a.plant(plants)
}

// Device describes the simulated scanner.
func (a *ADF) Device() hardware.Device { return a.dev }

// Sheets is the planned stack, front sides in feeding order.
func (a *ADF) Sheets() []Sheet { return slices.Clone(a.sheets) }

// Truth returns the expected recognizer output of a delivered front page
// by its Seq, with File set to the page's Name.
func (a *ADF) Truth(seq int) (forms.PageResult, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	t, ok := a.truth[seq]
	return t, ok
}

// fault returns the event due before feeding sheet pos, if any.
func (a *ADF) fault() *hardware.Fault {
	// due says whether an event set for sheet n (1-based, 0 = never) is
	// to happen when the feeder is at index pos.
	due := func(kind hardware.FaultKind, n, pos int) bool {
		return n > 0 && !a.fired[kind] && pos == n
	}
	var kind hardware.FaultKind
	switch {
	case due(hardware.DoubleFeed, a.faults.DoubleFeedAt, a.pos+1):
		kind = hardware.DoubleFeed
	case due(hardware.PaperJam, a.faults.JamAfter, a.pos):
		kind = hardware.PaperJam
	case due(hardware.CoverOpen, a.faults.CoverOpenAfter, a.pos):
		kind = hardware.CoverOpen
	case due(hardware.DeviceGone, a.faults.GoneAfter, a.pos):
		kind = hardware.DeviceGone
	default:
		return nil
	}
	a.fired[kind] = true
	return &hardware.Fault{Kind: kind, Device: a.dev.ID, After: a.delivered}
}

// Scan feeds the rest of the stack; see hardware.Scanner. Options.DPI and
// Options.Mode, when set, override the profile's choice for every page.
func (a *ADF) Scan(ctx context.Context, opts hardware.Options, deliver func(hardware.Page) error) error {
	a.scanning.Lock()
	defer a.scanning.Unlock()
	if err := a.gone.Err(); err != nil {
		return err
	}
	if a.closed {
		return errors.New("sim: the scanner was closed")
	}
	return a.gone.Keep(a.scan(ctx, opts, deliver))
}

func (a *ADF) scan(ctx context.Context, opts hardware.Options, deliver func(hardware.Page) error) error {
	if deliver == nil {
		return errors.New("sim: scan without a receiver for the pages")
	}
	duplex := false
	switch opts.Source {
	case "", hardware.ADF:
	case hardware.Duplex:
		duplex = true
	default:
		return fmt.Errorf("sim: source %q: this scanner has only a feeder (ADF, Duplex)", opts.Source)
	}
	if opts.DPI != 0 && !slices.Contains(a.dev.Caps.DPIs, opts.DPI) {
		return fmt.Errorf("sim: %d dpi is not one of %v", opts.DPI, a.dev.Caps.DPIs)
	}
	if opts.Mode != "" && !slices.Contains(a.dev.Caps.Modes, opts.Mode) {
		return fmt.Errorf("sim: mode %q is not one of %v", opts.Mode, a.dev.Caps.Modes)
	}
	set := a.set
	set.DPI, set.Mode = opts.DPI, opts.Mode
	if a.resume > 0 {
		a.skip(a.resume, duplex)
		a.resume = 0
	}
	if !duplex {
		a.backDue = false // a simplex run never sends the back it owed
	}
	for a.pos < len(a.sheets) {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !a.backDue {
			if f := a.fault(); f != nil {
				return f
			}
		}
		s := a.sheets[a.pos]
		var sc Scan
		var err error
		side := hardware.Front
		if a.backDue {
			side = hardware.Back
			sc, err = RenderBack(s, set)
		} else {
			sc, err = a.renderFront(s, set)
		}
		if err != nil {
			return fmt.Errorf("sim: %w", err)
		}
		seq := a.delivered + 1
		page := hardware.Page{Seq: seq, Data: sc.Data, Format: sc.Format, DPI: sc.DPI, Side: side,
			Name: fmt.Sprintf("%04d.%s", seq, sc.Ext)}
		if side == hardware.Front {
			// Known before delivery, so the receiver may look it up; a page
			// refused comes again with the same Seq and the same truth.
			sc.Truth.File = page.Name
			a.mu.Lock()
			a.truth[seq] = sc.Truth
			a.mu.Unlock()
		}
		if err := deliver(page); err != nil {
			return err
		}
		a.delivered++
		if duplex && !a.backDue {
			a.backDue = true
		} else {
			a.backDue = false
			a.pos++
		}
	}
	return nil
}

// skip moves the feeder past n pages an earlier run stored, as an operator
// reloads the stack from the first page the station does not have.
func (a *ADF) skip(n int, duplex bool) {
	if duplex {
		a.pos, a.backDue = n/2, n%2 == 1
	} else {
		a.pos = n
	}
	a.pos = min(a.pos, len(a.sheets))
	a.delivered = n
	// Events set at or before where the earlier run stopped happened
	// then: the stack the operator reloads does not jam at them again.
	for kind, at := range map[hardware.FaultKind]int{hardware.PaperJam: a.faults.JamAfter,
		hardware.CoverOpen: a.faults.CoverOpenAfter, hardware.DeviceGone: a.faults.GoneAfter, hardware.DoubleFeed: a.faults.DoubleFeedAt} {
		if at > 0 && at <= a.pos {
			a.fired[kind] = true
		}
	}
}
