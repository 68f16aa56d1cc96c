// Package hardware is the station's one view of a scanner, whatever drives
// it (SANE, a watched folder, USB, the simulator): a device that feeds a
// stack of sheets and hands over one page image at a time.
//
// Adapters register themselves under a name; Open picks one by a spec such
// as "sim" or "sim:seed=7,count=40", so the rest of the station never
// imports an adapter directly.
package hardware

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
)

// Page is one scanned page image as the device produced it.
type Page struct {
	// Seq is the 1-based position of the page in the stack order of the
	// opened device; stable across retries. A device opened afresh (after
	// it went away and came back) numbers from its own start, usually 1:
	// whoever reopens it keeps the sequence across (scanner.Session does).
	Seq    int
	Data   []byte // the encoded image
	Format string // jpeg, png or tiff
	DPI    int    // nominal resolution the device scanned at
	Side   string // front or back
	Name   string // a file name the device suggests, e.g. 0001.jpg
}

// Page sides.
const (
	Front = "front"
	Back  = "back"
)

// Source is where the sheets come from.
type Source string

// Sources a device may offer.
const (
	Flatbed Source = "Flatbed" // one sheet on the glass
	ADF     Source = "ADF"     // automatic document feeder, front sides
	Duplex  Source = "Duplex"  // feeder, both sides of every sheet
)

// Capabilities is what a device can do.
type Capabilities struct {
	Sources []Source
	DPIs    []int
	Modes   []string // e.g. gray, color, lineart
}

// Device describes a scanner.
type Device struct {
	ID      string // stable, unique among the devices of one adapter
	Name    string // for people
	Adapter string // the name the adapter registered under
	// Spec opens the device with Open; discovery fills it in. Empty when
	// the device was seen but no adapter drives it as it is (a USB scanner
	// that SANE does not know yet).
	Spec string
	// Note says more for people when there is more to say, e.g. which
	// SANE device a USB scanner is, or why it cannot be used yet.
	Note string
	Caps Capabilities
}

// Options are the settings of one scan run. Zero values leave the choice
// to the device.
type Options struct {
	Source Source
	DPI    int
	Mode   string
}

// Scanner is a scanning device.
//
// Scan feeds sheets until the stack is empty and calls deliver with every
// page in order. It returns nil when the feeder ran empty, a *Fault when
// the device reports an event, ctx.Err() when ctx is cancelled, and the
// error of deliver when deliver fails. A page is delivered once: the stack
// position advances only when deliver returned nil, so a page refused by
// deliver, or a sheet that jammed or was double-fed, stays in the stack
// and comes first on the next Scan. Nothing is lost and nothing repeats.
// Scan is not safe for concurrent use with itself.
//
// A device that went away (unplugged, switched off, off the network)
// stays gone: from the Scan that reported the DeviceGone fault on, every
// Scan returns that fault again and touches nothing, until the device is
// closed and opened afresh through the registry (Reopen), as after
// replugging it. The sheets not yet fed are still in the feeder then, and
// the new device goes on with them.
type Scanner interface {
	Device() Device
	Scan(ctx context.Context, opts Options, deliver func(Page) error) error
}

// FaultKind is a device event that stops a scan run.
type FaultKind string

// Device events.
const (
	PaperJam   FaultKind = "paper jam"
	DoubleFeed FaultKind = "double feed"
	CoverOpen  FaultKind = "cover open"
	DeviceGone FaultKind = "device gone"
	// Rejected is a sheet or file the device could not make a page of
	// (an empty or oversized file in a watched folder); it is passed
	// over, and the next Scan goes on after it.
	Rejected FaultKind = "rejected"
)

// Fault is a device event reported by Scan.
type Fault struct {
	Kind   FaultKind
	Device string // Device.ID
	// After is the Seq of the last page delivered before the event, 0 when
	// none had been delivered on this device yet.
	After int
	// Detail says more for people, in Russian, when the kind alone does
	// not (which file was rejected and why).
	Detail string
}

func (f *Fault) Error() string {
	return fmt.Sprintf("scanner %s: %s after page %d", f.Device, f.Kind, f.After)
}

// Opener opens a device of an adapter; arg is the part of the spec after
// the colon, "" when there is none.
type Opener func(arg string) (Scanner, error)

var registry struct {
	sync.Mutex
	openers map[string]Opener
}

// Register makes an adapter available to Open under a name. It is meant
// for init functions and panics when the name is taken, as a programming
// error would.
func Register(adapter string, open Opener) {
	registry.Lock()
	defer registry.Unlock()
	if adapter == "" || strings.Contains(adapter, ":") || open == nil {
		panic(fmt.Sprintf("hardware: bad adapter registration %q", adapter))
	}
	if registry.openers == nil {
		registry.openers = map[string]Opener{}
	}
	if _, dup := registry.openers[adapter]; dup {
		panic("hardware: adapter registered twice: " + adapter)
	}
	registry.openers[adapter] = open
}

// Adapters lists the registered adapter names in order.
func Adapters() []string {
	registry.Lock()
	defer registry.Unlock()
	out := make([]string, 0, len(registry.openers))
	for name := range registry.openers {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Open opens a device by a spec "ADAPTER" or "ADAPTER:ARG".
func Open(spec string) (Scanner, error) {
	name, arg, _ := strings.Cut(spec, ":")
	registry.Lock()
	open, ok := registry.openers[name]
	registry.Unlock()
	if !ok {
		return nil, fmt.Errorf("scanner %q: unknown adapter %q (known: %s)", spec, name, strings.Join(Adapters(), ", "))
	}
	s, err := open(arg)
	if err != nil {
		return nil, fmt.Errorf("scanner %q: %w", spec, err)
	}
	return s, nil
}

// Held are pages a device scanned that the receiver has not accepted yet.
// A real feeder does not take a sheet back, so an adapter keeps such pages
// (refused by the receiver, or arriving while a Scan was cancelled) and
// delivers them first on the next Scan, with their numbers: nothing is
// lost and nothing repeats. The zero value holds none.
type Held struct{ pages []Page }

// Keep holds a page, after the ones held already.
func (h *Held) Keep(p Page) { h.pages = append(h.pages, p) }

// Len is how many pages are held.
func (h *Held) Len() int { return len(h.pages) }

// Deliver hands the held pages to deliver in order, letting go of each
// one deliver accepts. It stops at deliver's first error, which it
// returns, and returns ctx.Err() when ctx ended before or after.
func (h *Held) Deliver(ctx context.Context, deliver func(Page) error) error {
	for len(h.pages) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := deliver(h.pages[0]); err != nil {
			return err
		}
		h.pages = h.pages[1:]
	}
	return ctx.Err()
}

// Close lets go of a device. Adapters that hold something while open (a
// claimed USB interface, connections, a record to save) implement
// io.Closer; for the others there is nothing to do.
func Close(s Scanner) error {
	if c, ok := s.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// Reopen closes a device that went away and opens its spec afresh, as
// after replugging it. An error means it is not back (yet); the caller
// asks the operator and tries again.
func Reopen(spec string, gone Scanner) (Scanner, error) {
	if gone != nil {
		// Closing a device that is gone may fail (its folder is still
		// away); the fresh device is what matters.
		_ = Close(gone)
	}
	return Open(spec)
}

// Gone keeps a device gone once it went away (see Scanner): an adapter
// passes every Scan's result through Keep and returns Err first while it
// is not nil. The zero value is a device that is there.
type Gone struct{ f *Fault }

// Keep returns err, remembering it when it is a DeviceGone fault.
func (g *Gone) Keep(err error) error {
	var f *Fault
	if g.f == nil && errors.As(err, &f) && f.Kind == DeviceGone {
		c := *f
		g.f = &c
	}
	return err
}

// Err is the DeviceGone fault the device reported, again, or nil while
// it has not gone away.
func (g *Gone) Err() error {
	if g.f == nil {
		return nil
	}
	c := *g.f
	return &c
}
