package recognition

import (
	"errors"
	"math"
)

// pt is a point: template millimetres or image pixels, depending on use.
type pt struct{ X, Y float64 }

func (p pt) sub(q pt) pt       { return pt{p.X - q.X, p.Y - q.Y} }
func (p pt) dist(q pt) float64 { return math.Hypot(p.X-q.X, p.Y-q.Y) }

// homography maps template millimetres to image pixels:
// (x, y) → ((h0 x + h1 y + h2) / w, (h3 x + h4 y + h5) / w), w = h6 x + h7 y + h8.
// An affine map has h6 = h7 = 0, h8 = 1.
type homography [9]float64

// apply maps a point.
func (h *homography) apply(p pt) pt {
	w := h[6]*p.X + h[7]*p.Y + h[8]
	return pt{(h[0]*p.X + h[1]*p.Y + h[2]) / w, (h[3]*p.X + h[4]*p.Y + h[5]) / w}
}

// scaleAt is the local scale (pixels per millimetre) of the map near p,
// the mean length of the images of the unit vectors.
func (h *homography) scaleAt(p pt) float64 {
	a := h.apply(p)
	return (a.dist(h.apply(pt{p.X + 1, p.Y})) + a.dist(h.apply(pt{p.X, p.Y + 1}))) / 2
}

var errDegenerate = errors.New("degenerate point configuration")

// fitHomography solves the exact homography of four correspondences.
func fitHomography(src, dst [4]pt) (homography, error) {
	var a [8][9]float64
	for i := 0; i < 4; i++ {
		x, y, u, v := src[i].X, src[i].Y, dst[i].X, dst[i].Y
		a[2*i] = [9]float64{x, y, 1, 0, 0, 0, -u * x, -u * y, u}
		a[2*i+1] = [9]float64{0, 0, 0, x, y, 1, -v * x, -v * y, v}
	}
	sol, err := solve8(a)
	if err != nil {
		return homography{}, err
	}
	return homography{sol[0], sol[1], sol[2], sol[3], sol[4], sol[5], sol[6], sol[7], 1}, nil
}

// fitAffine solves the exact affine map of three correspondences.
func fitAffine(src, dst [3]pt) (homography, error) {
	// Solve [x y 1] · [a b c] = u and the same for v.
	m := [3][3]float64{}
	for i := 0; i < 3; i++ {
		m[i] = [3]float64{src[i].X, src[i].Y, 1}
	}
	ab, err := solve3(m, [3]float64{dst[0].X, dst[1].X, dst[2].X})
	if err != nil {
		return homography{}, err
	}
	cd, err := solve3(m, [3]float64{dst[0].Y, dst[1].Y, dst[2].Y})
	if err != nil {
		return homography{}, err
	}
	return homography{ab[0], ab[1], ab[2], cd[0], cd[1], cd[2], 0, 0, 1}, nil
}

// solve3 solves a 3×3 system by Cramer's rule.
func solve3(m [3][3]float64, r [3]float64) ([3]float64, error) {
	det3 := func(m [3][3]float64) float64 {
		return m[0][0]*(m[1][1]*m[2][2]-m[1][2]*m[2][1]) - m[0][1]*(m[1][0]*m[2][2]-m[1][2]*m[2][0]) + m[0][2]*(m[1][0]*m[2][1]-m[1][1]*m[2][0])
	}
	det := det3(m)
	if math.Abs(det) < 1e-9 {
		return [3]float64{}, errDegenerate
	}
	var out [3]float64
	for c := 0; c < 3; c++ {
		mm := m
		for i := 0; i < 3; i++ {
			mm[i][c] = r[i]
		}
		out[c] = det3(mm) / det
	}
	return out, nil
}

// solve8 solves an 8×8 linear system given as an augmented matrix, by
// Gaussian elimination with partial pivoting.
func solve8(a [8][9]float64) ([8]float64, error) {
	const n = 8
	for c := 0; c < n; c++ {
		p := c
		for r := c + 1; r < n; r++ {
			if math.Abs(a[r][c]) > math.Abs(a[p][c]) {
				p = r
			}
		}
		if math.Abs(a[p][c]) < 1e-12 {
			return [8]float64{}, errDegenerate
		}
		a[c], a[p] = a[p], a[c]
		for r := c + 1; r < n; r++ {
			f := a[r][c] / a[c][c]
			for k := c; k <= n; k++ {
				a[r][k] -= f * a[c][k]
			}
		}
	}
	var x [8]float64
	for r := n - 1; r >= 0; r-- {
		s := a[r][n]
		for k := r + 1; k < n; k++ {
			s -= a[r][k] * x[k]
		}
		x[r] = s / a[r][r]
	}
	return x, nil
}
