package recognition

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/oned"
	"github.com/makiuchi-d/gozxing/qrcode"
	"gocv.io/x/gocv"

	"giascan/forms"
	"giascan/hardware/sim"
	"giascan/recognition/digits"
	"giascan/recognition/imagein"
)

// BenchmarkPage300 measures one type-11 page at 300 dpi, decoded already.
func BenchmarkPage300(b *testing.B) {
	set := forms.Builtin()
	rc, _ := New(set, nil)
	g := renderPage(b, set, "11", 9, pen{marks: []string{"t01_1"}, zones: []string{"surname"}}, 300)
	m := scan(toMat(b, g), 0, 1.5, 1, 1, 1, 300)
	defer m.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rc.Page(m)
	}
}

// Throughput corpus: what an ordinary ADF day delivers at the station's
// default setting, 300 dpi grey JPEG.
const (
	benchPages   = 40
	benchWorkers = 2
	benchSeed    = 7
	// The baselines take seconds per page; a slice of the corpus gives
	// their per-page time just as well.
	baselinePages = 8
)

// benchScan is one simulated page held in memory.
type benchScan struct {
	data  []byte
	truth forms.PageResult
}

// benchScans renders the throughput corpus once per test binary: the
// simulator costs more than the recognizer, and every benchmark that
// reads the corpus must see the same bytes.
var benchScans = sync.OnceValues(func() ([]benchScan, error) {
	return jpegScans(benchSeed, benchPages)
})

// jpegScans renders real-profile pages at 300 dpi grey and keeps the
// first n that came out as JPEG: the simulator draws PNG for some pages
// and offers no switch to force the format, and re-encoding would change
// the pixels the recognizer sees.
func jpegScans(seed int64, n int) ([]benchScan, error) {
	sheets, err := sim.Plan(seed, 3*n)
	if err != nil {
		return nil, err
	}
	set := sim.Settings{Profile: sim.Real, DPI: 300, Mode: sim.ModeGray}
	var kept []benchScan
	// Batches in page order: the corpus is the same whatever the number
	// of CPUs, and no more is rendered than needed.
	batch := 2 * runtime.NumCPU()
	for start := 0; start < len(sheets) && len(kept) < n; start += batch {
		scans := make([]sim.Scan, min(batch, len(sheets)-start))
		errs := make([]error, len(scans))
		parallel(len(scans), runtime.NumCPU(), func(i int) {
			scans[i], errs[i] = sim.Render(sheets[start+i], set)
		})
		for i, sc := range scans {
			if errs[i] != nil {
				return nil, errs[i]
			}
			if sc.Format == "jpeg" && len(kept) < n {
				kept = append(kept, benchScan{data: sc.Data, truth: sc.Truth})
			}
		}
	}
	if len(kept) < n {
		return nil, fmt.Errorf("only %d of %d pages came out as JPEG", len(kept), n)
	}
	return kept, nil
}

// parallel calls f(0) … f(n-1) on workers goroutines and waits for all.
func parallel(n, workers int, f func(i int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(workers, n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}

// benchRecognizer is the station's recognizer: built-in templates and the
// embedded digit model, so digit cells cost what they cost in production.
func benchRecognizer(tb testing.TB) *Recognizer {
	tb.Helper()
	model, err := digits.Load()
	if err != nil {
		tb.Fatalf("digit model: %v", err)
	}
	rc, err := New(forms.Builtin(), NewDigitReader(model))
	if err != nil {
		tb.Fatal(err)
	}
	return rc
}

// writeScans writes the scans into dir as 0001.jpg … and returns the paths.
func writeScans(tb testing.TB, dir string, scans []benchScan) []string {
	tb.Helper()
	paths := make([]string, len(scans))
	for i, s := range scans {
		paths[i] = filepath.Join(dir, fmt.Sprintf("%04d.jpg", i+1))
		if err := os.WriteFile(paths[i], s.data, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return paths
}

// decodeFile reads a scan file and decodes it whole with OpenCV's grey
// decode, the floor the pipeline is measured against (the station's own
// decoder is not: it is part of what is measured); the caller closes the
// Mat.
func decodeFile(path string) (gocv.Mat, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return gocv.Mat{}, err
	}
	return gocv.IMDecode(data, gocv.IMReadGrayScale)
}

// recognizeFile is the station's work for one file: open, then decode
// and read its page the way Document does.
func recognizeFile(rc *Recognizer, path string) forms.PageResult {
	d, err := imagein.Open(path, imagein.Limits{})
	if err != nil {
		r := forms.NewPageResult(path, 1)
		r.Error = err.Error()
		return r
	}
	defer d.Close()
	r, _ := rc.Document(d, 0)
	return r
}

// timed runs f(0) … f(n-1) on workers goroutines and returns the wall
// time per item.
func timed(n, workers int, f func(i int)) time.Duration {
	start := time.Now()
	parallel(n, workers, f)
	return time.Since(start) / time.Duration(n)
}

// BenchmarkRecognizeThroughput measures, in one run so that the ratios
// hold on a noisy shared machine, the full pipeline as the station runs
// it (open the file, Recognizer.Document: decode at half size, read) with
// 2 workers on 300 dpi grey JPEG pages against three references of the
// same files with the same 2 workers: OpenCV's full-size grey decode of
// each file alone, gozxing searching the whole decoded page for the Code
// 128 barcode and the QR code with TRY_HARDER (what a naive reader
// costs), and zbarimg from zbar-tools.
//
// Metrics: pages/s of the pipeline; x_of_decode_floor, pipeline time per
// page over full-decode time per page (the target is ≤ 1.0: reading a
// page costs no more than decoding it whole); x_faster_than_…,
// a baseline's time per page over the pipeline's; identity_% of the
// pipeline and barcode+qr_% of each baseline, how many pages they read
// both codes of, so that speed is not bought by giving up.
func BenchmarkRecognizeThroughput(b *testing.B) {
	scans, err := benchScans()
	if err != nil {
		b.Fatal(err)
	}
	paths := writeScans(b, b.TempDir(), scans)
	rc := benchRecognizer(b)
	zbar, zbarErr := exec.LookPath("zbarimg")
	if zbarErr != nil {
		b.Logf("zbarimg not found (Debian package zbar-tools): x_faster_than_zbarimg not measured")
	}
	nb := min(baselinePages, len(paths))

	var pipe, dec, zx, zb, pipeCPU, decCPU time.Duration
	var identOK, zxOK, zbOK int
	b.ResetTimer()
	for it := 0; it < b.N; it++ {
		results := make([]forms.PageResult, len(paths))
		c := cpuTime()
		pipe += timed(len(paths), benchWorkers, func(i int) { results[i] = recognizeFile(rc, paths[i]) })
		pipeCPU += cpuTime() - c
		identOK = 0
		for i, r := range results {
			if identityRight(scans[i].truth, r) {
				identOK++
			}
		}
		c = cpuTime()
		dec += timed(len(paths), benchWorkers, func(i int) {
			if m, err := decodeFile(paths[i]); err == nil {
				m.Close()
			}
		})
		decCPU += cpuTime() - c
		read := make([]bool, nb)
		zx += timed(nb, benchWorkers, func(i int) { read[i] = gozxingWholePage(paths[i], scans[i].truth) })
		zxOK = count(read)
		if zbarErr == nil {
			read := make([]bool, nb)
			zb += timed(nb, benchWorkers, func(i int) { read[i] = zbarimgReads(zbar, paths[i], scans[i].truth) })
			zbOK = count(read)
		}
	}
	b.StopTimer()
	n := time.Duration(b.N)
	pipe, dec, zx, zb = pipe/n, dec/n, zx/n, zb/n
	b.ReportMetric(float64(time.Second)/float64(pipe), "pages/s")
	b.ReportMetric(float64(pipe)/float64(dec), "x_of_decode_floor")
	b.ReportMetric(float64(time.Second)/float64(dec), "decode_pages/s")
	if decCPU > 0 {
		// Processor time is what other work on shared cores does not
		// disturb: the steadier form of the same ratio.
		b.ReportMetric(float64(pipeCPU)/float64(decCPU), "cpu_x_of_decode")
	}
	b.ReportMetric(float64(zx)/float64(pipe), "x_faster_than_gozxing_whole_page")
	b.ReportMetric(pct(identOK, len(paths)), "identity_%")
	b.ReportMetric(pct(zxOK, nb), "gozxing_barcode+qr_%")
	if zbarErr == nil {
		b.ReportMetric(float64(zb)/float64(pipe), "x_faster_than_zbarimg")
		b.ReportMetric(pct(zbOK, nb), "zbarimg_barcode+qr_%")
	}
	b.Logf("per page, %d workers: pipeline %v, decode %v, gozxing whole page %v, zbarimg %v (%d pages, baselines on %d)",
		benchWorkers, pipe.Round(time.Microsecond), dec.Round(time.Microsecond), zx.Round(time.Millisecond), zb.Round(time.Millisecond), len(paths), nb)
}

func count(bs []bool) int {
	n := 0
	for _, v := range bs {
		if v {
			n++
		}
	}
	return n
}

// identityRight is the identity criterion: type, barcode and every
// context value right, and none of them sent to review.
func identityRight(truth, got forms.PageResult) bool {
	if got.Type != truth.Type || got.Barcode != truth.Barcode || jsonOf(got.Context) != jsonOf(truth.Context) {
		return false
	}
	for _, id := range got.Review {
		if id == "type" || id == "barcode" || id == "context" {
			return false
		}
	}
	return true
}

// gozxingWholePage is the naive reader: decode the file, then let gozxing
// search the whole page for a Code 128 barcode and a QR code, trying
// harder. It reports whether both came out right.
func gozxingWholePage(path string, truth forms.PageResult) bool {
	m, err := decodeFile(path)
	if err != nil {
		return false
	}
	defer m.Close()
	p, err := planeOfMat(&m)
	if err != nil {
		return false
	}
	g := &image.Gray{Pix: p.pix, Stride: p.stride, Rect: image.Rect(0, 0, p.w, p.h)}
	bmp, err := gozxing.NewBinaryBitmap(gozxing.NewHybridBinarizer(newGrayLuminance(g)))
	if err != nil {
		return false
	}
	hints := map[gozxing.DecodeHintType]interface{}{gozxing.DecodeHintType_TRY_HARDER: true}
	var bar, qr string
	if res, err := oned.NewCode128Reader().Decode(bmp, hints); err == nil {
		bar = res.GetText()
	}
	if res, err := qrcode.NewQRCodeReader().Decode(bmp, hints); err == nil {
		qr = res.GetText()
	}
	return bar == truth.Barcode && qrMatches(qr, truth)
}

// qrMatches says whether QR text carries the page's barcode.
func qrMatches(text string, truth forms.PageResult) bool {
	id, err := forms.ParseQR(text)
	return err == nil && id.Barcode == truth.Barcode
}

// zbarimgReads runs zbarimg on a file and reports whether it read both
// the barcode and the QR code right.
func zbarimgReads(zbar, path string, truth forms.PageResult) bool {
	out, _ := exec.Command(zbar, "-q", "--raw", path).Output() // status 4: nothing found
	bar, qr := false, false
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == truth.Barcode:
			bar = true
		case qrMatches(line, truth):
			qr = true
		}
	}
	return bar && qr
}

// cpuTime is the processor time this process has used, every thread
// (OpenCV's own included), user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// vmRSS returns the resident set size of this process in bytes, from
// /proc/self/status; 0 where there is no /proc.
func vmRSS() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				return 0
			}
			kb, _ := strconv.ParseInt(f[0], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// memPagesFlag sets the length of the memory run, e.g. 10,000 pages:
//
//	go test ./recognition -run '^$' -bench RecognizeMemory -benchtime 1x -mempages 10000
var memPagesFlag = flag.Int("mempages", memPages, "pages read by BenchmarkRecognizeMemory")

// Memory check: a station reads thousands of pages in one run, so memory
// must not grow with the number of pages.
const (
	memPages    = 2000
	memWarmup   = 200
	memFiles    = 5
	memMarginMB = 48 // allocator slack between two readings (glibc arenas of OpenCV's threads); a leaked page is 10+ MB
)

// BenchmarkRecognizeMemory runs the pipeline (decode + recognize, 2
// workers) over 2,000 pages (-mempages), a few files read again and
// again, and fails if the resident set after all of them exceeds the one
// after the first 200 by more than a small margin: a leaked Mat or a
// growing cache shows up as megabytes per hundred pages. It reports the
// resident set and the Go heap in use after the first 200 pages, half way
// and at the end, and logs them at every tenth of the run, so that
// allocator slack (a step that levels off) can be told from a leak (a
// climb that goes on).
func BenchmarkRecognizeMemory(b *testing.B) {
	scans, err := benchScans()
	if err != nil {
		b.Fatal(err)
	}
	paths := writeScans(b, b.TempDir(), scans[:memFiles])
	rc := benchRecognizer(b)
	total := max(*memPagesFlag, memWarmup)
	type reading struct {
		pages      int
		rss, heap  int64
		sinceStart time.Duration
	}
	var readings []reading
	b.ResetTimer()
	for it := 0; it < b.N; it++ {
		readings = readings[:0]
		start := time.Now()
		done := 0
		run := func(n int) {
			parallel(n, benchWorkers, func(i int) { recognizeFile(rc, paths[i%len(paths)]) })
			done += n
		}
		// Garbage the collector has not returned yet is not growth:
		// every reading is taken with the Go heap returned to the system.
		read := func() {
			debug.FreeOSMemory()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			readings = append(readings, reading{done, vmRSS(), int64(ms.HeapInuse), time.Since(start)})
		}
		run(memWarmup)
		read()
		step := max((total-memWarmup)/10, 1)
		for done < total {
			run(min(step, total-done))
			read()
		}
	}
	b.StopTimer()
	const mb = 1 << 20
	for _, r := range readings {
		b.Logf("after %6d pages (%v): resident %4d MB, Go heap in use %3d MB", r.pages, r.sinceStart.Round(time.Second), r.rss/mb, r.heap/mb)
	}
	warm, mid, end := readings[0], readings[len(readings)/2], readings[len(readings)-1]
	if warm.rss == 0 {
		b.Skip("no /proc/self/status: resident set not measured")
	}
	b.ReportMetric(float64(warm.rss)/mb, "rss_MB_after_200")
	b.ReportMetric(float64(mid.rss)/mb, "rss_MB_half_way")
	b.ReportMetric(float64(end.rss)/mb, "rss_MB_at_end")
	b.ReportMetric(float64(end.rss-warm.rss)/mb, "rss_growth_MB")
	b.ReportMetric(float64(warm.heap)/mb, "heap_MB_after_200")
	b.ReportMetric(float64(end.heap)/mb, "heap_MB_at_end")
	if end.rss > warm.rss+memMarginMB*mb {
		b.Errorf("resident set grew from %d MB after %d pages to %d MB after %d", warm.rss/mb, memWarmup, end.rss/mb, total)
	}
}

// imageinFromBytes decodes the first page of an in-memory scan as the
// station decodes files; the caller closes the Mat.
func imageinFromBytes(data []byte, name string) (gocv.Mat, error) {
	d, err := imagein.FromBytes(data, name, imagein.Limits{})
	if err != nil {
		return gocv.Mat{}, err
	}
	defer d.Close()
	m, _, err := d.Page(0)
	return m, err
}

// BenchmarkDocumentParts splits the pipeline's time per page on the
// throughput corpus, one worker, the parts measured in turn on each page
// so that a noisy machine disturbs them alike: OpenCV's full decode (the
// floor of BenchmarkRecognizeThroughput), the reduced decode the
// pipeline makes instead, and the reading of the reduced page. It
// reports each in ms per page and the reduced decode and the reading as
// fractions of the full decode: their sum is the pipeline's ratio when
// no page is decoded twice.
func BenchmarkDocumentParts(b *testing.B) {
	scans, err := benchScans()
	if err != nil {
		b.Fatal(err)
	}
	rc := benchRecognizer(b)
	var full, reduced, read time.Duration
	b.ResetTimer()
	for it := 0; it < b.N; it++ {
		for i, s := range scans {
			name := fmt.Sprintf("%04d.jpg", i+1)
			d, err := imagein.FromBytes(s.data, name, imagein.Limits{})
			if err != nil {
				b.Fatal(err)
			}
			t0 := time.Now()
			m, err := gocv.IMDecode(s.data, gocv.IMReadGrayScale)
			if err != nil {
				b.Fatal(err)
			}
			full += time.Since(t0)
			m.Close()
			t0 = time.Now()
			m, _, err = d.PageReduced(0, reducedMinLong)
			if err != nil {
				b.Fatal(err)
			}
			reduced += time.Since(t0)
			t0 = time.Now()
			rc.Page(m)
			read += time.Since(t0)
			m.Close()
			d.Close()
		}
	}
	b.StopTimer()
	n := float64(b.N * len(scans))
	ms := func(d time.Duration) float64 { return float64(d) / n / 1e6 }
	b.ReportMetric(ms(full), "full_decode_ms")
	b.ReportMetric(ms(reduced), "reduced_decode_ms")
	b.ReportMetric(ms(read), "read_ms")
	b.ReportMetric(float64(reduced)/float64(full), "reduced_x_of_decode")
	b.ReportMetric(float64(read)/float64(full), "read_x_of_decode")
}
