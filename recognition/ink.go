package recognition

import (
	"image"
	"math"
)

// inkStats describes the ink inside a rectangle of a crop.
type inkStats struct {
	coverage float64 // fraction of the pixels that are ink
	spread   float64 // extent of the ink's bounding box, as a fraction of the rectangle's longer side
}

// inkThreshold is the grey level below which a pixel of a crop counts as
// ink: a fraction depth of the way from this crop's paper (its bright
// percentile, so uneven light is taken out locally) down to the page's
// black (measured inside the anchors).
func inkThreshold(g *image.Gray, black, depth float64) (thr, paper float64) {
	hist := grayHistogram(g)
	return histThreshold(&hist, black, depth)
}

// histThreshold is inkThreshold from a crop's histogram.
func histThreshold(hist *[256]int, black, depth float64) (thr, paper float64) {
	paper = percentile(hist, 0.9)
	if black >= paper-20 || black <= 0 {
		// The anchors told nothing usable; assume a plain black.
		black = math.Min(paper-20, 40)
	}
	return paper - depth*(paper-black), paper
}

// measureInk counts the pixels below thr inside r.
func measureInk(g *image.Gray, r image.Rectangle, thr float64) inkStats {
	r = r.Intersect(g.Bounds())
	if r.Empty() {
		return inkStats{}
	}
	n := 0
	x0, y0, x1, y1 := r.Max.X, r.Max.Y, r.Min.X-1, r.Min.Y-1
	t := uint8(math.Max(0, math.Min(255, thr)))
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := g.Pix[g.PixOffset(r.Min.X, y):g.PixOffset(r.Max.X, y)]
		for i, v := range row {
			if v < t {
				n++
				x := r.Min.X + i
				x0, x1 = min(x0, x), max(x1, x)
				y0, y1 = min(y0, y), max(y1, y)
			}
		}
	}
	s := inkStats{coverage: float64(n) / float64(r.Dx()*r.Dy())}
	if n > 0 {
		s.spread = float64(max(x1-x0+1, y1-y0+1)) / float64(max(r.Dx(), r.Dy()))
	}
	return s
}

// mmRect converts a rectangle in millimetres relative to a crop's origin
// (crop at k px/mm) into crop pixels.
func mmRect(x, y, w, h, k float64) image.Rectangle {
	return image.Rect(int(math.Round(x*k)), int(math.Round(y*k)), int(math.Round((x+w)*k)), int(math.Round((y+h)*k)))
}
