package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"giascan/station/packaging"
	"giascan/station/store"
	"giascan/transport/linktest"
)

// copyTree copies a station data folder, so each run of the pipeline
// starts from the same scanned, still open auditorium.
func copyTree(tb testing.TB, src, dst string) {
	tb.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o750)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, _ := d.Info()
		return os.WriteFile(to, data, info.Mode().Perm())
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkDeliver measures what a ППЭ ТОМ's one-hour limit depends on:
// the bytes a page costs in each profile, and the time from the last page
// scanned to the РЦОИ's receipt — close, package, seal, upload over a
// 1 Mbit/s link, receipt — on a simulated auditorium. Scanning a whole
// 1,300-page ППЭ is too slow for a benchmark, so the 1,300-page figure is
// an estimate: the measured processing time per page plus the measured
// bytes per page at 1 Mbit/s, as if every page were still to be packaged
// and sent after the last one was scanned (the worst case: in practice
// closed auditoriums leave during the scanning).
func BenchmarkDeliver(b *testing.B) {
	const rate = 125_000 // bytes a second: 1 Mbit/s
	p := planPPE(b, 9, 22)
	a := store.Place{PPE: p.ppe, Auditorium: p.auds[0]}
	scanned := filepath.Join(b.TempDir(), "scanned")
	examFile := filepath.Join(b.TempDir(), "exam.json")
	os.WriteFile(examFile, p.exam, 0o600)
	mustRunTB(b, "exam", "import", "--data", scanned, examFile)
	mustRunTB(b, "scan", "--data", scanned, "--ppe", a.PPE, "--auditorium", a.Auditorium,
		"--device", p.device(1, p.last[a.Auditorium]), "--on-fault", "continue", "--workers", "2")

	// Bytes per page, sealed, in each profile.
	perPage := map[string]float64{}
	for _, prof := range []string{"bilevel", "grey"} {
		dir := filepath.Join(b.TempDir(), prof)
		copyTree(b, scanned, dir)
		r := newRCOI(b, p.exam)
		r.register(b, dir, p.ppe)
		r.kill()
		mustRunTB(b, "auditorium", "close", "--data", dir, "--ppe", a.PPE, "--auditorium", a.Auditorium, "--reason", "сдано", "--user", "op1")
		mustRunTB(b, "package", "build", "--data", dir, "--ppe", a.PPE, "--auditorium", a.Auditorium, "--profile", prof)
		list, err := packaging.List(dir, a.PPE)
		if err != nil || len(list) != 1 {
			b.Fatalf("%s: %v %v", prof, list, err)
		}
		perPage[prof] = float64(list[0].Size) / float64(len(list[0].Manifest.Pages))
	}

	var measured time.Duration
	var pages int
	var bytes int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := filepath.Join(b.TempDir(), "data")
		copyTree(b, scanned, dir)
		r := newRCOI(b, p.exam)
		r.register(b, dir, p.ppe)
		l := linktest.New(b, r.addr, rate)
		b.StartTimer()

		start := time.Now()
		mustRunTB(b, "auditorium", "close", "--data", dir, "--ppe", a.PPE, "--auditorium", a.Auditorium, "--reason", "сдано", "--user", "op1")
		mustRunTB(b, "package", "build", "--data", dir, "--ppe", a.PPE, "--auditorium", a.Auditorium)
		out := mustRunTB(b, "send", "--once", "--data", dir, "--to", l.URL(), "--rcoi-key", r.receiptKey())
		measured += time.Since(start)

		b.StopTimer()
		if !strings.Contains(out, "доставлен") {
			b.Fatalf("nothing delivered: %q", out)
		}
		list, _ := packaging.List(dir, a.PPE)
		pages += len(list[0].Manifest.Pages)
		bytes += list[0].Size
		r.kill()
		l.Close()
		b.StartTimer()
	}
	b.StopTimer()

	secs := measured.Seconds() / float64(b.N)
	n := float64(pages) / float64(b.N)
	wire := float64(bytes) / float64(b.N) / rate
	perPageWork := max(secs-wire, 0) / n
	est := 1300 * (perPageWork + perPage["bilevel"]/rate)
	b.ReportMetric(perPage["bilevel"], "bytes/page_bilevel")
	b.ReportMetric(perPage["grey"], "bytes/page_grey")
	b.ReportMetric(n, "pages_measured")
	b.ReportMetric(secs, "s_to_receipt_measured")
	b.ReportMetric(est, "s_to_receipt_1300p_est")
	b.ReportMetric(est/3600, "share_of_1h_limit_1300p_est")
	// Grey pages are far larger: the same link would need this long.
	estGrey := 1300 * (perPageWork + perPage["grey"]/rate)
	b.ReportMetric(estGrey, "s_to_receipt_1300p_grey_est")
	b.Logf("%.0f pages: %.1f s from the last page to the receipt (%.1f s of it on the wire); "+
		"1,300 pages at %.0f bytes/page over 1 Mbit/s: about %.0f s, %.0f%% of the one-hour limit",
		n, secs, wire, perPage["bilevel"], est, 100*est/3600)
	b.Logf("in the grey profile (%.0f bytes/page) 1,300 pages would take about %.0f s, %.0f%% of the limit", perPage["grey"], estGrey, 100*estGrey/3600)
}
