package forms

import (
	"fmt"
	"image"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/oned"
	"github.com/makiuchi-d/gozxing/qrcode"
)

func needFonts(t testing.TB) {
	t.Helper()
	for _, role := range []string{FontRegular, FontBold, FontMono} {
		if _, err := FontPath(role); err != nil {
			t.Skipf("fonts: %v", err)
		}
	}
}

// decodeAny tries the hybrid binarizer first and then the global one:
// gozxing's hybrid binarizer loses the centres of QR finder patterns when
// modules are more than about 10 pixels wide (600 dpi), which zbar and the
// global binarizer read fine.
func decodeAny(t *testing.T, img image.Image, reader gozxing.Reader) (string, error) {
	t.Helper()
	got, err := decode(t, img, reader)
	if err == nil {
		return got, nil
	}
	bmp, err2 := gozxing.NewBinaryBitmap(gozxing.NewGlobalHistgramBinarizer(gozxing.NewLuminanceSourceFromImage(img)))
	if err2 != nil {
		return "", err2
	}
	res, err2 := reader.Decode(bmp, map[gozxing.DecodeHintType]interface{}{gozxing.DecodeHintType_TRY_HARDER: true})
	if err2 != nil {
		return "", fmt.Errorf("hybrid: %v; global: %w", err, err2)
	}
	return res.GetText(), nil
}

func composeType(t testing.TB, pt string) (*Template, Identity, *Drawing) {
	t.Helper()
	tpl, ok := Builtin().Get(pt)
	if !ok {
		t.Fatalf("no template of type %s", pt)
	}
	b, err := MakeBarcode(pt, 4200000017)
	if err != nil {
		t.Fatal(err)
	}
	id := Identity{Level: 11, Region: "77", PPE: "0101", Auditorium: "0012", Subject: "02",
		Date: "20250527", Type: pt, Barcode: b, Kit: "0000012345", Sheet: tpl.Sheet}
	if tpl.Sheet < 0 {
		id.Sheet = 3
	}
	if tpl.PerPPE {
		id.Auditorium, id.Kit = "0000", NoKit
	}
	if pt == TypePPE15 {
		id.Manifest = "0123456789abcdef"
	}
	d, err := Compose(tpl, id)
	if err != nil {
		t.Fatal(err)
	}
	return tpl, id, d
}

func TestRasterizeBO1AnchorsAndCodes(t *testing.T) {
	needFonts(t)
	tpl, id, d := composeType(t, TypeBO1)
	for _, dpi := range []int{300, 600} {
		img, err := Rasterize(d, float64(dpi))
		if err != nil {
			t.Fatal(err)
		}
		// A4 is 210 × 297 mm: 2480 × 3508 px at 300 dpi.
		want := map[int]image.Point{300: {2480, 3508}, 600: {4961, 7016}}[dpi]
		if img.Rect.Size() != want {
			t.Fatalf("%d dpi: %v, want %v", dpi, img.Rect.Size(), want)
		}
		for _, a := range tpl.Anchors {
			cx, cy := a.Center()
			if v := inkAt(img, dpi, cx, cy, 2.2); v < 0.99 {
				t.Errorf("%d dpi: anchor %s ink %.3f, want black", dpi, a.ID, v)
			}
			// The contract keeps 3 mm around an anchor clear.
			if v := inkAt(img, dpi, cx, a.Y1()+1.5, 0.5); v > 0.01 {
				t.Errorf("%d dpi: below anchor %s ink %.3f, want paper", dpi, a.ID, v)
			}
		}
		if v := inkAt(img, dpi, 3, 3, 1); v != 0 {
			t.Errorf("%d dpi: paper corner ink %.3f", dpi, v)
		}
		bc := tpl.Barcode
		got, err := decodeAny(t, crop(img, dpi, Rect{bc.X - bc.Quiet, bc.Y - 1, 62 - bc.X + bc.Quiet, bc.H + 2}), oned.NewCode128Reader())
		if err != nil || got != id.Barcode {
			t.Errorf("%d dpi: barcode %q (%v), want %s", dpi, got, err, id.Barcode)
		}
		q := tpl.QR
		got, err = decodeAny(t, crop(img, dpi, Rect{q.X - 3, q.Y - 3, q.Size + 6, q.Size + 6}), qrcode.NewQRCodeReader())
		if err != nil || got != id.QRText() {
			t.Errorf("%d dpi: QR %q (%v), want %s", dpi, got, err, id.QRText())
		}
		// Whole page too: the recognizer may search without knowing where.
		got, err = decodeAny(t, img, qrcode.NewQRCodeReader())
		if err != nil || got != id.QRText() {
			t.Errorf("%d dpi: QR on the whole page %q (%v)", dpi, got, err)
		}
	}
}

func TestRasterizeEveryTemplate(t *testing.T) {
	needFonts(t)
	for _, pt := range Builtin().Types() {
		tpl, _, d := composeType(t, pt)
		img, err := Rasterize(d, 200)
		if err != nil {
			t.Fatalf("type %s: %v", pt, err)
		}
		// Box and cell interiors stay paper: only borders are printed.
		for _, b := range tpl.Boxes {
			cx, cy := b.Center()
			if v := inkAt(img, 200, cx, cy, 1.5); v > 0.01 {
				t.Errorf("type %s: box %s interior ink %.3f", pt, b.ID, v)
			}
		}
		for _, f := range tpl.DigitFields {
			cx, cy := f.Cell(0).Center()
			if v := inkAt(img, 200, cx, cy, 1.5); v > 0.01 {
				t.Errorf("type %s: cell of %s interior ink %.3f", pt, f.ID, v)
			}
		}
	}
}

func TestRasterizeGeometry(t *testing.T) {
	needFonts(t)
	d := &Drawing{Width: 210, Height: 297}
	d.fill(Rect{20, 20, 30, 20}, 1)
	d.fill(Rect{60, 20, 30, 20}, 0.5)
	d.Ops = append(d.Ops, Op{Kind: OpStroke, Rect: Rect{100, 20, 40, 20}, Width: 2, Ink: 1})
	d.Line(20, 60, 180, 60, 1, 1)
	d.Line(20, 70, 180, 70, 0.2, 0.12)
	d.Line(20, 170, 60, 210, 1, 1)
	d.Text(Text{X: 105, Y: 100, Size: 20, Align: "center", Text: "ЖЖЖЖЖЖ"}, 1)
	d.Text(Text{X: 150, Y: 120, Size: 20, Align: "right", Text: "ЖЖЖ"}, 1)
	d.Text(Text{X: 40, Y: 140, Size: 20, Text: "ЖЖЖ"}, 1)
	d.Ops = append(d.Ops, Op{Kind: OpText, Rect: Rect{X: 40, Y: 160}, Size: 20, Font: FontMono, Text: "0123", Ink: 1})
	const dpi = 300
	img, err := Rasterize(d, dpi)
	if err != nil {
		t.Fatal(err)
	}
	near := func(what string, got, want, tol float64) {
		t.Helper()
		if got < want-tol || got > want+tol {
			t.Errorf("%s: %.3f, want %.3f ± %.3f", what, got, want, tol)
		}
	}
	near("black fill", inkAt(img, dpi, 35, 30, 2), 1, 0.01)
	near("outside the fill", inkAt(img, dpi, 35, 45, 2), 0, 0.01)
	near("50 % grey fill", inkAt(img, dpi, 75, 30, 2), 0.5, 0.01)
	near("stroke outside half", inkAt(img, dpi, 99.5, 30, 0.3), 1, 0.01)
	near("stroke inside half", inkAt(img, dpi, 100.5, 30, 0.3), 1, 0.01)
	near("beyond the stroke, outside", inkAt(img, dpi, 98.4, 30, 0.2), 0, 0.01)
	near("beyond the stroke, inside", inkAt(img, dpi, 101.6, 30, 0.2), 0, 0.01)
	near("stroke corner", inkAt(img, dpi, 99.5, 19.5, 0.3), 1, 0.01)
	near("inside the stroked box", inkAt(img, dpi, 120, 30, 5), 0, 0.01)
	near("line", inkAt(img, dpi, 100, 60, 0.3), 1, 0.01)
	near("line end is butt", inkAt(img, dpi, 180.6, 60, 0.2), 0, 0.01)
	near("dropout line", inkAt(img, dpi, 100, 70, 0.05), 0.12, 0.02)
	near("slanted line", inkAt(img, dpi, 40, 190, 0.2), 1, 0.02)
	near("beside the slanted line", inkAt(img, dpi, 42, 188, 0.2), 0, 0.01)

	l, r := inkColumns(img, dpi, 93, 100)
	near("centred text middle", (l+r)/2, 105, 0.4)
	_, r = inkColumns(img, dpi, 113, 120)
	near("right-aligned text end", r, 150, 0.8)
	l, _ = inkColumns(img, dpi, 133, 140)
	near("left-aligned text start", l, 40, 0.8)
	near("baseline", inkAt(img, dpi, 45, 140.6, 0.3), 0, 0.01)
	near("text above baseline", inkAt(img, dpi, 45, 139, 3)+0.01, 0.3, 0.29)
	l, _ = inkColumns(img, dpi, 153, 160)
	near("mono text start", l, 40, 1)
}

func TestRasterizeRefusesBadInput(t *testing.T) {
	if _, err := Rasterize(nil, 300); err == nil {
		t.Error("nil drawing: want an error")
	}
	d := &Drawing{Width: 210, Height: 297}
	if _, err := Rasterize(d, 0); err == nil {
		t.Error("0 dpi: want an error")
	}
	d.Ops = []Op{{Kind: OpKind(42)}}
	if _, err := Rasterize(d, 300); err == nil {
		t.Error("unknown operation: want an error")
	}
	d.Ops = []Op{{Kind: OpText, Text: "x", Size: 10, Align: "justify"}}
	if _, err := Rasterize(d, 300); err == nil {
		t.Error("unknown alignment: want an error")
	}
	d.Ops = []Op{{Kind: OpStroke, Rect: Rect{1, 1, 5, 5}}}
	if _, err := Rasterize(d, 300); err == nil {
		t.Error("stroke of no width: want an error")
	}
}

func BenchmarkRasterizeBO1At300(b *testing.B) {
	needFonts(b)
	_, _, d := composeType(b, TypeBO1)
	for b.Loop() {
		if _, err := Rasterize(d, 300); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRasterizeBO1At600(b *testing.B) {
	needFonts(b)
	_, _, d := composeType(b, TypeBO1)
	for b.Loop() {
		if _, err := Rasterize(d, 600); err != nil {
			b.Fatal(err)
		}
	}
}
