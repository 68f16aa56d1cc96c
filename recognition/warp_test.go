package recognition

import (
	"math"
	"math/rand/v2"
	"testing"

	"giascan/forms"
)

// TestWarpMatchesBilinear renders crops through random maps that place
// them inside the page, across its edges, exactly on its edges and off
// it, and compares every pixel with exact bilinear sampling: the fixed
// point spans stay within one grey level of it and never read outside
// the plane.
func TestWarpMatchesBilinear(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const w, h = 61, 47
	p := plane{w: w, h: h, stride: w + 3, pix: make([]uint8, (w+3)*h)}
	for i := range p.pix {
		p.pix[i] = uint8(r.IntN(256))
	}
	worst, n := 0.0, 0
	for trial := 0; trial < 4000; trial++ {
		k := 0.5 + 3*r.Float64() // crop px/mm
		ang := (r.Float64() - 0.5) * 0.3
		s := 1 + 3*r.Float64() // plane px per mm
		var tx, ty float64
		switch trial % 4 {
		case 0: // anywhere, partly off the page
			tx, ty = r.Float64()*w-10, r.Float64()*h-10
		case 1, 2: // the crop's first sample exactly on a low edge
			tx, ty = 0, 0
		default: // far off
			tx, ty = -200, 300
		}
		c, sn := math.Cos(ang)*s, math.Sin(ang)*s
		// Perspective terms as large as a fit to four anchors of a skewed
		// scan gives (a few px of distortion across a page).
		hm := homography{c, -sn, tx, sn, c, ty, 4e-6 * (r.Float64() - 0.5), 4e-6 * (r.Float64() - 0.5), 1}
		rect := forms.Rect{X: r.Float64() * 3, Y: r.Float64() * 3, W: 2 + r.Float64()*40, H: 1 + r.Float64()*10}
		if trial%4 == 1 {
			// Shift the map so that the first sample falls on pixel
			// centre 0: the edge the fixed point could slip past.
			q := hm.apply(pt{rect.X + 0.5/k, rect.Y + 0.5/k})
			hm[2] -= (q.X - 0.5) * hm[8]
			hm[5] -= (q.Y - 0.5) * hm[8]
		}
		g := p.warp(&hm, rect, k)
		for j := 0; j < g.Rect.Dy(); j++ {
			for i := 0; i < g.Rect.Dx(); i++ {
				q := hm.apply(pt{rect.X + (float64(i)+0.5)/k, rect.Y + (float64(j)+0.5)/k})
				want := p.bilinear(q.X, q.Y)
				d := math.Abs(float64(g.Pix[j*g.Stride+i]) - want)
				worst = math.Max(worst, d)
				n++
			}
		}
	}
	if worst > 1.5 {
		t.Errorf("warp is %.2f grey levels off exact bilinear sampling (%d pixels compared)", worst, n)
	}
}
