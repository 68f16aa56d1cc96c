package forms

import (
	"bytes"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/oned"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// The PDF tests check the output with independent tools: qpdf for the file
// structure, poppler for text and rendering, gozxing for the codes.
func needTools(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"qpdf", "pdftoppm", "pdftotext", "pdfinfo"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (Debian qpdf, poppler-utils): %v", tool, err)
		}
	}
	for _, role := range []string{FontRegular, FontBold, FontMono} {
		if _, err := FontPath(role); err != nil {
			t.Skipf("fonts: %v", err)
		}
	}
}

func runTool(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// renderPage rasterises page n (1-based) of a PDF at dpi as 8-bit grey.
func renderPage(t *testing.T, pdfPath string, n, dpi int) *image.Gray {
	t.Helper()
	prefix := filepath.Join(t.TempDir(), "page")
	runTool(t, "pdftoppm", "-r", fmt.Sprint(dpi), "-gray", "-png", "-singlefile",
		"-f", fmt.Sprint(n), "-l", fmt.Sprint(n), pdfPath, prefix)
	f, err := os.Open(prefix + ".png")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decode rendered page: %v", err)
	}
	if g, ok := img.(*image.Gray); ok {
		return g
	}
	// Some poppler versions write grey renderings as RGB(A) PNG.
	g := image.NewGray(img.Bounds())
	draw.Draw(g, g.Bounds(), img, img.Bounds().Min, draw.Src)
	return g
}

// crop cuts a rectangle given in millimetres out of a page rendered at dpi.
func crop(img *image.Gray, dpi int, r Rect) image.Image {
	px := func(mm float64) int { return int(mm * float64(dpi) / 25.4) }
	return img.SubImage(image.Rect(px(r.X), px(r.Y), px(r.X1()), px(r.Y1())))
}

func decode(t *testing.T, img image.Image, reader gozxing.Reader) (string, error) {
	t.Helper()
	bmp, err := gozxing.NewBinaryBitmap(gozxing.NewHybridBinarizer(gozxing.NewLuminanceSourceFromImage(img)))
	if err != nil {
		return "", err
	}
	res, err := reader.Decode(bmp, map[gozxing.DecodeHintType]interface{}{gozxing.DecodeHintType_TRY_HARDER: true})
	if err != nil {
		return "", err
	}
	return res.GetText(), nil
}

// testIdentity is a valid identity of a page of type pt.
func testIdentity(t *testing.T, tpl *Template, serial uint64) Identity {
	t.Helper()
	b, err := MakeBarcode(tpl.Type, serial)
	if err != nil {
		t.Fatal(err)
	}
	id := Identity{Level: 11, Region: "77", PPE: "0101", Auditorium: "0012", Subject: "02",
		Date: "20250527", Type: tpl.Type, Barcode: b, Kit: "0000012345", Sheet: tpl.Sheet}
	if tpl.Sheet < 0 {
		id.Sheet = 3
	}
	if tpl.PerPPE {
		id.Auditorium, id.Kit = "0000", NoKit
	}
	if tpl.Type == TypePPE15 {
		id.Manifest = "0123456789abcdef"
	}
	return id
}

func TestWritePDFTemplatesRoundTrip(t *testing.T) {
	needTools(t)
	set := Builtin()
	var pages []*Drawing
	var ids []Identity
	for i, pt := range set.Types() {
		tpl, _ := set.Get(pt)
		id := testIdentity(t, tpl, uint64(1000000+i*7919))
		d, err := Compose(tpl, id)
		if err != nil {
			t.Fatalf("compose %s: %v", pt, err)
		}
		pages = append(pages, d)
		ids = append(ids, id)
	}
	var buf bytes.Buffer
	meta := PDFMeta{Title: "Бланки ГИА-11, регион 77", Creator: "giascan station", Created: time.Date(2025, 5, 20, 9, 0, 0, 0, time.UTC)}
	if err := WritePDF(&buf, pages, meta); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(buf.Bytes(), []byte("/FlateDecode")) {
		t.Error("content streams are not compressed")
	}
	path := filepath.Join(t.TempDir(), "all.pdf")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	runTool(t, "qpdf", "--check", path)

	info := runTool(t, "pdfinfo", path)
	for _, want := range []string{
		"Title:           Бланки ГИА-11, регион 77",
		"Creator:         giascan station",
		fmt.Sprintf("Pages:           %d", len(pages)),
		"Page size:       595.28 x 841.89 pts (A4)",
	} {
		if !strings.Contains(info, want) {
			t.Errorf("pdfinfo lacks %q:\n%s", want, info)
		}
	}
	fonts := runTool(t, "pdffonts", path)
	if strings.Count(fonts, " yes ") < 3 || !strings.Contains(fonts, "dejavusans") {
		t.Errorf("fonts are not embedded subsets of DejaVu:\n%s", fonts)
	}

	// Cyrillic must come back as text, i.e. the fonts carry a Unicode map:
	// a copy-paste of a printed form should not turn into garbage.
	text := runTool(t, "pdftotext", "-f", "1", "-l", "1", path, "-")
	for _, want := range []string{"БЛАНК ОТВЕТОВ №1", "Математика", ids[0].Barcode} {
		if !strings.Contains(text, want) {
			t.Errorf("page 1 text lacks %q:\n%s", want, text)
		}
	}

	for i, id := range ids {
		tpl, _ := set.Get(id.Type)
		img := renderPage(t, path, i+1, 300)
		// 210 mm is 595.28 pt, which poppler rounds up to 2481 px.
		if w, h := img.Bounds().Dx(), img.Bounds().Dy(); w < 2480 || w > 2481 || h < 3507 || h > 3508 {
			t.Fatalf("page %d renders %dx%d px at 300 dpi, want A4 2480x3508", i+1, w, h)
		}
		bc := tpl.Barcode
		barArea := Rect{bc.X - bc.Quiet, bc.Y - 1, 65 - (bc.X - bc.Quiet), bc.H + 2}
		got, err := decode(t, crop(img, 300, barArea), oned.NewCode128Reader())
		if err != nil || got != id.Barcode {
			t.Errorf("type %s: barcode %q (%v), want %s", id.Type, got, err, id.Barcode)
		}
		q := tpl.QR
		qrArea := Rect{q.X - 3, q.Y - 2.5, q.Size + 6, q.Size + 5}
		got, err = decode(t, crop(img, 300, qrArea), qrcode.NewQRCodeReader())
		if err != nil || got != id.QRText() {
			t.Errorf("type %s: QR %q (%v), want %s", id.Type, got, err, id.QRText())
		}
	}
}

// mean darkness (0 white .. 1 black) of a small square around a point in mm.
func inkAt(img *image.Gray, dpi int, x, y, half float64) float64 {
	px := func(mm float64) int { return int(mm*float64(dpi)/25.4 + 0.5) }
	sum, n := 0.0, 0
	for yy := px(y - half); yy <= px(y+half); yy++ {
		for xx := px(x - half); xx <= px(x+half); xx++ {
			sum += 1 - float64(img.GrayAt(xx, yy).Y)/255
			n++
		}
	}
	return sum / float64(n)
}

// inkColumns returns the leftmost and rightmost ink columns (mm) in a band.
func inkColumns(img *image.Gray, dpi int, y0, y1 float64) (float64, float64) {
	mm := func(px int) float64 { return float64(px) * 25.4 / float64(dpi) }
	px := func(mm float64) int { return int(mm * float64(dpi) / 25.4) }
	left, right := -1, -1
	for x := 0; x < img.Bounds().Dx(); x++ {
		for y := px(y0); y <= px(y1); y++ {
			if img.GrayAt(x, y).Y < 128 {
				if left < 0 {
					left = x
				}
				right = x
				break
			}
		}
	}
	return mm(left), mm(right)
}

func TestWritePDFGeometry(t *testing.T) {
	needTools(t)
	d := &Drawing{Width: 210, Height: 297}
	d.fill(Rect{20, 20, 30, 20}, 1)
	d.fill(Rect{60, 20, 30, 20}, 0.5)
	d.Ops = append(d.Ops, Op{Kind: OpStroke, Rect: Rect{100, 20, 40, 20}, Width: 2, Ink: 1})
	d.Line(20, 60, 180, 60, 1, 1)
	d.Line(20, 70, 180, 70, 0.2, 0.12)
	d.Text(Text{X: 105, Y: 100, Size: 20, Align: "center", Text: "ЖЖЖЖЖЖ"}, 1)
	d.Text(Text{X: 150, Y: 120, Size: 20, Align: "right", Text: "ЖЖЖ"}, 1)
	d.Text(Text{X: 40, Y: 140, Size: 20, Text: "ЖЖЖ"}, 1)
	d.Ops = append(d.Ops, Op{Kind: OpText, Rect: Rect{X: 40, Y: 160}, Size: 20, Font: FontMono, Text: "0123"})

	var buf bytes.Buffer
	if err := WritePDF(&buf, []*Drawing{d}, PDFMeta{Title: "geometry"}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "g.pdf")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	runTool(t, "qpdf", "--check", path)
	const dpi = 300
	img := renderPage(t, path, 1, dpi)

	near := func(what string, got, want, tol float64) {
		t.Helper()
		if got < want-tol || got > want+tol {
			t.Errorf("%s: %.3f, want %.3f ± %.3f", what, got, want, tol)
		}
	}
	near("black fill", inkAt(img, dpi, 35, 30, 2), 1, 0.02)
	near("outside the fill", inkAt(img, dpi, 35, 45, 2), 0, 0.02)
	near("50 % grey fill", inkAt(img, dpi, 75, 30, 2), 0.5, 0.03)
	// A 2 mm stroke on the edge x = 100 covers 99..101.
	near("stroke outside half", inkAt(img, dpi, 99.5, 30, 0.3), 1, 0.02)
	near("stroke inside half", inkAt(img, dpi, 100.5, 30, 0.3), 1, 0.02)
	near("beyond the stroke, outside", inkAt(img, dpi, 98.4, 30, 0.2), 0, 0.02)
	near("beyond the stroke, inside", inkAt(img, dpi, 101.6, 30, 0.2), 0, 0.02)
	near("stroke corner", inkAt(img, dpi, 99.5, 19.5, 0.3), 1, 0.02)
	near("line", inkAt(img, dpi, 100, 60, 0.3), 1, 0.02)
	near("line end is butt", inkAt(img, dpi, 180.6, 60, 0.2), 0, 0.02)
	near("dropout line", inkAt(img, dpi, 100, 70, 0.05), 0.12, 0.04)

	l, r := inkColumns(img, dpi, 93, 100)
	near("centred text middle", (l+r)/2, 105, 0.4)
	_, r = inkColumns(img, dpi, 113, 120)
	near("right-aligned text end", r, 150, 0.8)
	l, _ = inkColumns(img, dpi, 133, 140)
	near("left-aligned text start", l, 40, 0.8)
	// Nothing of a letter lies below the baseline for Ж (no descender).
	near("baseline", inkAt(img, dpi, 45, 140.6, 0.3), 0, 0.02)
}

func TestWritePDFRefusesBadInput(t *testing.T) {
	var buf bytes.Buffer
	if err := WritePDF(&buf, nil, PDFMeta{}); err == nil {
		t.Error("no pages: want an error")
	}
	d := &Drawing{Width: 210, Height: 297, Ops: []Op{{Kind: OpKind(42)}}}
	if err := WritePDF(&buf, []*Drawing{d}, PDFMeta{}); err == nil {
		t.Error("unknown operation: want an error")
	}
	d = &Drawing{Width: 210, Height: 297, Ops: []Op{{Kind: OpText, Text: "x", Size: 10, Align: "justify"}}}
	if err := WritePDF(&buf, []*Drawing{d}, PDFMeta{}); err == nil {
		t.Error("unknown alignment: want an error")
	}
}
