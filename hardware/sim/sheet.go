package sim

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"

	"giascan/forms"
	"giascan/hardware"
)

// Tweaks force single figures of a sheet's degradation, whatever its
// profile draws: a readiness check's tests need a scanner that is off in
// exactly one way. Nil leaves the profile's choice.
type Tweaks struct {
	DPIErr *float64 // relative error of the real resolution, e.g. 0.03
	Skew   *float64 // degrees the content is turned clockwise on screen
	Turn   *int     // quarter turn of the sheet, degrees clockwise: 0, 90, 180, 270
	Noise  *float64 // sigma of the sensor noise, grey levels, on every pixel
	Faint  *float64 // contrast of the print, 1 = normal toner
	Blur   *float64 // Gaussian sigma in pixels at 300 dpi
}

func (t Tweaks) apply(p *scanParams) error {
	if t.DPIErr != nil {
		if *t.DPIErr <= -0.5 || *t.DPIErr >= 0.5 {
			return fmt.Errorf("dpi error %g is out of ±0.5", *t.DPIErr)
		}
		p.dpiErr = *t.DPIErr
	}
	if t.Skew != nil {
		if *t.Skew < -45 || *t.Skew > 45 {
			return fmt.Errorf("skew %g° is out of ±45°", *t.Skew)
		}
		p.skew = *t.Skew
	}
	if t.Turn != nil {
		switch *t.Turn {
		case 0, 90, 180, 270:
			p.turn = *t.Turn
		default:
			return fmt.Errorf("turn %d: want 0, 90, 180 or 270", *t.Turn)
		}
	}
	if t.Noise != nil {
		if *t.Noise < 0 || *t.Noise > 128 {
			return fmt.Errorf("noise %g is out of 0..128", *t.Noise)
		}
		p.noise, p.sparse = *t.Noise, 0
	}
	if t.Faint != nil {
		if *t.Faint <= 0 || *t.Faint > 1 {
			return fmt.Errorf("print contrast %g is out of (0, 1]", *t.Faint)
		}
		p.faint = *t.Faint
	}
	if t.Blur != nil {
		if *t.Blur < 0 || *t.Blur > 10 {
			return fmt.Errorf("blur %g is out of 0..10", *t.Blur)
		}
		p.blur = *t.Blur
	}
	if p.turn != 0 || p.skew != 0 {
		// A turned or skewed sheet needs room on the glass, as on the real
		// profiles, or its corners would be cut off.
		p.overscan = max(p.overscan, 6)
		if p.bg == 0 {
			p.bg = 235
		}
	}
	return nil
}

// RenderDrawing prints an arbitrary drawing (a calibration sheet, say)
// and scans it with the degradation of set's profile, drawn from seed.
func RenderDrawing(d *forms.Drawing, set Settings, seed int64) (Scan, error) {
	return RenderDrawingTweaked(d, set, seed, Tweaks{})
}

// RenderDrawingTweaked is RenderDrawing with some figures of the
// degradation forced. Truth holds the corrections only (rotation, skew):
// the sim knows nothing of the drawing's meaning.
func RenderDrawingTweaked(d *forms.Drawing, set Settings, seed int64, tw Tweaks) (Scan, error) {
	if d == nil || d.Width <= 0 || d.Height <= 0 {
		return Scan{}, errors.New("sim: drawing without a page size")
	}
	if err := set.check(); err != nil {
		return Scan{}, err
	}
	r := rand.New(rand.NewPCG(uint64(seed), 0x5ee7))
	p, err := drawParams(r, set)
	if err != nil {
		return Scan{}, err
	}
	if err := tw.apply(&p); err != nil {
		return Scan{}, fmt.Errorf("sim: %w", err)
	}
	renderDPI := float64(p.dpi) * (1 + p.dpiErr)
	print, err := forms.Rasterize(d, renderDPI)
	if err != nil {
		return Scan{}, fmt.Errorf("sim: %w", err)
	}
	// No pen: nobody writes on the sheet, and degrade reads the pen layer
	// only when there is ink.
	data, err := degrade(print, nil, 0, p, renderDPI, r)
	if err != nil {
		return Scan{}, fmt.Errorf("sim: %w", err)
	}
	ext := "png"
	if p.format == "jpeg" {
		ext = "jpg"
	}
	res := forms.NewPageResult("", 1)
	res.Rotation, res.Skew = p.rotation(), -p.skew
	return Scan{Data: data, Format: p.format, Ext: ext, DPI: p.dpi, Truth: res}, nil
}

// DrawingFeeder is a simulated scanner loaded with copies of one drawing,
// such as the calibration sheet of a readiness check. It implements
// hardware.Scanner; every copy is degraded with its own seed.
type DrawingFeeder struct {
	scanning sync.Mutex
	dev      hardware.Device
	drawing  *forms.Drawing
	set      Settings
	tweaks   Tweaks
	seed     int64
	count    int
	pos      int
}

// NewDrawingFeeder loads count copies of d.
func NewDrawingFeeder(d *forms.Drawing, seed int64, count int, set Settings, tw Tweaks) (*DrawingFeeder, error) {
	if err := set.check(); err != nil {
		return nil, err
	}
	if count < 1 || count > 1000 {
		return nil, fmt.Errorf("count %d is out of 1..1000", count)
	}
	if d == nil {
		return nil, errors.New("no drawing to load")
	}
	return &DrawingFeeder{
		dev: hardware.Device{ID: fmt.Sprintf("sim-sheet-%d-%s", seed, set.Profile),
			Name: fmt.Sprintf("Имитатор сканера с тестовым листом (профиль %s)", set.Profile), Adapter: "sim",
			Caps: hardware.Capabilities{
				Sources: []hardware.Source{hardware.Flatbed, hardware.ADF},
				DPIs:    []int{150, 200, 240, 300, 400, 600},
				Modes:   []string{ModeGray, ModeColor, ModeLineart},
			}},
		drawing: d, set: set, tweaks: tw, seed: seed, count: count,
	}, nil
}

// OpenDrawing makes a DrawingFeeder from a spec argument: comma-separated
// key=value pairs seed, count, profile (clean, real, hard; default clean:
// a well-fed sheet), and the Tweaks dpierr (per cent, e.g. 3 or -2.5),
// skew (degrees), turn, noise, faint and blur. A bare word "calibration"
// is accepted and names what the feeder holds. Example:
// "calibration,profile=real,seed=4,dpierr=3".
func OpenDrawing(d *forms.Drawing, arg string) (*DrawingFeeder, error) {
	seed, count, set := int64(1), 1, Settings{Profile: Clean}
	var tw Tweaks
	float := func(v string, dst **float64, scale float64) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return err
		}
		f *= scale
		*dst = &f
		return nil
	}
	for _, kv := range strings.Split(arg, ",") {
		if kv == "" || kv == "calibration" {
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
		case "count":
			count, err = strconv.Atoi(v)
		case "profile":
			set.Profile, err = ParseProfile(v)
		case "dpierr":
			err = float(v, &tw.DPIErr, 0.01)
		case "skew":
			err = float(v, &tw.Skew, 1)
		case "noise":
			err = float(v, &tw.Noise, 1)
		case "faint":
			err = float(v, &tw.Faint, 1)
		case "blur":
			err = float(v, &tw.Blur, 1)
		case "turn":
			var t int
			t, err = strconv.Atoi(v)
			tw.Turn = &t
		default:
			err = errors.New("unknown key")
		}
		if err != nil {
			return nil, fmt.Errorf("sim: %s: %w", kv, err)
		}
	}
	// Tweaks are checked here, not at the first scan, so a typo in the
	// device spec is bad input rather than a scanner fault.
	var probe scanParams
	if err := tw.apply(&probe); err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	return NewDrawingFeeder(d, seed, count, set, tw)
}

// Device describes the simulated scanner.
func (f *DrawingFeeder) Device() hardware.Device { return f.dev }

// Scan feeds the remaining copies; see hardware.Scanner. Options.DPI and
// Options.Mode, when set, override the profile's choice.
func (f *DrawingFeeder) Scan(ctx context.Context, opts hardware.Options, deliver func(hardware.Page) error) error {
	f.scanning.Lock()
	defer f.scanning.Unlock()
	if deliver == nil {
		return errors.New("sim: scan without a receiver for the pages")
	}
	switch opts.Source {
	case "", hardware.ADF, hardware.Flatbed:
	default:
		return fmt.Errorf("sim: source %q: this scanner offers %v", opts.Source, f.dev.Caps.Sources)
	}
	if opts.DPI != 0 && !slices.Contains(f.dev.Caps.DPIs, opts.DPI) {
		return fmt.Errorf("sim: %d dpi is not one of %v", opts.DPI, f.dev.Caps.DPIs)
	}
	if opts.Mode != "" && !slices.Contains(f.dev.Caps.Modes, opts.Mode) {
		return fmt.Errorf("sim: mode %q is not one of %v", opts.Mode, f.dev.Caps.Modes)
	}
	set := f.set
	set.DPI, set.Mode = opts.DPI, opts.Mode
	for f.pos < f.count {
		if err := ctx.Err(); err != nil {
			return err
		}
		sc, err := RenderDrawingTweaked(f.drawing, set, f.seed+int64(f.pos), f.tweaks)
		if err != nil {
			return err
		}
		seq := f.pos + 1
		if err := deliver(hardware.Page{Seq: seq, Data: sc.Data, Format: sc.Format, DPI: sc.DPI,
			Side: hardware.Front, Name: fmt.Sprintf("%04d.%s", seq, sc.Ext)}); err != nil {
			return err
		}
		f.pos++
	}
	return nil
}
