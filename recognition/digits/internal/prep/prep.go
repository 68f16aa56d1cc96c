// Package prep turns the grey crop of one digit cell into the fixed-size
// input of the digit network: it finds the paper and ink levels, removes the
// remnants of the printed cell border, drops noise and stray dots, decides
// whether the cell is empty, and scales the remaining ink into a 28 × 28
// frame centred by its centre of mass, as MNIST-style classifiers expect.
//
// Training and recognition call the same code, so whatever this package
// does to a scanned cell the network has seen during training.
package prep

import (
	"image"
	"math"
	"sort"
)

// Side is the side of the square network input; Box is the side of the
// square the ink's bounding box is scaled into (the rest is margin, so that
// centring by the centre of mass does not cut strokes off).
const (
	Side = 28
	Box  = 20
)

// NumFeatures is the number of scalar features passed beside the image:
// the ink's bounding box relative to the crop (height, width), so that a
// tiny mark scaled up to Box is not mistaken for a full-size digit.
const NumFeatures = 2

// Input is what the network sees of one cell.
type Input struct {
	Pixels   [Side * Side]float32 // ink intensity 0..1, row-major
	Features [NumFeatures]float32
}

// Cell is the outcome of preparing one crop.
type Cell struct {
	Input Input
	// Empty is true when, once border remnants, noise and stray dots are
	// removed, no ink is left.
	Empty bool
	// Faint is true when something was found that is too weak or too small
	// to be read with confidence but too much to call the cell empty; the
	// caller should treat the cell as unreadable rather than empty.
	Faint bool
	// Ink is the fraction of the crop's pixels that are kept ink. It is
	// zero, and Input is blank, for a Faint cell whose mark was too light
	// to be isolated at all.
	Ink float64
}

// Tunables. Distances are fractions of the crop height, which is the cell
// height (8 mm) at any resolution, so the rules hold from 150 to 600 dpi.
const (
	borderBand     = 0.2  // how deep from an edge a border remnant may lie
	lineFill       = 0.95 // a row/column this much darker than paper is a printed line
	lineContrast   = 18.0 // grey levels below paper that make a row a line
	dotExtent      = 0.17 // a mark no longer than this (≈1.3 mm) is a dot or speck
	minContrast    = 28.0 // grey levels between paper and ink below which there is no ink
	strongContrast = 55.0 // ink at least this dark is surely pen, not paper shade
	faintContrast  = 14.0 // below this nothing is told from paper shading
)

// Prepare analyses a cell crop. Crops smaller than 6 × 6 pixels are
// reported empty: there is nothing a reader could see in them either.
func Prepare(img *image.Gray) Cell {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w < 6 || h < 6 {
		return Cell{Empty: true}
	}
	v := make([]float32, w*h)
	for y := 0; y < h; y++ {
		off := img.PixOffset(b.Min.X, b.Min.Y+y)
		for x, p := range img.Pix[off : off+w] {
			v[y*w+x] = float32(p)
		}
	}
	return prepare(v, w, h)
}

func prepare(v []float32, w, h int) Cell {
	paper := percentile(v, 0.8)
	sigma := noiseSigma(v, w, h)

	// Printed border remnants are straight rows or columns along an edge
	// that are darker than paper over nearly their whole length.
	keep := make([]bool, w*h) // false where a border remnant was cleared
	held := make([]bool, w*h) // border kept under a stroke
	for i := range keep {
		keep[i] = true
	}
	clearBorders(v, keep, held, w, h, paper-float32(math.Max(lineContrast, 2*sigma)))

	// Paper and ink levels of what is left.
	rest := make([]float32, 0, len(v))
	for i, k := range keep {
		if k && !held[i] {
			rest = append(rest, v[i])
		}
	}
	if len(rest) < len(v)/3 {
		return Cell{Empty: true}
	}
	paper = percentile(rest, 0.8)
	n := len(rest) / 200
	if n < 3 {
		n = 3
	}
	dark := meanDarkest(rest, n)
	contrast := float64(paper - dark)
	noiseFloor := math.Max(5*sigma, minContrast)
	if contrast < noiseFloor {
		// Too light to be pen on a normal scan. Still, a coherent mark of
		// digit size that clearly stands out of the noise may be a very
		// faint digit, and calling it empty would be a wrong value
		// reported as certain: it is reported as unreadable instead.
		if contrast >= math.Max(5*sigma, faintContrast) && faintMark(v, keep, paper-float32(contrast/2), w, h) {
			return Cell{Faint: true}
		}
		return Cell{Empty: true}
	}
	// Hysteresis: pixels darker than weak belong to ink only when they
	// connect to a pixel darker than strong. The low weak level keeps the
	// thin, light parts of a stroke (blurred at 150 dpi) with the rest.
	weak := paper - float32(math.Max(0.25*contrast, 3*sigma))
	strong := paper - float32(math.Max(0.65*contrast, math.Max(5*sigma, minContrast)))

	mask := make([]bool, w*h)
	seed := make([]bool, w*h)
	for i, p := range v {
		if keep[i] && p <= weak {
			mask[i] = true
			seed[i] = p <= strong
		}
	}
	comps := components(mask, seed, w, h)
	comps = selectInk(comps, w, h)
	if len(comps) == 0 {
		return Cell{Empty: true}
	}

	// The bounding box of the kept ink.
	x0, y0, x1, y1 := w, h, -1, -1
	inkPx, maxExt := 0, 0
	for _, c := range comps {
		x0, y0 = min(x0, c.x0), min(y0, c.y0)
		x1, y1 = max(x1, c.x1), max(y1, c.y1)
		inkPx += c.area
		maxExt = max(maxExt, ownExtent(c, held, w))
	}
	cell := Cell{Ink: float64(inkPx) / float64(w*h)}
	if float64(maxExt) < dotExtent*float64(h) {
		// Only dots and specks. A few of them are dust or a pen touching
		// the paper; many are a stroke too faint to hold together, which
		// must not be taken for an empty cell.
		r := dotExtent / 2 * float64(h)
		if float64(inkPx) <= math.Pi*r*r {
			cell.Empty = true
			return cell
		}
		cell.Faint = true
	}
	// Ink that is barely above the paper noise cannot be trusted to be a
	// digit: it may be show-through from the back of the sheet.
	if contrast < strongContrast && contrast < 8*sigma {
		cell.Faint = true
	}

	// Ink intensity, limited to the kept components (grown by one pixel
	// to keep their anti-aliased edges) so that noise elsewhere is dropped.
	label := make([]bool, w*h)
	for _, c := range comps {
		for _, i := range c.pix {
			x, y := i%w, i/w
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					xx, yy := x+dx, y+dy
					if xx >= 0 && yy >= 0 && xx < w && yy < h && keep[yy*w+xx] {
						label[yy*w+xx] = true
					}
				}
			}
		}
	}
	scale := 1 / float32(contrast*0.85)
	ink := make([]float32, w*h)
	for i, l := range label {
		if l {
			a := (paper - v[i]) * scale
			if a > 1 {
				a = 1
			}
			if a > 0 {
				ink[i] = a
			}
		}
	}
	cell.Input = frame(ink, w, x0, y0, x1, y1)
	cell.Input.Features[0] = float32(y1-y0+1) / float32(h)
	cell.Input.Features[1] = float32(x1-x0+1) / float32(w)
	return cell
}

// faintMark tells whether the pixels darker than thr hold a mark of digit
// size (a component at least a third of the cell high or wide) away from
// the edges, where shading of the scan does not make one.
func faintMark(v []float32, keep []bool, thr float32, w, h int) bool {
	mask := make([]bool, w*h)
	for i, p := range v {
		mask[i] = keep[i] && p <= thr
	}
	for _, c := range components(mask, mask, w, h) {
		if float64(c.extent()) >= float64(h)/3 && !sliver(c, w, h) &&
			c.x0 > 0 && c.y0 > 0 && c.x1 < w-1 && c.y1 < h-1 {
			return true
		}
	}
	return false
}

// clearBorders finds rows and columns near the crop edges that are
// printed lines (cell border remnants) and clears them together with
// everything between them and the edge, plus one pixel of anti-aliasing.
// A row is a line when nearly all of it is darker than thr: that holds for
// a border however faint its anti-aliased sliver is, and for no written
// stroke, which never spans a whole row of the cell.
//
// Where a stroke meets the line from inside (a digit touching the border,
// or the base of a 2 lying on it) the line pixels of those columns are
// kept, so that the stroke is not cut short; they are marked in held so
// that the printed black does not count when measuring the pen's ink.
func clearBorders(v []float32, keep, held []bool, w, h int, thr float32) {
	bandY := max(2, int(math.Ceil(borderBand*float64(h))))
	bandX := max(2, int(math.Ceil(borderBand*float64(w))))
	line := func(n int, at func(int) float32) bool {
		dark := 0
		for i := 0; i < n; i++ {
			if at(i) <= thr {
				dark++
			}
		}
		return float64(dark) >= lineFill*float64(n)
	}
	// Each edge in its own coordinates: i runs along the edge (length n),
	// j inwards from it (depth m); px maps them to a pixel index.
	type edge struct {
		n, m, band int
		px         func(i, j int) int
		last, end  int
	}
	edges := []*edge{
		{n: w, m: h, band: bandY, px: func(i, j int) int { return j*w + i }},
		{n: w, m: h, band: bandY, px: func(i, j int) int { return (h-1-j)*w + i }},
		{n: h, m: w, band: bandX, px: func(i, j int) int { return i*w + j }},
		{n: h, m: w, band: bandX, px: func(i, j int) int { return i*w + (w - 1 - j) }},
	}
	// First find every line, so that where two borders meet in a corner
	// neither is taken for a stroke crossing the other.
	zone := make([]bool, w*h)
	for _, e := range edges {
		e.last = innermost(min(e.band, e.m), func(j int) bool {
			return line(e.n, func(i int) float32 { return v[e.px(i, j)] })
		})
		if e.last < 0 {
			continue
		}
		e.end = min(e.last+1, e.m-1) // the line and its anti-aliased fringe
		for i := 0; i < e.n; i++ {
			for j := 0; j <= e.end; j++ {
				zone[e.px(i, j)] = true
			}
		}
	}
	for _, e := range edges {
		if e.last < 0 {
			continue
		}
		probe := min(e.end+1, e.m-1)
		for i := 0; i < e.n; i++ {
			// Does a stroke continue inwards in this column (or next to it)?
			stroke := false
			for ii := max(i-1, 0); ii <= min(i+1, e.n-1); ii++ {
				if p := e.px(ii, probe); v[p] <= thr && !zone[p] {
					stroke = true
				}
			}
			for j := 0; j <= e.end; j++ {
				p := e.px(i, j)
				if stroke && j > e.last-lineDepth(e.last) {
					held[p] = keep[p]
					continue // keep the line under the stroke
				}
				keep[p] = false
				held[p] = false
			}
		}
	}
}

// lineDepth is how many rows back from the innermost line row the line
// itself may reach; beyond that lies paper outside the cell, which is
// always cleared.
func lineDepth(last int) int { return min(last+1, 4) }

// innermost returns the largest i < band for which line(i) holds, or -1.
func innermost(band int, line func(int) bool) int {
	for i := band - 1; i >= 0; i-- {
		if line(i) {
			return i
		}
	}
	return -1
}

// ownExtent is the extent of a component without the border pixels kept
// under it: a dot touching the border is still a dot.
func ownExtent(c *comp, held []bool, w int) int {
	x0, y0, x1, y1 := math.MaxInt, math.MaxInt, -1, -1
	for _, i := range c.pix {
		if held[i] {
			continue
		}
		x, y := i%w, i/w
		x0, y0 = min(x0, x), min(y0, y)
		x1, y1 = max(x1, x), max(y1, y)
	}
	if x1 < 0 {
		return 0
	}
	return max(x1-x0+1, y1-y0+1)
}

// comp is a connected component of the ink mask.
type comp struct {
	pix            []int
	area           int
	x0, y0, x1, y1 int
	strong         bool // holds at least one pixel of surely-pen darkness
}

func (c *comp) extent() int { return max(c.x1-c.x0+1, c.y1-c.y0+1) }

// components labels the 8-connected components of mask; only components
// with a seed pixel are returned (hysteresis thresholding).
func components(mask, seed []bool, w, h int) []*comp {
	seen := make([]bool, len(mask))
	var out []*comp
	stack := make([]int, 0, 64)
	for start, m := range mask {
		if !m || seen[start] {
			continue
		}
		c := &comp{x0: w, y0: h, x1: -1, y1: -1}
		seen[start] = true
		stack = append(stack[:0], start)
		for len(stack) > 0 {
			i := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			c.pix = append(c.pix, i)
			if seed[i] {
				c.strong = true
			}
			x, y := i%w, i/w
			c.x0, c.y0 = min(c.x0, x), min(c.y0, y)
			c.x1, c.y1 = max(c.x1, x), max(c.y1, y)
			for dy := -1; dy <= 1; dy++ {
				yy := y + dy
				if yy < 0 || yy >= h {
					continue
				}
				for dx := -1; dx <= 1; dx++ {
					xx := x + dx
					if xx < 0 || xx >= w {
						continue
					}
					j := yy*w + xx
					if mask[j] && !seen[j] {
						seen[j] = true
						stack = append(stack, j)
					}
				}
			}
		}
		c.area = len(c.pix)
		if c.strong {
			out = append(out, c)
		}
	}
	return out
}

// selectInk keeps the components that belong to the written mark: it drops
// specks, and small marks far from the main stroke (stray dots, a
// neighbour's ink poking over the border) that would otherwise stretch the
// bounding box and shrink the digit.
func selectInk(comps []*comp, w, h int) []*comp {
	speck := max(2, int(math.Round(0.0006*float64(h*h))))
	var big *comp
	kept := comps[:0]
	for _, c := range comps {
		if c.area < speck || sliver(c, w, h) {
			continue
		}
		kept = append(kept, c)
		if big == nil || c.area > big.area {
			big = c
		}
	}
	if big == nil {
		return nil
	}
	dot := dotExtent * float64(h)
	near := 0.12 * float64(h)
	out := make([]*comp, 0, len(kept))
	for _, c := range kept {
		if c == big {
			out = append(out, c)
			continue
		}
		small := float64(c.extent()) < dot && c.area*6 < big.area
		if small && gap(c, big) > near {
			continue
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].pix[0] < out[j].pix[0] })
	return out
}

// sliver tells a thin, short mark lying along an edge: what is left of a
// neighbour's stroke poking over the border, or of a border piece the line
// test missed. A written "1" along an edge is longer than that.
// A mark hugging an edge within a couple of pixels, however long, is a
// border the line test missed (too faint, or only partly in the crop).
func sliver(c *comp, w, h int) bool {
	const depth, length, hug = 0.12, 0.35, 0.05
	bw, bh := float64(c.x1-c.x0+1), float64(c.y1-c.y0+1)
	if c.x0 == 0 || c.x1 == w-1 {
		if bw < depth*float64(w) && bh < length*float64(h) || bw <= max(2, hug*float64(w)) {
			return true
		}
	}
	if c.y0 == 0 || c.y1 == h-1 {
		if bh < depth*float64(h) && bw < length*float64(w) || bh <= max(2, hug*float64(h)) {
			return true
		}
	}
	return false
}

// gap is the distance between the bounding boxes of two components.
func gap(a, b *comp) float64 {
	dx := max(0, max(a.x0-b.x1, b.x0-a.x1))
	dy := max(0, max(a.y0-b.y1, b.y0-a.y1))
	return math.Hypot(float64(dx), float64(dy))
}

// frame scales the box (x0, y0)–(x1, y1) of ink, preserving its aspect,
// so that its longer side is Box pixels, and places it in the Side × Side
// input with its centre of mass in the middle.
func frame(ink []float32, w, x0, y0, x1, y1 int) Input {
	bw, bh := x1-x0+1, y1-y0+1
	s := float64(Box) / float64(max(bw, bh)) // output pixels per input pixel
	ow := max(1, int(math.Round(float64(bw)*s)))
	oh := max(1, int(math.Round(float64(bh)*s)))
	small := resample(ink, w, x0, y0, bw, bh, ow, oh)

	var m, mx, my float64
	for y := 0; y < oh; y++ {
		for x := 0; x < ow; x++ {
			a := float64(small[y*ow+x])
			m += a
			mx += a * (float64(x) + 0.5)
			my += a * (float64(y) + 0.5)
		}
	}
	ox, oy := (Side-ow)/2, (Side-oh)/2
	if m > 0 {
		ox = int(math.Round(Side/2 - mx/m))
		oy = int(math.Round(Side/2 - my/m))
	}
	// Keep the whole box inside the frame.
	ox = min(max(ox, 0), Side-ow)
	oy = min(max(oy, 0), Side-oh)
	var in Input
	for y := 0; y < oh; y++ {
		copy(in.Pixels[(oy+y)*Side+ox:(oy+y)*Side+ox+ow], small[y*ow:(y+1)*ow])
	}
	return in
}

// resample maps the bw × bh box at (x0, y0) of src (row length w) to
// ow × oh pixels by averaging the source area under each output pixel,
// which is exact for shrinking and bilinear-like for enlarging.
func resample(src []float32, w, x0, y0, bw, bh, ow, oh int) []float32 {
	out := make([]float32, ow*oh)
	sx := float64(bw) / float64(ow)
	sy := float64(bh) / float64(oh)
	for oy := 0; oy < oh; oy++ {
		fy0, fy1 := float64(oy)*sy, float64(oy+1)*sy
		for ox := 0; ox < ow; ox++ {
			fx0, fx1 := float64(ox)*sx, float64(ox+1)*sx
			var sum float64
			for y := int(fy0); y < bh && float64(y) < fy1; y++ {
				wy := math.Min(fy1, float64(y+1)) - math.Max(fy0, float64(y))
				if wy <= 0 {
					continue
				}
				row := (y0+y)*w + x0
				for x := int(fx0); x < bw && float64(x) < fx1; x++ {
					wx := math.Min(fx1, float64(x+1)) - math.Max(fx0, float64(x))
					if wx > 0 {
						sum += wx * wy * float64(src[row+x])
					}
				}
			}
			out[oy*ow+ox] = float32(sum / (sx * sy))
		}
	}
	return out
}

// percentile returns the q-quantile of grey levels using a histogram.
func percentile(v []float32, q float64) float32 {
	var hist [256]int
	for _, p := range v {
		hist[clampByte(p)]++
	}
	target := int(q * float64(len(v)))
	n := 0
	for i, c := range hist {
		n += c
		if n > target {
			return float32(i)
		}
	}
	return 255
}

// meanDarkest averages the n darkest grey levels.
func meanDarkest(v []float32, n int) float32 {
	var hist [256]int
	for _, p := range v {
		hist[clampByte(p)]++
	}
	var sum float64
	left := n
	for i := 0; i < 256 && left > 0; i++ {
		c := min(hist[i], left)
		sum += float64(c * i)
		left -= c
	}
	return float32(sum / float64(n-left))
}

// noiseSigma estimates the paper noise from the median absolute difference
// of horizontal neighbours: edges of strokes are too few to move a median,
// and for Gaussian noise of deviation σ that median is 0.954 σ.
func noiseSigma(v []float32, w, h int) float64 {
	var hist [256]int
	n := 0
	for y := 0; y < h; y++ {
		for x := 0; x+1 < w; x++ {
			d := v[y*w+x+1] - v[y*w+x]
			if d < 0 {
				d = -d
			}
			hist[clampByte(d)]++
			n++
		}
	}
	target := n / 2
	c := 0
	for i, k := range hist {
		c += k
		if c > target {
			return (float64(i) + 0.5) / 0.954
		}
	}
	return 0
}

func clampByte(p float32) int {
	if p <= 0 {
		return 0
	}
	if p >= 255 {
		return 255
	}
	return int(p)
}
