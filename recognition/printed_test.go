package recognition

import (
	"image"
	"slices"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"giascan/forms"
)

// printedPage renders a page of pageType whose drawing edit changed
// first (bars painted over, other digits printed), scans it turned by
// rot and skewed, and reads it. With lineart the scan is blurred and cut
// to 1 bit, as a 150 dpi lineart scanner delivers it.
func printedPage(t *testing.T, rc *Recognizer, pageType string, serial uint64, dpi float64, rot int, lineart bool,
	edit func(d *forms.Drawing, tpl *forms.Template)) forms.PageResult {
	t.Helper()
	tpl, _ := rc.set.Get(pageType)
	d, err := forms.Compose(tpl, testIdentity(t, pageType, serial))
	if err != nil {
		t.Fatal(err)
	}
	edit(d, tpl)
	g, err := forms.Rasterize(d, dpi)
	if err != nil {
		t.Fatal(err)
	}
	m := scan(toMat(t, g), rot, 1.5, 1.5, -1, 1, dpi)
	if lineart {
		blurred := gocv.NewMat()
		gocv.GaussianBlur(m, &blurred, image.Point{}, 0.55, 0.55, gocv.BorderReplicate)
		m.Close()
		m = gocv.NewMat()
		gocv.Threshold(blurred, &m, 0.75*255, 255, gocv.ThresholdBinary)
		blurred.Close()
	}
	defer m.Close()
	return rc.Page(m)
}

// paintBars covers the bars with paper, whatever the scan does to them.
func paintBars(d *forms.Drawing, tpl *forms.Template) {
	b := tpl.Barcode
	d.Ops = append(d.Ops, forms.Op{Kind: forms.OpFill, Rect: forms.Rect{X: b.X - 1, Y: b.Y - 0.5, W: 40, H: b.H + 0.8}, Ink: 0})
}

// smudgeBars draws dark strokes across the bars, as a smeared or inked
// print leaves them: the bars' widths no longer read.
func smudgeBars(d *forms.Drawing, tpl *forms.Template) {
	b := tpl.Barcode
	for x := b.X + 1; x < b.X+36; x += 2.2 {
		d.Line(x, b.Y+0.5, x+1.5, b.Y+b.H-0.5, 0.9, 0.9)
	}
}

// printDigits replaces the human-readable digits under the bars by text,
// the bars and the QR code staying those of the page.
func printDigits(t *testing.T, text string) func(*forms.Drawing, *forms.Template) {
	return func(d *forms.Drawing, tpl *forms.Template) {
		for i, op := range d.Ops {
			if op.Kind == forms.OpText && op.Font == forms.FontMono && len(op.Text) == tpl.Barcode.Digits {
				d.Ops[i].Text = text
				return
			}
		}
		t.Fatal("no barcode digits on the drawing")
	}
}

func both(fs ...func(*forms.Drawing, *forms.Template)) func(*forms.Drawing, *forms.Template) {
	return func(d *forms.Drawing, tpl *forms.Template) {
		for _, f := range fs {
			f(d, tpl)
		}
	}
}

func identityInReview(r forms.PageResult) bool {
	return slices.Contains(r.Review, "barcode") || slices.Contains(r.Review, "type") || slices.Contains(r.Review, "context")
}

// TestPrintedDigitsStandInForBars: bars painted over or smudged, at 300
// dpi grey and 150–200 dpi lineart, upright and turned: the digits under
// them agree with the QR code, so the page is identified without a
// person, and the result says the barcode came from the digits.
func TestPrintedDigitsStandInForBars(t *testing.T) {
	set := forms.Builtin()
	rc, _ := New(set, nil)
	for _, c := range []struct {
		name     string
		pageType string
		dpi      float64
		rot      int
		lineart  bool
		edit     func(*forms.Drawing, *forms.Template)
	}{
		{"painted_300", "11", 300, 0, false, paintBars},
		{"painted_300_turned", "21", 300, 180, false, paintBars},
		{"smudged_150_lineart", "11", 150, 0, true, smudgeBars},
		{"smudged_150_lineart_sideways", "51", 150, 90, true, smudgeBars},
		{"painted_200_lineart", "53", 200, 270, true, paintBars},
	} {
		t.Run(c.name, func(t *testing.T) {
			id := testIdentity(t, c.pageType, 4063581)
			res := printedPage(t, rc, c.pageType, 4063581, c.dpi, c.rot, c.lineart, c.edit)
			if res.Type != c.pageType || res.Barcode != id.Barcode || res.Rotation != c.rot || identityInReview(res) ||
				!slices.Contains(res.Flags, forms.FlagBarcodeFromDigits) || slices.Contains(res.Flags, forms.FlagNoBarcode) {
				t.Errorf("%s; digits %q", describe(res), res.BarcodeDigits)
			}
			if res.BarcodeDigits != id.Barcode {
				t.Errorf("barcode_digits %q, want %q", res.BarcodeDigits, id.Barcode)
			}
		})
	}
}

// TestPrintedDigitsBadCheck: the digits under destroyed bars are legible
// but their check digit does not verify: the barcode goes to a person,
// flagged, with the QR code's barcode shown and the digits as read.
func TestPrintedDigitsBadCheck(t *testing.T) {
	set := forms.Builtin()
	rc, _ := New(set, nil)
	id := testIdentity(t, "11", 4063581)
	wrong := id.Barcode[:12] + string('0'+(id.Barcode[12]-'0'+3)%10)
	if forms.CheckBarcode(wrong) == nil {
		t.Fatalf("%s verifies", wrong)
	}
	for _, lineart := range []bool{false, true} {
		dpi := 300.0
		if lineart {
			dpi = 150
		}
		res := printedPage(t, rc, "11", 4063581, dpi, 0, lineart, both(paintBars, printDigits(t, wrong)))
		if !res.NeedsReview || !slices.Contains(res.Review, "barcode") || !slices.Contains(res.Flags, forms.FlagBadCheckDigit) ||
			!slices.Contains(res.Flags, forms.FlagNoBarcode) || slices.Contains(res.Flags, forms.FlagBarcodeFromDigits) {
			t.Errorf("lineart %v: %s", lineart, describe(res))
		}
		if res.BarcodeDigits != wrong {
			t.Errorf("lineart %v: barcode_digits %q, want %q", lineart, res.BarcodeDigits, wrong)
		}
		// The QR code still gives the type: the page's boxes are read.
		if res.Type != "11" || res.Barcode != id.Barcode || len(res.Marks) == 0 {
			t.Errorf("lineart %v: type %q barcode %q, %d marks", lineart, res.Type, res.Barcode, len(res.Marks))
		}
	}
}

// TestPrintedDigitsDisagreeWithQR: the digits verify but are another
// page's barcode: the page's identity is a person's to settle, as when
// bars and QR code disagree.
func TestPrintedDigitsDisagreeWithQR(t *testing.T) {
	set := forms.Builtin()
	rc, _ := New(set, nil)
	other, err := forms.MakeBarcode("11", 4063582)
	if err != nil {
		t.Fatal(err)
	}
	res := printedPage(t, rc, "11", 4063581, 300, 0, false, both(paintBars, printDigits(t, other)))
	if !res.NeedsReview || !slices.Contains(res.Review, "barcode") || !slices.Contains(res.Review, "type") ||
		!slices.Contains(res.Flags, forms.FlagBarcodeQRMismatch) || slices.Contains(res.Flags, forms.FlagBarcodeFromDigits) ||
		res.Type != "" || res.Barcode != "" {
		t.Errorf("%s", describe(res))
	}
	if res.BarcodeDigits != other {
		t.Errorf("barcode_digits %q, want %q", res.BarcodeDigits, other)
	}
}

// TestPrintedDigitsIllegible: neither the bars nor the digits under them
// are there (painted over, or smeared into a blot): the QR code gives the
// page, and the barcode waits for a person.
func TestPrintedDigitsIllegible(t *testing.T) {
	set := forms.Builtin()
	rc, _ := New(set, nil)
	paintDigits := func(d *forms.Drawing, tpl *forms.Template) {
		b := tpl.Barcode
		d.Ops = append(d.Ops, forms.Op{Kind: forms.OpFill, Rect: forms.Rect{X: b.X - 1, Y: b.TextY0 - 0.5, W: 40, H: b.TextY1 - b.TextY0 + 0.5}, Ink: 0})
	}
	blotDigits := func(d *forms.Drawing, tpl *forms.Template) {
		b := tpl.Barcode
		d.Ops = append(d.Ops, forms.Op{Kind: forms.OpFill, Rect: forms.Rect{X: b.X + 1, Y: b.TextY0 - 0.3, W: 36, H: b.TextY1 - b.TextY0}, Ink: 0.9})
	}
	for _, c := range []struct {
		name string
		edit func(*forms.Drawing, *forms.Template)
	}{
		{"painted", both(paintBars, paintDigits)},
		{"blot", both(paintBars, blotDigits)},
	} {
		res := printedPage(t, rc, "21", 4063581, 300, 0, false, c.edit)
		if !res.NeedsReview || !slices.Contains(res.Review, "barcode") || !slices.Contains(res.Flags, forms.FlagNoBarcode) ||
			slices.Contains(res.Flags, forms.FlagBarcodeFromDigits) {
			t.Errorf("%s: %s", c.name, describe(res))
		}
		if len(res.BarcodeDigits) != 13 || !strings.Contains(res.BarcodeDigits, "?") {
			t.Errorf("%s: barcode_digits %q, want 13 characters with '?' for the illegible", c.name, res.BarcodeDigits)
		}
	}
}

// TestPrintedDigitsNotReadWhenBarsRead: a clean page reads its bars and
// never looks at the digits.
func TestPrintedDigitsNotReadWhenBarsRead(t *testing.T) {
	set := forms.Builtin()
	rc, _ := New(set, nil)
	res := printedPage(t, rc, "11", 4063581, 300, 0, false, func(*forms.Drawing, *forms.Template) {})
	if res.BarcodeDigits != "" || slices.Contains(res.Flags, forms.FlagBarcodeFromDigits) || res.NeedsReview {
		t.Errorf("%s; digits %q", describe(res), res.BarcodeDigits)
	}
}
