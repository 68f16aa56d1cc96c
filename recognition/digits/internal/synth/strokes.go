package synth

import (
	"math"
	"math/rand/v2"
)

// Fonts alone give each digit only a handful of shapes, and a writer who
// closes the 4, flags the 1 or crosses the 7 may match none of them. The
// stroke models below add the common handwritten variants as pen paths in
// a unit box (x right, y down, the digit filling 0..1 both ways), drawn
// with random jitter of every point.

type path [][2]float64

// arc samples an elliptical arc; angles in degrees, 0° right, 90° down.
func arc(cx, cy, rx, ry, a0, a1 float64) path {
	n := int(math.Max(6, math.Abs(a1-a0)/12))
	p := make(path, 0, n+1)
	for i := 0; i <= n; i++ {
		a := (a0 + (a1-a0)*float64(i)/float64(n)) * math.Pi / 180
		p = append(p, [2]float64{cx + rx*math.Cos(a), cy + ry*math.Sin(a)})
	}
	return p
}

func line(pts ...[2]float64) path { return pts }

func join(ps ...path) path {
	var out path
	for _, p := range ps {
		out = append(out, p...)
	}
	return out
}

// digitModels lists, per digit, variants made of one or more pen strokes.
var digitModels = [10][][]path{
	0: {
		{arc(0.5, 0.5, 0.45, 0.5, -90, 270)},
		{arc(0.5, 0.5, 0.45, 0.5, -110, 285)},
	},
	1: {
		{line([2]float64{0.5, 0}, [2]float64{0.5, 1})},
		{line([2]float64{0.1, 0.3}, [2]float64{0.55, 0}, [2]float64{0.55, 1})},
		{line([2]float64{0.15, 0.3}, [2]float64{0.55, 0}, [2]float64{0.55, 1}), line([2]float64{0.2, 1}, [2]float64{0.9, 1})},
	},
	2: {
		{join(arc(0.5, 0.28, 0.42, 0.28, 190, 380), line([2]float64{0.05, 1}, [2]float64{0.95, 1}))},
		{join(arc(0.5, 0.28, 0.42, 0.28, 190, 380), line([2]float64{0.1, 0.9}), arc(0.2, 0.9, 0.1, 0.1, 180, 450), line([2]float64{0.95, 1}))},
		{line([2]float64{0.1, 0.05}, [2]float64{0.9, 0.05}, [2]float64{0.1, 1}, [2]float64{0.9, 1})},
	},
	3: {
		{join(arc(0.5, 0.25, 0.4, 0.25, 200, 450), arc(0.5, 0.73, 0.45, 0.27, 270, 520))},
		{join(line([2]float64{0.1, 0}, [2]float64{0.9, 0}, [2]float64{0.45, 0.4}), arc(0.5, 0.68, 0.45, 0.3, 250, 520))},
	},
	4: {
		{line([2]float64{0.7, 1}, [2]float64{0.7, 0}, [2]float64{0.05, 0.65}, [2]float64{0.95, 0.65})},
		{line([2]float64{0.15, 0}, [2]float64{0.1, 0.6}, [2]float64{0.9, 0.6}), line([2]float64{0.7, 0.1}, [2]float64{0.7, 1})},
	},
	5: {
		{join(line([2]float64{0.85, 0}, [2]float64{0.2, 0}, [2]float64{0.15, 0.45}), arc(0.47, 0.7, 0.42, 0.3, 235, 520))},
		{join(line([2]float64{0.2, 0}, [2]float64{0.15, 0.45}), arc(0.47, 0.7, 0.42, 0.3, 235, 520)), line([2]float64{0.2, 0}, [2]float64{0.85, 0.02})},
	},
	6: {
		{join(line([2]float64{0.8, 0.02}, [2]float64{0.45, 0.15}, [2]float64{0.15, 0.5}), arc(0.5, 0.72, 0.4, 0.28, 180, 540))},
	},
	7: {
		{line([2]float64{0.05, 0}, [2]float64{0.95, 0}, [2]float64{0.35, 1})},
		{line([2]float64{0.05, 0}, [2]float64{0.95, 0}, [2]float64{0.35, 1}), line([2]float64{0.3, 0.5}, [2]float64{0.85, 0.5})},
		{line([2]float64{0.05, 0.15}, [2]float64{0.1, 0}, [2]float64{0.95, 0}, [2]float64{0.4, 1})},
	},
	8: {
		{arc(0.5, 0.25, 0.35, 0.25, 0, 360), arc(0.5, 0.75, 0.42, 0.25, 0, 360)},
		{join(arc(0.5, 0.25, 0.35, 0.25, 90, 450), arc(0.5, 0.75, 0.42, 0.25, 270, -90))},
	},
	9: {
		{arc(0.5, 0.27, 0.4, 0.27, 0, 360), line([2]float64{0.9, 0.27}, [2]float64{0.85, 1})},
		{join(arc(0.5, 0.27, 0.4, 0.27, 0, 360), line([2]float64{0.88, 0.6}, [2]float64{0.7, 0.9}, [2]float64{0.3, 1}))},
	},
}

// strokeDigit draws a random variant of digit d as a pen path with every
// point jittered, so that no two are alike.
func strokeDigit(rng *rand.Rand, d int) *Shape {
	variants := digitModels[d]
	strokes := variants[rng.IntN(len(variants))]
	const w, h = 106, 140
	sx, sy := float64(w-2*pad), float64(h-2*pad)
	jit := uniform(rng, 0.01, 0.045)
	lines := make([][][2]float64, len(strokes))
	for i, p := range strokes {
		// One smooth offset per stroke plus a little per point.
		ox, oy := rng.NormFloat64()*jit, rng.NormFloat64()*jit
		for _, q := range p {
			x := q[0] + ox + rng.NormFloat64()*jit*0.5
			y := q[1] + oy + rng.NormFloat64()*jit*0.5
			lines[i] = append(lines[i], [2]float64{pad + x*sx, pad + y*sy})
		}
		lines[i] = chaikin(lines[i], 2)
	}
	s, err := strokeShape(w, h, 4, lines...)
	if err != nil {
		return nil
	}
	return s
}
