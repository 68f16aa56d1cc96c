// Package scanner runs scan sessions: it drives a hardware.Scanner for one
// auditorium, hands every page to a sink that makes it durable, reports
// device events so the operator can clear them and resume, and rescans a
// page in place. Recognition runs beside it in a Pool and never slows the
// intake of pages.
package scanner

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"giascan/hardware"
)

// Stored is what the sink reports for a page it accepted.
type Stored struct {
	Seq    int    // the page's sequence number in its auditorium
	SHA256 string // of the image bytes
	// Duplicate is true when the image is byte for byte one already
	// stored: the sink kept nothing new and Seq is the earlier page's.
	Duplicate bool
}

// Sink makes pages durable. Store returns only once the page is on disk;
// an error refuses the page, which then stays in the device's stack.
type Sink interface {
	Store(ctx context.Context, p hardware.Page) (Stored, error)
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(ctx context.Context, p hardware.Page) (Stored, error)

// Store implements Sink.
func (f SinkFunc) Store(ctx context.Context, p hardware.Page) (Stored, error) { return f(ctx, p) }

// EventKind says what happened in a session.
type EventKind string

// Session events.
const (
	PageStored    EventKind = "page"      // a page is durable
	PageDuplicate EventKind = "duplicate" // the device fed a page already stored
	DeviceFault   EventKind = "fault"     // the device stopped; see Event.Fault
	FeederEmpty   EventKind = "empty"     // the stack is done
)

// Event is one thing a session reports to its caller.
type Event struct {
	Kind  EventKind
	Page  Stored          // PageStored, PageDuplicate
	Raw   hardware.Page   // the page as the device gave it (Data included)
	Fault *hardware.Fault // DeviceFault
}

// Session feeds one auditorium's stack through a device into a sink. Its
// methods must not be called concurrently.
//
// The session owns the numbering of the stack: the sink and the events
// see every page with the Seq of its place in the stack, and faults with
// the place of the last page taken, whatever the device counts. A device
// opened again after it went away numbers from its own start; the stack's
// numbering goes on across it, with no page lost or numbered twice.
type Session struct {
	dev    hardware.Scanner
	sink   Sink
	opts   hardware.Options
	notify func(Event)
	reopen Reopener

	mu     sync.Mutex
	stored int // pages stored in this session (duplicates not counted)
	dups   int
	faults int
	from   int // pages of the stack before this session
	taken  int // pages the devices handed over and the sink took, duplicates too
	gone   int // DeviceGone faults since the last page taken
}

// Reopener opens the device afresh after it went away, as after
// replugging it (hardware.Reopen of its spec); an error means it is not
// back.
type Reopener func(gone hardware.Scanner) (hardware.Scanner, error)

// MaxReopens is how many times in a row Run reopens a device that comes
// back gone, or does not open, with no page in between, before it ends
// the session: an operator (or a script) answering «go on» to a scanner
// that stays away would otherwise never end.
const MaxReopens = 10

// New makes a session. notify, when not nil, is called synchronously for
// every event, in order; it must not block for long, since the device
// waits meanwhile.
func New(dev hardware.Scanner, sink Sink, opts hardware.Options, notify func(Event)) *Session {
	if notify == nil {
		notify = func(Event) {}
	}
	return &Session{dev: dev, sink: sink, opts: opts, notify: notify}
}

// ReopenWith makes Run open the device afresh with reopen when the
// operator goes on after a DeviceGone fault. Without it a DeviceGone ends
// Run, since the device does not come back by itself.
func (s *Session) ReopenWith(reopen Reopener) { s.reopen = reopen }

// NumberFrom numbers the session's pages on from n, the pages of the stack
// stored before it: the first page is n+1.
func (s *Session) NumberFrom(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.from = n
}

// Stats are a session's counts so far.
type Stats struct {
	Stored     int // new pages made durable
	Duplicates int // pages fed again that were already stored
	Faults     int // device events
}

// Stats returns the session's counts.
func (s *Session) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{Stored: s.stored, Duplicates: s.dups, Faults: s.faults}
}

// deliver is the device's receiver: a page counts once the sink stored it.
// The page is numbered by its place in the stack: a page refused comes
// again with the same number, since nothing was taken meanwhile.
func (s *Session) deliver(ctx context.Context) func(hardware.Page) error {
	return func(p hardware.Page) error {
		s.mu.Lock()
		p.Seq = s.from + s.taken + 1
		s.mu.Unlock()
		st, err := s.sink.Store(ctx, p)
		if err != nil {
			return &SinkError{Err: err, After: p.Seq - 1}
		}
		s.mu.Lock()
		s.taken++
		s.gone = 0
		kind := PageStored
		if st.Duplicate {
			s.dups++
			kind = PageDuplicate
		} else {
			s.stored++
		}
		s.mu.Unlock()
		s.notify(Event{Kind: kind, Page: st, Raw: p})
		return nil
	}
}

// SinkError is a page the sink could not store (a full disk, say): the
// scan stopped and the sheet stays in the device's stack.
type SinkError struct {
	Err   error
	After int // the Seq of the last page taken before it
}

func (e *SinkError) Error() string { return e.Err.Error() }
func (e *SinkError) Unwrap() error { return e.Err }

// Feed scans until the feeder runs empty (nil), the device reports an
// event (a *hardware.Fault, also notified as DeviceFault), the sink fails
// (a *SinkError) or ctx is cancelled. After a fault the sheet that caused
// it is still in the stack: the caller has the operator clear the device
// and calls Feed again, and the stack goes on where it stopped, with no
// page lost or stored twice. A device gone stays gone for Feed: Run
// reopens it.
func (s *Session) Feed(ctx context.Context) error {
	err := s.dev.Scan(ctx, s.opts, s.deliver(ctx))
	var f *hardware.Fault
	switch {
	case err == nil:
		s.notify(Event{Kind: FeederEmpty})
		return nil
	case errors.As(err, &f):
		return s.fault(f)
	}
	return err
}

// fault counts and reports a device event, placed in the stack's
// numbering.
func (s *Session) fault(f *hardware.Fault) *hardware.Fault {
	c := *f
	s.mu.Lock()
	s.faults++
	c.After = s.from + s.taken
	if c.Kind == hardware.DeviceGone {
		s.gone++
	}
	s.mu.Unlock()
	s.notify(Event{Kind: DeviceFault, Fault: &c})
	return &c
}

// GoneError ends a session whose device went away and cannot be reopened:
// the session has no Reopener, or the device stayed away MaxReopens times.
type GoneError struct {
	Fault   *hardware.Fault
	Reopens int // how many times it was reopened in vain
}

// Error says, for the operator, what happened and what to do.
func (e *GoneError) Error() string {
	if e.Reopens > 0 {
		return fmt.Sprintf("сканер отключился после страницы %d и не подключился снова (попыток: %d); сохранённые страницы на месте: проверьте кабель и питание сканера и запустите сканирование снова", e.Fault.After, e.Reopens)
	}
	return fmt.Sprintf("сканер отключился после страницы %d; сохранённые страницы на месте: подключите сканер и запустите сканирование снова", e.Fault.After)
}

// Unwrap gives the last DeviceGone fault.
func (e *GoneError) Unwrap() error { return e.Fault }

// Resume decides after a fault whether to go on: it returns nil once the
// operator cleared the device, or an error to stop the session.
type Resume func(ctx context.Context, f *hardware.Fault) error

// Run feeds the whole stack, asking resume after every device event, and
// returns nil when the feeder ran empty. After a DeviceGone the operator
// plugs the scanner in again and goes on: the device is reopened (see
// ReopenWith) and the stack goes on where it stopped. A device that does
// not open again is reported as gone once more, with why, and resume is
// asked again, up to MaxReopens times in a row.
func (s *Session) Run(ctx context.Context, resume Resume) error {
	var f *hardware.Fault
	for {
		if f == nil {
			err := s.Feed(ctx)
			if !errors.As(err, &f) {
				return err
			}
		}
		if resume == nil {
			return f
		}
		gone := f.Kind == hardware.DeviceGone
		if gone && s.reopen == nil {
			return &GoneError{Fault: f}
		}
		s.mu.Lock()
		tries := s.gone
		s.mu.Unlock()
		if gone && tries > MaxReopens {
			return &GoneError{Fault: f, Reopens: MaxReopens}
		}
		if err := resume(ctx, f); err != nil {
			return err
		}
		f = nil
		if !gone {
			continue
		}
		dev, err := s.reopen(s.dev)
		if err != nil {
			f = s.fault(&hardware.Fault{Kind: hardware.DeviceGone, Device: s.dev.Device().ID,
				Detail: "сканер не открывается снова: " + err.Error()})
			continue
		}
		s.dev = dev
	}
}

// errOnePage stops a rescan after its one page.
var errOnePage = errors.New("one page taken")

// Rescan scans exactly one sheet from the device and hands it to replace,
// which stores it in place of an earlier page (see store.Replace). It
// returns what replace returned, or a *hardware.Fault / error of the
// device when no page came.
func (s *Session) Rescan(ctx context.Context, replace func(ctx context.Context, p hardware.Page) (Stored, error)) (Stored, error) {
	one, stop := context.WithCancel(ctx)
	defer stop()
	var (
		got  Stored
		took bool
	)
	err := s.dev.Scan(one, s.opts, func(p hardware.Page) error {
		if took {
			return errOnePage // never reached: the scan stops after one page
		}
		st, err := replace(ctx, p)
		if err != nil {
			return &SinkError{Err: err, After: p.Seq - 1}
		}
		got, took = st, true
		// The page is accepted; stopping the context ends the run before
		// the device feeds the next sheet.
		stop()
		return nil
	})
	if took {
		return got, nil
	}
	if err == nil {
		return Stored{}, fmt.Errorf("в лотке нет листа: положите лист для повторного сканирования")
	}
	var f *hardware.Fault
	if errors.As(err, &f) {
		s.mu.Lock()
		s.faults++
		s.mu.Unlock()
		s.notify(Event{Kind: DeviceFault, Fault: f})
	}
	return Stored{}, err
}
