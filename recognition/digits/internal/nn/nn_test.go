package nn

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

var testConfig = Config{C1: 3, C2: 4, Hidden: 5, Features: 2, Classes: 4}

// loss is the cross-entropy of class y.
func loss(n *Net, w *Work, img, feat []float32, y int) float64 {
	out := n.Forward(w, img, feat)
	p := make([]float64, len(out))
	n.Softmax(out, p)
	return -math.Log(p[y])
}

// TestGradient compares the backward pass with finite differences, so that
// a slip in the hand-written derivatives cannot hide behind a training run
// that merely converges worse.
func TestGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	n := New(testConfig, rng)
	for _, p := range n.Params() {
		for i := range p {
			p[i] += float32(rng.NormFloat64() * 0.05) // non-zero biases too
		}
	}
	img := make([]float32, In*In)
	for i := range img {
		img[i] = float32(rng.Float64())
	}
	feat := []float32{0.3, 0.7}
	const y = 2
	w := n.NewWork()
	out := n.Forward(w, img, feat)
	p := make([]float64, len(out))
	n.Softmax(out, p)
	d := make([]float32, len(out))
	for k := range d {
		d[k] = float32(p[k])
	}
	d[y]--
	g := n.NewGrad()
	n.Backward(w, g, img, d)

	gp := g.Params()
	checked := 0
	for li, par := range n.Params() {
		for trial := 0; trial < 6; trial++ {
			i := rng.IntN(len(par))
			old := par[i]
			const h = 1e-3
			par[i] = old + h
			lp := loss(n, w, img, feat, y)
			par[i] = old - h
			lm := loss(n, w, img, feat, y)
			par[i] = old
			num := (lp - lm) / (2 * h)
			an := float64(gp[li][i])
			if math.Abs(num-an) > 2e-3+0.05*math.Abs(num) {
				t.Errorf("param part %d index %d: backward %g, finite difference %g", li, i, an, num)
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("nothing checked")
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	n := New(testConfig, rand.New(rand.NewPCG(3, 4)))
	n.Temperature = 1.7
	b, err := n.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var m Net
	if err := m.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if m.Config != n.Config || m.Temperature != n.Temperature {
		t.Fatalf("header changed: %+v %v", m.Config, m.Temperature)
	}
	for i, p := range n.Params() {
		for j := range p {
			if m.Params()[i][j] != p[j] {
				t.Fatalf("weight %d/%d changed", i, j)
			}
		}
	}
	if err := m.UnmarshalBinary(b[:len(b)-3]); err == nil {
		t.Error("a truncated file was accepted")
	}
	if err := m.UnmarshalBinary(append([]byte("NOTDIGIT"), b[8:]...)); err == nil {
		t.Error("a file with a wrong magic was accepted")
	}
}

func BenchmarkTrainStep(b *testing.B) {
	for _, c := range []Config{{C1: 8, C2: 16, Hidden: 64, Features: 2, Classes: 11}, {C1: 12, C2: 24, Hidden: 96, Features: 2, Classes: 11}} {
		n := New(c, rand.New(rand.NewPCG(1, 1)))
		w := n.NewWork()
		g := n.NewGrad()
		img := make([]float32, In*In)
		for i := range img {
			img[i] = float32(i%7) / 7
		}
		d := make([]float32, c.Classes)
		d[3] = 1
		b.Run("fwd", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				n.Forward(w, img, []float32{0, 0})
			}
		})
		b.Run("fwdbwd", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				n.Forward(w, img, []float32{0, 0})
				n.Backward(w, g, img, d)
			}
		})
	}
}

// TestForwardSparse checks that skipping the blank patches of a mostly
// blank input gives exactly the logits of the full product: the first
// convolution computed here the long way.
func TestForwardSparse(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	n := New(Config{C1: 10, C2: 20, Hidden: 16, Features: 2, Classes: 11}, rng)
	for i := range n.B1 {
		n.B1[i] = float32(rng.NormFloat64() * 0.1)
	}
	img := make([]float32, In*In)
	for y := 8; y < 20; y++ {
		img[y*In+12] = float32(rng.Float64())
		img[y*In+13] = 1
	}
	feat := []float32{0.4, 0.2}
	w := n.NewWork()
	got := append([]float32(nil), n.Forward(w, img, feat)...)
	// Blank patches exist, and each kernel gives its bias there.
	blank := 0
	for _, b := range w.blank1 {
		if b {
			blank++
		}
	}
	if blank == 0 || blank == len(w.blank1) {
		t.Fatalf("%d of %d patches blank", blank, len(w.blank1))
	}
	col := make([]float32, C1Side*C1Side*K*K)
	im2col(img, col, 1, In)
	for o := 0; o < n.C1; o++ {
		for p := 0; p < C1Side*C1Side; p++ {
			want := n.B1[o] + dot(n.W1[o*K*K:(o+1)*K*K], col[p*K*K:(p+1)*K*K])
			if want < 0 {
				want = 0
			}
			if have := w.c1[o*C1Side*C1Side+p]; have != want {
				t.Fatalf("conv1 channel %d patch %d: %v, want %v", o, p, have, want)
			}
		}
	}
	if again := n.Forward(w, img, feat); !slices.Equal(again, got) {
		t.Fatalf("logits changed between runs: %v, %v", got, again)
	}
}
