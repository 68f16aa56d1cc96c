// Package synth draws synthetic digit cells as a scanner would deliver
// them: handwriting-font digits (or scribbles, letters, dots) placed with
// random size, slant, shear, distortion and pen width in a 6 × 8 mm or
// 5 × 8 mm cell with its printed border, then blurred, noised, quantised
// and optionally JPEG-compressed at 150–600 dpi. The digit network is
// trained and tested on these cells; nothing here is used at recognition
// time.
package synth

import (
	"fmt"
	"image"
	"math"
	"os"

	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

// Shape is a mark as a signed distance field on a master grid: drawing it
// with any pen width and at any resolution is a threshold of the field,
// which gives anti-aliased edges for free.
type Shape struct {
	W, H int
	SD   []float32 // distance to the outline in grid pixels, negative inside
	Half float32   // typical half stroke width, grid pixels
	// Ink box in grid pixels.
	X0, Y0, X1, Y1 float32
}

// far is the distance assumed outside the grid.
const far = 1e4

// at samples the field bilinearly.
func (s *Shape) at(x, y float32) float32 {
	x -= 0.5
	y -= 0.5
	if x < 0 || y < 0 || x >= float32(s.W-1) || y >= float32(s.H-1) {
		return far
	}
	ix, iy := int(x), int(y)
	fx, fy := x-float32(ix), y-float32(iy)
	i := iy*s.W + ix
	a := s.SD[i] + (s.SD[i+1]-s.SD[i])*fx
	b := s.SD[i+s.W] + (s.SD[i+s.W+1]-s.SD[i+s.W])*fx
	return a + (b-a)*fy
}

// NewShape builds a shape from a coverage mask (true = ink).
func NewShape(mask []bool, w, h int) (*Shape, error) {
	s := &Shape{W: w, H: h, X0: float32(w), Y0: float32(h), X1: -1, Y1: -1}
	n := 0
	for i, m := range mask {
		if m {
			x, y := float32(i%w), float32(i/w)
			s.X0, s.Y0 = min(s.X0, x), min(s.Y0, y)
			s.X1, s.Y1 = max(s.X1, x+1), max(s.Y1, y+1)
			n++
		}
	}
	if n == 0 {
		return nil, fmt.Errorf("shape has no ink")
	}
	out := edt(mask, w, h, false) // distance of background pixels to ink
	in := edt(mask, w, h, true)   // distance of ink pixels to background
	s.SD = make([]float32, w*h)
	var sum float64
	for i, m := range mask {
		if m {
			s.SD[i] = -(in[i] - 0.5)
			sum += float64(in[i] - 0.5)
		} else {
			s.SD[i] = out[i] - 0.5
		}
	}
	// For a stroke of half-width r the inner distances spread evenly over
	// 0..r, so twice their mean is r.
	s.Half = float32(2 * sum / float64(n))
	return s, nil
}

// edt is the exact Euclidean distance transform (Felzenszwalb and
// Huttenlocher): for every pixel, the distance to the nearest pixel whose
// mask value differs from inside (to ink pixels when inside is false, to
// background pixels when inside is true).
func edt(mask []bool, w, h int, inside bool) []float32 {
	const inf = 1e20
	g := make([]float64, w*h)
	for i, m := range mask {
		if m != inside {
			g[i] = 0
		} else {
			g[i] = inf
		}
	}
	n := max(w, h)
	f := make([]float64, n)
	d := make([]float64, n)
	v := make([]int, n)
	z := make([]float64, n+1)
	// Columns, then rows.
	for x := 0; x < w; x++ {
		for y := 0; y < h; y++ {
			f[y] = g[y*w+x]
		}
		dt1(f[:h], d[:h], v, z)
		for y := 0; y < h; y++ {
			g[y*w+x] = d[y]
		}
	}
	for y := 0; y < h; y++ {
		copy(f[:w], g[y*w:(y+1)*w])
		dt1(f[:w], d[:w], v, z)
		copy(g[y*w:(y+1)*w], d[:w])
	}
	out := make([]float32, w*h)
	for i, s := range g {
		out[i] = float32(math.Sqrt(s))
	}
	return out
}

// dt1 is the one-dimensional squared distance transform of f into d: the
// lower envelope of the parabolas rooted at every sample.
func dt1(f, d []float64, v []int, z []float64) {
	n := len(f)
	k := 0
	v[0] = 0
	z[0] = math.Inf(-1)
	z[1] = math.Inf(1)
	inter := func(q, p int) float64 {
		return ((f[q] + float64(q*q)) - (f[p] + float64(p*p))) / float64(2*(q-p))
	}
	for q := 1; q < n; q++ {
		s := inter(q, v[k])
		for s <= z[k] {
			k--
			s = inter(q, v[k])
		}
		k++
		v[k] = q
		z[k] = s
		z[k+1] = math.Inf(1)
	}
	k = 0
	for q := 0; q < n; q++ {
		for z[k+1] < float64(q) {
			k++
		}
		p := v[k]
		d[q] = float64((q-p)*(q-p)) + f[p]
	}
}

// Font is a handwriting font turned into shapes.
type Font struct {
	Name   string
	Digits [10]*Shape
	// Others are glyphs that are no digit (letters, signs), drawn as
	// scribbles the recogniser must not read as digits.
	Others []*Shape
}

// masterPx is the font size, in grid pixels, at which glyphs are rasterised:
// digits come out about 75 pixels tall, fine enough for 600 dpi cells.
const masterPx = 110

// pad is the empty margin around a glyph on its grid, room for the
// thickest pen.
const pad = 28

// nonDigits are glyphs that look like no digit. Letters that do (О, З, б,
// Ч, l, S, Z, B, G, q) are left out on purpose.
const nonDigits = "AKMWXYHRNkmwxЖФШЮЯДЛ#%&@+="

// LoadFont rasterises the digits and the non-digit glyphs of a font file.
func LoadFont(name, path string) (*Font, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading font %s: %w", name, err)
	}
	f, err := opentype.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("parsing font %s: %w", name, err)
	}
	face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: masterPx, DPI: 72, Hinting: font.HintingNone})
	if err != nil {
		return nil, fmt.Errorf("font %s at %d px: %w", name, masterPx, err)
	}
	defer face.Close()
	ft := &Font{Name: name}
	var buf sfnt.Buffer
	for d := 0; d < 10; d++ {
		s, err := glyph(face, rune('0'+d))
		if err != nil {
			return nil, fmt.Errorf("font %s, digit %d: %w", name, d, err)
		}
		ft.Digits[d] = s
	}
	for _, r := range nonDigits {
		if gi, err := f.GlyphIndex(&buf, r); err != nil || gi == 0 {
			continue // the font lacks it
		}
		if s, err := glyph(face, r); err == nil {
			ft.Others = append(ft.Others, s)
		}
	}
	return ft, nil
}

// glyph rasterises one rune and turns it into a shape.
func glyph(face font.Face, r rune) (*Shape, error) {
	b, _ := font.BoundString(face, string(r))
	x0, y0 := b.Min.X.Floor()-pad, b.Min.Y.Floor()-pad
	x1, y1 := b.Max.X.Ceil()+pad, b.Max.Y.Ceil()+pad
	w, h := x1-x0, y1-y0
	if w <= 2*pad || h <= 2*pad {
		return nil, fmt.Errorf("glyph %q is empty", r)
	}
	img := image.NewAlpha(image.Rect(0, 0, w, h))
	dr := &font.Drawer{Dst: img, Src: image.Opaque, Face: face, Dot: fixed.P(-x0, -y0)}
	dr.DrawString(string(r))
	mask := make([]bool, w*h)
	for i, a := range img.Pix {
		mask[i] = a >= 128
	}
	return NewShape(mask, w, h)
}

// strokeShape draws a polyline (grid coordinates) with a round pen of
// radius r on a w × h grid and returns it as a shape.
func strokeShape(w, h int, r float64, lines ...[][2]float64) (*Shape, error) {
	mask := make([]bool, w*h)
	for _, pts := range lines {
		for i := 0; i+1 < len(pts); i++ {
			a, b := pts[i], pts[i+1]
			bx0 := int(math.Max(0, math.Floor(math.Min(a[0], b[0])-r-1)))
			by0 := int(math.Max(0, math.Floor(math.Min(a[1], b[1])-r-1)))
			bx1 := int(math.Min(float64(w-1), math.Ceil(math.Max(a[0], b[0])+r+1)))
			by1 := int(math.Min(float64(h-1), math.Ceil(math.Max(a[1], b[1])+r+1)))
			for y := by0; y <= by1; y++ {
				for x := bx0; x <= bx1; x++ {
					if !mask[y*w+x] && segDist2(float64(x)+0.5, float64(y)+0.5, a, b) <= r*r {
						mask[y*w+x] = true
					}
				}
			}
		}
	}
	return NewShape(mask, w, h)
}

// segDist2 is the squared distance from (x, y) to the segment a–b.
func segDist2(x, y float64, a, b [2]float64) float64 {
	dx, dy := b[0]-a[0], b[1]-a[1]
	l2 := dx*dx + dy*dy
	t := 0.0
	if l2 > 0 {
		t = ((x-a[0])*dx + (y-a[1])*dy) / l2
		t = max(0, min(1, t))
	}
	ex, ey := x-a[0]-t*dx, y-a[1]-t*dy
	return ex*ex + ey*ey
}
