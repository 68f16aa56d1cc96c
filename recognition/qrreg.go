package recognition

import (
	"image"
	"math"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
	"gocv.io/x/gocv"

	"giascan/forms"
)

// Registration from whatever is visible. A page shifted and turned far
// enough loses anchors off the scanner's bed; the QR code, whose place and
// size the template gives, is then a fiducial of its own: its three
// finder patterns give a first map of the page, which finds the anchors
// that are left, and all of them together give the map that is used.

// qrMinAnchors is how many anchors must back the QR code's finder
// patterns: the patterns lie within 15 mm of each other, and a map from
// them alone would be off by millimetres at the far end of the page.
const qrMinAnchors = 2

// anchorNear is how far (mm) from where the QR code's map puts it an
// anchor is still taken for that anchor.
const anchorNear = 8.0

// qrAgree is how far (mm) the anchors' map may put a finder pattern from
// where it was found.
const qrAgree = 1.0

// qrFinders searches the whole plane for a QR code and returns its text
// and the centres of its finder patterns in plane pixels: bottom-left,
// top-left, top-right (as gozxing reports them).
func qrFinders(p *plane) (string, [3]pt, bool) {
	g := &image.Gray{Pix: p.pix, Stride: p.stride, Rect: image.Rect(0, 0, p.w, p.h)}
	bmp, err := gozxing.NewBinaryBitmap(gozxing.NewHybridBinarizer(newGrayLuminance(g)))
	if err != nil {
		return "", [3]pt{}, false
	}
	hints := map[gozxing.DecodeHintType]interface{}{gozxing.DecodeHintType_TRY_HARDER: true}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, hints)
	if err != nil || len(res.GetResultPoints()) < 3 {
		return "", [3]pt{}, false
	}
	var out [3]pt
	for i := 0; i < 3; i++ {
		rp := res.GetResultPoints()[i]
		// gozxing's points are pixel indices; ours are continuous.
		out[i] = pt{rp.GetX() + 0.5, rp.GetY() + 0.5}
	}
	return res.GetText(), out, true
}

// qrFinderCentres returns the template positions (mm) of the finder
// pattern centres of the QR code that holds text, in qrFinders' order.
func qrFinderCentres(tpl *forms.Template, text string) ([3]pt, bool) {
	q := tpl.QR
	mods, err := forms.QRModules(text, q.ECLevel)
	if err != nil || len(mods) == 0 {
		return [3]pt{}, false
	}
	m := q.Size / float64(len(mods))
	a, b := q.X+3.5*m, q.Y+3.5*m
	c, d := q.X+q.Size-3.5*m, q.Y+q.Size-3.5*m
	return [3]pt{{a, d}, {a, b}, {c, b}}, true
}

// qrSeen is the QR code found by a search of the whole page: its text,
// the map its finder patterns alone give, and the grey level of their
// cores (the page's black).
type qrSeen struct {
	text   string
	coarse homography
	ink    float64
}

// registerByQR registers a page on which too few anchors were found: the
// QR code is searched on the mid copy (fm mid px per full px), its finder
// patterns map the page well enough to find the anchors that are there,
// on the small copy (fs small px per full px), and the finder patterns and
// those anchors together are fitted by least squares. ok is false unless
// at least qrMinAnchors anchors were found, or one whose map puts the
// printed rectangles of the page's type (set) where they are. seen is the
// QR code when one was found, placed or not.
func registerByQR(full, mid *plane, fm float64, small gocv.Mat, fs, k float64, set *forms.Set, tpl *forms.Template) (reg registration, seen *qrSeen, ok bool) {
	text, finders, ok := qrFinders(mid)
	if !ok {
		return registration{}, nil, false
	}
	tplF, ok := qrFinderCentres(tpl, text)
	if !ok {
		return registration{}, nil, false
	}
	var img [3]pt
	for i, f := range finders {
		img[i] = pt{f.X / fm, f.Y / fm}
	}
	coarse, err := fitSimilarity(tplF[:], img[:])
	if err != nil {
		return registration{}, nil, false
	}
	seen = &qrSeen{text: text, coarse: coarse, ink: finderInk(full, &coarse, tplF)}
	blobs, err := anchorBlobsWhole(small, k)
	if err != nil {
		return registration{}, seen, false
	}
	var src, dst []pt
	pxmm := k / fs
	// An anchor cut by the image's edge would pull the map by the part
	// that is missing.
	edge := (anchorSide/2 + 0.5) * k
	var inkSum float64
	for _, c := range anchorCentres(tpl) {
		want := coarse.apply(c)
		var best *blob
		bestD := anchorNear * pxmm
		for i := range blobs {
			b := &blobs[i]
			if b.c.X < edge || b.c.Y < edge || b.c.X > float64(small.Cols())-edge || b.c.Y > float64(small.Rows())-edge {
				continue
			}
			if d := (pt{b.c.X / fs, b.c.Y / fs}).dist(want); d < bestD {
				best, bestD = b, d
			}
		}
		if best == nil {
			continue
		}
		ctr, ink := refineAnchor(full, pt{best.c.X / fs, best.c.Y / fs}, pxmm)
		src = append(src, c)
		dst = append(dst, ctr)
		inkSum += ink
		reg.anchors++
	}
	if reg.anchors == 0 {
		return registration{}, seen, false
	}
	one := reg.anchors < qrMinAnchors
	if one {
		// One anchor and the finder patterns: the anchor, far from them,
		// fixes the turn and the scale; the print check below must
		// confirm that it is the anchor.
		src = append(src, tplF[:]...)
		dst = append(dst, img[:]...)
	}
	// The anchors lie far apart, the finder patterns close together: a
	// map from the anchors alone is the sharper, and with two of them it
	// can only be a similarity (scale, turn, shift), which a scanner's
	// image is.
	h, err := fitSimilarity(src, dst)
	if err != nil {
		return registration{}, seen, false
	}
	// The anchors' map must put the finder patterns where they were found,
	// and the scale must be the page's: otherwise the blobs taken for
	// anchors were something else.
	for i, f := range tplF {
		if h.apply(f).dist(img[i]) > qrAgree*pxmm {
			return registration{}, seen, false
		}
	}
	if s := h.scaleAt(pt{105, 148.5}) / pxmm; math.Abs(s-1) > maxScaleError {
		return registration{}, seen, false
	}
	reg.ink = inkSum / float64(reg.anchors)
	if one {
		id, err := forms.ParseQR(text)
		body, known := set.Get(id.Type)
		if err != nil || !known || !printFits(full, &h, body, reg.ink) {
			return registration{}, seen, false
		}
	}

	reg.h = h
	// The QR code fixes the way up: the rotation is the quarter turn
	// nearest to the map's.
	reg.rotation, reg.skew = quarterTurn(&reg.h)
	reg.pxPerMM = reg.h.scaleAt(pt{105, 148.5})
	// There is no other way up to try.
	reg.alt, reg.altRot = reg.h, reg.rotation
	return reg, seen, true
}

// finderInk is the grey level of the finder patterns' cores (their
// middle 3 × 3 modules are solid) under map h.
func finderInk(full *plane, h *homography, centres [3]pt) float64 {
	var hist [256]int
	for _, c := range centres {
		for dy := -0.6; dy <= 0.6; dy += 0.2 {
			for dx := -0.6; dx <= 0.6; dx += 0.2 {
				p := h.apply(pt{c.X + dx, c.Y + dy})
				hist[full.at(int(p.X), int(p.Y))]++
			}
		}
	}
	return percentile(&hist, 0.5)
}

// anchorBlobsWhole finds anchor candidates on the whole small page, not
// only near its corners: a shifted page carries its anchors elsewhere.
func anchorBlobsWhole(small gocv.Mat, k float64) ([]blob, error) {
	sp, err := planeOfMat(&small)
	if err != nil {
		return nil, err
	}
	hist := sp.histogram()
	paper := percentile(&hist, 0.9)
	dark := percentile(&hist, 0.003)
	c := math.Max(8, 0.25*(paper-dark))
	block := int(math.Round(13*k)) | 1
	return windowBlobs(small, image.Rect(0, 0, sp.w, sp.h), k, block, float32(c), nil)
}

// fitSimilarity fits the map of uniform scale, rotation and shift that
// sends src to dst with the least squared error (two or more distinct
// points).
func fitSimilarity(src, dst []pt) (homography, error) {
	if len(src) < 2 || len(src) != len(dst) {
		return homography{}, errDegenerate
	}
	var cs, cd pt
	for i := range src {
		cs.X += src[i].X
		cs.Y += src[i].Y
		cd.X += dst[i].X
		cd.Y += dst[i].Y
	}
	n := float64(len(src))
	cs, cd = pt{cs.X / n, cs.Y / n}, pt{cd.X / n, cd.Y / n}
	// (a, b) of the map x → [a -b; b a] x + t, by least squares on the
	// centred points.
	var sxx, a, b float64
	for i := range src {
		p, q := src[i].sub(cs), dst[i].sub(cd)
		sxx += p.X*p.X + p.Y*p.Y
		a += p.X*q.X + p.Y*q.Y
		b += p.X*q.Y - p.Y*q.X
	}
	if sxx < 1e-9 {
		return homography{}, errDegenerate
	}
	a, b = a/sxx, b/sxx
	return homography{a, -b, cd.X - a*cs.X + b*cs.Y, b, a, cd.Y - b*cs.X - a*cs.Y, 0, 0, 1}, nil
}
