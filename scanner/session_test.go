package scanner

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"giascan/hardware"
	"giascan/hardware/hardwaretest"
	"giascan/hardware/sim"
)

// memSink keeps pages in memory, deduplicating by SHA-256 as the store does.
type memSink struct {
	mu    sync.Mutex
	bySHA map[string]int
	seqs  []int    // Seq of every stored page, in order
	names []string // the name the device gave each, in order
	data  [][]byte // their images
	fail  int      // refuse the page with this Seq once
}

func (m *memSink) Store(ctx context.Context, p hardware.Page) (Stored, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if p.Seq == m.fail {
		m.fail = 0
		return Stored{}, errors.New("disk full")
	}
	sum := sha256.Sum256(p.Data)
	sha := hex.EncodeToString(sum[:])
	if seq, ok := m.bySHA[sha]; ok {
		return Stored{Seq: seq, SHA256: sha, Duplicate: true}, nil
	}
	if m.bySHA == nil {
		m.bySHA = map[string]int{}
	}
	m.seqs = append(m.seqs, p.Seq)
	m.names = append(m.names, p.Name)
	m.data = append(m.data, p.Data)
	m.bySHA[sha] = len(m.seqs)
	return Stored{Seq: len(m.seqs), SHA256: sha}, nil
}

func TestFaultsResumeWithoutLosingOrRepeatingPages(t *testing.T) {
	const spec = "sim:seed=3,count=8,profile=clean,jam=2,double=4,cover=5,gone=6"
	dev, err := hardware.Open(spec)
	if err != nil {
		t.Fatal(err)
	}
	sink := &memSink{fail: 7}
	var events []EventKind
	s := New(dev, sink, hardware.Options{DPI: 150, Mode: "lineart"}, func(e Event) { events = append(events, e.Kind) })
	s.ReopenWith(func(gone hardware.Scanner) (hardware.Scanner, error) { return hardware.Reopen(spec, gone) })
	var faults []hardware.FaultKind
	resume := func(ctx context.Context, f *hardware.Fault) error {
		faults = append(faults, f.Kind)
		return nil
	}
	ctx := context.Background()
	err = s.Run(ctx, resume)
	var se *SinkError
	if !errors.As(err, &se) || se.After != 6 {
		t.Fatalf("sink failure not reported: %v", err)
	}
	// The operator frees space and goes on: the refused page comes first.
	if err := s.Run(ctx, resume); err != nil {
		t.Fatal(err)
	}
	if len(faults) != 4 {
		t.Fatalf("faults %v", faults)
	}
	for i, seq := range sink.seqs {
		if seq != i+1 {
			t.Fatalf("stored device pages %v, want 1..8 once each", sink.seqs)
		}
	}
	if len(sink.seqs) != 8 || s.Stats().Stored != 8 || s.Stats().Faults != 4 {
		t.Fatalf("stored %v, stats %+v", sink.seqs, s.Stats())
	}
	if events[len(events)-1] != FeederEmpty {
		t.Fatalf("events %v", events)
	}
}

func TestRescanTakesExactlyOnePage(t *testing.T) {
	dev, err := sim.Open("seed=4,count=3,profile=clean")
	if err != nil {
		t.Fatal(err)
	}
	s := New(dev, &memSink{}, hardware.Options{DPI: 150, Mode: "lineart"}, nil)
	var got []int
	st, err := s.Rescan(context.Background(), func(ctx context.Context, p hardware.Page) (Stored, error) {
		got = append(got, p.Seq)
		return Stored{Seq: 5, SHA256: "x"}, nil
	})
	if err != nil || st.Seq != 5 || len(got) != 1 {
		t.Fatalf("rescan: %+v %v %v", st, err, got)
	}
	// The stack goes on with the next sheet.
	sink := &memSink{}
	s2 := New(dev, sink, hardware.Options{DPI: 150, Mode: "lineart"}, nil)
	s2.NumberFrom(1)
	if err := s2.Run(context.Background(), nil); err != nil || fmt.Sprint(sink.seqs) != "[2 3]" || sink.names[0] != "0002.png" {
		t.Fatalf("after rescan: %v %v %v", err, sink.seqs, sink.names)
	}
}

// feederOverESCL serves a simulated feeder over eSCL as the scan agent
// does, and opens the station's eSCL adapter on it.
func feederOverESCL(t *testing.T, spec string) (dev hardware.Scanner, url string) {
	t.Helper()
	feeder, err := hardware.Open(spec)
	if err != nil {
		t.Fatal(err)
	}
	url = hardwaretest.ServeESCL(t, feeder, hardwaretest.ReplugSpec)
	if dev, err = hardware.Open(url); err != nil {
		t.Fatal(err)
	}
	return dev, url
}

// The scanner is unplugged mid-stack behind the network: the operator is
// told, plugs it in and goes on; the session reopens the device, which
// numbers its pages from 1 again, and the stack goes on from the next
// sheet: every sheet stored once, numbered 1..n in stack order, and the
// fault placed after the last page taken. Without a way to reopen the
// device, the session ends at the unplug with a sentence that says so
// instead of asking the operator again and again.
func TestUnpluggedDeviceIsReopenedAndTheStackGoesOn(t *testing.T) {
	const spec, n = "sim:seed=7,count=6,profile=clean,jam=2,gone=4", 6
	// The same stack with no events: the sheets as they must be stored.
	want, err := sim.Open("seed=7,count=6,profile=clean")
	if err != nil {
		t.Fatal(err)
	}
	var sheets [][]byte
	if err := want.Scan(context.Background(), hardware.Options{DPI: 150, Mode: "lineart"}, func(p hardware.Page) error {
		sheets = append(sheets, p.Data)
		return nil
	}); err != nil || len(sheets) != n {
		t.Fatalf("the stack: %d sheets, %v", len(sheets), err)
	}

	dev, url := feederOverESCL(t, spec)
	sink := &memSink{}
	var faults []hardware.Fault
	s := New(dev, sink, hardware.Options{DPI: 150, Mode: "lineart"}, func(e Event) {
		if e.Kind == DeviceFault {
			faults = append(faults, *e.Fault)
		}
	})
	s.NumberFrom(10) // ten pages of the auditorium were stored before
	reopened := 0
	s.ReopenWith(func(gone hardware.Scanner) (hardware.Scanner, error) {
		reopened++
		return hardware.Reopen(url, gone)
	})
	asked := 0
	if err := s.Run(context.Background(), func(ctx context.Context, f *hardware.Fault) error { asked++; return nil }); err != nil {
		t.Fatal(err)
	}
	if reopened != 1 || asked != 2 || len(faults) != 2 || faults[0].Kind != hardware.PaperJam || faults[0].After != 12 ||
		faults[1].Kind != hardware.DeviceGone || faults[1].After != 14 {
		t.Fatalf("reopened %d times, asked %d times, faults %+v; want a jam after page 12, the device gone after page 14, one reopen", reopened, asked, faults)
	}
	if fmt.Sprint(sink.seqs) != "[11 12 13 14 15 16]" {
		t.Errorf("pages numbered %v, want 11..16", sink.seqs)
	}
	for i := range n {
		if i >= len(sink.data) || !bytes.Equal(sink.data[i], sheets[i]) {
			t.Fatalf("stored page %d is not sheet %d of the stack (%d stored)", i+1, i+1, len(sink.data))
		}
	}
	if st := s.Stats(); st.Stored != n || st.Duplicates != 0 || st.Faults != 2 {
		t.Errorf("stats %+v", st)
	}

	dev, _ = feederOverESCL(t, "sim:seed=7,count=6,profile=clean,gone=3")
	s = New(dev, &memSink{}, hardware.Options{DPI: 150}, nil)
	err = s.Run(context.Background(), func(ctx context.Context, f *hardware.Fault) error { return nil })
	var ge *GoneError
	var f *hardware.Fault
	if !errors.As(err, &ge) || !errors.As(err, &f) || f.After != 3 || !strings.Contains(err.Error(), "подключите сканер") {
		t.Errorf("no way to reopen: %v, want the session ended at the unplug after page 3", err)
	}
}

// A device that stays away is reported gone at every attempt, with why it
// does not open, until the session gives up after MaxReopens attempts.
func TestDeviceThatStaysAwayEndsTheSession(t *testing.T) {
	dev, err := hardware.Open("sim:seed=7,count=3,profile=clean,gone=1")
	if err != nil {
		t.Fatal(err)
	}
	var details []string
	s := New(dev, &memSink{}, hardware.Options{DPI: 150}, func(e Event) {
		if e.Kind == DeviceFault {
			details = append(details, e.Fault.Detail)
		}
	})
	s.ReopenWith(func(gone hardware.Scanner) (hardware.Scanner, error) { return nil, errors.New("no such device") })
	err = s.Run(context.Background(), func(ctx context.Context, f *hardware.Fault) error { return nil })
	var ge *GoneError
	if !errors.As(err, &ge) || ge.Reopens != MaxReopens || len(details) != MaxReopens+1 || !strings.Contains(details[1], "no such device") {
		t.Fatalf("%v after %d faults (%q)", err, len(details), details)
	}
}

func TestPoolNeverBlocksAddAndFinishesOnWait(t *testing.T) {
	release := make(chan struct{})
	var n atomic.Int32
	p := NewPool(context.Background(), 2, func(ctx context.Context, i int) {
		<-release
		n.Add(1)
	})
	start := time.Now()
	for i := range 1000 {
		p.Add(i)
	}
	if time.Since(start) > time.Second {
		t.Fatal("Add waited for the workers")
	}
	if _, left := p.Progress(); left != 1000 {
		t.Fatalf("left %d", left)
	}
	close(release)
	p.Wait()
	if n.Load() != 1000 {
		t.Fatalf("done %d", n.Load())
	}
}

func TestPoolStopDropsTheQueue(t *testing.T) {
	var n atomic.Int32
	p := NewPool(context.Background(), 1, func(ctx context.Context, i int) {
		n.Add(1)
		<-ctx.Done()
	})
	for i := range 10 {
		p.Add(i)
	}
	time.Sleep(10 * time.Millisecond)
	p.Stop()
	if n.Load() > 1 {
		t.Fatalf("worked on %d items after stop", n.Load())
	}
}
