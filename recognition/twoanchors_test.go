package recognition

import (
	"image"
	"math"
	"slices"
	"testing"

	"gocv.io/x/gocv"

	"giascan/forms"
)

// cutMat returns a copy of m without the given margins (pixels), as a
// scanner bed smaller than the page would deliver it; it closes m.
func cutMat(m gocv.Mat, left, top, right, bottom int) gocv.Mat {
	r := m.Region(image.Rect(left, top, m.Cols()-right, m.Rows()-bottom))
	out := r.Clone()
	r.Close()
	m.Close()
	return out
}

// TestTwoAnchorsLost: a page turned by 4–5°, shifted, and cut so that
// two of its anchors are not on the image (either side, the bottom, or
// two opposite corners torn) is still placed and read, from the anchors
// that are left and the QR code's finder patterns.
func TestTwoAnchorsLost(t *testing.T) {
	set := forms.Builtin()
	rc, _ := New(set, nil)
	const dpi = 300
	mm := func(v float64) int { return int(v * dpi / 25.4) }
	marks := []string{"t01_2", "t10_3", "t11_1", "t20_4", "r4_2"}
	cases := []struct {
		name   string
		rot    int
		skew   float64
		dx, dy float64
		cut    [4]float64 // mm off the scan: left, top, right, bottom
		tear   []int      // corners whitened on the page: 0 TL, 1 TR, 2 BR, 3 BL
	}{
		{"left", 0, 4.5, -3, 2, [4]float64{30, 0, 0, 0}, nil},
		{"right", 0, -4.5, 3, -2, [4]float64{0, 0, 32, 0}, nil},
		{"right_turned", 180, 4.5, 3, -2, [4]float64{32, 0, 0, 0}, nil},
		{"bottom", 0, 5, 2, 4, [4]float64{0, 0, 0, 24}, nil},
		{"bottom_turned", 180, -4, -2, 3, [4]float64{0, 24, 0, 0}, nil},
		{"right_sideways", 90, 4, 3, 3, [4]float64{0, 0, 0, 32}, nil},
		{"torn_TL_BR", 0, 4.5, 4, -3, [4]float64{}, []int{0, 2}},
		{"torn_BL_BR", 270, -5, -4, 3, [4]float64{}, []int{2, 3}},
		// Deeper cuts: boxes off the image go to review.
		{"bottom_deep", 0, 4, 2, 2, [4]float64{0, 0, 0, 60}, nil},
		// One anchor (BR) and the QR code.
		{"one_anchor", 0, -4.5, -3, 3, [4]float64{30, 0, 0, 0}, []int{1}},
		// One anchor (TR) next to the QR code: too close to fix the turn
		// for the far cells, which go to review.
		{"tr_and_qr", 0, -4.5, -3, 3, [4]float64{30, 0, 0, 0}, []int{2}},
		// The QR code alone: identity, every value to review.
		{"qr_only", 0, 4.5, 3, -3, [4]float64{30, 0, 0, 0}, []int{1, 2}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := renderPage(t, set, "11", 41, pen{marks: marks}, dpi)
			for _, k := range c.tear {
				b := g.Bounds()
				cut := mm(15)
				x0, y0 := 0, 0
				if k == 1 || k == 2 {
					x0 = b.Max.X - cut
				}
				if k == 2 || k == 3 {
					y0 = b.Max.Y - cut
				}
				for y := y0; y < y0+cut; y++ {
					for x := x0; x < x0+cut; x++ {
						g.Pix[g.PixOffset(x, y)] = 255
					}
				}
			}
			m := scan(toMat(t, g), c.rot, c.skew, c.dx, c.dy, 1, dpi, 6)
			m = cutMat(m, mm(c.cut[0]), mm(c.cut[1]), mm(c.cut[2]), mm(c.cut[3]))
			defer m.Close()
			loc, err := rc.locate(m)
			if err != nil {
				t.Fatal(err)
			}
			anchors := loc.reg.anchors
			loc.release()
			res := rc.Page(m)
			t.Logf("anchors used: %d", anchors)
			t.Log(describe(res))
			id := testIdentity(t, "11", 41)
			if res.Type != "11" || res.Barcode != id.Barcode || res.Rotation != c.rot {
				t.Fatalf("identity: %s", describe(res))
			}
			if math.Abs(res.Skew-c.skew) > 0.3 {
				t.Errorf("skew %.2f, want %.1f", res.Skew, c.skew)
			}
			reviewed := 0
			for id, st := range res.Marks {
				want := forms.MarkEmpty
				if slices.Contains(marks, id) {
					want = forms.MarkMarked
				}
				if slices.Contains(res.Review, id) {
					reviewed++
				} else if st != want {
					t.Errorf("mark %s = %s, want %s, not in review", id, st, want)
				}
			}
			t.Logf("%d marks in review", reviewed)
			switch c.name {
			case "bottom_deep":
				// removed and unfinished (y 264) and the last
				// replacement rows are off the image.
				for _, id := range []string{"removed", "unfinished", "r4_2"} {
					if !slices.Contains(res.Review, id) {
						t.Errorf("%s off the image is not in review", id)
					}
				}
			case "qr_only", "tr_and_qr":
				if reviewed != len(res.Marks) {
					t.Errorf("QR code alone: %d of %d marks in review", reviewed, len(res.Marks))
				}
			case "bottom", "one_anchor":
				// The removed box dips below the cut, or lies left of it.
				if reviewed > 1 || reviewed == 1 && !slices.Contains(res.Review, "removed") {
					t.Errorf("%d marks in review: %v", reviewed, res.Review)
				}
			default:
				if reviewed != 0 {
					t.Errorf("%d marks in review: %v", reviewed, res.Review)
				}
			}
		})
	}
}

// TestPrintFitsRefusesWrongPivot: two blobs taken for two anchors give a
// map; a filled box where an anchor might be ("removed", near the
// bottom-left anchor) taken for that anchor puts the barcode nearly
// where it is, but not the page's cells and boxes, and the print check
// refuses it; the true map passes, at 150 and 300 dpi.
func TestPrintFitsRefusesWrongPivot(t *testing.T) {
	set := forms.Builtin()
	rc, _ := New(set, nil)
	tpl, _ := set.Get("11")
	for _, dpi := range []float64{150, 300} {
		g := renderPage(t, set, "11", 43, pen{marks: []string{"removed", "t03_1"}}, dpi)
		m := scan(toMat(t, g), 0, 3, 2, -2, 1, dpi, 6)
		loc, err := rc.locate(m)
		if err != nil || loc.regErr != nil {
			t.Fatalf("%g dpi: %v %v", dpi, err, loc.regErr)
		}
		h := loc.reg.h
		if !printFits(&loc.full, &h, tpl, loc.reg.ink) {
			t.Errorf("%g dpi: the anchors' own map does not fit the print", dpi)
		}
		centres := anchorCentres(tpl)
		var rx, ry float64
		for _, b := range tpl.Boxes {
			if b.ID == "removed" {
				rx, ry = b.Center()
			}
		}
		wrong, err := fitSimilarity([]pt{centres[0], centres[3]}, []pt{h.apply(centres[0]), h.apply(pt{rx, ry})})
		if err != nil {
			t.Fatal(err)
		}
		if printFits(&loc.full, &wrong, tpl, loc.reg.ink) {
			t.Errorf("%g dpi: a map pivoted on the removed box fits the print", dpi)
		}
		loc.release()
		m.Close()
	}
}

// TestBarcodeAlone: a page with no anchor left on the image and its QR
// code blotted is not given up: the barcode found on the whole page gives
// its type, barcode and way up, and every box and digit field goes to
// review, the context too.
func TestBarcodeAlone(t *testing.T) {
	set := forms.Builtin()
	rc, _ := New(set, nil)
	const dpi = 300
	mm := func(v float64) int { return int(v * dpi / 25.4) }
	for _, rot := range []int{0, 90, 180, 270} {
		g := renderPage(t, set, "11", 47, pen{marks: []string{"t05_2"}}, dpi)
		b := g.Bounds()
		// Right anchors torn off, the QR code inked over.
		for y := 0; y < b.Max.Y; y++ {
			for x := mm(170); x < b.Max.X; x++ {
				if y < mm(16) || y >= b.Max.Y-mm(16) {
					g.Pix[g.PixOffset(x, y)] = 255
				} else if y >= mm(20) && y < mm(34) && x < mm(190) {
					g.Pix[g.PixOffset(x, y)] = 30
				}
			}
		}
		m := scan(toMat(t, g), rot, 2, 0, 0, 1, dpi, 6)
		// The page's left anchors are off the bed.
		switch rot {
		case 0:
			m = cutMat(m, mm(20), 0, 0, 0)
		case 90: // the page's left edge at the image's bottom
			m = cutMat(m, 0, 0, 0, mm(20))
		case 180:
			m = cutMat(m, 0, 0, mm(20), 0)
		case 270:
			m = cutMat(m, 0, mm(20), 0, 0)
		}
		res := rc.Page(m)
		m.Close()
		t.Log(describe(res))
		id := testIdentity(t, "11", 47)
		if res.Type != "11" || res.Barcode != id.Barcode || res.Rotation != rot {
			t.Fatalf("rot %d: %s", rot, describe(res))
		}
		if !slices.Contains(res.Review, "context") || !slices.Contains(res.Review, "t05_2") || !slices.Contains(res.Review, "variant") {
			t.Errorf("rot %d: review %v", rot, res.Review)
		}
		if res.Marks["t05_2"] != forms.MarkAmbiguous {
			t.Errorf("rot %d: t05_2 = %q without a map", rot, res.Marks["t05_2"])
		}
	}
}
