package pgstate_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"giascan/transport/linktest"
	"giascan/transport/receiver"
	"giascan/transport/seal"
	"giascan/transport/upload"
)

// A day's uploads of 50 stations (one per ППЭ, each with 3 auditorium
// packages of 150 KB of scans), all at once, bounded and on loopback.
const (
	dayStations = 50
	dayPackages = 3
	dayScan     = 150_000
)

type dayStation struct {
	ob  *upload.Outbox
	key ed25519.PrivateKey
	ids []string
}

// prepareDay registers the stations and seals their packages into their
// outboxes.
func (r *rcoi) prepareDay(b testing.TB) []dayStation {
	ctx := context.Background()
	var out []dayStation
	for i := range dayStations {
		ppe := fmt.Sprintf("%04d", 2000+i)
		kd := b.TempDir()
		pub, err := seal.GenerateStationKey(kd)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := receiver.AddStation(r.dir, ppe, seal.FormatPublicKey(pub)); err != nil {
			b.Fatal(err)
		}
		key, _ := seal.LoadStationKey(kd)
		ob, err := upload.OpenOutbox(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { ob.Close() })
		st := dayStation{ob: ob, key: key}
		for p := range dayPackages {
			ct, sig, m := r.sealedFor(b, key, ppe, fmt.Sprintf("%04d", p+1), 1, dayScan)
			dir := b.TempDir()
			cp, sp := filepath.Join(dir, "p.tar.age"), filepath.Join(dir, "p.sig")
			os.WriteFile(cp, ct, 0o600)
			os.WriteFile(sp, sig, 0o600)
			if _, err := ob.Enqueue(ctx, cp, sp); err != nil {
				b.Fatal(err)
			}
			st.ids = append(st.ids, m.ID)
		}
		out = append(out, st)
	}
	return out
}

type dayResult struct {
	perSec, p99ms, peakMiB float64
}

// runDay delivers every station's packages to endpoint, the stations in
// parallel, and measures deliveries per second, the p99 time of one
// delivery (upload, check, receipt) and the peak live heap of the process.
func runDay(b testing.TB, endpoint string, receiptKey ed25519.PublicKey, day []dayStation) dayResult {
	ctx := context.Background()
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	base := sample[0].Value.Uint64()
	var peak uint64
	quit, sampled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			peak = max(peak, sample[0].Value.Uint64())
			select {
			case <-quit:
				return
			case <-t.C:
			}
		}
	}()
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	start := time.Now()
	for _, st := range day {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := &upload.Uploader{Outbox: st.ob, Endpoint: endpoint, ReceiverKey: receiptKey, StationKey: st.key, ChunkSize: 256 << 10}
			for _, id := range st.ids {
				t0 := time.Now()
				for attempt := 0; ; attempt++ {
					err := u.Deliver(ctx, id, 1)
					it, _ := st.ob.Item(id, 1)
					if it.State == upload.Delivered {
						break
					}
					if attempt == 5 {
						b.Errorf("%s: %s %v %s", id, it.State, err, it.LastError)
						return
					}
					time.Sleep(50 * time.Millisecond)
				}
				mu.Lock()
				lat = append(lat, time.Since(t0))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(quit)
	<-sampled
	slices.Sort(lat)
	if len(lat) != dayStations*dayPackages {
		b.Fatalf("%d of %d packages delivered", len(lat), dayStations*dayPackages)
	}
	p99 := lat[(len(lat)*99+99)/100-1]
	return dayResult{perSec: float64(len(lat)) / elapsed.Seconds(), p99ms: float64(p99.Microseconds()) / 1000,
		peakMiB: float64(int64(peak)-int64(base)) / (1 << 20)}
}

// BenchmarkDayOf50Stations is a day's uploads from 50 stations to two
// receivers behind one address on PostgreSQL and a SeaweedFS bucket (the
// packages and the unfinished uploads), against the baseline of one
// embedded receiver (memory table and file stores) taking the same load in
// the same run. The peak heap is the receivers' (they run in the
// benchmark's process); SeaweedFS runs as its own process, whose peak
// resident memory is reported apart. Every package is accepted exactly
// once, and no unfinished upload is left in the bucket.
func BenchmarkDayOf50Stations(b *testing.B) {
	for b.Loop() {
		one := newRCOI(b)
		alone, err := receiver.Open(one.dir, "") // the embedded store, not the bucket
		if err != nil {
			b.Fatal(err)
		}
		h, err := alone.Handler(b.Context(), nil)
		if err != nil {
			b.Fatal(err)
		}
		srv := httptest.NewServer(h)
		b.Cleanup(srv.Close)
		base := srv.URL
		baseDay := one.prepareDay(b)
		baseline := runDay(b, base, alone.ReceiptKey(), baseDay)

		two := newRCOI(b)
		x, y := two.start(b), two.start(b)
		fr := linktest.NewFront(b, x.srv.URL, y.srv.URL)
		fr.RoundRobin = true
		pairDay := two.prepareDay(b)
		pair := runDay(b, fr.URL, x.rcv.ReceiptKey(), pairDay)
		st, err := y.rcv.Status(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for _, p := range st.PPE {
			n += len(p.Packages)
		}
		if n != dayStations*dayPackages {
			b.Fatalf("%d package versions accepted, want %d", n, dayStations*dayPackages)
		}
		if left := two.unfinished(b); len(left) != 0 {
			b.Fatalf("upload objects left in the bucket: %q", left)
		}
		b.ReportMetric(pair.perSec, "uploads/s")
		b.ReportMetric(peakRSS(b, two.s3.PID()), "s3-server-peak-RSS-MiB")
		b.ReportMetric(baseline.peakMiB, "embedded-peak-heap-MiB")
		b.ReportMetric(pair.p99ms, "p99-ms")
		b.ReportMetric(pair.peakMiB, "peak-heap-MiB")
		b.ReportMetric(baseline.perSec, "embedded-uploads/s")
		b.ReportMetric(baseline.p99ms, "embedded-p99-ms")
		b.ReportMetric(pair.perSec/baseline.perSec, "uploads/s-x-embedded")
		b.ReportMetric(pair.p99ms/baseline.p99ms, "p99-x-embedded")
	}
}

// peakRSS is the peak resident memory of a process, in MiB.
func peakRSS(b testing.TB, pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb / 1024
		}
	}
	b.Fatal("no VmHWM in /proc status")
	return 0
}
