package main

import (
	"encoding/json"
	"flag"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"giascan/forms"
	"giascan/recognition"
)

// writePage renders a blank page of a type as a PNG at 200 dpi.
func writePage(t *testing.T, path, pageType string, serial uint64) string {
	t.Helper()
	tpl, _ := forms.Builtin().Get(pageType)
	b, err := forms.MakeBarcode(pageType, serial)
	if err != nil {
		t.Fatal(err)
	}
	id := forms.Identity{Level: 9, Region: "50", PPE: "1234", Auditorium: "0007", Subject: "01",
		Date: "20250601", Type: pageType, Barcode: b, Kit: "0000000042"}
	if pageType == forms.TypeBO2Sheet1 {
		id.Sheet = 1
	}
	d, err := forms.Compose(tpl, id)
	if err != nil {
		t.Fatal(err)
	}
	g, err := forms.Rasterize(d, 200)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, g); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRecognizeFolderInOrder(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "b")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	want := []struct{ path, barcode string }{}
	for _, p := range []struct {
		name, typ string
	}{{"a1.png", "11"}, {"b/c.png", "21"}, {"b/d.png", "11"}, {"z.png", "21"}} {
		path := filepath.Join(dir, p.name)
		want = append(want, struct{ path, barcode string }{path, writePage(t, path, p.typ, uint64(len(want)+1))})
	}
	os.WriteFile(filepath.Join(dir, "truth.jsonl"), []byte("{}\n"), 0o644) // not a scan: skipped
	code, out, errs := runStation(t, "recognize", "--workers", "3", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), out)
	}
	for i, l := range lines {
		var r forms.PageResult
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if r.File != want[i].path || r.Page != 1 || r.Barcode != want[i].barcode || r.Ms <= 0 {
			t.Errorf("line %d: %s", i+1, l)
		}
		for _, key := range []string{`"marks":{`, `"digits":{`, `"ink":{`, `"flags":[`, `"review":[`, `"context":{`} {
			if !strings.Contains(l, key) {
				t.Errorf("line %d lacks %s: %s", i+1, key, l)
			}
		}
	}
}

func TestRecognizeMissingInput(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "p.png")
	writePage(t, good, "11", 9)
	missing := filepath.Join(dir, "nope.png")
	code, out, _ := runStation(t, "recognize", missing, good)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"error"`) || strings.Contains(lines[1], `"error"`) {
		t.Fatalf("output:\n%s", out)
	}
}

func TestRecognizeUsage(t *testing.T) {
	for _, args := range [][]string{{"recognize"}, {"recognize", "--workers", "0", "x"}, {"recognize", "--bogus", "x"}} {
		if code, out, _ := runStation(t, args...); code != 2 || out != "" {
			t.Errorf("%v: exit %d, stdout %q", args, code, out)
		}
	}
}

var corpusPages = flag.Int("corpus", 20, "pages per profile in TestCorpus (go test -run TestCorpus -args -corpus 300)")

// TestCorpus generates a simulated corpus per scanner profile with
// `station testscan`, reads it with `station recognize` and scores the
// output against truth.jsonl: no value may be wrong without review.
func TestCorpus(t *testing.T) {
	if commands["testscan"] == nil {
		t.Skip("station testscan is not part of this build")
	}
	if testing.Short() {
		t.Skip("corpus test in -short mode")
	}
	// Floors actually reached on 20 pages per profile without a digit
	// model; the digit floor is for cells left empty.
	floors := map[string]struct{ identity, marks float64 }{
		"clean": {100, 99.5},
		"real":  {95, 99},
		"hard":  {90, 98},
	}
	for _, profile := range []string{"clean", "real", "hard"} {
		t.Run(profile, func(t *testing.T) {
			dir := t.TempDir()
			if code, _, errs := runStation(t, "testscan", "--out", dir, "--count", strconv.Itoa(*corpusPages), "--seed", "11", "--profile", profile); code != 0 {
				t.Fatalf("testscan: exit %d: %s", code, errs)
			}
			start := time.Now()
			code, out, errs := runStation(t, "recognize", "--workers", "2", dir)
			took := time.Since(start)
			if code != 0 {
				t.Fatalf("recognize: exit %d: %s", code, errs)
			}
			truthData, err := os.ReadFile(filepath.Join(dir, "truth.jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			truth, err := recognition.ReadResults(truthData)
			if err != nil {
				t.Fatal(err)
			}
			got, err := recognition.ReadResults([]byte(out))
			if err != nil {
				t.Fatal(err)
			}
			s := recognition.Score(truth, got)
			t.Logf("%s: %v; %.1f pages/s", profile, s, float64(len(got))/took.Seconds())
			for _, e := range s.Silent {
				t.Errorf("silent error: %s", e)
			}
			f := floors[profile]
			if id := 100 * float64(s.IdentityOK) / float64(s.Pages); id < f.identity {
				t.Errorf("identity %.1f%% below the floor %.1f%%", id, f.identity)
			}
			if mk := 100 * float64(s.MarksOK) / float64(max(1, s.Marks)); mk < f.marks {
				t.Errorf("marks %.2f%% below the floor %.2f%%", mk, f.marks)
			}
		})
	}
}
