package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"

	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"

	"giascan/forms"
)

// hand is how one person writes: the same writer value gives the same hand
// on every page of a participant's answer set.
type hand struct {
	font   *sfnt.Font
	width  float64 // pen line width, mm
	slant  float64 // forward lean of handwriting, dx per dy
	size   float64 // height of small letters, mm
	digits float64 // size of digits relative to the cell
	style  int     // favourite way of marking a box: markCross, markTick, markFill
	shaky  float64 // amplitude of the hand's tremor, mm
	inkTop float64 // darkness of the pen 0..1
}

// Ways of marking a box.
const (
	markCross = iota
	markTick
	markFill
)

// handFonts are the handwriting fonts of this machine that have all ten
// digits, loaded once.
var handFonts struct {
	once  sync.Once
	fonts []*sfnt.Font
	err   error
}

func loadHandFonts() ([]*sfnt.Font, error) {
	handFonts.once.Do(func() {
		avail, err := forms.AvailableHandwritingFonts()
		if err != nil {
			handFonts.err = err
			return
		}
		var buf sfnt.Buffer
		for _, hf := range avail {
			f, err := forms.LoadFont(hf.Path)
			if err != nil {
				continue
			}
			ok := true
			for d := '0'; d <= '9' && ok; d++ {
				gi, err := f.GlyphIndex(&buf, d)
				ok = err == nil && gi != 0
			}
			if ok {
				handFonts.fonts = append(handFonts.fonts, f)
			}
		}
		if len(handFonts.fonts) == 0 {
			handFonts.err = fmt.Errorf("no handwriting font with digits among %d installed", len(avail))
		}
	})
	return handFonts.fonts, handFonts.err
}

func newHand(writer uint64) (hand, error) {
	fonts, err := loadHandFonts()
	if err != nil {
		return hand{}, fmt.Errorf("handwriting: %w", err)
	}
	r := rand.New(rand.NewPCG(writer, 0x4a4e44))
	h := hand{
		font:   fonts[r.IntN(len(fonts))],
		width:  0.35 + 0.25*r.Float64(),
		slant:  -0.05 + 0.4*r.Float64(),
		size:   2.2 + 1.0*r.Float64(),
		digits: 0.9 + 0.2*r.Float64(),
		shaky:  0.02 + 0.05*r.Float64(),
		inkTop: 0.85 + 0.12*r.Float64(),
	}
	switch x := r.IntN(100); {
	case x < 60:
		h.style = markCross
	case x < 85:
		h.style = markTick
	default:
		h.style = markFill
	}
	return h, nil
}

// writer puts a hand's ink on a page.
type writer struct {
	hand
	pen *penLayer
	rng *rand.Rand
	buf sfnt.Buffer
}

func (w *writer) uniform(lo, hi float64) float64 { return lo + (hi-lo)*w.rng.Float64() }

// line draws a slightly curved pen stroke from a to b.
func (w *writer) line(a, b pt) {
	bend := w.uniform(-0.08, 0.08)
	n := 8
	pts := make([]pt, 0, n+1)
	dx, dy := b.x-a.x, b.y-a.y
	for i := 0; i <= n; i++ {
		t := float64(i) / float64(n)
		off := bend * 4 * t * (1 - t)
		pts = append(pts, pt{a.x + dx*t - dy*off, a.y + dy*t + dx*off})
	}
	w.stroke(pts)
}

func (w *writer) stroke(pts []pt) {
	w.pen.stroke(pts, w.width*w.uniform(0.85, 1.1), w.width*w.uniform(0.75, 1.05))
}

// mark marks a 5 × 5 mm box (or any square-ish rectangle).
func (w *writer) mark(b forms.Rect, style int) {
	in := func() float64 { return w.uniform(0.6, 1.2) }
	switch style {
	case markCross:
		w.line(pt{b.X + in(), b.Y + in()}, pt{b.X1() - in(), b.Y1() - in()})
		w.line(pt{b.X1() - in(), b.Y + in()}, pt{b.X + in(), b.Y1() - in()})
	case markTick:
		p0 := pt{b.X + w.uniform(0.8, 1.3), b.Y + b.H*w.uniform(0.45, 0.6)}
		p1 := pt{b.X + b.W*w.uniform(0.38, 0.48), b.Y1() - w.uniform(0.7, 1.1)}
		p2 := pt{b.X1() - w.uniform(0.6, 1.0), b.Y + w.uniform(0.6, 1.0)}
		w.stroke(w.curve([]pt{p0, p1, p2}, 6))
	case markFill:
		var pts []pt
		step := w.width * 0.8
		left, right := b.X+w.uniform(0.6, 0.9), b.X1()-w.uniform(0.6, 0.9)
		for y, i := b.Y+w.uniform(0.7, 1.0), 0; y < b.Y1()-0.7; y, i = y+step, i+1 {
			if i%2 == 0 {
				pts = append(pts, pt{left, y}, pt{right, y + step/2})
			} else {
				pts = append(pts, pt{right, y}, pt{left, y + step/2})
			}
		}
		w.stroke(pts)
	}
}

// curve subdivides a polyline into n steps per leg with the hand's tremor.
func (w *writer) curve(ctrl []pt, n int) []pt {
	out := []pt{ctrl[0]}
	for i := 1; i < len(ctrl); i++ {
		a, b := ctrl[i-1], ctrl[i]
		for k := 1; k <= n; k++ {
			t := float64(k) / float64(n)
			out = append(out, pt{a.x + (b.x-a.x)*t + w.uniform(-1, 1)*w.shaky, a.y + (b.y-a.y)*t + w.uniform(-1, 1)*w.shaky})
		}
	}
	return out
}

// strayDot is a touch of the pen inside a box that is not a mark.
func (w *writer) strayDot(b forms.Rect) {
	x := b.X + w.uniform(1.2, b.W-1.2)
	y := b.Y + w.uniform(1.2, b.H-1.2)
	d := w.uniform(0.45, 0.7)
	w.pen.stroke([]pt{{x, y}, {x + w.uniform(-0.1, 0.1), y + w.uniform(-0.1, 0.1)}}, d, d)
}

// borderTouch is a short stroke that crosses a box's border from outside,
// as a slipping pen or a neighbour's mark does; it is not a mark.
func (w *writer) borderTouch(b forms.Rect) {
	in := w.uniform(0.2, 0.4)
	out := w.uniform(0.8, 1.5)
	along := w.uniform(1.2, b.W-1.2)
	var a, c pt
	switch w.rng.IntN(4) {
	case 0: // top
		a, c = pt{b.X + along, b.Y - out}, pt{b.X + along + 0.3, b.Y + in}
	case 1: // bottom
		a, c = pt{b.X + along, b.Y1() + out}, pt{b.X + along - 0.3, b.Y1() - in}
	case 2: // left
		a, c = pt{b.X - out, b.Y + along}, pt{b.X + in, b.Y + along + 0.3}
	default: // right
		a, c = pt{b.X1() + out, b.Y + along}, pt{b.X1() - in, b.Y + along - 0.3}
	}
	wd := w.width * 0.8
	w.pen.stroke([]pt{a, c}, wd, wd)
}

// digit writes one handwritten digit into a cell with the hand's font,
// slightly turned, scaled and off centre, and never touching the border.
func (w *writer) digit(cell forms.Rect, d byte) error {
	gi, err := w.font.GlyphIndex(&w.buf, rune(d))
	if err != nil {
		return fmt.Errorf("digit %c: %w", d, err)
	}
	const ppem = 256
	segs, err := w.font.LoadGlyph(&w.buf, gi, fixed.I(ppem), nil)
	if err != nil {
		return fmt.Errorf("digit %c: %w", d, err)
	}
	bb := segs.Bounds()
	gx0, gy0 := float64(bb.Min.X)/64, float64(bb.Min.Y)/64
	gx1, gy1 := float64(bb.Max.X)/64, float64(bb.Max.Y)/64
	if gy1-gy0 <= 0 || gx1-gx0 <= 0 {
		return fmt.Errorf("digit %c: empty glyph", d)
	}
	gcx, gcy := (gx0+gx1)/2, (gy0+gy1)/2
	height := cell.H * w.digits * w.uniform(0.56, 0.7)
	k := height / (gy1 - gy0)
	sx := k * w.uniform(0.9, 1.1)
	rot := w.uniform(-6, 6) * math.Pi / 180
	shear := w.slant * 0.5
	cx, cy := cell.Center()
	cx += w.uniform(-0.4, 0.4)
	cy += w.uniform(-0.5, 0.5)
	build := func(f float64) affine {
		// scale, then lean, then turn, then place.
		a, b := sx*f, -shear*k*f
		dd, e := 0.0, k*f
		cos, sin := math.Cos(rot), math.Sin(rot)
		m := affine{a: cos*a - sin*dd, b: cos*b - sin*e, d: sin*a + cos*dd, e: sin*b + cos*e}
		m.c = cx - (m.a*gcx + m.b*gcy)
		m.f = cy - (m.d*gcx + m.e*gcy)
		return m
	}
	// Keep the digit 0.7 mm inside the cell's border: shrink until it fits,
	// then pull it back inside if the offset pushed it out.
	inner := cell.Inset(0.7 + forms.Border/2)
	m := build(1)
	// A wide digit in a narrow cell is written narrower before smaller.
	if x0, _, x1, _ := extent(segs, m); x1-x0 > inner.W {
		sx *= math.Max(0.65, inner.W/(x1-x0))
	}
	for f := 1.0; f > 0.3; f *= 0.95 {
		m = build(f)
		x0, y0, x1, y1 := extent(segs, m)
		if x1-x0 <= inner.W && y1-y0 <= inner.H {
			m.c += math.Max(0, inner.X-x0) - math.Max(0, x1-inner.X1())
			m.f += math.Max(0, inner.Y-y0) - math.Max(0, y1-inner.Y1())
			break
		}
	}
	w.pen.glyph(segs, m)
	return nil
}

// extent is the bounding box (mm) of the control points of segments mapped
// by m; it contains the outline.
func extent(segs sfnt.Segments, m affine) (x0, y0, x1, y1 float64) {
	x0, y0 = math.Inf(1), math.Inf(1)
	x1, y1 = math.Inf(-1), math.Inf(-1)
	for _, s := range segs {
		for i := 0; i < argCount(s.Op); i++ {
			x, y := m.apply(float64(s.Args[i].X)/64, float64(s.Args[i].Y)/64)
			x0, x1 = math.Min(x0, x), math.Max(x1, x)
			y0, y1 = math.Min(y0, y), math.Max(y1, y)
		}
	}
	return
}

// field writes digits into a field's cells, right-aligned (leading cells
// stay empty when the number is shorter than the field).
func (w *writer) field(f forms.DigitField, digits string) error {
	if len(digits) > f.Cells {
		return fmt.Errorf("field %s: %q does not fit %d cells", f.ID, digits, f.Cells)
	}
	first := f.Cells - len(digits)
	for i := 0; i < len(digits); i++ {
		if err := w.digit(f.Cell(first+i), digits[i]); err != nil {
			return fmt.Errorf("field %s: %w", f.ID, err)
		}
	}
	return nil
}

// word is the pen path of one cursive word of n letters from (x, base),
// small letters h high: loops that lean with the hand, some tall, some
// going below the line. It returns the path and where the word ends.
func (w *writer) word(x, base, h float64, n int) ([]pt, float64) {
	pitch := h * w.uniform(0.55, 0.8)
	var path []pt
	const steps = 12
	for li := 0; li < n; li++ {
		amp := h * w.uniform(0.8, 1.1)
		loop := pitch * w.uniform(0.2, 0.45)
		dir := -1.0 // up from the line
		switch r := w.rng.IntN(100); {
		case r < 15:
			amp *= w.uniform(1.6, 2.0)
		case r < 27:
			dir, amp = 1, amp*w.uniform(0.7, 1.0)
		}
		for s := 0; s <= steps; s++ {
			if li > 0 && s == 0 {
				continue
			}
			phi := 2 * math.Pi * float64(s) / steps
			px := x + pitch*(float64(li)+float64(s)/steps) - loop*math.Sin(phi)
			py := base + dir*amp*(1-math.Cos(phi))/2
			px += w.slant * (base - py)
			path = append(path, pt{px + w.uniform(-1, 1)*w.shaky, py + w.uniform(-1, 1)*w.shaky})
		}
	}
	return path, x + pitch*float64(n)
}

// clampTo keeps a path inside r shrunk by the pen's half width and a
// margin, so that ink measured in a zone is the ink written for it.
func (w *writer) clampTo(path []pt, r forms.Rect) {
	m := w.width/2 + forms.Border + 0.2
	for i := range path {
		path[i].x = math.Max(r.X+m, math.Min(r.X1()-m, path[i].x))
		path[i].y = math.Max(r.Y+m, math.Min(r.Y1()-m, path[i].y))
	}
}

// textLine writes a few words in a one-line text zone.
func (w *writer) textLine(z forms.Rect) {
	h := math.Min(w.size, z.H*0.4)
	base := z.Y + z.H*w.uniform(0.68, 0.78)
	x := z.X + w.uniform(3, 15)
	end := z.X + math.Min(z.W-3, w.uniform(30, 90))
	for words := 1 + w.rng.IntN(3); words > 0 && x < end; words-- {
		path, x1 := w.word(x, base, h, 3+w.rng.IntN(8))
		w.clampTo(path, z)
		w.stroke(path)
		x = x1 + w.uniform(2, 4)
	}
}

// signature writes a short flourish with an underline stroke, scaled to
// sit inside the zone.
func (w *writer) signature(z forms.Rect) {
	h := math.Min(z.H*0.35, w.size*1.6)
	x := z.X + w.uniform(2, z.W*0.3)
	base := z.Y + z.H*w.uniform(0.6, 0.75)
	path, end := w.word(x, base, h, 3+w.rng.IntN(5))
	end = math.Min(end, z.X1()-2)
	tail := []pt{path[len(path)-1]}
	for i := 1; i <= 10; i++ {
		t := float64(i) / 10
		tail = append(tail, pt{path[len(path)-1].x + (x-2-path[len(path)-1].x)*t + (end-x)*0.3*math.Sin(math.Pi*t),
			base + h*0.3 + w.uniform(-0.1, 0.1) + h*0.2*math.Sin(math.Pi*t)})
	}
	w.clampTo(path, z)
	w.clampTo(tail, z)
	w.stroke(path)
	w.stroke(tail)
}

// answer fills the answer zone of a sheet №2: lines of handwriting on the
// dropout rules, from the top, some of the zone or all of it.
func (w *writer) answer(z forms.Rect, step float64, lines int) {
	for i := 1; i <= lines; i++ {
		ruleY := z.Y + step*float64(i)
		if ruleY >= z.Y1()-step/4 {
			break
		}
		base := ruleY - w.uniform(0.6, 1.0)
		x := z.X + 2
		if i == 1 || w.rng.IntN(8) == 0 {
			x += w.uniform(6, 12) // a new paragraph
		}
		end := z.X1() - 2 - w.uniform(0, 25)
		if i == lines {
			end = x + (end-x)*w.uniform(0.2, 0.9)
		}
		for x < end-4 {
			path, x1 := w.word(x, base, w.size, 2+w.rng.IntN(8))
			w.clampTo(path, z)
			w.stroke(path)
			x = x1 + w.uniform(2, 4)
		}
	}
}
