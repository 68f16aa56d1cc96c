package hardware

import (
	"context"
	"errors"
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
