package g4

import (
	"bytes"
	"fmt"
	"image"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/image/ccitt"
	"golang.org/x/image/tiff"

	"giascan/forms"
)

// decode decodes a G4 stream with x/image/ccitt, an independent decoder,
// letting it find the end of the image by EOFB.
func decode(t testing.TB, stream []byte, width int) *Bitmap {
	t.Helper()
	r := ccitt.NewReader(bytes.NewReader(stream), ccitt.MSB, ccitt.Group4, width, ccitt.AutoDetectHeight, &ccitt.Options{Invert: true})
	pix, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	stride := (width + 7) / 8
	if len(pix)%stride != 0 {
		t.Fatalf("decode: %d bytes is not a whole number of rows of %d", len(pix), stride)
	}
	return &Bitmap{Width: width, Height: len(pix) / stride, Stride: stride, Pix: pix}
}

// sameBits reports the first pixel where a and b differ.
func sameBits(a, b *Bitmap) error {
	if a.Width != b.Width || a.Height != b.Height {
		return fmt.Errorf("size %dx%d, want %dx%d", b.Width, b.Height, a.Width, a.Height)
	}
	for y := 0; y < a.Height; y++ {
		for x := 0; x < a.Width; x++ {
			if a.Black(x, y) != b.Black(x, y) {
				return fmt.Errorf("pixel (%d,%d) black=%v, want %v", x, y, b.Black(x, y), a.Black(x, y))
			}
		}
	}
	return nil
}

func roundTrip(t *testing.T, name string, b *Bitmap) int {
	t.Helper()
	var buf bytes.Buffer
	if err := Encode(&buf, b); err != nil {
		t.Fatalf("%s: encode: %v", name, err)
	}
	if err := sameBits(b, decode(t, buf.Bytes(), b.Width)); err != nil {
		t.Fatalf("%s (%dx%d): %v", name, b.Width, b.Height, err)
	}
	return buf.Len()
}

func randomBitmap(rng *rand.Rand, w, h int, pBlack float64) *Bitmap {
	b := NewBitmap(w, h)
	for y := range h {
		for x := range w {
			b.Set(x, y, rng.Float64() < pBlack)
		}
	}
	return b
}

// textLike draws strokes, boxes and runs of "letters": the long runs and
// small vertical offsets that real pages have, and that exercise pass and
// vertical modes as much as random noise exercises horizontal mode.
func textLike(rng *rand.Rand, w, h int) *Bitmap {
	b := NewBitmap(w, h)
	fill := func(x0, y0, x1, y1 int) {
		for y := max(y0, 0); y < min(y1, h); y++ {
			for x := max(x0, 0); x < min(x1, w); x++ {
				b.Set(x, y, true)
			}
		}
	}
	for range 1 + w*h/4000 {
		x, y := rng.IntN(w), rng.IntN(h)
		switch rng.IntN(4) {
		case 0: // a box outline
			bw, bh := 5+rng.IntN(60), 5+rng.IntN(40)
			fill(x, y, x+bw, y+2)
			fill(x, y+bh, x+bw, y+bh+2)
			fill(x, y, x+2, y+bh)
			fill(x+bw, y, x+bw+2, y+bh+2)
		case 1: // a slanted stroke
			for i := range 30 {
				fill(x+i/3, y+i, x+i/3+3, y+i+1)
			}
		case 2: // a "word" of letter blobs
			for i := range 8 {
				fill(x+i*9, y+rng.IntN(3), x+i*9+2+rng.IntN(6), y+10+rng.IntN(3))
			}
		default: // a long rule
			fill(0, y, w, y+1+rng.IntN(3))
		}
	}
	return b
}

func TestRoundTripShapes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	widths := []int{1, 2, 3, 7, 8, 9, 13, 31, 63, 64, 65, 127, 129, 641, 1728, 2479, 2560, 2561, 2623, 2624, 2690, 5200}
	for _, w := range widths {
		h := 1 + rng.IntN(40)
		white := NewBitmap(w, h)
		roundTrip(t, "white", white)
		black := NewBitmap(w, h)
		for y := range h {
			for x := range w {
				black.Set(x, y, true)
			}
		}
		roundTrip(t, "black", black)
		for _, p := range []float64{0.5, 0.05, 0.95} {
			roundTrip(t, fmt.Sprintf("random %.2f", p), randomBitmap(rng, w, h, p))
		}
		roundTrip(t, "text-like", textLike(rng, w, 10+rng.IntN(200)))
	}
}

func TestRoundTripRandomSizes(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 300 {
		w, h := 1+rng.IntN(300), 1+rng.IntN(30)
		var b *Bitmap
		if i%2 == 0 {
			b = randomBitmap(rng, w, h, rng.Float64())
		} else {
			b = textLike(rng, w, h)
		}
		roundTrip(t, fmt.Sprintf("case %d", i), b)
	}
}

// Every pattern of an 8-pixel-wide, 2-row image against every other row
// above it: all relations between a1, b1 and b2 near each other.
func TestRoundTripAllSmallRows(t *testing.T) {
	for w := 1; w <= 6; w++ {
		n := 1 << w
		b := NewBitmap(w, 2*n*n)
		y := 0
		for top := range n {
			for bottom := range n {
				b.Row(y)[0] = byte(top << (8 - w))
				b.Row(y + 1)[0] = byte(bottom << (8 - w))
				y += 2
			}
		}
		roundTrip(t, fmt.Sprintf("all rows of width %d", w), b)
	}
}

func TestThreshold(t *testing.T) {
	g := image.NewGray(image.Rect(10, 20, 13, 21))
	copy(g.Pix, []byte{0, 127, 128})
	b := Threshold(g, 128)
	if b.Width != 3 || b.Height != 1 || !b.Black(0, 0) || !b.Black(1, 0) || b.Black(2, 0) {
		t.Fatalf("Threshold(0,127,128 at 128) = %08b", b.Pix)
	}
}

func TestEncoderRefuses(t *testing.T) {
	if _, err := NewEncoder(io.Discard, 0); err == nil {
		t.Error("width 0 accepted")
	}
	e, _ := NewEncoder(io.Discard, 20)
	if err := e.WriteRow([]byte{0, 0}); err == nil {
		t.Error("short row accepted")
	}
	if _, err := NewTIFFWriter(io.Discard, 0); err == nil {
		t.Error("TIFF of no pages accepted")
	}
	tw, _ := NewTIFFWriter(io.Discard, 2)
	if err := tw.WritePage(Page{Image: NewBitmap(8, 8), DPI: 300}); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err == nil || !strings.Contains(err.Error(), "announced 2 pages, got 1") {
		t.Errorf("Close with a page missing: %v", err)
	}
	if err := WriteTIFF(io.Discard, Page{Image: NewBitmap(8, 8)}); err == nil {
		t.Error("page without resolution accepted")
	}
}

func writeTIFFFile(t *testing.T, pages ...Page) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "pages.tif")
	var buf bytes.Buffer
	if err := WriteTIFF(&buf, pages...); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestTIFFDecodesWithGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	b := textLike(rng, 301, 77)
	path := writeTIFFFile(t, Page{Image: b, DPI: 300})
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := tiff.Decode(f)
	if err != nil {
		t.Fatalf("x/image/tiff: %v", err)
	}
	got := NewBitmap(b.Width, b.Height)
	for y := range b.Height {
		for x := range b.Width {
			r, _, _, _ := img.At(x, y).RGBA()
			got.Set(x, y, r < 0x8000)
		}
	}
	if err := sameBits(b, got); err != nil {
		t.Fatal(err)
	}
}

// libtiff, the reference reader (Debian's libtiff-tools), must accept the
// files: tiffinfo reads every directory and strip, tiffcp decompresses and
// recompresses each page, and the result must hold the same pixels.
func TestTIFFLibtiffAccepts(t *testing.T) {
	for _, tool := range []string{"tiffinfo", "tiffcp"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (Debian package libtiff-tools)", tool)
		}
	}
	rng := rand.New(rand.NewPCG(7, 8))
	pages := []Page{
		{Image: textLike(rng, 2479, 300), DPI: 300},
		{Image: randomBitmap(rng, 33, 17, 0.3), DPI: 200},
		{Image: NewBitmap(1, 1), DPI: 150.5},
	}
	path := writeTIFFFile(t, pages...)
	out, err := exec.Command("tiffinfo", "-D", path).CombinedOutput()
	if err != nil || strings.Contains(strings.ToLower(string(out)), "error") || strings.Contains(string(out), "Warning") {
		t.Fatalf("tiffinfo: %v\n%s", err, out)
	}
	text := string(out)
	for _, want := range []string{
		"Image Width: 2479 Image Length: 300",
		"Compression Scheme: CCITT Group 4",
		"Photometric Interpretation: min-is-white",
		"Resolution: 300, 300 pixels/inch",
		"Resolution: 150.5, 150.5 pixels/inch",
		"Page Number: 2-3",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("tiffinfo lacks %q:\n%s", want, text)
		}
	}
	if n := strings.Count(text, "TIFF Directory"); n != 3 {
		t.Errorf("tiffinfo saw %d directories, want 3", n)
	}
	// Decompress with libtiff and read the uncompressed copy back.
	raw := filepath.Join(t.TempDir(), "raw.tif")
	if out, err := exec.Command("tiffcp", "-c", "none", path, raw).CombinedOutput(); err != nil || len(out) > 0 {
		t.Fatalf("tiffcp: %v\n%s", err, out)
	}
	f, err := os.Open(raw)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := tiff.Decode(f) // the first page
	if err != nil {
		t.Fatal(err)
	}
	got := NewBitmap(pages[0].Image.Width, pages[0].Image.Height)
	for y := range got.Height {
		for x := range got.Width {
			r, _, _, _ := img.At(x, y).RGBA()
			got.Set(x, y, r < 0x8000)
		}
	}
	if err := sameBits(pages[0].Image, got); err != nil {
		t.Fatalf("page decompressed by libtiff: %v", err)
	}
}

// formPage renders a blank answer sheet №1 at 300 dpi and thresholds it.
func formPage(t testing.TB) *Bitmap {
	t.Helper()
	tpl, ok := forms.Builtin().Get(forms.TypeBO1)
	if !ok {
		t.Fatal("no template of type 11")
	}
	bc, err := forms.MakeBarcode(forms.TypeBO1, 4200000017)
	if err != nil {
		t.Fatal(err)
	}
	id := forms.Identity{Level: 11, Region: "77", PPE: "0101", Auditorium: "0012", Subject: "02",
		Date: "20250527", Type: forms.TypeBO1, Barcode: bc, Kit: "0000012345", Sheet: tpl.Sheet}
	d, err := forms.Compose(tpl, id)
	if err != nil {
		t.Fatal(err)
	}
	g, err := forms.Rasterize(d, 300)
	if err != nil {
		t.Skipf("rasterize (fonts missing?): %v", err)
	}
	return Threshold(g, 128)
}

// speckle adds scanner dirt: isolated black and white pixels at the given
// rate, the worst case for run-length coding after a clean render.
func speckle(b *Bitmap, rate float64, seed uint64) *Bitmap {
	rng := rand.New(rand.NewPCG(seed, seed))
	c := &Bitmap{Width: b.Width, Height: b.Height, Stride: b.Stride, Pix: bytes.Clone(b.Pix)}
	for n := int(rate * float64(b.Width*b.Height)); n > 0; n-- {
		x, y := rng.IntN(b.Width), rng.IntN(b.Height)
		c.Set(x, y, !c.Black(x, y))
	}
	return c
}

// TestFormPageSize checks the budget of a G4 A4 page at 300 dpi: at most
// 60 KB for a form page, with and without scanner dirt.
func TestFormPageSize(t *testing.T) {
	page := formPage(t)
	const budget = 60 * 1024
	for _, c := range []struct {
		name string
		b    *Bitmap
	}{
		{"blank form", page},
		{"form with 0.02% dirt", speckle(page, 0.0002, 1)},
	} {
		n := roundTrip(t, c.name, c.b)
		t.Logf("%s, %dx%d at 300 dpi: %d bytes", c.name, c.b.Width, c.b.Height, n)
		if n > budget {
			t.Errorf("%s: %d bytes, over the budget of %d", c.name, n, budget)
		}
	}
}

func BenchmarkEncodeFormPage(b *testing.B) {
	page := formPage(b)
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := Encode(&buf, page); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "bytes/page")
	b.SetBytes(int64(len(page.Pix)))
}

// Every run length up to past the largest make-up code, in both colours and
// both after a white row (horizontal mode) and at the row start: each
// entry of the code tables is used at least once.
func TestRoundTripEveryRunLength(t *testing.T) {
	const maxRun = 2700
	w := 2*maxRun + 2
	b := NewBitmap(w, maxRun+1)
	for n := 0; n <= maxRun; n++ {
		// n black from the start, n+1 white, then black to the end.
		for x := range n {
			b.Set(x, n, true)
		}
		for x := 2*n + 1; x < w; x++ {
			b.Set(x, n, true)
		}
	}
	// Interleave white rows so every row is coded against a white reference.
	c := NewBitmap(w, 2*b.Height)
	for y := range b.Height {
		copy(c.Row(2*y+1), b.Row(y))
	}
	roundTrip(t, "every run length", c)
}
