package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"giascan/station/exam"
)

// The demo must run end to end on a fresh data folder: print, scan with a
// jam and a double feed, recognise every page with no silent error.
func TestDemoRunsEndToEnd(t *testing.T) {
	data := filepath.Join(t.TempDir(), "demo-data")
	var out, errb bytes.Buffer
	code := run(context.Background(), &env{stdout: &out, stderr: &errb}, []string{"demo", "--data", data, "--count", "12", "--profile", "clean"})
	if code != 0 {
		t.Fatalf("demo exit %d: %s\n%s", code, errb.String(), out.String())
	}
	text := out.String()
	for _, want := range []string{"Замятие бумаги после страницы 4", "Подача двух листов", "Лоток пуст. Страниц: 12", "расхождений с эталоном без пометки: 0", "Что дальше"} {
		if !strings.Contains(text, want) {
			t.Errorf("demo output lacks %q:\n%s", want, text)
		}
	}
	scans, err := filepath.Glob(filepath.Join(data, "demo", "scans", "0*"))
	if err != nil || len(scans) != 12 {
		t.Fatalf("%d scans stored, want 12 (%v)", len(scans), err)
	}
	raw, err := os.ReadFile(filepath.Join(data, "demo", "exam.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exam.Parse(raw); err != nil {
		t.Fatalf("the demo's exam file does not follow exam.md: %v", err)
	}
	for _, pdf := range []string{"kits.pdf", "ppe-13-02-mash.pdf"} {
		if fi, err := os.Stat(filepath.Join(data, "demo", pdf)); err != nil || fi.Size() < 1000 {
			t.Errorf("%s not printed: %v", pdf, err)
		}
	}
	// A second run over the same folder works too (make demo twice).
	out.Reset()
	if code := run(context.Background(), &env{stdout: &out, stderr: &errb}, []string{"demo", "--data", data, "--count", "10", "--profile", "clean"}); code != 0 {
		t.Fatalf("second demo run exit %d: %s", code, errb.String())
	}
}
