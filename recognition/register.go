package recognition

import (
	"errors"
	"fmt"
	"image"
	"math"
	"sort"

	"gocv.io/x/gocv"

	"giascan/forms"
)

// midScale is the scale (px/mm) at which zones are sampled, from the
// 4–8 px/mm copy of the page. A zone's ink is a share of its area, which
// a sample every 0.36 mm estimates as well as a denser one (on 120 pages:
// mean error against the pen's truth 12.6 % at 2.8 px/mm, 12.7 % at 4,
// no empty zone told from a written one differently) at half the cost.
const midScale = 2.8

// Tolerances of the anchor geometry.
const (
	cornerReach   = 40.0  // mm: how far from its nominal place an anchor may lie (shift, skew, scale, scanner bed margins)
	nearReach     = 25.0  // mm: where anchors are searched first
	maxScaleError = 0.20  // the anchors' spread may differ this much from the scale the image size suggests (bed margins)
	maxShapeError = 0.03  // and their distances from the template's by this much once scaled
	ringDarkMax   = 0.05  // fraction of the 3 mm ring around an anchor that may be dark
	anchorSide    = 5.0   // mm
	anchorClear   = 3.0   // mm: nothing dark this close to an anchor
	anchorOffset  = 10.5  // mm: anchor centre from the page edges
	anchorSpanX   = 189.0 // mm between the anchor centres, across
	anchorSpanY   = 276.0 // mm, down
)

var errNoAnchors = errors.New("fewer than three anchors found")

// registration is the map from template millimetres to image pixels of
// one page, and what was learnt while finding it.
type registration struct {
	h        homography // template mm → full-resolution px, upright
	alt      homography // the same anchors taken the other way up (rotation + 180°)
	rotation int        // clockwise turn applied to make the page upright
	altRot   int
	skew     float64 // residual skew, degrees
	anchors  int     // anchors used: 3 or 4
	pxPerMM  float64 // effective scale of the scan
	ink      float64 // grey level inside the anchors: this page's black
}

// blob is an anchor candidate in small-image pixels (continuous coordinates).
type blob struct {
	c    pt
	side float64
}

// register finds the anchors on the small copy (k px/mm nominal; fs =
// small px per full px), refines them on the full page and fits the
// template → image map.
func register(full *plane, small gocv.Mat, fs, k float64, tpl *forms.Template) (registration, error) {
	sp, err := planeOfMat(&small)
	if err != nil {
		return registration{}, err
	}
	landscape := sp.w > sp.h
	// Most pages lie near their place: the corners are searched near the
	// nominal anchors first, which is a fraction of the area, and as far
	// as an anchor may lie only when that did not find all four.
	var corners [4]*blob
	n := 0
	for _, reach := range []float64{nearReach, cornerReach} {
		blobs, err := anchorBlobs(small, &sp, k, reach)
		if err != nil {
			return registration{}, err
		}
		corners, n = pickCorners(blobs, sp.w, sp.h, k, landscape, reach)
		if n == 4 {
			break
		}
	}
	if n < 3 {
		return registration{}, errNoAnchors
	}
	// Refine each anchor on the full-resolution page.
	var img [4]pt
	var have [4]bool
	var inkSum float64
	pxmm := k / fs
	for i, b := range corners {
		if b == nil {
			continue
		}
		c, ink := refineAnchor(full, pt{b.c.X / fs, b.c.Y / fs}, pxmm)
		img[i], have[i] = c, true
		inkSum += ink
	}
	reg := registration{anchors: n, ink: inkSum / float64(n)}

	// Image corners are numbered clockwise from the image's top-left; the
	// template's too (TL, TR, BR, BL). Rotation k·90° sends template corner
	// i to image corner (i-k) mod 4.
	centres := anchorCentres(tpl)
	fit := func(k int) (homography, error) {
		var src, dst []pt
		for i := 0; i < 4; i++ {
			j := (i - k + 4) % 4
			if have[j] {
				src = append(src, centres[i])
				dst = append(dst, img[j])
			}
		}
		if len(src) == 4 {
			return fitHomography([4]pt(src), [4]pt(dst))
		}
		return fitAffine([3]pt(src[:3]), [3]pt(dst[:3]))
	}
	k0 := 0
	if landscape {
		k0 = 1
	}
	h0, err := fit(k0)
	if err != nil {
		return registration{}, fmt.Errorf("anchors: %w", err)
	}
	h1, err := fit(k0 + 2)
	if err != nil {
		return registration{}, fmt.Errorf("anchors: %w", err)
	}
	// 0 or 180: the side with the QR code and the barcode is the top.
	s0 := headerInk(&sp, &h0, fs, tpl)
	s1 := headerInk(&sp, &h1, fs, tpl)
	reg.h, reg.alt, reg.rotation, reg.altRot = h0, h1, 90*k0, 90*(k0+2)
	if s1 > s0 {
		reg.h, reg.alt, reg.rotation, reg.altRot = h1, h0, 90*(k0+2), 90*k0
	}
	reg.skew = skewOf(&reg.h, reg.rotation)
	reg.pxPerMM = reg.h.scaleAt(pt{105, 148.5})
	return reg, nil
}

// anchorCentres returns the anchor centres of a template clockwise from
// the top-left.
func anchorCentres(tpl *forms.Template) [4]pt {
	out := [4]pt{{10.5, 10.5}, {199.5, 10.5}, {199.5, 286.5}, {10.5, 286.5}}
	for _, a := range tpl.Anchors {
		x, y := a.Center()
		switch a.ID {
		case "TL":
			out[0] = pt{x, y}
		case "TR":
			out[1] = pt{x, y}
		case "BR":
			out[2] = pt{x, y}
		case "BL":
			out[3] = pt{x, y}
		}
	}
	return out
}

// skewOf is the residual skew in degrees of a map whose coarse rotation is
// rot: the angle by which the page's horizontal appears turned clockwise
// in the scan once the rotation is taken off, negated, i.e. the clockwise
// turn that straightened it (the convention of rotation).
func skewOf(h *homography, rot int) float64 {
	a := h.apply(pt{105, 148.5})
	b := h.apply(pt{106, 148.5})
	ang := math.Atan2(b.Y-a.Y, b.X-a.X)*180/math.Pi + float64(rot)
	for ang > 180 {
		ang -= 360
	}
	for ang <= -180 {
		ang += 360
	}
	return -ang
}

// anchorBlobs thresholds the small page adaptively (uneven light, faint
// print) and keeps the connected components that look like an anchor:
// size, squareness, solidity and a clear ring around them.
//
// Only the four corner windows where pickCorners looks for anchors are
// thresholded and labelled, a quarter of the page or less: on a whole
// noisy page the labelling alone cost more than the rest of the anchor
// search.
func anchorBlobs(small gocv.Mat, sp *plane, k, reach float64) ([]blob, error) {
	// Levels of the whole page: a quarter of its pixels tell them.
	hist := sp.histogramEvery(2)
	paper := percentile(&hist, 0.9)
	dark := percentile(&hist, 0.003)
	c := math.Max(8, 0.25*(paper-dark))
	block := int(math.Round(13*k)) | 1
	var out []blob
	for _, win := range cornerWindows(sp.w, sp.h, k, block, reach) {
		var err error
		if out, err = windowBlobs(small, win, k, block, float32(c), out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// cornerWindows returns the parts of the small page to search for
// anchors: around each corner's expected anchor, as far as pickCorners
// reaches, grown by the largest anchor, its clear ring and half a
// threshold block, so that everything that can be picked is labelled
// exactly as on the whole page. Windows that would overlap (a page much
// smaller than A4) give way to the whole page.
func cornerWindows(w, h int, k float64, block int, reach float64) []image.Rectangle {
	page := image.Rect(0, 0, w, h)
	grow := int(math.Ceil((reach+0.75*anchorSide+anchorClear)*k)) + 3 + block/2
	exp := [4]image.Point{
		{int(anchorOffset * k), int(anchorOffset * k)},
		{w - int(anchorOffset*k), int(anchorOffset * k)},
		{w - int(anchorOffset*k), h - int(anchorOffset*k)},
		{int(anchorOffset * k), h - int(anchorOffset*k)},
	}
	var wins []image.Rectangle
	for _, e := range exp {
		r := image.Rect(e.X-grow, e.Y-grow, e.X+grow+1, e.Y+grow+1).Intersect(page)
		for _, o := range wins {
			if r.Overlaps(o) {
				return []image.Rectangle{page}
			}
		}
		wins = append(wins, r)
	}
	return wins
}

// windowBlobs labels one window of the small page and appends its anchor
// candidates, in small-page coordinates, to out. Components cut by the
// window's edge inside the page are dropped: they are not what they seem,
// and no anchor within reach can touch that edge.
func windowBlobs(small gocv.Mat, win image.Rectangle, k float64, block int, c float32, out []blob) ([]blob, error) {
	src := small.Region(win)
	defer src.Close()
	bin := gocv.NewMat()
	defer bin.Close()
	gocv.AdaptiveThreshold(src, &bin, 255, gocv.AdaptiveThresholdMean, gocv.ThresholdBinaryInv, block, c)
	labels, stats, cents := gocv.NewMat(), gocv.NewMat(), gocv.NewMat()
	defer labels.Close()
	defer stats.Close()
	defer cents.Close()
	n := gocv.ConnectedComponentsWithStats(bin, &labels, &stats, &cents)
	bp, err := planeOfMat(&bin)
	if err != nil {
		return nil, err
	}
	// Window edges that are not page edges.
	cutL, cutT := win.Min.X > 0, win.Min.Y > 0
	cutR, cutB := win.Max.X < small.Cols(), win.Max.Y < small.Rows()
	side := anchorSide * k
	ring := anchorClear * k
	for i := 1; i < n; i++ {
		w := float64(stats.GetIntAt(i, int(gocv.CC_STAT_WIDTH)))
		h := float64(stats.GetIntAt(i, int(gocv.CC_STAT_HEIGHT)))
		area := float64(stats.GetIntAt(i, int(gocv.CC_STAT_AREA)))
		if w < 0.6*side || h < 0.6*side || w > 1.45*side || h > 1.45*side {
			continue
		}
		if math.Max(w, h)/math.Min(w, h) > 1.35 || area < 0.6*w*h || area < 0.4*side*side {
			continue
		}
		x0 := int(stats.GetIntAt(i, int(gocv.CC_STAT_LEFT)))
		y0 := int(stats.GetIntAt(i, int(gocv.CC_STAT_TOP)))
		box := image.Rect(x0, y0, x0+int(w), y0+int(h))
		if cutL && box.Min.X == 0 || cutT && box.Min.Y == 0 || cutR && box.Max.X == bp.w || cutB && box.Max.Y == bp.h {
			continue
		}
		if ringDark(&bp, box, int(math.Ceil(ring))) > ringDarkMax {
			continue
		}
		ctr := pt{cents.GetDoubleAt(i, 0) + 0.5 + float64(win.Min.X), cents.GetDoubleAt(i, 1) + 0.5 + float64(win.Min.Y)}
		out = append(out, blob{c: ctr, side: math.Sqrt(area)})
	}
	return out, nil
}

// ringDark is the dark fraction of the band between box grown by 2 pixels
// (the blob's own blurred edge) and box grown by r pixels.
func ringDark(bp *plane, box image.Rectangle, r int) float64 {
	inner := box.Inset(-2)
	outer := box.Inset(-r - 2)
	dark, total := 0, 0
	for y := outer.Min.Y; y < outer.Max.Y; y++ {
		for x := outer.Min.X; x < outer.Max.X; x++ {
			if (image.Point{x, y}).In(inner) {
				continue
			}
			total++
			if x >= 0 && y >= 0 && x < bp.w && y < bp.h && bp.pix[y*bp.stride+x] != 0 {
				dark++
			}
		}
	}
	if total == 0 {
		return 1
	}
	return float64(dark) / float64(total)
}

// pickCorners chooses at most one blob per image corner (clockwise from
// the top-left) so that the chosen ones form the anchor rectangle; it
// prefers four anchors to three and a better fit to a worse one.
func pickCorners(blobs []blob, w, h int, k float64, landscape bool, reach float64) ([4]*blob, int) {
	exp := [4]pt{
		{anchorOffset * k, anchorOffset * k},
		{float64(w) - anchorOffset*k, anchorOffset * k},
		{float64(w) - anchorOffset*k, float64(h) - anchorOffset*k},
		{anchorOffset * k, float64(h) - anchorOffset*k},
	}
	var cand [4][]*blob
	for i := range blobs {
		b := &blobs[i]
		for c := 0; c < 4; c++ {
			if math.Abs(b.c.X-exp[c].X) <= reach*k && math.Abs(b.c.Y-exp[c].Y) <= reach*k {
				cand[c] = append(cand[c], b)
			}
		}
	}
	for c := range cand {
		e := exp[c]
		sort.Slice(cand[c], func(i, j int) bool { return cand[c][i].c.dist(e) < cand[c][j].c.dist(e) })
		if len(cand[c]) > 4 {
			cand[c] = cand[c][:4]
		}
	}
	across, down := anchorSpanX, anchorSpanY
	if landscape {
		across, down = down, across
	}
	diag := math.Hypot(across, down)
	expect := func(i, j int) float64 {
		switch {
		case (i+j)%2 == 0:
			return diag
		case (i == 0 && j == 1) || (i == 2 && j == 3) || (i == 1 && j == 0) || (i == 3 && j == 2):
			return across
		}
		return down
	}
	var best [4]*blob
	bestN, bestCost := 0, math.Inf(1)
	var pick [4]*blob
	var rec func(c int)
	rec = func(c int) {
		if c == 4 {
			n := 0
			for _, b := range pick {
				if b != nil {
					n++
				}
			}
			if n < 3 || n < bestN {
				return
			}
			var ratios []float64
			for i := 0; i < 4; i++ {
				for j := i + 1; j < 4; j++ {
					if pick[i] != nil && pick[j] != nil {
						ratios = append(ratios, pick[i].c.dist(pick[j].c)/k/expect(i, j))
					}
				}
			}
			scale := 0.0
			for _, r := range ratios {
				scale += r
			}
			scale /= float64(len(ratios))
			if math.Abs(scale-1) > maxScaleError {
				return
			}
			cost := 0.0
			for _, r := range ratios {
				cost = math.Max(cost, math.Abs(r/scale-1))
			}
			if cost > maxShapeError {
				return
			}
			if n > bestN || cost < bestCost {
				best, bestN, bestCost = pick, n, cost
			}
			return
		}
		pick[c] = nil
		rec(c + 1)
		for _, b := range cand[c] {
			pick[c] = b
			rec(c + 1)
		}
		pick[c] = nil
	}
	rec(0)
	return best, bestN
}

// refineAnchor finds the centre of the anchor near c (full-resolution px)
// as the centroid of its dark pixels under a local Otsu threshold, and the
// anchor's grey level from its core.
func refineAnchor(full *plane, c pt, pxmm float64) (pt, float64) {
	r := int(math.Ceil((anchorSide/2 + 1.8) * pxmm))
	cx, cy := int(c.X), int(c.Y)
	var hist [256]int
	for y := cy - r; y <= cy+r; y++ {
		for x := cx - r; x <= cx+r; x++ {
			hist[full.at(x, y)]++
		}
	}
	thr := otsu(&hist)
	var sx, sy, sw float64
	for y := cy - r; y <= cy+r; y++ {
		for x := cx - r; x <= cx+r; x++ {
			if v := float64(full.at(x, y)); v < thr {
				sx += float64(x) + 0.5
				sy += float64(y) + 0.5
				sw++
			}
		}
	}
	if sw == 0 {
		return c, 0
	}
	ctr := pt{sx / sw, sy / sw}
	// Core: the middle 3 mm of the anchor.
	core := int(1.5 * pxmm)
	var ch [256]int
	for y := int(ctr.Y) - core; y <= int(ctr.Y)+core; y++ {
		for x := int(ctr.X) - core; x <= int(ctr.X)+core; x++ {
			ch[full.at(x, y)]++
		}
	}
	return ctr, percentile(&ch, 0.5)
}

// otsu returns the threshold that best separates a histogram in two.
func otsu(hist *[256]int) float64 {
	total, sum := 0.0, 0.0
	for v, c := range hist {
		total += float64(c)
		sum += float64(v * c)
	}
	var wb, sb, best float64
	thr := 128.0
	for v, c := range hist {
		wb += float64(c)
		if wb == 0 {
			continue
		}
		wf := total - wb
		if wf == 0 {
			break
		}
		sb += float64(v * c)
		mb, mf := sb/wb, (sum-sb)/wf
		if between := wb * wf * (mb - mf) * (mb - mf); between > best {
			best, thr = between, float64(v)+0.5
		}
	}
	return thr
}

// headerInk measures how dark the QR code's and the barcode's places are
// under map h, on the small copy: the true top of the page has them inked.
func headerInk(sp *plane, h *homography, fs float64, tpl *forms.Template) float64 {
	q := tpl.QR.Box()
	bar := forms.Rect{X: tpl.Barcode.X, Y: tpl.Barcode.Y + 1, W: 30, H: tpl.Barcode.H - 2}
	sum, n := 0.0, 0
	for _, r := range []forms.Rect{q, bar} {
		for y := r.Y + 0.5; y < r.Y1(); y += 1 {
			for x := r.X + 0.5; x < r.X1(); x += 1 {
				p := h.apply(pt{x, y})
				sum += 255 - sp.bilinear(p.X*fs, p.Y*fs)
				n++
			}
		}
	}
	return sum / float64(n)
}
