package forms

import (
	"math"
	"testing"
)

// TestBarcodeText: the operation BarcodeText returns is the one Compose
// prints under the bars, and on the rendered page each digit's ink lies
// inside its rectangle, none of it between two.
func TestBarcodeText(t *testing.T) {
	tpl, _ := Builtin().Get("11")
	id := Identity{Level: 9, Region: "77", PPE: "0101", Auditorium: "0012", Subject: "02", Date: "20250527",
		Type: "11", Barcode: "1100000123452", Kit: "0000012345"}
	d, err := Compose(tpl, id)
	if err != nil {
		t.Fatal(err)
	}
	op, cells, err := BarcodeText(tpl.Barcode, id.Barcode)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, o := range d.Ops {
		if o.Kind == OpText && o.Text == id.Barcode {
			found = true
			if o.Rect != op.Rect || o.Size != op.Size || o.Font != op.Font || o.Align != op.Align {
				t.Errorf("Compose prints %+v, BarcodeText says %+v", o, op)
			}
		}
	}
	if !found || len(cells) != 13 {
		t.Fatalf("digits on the page %v, %d cells", found, len(cells))
	}
	if cells[0].Y < tpl.Barcode.TextY0 || cells[0].Y1() > tpl.Barcode.TextY1 {
		t.Errorf("digits at y %.2f–%.2f, outside the band %g–%g", cells[0].Y, cells[0].Y1(), tpl.Barcode.TextY0, tpl.Barcode.TextY1)
	}
	const dpi = 600
	g, err := Rasterize(&Drawing{Width: d.Width, Height: d.Height, Ops: []Op{op}}, dpi)
	if err != nil {
		t.Fatal(err)
	}
	k := dpi / 25.4
	inside := func(x, y float64) bool {
		for _, c := range cells {
			if x >= c.X && x <= c.X1() && y >= c.Y-0.05 && y <= c.Y1()+0.05 {
				return true
			}
		}
		return false
	}
	ink, outside := 0, 0
	b := g.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if g.GrayAt(x, y).Y > 128 {
				continue
			}
			ink++
			if !inside((float64(x)+0.5)/k, (float64(y)+0.5)/k) {
				outside++
			}
		}
	}
	if ink == 0 || outside > 0 {
		t.Errorf("%d of %d dark pixels outside the digits' rectangles", outside, ink)
	}
	// Each digit's rectangle holds ink: the advance matches the print.
	for i, c := range cells {
		n := 0
		for y := int(math.Floor(c.Y * k)); y < int(math.Ceil(c.Y1()*k)); y++ {
			for x := int(math.Floor(c.X * k)); x < int(math.Ceil(c.X1()*k)); x++ {
				if g.GrayAt(x, y).Y <= 128 {
					n++
				}
			}
		}
		if n == 0 {
			t.Errorf("digit %d: no ink in %+v", i+1, c)
		}
	}
}
