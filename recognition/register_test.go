package recognition

import (
	"fmt"
	"image"
	"math"
	"slices"
	"testing"

	"giascan/forms"
)

// TestRegisterTransforms turns, skews, shifts and scales pages at several
// resolutions and checks identity, rotation, skew and marks.
func TestRegisterTransforms(t *testing.T) {
	set := forms.Builtin()
	rc, err := New(set, nil)
	if err != nil {
		t.Fatal(err)
	}
	marks := []string{"t03_1", "t12_3", "r2_4"}
	cases := []struct {
		rot                 int
		skew, dx, dy, scale float64
		dpi                 float64
		pageType            string
		pad                 float64
	}{
		{0, 0, 0, 0, 1, 150, "11", 0},
		{90, 0, 0, 0, 1, 200, "11", 0},
		{180, 0, 0, 0, 1, 300, "11", 0},
		{270, 0, 0, 0, 1, 300, "11", 0},
		{0, 4.5, 6, -5, 1.02, 300, "11", 10},
		{180, -4.5, -7, 7, 0.98, 300, "11", 10},
		{90, 3, 2, 2, 1.0, 300, "53", 0},
		{270, -2, -6, 3, 1.01, 600, "11", 0},
		{0, 1, 0, 0, 1, 300, "21", 0},
	}
	for _, c := range cases {
		name := fmt.Sprintf("%s_rot%d_skew%g_dpi%g", c.pageType, c.rot, c.skew, c.dpi)
		t.Run(name, func(t *testing.T) {
			p := pen{}
			if c.pageType == "11" {
				p.marks = marks
			}
			g := renderPage(t, set, c.pageType, 77, p, c.dpi)
			m := scan(toMat(t, g), c.rot, c.skew, c.dx, c.dy, c.scale, c.dpi, c.pad)
			defer m.Close()
			res := rc.Page(m)
			t.Log(describe(res))
			id := testIdentity(t, c.pageType, 77)
			if res.Type != c.pageType || res.Barcode != id.Barcode || res.Context.Kit != id.Kit {
				t.Fatalf("identity: %s", describe(res))
			}
			if res.Rotation != c.rot {
				t.Errorf("rotation %d, want %d", res.Rotation, c.rot)
			}
			// OpenCV's positive angle turns the content counter-clockwise;
			// straightening it is a clockwise turn of the same angle.
			if math.Abs(res.Skew-c.skew) > 0.15 {
				t.Errorf("skew %.2f, want %.2f", res.Skew, c.skew)
			}
			if c.pageType == "11" {
				for id, st := range res.Marks {
					want := forms.MarkEmpty
					if slices.Contains(marks, id) {
						want = forms.MarkMarked
					}
					if st != want {
						t.Errorf("mark %s = %s, want %s", id, st, want)
					}
				}
			}
			if res.NeedsReview {
				t.Errorf("needs review: %s", describe(res))
			}
		})
	}
}

// TestTornCorner registers on three anchors and says so.
func TestTornCorner(t *testing.T) {
	set := forms.Builtin()
	rc, _ := New(set, nil)
	g := renderPage(t, set, "11", 5, pen{marks: []string{"t20_4"}}, 300)
	// Tear off the bottom-right corner: everything below the diagonal
	// through 30 mm from the corner turns white.
	b := g.Bounds()
	cut := 354 // 30 mm at 300 dpi
	for y := b.Max.Y - cut; y < b.Max.Y; y++ {
		for x := b.Max.X - cut; x < b.Max.X; x++ {
			if (x-(b.Max.X-cut))+(y-(b.Max.Y-cut)) > cut {
				g.Pix[g.PixOffset(x, y)] = 255
			}
		}
	}
	m := scan(toMat(t, g), 90, 2, 3, 0, 1, 300)
	defer m.Close()
	res := rc.Page(m)
	t.Log(describe(res))
	if res.Type != "11" || res.Rotation != 90 || !slices.Contains(res.Flags, forms.FlagAnchorMissing) {
		t.Fatalf("torn corner: %s", describe(res))
	}
	if res.Marks["t20_4"] != forms.MarkMarked || res.Marks["t20_3"] != forms.MarkEmpty {
		t.Errorf("marks on a torn page: t20_4=%s t20_3=%s", res.Marks["t20_4"], res.Marks["t20_3"])
	}
}

// TestBlankPage: white paper is a blank page, not an unreadable one.
func TestBlankPage(t *testing.T) {
	set := forms.Builtin()
	rc, _ := New(set, nil)
	g := image.NewGray(image.Rect(0, 0, 2480, 3508))
	for i := range g.Pix {
		g.Pix[i] = 240
	}
	res, err := rc.Gray(g)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(res.Flags, forms.FlagBlankPage) || res.Type != "" {
		t.Fatalf("blank: %s", describe(res))
	}
}

// TestTwoAnchorsAndQR: a page shifted and turned so far that the two left
// anchors are off the scanner's bed is placed by its QR code's finder
// patterns and the two anchors that are left.
func TestTwoAnchorsAndQR(t *testing.T) {
	set := forms.Builtin()
	rc, _ := New(set, nil)
	for _, c := range []struct {
		rot  int
		skew float64
	}{{0, 4.5}, {180, -4}} {
		g := renderPage(t, set, "11", 77, pen{marks: []string{"t10_2", "t14_3"}}, 300)
		m := scan(toMat(t, g), c.rot, c.skew, -16, 6, 1, 300)
		res := rc.Page(m)
		m.Close()
		t.Log(describe(res))
		id := testIdentity(t, "11", 77)
		if res.Type != "11" || res.Barcode != id.Barcode || res.Rotation != c.rot || !slices.Contains(res.Flags, forms.FlagAnchorMissing) {
			t.Fatalf("rot %d skew %.1f: %s", c.rot, c.skew, describe(res))
		}
		if math.Abs(res.Skew-c.skew) > 0.3 && math.Abs(res.Skew+c.skew) > 0.3 {
			t.Errorf("rot %d: skew %.2f, scanned with %.1f", c.rot, res.Skew, c.skew)
		}
		for id, want := range map[string]string{"t10_2": "marked", "t14_3": "marked", "t10_1": "empty", "t14_4": "empty"} {
			if got := res.Marks[id]; got != want {
				t.Errorf("rot %d: mark %s = %q, want %q", c.rot, id, got, want)
			}
		}
	}
}
