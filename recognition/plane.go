package recognition

import (
	"fmt"
	"image"
	"math"

	"gocv.io/x/gocv"

	"giascan/forms"
)

// plane is a read-only view of 8-bit grey pixels, either Go memory or the
// data of a continuous gocv.Mat; the Mat must outlive the view.
type plane struct {
	pix    []uint8
	w, h   int
	stride int
}

// planeOfMat views a continuous CV_8UC1 Mat without copying.
func planeOfMat(m *gocv.Mat) (plane, error) {
	if m.Type() != gocv.MatTypeCV8UC1 {
		return plane{}, fmt.Errorf("page pixels of type %v, want 8-bit grey", m.Type())
	}
	if !m.IsContinuous() {
		return plane{}, fmt.Errorf("page Mat is not continuous")
	}
	data, err := m.DataPtrUint8()
	if err != nil {
		return plane{}, fmt.Errorf("page pixels: %w", err)
	}
	return plane{pix: data, w: m.Cols(), h: m.Rows(), stride: m.Cols()}, nil
}

func planeOfGray(g *image.Gray) plane {
	b := g.Bounds()
	return plane{pix: g.Pix[g.PixOffset(b.Min.X, b.Min.Y):], w: b.Dx(), h: b.Dy(), stride: g.Stride}
}

// at returns the pixel at (x, y), white outside the image: a torn-off or
// shifted page edge reads as paper, not as ink.
func (p *plane) at(x, y int) uint8 {
	if x < 0 || y < 0 || x >= p.w || y >= p.h {
		return 255
	}
	return p.pix[y*p.stride+x]
}

// bilinear samples at a pixel-centre coordinate (pixel (0,0) spans 0..1).
func (p *plane) bilinear(u, v float64) float64 {
	u -= 0.5
	v -= 0.5
	x0 := int(math.Floor(u))
	y0 := int(math.Floor(v))
	fx, fy := u-float64(x0), v-float64(y0)
	if x0 >= 0 && y0 >= 0 && x0+1 < p.w && y0+1 < p.h {
		i := y0*p.stride + x0
		a, b := float64(p.pix[i]), float64(p.pix[i+1])
		c, d := float64(p.pix[i+p.stride]), float64(p.pix[i+p.stride+1])
		return (a*(1-fx)+b*fx)*(1-fy) + (c*(1-fx)+d*fx)*fy
	}
	a, b := float64(p.at(x0, y0)), float64(p.at(x0+1, y0))
	c, d := float64(p.at(x0, y0+1)), float64(p.at(x0+1, y0+1))
	return (a*(1-fx)+b*fx)*(1-fy) + (c*(1-fx)+d*fx)*fy
}

// warp renders template rectangle r (mm) at k pixels per millimetre,
// upright, from this plane through h (template mm → plane px). Bilinear
// sampling; only the crop's pixels are computed, never the whole page.
func (p *plane) warp(h *homography, r forms.Rect, k float64) *image.Gray {
	w := int(math.Round(r.W * k))
	ht := int(math.Round(r.H * k))
	if w < 1 {
		w = 1
	}
	if ht < 1 {
		ht = 1
	}
	out := image.NewGray(image.Rect(0, 0, w, ht))
	for j := 0; j < ht; j++ {
		y := r.Y + (float64(j)+0.5)/k
		row := out.Pix[j*out.Stride : j*out.Stride+w]
		for i0 := 0; i0 < w; i0 += histSpan {
			i1 := min(i0+histSpan, w)
			// The map is evaluated exactly at the ends of each span and
			// interpolated between, as in histogramNearest.
			a := h.apply(pt{r.X + (float64(i0)+0.5)/k, y})
			b := h.apply(pt{r.X + (float64(i1)+0.5)/k, y})
			a.X, a.Y, b.X, b.Y = a.X-0.5, a.Y-0.5, b.X-0.5, b.Y-0.5
			n := float64(i1 - i0)
			if p.inside(a) && p.inside(b) {
				// A straight segment with both ends inside the page
				// stays inside: fixed point, no test per pixel.
				p.warpSpan(row[i0:i1], a, pt{(b.X - a.X) / n, (b.Y - a.Y) / n})
				continue
			}
			du, dv := (b.X-a.X)/n, (b.Y-a.Y)/n
			for i := i0; i < i1; i++ {
				u, v := a.X+du*float64(i-i0), a.Y+dv*float64(i-i0)
				row[i] = uint8(p.bilinear(u+0.5, v+0.5) + 0.5)
			}
		}
	}
	return out
}

// inside says whether bilinear sampling at q (pixel centres at integers)
// reads only pixels of the plane. warpSpan's fixed point never slips
// past a low edge: its start is floored and its step rounded towards
// zero, so a sample can only fall below 0 when the step is a 65536th of
// a pixel or more, and then the span's far end lies below 0 too.
func (p *plane) inside(q pt) bool {
	return q.X >= 0 && q.Y >= 0 && q.X < float64(p.w-1) && q.Y < float64(p.h-1)
}

// warpSpan fills dst by bilinear sampling from a, stepping by d per
// pixel, in 16.16 fixed point: within a grey level of the exact
// interpolation at a fraction of its cost. Every sample must
// lie inside the plane (see inside).
func (p *plane) warpSpan(dst []uint8, a, d pt) {
	u, v := int64(a.X*65536), int64(a.Y*65536)
	du, dv := int64(d.X*65536), int64(d.Y*65536)
	st := p.stride
	for i := range dst {
		x0, y0 := int(u>>16), int(v>>16)
		fx, fy := u&0xFFFF, v&0xFFFF
		o := y0*st + x0
		q := p.pix[o : o+st+2]
		top := int64(q[0])*(1<<16-fx) + int64(q[1])*fx
		bot := int64(q[st])*(1<<16-fx) + int64(q[st+1])*fx
		dst[i] = uint8((top*(1<<16-fy) + bot*fy + 1<<31) >> 32)
		u += du
		v += dv
	}
}

// histogramNearest is the histogram of rectangle r rendered at k px/mm
// by nearest-neighbour sampling, for coverage measures on a plane already
// downscaled to about k; the crop itself is never made. Answer zones
// cover most of a page, so this loop is hot: the map is evaluated exactly
// every histSpan samples along a row and interpolated linearly between,
// which for a scanner's nearly affine map is off by far less than a pixel
// and saves the division per sample.
func (p *plane) histogramNearest(h *homography, r forms.Rect, k float64) [256]int {
	var hist [256]int
	w := max(1, int(math.Round(r.W*k)))
	ht := max(1, int(math.Round(r.H*k)))
	for j := 0; j < ht; j++ {
		y := r.Y + (float64(j)+0.5)/k
		for i0 := 0; i0 < w; i0 += histSpan {
			i1 := min(i0+histSpan, w)
			a := h.apply(pt{r.X + (float64(i0)+0.5)/k, y})
			b := h.apply(pt{r.X + (float64(i1)+0.5)/k, y})
			du, dv := (b.X-a.X)/float64(i1-i0), (b.Y-a.Y)/float64(i1-i0)
			u, v := a.X, a.Y
			for i := i0; i < i1; i++ {
				qx, qy := int(u), int(v)
				if u >= 0 && v >= 0 && qx < p.w && qy < p.h {
					hist[p.pix[qy*p.stride+qx]]++
				} else {
					hist[255]++
				}
				u += du
				v += dv
			}
		}
	}
	return hist
}

// histSpan is how many samples histogramNearest interpolates the map over.
const histSpan = 32

// histogram of a whole plane. Four interleaved tables keep successive
// pixels of the same grey from waiting on each other's count.
func (p *plane) histogram() [256]int { return p.histogramEvery(1) }

// histogramEvery is the histogram of every step-th pixel of every
// step-th row of the plane.
func (p *plane) histogramEvery(step int) [256]int {
	var h0, h1, h2, h3 [256]int
	for y := 0; y < p.h; y += step {
		row := p.pix[y*p.stride : y*p.stride+p.w]
		i := 0
		for ; i+3*step < len(row); i += 4 * step {
			h0[row[i]]++
			h1[row[i+step]]++
			h2[row[i+2*step]]++
			h3[row[i+3*step]]++
		}
		for ; i < len(row); i += step {
			h0[row[i]]++
		}
	}
	for v := range h0 {
		h0[v] += h1[v] + h2[v] + h3[v]
	}
	return h0
}

// percentile returns the grey level below which fraction q of the counted
// pixels lie.
func percentile(hist *[256]int, q float64) float64 {
	total := 0
	for _, c := range hist {
		total += c
	}
	if total == 0 {
		return 0
	}
	target := int(q * float64(total))
	acc := 0
	for v, c := range hist {
		acc += c
		if acc > target {
			return float64(v)
		}
	}
	return 255
}

func grayHistogram(g *image.Gray) [256]int {
	var hist [256]int
	b := g.Bounds()
	for y := 0; y < b.Dy(); y++ {
		for _, v := range g.Pix[y*g.Stride : y*g.Stride+b.Dx()] {
			hist[v]++
		}
	}
	return hist
}
