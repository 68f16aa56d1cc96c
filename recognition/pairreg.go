package recognition

import (
	"math"
	"sort"

	"gocv.io/x/gocv"

	"giascan/forms"
)

// Registration on two anchors without the QR code. A page cut or turned
// so far that two anchors and the QR code are off the image still shows
// two anchors and, as a rule, its barcode. Two points fix a similarity
// (scale, turn, shift), which is what a scanner's image is; what is not
// known is which two anchors they are. Every pair of anchor-like blobs at
// the distance of two anchors is taken for each pair of anchors it can be,
// and a guess counts only when the page's codes read where it puts them:
// a barcode whose check digit holds, or a QR code, at its printed place,
// is not found there by chance.

// pairMaxSkew is the largest turn (degrees) off a quarter turn that a
// guess may imply: the layout allows ±5°.
const pairMaxSkew = 6.0

// pairTries is how many of the guesses, the most header ink first, are
// checked by reading the codes: each costs a code reading.
const pairTries = 4

// pairGuess is one guess: the map and how dark the header places are
// under it.
type pairGuess struct {
	h      homography
	header float64
	ink    float64
}

// registerByPair registers a page on which fewer than three anchors were
// found and the QR code did not place it (see registerByQR for fm, fs
// and k). It returns the registration, with anchors set to 2, and the
// codes read under it; ok is false when no guess reads a code of a page
// type of set whose printed rectangles lie where the guess puts them.
func registerByPair(full, mid *plane, fm float64, small gocv.Mat, fs, k float64, set *forms.Set, tpl *forms.Template) (registration, codes, bool) {
	blobs, err := anchorBlobsWhole(small, k)
	if err != nil || len(blobs) < 2 || len(blobs) > 40 {
		return registration{}, codes{}, false
	}
	sp, err := planeOfMat(&small)
	if err != nil {
		return registration{}, codes{}, false
	}
	pxmm := k / fs
	edge := (anchorSide/2 + 0.5) * k
	type anchor struct {
		c   pt // full-resolution px
		ink float64
	}
	var as []anchor
	for _, b := range blobs {
		if b.c.X < edge || b.c.Y < edge || b.c.X > float64(small.Cols())-edge || b.c.Y > float64(small.Rows())-edge {
			continue // cut by the image's edge
		}
		c, ink := refineAnchor(full, pt{b.c.X / fs, b.c.Y / fs}, pxmm)
		as = append(as, anchor{c, ink})
	}
	centres := anchorCentres(tpl)
	var guesses []pairGuess
	for a := 0; a < len(as); a++ {
		for b := 0; b < len(as); b++ {
			if a == b {
				continue
			}
			d := as[a].c.dist(as[b].c) / pxmm
			// Both orders of a blob pair are tried, so each anchor pair
			// is taken one way only.
			for i := 0; i < 4; i++ {
				for j := i + 1; j < 4; j++ {
					if math.Abs(d/centres[i].dist(centres[j])-1) > maxScaleError {
						continue
					}
					h, err := fitSimilarity([]pt{centres[i], centres[j]}, []pt{as[a].c, as[b].c})
					if err != nil {
						continue
					}
					if _, skew := quarterTurn(&h); math.Abs(skew) > pairMaxSkew {
						continue
					}
					guesses = append(guesses, pairGuess{h: h, header: headerInk(&sp, &h, fs, tpl), ink: (as[a].ink + as[b].ink) / 2})
				}
			}
		}
	}
	sort.SliceStable(guesses, func(i, j int) bool { return guesses[i].header > guesses[j].header })
	for i := 0; i < len(guesses) && i < pairTries; i++ {
		g := guesses[i]
		hMid := g.h
		for n := 0; n < 6; n++ {
			hMid[n] *= fm
		}
		c := readCodes(full, mid, &g.h, &hMid, tpl)
		pageType := ""
		switch {
		case c.qr != nil:
			pageType = c.qr.Type
		case c.barcode != "":
			pageType = c.barcode[:2]
		}
		body, ok := set.Get(pageType)
		if !ok || !printFits(full, &g.h, body, g.ink) {
			continue
		}
		reg := registration{h: g.h, alt: g.h, anchors: 2, ink: g.ink}
		reg.rotation, reg.skew = quarterTurn(&reg.h)
		reg.altRot = reg.rotation
		reg.pxPerMM = reg.h.scaleAt(pt{105, 148.5})
		return reg, c, true
	}
	return registration{}, codes{}, false
}

// quarterTurn returns the clockwise quarter turn nearest to map h's and
// the skew left after it (skewOf).
func quarterTurn(h *homography) (int, float64) {
	a := h.apply(pt{105, 148.5})
	b := h.apply(pt{106, 148.5})
	ang := math.Atan2(b.Y-a.Y, b.X-a.X) * 180 / math.Pi
	rot := ((-int(math.Round(ang/90))*90)%360 + 360) % 360
	return rot, skewOf(h, rot)
}

// Print check of a guessed map: the borders of the page's cells, boxes
// and zones must lie where the map puts them.
const (
	fitReach    = 0.4 // mm either side of a border where its ink is looked for
	fitLight    = 1.2 // mm from a border where the paper is
	fitContrast = 0.3 // of paper − ink: a border at least this dark is there
	fitMinRects = 6   // rectangles on the image needed to judge
	fitShare    = 0.8 // of them that must sit where the map puts them
)

// printFits says whether the printed rectangles of tpl (digit cells, mark
// boxes, zones) that map h puts on the image have their borders there.
// ink is the page's black. A map that is right but for the noise of its
// anchors puts every border within a few tenths of a millimetre; one
// pivoted on a wrong blob misses them by millimetres away from its pivot.
func printFits(full *plane, h *homography, tpl *forms.Template, ink float64) bool {
	var rects []forms.Rect
	for _, f := range tpl.DigitFields {
		for i := 0; i < f.Cells; i++ {
			rects = append(rects, f.Cell(i))
		}
	}
	for _, b := range tpl.Boxes {
		rects = append(rects, b.Rect)
	}
	for _, z := range tpl.Zones {
		rects = append(rects, z.Rect)
	}
	pxmm := h.scaleAt(pt{105, 148.5})
	inside := func(p pt) bool {
		m := pxmm
		return p.X >= m && p.Y >= m && p.X < float64(full.w)-m && p.Y < float64(full.h)-m
	}
	// at is the grey level at template point p.
	at := func(p pt) float64 {
		q := h.apply(p)
		return full.bilinear(q.X, q.Y)
	}
	checked, fit := 0, 0
	for _, r := range rects {
		corners := []pt{{r.X, r.Y}, {r.X1(), r.Y}, {r.X1(), r.Y1()}, {r.X, r.Y1()}}
		on := true
		for _, c := range corners {
			if !inside(h.apply(c)) {
				on = false
				break
			}
		}
		if !on {
			continue
		}
		checked++
		edges := 0
		for e := 0; e < 4; e++ {
			a, b := corners[e], corners[(e+1)%4]
			// Unit normal of the edge, in template millimetres.
			l := a.dist(b)
			n := pt{-(b.Y - a.Y) / l, (b.X - a.X) / l}
			present := 0
			const samples = 5
			for s := 0; s < samples; s++ {
				f := (float64(s) + 0.5) / samples
				p := pt{a.X + f*(b.X-a.X), a.Y + f*(b.Y-a.Y)}
				dark := 255.0
				for o := -fitReach; o <= fitReach+1e-9; o += 0.1 {
					dark = math.Min(dark, at(pt{p.X + o*n.X, p.Y + o*n.Y}))
				}
				light := math.Max(at(pt{p.X + fitLight*n.X, p.Y + fitLight*n.Y}), at(pt{p.X - fitLight*n.X, p.Y - fitLight*n.Y}))
				if light-dark >= fitContrast*math.Max(light-ink, 1) && light-dark >= 12 {
					present++
				}
			}
			if present >= 3 {
				edges++
			}
		}
		if edges >= 3 {
			fit++
		}
	}
	return checked >= fitMinRects && float64(fit) >= fitShare*float64(checked)
}
