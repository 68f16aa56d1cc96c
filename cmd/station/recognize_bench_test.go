package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"giascan/hardware/sim"
	"giascan/recognition"
)

// BenchmarkRecognizeCommand measures station recognize as scripts call it,
// --workers 2 on a folder of 40 pages of 300 dpi grey JPEG (real profile:
// skew, shift, noise, some pages upside down), with the digit model: the
// worker pool, ordered output and JSON included. It reports pages/s and
// the run's time over that of decoding the same files with the same two
// workers, the floor no recognizer can beat.
func BenchmarkRecognizeCommand(b *testing.B) {
	const pages, workers = 40, 2
	dir := b.TempDir()
	sheets, err := sim.Plan(7, 3*pages)
	if err != nil {
		b.Fatal(err)
	}
	set := sim.Settings{Profile: sim.Real, DPI: 300, Mode: sim.ModeGray}
	// The simulator draws PNG for some pages and has no switch to force
	// JPEG: keep the JPEG ones.
	n := 0
	for _, s := range sheets {
		if n == pages {
			break
		}
		sc, err := sim.Render(s, set)
		if err != nil {
			b.Fatal(err)
		}
		if sc.Format != "jpeg" {
			continue
		}
		n++
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%04d.jpg", n)), sc.Data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	if n < pages {
		b.Fatalf("only %d JPEG pages", n)
	}
	rc, err := recognition.NewDefault()
	if err != nil {
		b.Fatal(err)
	}
	files := expandPaths([]string{dir})
	var run, dec time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		out := bufio.NewWriter(io.Discard)
		if failed := recognizeFiles(context.Background(), rc, files, workers, out); failed != 0 {
			b.Fatalf("%d inputs failed", failed)
		}
		run += time.Since(start)

		start = time.Now()
		jobs := make(chan string)
		done := make(chan struct{})
		for w := 0; w < workers; w++ {
			go func() {
				for path := range jobs {
					if f, err := openScan(path); err == nil {
						if m, err := f.Page(0); err == nil {
							m.Close()
						}
						f.Close()
					}
				}
				done <- struct{}{}
			}()
		}
		for _, in := range files {
			jobs <- in.path
		}
		close(jobs)
		for w := 0; w < workers; w++ {
			<-done
		}
		dec += time.Since(start)
	}
	b.StopTimer()
	b.ReportMetric(float64(pages*b.N)/run.Seconds(), "pages/s")
	b.ReportMetric(float64(run)/float64(dec), "x_of_decode_floor")
}
