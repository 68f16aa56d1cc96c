package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestDot checks the dot product the network uses against plain Go for
// every length the layers have and around the vector widths: the same
// sum up to float32 rounding.
func TestDot(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	a := make([]float32, 400)
	b := make([]float32, 410)
	for i := range b {
		if i < len(a) {
			a[i] = float32(rng.NormFloat64())
		}
		b[i] = float32(rng.NormFloat64())
	}
	for n := 0; n <= len(a); n++ {
		got, want := dot(a[:n], b), dotGo(a[:n], b)
		var scale float64
		for i := 0; i < n; i++ {
			scale += math.Abs(float64(a[i] * b[i]))
		}
		if math.Abs(float64(got-want)) > 1e-5*(scale+1) {
			t.Fatalf("length %d: %v, plain Go %v", n, got, want)
		}
	}
}
