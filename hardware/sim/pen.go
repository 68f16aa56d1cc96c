package sim

import (
	"image"
	"math"

	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/vector"

	"giascan/forms"
)

// pt is a point in page millimetres.
type pt struct{ x, y float64 }

// penLayer is the pen ink of one page, kept apart from the print: coverage
// 0..255 per pixel at the render resolution. The truth's ink per zone is
// measured here, before the print is added and the scan degraded, so it
// says what the person wrote, not what the scanner made of it.
type penLayer struct {
	img   *image.Alpha
	scale float64 // pixels per millimetre
	vec   *vector.Rasterizer
	mask  image.Alpha
}

func newPenLayer(w, h int, dpi float64) *penLayer {
	return &penLayer{img: image.NewAlpha(image.Rect(0, 0, w, h)), scale: dpi / 25.4}
}

// stroke draws a pen line through points (mm) with round ends and joins.
// Width (mm) may vary from start to end as pressure does. Overlaps take
// the darker value, as ink on ink stays ink.
func (l *penLayer) stroke(pts []pt, w0, w1 float64) {
	if len(pts) == 1 {
		pts = []pt{pts[0], pts[0]}
	}
	n := len(pts) - 1
	for i := 0; i < n; i++ {
		t := (float64(i) + 0.5) / float64(n)
		l.segment(pts[i], pts[i+1], (w0+(w1-w0)*t)/2)
	}
}

// segment draws one round-capped segment of half-width hw (mm) with
// anti-aliased edges from the exact distance of each pixel centre.
func (l *penLayer) segment(a, b pt, hw float64) {
	s := l.scale
	ax, ay, bx, by := a.x*s, a.y*s, b.x*s, b.y*s
	r := hw * s
	if r < 0.5 {
		r = 0.5 // a pen line never vanishes at low resolution
	}
	box := image.Rect(int(math.Floor(math.Min(ax, bx)-r-1)), int(math.Floor(math.Min(ay, by)-r-1)),
		int(math.Ceil(math.Max(ax, bx)+r+1)), int(math.Ceil(math.Max(ay, by)+r+1))).Intersect(l.img.Rect)
	dx, dy := bx-ax, by-ay
	ll := dx*dx + dy*dy
	for y := box.Min.Y; y < box.Max.Y; y++ {
		py := float64(y) + 0.5
		row := l.img.Pix[y*l.img.Stride:]
		for x := box.Min.X; x < box.Max.X; x++ {
			px := float64(x) + 0.5
			t := 0.0
			if ll > 0 {
				t = math.Max(0, math.Min(1, ((px-ax)*dx+(py-ay)*dy)/ll))
			}
			ex, ey := px-ax-t*dx, py-ay-t*dy
			c := r + 0.5 - math.Sqrt(ex*ex+ey*ey)
			if c <= 0 {
				continue
			}
			v := uint8(255)
			if c < 1 {
				v = uint8(c*255 + 0.5)
			}
			if v > row[x] {
				row[x] = v
			}
		}
	}
}

// affine maps glyph space to page millimetres: x' = a*x + b*y + c,
// y' = d*x + e*y + f.
type affine struct{ a, b, c, d, e, f float64 }

func (m affine) apply(x, y float64) (float64, float64) {
	return m.a*x + m.b*y + m.c, m.d*x + m.e*y + m.f
}

// glyph fills a glyph outline (segments in 26.6 units) mapped by m.
func (l *penLayer) glyph(segs sfnt.Segments, m affine) {
	s := l.scale
	minX, minY := math.Inf(1), math.Inf(1)
	maxX, maxY := math.Inf(-1), math.Inf(-1)
	tr := func(p fixed.Point26_6) (float64, float64) {
		x, y := m.apply(float64(p.X)/64, float64(p.Y)/64)
		return x * s, y * s
	}
	for _, sg := range segs {
		for i := 0; i < argCount(sg.Op); i++ {
			x, y := tr(sg.Args[i])
			minX, maxX = math.Min(minX, x), math.Max(maxX, x)
			minY, maxY = math.Min(minY, y), math.Max(maxY, y)
		}
	}
	box := image.Rect(int(math.Floor(minX)), int(math.Floor(minY)), int(math.Ceil(maxX))+1, int(math.Ceil(maxY))+1)
	if box.Empty() {
		return
	}
	w, h := box.Dx(), box.Dy()
	if l.vec == nil {
		l.vec = vector.NewRasterizer(w, h)
	} else {
		l.vec.Reset(w, h)
	}
	ox, oy := float64(box.Min.X), float64(box.Min.Y)
	p := func(q fixed.Point26_6) (float32, float32) {
		x, y := tr(q)
		return float32(x - ox), float32(y - oy)
	}
	for _, sg := range segs {
		switch sg.Op {
		case sfnt.SegmentOpMoveTo:
			l.vec.MoveTo(p(sg.Args[0]))
		case sfnt.SegmentOpLineTo:
			l.vec.LineTo(p(sg.Args[0]))
		case sfnt.SegmentOpQuadTo:
			x1, y1 := p(sg.Args[0])
			x2, y2 := p(sg.Args[1])
			l.vec.QuadTo(x1, y1, x2, y2)
		case sfnt.SegmentOpCubeTo:
			x1, y1 := p(sg.Args[0])
			x2, y2 := p(sg.Args[1])
			x3, y3 := p(sg.Args[2])
			l.vec.CubeTo(x1, y1, x2, y2, x3, y3)
		}
	}
	if cap(l.mask.Pix) < w*h {
		l.mask.Pix = make([]uint8, w*h)
	}
	l.mask.Pix = l.mask.Pix[:w*h]
	clear(l.mask.Pix)
	l.mask.Stride, l.mask.Rect = w, image.Rect(0, 0, w, h)
	l.vec.Draw(&l.mask, l.mask.Rect, image.Opaque, image.Point{})
	dst := box.Intersect(l.img.Rect)
	for y := dst.Min.Y; y < dst.Max.Y; y++ {
		src := l.mask.Pix[(y-box.Min.Y)*w+(dst.Min.X-box.Min.X):]
		row := l.img.Pix[y*l.img.Stride+dst.Min.X : y*l.img.Stride+dst.Max.X]
		for i, v := range src[:len(row)] {
			if v > row[i] {
				row[i] = v
			}
		}
	}
}

func argCount(op sfnt.SegmentOp) int {
	switch op {
	case sfnt.SegmentOpQuadTo:
		return 2
	case sfnt.SegmentOpCubeTo:
		return 3
	}
	return 1
}

// coverage is the mean pen coverage 0..1 over a rectangle (mm): the share
// of the rectangle's area covered with ink.
func (l *penLayer) coverage(r forms.Rect) float64 {
	s := l.scale
	box := image.Rect(int(math.Round(r.X*s)), int(math.Round(r.Y*s)),
		int(math.Round(r.X1()*s)), int(math.Round(r.Y1()*s))).Intersect(l.img.Rect)
	if box.Empty() {
		return 0
	}
	sum := 0
	for y := box.Min.Y; y < box.Max.Y; y++ {
		for _, v := range l.img.Pix[y*l.img.Stride+box.Min.X : y*l.img.Stride+box.Max.X] {
			sum += int(v)
		}
	}
	return float64(sum) / 255 / float64(box.Dx()*box.Dy())
}
