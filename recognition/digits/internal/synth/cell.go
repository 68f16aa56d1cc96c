package synth

import (
	"bytes"
	"image"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"sync"
)

// Labels of samples besides the digits 0–9.
const (
	// Reject marks a cell holding ink that is no digit: a scribble, a
	// crossed-out digit, a letter, two digits squeezed together, a blob.
	Reject = 10
	// Blank marks a cell holding no writing: nothing, a stray dot, specks,
	// remnants of the border.
	Blank = -1
)

// Generator draws cells from a set of fonts.
type Generator struct {
	Fonts []*Font
	// MinDPI and MaxDPI bound the scan resolution; the resolution of each
	// cell is drawn log-uniformly between them.
	MinDPI, MaxDPI float64
	// Strokes is the share of digits drawn from the built-in stroke
	// models instead of a font (0 for fonts only).
	Strokes float64
}

// NewGenerator returns a generator over fonts at 150–600 dpi.
func NewGenerator(fonts []*Font) *Generator {
	return &Generator{Fonts: fonts, MinDPI: 150, MaxDPI: 600}
}

// Drawn marks are turned into distance fields, which costs more than
// rendering a cell; a fixed pool of each kind, made once from a fixed
// seed, is drawn from instead. Random placement, pen and distortion make
// the cells from one pooled shape differ anyway.
const (
	poolPerDigit = 60
	poolMarks    = 120
)

type pools struct {
	digits                    [10][]*Shape
	scribbles, crosses, blobs []*Shape
}

var markPools = sync.OnceValue(func() *pools {
	rng := rand.New(rand.NewPCG(0x706f6f6c, 1))
	p := &pools{}
	for d := range p.digits {
		for len(p.digits[d]) < poolPerDigit {
			if s := strokeDigit(rng, d); s != nil {
				p.digits[d] = append(p.digits[d], s)
			}
		}
	}
	for i := 0; i < poolMarks; i++ {
		p.scribbles = append(p.scribbles, scribble(rng, 3+rng.IntN(7)))
		p.crosses = append(p.crosses, crossOut(rng))
		p.blobs = append(p.blobs, blob(rng))
	}
	return p
})

func pick(rng *rand.Rand, s []*Shape) *Shape { return s[rng.IntN(len(s))] }

// Cell draws one cell with the given label (0–9, Reject or Blank).
func (g *Generator) Cell(rng *rand.Rand, label int) *image.Gray {
	sc := g.newScene(rng)
	switch {
	case label >= 0 && label <= 9:
		g.addDigit(rng, sc, label)
	case label == Reject:
		g.addReject(rng, sc)
	default:
		g.addBlank(rng, sc)
	}
	if rng.Float64() < 0.25 {
		g.addNeighbour(rng, sc)
	}
	return sc.render(rng)
}

// scene is a cell being drawn, in millimetres with the origin at the
// top-left corner of the cell (the centre line of its border).
type scene struct {
	dpi            float64
	cw, ch         float64 // cell size
	border         float64 // border width
	l, t, r, b     float64 // crop edges
	marks          []mark
	paper          float64 // grey level of paper
	ink            float64 // fraction of paper brightness the pen takes away
	borderInk      float64 // same for the printed border
	blur, noise    float64 // pixels, grey levels
	speckles       int
	jpegQuality    int // 0: none
	gradX, gradY   float64
	inkVariability float64
}

// mark is a shape placed in the cell.
type mark struct {
	s     *Shape
	inv   [6]float64 // cell mm → grid
	fwd   [6]float64 // grid → cell mm
	t     float32    // pen growth over the shape's own stroke, grid pixels
	pix   float32    // grid pixels per image pixel
	warp  *warp
	faint float64 // 1 for full ink, less for a lighter stroke
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func uniform(rng *rand.Rand, a, b float64) float64 { return a + (b-a)*rng.Float64() }

func (g *Generator) newScene(rng *rand.Rand) *scene {
	sc := &scene{cw: 6, ch: 8, border: uniform(rng, 0.22, 0.4)}
	if rng.Float64() < 0.25 {
		sc.cw = 5 // type 51 forms
	}
	sc.dpi = math.Exp(uniform(rng, math.Log(g.MinDPI), math.Log(g.MaxDPI)))
	// The crop is the cell inset by a margin that registration errors make
	// uneven: a negative or small inset leaves a sliver of the border in.
	sc.l = uniform(rng, -0.15, 0.6)
	sc.t = uniform(rng, -0.15, 0.6)
	sc.r = sc.cw - uniform(rng, -0.15, 0.6)
	sc.b = sc.ch - uniform(rng, -0.15, 0.6)
	sc.paper = uniform(rng, 185, 252)
	contrast := uniform(rng, 70, 220)
	if rng.Float64() < 0.15 {
		contrast = uniform(rng, 50, 90) // faint pen or a light scan
	}
	sc.ink = math.Min(0.97, contrast/sc.paper)
	sc.borderInk = uniform(rng, 0.7, 0.95)
	sc.inkVariability = uniform(rng, 0, 0.25)
	sc.blur = uniform(rng, 0.3, 1.1)
	sc.noise = uniform(rng, 0, 8)
	if rng.Float64() < 0.2 {
		sc.speckles = rng.IntN(6)
	}
	if rng.Float64() < 0.3 {
		sc.jpegQuality = 35 + rng.IntN(55)
	}
	sc.gradX, sc.gradY = uniform(rng, -8, 8), uniform(rng, -8, 8)
	return sc
}

// placement describes how a shape is put into the cell.
type placement struct {
	cx, cy  float64 // centre of the ink box, mm
	height  float64 // height of the ink box, mm
	aspect  float64 // horizontal stretch
	rot     float64 // radians, clockwise
	shear   float64 // x += shear·y
	pen     float64 // pen width, mm; negative: the shape's own
	elastic float64 // amplitude of the smooth distortion, fraction of height
}

// place turns a placement of shape s into a mark.
func (sc *scene) place(rng *rand.Rand, s *Shape, p placement) mark {
	inkH := float64(s.Y1 - s.Y0)
	k := p.height / inkH // mm per grid pixel
	mx, my := float64(s.X0+s.X1)/2, float64(s.Y0+s.Y1)/2
	cos, sin := math.Cos(p.rot), math.Sin(p.rot)
	// fwd = Translate(c) · Rot · Shear · Scale(k·aspect, k) · Translate(−m)
	a := k * p.aspect
	// Shear·Scale = [[a, shear·k],[0, k]]
	m00, m01 := a, p.shear*k
	m10, m11 := 0.0, k
	// Rot · that
	f00 := cos*m00 - sin*m10
	f01 := cos*m01 - sin*m11
	f10 := sin*m00 + cos*m10
	f11 := sin*m01 + cos*m11
	f02 := p.cx - (f00*mx + f01*my)
	f12 := p.cy - (f10*mx + f11*my)
	det := f00*f11 - f01*f10
	i00, i01 := f11/det, -f01/det
	i10, i11 := -f10/det, f00/det
	i02 := -(i00*f02 + i01*f12)
	i12 := -(i10*f02 + i11*f12)
	gridPerMM := 1 / math.Sqrt(math.Abs(det))
	pxPerMM := sc.dpi / 25.4
	t := float32(p.pen/2*gridPerMM) - s.Half
	if lo := -0.6 * s.Half; t < lo {
		t = lo // thinning a stroke to nothing would erase the digit
	}
	if p.pen < 0 {
		t = 0 // the shape as drawn: a dot is its own pen
	}
	m := mark{
		s:     s,
		inv:   [6]float64{i00, i01, i02, i10, i11, i12},
		fwd:   [6]float64{f00, f01, f02, f10, f11, f12},
		t:     t,
		pix:   float32(gridPerMM / pxPerMM),
		faint: 1 - sc.inkVariability*rng.Float64(),
	}
	if p.elastic > 0 {
		m.warp = newWarp(rng, s, p.elastic*inkH)
	}
	return m
}

// randomPlacement draws a placement for a mark of the given ink-box aspect
// (width/height) the way people write in a cell: mostly inside, sometimes
// large enough to touch or cross the border.
func (sc *scene) randomPlacement(rng *rand.Rand, aspect float64) placement {
	p := placement{
		height:  uniform(rng, 3.5, 7.2),
		aspect:  uniform(rng, 0.75, 1.3),
		rot:     uniform(rng, -12, 12) * math.Pi / 180,
		shear:   uniform(rng, -0.3, 0.3),
		pen:     uniform(rng, 0.2, 0.8),
		elastic: uniform(rng, 0, 0.06),
	}
	wd := p.height * aspect * p.aspect
	if maxW := sc.cw - 0.6; wd > maxW {
		p.height *= maxW / wd
		wd = maxW
	}
	slackX := math.Max(0, (sc.cw-0.5-wd)/2)
	slackY := math.Max(0, (sc.ch-0.5-p.height)/2)
	p.cx = sc.cw/2 + uniform(rng, -1, 1)*slackX
	p.cy = sc.ch/2 + uniform(rng, -1, 1)*slackY
	if rng.Float64() < 0.08 {
		p.cx += uniform(rng, -0.8, 0.8)
		p.cy += uniform(rng, -0.8, 0.8)
	}
	return p
}

func shapeAspect(s *Shape) float64 { return float64(s.X1-s.X0) / float64(s.Y1-s.Y0) }

func (g *Generator) font(rng *rand.Rand) *Font { return g.Fonts[rng.IntN(len(g.Fonts))] }

func (g *Generator) addDigit(rng *rand.Rand, sc *scene, d int) {
	s := g.font(rng).Digits[d]
	if rng.Float64() < g.Strokes {
		s = pick(rng, markPools().digits[d])
	}
	sc.marks = append(sc.marks, sc.place(rng, s, sc.randomPlacement(rng, shapeAspect(s))))
}

func (g *Generator) addReject(rng *rand.Rand, sc *scene) {
	switch rng.IntN(7) {
	case 0, 1: // a scribble
		s := pick(rng, markPools().scribbles)
		sc.marks = append(sc.marks, sc.place(rng, s, sc.randomPlacement(rng, shapeAspect(s))))
	case 2: // a crossed-out digit
		g.addDigit(rng, sc, rng.IntN(10))
		d := sc.marks[len(sc.marks)-1]
		s := pick(rng, markPools().crosses)
		p := sc.randomPlacement(rng, shapeAspect(s))
		// Over the digit, about its size.
		p.cx, p.cy = d.fwd[2]+d.fwd[0]*float64(d.s.X0+d.s.X1)/2+d.fwd[1]*float64(d.s.Y0+d.s.Y1)/2,
			d.fwd[5]+d.fwd[3]*float64(d.s.X0+d.s.X1)/2+d.fwd[4]*float64(d.s.Y0+d.s.Y1)/2
		sc.marks = append(sc.marks, sc.place(rng, s, p))
	case 3: // a letter or sign
		f := g.font(rng)
		if len(f.Others) == 0 {
			g.addReject(rng, sc)
			return
		}
		s := f.Others[rng.IntN(len(f.Others))]
		sc.marks = append(sc.marks, sc.place(rng, s, sc.randomPlacement(rng, shapeAspect(s))))
	case 4: // two digits in one cell
		for i := 0; i < 2; i++ {
			s := g.font(rng).Digits[rng.IntN(10)]
			p := sc.randomPlacement(rng, shapeAspect(s))
			p.height = uniform(rng, 3, 5)
			wd := p.height * shapeAspect(s) * p.aspect
			if wd > sc.cw/2-0.2 {
				p.height *= (sc.cw/2 - 0.2) / wd
				wd = sc.cw/2 - 0.2
			}
			p.cx = sc.cw/4 + float64(i)*sc.cw/2 + uniform(rng, -0.3, 0.3)
			sc.marks = append(sc.marks, sc.place(rng, s, p))
		}
	case 5: // a filled blob
		s := pick(rng, markPools().blobs)
		p := sc.randomPlacement(rng, shapeAspect(s))
		p.height = uniform(rng, 2.5, 6)
		sc.marks = append(sc.marks, sc.place(rng, s, p))
	default: // a short stroke: a dash or a comma
		s := pick(rng, markPools().scribbles)
		p := sc.randomPlacement(rng, shapeAspect(s))
		p.height = uniform(rng, 1.3, 2.6)
		if rng.Float64() < 0.5 {
			// A dash: its length, not its thickness, is the drawn size.
			s = dash()
			p.rot = uniform(rng, -35, 35) * math.Pi / 180
			p.height /= shapeAspect(s)
		}
		sc.marks = append(sc.marks, sc.place(rng, s, p))
	}
}

func (g *Generator) addBlank(rng *rand.Rand, sc *scene) {
	switch rng.IntN(4) {
	case 0: // nothing but the paper and maybe the border
	case 1, 2: // a stray dot
		s := disc()
		p := sc.randomPlacement(rng, 1)
		p.height = uniform(rng, 0.25, 0.8)
		p.pen = -1
		p.cx = uniform(rng, 0.5, sc.cw-0.5)
		p.cy = uniform(rng, 0.5, sc.ch-0.5)
		sc.marks = append(sc.marks, sc.place(rng, s, p))
	default: // specks and dust
		sc.speckles += 2 + rng.IntN(8)
	}
}

// addNeighbour writes a digit into the cell to the left or right, near the
// shared border, so that a crop reaching over the border catches some of it.
func (g *Generator) addNeighbour(rng *rand.Rand, sc *scene) {
	s := g.font(rng).Digits[rng.IntN(10)]
	p := sc.randomPlacement(rng, shapeAspect(s))
	wd := p.height * shapeAspect(s) * p.aspect
	if rng.Float64() < 0.5 {
		p.cx = -wd/2 - uniform(rng, 0, 0.5)
	} else {
		p.cx = sc.cw + wd/2 + uniform(rng, 0, 0.5)
	}
	sc.marks = append(sc.marks, sc.place(rng, s, p))
}

// render rasterises the scene as a scanner would.
func (sc *scene) render(rng *rand.Rand) *image.Gray {
	ppm := sc.dpi / 25.4
	w := max(4, int(math.Round((sc.r-sc.l)*ppm)))
	h := max(4, int(math.Round((sc.b-sc.t)*ppm)))
	// Sub-pixel phase of the scan grid.
	ox, oy := sc.l+rng.Float64()/ppm*0.5, sc.t+rng.Float64()/ppm*0.5
	inkCov := make([]float32, w*h)
	for _, m := range sc.marks {
		sc.drawMark(m, inkCov, w, h, ox, oy, ppm)
	}
	for i := 0; i < sc.speckles; i++ {
		x, y := rng.IntN(w), rng.IntN(h)
		inkCov[y*w+x] = max(inkCov[y*w+x], float32(uniform(rng, 0.3, 1)))
	}
	v := make([]float64, w*h)
	half := sc.border / 2
	for y := 0; y < h; y++ {
		my := oy + (float64(y)+0.5)/ppm
		dy := min(abs(my), abs(my-sc.ch))
		for x := 0; x < w; x++ {
			mx := ox + (float64(x)+0.5)/ppm
			d := min(dy, abs(mx), abs(mx-sc.cw))
			bc := max(0, min(1, (half-d)*ppm+0.5))
			paper := sc.paper + sc.gradX*(float64(x)/float64(w)-0.5) + sc.gradY*(float64(y)/float64(h)-0.5)
			v[y*w+x] = paper * (1 - sc.ink*float64(inkCov[y*w+x])) * (1 - sc.borderInk*bc)
		}
	}
	if sc.blur > 0 {
		gaussBlur(v, w, h, sc.blur)
	}
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i, p := range v {
		p += rng.NormFloat64() * sc.noise
		img.Pix[i] = uint8(math.Max(0, math.Min(255, math.Round(p))))
	}
	if sc.jpegQuality > 0 {
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: sc.jpegQuality}); err == nil {
			if dec, err := jpeg.Decode(&buf); err == nil {
				if gr, ok := dec.(*image.Gray); ok {
					return gr
				}
			}
		}
	}
	return img
}

// drawMark adds the coverage of one mark to cov.
func (sc *scene) drawMark(m mark, cov []float32, w, h int, ox, oy, ppm float64) {
	// Image box of the shape's grid, from its corners.
	xs := []float64{0, float64(m.s.W)}
	ys := []float64{0, float64(m.s.H)}
	bx0, by0, bx1, by1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, gx := range xs {
		for _, gy := range ys {
			mx := m.fwd[0]*gx + m.fwd[1]*gy + m.fwd[2]
			my := m.fwd[3]*gx + m.fwd[4]*gy + m.fwd[5]
			px, py := (mx-ox)*ppm, (my-oy)*ppm
			bx0, by0 = math.Min(bx0, px), math.Min(by0, py)
			bx1, by1 = math.Max(bx1, px), math.Max(by1, py)
		}
	}
	x0, y0 := max(0, int(bx0)-2), max(0, int(by0)-2)
	x1, y1 := min(w-1, int(bx1)+2), min(h-1, int(by1)+2)
	for y := y0; y <= y1; y++ {
		my := oy + (float64(y)+0.5)/ppm
		for x := x0; x <= x1; x++ {
			mx := ox + (float64(x)+0.5)/ppm
			gx := m.inv[0]*mx + m.inv[1]*my + m.inv[2]
			gy := m.inv[3]*mx + m.inv[4]*my + m.inv[5]
			if m.warp != nil {
				dx, dy := m.warp.at(gx, gy)
				gx += dx
				gy += dy
			}
			sd := m.s.at(float32(gx), float32(gy))
			if sd >= far {
				continue
			}
			c := 0.5 - (sd-m.t)/m.pix
			if c <= 0 {
				continue
			}
			if c > 1 {
				c = 1
			}
			c *= float32(m.faint)
			i := y*w + x
			cov[i] = 1 - (1-cov[i])*(1-c)
		}
	}
}

// warp is a smooth random displacement over a shape's grid: a coarse
// lattice of random offsets, interpolated bilinearly.
type warp struct {
	n      int
	sx, sy float64
	dx, dy []float64
}

func newWarp(rng *rand.Rand, s *Shape, amp float64) *warp {
	const n = 4
	wp := &warp{n: n, sx: float64(n-1) / float64(s.W), sy: float64(n-1) / float64(s.H)}
	wp.dx = make([]float64, n*n)
	wp.dy = make([]float64, n*n)
	for i := range wp.dx {
		wp.dx[i] = rng.NormFloat64() * amp
		wp.dy[i] = rng.NormFloat64() * amp
	}
	return wp
}

func (wp *warp) at(gx, gy float64) (float64, float64) {
	fx := math.Max(0, math.Min(float64(wp.n-1)-1e-9, gx*wp.sx))
	fy := math.Max(0, math.Min(float64(wp.n-1)-1e-9, gy*wp.sy))
	ix, iy := int(fx), int(fy)
	tx, ty := fx-float64(ix), fy-float64(iy)
	i := iy*wp.n + ix
	lerp := func(a []float64) float64 {
		top := a[i] + (a[i+1]-a[i])*tx
		bot := a[i+wp.n] + (a[i+wp.n+1]-a[i+wp.n])*tx
		return top + (bot-top)*ty
	}
	return lerp(wp.dx), lerp(wp.dy)
}

// gaussBlur blurs v in place with a separable Gaussian of deviation sigma.
func gaussBlur(v []float64, w, h int, sigma float64) {
	r := int(math.Ceil(2.5 * sigma))
	k := make([]float64, 2*r+1)
	var sum float64
	for i := range k {
		d := float64(i - r)
		k[i] = math.Exp(-d * d / (2 * sigma * sigma))
		sum += k[i]
	}
	for i := range k {
		k[i] /= sum
	}
	tmp := make([]float64, len(v))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var s float64
			for i, kv := range k {
				xx := min(max(x+i-r, 0), w-1)
				s += kv * v[y*w+xx]
			}
			tmp[y*w+x] = s
		}
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var s float64
			for i, kv := range k {
				yy := min(max(y+i-r, 0), h-1)
				s += kv * tmp[yy*w+x]
			}
			v[y*w+x] = s
		}
	}
}
