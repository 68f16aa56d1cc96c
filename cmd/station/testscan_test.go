package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/oned"
	"github.com/makiuchi-d/gozxing/qrcode"

	"giascan/forms"
	"giascan/hardware/sim"
)

func tsRun(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), &env{stdout: &out, stderr: &errb, stdin: strings.NewReader("")}, args)
	return code, out.String(), errb.String()
}

// tsScan runs testscan into a new folder and returns the folder and truth.
func tsScan(t *testing.T, count, seed, profile string) (string, []forms.PageResult) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "scans")
	code, _, stderr := tsRun(t, "testscan", "--out", dir, "--count", count, "--seed", seed, "--profile", profile, "--workers", "2")
	if code != 0 {
		t.Fatalf("testscan exit %d: %s", code, stderr)
	}
	return dir, tsTruth(t, dir)
}

func tsTruth(t *testing.T, dir string) []forms.PageResult {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, truthFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []forms.PageResult
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r forms.PageResult
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("truth line %d: %v", len(out)+1, err)
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// tsFiles reads every file of a folder by name.
func tsFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = b
	}
	return out
}

func TestTestscanIsDeterministic(t *testing.T) {
	dirA, truthA := tsScan(t, "10", "7", "real")
	tsTypes(t, truthA)
	dirB, _ := tsScan(t, "10", "7", "real")
	a, b := tsFiles(t, dirA), tsFiles(t, dirB)
	if len(a) != 11 {
		t.Fatalf("%d files, want 10 pages and the truth", len(a))
	}
	for name, data := range a {
		if !bytes.Equal(data, b[name]) {
			if name == truthFile {
				// The paths differ by folder only.
				data = bytes.ReplaceAll(data, []byte(dirA), []byte(dirB))
			}
			if !bytes.Equal(data, b[name]) {
				t.Errorf("%s differs between two runs with the same seed", name)
			}
		}
	}
	for i, r := range truthA {
		if want := filepath.Join(dirA, fmt.Sprintf("%04d%s", i+1, filepath.Ext(r.File))); r.File != want {
			t.Errorf("page %d: file %q, want %q", i+1, r.File, want)
		}
		if _, ok := a[filepath.Base(r.File)]; !ok {
			t.Errorf("page %d: %s was not written", i+1, r.File)
		}
	}
	dirC, truthC := tsScan(t, "3", "8", "real")
	c := tsFiles(t, dirC)
	same := 0
	for name, data := range c {
		if bytes.Equal(data, a[name]) {
			same++
		}
	}
	if same > 0 || truthA[0].Barcode == truthC[0].Barcode {
		t.Errorf("seeds 7 and 8: %d identical files, first barcodes %s and %s", same, truthA[0].Barcode, truthC[0].Barcode)
	}
}

// tsTypes checks that every page type of the contract is in the stream.
func tsTypes(t *testing.T, truth []forms.PageResult) {
	t.Helper()
	seen := map[string]bool{}
	for _, r := range truth {
		seen[r.Type] = true
	}
	for _, pt := range forms.Builtin().Types() {
		if pt == forms.TypeAcceptance {
			continue // the station's own act: printed at the ППОИ, never in a ППЭ's stacks
		}
		if !seen[pt] {
			t.Errorf("no page of type %s among %d", pt, len(truth))
		}
	}
}

func TestTestscanHardPagesDecode(t *testing.T) {
	dir, truth := tsScan(t, "10", "3", "hard")
	if len(truth) != 10 {
		t.Fatalf("%d truth lines", len(truth))
	}
	tsTypes(t, truth)
	for i, r := range truth {
		f, err := os.Open(r.File)
		if err != nil {
			t.Fatal(err)
		}
		cfg, format, err := image.DecodeConfig(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", r.File, err)
		}
		if want := map[string]string{".jpg": "jpeg", ".png": "png"}[filepath.Ext(r.File)]; format != want {
			t.Errorf("%s is %s", r.File, format)
		}
		if cfg.Width < 1000 || cfg.Height < 1000 {
			t.Errorf("%s: %dx%d", r.File, cfg.Width, cfg.Height)
		}
		if r.Rotation%90 != 0 || r.Skew < -5 || r.Skew > 5 || r.Page != 1 || r.NeedsReview {
			t.Errorf("page %d: rotation %d, skew %g, page %d", i+1, r.Rotation, r.Skew, r.Page)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "0011.jpg")); err == nil {
		t.Error("an eleventh page")
	}
}

// The clean profile is the page itself: truth is checked on the pixels.
func TestTestscanCleanTruthMatchesPixels(t *testing.T) {
	_, truth := tsScan(t, "12", "11", "clean")
	tsTypes(t, truth)
	const dpi = 300
	set := forms.Builtin()
	var markedInk, emptyInk []float64
	for _, r := range truth {
		img := tsLoad(t, r.File)
		if w, h := img.Rect.Dx(), img.Rect.Dy(); w != 2480 || h != 3508 || r.Rotation != 0 || r.Skew != 0 {
			t.Fatalf("%s: %dx%d, rotation %d, skew %g: want an upright 300 dpi A4", r.File, w, h, r.Rotation, r.Skew)
		}
		tpl, _ := set.Get(r.Type)
		bc := tpl.Barcode
		if got := tsDecode(img, dpi, forms.Rect{X: bc.X - bc.Quiet, Y: bc.Y - 1, W: 62 - bc.X + bc.Quiet, H: bc.H + 2}, oned.NewCode128Reader()); got != r.Barcode {
			t.Errorf("%s: barcode %q, truth %s", r.File, got, r.Barcode)
		}
		q := tpl.QR
		qr := tsDecode(img, dpi, forms.Rect{X: q.X - 3, Y: q.Y - 3, W: q.Size + 6, H: q.Size + 6}, qrcode.NewQRCodeReader())
		id, err := forms.ParseQR(qr)
		if err != nil {
			t.Errorf("%s: QR %q: %v", r.File, qr, err)
		} else if got, _ := json.Marshal(forms.ContextOf(id)); string(got) != tsJSON(r.Context) || id.Barcode != r.Barcode || id.Type != r.Type {
			t.Errorf("%s: QR says %s, truth %s", r.File, got, tsJSON(r.Context))
		}

		if len(r.Marks) != len(tpl.Boxes) || len(r.Digits) != len(tpl.DigitFields) || len(r.Ink) != len(tpl.Zones) {
			t.Errorf("%s: truth covers %d/%d boxes, %d/%d fields, %d/%d zones", r.File,
				len(r.Marks), len(tpl.Boxes), len(r.Digits), len(tpl.DigitFields), len(r.Ink), len(tpl.Zones))
		}
		groups := map[string]int{}
		for _, b := range tpl.Boxes {
			ink := tsDark(img, dpi, b.Rect.Inset(0.6))
			switch r.Marks[b.ID] {
			case forms.MarkMarked:
				markedInk = append(markedInk, ink)
				if b.Group != "" {
					groups[b.Group]++
				}
			case forms.MarkEmpty:
				emptyInk = append(emptyInk, ink)
			default:
				t.Errorf("%s: box %s is %q", r.File, b.ID, r.Marks[b.ID])
			}
		}
		multiple := false
		for _, n := range groups {
			multiple = multiple || n > 1
		}
		if multiple != tsHas(r.Flags, forms.FlagMultipleMarks) {
			t.Errorf("%s: multiple marks %v, flags %v", r.File, multiple, r.Flags)
		}
		for _, f := range tpl.DigitFields {
			v, ok := r.Digits[f.ID]
			if !ok || len(v) > f.Cells || strings.Trim(v, "0123456789") != "" {
				t.Errorf("%s: field %s is %q", r.File, f.ID, v)
				continue
			}
			for i := 0; i < f.Cells; i++ {
				ink := tsDark(img, dpi, f.Cell(i).Inset(0.5))
				filled := i >= f.Cells-len(v) // right-aligned
				if filled && ink < 0.03 || !filled && ink > 0.002 {
					t.Errorf("%s: field %s %q, cell %d has ink %.3f", r.File, f.ID, v, i, ink)
				}
			}
		}
		noAnswer, noSignature := false, false
		for _, z := range tpl.Zones {
			want := r.Ink[z.ID]
			got := tsDark(img, dpi, z.Rect.Inset(0.5))
			if want == 0 && got > 0.0005 || want > 0 && (got < want*0.5 || got > want*1.5+0.002) {
				t.Errorf("%s: zone %s has %.4f dark, truth ink %.4f", r.File, z.ID, got, want)
			}
			noAnswer = noAnswer || z.Kind == forms.ZoneAnswer && want == 0
			noSignature = noSignature || z.Kind == forms.ZoneSignature && want == 0
		}
		if noAnswer != tsHas(r.Flags, forms.FlagEmptyAnswerArea) || noSignature != tsHas(r.Flags, forms.FlagNoSignature) {
			t.Errorf("%s: flags %v disagree with the ink %v", r.File, r.Flags, r.Ink)
		}
	}
	sort.Float64s(markedInk)
	sort.Float64s(emptyInk)
	if len(markedInk) < 20 || len(emptyInk) < 50 {
		t.Fatalf("%d marked and %d empty boxes: too few to judge", len(markedInk), len(emptyInk))
	}
	t.Logf("box interiors: marked %.3f..%.3f (%d), empty %.3f..%.3f (%d)", markedInk[0], markedInk[len(markedInk)-1], len(markedInk), emptyInk[0], emptyInk[len(emptyInk)-1], len(emptyInk))
	if lo, hi := markedInk[0], emptyInk[len(emptyInk)-1]; lo < 0.08 || hi > 0.05 {
		t.Errorf("box interiors: marked from %.3f, empty up to %.3f; want marked ≥ 0.08 and empty ≤ 0.05", lo, hi)
	}
}

func tsJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func tsHas(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

func tsLoad(t *testing.T, path string) *image.Gray {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	g, ok := img.(*image.Gray)
	if !ok {
		t.Fatalf("%s: %T, want 8-bit grey", path, img)
	}
	return g
}

func tsRect(dpi float64, r forms.Rect) image.Rectangle {
	px := func(mm float64) int { return int(mm*dpi/25.4 + 0.5) }
	return image.Rect(px(r.X), px(r.Y), px(r.X1()), px(r.Y1()))
}

// tsDark is the share of dark pixels (below half grey) in a rectangle.
func tsDark(img *image.Gray, dpi float64, r forms.Rect) float64 {
	b := tsRect(dpi, r)
	n := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if img.GrayAt(x, y).Y < 128 {
				n++
			}
		}
	}
	return float64(n) / float64(b.Dx()*b.Dy())
}

func tsDecode(img *image.Gray, dpi float64, r forms.Rect, reader gozxing.Reader) string {
	src := gozxing.NewLuminanceSourceFromImage(img.SubImage(tsRect(dpi, r)))
	bmp, err := gozxing.NewBinaryBitmap(gozxing.NewHybridBinarizer(src))
	if err != nil {
		return ""
	}
	res, err := reader.Decode(bmp, nil)
	if err != nil {
		return ""
	}
	return res.GetText()
}

func TestTestscanRefusesBadInput(t *testing.T) {
	base := t.TempDir()
	file := filepath.Join(base, "a-file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(base, "out")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--out", out, "--count", "0"}, "--count"},
		{[]string{"--out", out, "--count", "100001"}, "--count"},
		{[]string{"--out", out, "--count", "x"}, "--count"},
		{[]string{"--out", out}, "--count"},
		{[]string{"--count", "3"}, "--out"},
		{[]string{"--out", out, "--count", "3", "--profile", "blurry"}, "--profile"},
		{[]string{"--out", out, "--count", "3", "--workers", "0"}, "--workers"},
		{[]string{"--out", out, "--count", "3", "--seed", "x"}, "seed"},
		{[]string{"--out", file, "--count", "3"}, "not a folder"},
		{[]string{"--out", filepath.Join(file, "sub"), "--count", "3"}, "--out"},
		{[]string{"--out", out, "--count", "3", "extra"}, "extra"},
		{[]string{"--out", out, "--count", "3", "--bogus"}, "bogus"},
	} {
		code, stdout, stderr := tsRun(t, append([]string{"testscan"}, tc.args...)...)
		if code != 2 || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2 and one line naming %s", tc.args, code, stdout, stderr, tc.want)
		}
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("bad input left %s behind (%v)", out, err)
	}
	if os.Getuid() != 0 { // root writes anywhere
		ro := filepath.Join(base, "ro")
		if err := os.Mkdir(ro, 0o555); err != nil {
			t.Fatal(err)
		}
		if code, _, stderr := tsRun(t, "testscan", "--out", ro, "--count", "3"); code != 2 || !strings.Contains(stderr, "cannot write") {
			t.Errorf("read-only folder: exit %d, %q", code, stderr)
		}
	}
}

func TestTestscanCancelledLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	sheets, err := sim.Plan(1, 6)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := renderAll(ctx, dir, sheets, sim.Settings{Profile: sim.Clean}, 2); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled run: %v", err)
	}
	var out, errb bytes.Buffer
	code := run(ctx, &env{stdout: &out, stderr: &errb}, []string{"testscan", "--out", dir, "--count", "6"})
	if code != 1 {
		t.Errorf("cancelled command: exit %d, %s", code, errb.String())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a cancelled run left %d files", len(entries))
	}
}

func TestTestscanCancelledMidwayRemovesItsPages(t *testing.T) {
	dir := t.TempDir()
	sheets, err := sim.Plan(2, 40)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(300*time.Millisecond, cancel)
	if err := renderAll(ctx, dir, sheets, sim.Settings{Profile: sim.Clean}, 2); !errors.Is(err, context.Canceled) {
		t.Fatalf("run cancelled after 300 ms: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a cancelled run left %d files, e.g. %s", len(entries), entries[0].Name())
	}
}
