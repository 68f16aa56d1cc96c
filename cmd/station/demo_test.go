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

// The demo runs the station's own commands end to end on a fresh data
// folder: exam import, printing, a scan through a jam and a double feed
// with one лист 2 lost, ППЭ-13-02-МАШ confirmation and the report.
func TestDemoRunsEndToEnd(t *testing.T) {
	data := filepath.Join(t.TempDir(), "demo-data")
	var out, errb bytes.Buffer
	code := run(context.Background(), &env{stdout: &out, stderr: &errb}, []string{"demo", "--data", data, "--profile", "clean"})
	if code != 0 {
		t.Fatalf("demo exit %d: %s\n%s", code, errb.String(), out.String())
	}
	text := out.String()
	for _, want := range []string{"Замятие бумаги после страницы", "Подача двух листов", "Лоток сканера пуст",
		"[missing] Лист 2 БО №2 комплекта", "[count_mismatch] БО №2 лист 2", "Что дальше"} {
		if !strings.Contains(text, want) {
			t.Errorf("demo output lacks %q:\n%s", want, text)
		}
	}
	raw, err := os.ReadFile(filepath.Join(data, "exam.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exam.Parse(raw); err != nil {
		t.Fatalf("the demo's exam file does not follow exam.md: %v", err)
	}
	for _, pdf := range []string{"kits.pdf", "ppe-13-02-mash.pdf"} {
		if fi, err := os.Stat(filepath.Join(data, "print", pdf)); err != nil || fi.Size() < 1000 {
			t.Errorf("%s not printed: %v", pdf, err)
		}
	}
	if code, _, errs := runStation(t, "audit", "verify", "--data", data); code != 0 {
		t.Errorf("audit log of the demo does not verify: %s", errs)
	}
	// make demo twice: the demo's own folder is started afresh.
	out.Reset()
	if code := run(context.Background(), &env{stdout: &out, stderr: &errb}, []string{"demo", "--data", data, "--profile", "clean"}); code != 0 {
		t.Fatalf("second demo run exit %d: %s", code, errb.String())
	}
	// A folder the demo did not make is never wiped.
	other := t.TempDir()
	keep := filepath.Join(other, "station.db")
	if err := os.WriteFile(keep, []byte("real data"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := runStation(t, "demo", "--data", other); code != 2 {
		t.Errorf("demo over a non-demo folder: exit %d, want 2", code)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("the demo touched a folder it did not make: %v", err)
	}
}
