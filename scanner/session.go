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
type Session struct {
	dev    hardware.Scanner
	sink   Sink
	opts   hardware.Options
	notify func(Event)

	mu     sync.Mutex
	stored int // pages stored in this session (duplicates not counted)
	dups   int
	faults int
}

// New makes a session. notify, when not nil, is called synchronously for
// every event, in order; it must not block for long, since the device
// waits meanwhile.
func New(dev hardware.Scanner, sink Sink, opts hardware.Options, notify func(Event)) *Session {
	if notify == nil {
		notify = func(Event) {}
	}
	return &Session{dev: dev, sink: sink, opts: opts, notify: notify}
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
func (s *Session) deliver(ctx context.Context) func(hardware.Page) error {
	return func(p hardware.Page) error {
		st, err := s.sink.Store(ctx, p)
		if err != nil {
			return &SinkError{Err: err, After: p.Seq - 1}
		}
		s.mu.Lock()
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
	After int // the device's Seq of the last page taken before it
}

func (e *SinkError) Error() string { return e.Err.Error() }
func (e *SinkError) Unwrap() error { return e.Err }

// Feed scans until the feeder runs empty (nil), the device reports an
// event (a *hardware.Fault, also notified as DeviceFault), the sink fails
// (a *SinkError) or ctx is cancelled. After a fault the sheet that caused
// it is still in the stack: the caller has the operator clear the device
// and calls Feed again, and the stack goes on where it stopped, with no
// page lost or stored twice.
func (s *Session) Feed(ctx context.Context) error {
	err := s.dev.Scan(ctx, s.opts, s.deliver(ctx))
	var f *hardware.Fault
	switch {
	case err == nil:
		s.notify(Event{Kind: FeederEmpty})
		return nil
	case errors.As(err, &f):
		s.mu.Lock()
		s.faults++
		s.mu.Unlock()
		s.notify(Event{Kind: DeviceFault, Fault: f})
		return f
	}
	return err
}

// Resume decides after a fault whether to go on: it returns nil once the
// operator cleared the device, or an error to stop the session.
type Resume func(ctx context.Context, f *hardware.Fault) error

// Run feeds the whole stack, asking resume after every device event, and
// returns nil when the feeder ran empty.
func (s *Session) Run(ctx context.Context, resume Resume) error {
	for {
		err := s.Feed(ctx)
		var f *hardware.Fault
		if !errors.As(err, &f) {
			return err
		}
		if resume == nil {
			return err
		}
		if rerr := resume(ctx, f); rerr != nil {
			return rerr
		}
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
