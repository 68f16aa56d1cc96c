package recognition

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"strconv"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"giascan/forms"
)

// testIdentity is a valid identity of a page type.
func testIdentity(t testing.TB, pageType string, serial uint64) forms.Identity {
	t.Helper()
	b, err := forms.MakeBarcode(pageType, serial)
	if err != nil {
		t.Fatal(err)
	}
	id := forms.Identity{Level: 11, Region: "77", PPE: "0101", Auditorium: "0012", Subject: "02",
		Date: "20250527", Type: pageType, Barcode: b, Kit: "0000012345", Sheet: 0}
	switch pageType {
	case forms.TypeBO2Sheet1:
		id.Sheet = 1
	case forms.TypeBO2Sheet2:
		id.Sheet = 2
	case forms.TypeDBO2:
		id.Sheet = 3
	case forms.TypePPE1302, forms.TypePPE18, forms.TypePPE15:
		id.Auditorium, id.Kit = "0000", forms.NoKit
	}
	if pageType == forms.TypePPE15 {
		id.Manifest = "0123456789abcdef"
	}
	return id
}

// pen is what a test writes on a page: marks by box id, zone scribbles.
type pen struct {
	marks []string // box ids to cross
	dots  []string // box ids with a stray dot
	zones []string // zone ids to scribble in
	// cells are digit cells to write in, as "field:index" (0-based): a
	// stroke shaped like a 7, which a test's digit reader takes for one.
	cells []string
}

// renderPage draws a page of type pageType with pen strokes at dpi.
func renderPage(t testing.TB, set *forms.Set, pageType string, serial uint64, p pen, dpi float64) *image.Gray {
	t.Helper()
	tpl, ok := set.Get(pageType)
	if !ok {
		t.Fatalf("no template %s", pageType)
	}
	d, err := forms.Compose(tpl, testIdentity(t, pageType, serial))
	if err != nil {
		t.Fatal(err)
	}
	box := func(id string) forms.Rect {
		for _, b := range tpl.Boxes {
			if b.ID == id {
				return b.Rect
			}
		}
		t.Fatalf("no box %s", id)
		return forms.Rect{}
	}
	for _, id := range p.marks {
		b := box(id).Inset(0.6)
		d.Line(b.X, b.Y, b.X1(), b.Y1(), 0.5, 0.85)
		d.Line(b.X, b.Y1(), b.X1(), b.Y, 0.5, 0.85)
	}
	for _, id := range p.dots {
		cx, cy := box(id).Center()
		d.Line(cx-0.3, cy, cx+0.3, cy, 0.6, 0.85)
	}
	for _, c := range p.cells {
		id, idx, _ := strings.Cut(c, ":")
		f, ok := tpl.Field(id)
		i, err := strconv.Atoi(idx)
		if !ok || err != nil || i < 0 || i >= f.Cells {
			t.Fatalf("no digit cell %s", c)
		}
		r := f.Cell(i).Inset(1.2)
		d.Line(r.X, r.Y, r.X1(), r.Y, 0.5, 0.85)
		d.Line(r.X1(), r.Y, r.X+r.W*0.3, r.Y1(), 0.5, 0.85)
	}
	for _, id := range p.zones {
		z, _ := tpl.ZoneByID(id)
		for x := z.X + 4; x < z.X+math.Min(z.W, 60)-4; x += 3 {
			d.Line(x, z.Y+z.H*0.3, x+2, z.Y+z.H*0.7, 0.4, 0.85)
		}
	}
	g, err := forms.Rasterize(d, dpi)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// toMat copies a grey image into a new Mat that the caller must close.
func toMat(t testing.TB, g *image.Gray) gocv.Mat {
	t.Helper()
	b := g.Bounds()
	m, err := gocv.NewMatFromBytes(b.Dy(), b.Dx(), gocv.MatTypeCV8UC1, packGray(g))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// scan turns a rendered page into what a scanner might deliver: turned by
// rot (clockwise turn needed to make it upright), skewed by skew degrees,
// shifted by dx, dy mm and scaled, on a scanner bed larger than the page
// by pad mm on every side. It closes m and returns a new Mat.
func scan(m gocv.Mat, rot int, skew, dx, dy, scale, dpi float64, pad ...float64) gocv.Mat {
	out := gocv.NewMat()
	// Skew, shift and scale around the centre.
	c := image.Pt(m.Cols()/2, m.Rows()/2)
	rm := gocv.GetRotationMatrix2D(c, skew, scale)
	p := 0.0
	if len(pad) > 0 {
		p = pad[0] * dpi / 25.4
	}
	rm.SetDoubleAt(0, 2, rm.GetDoubleAt(0, 2)+dx*dpi/25.4+p)
	rm.SetDoubleAt(1, 2, rm.GetDoubleAt(1, 2)+dy*dpi/25.4+p)
	size := image.Pt(m.Cols()+int(2*p), m.Rows()+int(2*p))
	gocv.WarpAffineWithParams(m, &out, rm, size, gocv.InterpolationLinear, gocv.BorderConstant, colorWhite)
	rm.Close()
	m.Close()
	var code gocv.RotateFlag
	switch rot {
	case 90: // the page's top is on the left: undone by a clockwise turn
		code = gocv.Rotate90CounterClockwise
	case 180:
		code = gocv.Rotate180Clockwise
	case 270:
		code = gocv.Rotate90Clockwise
	default:
		return out
	}
	r := gocv.NewMat()
	gocv.Rotate(out, &r, code)
	out.Close()
	return r
}

var colorWhite = color.RGBA{255, 255, 255, 255}

func describe(r forms.PageResult) string {
	return fmt.Sprintf("type=%q barcode=%q rot=%d skew=%.2f flags=%v review=%v", r.Type, r.Barcode, r.Rotation, r.Skew, r.Flags, r.Review)
}
