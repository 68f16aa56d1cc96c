package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"giascan/station/packaging"
	"giascan/station/store"
	"giascan/transport/linktest"
)

// BenchmarkDeadlinePPE runs the exam day the one-hour limit is about: a
// ППЭ of 300 participants (15 auditoriums of 20 kits, about 1,250 pages)
// scanned auditorium by auditorium into a running daemon that seals and
// sends by itself. The РЦОИ must acknowledge the whole ППЭ (every
// auditorium package and the closing set) within 5 minutes of the last
// page being stored, over a 1 Mbit/s link that loses 2 % of its segments
// and is cut twice.
//
// A real feeder takes half an hour for such a ППЭ while the link needs a
// few minutes for its packages, so the link keeps up: the first 14
// auditoriums go over a fast link (not measured) and the last one, the
// forms and the closing set over the slow lossy one, timed from the last
// page stored to the last receipt. That time is reported next to what the
// last auditorium's package alone needs on the wire, as a ratio.
func BenchmarkDeadlinePPE(b *testing.B) {
	const rate = 125_000 // bytes a second: 1 Mbit/s
	p := planShapedPPE(b, 11, 15, 20)
	last := p.auds[len(p.auds)-1]
	var measured, wireLast time.Duration
	var lastPages, lastBytes, allBytes int64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := filepath.Join(b.TempDir(), "data")
		examFile := filepath.Join(b.TempDir(), "exam.json")
		os.WriteFile(examFile, p.exam, 0o600)
		mustRunTB(b, "exam", "import", "--data", dir, examFile)
		r := newRCOI(b, p.exam)
		r.register(b, dir, p.ppe)
		link := linktest.New(b, r.addr, 0)
		stop := startDaemon(b, dir)
		mustRunTB(b, "rcoi", "set", "--data", dir, "--url", link.URL(), "--key", r.receiptKey())
		for _, a := range p.auds[:len(p.auds)-1] {
			mustRunTB(b, "scan", "--data", dir, "--ppe", p.ppe, "--auditorium", a,
				"--device", p.device(p.first[a], p.last[a]), "--on-fault", "continue", "--workers", "2")
			mustRunTB(b, "auditorium", "close", "--data", dir, "--ppe", p.ppe, "--auditorium", a, "--reason", "сдано", "--user", "op1")
		}
		waitArrived(b, r, p.ppe, len(p.auds)-1)

		// The last auditorium, its forms and the closing set go over the
		// real link.
		sealed, _ := packaging.List(dir, p.ppe)
		var sum, pages int64
		for _, s := range sealed {
			sum, pages = sum+s.Size, pages+int64(len(s.Manifest.Pages))
		}
		estimate := sum / pages * int64(p.count-p.first[last]+1)
		fw, _ := link.Stats()
		link.SetRate(rate)
		link.SetLoss(0.02, 200*time.Millisecond)
		link.SetCuts(fw+estimate/3, fw+2*estimate/3)
		b.StartTimer()
		mustRunTB(b, "scan", "--data", dir, "--ppe", p.ppe, "--auditorium", last,
			"--device", p.device(p.first[last], p.count), "--on-fault", "continue", "--workers", "2")
		start := time.Now() // the last page is stored
		confirm1302(b, dir, p, store.Place{PPE: p.ppe, Auditorium: last}, p.forms-p.first[last]+1)
		mustRunTB(b, "auditorium", "close", "--data", dir, "--ppe", p.ppe, "--auditorium", last, "--reason", "сдано", "--user", "op1")
		signProtocol(b, dir, p.ppe)
		waitArrived(b, r, p.ppe, len(p.auds)+1)
		measured += time.Since(start)
		b.StopTimer()

		_, cuts := link.Stats()
		if cuts != 2 {
			b.Errorf("the link was cut %d times, want 2", cuts)
		}
		sealed, _ = packaging.List(dir, p.ppe)
		for _, s := range sealed {
			allBytes += s.Size
			if s.Manifest.Exam.Auditorium == last {
				lastBytes += s.Size
				lastPages += int64(len(s.Manifest.Pages))
				wireLast += time.Duration(s.Size) * time.Second / rate
			}
		}
		stop()
		r.kill()
		link.Close()
	}
	n := time.Duration(b.N)
	secs, wire := (measured / n).Seconds(), (wireLast / n).Seconds()
	b.ReportMetric(secs, "s_last_page_to_ack")
	b.ReportMetric(wire, "s_last_package_on_wire")
	b.ReportMetric(secs/wire, "ratio_to_wire")
	b.ReportMetric(secs/300, "share_of_5min")
	b.Logf("ППЭ of %d pages, %d bytes sealed: from the last page stored to the РЦОИ's last receipt %.1f s "+
		"(limit 300 s); the last auditorium's package (%d pages, %d bytes) alone needs %.1f s on a 1 Mbit/s wire: %.2f×",
		p.count, allBytes/int64(b.N), secs, lastPages/int64(b.N), lastBytes/int64(b.N), wire, secs/wire)
}

// waitArrived waits until the РЦОИ has accepted n packages of a ППЭ.
func waitArrived(tb testing.TB, r *rcoi, ppe string, n int) {
	tb.Helper()
	deadline := time.Now().Add(15 * time.Minute)
	for {
		pr := r.progress(tb, ppe)
		got := 0
		if pr != nil && pr.Progress != nil {
			for _, x := range pr.Expected {
				if x.Arrived {
					got++
				}
			}
		}
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("the РЦОИ has %d of %d packages of ППЭ %s", got, n, ppe)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
