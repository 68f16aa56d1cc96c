package hardware

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

type fakeScanner struct{ arg string }

func (f *fakeScanner) Device() Device {
	return Device{ID: "fake-" + f.arg, Name: "Fake", Adapter: "fake"}
}

func (f *fakeScanner) Scan(ctx context.Context, opts Options, deliver func(Page) error) error {
	return nil
}

func TestRegisterAndOpen(t *testing.T) {
	Register("fake", func(arg string) (Scanner, error) {
		if arg == "bad" {
			return nil, errors.New("no such device")
		}
		return &fakeScanner{arg: arg}, nil
	})
	s, err := Open("fake:a:b")
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Device().ID; got != "fake-a:b" {
		t.Errorf("argument: device %q, want fake-a:b", got)
	}
	if s, err = Open("fake"); err != nil || s.Device().ID != "fake-" {
		t.Errorf("no argument: %v, %v", s, err)
	}
	if _, err := Open("fake:bad"); err == nil || !strings.Contains(err.Error(), "no such device") {
		t.Errorf("open error: %v", err)
	}
	if _, err := Open("nope:1"); err == nil || !strings.Contains(err.Error(), "fake") {
		t.Errorf("unknown adapter: %v, want an error listing the known ones", err)
	}
	found := false
	for _, a := range Adapters() {
		found = found || a == "fake"
	}
	if !found {
		t.Errorf("Adapters() = %v lacks fake", Adapters())
	}
	defer func() {
		if recover() == nil {
			t.Error("registering a name twice: want a panic")
		}
	}()
	Register("fake", func(string) (Scanner, error) { return nil, nil })
}

func TestFaultSaysWhatAndWhen(t *testing.T) {
	var err error = &Fault{Kind: PaperJam, Device: "sim-1", After: 4}
	var f *Fault
	if !errors.As(err, &f) || f.Kind != PaperJam || f.After != 4 {
		t.Fatalf("errors.As: %+v", f)
	}
	if msg := err.Error(); !strings.Contains(msg, "paper jam") || !strings.Contains(msg, "after page 4") {
		t.Errorf("message %q", msg)
	}
}

func TestHeldPagesComeFirstAndOnce(t *testing.T) {
	var h Held
	h.Keep(Page{Seq: 4})
	h.Keep(Page{Seq: 5})
	refuse := errors.New("disk full")
	var got []int
	err := h.Deliver(context.Background(), func(p Page) error {
		if p.Seq == 5 && len(got) == 1 {
			return refuse
		}
		got = append(got, p.Seq)
		return nil
	})
	if !errors.Is(err, refuse) || h.Len() != 1 {
		t.Fatalf("refused: %v, %d held; want the receiver's error and page 5 held", err, h.Len())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := h.Deliver(ctx, func(Page) error { t.Error("delivered after cancel"); return nil }); !errors.Is(err, context.Canceled) || h.Len() != 1 {
		t.Errorf("cancelled: %v, %d held", err, h.Len())
	}
	if err := h.Deliver(context.Background(), func(p Page) error { got = append(got, p.Seq); return nil }); err != nil || h.Len() != 0 {
		t.Fatalf("%v, %d held", err, h.Len())
	}
	if len(got) != 2 || got[0] != 4 || got[1] != 5 {
		t.Errorf("delivered %v, want 4 then 5, each once", got)
	}
}

// Gone remembers the first DeviceGone only, and hands out copies: a
// caller changing the fault it got does not change the next one.
func TestGoneKeepsTheFirstDeviceGone(t *testing.T) {
	var g Gone
	jam := &Fault{Kind: PaperJam, Device: "d", After: 1}
	if err := g.Keep(jam); err != jam || g.Err() != nil {
		t.Fatalf("a jam: %v, then %v", err, g.Err())
	}
	if g.Keep(errors.New("disk full")); g.Err() != nil {
		t.Fatal("an error that is no fault made the device gone")
	}
	g.Keep(fmt.Errorf("run: %w", &Fault{Kind: DeviceGone, Device: "d", After: 2}))
	g.Keep(&Fault{Kind: DeviceGone, Device: "d", After: 5})
	var f *Fault
	if !errors.As(g.Err(), &f) || f.Kind != DeviceGone || f.After != 2 {
		t.Fatalf("gone: %v, want the first device gone, after page 2", g.Err())
	}
	f.After = 9
	if g.Err().(*Fault).After != 2 {
		t.Error("changing a returned fault changed the remembered one")
	}
}

type closing struct {
	fakeScanner
	closed int
}

func (c *closing) Close() error { c.closed++; return nil }

// Reopen closes the gone device (when it can be closed) and opens the spec
// afresh.
func TestReopenClosesAndOpens(t *testing.T) {
	Register("reopen-test", func(arg string) (Scanner, error) { return &fakeScanner{arg: arg}, nil })
	old := &closing{}
	s, err := Reopen("reopen-test:x", old)
	if err != nil || old.closed != 1 || s.Device().ID != "fake-x" {
		t.Fatalf("%v, %v, closed %d times", s, err, old.closed)
	}
	if err := Close(&fakeScanner{}); err != nil {
		t.Errorf("closing a device with nothing to close: %v", err)
	}
}
