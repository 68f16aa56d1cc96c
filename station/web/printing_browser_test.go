package web

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"giascan/forms"
	"giascan/station/serials"
	"giascan/station/web/browsertest"
)

// TestBrowserPrintsAndChecksReadiness prepares for the exam in headless
// Chromium: the head opens «Печать» from the menu, downloads kits for an
// auditorium and a blank ППЭ-13-02-МАШ, is told why a ДБО for another
// auditorium's participant is refused, and runs the readiness check of the
// scanner from the scanning screen. The downloaded PDFs are read back by
// the station's recognizer. Screenshots: test-output/ui/6x-*.png.
func TestBrowserPrintsAndChecksReadiness(t *testing.T) {
	needBrowser(t)
	f := newScanFixture(t)
	br := startBrowser(t, f.http.URL, 120*time.Second)
	downloads := t.TempDir()
	waitFile := func(name string) chromedp.Action[chromedp.Void] { return browsertest.WaitFile(downloads, name) }
	var jobs, refused, readiness, protocolType string
	var readinessShown bool
	err := chromedp.Do(br.ctx,
		browsertest.Downloads(downloads),
		br.signIn("head"),
		chromedp.Click(chromedp.CSS("#nav-print")),
		chromedp.WaitVisible(chromedp.CSS("#kits-form")),
		br.shot("61-print-page.png"),
		chromedp.SetValue(chromedp.CSS("#kits-count"), "2"),
		chromedp.Click(chromedp.CSS("#print-kits")),
		waitFile("komplekty-0101-0012-2.pdf"),
		chromedp.SetValue(chromedp.CSS("#form-ppe"), "0202"),
		chromedp.Click(chromedp.CSS("#print-form")),
		waitFile("ppe-13-02-mash-0202.pdf"),
		// The list of print jobs catches up without a reload.
		into(new(bool), chromedp.Poll[bool](`document.querySelectorAll("#jobs tbody tr").length === 2`, chromedp.WithPollingTimeout(15*time.Second))),
		into(&jobs, chromedp.Text(chromedp.CSS("#printed"))),
		br.shot("62-print-downloaded.png"),
		chromedp.SetValue(chromedp.CSS("#dbo-place"), "0101/0014"),
		chromedp.SendKeys(chromedp.CSS("#dbo-kit"), "0000012345"),
		chromedp.Click(chromedp.CSS("#print-dbo")),
		chromedp.WaitVisible(chromedp.CSS("#error")),
		into(&refused, chromedp.Text(chromedp.CSS("#error"))),
		br.shot("63-print-dbo-refused.png"),
		chromedp.Click(chromedp.CSS("#nav-scan")),
		chromedp.WaitVisible(chromedp.CSS("#readiness-check")),
		chromedp.Click(chromedp.CSS("#readiness-check")),
		into(&readinessShown, chromedp.Poll[bool](`!!document.getElementById("readiness-protocol")`, chromedp.WithPollingTimeout(60*time.Second))),
		into(&readiness, chromedp.Text(chromedp.CSS("#readiness-result"))),
		into(&protocolType, chromedp.Evaluate[string](`fetch(document.getElementById("readiness-protocol").href).then(r => r.status + " " + r.headers.get("Content-Type"))`,
			chromedp.EvalAwaitPromise)),
		br.shot("64-readiness-check.png"),
	)
	if err != nil {
		t.Fatalf("browser: %v\naudit log:\n%s", err, f.auditText(t))
	}
	all, err := serials.Jobs(f.dir)
	if err != nil || len(all) != 2 {
		t.Fatalf("print jobs %+v %v: want the kits and the form only", all, err)
	}
	kits, err := os.ReadFile(filepath.Join(downloads, "komplekty-0101-0012-2.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	pages := readPDF(t, f, kits)
	if len(pages) != 6 {
		t.Fatalf("kits PDF has %d pages, want 6", len(pages))
	}
	for i, p := range pages {
		want, _ := forms.MakeBarcode([]string{forms.TypeBO1, forms.TypeBO2Sheet1, forms.TypeBO2Sheet2}[i%3], all[0].Serials.At(i))
		if p.Barcode != want || p.Context.Auditorium != "0012" || p.Context.Kit != fmt.Sprintf("%010d", all[0].Kits.At(i/3)) {
			t.Errorf("kits page %d read back as %s %+v", i+1, p.Barcode, p.Context)
		}
	}
	form, err := os.ReadFile(filepath.Join(downloads, "ppe-13-02-mash-0202.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	if p := readPDF(t, f, form); len(p) != 1 || p[0].Type != forms.TypePPE1302 || p[0].Context.PPE != "0202" {
		t.Errorf("form read back as %+v", p)
	}
	if !strings.Contains(jobs, "комплекты: 2") || !strings.Contains(jobs, "ППЭ-13-02-МАШ") || !strings.Contains(jobs, all[0].Kits.String()) {
		t.Errorf("print jobs shown:\n%s", jobs)
	}
	if !strings.Contains(refused, "по плану рассадки — в ППЭ 0101, аудитории 0012") {
		t.Errorf("ДБО refusal: %q", refused)
	}
	if !strings.Contains(readiness, "ГОТОВ") || !strings.Contains(readiness, "Протокол проверки") || protocolType != "200 application/pdf" {
		t.Errorf("readiness: %q, protocol %q", readiness, protocolType)
	}
}
