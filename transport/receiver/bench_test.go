package receiver_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"testing"
	"time"
)

// heapPeak samples the live heap until stop is called and returns its
// highest value, in bytes.
func heapPeak() (stop func() uint64) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak uint64
	done, quit := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
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
	return func() uint64 { close(quit); <-done; return peak }
}

// measure runs one upload and returns the bytes allocated and the peak
// live heap above the start.
func measure(run func()) (alloc, peak float64) {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	stop := heapPeak()
	run()
	p := stop()
	runtime.ReadMemStats(&after)
	return float64(after.TotalAlloc - before.TotalAlloc), float64(p) - float64(before.HeapAlloc)
}

// BenchmarkForged200MiBUpload sends 200 MiB that are not the signed
// ciphertext, in the receiver's 8 MiB PATCHes, and reports its allocation
// and peak heap against a baseline run in the same benchmark: the same
// bytes PUT to a handler that only copies them to a file. A receiver that
// read the upload into memory would show a ratio near 100.
func BenchmarkForged200MiBUpload(b *testing.B) {
	const size = 200 << 20
	dir := b.TempDir()
	var mu sync.Mutex
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		f, err := os.OpenFile(filepath.Join(dir, "plain"), os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		off, _ := strconv.ParseInt(r.Header.Get("Upload-Offset"), 10, 64)
		f.Seek(off, io.SeekStart)
		io.Copy(f, r.Body)
		f.Close()
	}))
	defer plain.Close()
	for b.Loop() {
		baseAlloc, basePeak := measure(func() {
			c := tus{b, plain.URL, http.DefaultClient}
			const chunk = 8 << 20
			for off := int64(0); off < size; off += chunk {
				n := min(chunk, size-off)
				c.patch(plain.URL, off, &pattern{n}, n)
			}
		})
		f := newFixture(b)
		ctx, cancel := context.WithCancel(context.Background())
		base := f.serve(b, ctx)
		var code int
		alloc, peak := measure(func() { code, _ = sendForgedBody(b, f, base, size) })
		cancel()
		if code != http.StatusUnprocessableEntity {
			b.Fatalf("forged upload answered %d", code)
		}
		b.ReportMetric(alloc/(1<<20), "alloc-MiB")
		b.ReportMetric(baseAlloc/(1<<20), "baseline-alloc-MiB")
		b.ReportMetric(alloc/baseAlloc, "alloc-x-baseline")
		b.ReportMetric(max(peak, 0)/(1<<20), "peak-heap-MiB")
		b.ReportMetric(max(basePeak, 0)/(1<<20), "baseline-peak-heap-MiB")
	}
	b.SetBytes(size)
}
