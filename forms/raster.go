package forms

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/vector"
)

// Rasterize renders a drawing as an 8-bit grey page at dpi (white paper is
// 255), anti-aliased. It is the raster twin of WritePDF: the same
// operations land on the same millimetres, so a rendered page is what a
// perfect scanner would see of the printed one.
//
// Axis-aligned rectangles (anchors, bars, QR modules, cell borders: nearly
// everything on a form) are filled with exact area coverage computed per row
// and column, which is both faster and sharper than a general rasteriser;
// slanted lines and glyphs go through golang.org/x/image/vector.
func Rasterize(d *Drawing, dpi float64) (*image.Gray, error) {
	if d == nil || d.Width <= 0 || d.Height <= 0 {
		return nil, fmt.Errorf("rasterize: page has no size")
	}
	if !(dpi >= 10 && dpi <= 2400) {
		return nil, fmt.Errorf("rasterize: %g dpi is out of range 10..2400", dpi)
	}
	w := int(math.Round(d.Width * dpi / 25.4))
	h := int(math.Round(d.Height * dpi / 25.4))
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	r := rasterizer{img: img, scale: dpi / 25.4}
	for i, op := range d.Ops {
		if err := r.op(op); err != nil {
			return nil, fmt.Errorf("rasterize: operation %d: %w", i+1, err)
		}
	}
	return img, nil
}

type rasterizer struct {
	img   *image.Gray
	scale float64 // pixels per millimetre
	cx    []float32
	cy    []float32
	vec   *vector.Rasterizer
	mask  image.Alpha
	glyph sfnt.Buffer
}

// greyLevel turns ink darkness 0..1 into a grey level (255 is white), as
// the PDF backend does.
func greyLevel(ink float64) float32 {
	if math.IsNaN(ink) {
		ink = 1
	}
	return float32(255 * (1 - math.Max(0, math.Min(1, ink))))
}

func (r *rasterizer) op(op Op) error {
	g := greyLevel(op.Ink)
	switch op.Kind {
	case OpFill:
		r.rect(op.Rect, nil, g)
	case OpStroke:
		if op.Width <= 0 {
			return fmt.Errorf("stroke of width %g mm", op.Width)
		}
		hw := op.Width / 2
		outer := Rect{op.Rect.X - hw, op.Rect.Y - hw, op.Rect.W + op.Width, op.Rect.H + op.Width}
		inner := op.Rect.Inset(hw)
		if inner.W <= 0 || inner.H <= 0 {
			r.rect(outer, nil, g)
		} else {
			r.rect(outer, &inner, g)
		}
	case OpLine:
		if op.Width <= 0 {
			return fmt.Errorf("line of width %g mm", op.Width)
		}
		r.line(op.Rect.X, op.Rect.Y, op.X2, op.Y2, op.Width, g)
	case OpText:
		return r.text(op, g)
	case OpImage:
		return r.image(op)
	default:
		return fmt.Errorf("unknown operation kind %d", op.Kind)
	}
	return nil
}

// coverage fills dst[i] with the overlap of pixel [p0+i, p0+i+1) with
// [a, b) (both in pixels) and returns p0 and the number of pixels touched,
// clipped to [0, limit).
func coverage(dst []float32, a, b float64, limit int) ([]float32, int) {
	if b <= a {
		return dst[:0], 0
	}
	p0 := int(math.Floor(a))
	p1 := int(math.Ceil(b))
	if p0 < 0 {
		p0 = 0
	}
	if p1 > limit {
		p1 = limit
	}
	if p1 <= p0 {
		return dst[:0], p0
	}
	n := p1 - p0
	if cap(dst) < n {
		dst = make([]float32, n)
	}
	dst = dst[:n]
	for i := range dst {
		lo := math.Max(a, float64(p0+i))
		hi := math.Min(b, float64(p0+i+1))
		dst[i] = float32(math.Max(0, hi-lo))
	}
	return dst, p0
}

// rect paints rectangle outer (mm) minus the optional hole inner, which
// must lie inside outer, with exact area coverage.
func (r *rasterizer) rect(outer Rect, inner *Rect, g float32) {
	s := r.scale
	b := r.img.Rect
	var x0, y0 int
	r.cx, x0 = coverage(r.cx, outer.X*s, outer.X1()*s, b.Dx())
	r.cy, y0 = coverage(r.cy, outer.Y*s, outer.Y1()*s, b.Dy())
	if len(r.cx) == 0 || len(r.cy) == 0 {
		return
	}
	var icx, icy []float32
	var ix0, iy0 int
	if inner != nil {
		icx, ix0 = coverage(nil, inner.X*s, inner.X1()*s, b.Dx())
		icy, iy0 = coverage(nil, inner.Y*s, inner.Y1()*s, b.Dy())
	}
	for j, fy := range r.cy {
		y := y0 + j
		row := r.img.Pix[y*r.img.Stride+x0 : y*r.img.Stride+x0+len(r.cx)]
		var fiy float32
		if k := y - iy0; k >= 0 && k < len(icy) {
			fiy = icy[k]
		}
		for i, fx := range r.cx {
			a := fx * fy
			if fiy > 0 {
				if k := x0 + i - ix0; k >= 0 && k < len(icx) {
					a -= icx[k] * fiy
				}
			}
			if a <= 0 {
				continue
			}
			v := float32(row[i])
			row[i] = uint8(v - (v-g)*a + 0.5)
		}
	}
}

// line paints a straight line with butt ends.
func (r *rasterizer) line(x0, y0, x1, y1, width float64, g float32) {
	hw := width / 2
	switch {
	case y0 == y1:
		r.rect(Rect{math.Min(x0, x1), y0 - hw, math.Abs(x1 - x0), width}, nil, g)
		return
	case x0 == x1:
		r.rect(Rect{x0 - hw, math.Min(y0, y1), width, math.Abs(y1 - y0)}, nil, g)
		return
	}
	dx, dy := x1-x0, y1-y0
	l := math.Hypot(dx, dy)
	nx, ny := -dy/l*hw, dx/l*hw
	s := r.scale
	pts := [4][2]float64{
		{(x0 + nx) * s, (y0 + ny) * s},
		{(x1 + nx) * s, (y1 + ny) * s},
		{(x1 - nx) * s, (y1 - ny) * s},
		{(x0 - nx) * s, (y0 - ny) * s},
	}
	r.polygon(pts[:], g)
}

// polygon fills a closed polygon given in pixels.
func (r *rasterizer) polygon(pts [][2]float64, g float32) {
	minX, minY := math.Inf(1), math.Inf(1)
	maxX, maxY := math.Inf(-1), math.Inf(-1)
	for _, p := range pts {
		minX, maxX = math.Min(minX, p[0]), math.Max(maxX, p[0])
		minY, maxY = math.Min(minY, p[1]), math.Max(maxY, p[1])
	}
	box := image.Rect(int(math.Floor(minX)), int(math.Floor(minY)), int(math.Ceil(maxX)), int(math.Ceil(maxY)))
	if box.Empty() {
		return
	}
	z := r.begin(box)
	ox, oy := float64(box.Min.X), float64(box.Min.Y)
	z.MoveTo(float32(pts[0][0]-ox), float32(pts[0][1]-oy))
	for _, p := range pts[1:] {
		z.LineTo(float32(p[0]-ox), float32(p[1]-oy))
	}
	z.ClosePath()
	r.end(box, g)
}

// begin prepares the vector rasteriser and the mask for a shape whose
// pixel bounding box is box; shapes are drawn relative to box.Min.
func (r *rasterizer) begin(box image.Rectangle) *vector.Rasterizer {
	w, h := box.Dx(), box.Dy()
	if r.vec == nil {
		r.vec = vector.NewRasterizer(w, h)
	} else {
		r.vec.Reset(w, h)
	}
	return r.vec
}

// end rasterises the shape begun with begin and composites it with grey g.
func (r *rasterizer) end(box image.Rectangle, g float32) {
	w, h := box.Dx(), box.Dy()
	if cap(r.mask.Pix) < w*h {
		r.mask.Pix = make([]uint8, w*h)
	}
	r.mask.Pix = r.mask.Pix[:w*h]
	clear(r.mask.Pix)
	r.mask.Stride = w
	r.mask.Rect = image.Rect(0, 0, w, h)
	r.vec.Draw(&r.mask, r.mask.Rect, image.Opaque, image.Point{})
	compositeMask(r.img, &r.mask, box.Min, g)
}

// compositeMask paints grey level g (0 black .. 255 white) into img through
// an alpha mask whose top-left pixel lands at at. Parts outside img are
// clipped.
func compositeMask(img *image.Gray, mask *image.Alpha, at image.Point, g float32) {
	dst := image.Rectangle{Min: at, Max: at.Add(mask.Rect.Size())}.Intersect(img.Rect)
	for y := dst.Min.Y; y < dst.Max.Y; y++ {
		mrow := mask.Pix[(y-at.Y)*mask.Stride+(dst.Min.X-at.X):]
		row := img.Pix[y*img.Stride+dst.Min.X : y*img.Stride+dst.Max.X]
		for i := range row {
			m := mrow[i]
			if m == 0 {
				continue
			}
			v := float32(row[i])
			row[i] = uint8(v - (v-g)*float32(m)/255 + 0.5)
		}
	}
}

func (r *rasterizer) text(op Op, g float32) error {
	if op.Text == "" {
		return nil
	}
	if op.Size <= 0 {
		return fmt.Errorf("text %q of size %g pt", op.Text, op.Size)
	}
	role := op.Font
	if role == "" {
		role = FontRegular
	}
	p, err := FontPath(role)
	if err != nil {
		return err
	}
	f, err := LoadFont(p)
	if err != nil {
		return err
	}
	// Pixels per em: points are 1/72 inch, the page scale is pixels per mm.
	ppem := op.Size * 25.4 / 72 * r.scale
	width, err := textWidth(f, &r.glyph, op.Text, ppem)
	if err != nil {
		return fmt.Errorf("text %q: %w", op.Text, err)
	}
	x := op.Rect.X * r.scale
	switch op.Align {
	case "", "left":
	case "center":
		x -= width / 2
	case "right":
		x -= width
	default:
		return fmt.Errorf("text %q: alignment %q", op.Text, op.Align)
	}
	y := op.Rect.Y * r.scale
	scale := fixed.Int26_6(math.Round(ppem * 64))
	for _, c := range op.Text {
		gi, err := f.GlyphIndex(&r.glyph, c)
		if err != nil {
			return fmt.Errorf("text %q: %w", op.Text, err)
		}
		adv, err := f.GlyphAdvance(&r.glyph, gi, scale, font.HintingNone)
		if err != nil {
			return fmt.Errorf("text %q: %w", op.Text, err)
		}
		segs, err := f.LoadGlyph(&r.glyph, gi, scale, nil)
		if err != nil {
			return fmt.Errorf("text %q: %w", op.Text, err)
		}
		if len(segs) > 0 {
			r.outline(segs, x, y, g)
		}
		x += float64(adv) / 64
	}
	return nil
}

// textWidth is the advance width of s in pixels, without kerning, as the
// PDF backend measures it for alignment.
func textWidth(f *sfnt.Font, buf *sfnt.Buffer, s string, ppem float64) (float64, error) {
	scale := fixed.Int26_6(math.Round(ppem * 64))
	var w fixed.Int26_6
	for _, c := range s {
		gi, err := f.GlyphIndex(buf, c)
		if err != nil {
			return 0, err
		}
		adv, err := f.GlyphAdvance(buf, gi, scale, font.HintingNone)
		if err != nil {
			return 0, err
		}
		w += adv
	}
	return float64(w) / 64, nil
}

// outline fills glyph segments (26.6 pixels, y down, origin at the
// baseline) with their origin at pixel position (ox, oy).
func (r *rasterizer) outline(segs sfnt.Segments, ox, oy float64, g float32) {
	bb := segs.Bounds()
	box := image.Rect(
		int(math.Floor(ox+float64(bb.Min.X)/64)), int(math.Floor(oy+float64(bb.Min.Y)/64)),
		int(math.Ceil(ox+float64(bb.Max.X)/64)), int(math.Ceil(oy+float64(bb.Max.Y)/64)))
	if box.Empty() || !box.Overlaps(r.img.Rect) {
		return
	}
	z := r.begin(box)
	bx := float32(ox - float64(box.Min.X))
	by := float32(oy - float64(box.Min.Y))
	pt := func(p fixed.Point26_6) (float32, float32) {
		return float32(p.X)/64 + bx, float32(p.Y)/64 + by
	}
	for _, s := range segs {
		switch s.Op {
		case sfnt.SegmentOpMoveTo:
			z.MoveTo(pt(s.Args[0]))
		case sfnt.SegmentOpLineTo:
			z.LineTo(pt(s.Args[0]))
		case sfnt.SegmentOpQuadTo:
			ax, ay := pt(s.Args[0])
			bx, by := pt(s.Args[1])
			z.QuadTo(ax, ay, bx, by)
		case sfnt.SegmentOpCubeTo:
			ax, ay := pt(s.Args[0])
			bx, by := pt(s.Args[1])
			cx, cy := pt(s.Args[2])
			z.CubeTo(ax, ay, bx, by, cx, cy)
		}
	}
	r.end(box, g)
}

// loadedFonts caches parsed font files: a font is read once per process
// and sfnt.Font is safe for concurrent use with separate buffers.
var loadedFonts struct {
	sync.Mutex
	byPath map[string]*sfnt.Font
}

// LoadFont parses a TrueType or OpenType font file, once per process.
func LoadFont(path string) (*sfnt.Font, error) {
	loadedFonts.Lock()
	defer loadedFonts.Unlock()
	if f, ok := loadedFonts.byPath[path]; ok {
		return f, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read font: %w", err)
	}
	f, err := sfnt.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("parse font %s: %w", path, err)
	}
	if loadedFonts.byPath == nil {
		loadedFonts.byPath = map[string]*sfnt.Font{}
	}
	loadedFonts.byPath[path] = f
	return f, nil
}

// image draws a PNG over its rectangle, nearest pixel: acts only carry
// crops for people to look at, nothing is read back from them.
func (r *rasterizer) image(op Op) error {
	src, err := png.Decode(bytes.NewReader(op.Image))
	if err != nil {
		return fmt.Errorf("image: %w", err)
	}
	sb := src.Bounds()
	s := r.scale
	x0, y0 := int(math.Round(op.Rect.X*s)), int(math.Round(op.Rect.Y*s))
	x1, y1 := int(math.Round(op.Rect.X1()*s)), int(math.Round(op.Rect.Y1()*s))
	b := r.img.Rect
	for y := max(y0, b.Min.Y); y < min(y1, b.Max.Y); y++ {
		sy := sb.Min.Y + (y-y0)*sb.Dy()/max(1, y1-y0)
		for x := max(x0, b.Min.X); x < min(x1, b.Max.X); x++ {
			sx := sb.Min.X + (x-x0)*sb.Dx()/max(1, x1-x0)
			r.img.SetGray(x, y, color.GrayModel.Convert(src.At(sx, sy)).(color.Gray))
		}
	}
	return nil
}
