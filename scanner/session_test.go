package scanner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"giascan/hardware"
	"giascan/hardware/sim"
)

// memSink keeps pages in memory, deduplicating by SHA-256 as the store does.
type memSink struct {
	mu    sync.Mutex
	bySHA map[string]int
	seqs  []int // device Seq of every stored page, in order
	fail  int   // refuse the page with this device Seq once
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
	m.bySHA[sha] = len(m.seqs)
	return Stored{Seq: len(m.seqs), SHA256: sha}, nil
}

func TestFaultsResumeWithoutLosingOrRepeatingPages(t *testing.T) {
	dev, err := sim.Open("seed=3,count=8,profile=clean,jam=2,double=4,cover=5,gone=6")
	if err != nil {
		t.Fatal(err)
	}
	sink := &memSink{fail: 7}
	var events []EventKind
	s := New(dev, sink, hardware.Options{DPI: 150, Mode: "lineart"}, func(e Event) { events = append(events, e.Kind) })
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
	if err := s2.Run(context.Background(), nil); err != nil || len(sink.seqs) != 2 || sink.seqs[0] != 2 {
		t.Fatalf("after rescan: %v %v", err, sink.seqs)
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
