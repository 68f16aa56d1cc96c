package sim

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"giascan/hardware"
)

// fastScan keeps the feeder tests quick: small clean pages.
var fastScan = hardware.Options{Source: hardware.ADF, DPI: 150}

// collect scans once and returns the pages delivered and Scan's result.
func collect(t *testing.T, s hardware.Scanner, opts hardware.Options) ([]hardware.Page, error) {
	t.Helper()
	var pages []hardware.Page
	err := s.Scan(context.Background(), opts, func(p hardware.Page) error {
		pages = append(pages, p)
		return nil
	})
	return pages, err
}

func newADF(t *testing.T, count int, f Faults) *ADF {
	t.Helper()
	a, err := New(9, count, Settings{Profile: Clean}, f)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// checkStack checks that the pages are the stack's fronts in order, each
// once, numbered 1, 2, … with their truth kept.
func checkStack(t *testing.T, a *ADF, pages []hardware.Page) {
	t.Helper()
	sheets := a.Sheets()
	if len(pages) != len(sheets) {
		t.Fatalf("%d pages for %d sheets", len(pages), len(sheets))
	}
	for i, p := range pages {
		tr, ok := a.Truth(p.Seq)
		if p.Seq != i+1 || p.Side != hardware.Front || !ok || tr.Barcode != sheets[i].ID.Barcode || tr.File != p.Name {
			t.Errorf("page %d: seq %d, side %s, truth %v %s, want sheet %s", i+1, p.Seq, p.Side, ok, tr.Barcode, sheets[i].ID.Barcode)
		}
		if p.DPI != 150 || p.Format != "png" || len(p.Data) == 0 || !strings.HasSuffix(p.Name, ".png") {
			t.Errorf("page %d: %d dpi, %s, %d bytes, %s", i+1, p.DPI, p.Format, len(p.Data), p.Name)
		}
	}
}

func wantFault(t *testing.T, err error, kind hardware.FaultKind, after int) {
	t.Helper()
	var f *hardware.Fault
	if !errors.As(err, &f) || f.Kind != kind || f.After != after {
		t.Fatalf("Scan: %v, want %s after page %d", err, kind, after)
	}
}

func TestFeederRunsEmpty(t *testing.T) {
	a := newADF(t, 4, Faults{})
	pages, err := collect(t, a, fastScan)
	if err != nil {
		t.Fatal(err)
	}
	checkStack(t, a, pages)
	more, err := collect(t, a, fastScan)
	if err != nil || len(more) != 0 {
		t.Errorf("an empty feeder gave %d pages, %v", len(more), err)
	}
}

// Every fault stops the run; the next run picks up the sheet that stayed
// in the stack: nothing is lost, nothing comes twice.
func TestFaultsLoseNothing(t *testing.T) {
	for _, tc := range []struct {
		f     Faults
		kind  hardware.FaultKind
		after int
	}{
		{Faults{JamAfter: 2}, hardware.PaperJam, 2},
		{Faults{DoubleFeedAt: 1}, hardware.DoubleFeed, 0},
		{Faults{DoubleFeedAt: 3}, hardware.DoubleFeed, 2},
		{Faults{CoverOpenAfter: 3}, hardware.CoverOpen, 3},
	} {
		a := newADF(t, 4, tc.f)
		first, err := collect(t, a, fastScan)
		wantFault(t, err, tc.kind, tc.after)
		if len(first) != tc.after {
			t.Errorf("%s: %d pages before the fault, want %d", tc.kind, len(first), tc.after)
		}
		rest, err := collect(t, a, fastScan)
		if err != nil {
			t.Fatalf("%s: the run after the fault: %v", tc.kind, err)
		}
		checkStack(t, a, append(first, rest...))
	}
}

// An unplugged feeder stays gone, whatever is asked of it, until it is
// closed and its spec opened again: then it goes on with the stack where
// it was, numbering on, and does not go away again.
func TestUnplugLastsUntilReopened(t *testing.T) {
	const spec = "sim:seed=9,count=4,profile=clean,gone=1"
	dev, err := hardware.Open(spec)
	if err != nil {
		t.Fatal(err)
	}
	first, err := collect(t, dev, fastScan)
	wantFault(t, err, hardware.DeviceGone, 1)
	for _, opts := range []hardware.Options{fastScan, {Source: hardware.Duplex, DPI: 150}} {
		again, err := collect(t, dev, opts)
		wantFault(t, err, hardware.DeviceGone, 1)
		if len(again) != 0 {
			t.Fatalf("the unplugged feeder gave %d pages", len(again))
		}
	}
	// Opened again without being closed, it is another feeder, loaded
	// afresh: the unplugged one is still unplugged.
	other, err := Open(spec[len("sim:"):])
	if err != nil {
		t.Fatal(err)
	}
	if other.pos != 0 {
		t.Fatalf("a feeder opened beside the unplugged one starts at sheet %d", other.pos+1)
	}
	back, err := hardware.Reopen(spec, dev)
	if err != nil {
		t.Fatal(err)
	}
	rest, err := collect(t, back, fastScan)
	if err != nil {
		t.Fatalf("the run after replugging: %v", err)
	}
	checkStack(t, back.(*ADF), append(first, rest...))
	if d := back.Device(); d.Spec != spec || d.ID != dev.Device().ID {
		t.Errorf("replugged as %+v", d)
	}
	// Replugging takes the feeder back once: the next Open is a new one.
	if again, _ := Open(spec[len("sim:"):]); again.pos != 0 {
		t.Errorf("a second Open took the replugged feeder again")
	}
}

func TestSeveralFaultsInOneStack(t *testing.T) {
	const spec = "sim:seed=9,count=5,profile=clean,jam=1,double=3,gone=4"
	var s hardware.Scanner
	s, err := hardware.Open(spec)
	if err != nil {
		t.Fatal(err)
	}
	var all []hardware.Page
	var kinds []hardware.FaultKind
	for i := 0; i < 10; i++ {
		pages, err := collect(t, s, fastScan)
		all = append(all, pages...)
		if err == nil {
			break
		}
		var f *hardware.Fault
		if !errors.As(err, &f) || f.After != len(all) || f.Device != s.Device().ID {
			t.Fatalf("run %d: %v after %d pages", i+1, err, len(all))
		}
		kinds = append(kinds, f.Kind)
		if f.Kind == hardware.DeviceGone {
			if s, err = hardware.Reopen(spec, s); err != nil {
				t.Fatal(err)
			}
		}
	}
	a := s.(*ADF)
	if len(kinds) != 3 || kinds[0] != hardware.PaperJam || kinds[1] != hardware.DoubleFeed || kinds[2] != hardware.DeviceGone {
		t.Errorf("faults %v", kinds)
	}
	checkStack(t, a, all)
}

// A page refused by the receiver stays first in the stack with its Seq.
func TestRefusedPageComesAgain(t *testing.T) {
	a := newADF(t, 3, Faults{})
	refuse := errors.New("disk full")
	var got []hardware.Page
	calls := 0
	err := a.Scan(context.Background(), fastScan, func(p hardware.Page) error {
		calls++
		if tr, ok := a.Truth(p.Seq); !ok || tr.File != p.Name {
			t.Errorf("page %d: no truth while it is delivered", p.Seq)
		}
		if calls == 2 {
			return refuse
		}
		got = append(got, p)
		return nil
	})
	if !errors.Is(err, refuse) || len(got) != 1 {
		t.Fatalf("Scan: %v with %d pages, want the receiver's error after 1", err, len(got))
	}
	rest, err := collect(t, a, fastScan)
	if err != nil {
		t.Fatal(err)
	}
	checkStack(t, a, append(got, rest...))
}

func TestCancelStopsBetweenPages(t *testing.T) {
	a := newADF(t, 3, Faults{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var got []hardware.Page
	err := a.Scan(ctx, fastScan, func(p hardware.Page) error {
		got = append(got, p)
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) || len(got) != 1 {
		t.Fatalf("Scan: %v with %d pages, want cancelled after 1", err, len(got))
	}
	rest, err := collect(t, a, fastScan)
	if err != nil {
		t.Fatal(err)
	}
	checkStack(t, a, append(got, rest...))
}

func TestDuplexDeliversEmptyBacks(t *testing.T) {
	a := newADF(t, 2, Faults{})
	pages, err := collect(t, a, hardware.Options{Source: hardware.Duplex, DPI: 150})
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) != 4 {
		t.Fatalf("%d pages for 2 sheets in duplex", len(pages))
	}
	for i, p := range pages {
		wantSide := []string{hardware.Front, hardware.Back}[i%2]
		if p.Seq != i+1 || p.Side != wantSide {
			t.Errorf("page %d: seq %d, side %s", i+1, p.Seq, p.Side)
		}
		_, hasTruth := a.Truth(p.Seq)
		if hasTruth != (wantSide == hardware.Front) {
			t.Errorf("page %d (%s): truth %v", i+1, p.Side, hasTruth)
		}
	}
	back := decodeGray(t, pages[1].Data)
	defer back.Close()
	min, _, _, _ := gocv.MinMaxLoc(back)
	if min < 200 {
		t.Errorf("the back side has ink: darkest %.0f", min)
	}
}

func TestOpenBySpec(t *testing.T) {
	s, err := hardware.Open("sim:seed=3,count=2,profile=clean,jam=1")
	if err != nil {
		t.Fatal(err)
	}
	a := s.(*ADF)
	if d := s.Device(); d.Adapter != "sim" || len(a.Sheets()) != 2 || a.faults.JamAfter != 1 || a.set.Profile != Clean {
		t.Errorf("device %+v, %d sheets, faults %+v", d, len(a.Sheets()), a.faults)
	}
	if _, err := hardware.Open("sim"); err != nil {
		t.Errorf("defaults: %v", err)
	}
	for _, bad := range []string{"sim:count=0", "sim:profile=blurry", "sim:seed", "sim:speed=9", "sim:jam=x"} {
		if _, err := hardware.Open(bad); err == nil {
			t.Errorf("%s: want an error", bad)
		}
	}
	for _, opts := range []hardware.Options{{Source: hardware.Flatbed}, {DPI: 123}, {Mode: "sepia"}} {
		if err := a.Scan(context.Background(), opts, func(hardware.Page) error { return nil }); err == nil {
			t.Errorf("options %+v: want an error", opts)
		}
	}
}

// A resumed stack gives exactly the pages a full run gives after the
// stored ones, with their numbers, in simplex and duplex.
func TestResumeSkipsStoredPages(t *testing.T) {
	for _, src := range []hardware.Source{hardware.ADF, hardware.Duplex} {
		full, err := Open("seed=4,count=3,profile=clean")
		if err != nil {
			t.Fatal(err)
		}
		var all []hardware.Page
		if err := full.Scan(context.Background(), hardware.Options{Source: src}, func(p hardware.Page) error {
			all = append(all, p)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		const stored = 1
		rest, err := Open("seed=4,count=3,profile=clean,resume=" + strconv.Itoa(stored))
		if err != nil {
			t.Fatal(err)
		}
		var got []hardware.Page
		if err := rest.Scan(context.Background(), hardware.Options{Source: src}, func(p hardware.Page) error {
			got = append(got, p)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(all)-stored {
			t.Fatalf("%s: %d pages after resuming at %d, want %d", src, len(got), stored, len(all)-stored)
		}
		for i, p := range got {
			w := all[stored+i]
			if p.Seq != w.Seq || p.Side != w.Side || !bytes.Equal(p.Data, w.Data) {
				t.Errorf("%s: resumed page %d is Seq %d %s, want Seq %d %s with the same image", src, i, p.Seq, p.Side, w.Seq, w.Side)
			}
		}
	}
	if _, err := Open("resume=-1"); err == nil {
		t.Error("a negative resume was accepted")
	}
}

func TestDiscoverOffersOpenableSpecs(t *testing.T) {
	devs, err := discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(devs) != len(Offered) {
		t.Fatalf("%d devices for %d offered specs", len(devs), len(Offered))
	}
	for _, d := range devs {
		s, err := hardware.Open(d.Spec)
		if err != nil {
			t.Errorf("%s: %v", d.Spec, err)
			continue
		}
		if s.Device().ID != d.ID || d.Adapter != "sim" {
			t.Errorf("%s: listed %q (%s), opens %q", d.Spec, d.ID, d.Adapter, s.Device().ID)
		}
	}
}
