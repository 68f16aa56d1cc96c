package synth

import (
	"math"
	"math/rand/v2"
	"sync"
)

// markGrid is the side of the grid non-font marks are drawn on.
const markGrid = 112

// scribble is a smooth random pen path through n points.
func scribble(rng *rand.Rand, n int) *Shape {
	lo, hi := float64(pad), float64(markGrid-pad)
	pts := make([][2]float64, n)
	for i := range pts {
		pts[i] = [2]float64{uniform(rng, lo, hi), uniform(rng, lo, hi)}
	}
	s, err := strokeShape(markGrid, markGrid, 4, chaikin(pts, 3))
	if err != nil {
		return dash()
	}
	return s
}

// crossOut is what people draw over a digit they reject: a zigzag, a
// cross, or hatching.
func crossOut(rng *rand.Rand) *Shape {
	lo, hi := float64(pad), float64(markGrid-pad)
	var lines [][][2]float64
	switch rng.IntN(3) {
	case 0:
		n := 3 + rng.IntN(4)
		var z [][2]float64
		for i := 0; i <= n; i++ {
			y := lo + (hi-lo)*float64(i)/float64(n)
			x := lo
			if i%2 == 1 {
				x = hi
			}
			z = append(z, [2]float64{x + uniform(rng, -5, 5), y + uniform(rng, -5, 5)})
		}
		lines = append(lines, z)
	case 1:
		lines = append(lines,
			[][2]float64{{lo, lo}, {hi, hi}},
			[][2]float64{{hi, lo}, {lo, hi}})
	default:
		for i := 0; i < 4+rng.IntN(4); i++ {
			y := uniform(rng, lo, hi)
			lines = append(lines, [][2]float64{{lo, y + uniform(rng, -15, 15)}, {hi, y + uniform(rng, -15, 15)}})
		}
	}
	s, err := strokeShape(markGrid, markGrid, 4, lines...)
	if err != nil {
		return dash()
	}
	return s
}

// blob is a filled, slightly irregular ellipse: a cell inked over.
func blob(rng *rand.Rand) *Shape {
	c := markGrid / 2.0
	ax, ay := uniform(rng, 22, 34), uniform(rng, 22, 34)
	ph := uniform(rng, 0, 2*math.Pi)
	mask := make([]bool, markGrid*markGrid)
	for y := 0; y < markGrid; y++ {
		for x := 0; x < markGrid; x++ {
			dx, dy := (float64(x)+0.5-c)/ax, (float64(y)+0.5-c)/ay
			a := math.Atan2(dy, dx)
			if dx*dx+dy*dy <= 1+0.15*math.Sin(3*a+ph) {
				mask[y*markGrid+x] = true
			}
		}
	}
	s, _ := NewShape(mask, markGrid, markGrid)
	return s
}

var (
	dash = sync.OnceValue(func() *Shape {
		s, _ := strokeShape(markGrid, markGrid, 4, [][2]float64{{pad, markGrid / 2}, {markGrid - pad, markGrid / 2}})
		return s
	})
	disc = sync.OnceValue(func() *Shape {
		s, _ := strokeShape(markGrid, markGrid, 20, [][2]float64{{markGrid / 2, markGrid / 2}, {markGrid / 2, markGrid / 2}})
		return s
	})
)

// chaikin smooths a polyline by corner cutting.
func chaikin(pts [][2]float64, iter int) [][2]float64 {
	for ; iter > 0; iter-- {
		out := [][2]float64{pts[0]}
		for i := 0; i+1 < len(pts); i++ {
			a, b := pts[i], pts[i+1]
			out = append(out,
				[2]float64{0.75*a[0] + 0.25*b[0], 0.75*a[1] + 0.25*b[1]},
				[2]float64{0.25*a[0] + 0.75*b[0], 0.25*a[1] + 0.75*b[1]})
		}
		pts = append(out, pts[len(pts)-1])
	}
	return pts
}
