// Package nn is the small convolutional network that reads a digit: two
// 5 × 5 convolution layers with max pooling, a hidden dense layer and a
// softmax over ten digits and one "not a digit" class. It is written out
// in plain Go because it is tiny (tens of thousands of weights) and the
// recogniser must run without cgo; the backward pass lives here too so
// that training and recognition share one definition of the network.
package nn

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
)

// Geometry of the network.
const (
	In     = 28 // input side
	K      = 5  // convolution kernel side
	C1Side = In - K + 1
	P1Side = C1Side / 2
	C2Side = P1Side - K + 1
	P2Side = C2Side / 2
)

// Config sizes the layers.
type Config struct {
	C1, C2   int // channels of the two convolutions
	Hidden   int // units of the dense layer
	Features int // scalar inputs joined to the flattened convolution output
	Classes  int
}

// Net holds the weights and the softmax temperature.
type Net struct {
	Config
	// Temperature divides the logits before the softmax; it is fitted
	// after training so that probabilities match observed accuracy.
	Temperature float32
	W1, B1      []float32 // [C1][K][K], [C1]
	W2, B2      []float32 // [C2][C1][K][K], [C2]
	W3, B3      []float32 // [Hidden][flat], [Hidden]
	W4, B4      []float32 // [Classes][Hidden], [Classes]
}

func (c Config) flat() int { return c.C2*P2Side*P2Side + c.Features }

// New returns a network with He-initialised weights drawn from rng.
func New(c Config, rng *rand.Rand) *Net {
	n := &Net{Config: c, Temperature: 1}
	n.alloc()
	he := func(w []float32, fanIn int) {
		s := math.Sqrt(2 / float64(fanIn))
		for i := range w {
			w[i] = float32(rng.NormFloat64() * s)
		}
	}
	he(n.W1, K*K)
	he(n.W2, c.C1*K*K)
	he(n.W3, c.flat())
	he(n.W4, c.Hidden)
	return n
}

func (n *Net) alloc() {
	c := n.Config
	n.W1, n.B1 = make([]float32, c.C1*K*K), make([]float32, c.C1)
	n.W2, n.B2 = make([]float32, c.C2*c.C1*K*K), make([]float32, c.C2)
	n.W3, n.B3 = make([]float32, c.Hidden*c.flat()), make([]float32, c.Hidden)
	n.W4, n.B4 = make([]float32, c.Classes*c.Hidden), make([]float32, c.Classes)
}

// Params lists the weight slices in a fixed order (for the optimiser and
// the file format).
func (n *Net) Params() [][]float32 {
	return [][]float32{n.W1, n.B1, n.W2, n.B2, n.W3, n.B3, n.W4, n.B4}
}

// NewGrad returns a zeroed network of the same shape, used to accumulate
// gradients.
func (n *Net) NewGrad() *Net {
	g := &Net{Config: n.Config}
	g.alloc()
	return g
}

// Zero clears all weights.
func (n *Net) Zero() {
	for _, p := range n.Params() {
		clear(p)
	}
}

// Add adds the weights of o to n.
func (n *Net) Add(o *Net) {
	op := o.Params()
	for i, p := range n.Params() {
		for j := range p {
			p[j] += op[i][j]
		}
	}
}

// Work holds the activations of one forward pass; one per goroutine.
type Work struct {
	col1   []float32 // input patches [C1Side²][K²]
	blank1 []bool    // which input patches are all zero
	col2   []float32 // conv1 patches [C2Side²][C1·K²]
	dcol   []float32 // gradient of col2
	c1     []float32 // conv1 after ReLU [C1][C1Side²]
	p1     []float32 // [C1][P1Side²]
	a1     []int32   // argmax index in c1 for each p1
	c2     []float32 // [C2][C2Side²]
	p2     []float32 // flat input of the dense layer: pooled conv2 + features
	a2     []int32
	h      []float32
	out    []float32 // logits
	dp2    []float32
	dc2    []float32
	dp1    []float32
	dc1    []float32
	dh     []float32
	dout   []float32
}

// NewWork allocates the buffers for n.
func (n *Net) NewWork() *Work {
	c := n.Config
	return &Work{
		col1: make([]float32, C1Side*C1Side*K*K), blank1: make([]bool, C1Side*C1Side),
		col2: make([]float32, C2Side*C2Side*c.C1*K*K),
		dcol: make([]float32, C2Side*C2Side*c.C1*K*K),
		c1:   make([]float32, c.C1*C1Side*C1Side), p1: make([]float32, c.C1*P1Side*P1Side), a1: make([]int32, c.C1*P1Side*P1Side),
		c2: make([]float32, c.C2*C2Side*C2Side), p2: make([]float32, c.flat()), a2: make([]int32, c.C2*P2Side*P2Side),
		h: make([]float32, c.Hidden), out: make([]float32, c.Classes),
		dp2: make([]float32, c.flat()), dc2: make([]float32, c.C2*C2Side*C2Side),
		dp1: make([]float32, c.C1*P1Side*P1Side), dc1: make([]float32, c.C1*C1Side*C1Side),
		dh: make([]float32, c.Hidden), dout: make([]float32, c.Classes),
	}
}

// Forward computes the logits for an In × In image and the scalar
// features; the returned slice belongs to w.
func (n *Net) Forward(w *Work, img []float32, feat []float32) []float32 {
	c := n.Config
	// The convolutions are dot products of each kernel with the patches
	// of their input laid out in rows (im2col), which keeps the inner
	// loops long.
	im2col(img, w.col1, 1, In)
	// A digit covers a small part of its frame: a patch of plain paper
	// (all zeros) gives each kernel its bias alone, exactly what the dot
	// product would give, and is not multiplied out.
	for p := range w.blank1 {
		w.blank1[p] = allZero(w.col1[p*K*K : (p+1)*K*K])
	}
	for o := 0; o < c.C1; o++ {
		out := w.c1[o*C1Side*C1Side : (o+1)*C1Side*C1Side]
		kern := n.W1[o*K*K : (o+1)*K*K]
		b := n.B1[o]
		for p := range out {
			if w.blank1[p] {
				out[p] = b
				continue
			}
			out[p] = b + dot(kern, w.col1[p*K*K:(p+1)*K*K])
		}
		relu(out)
	}
	pool(w.c1, w.p1, w.a1, c.C1, C1Side)
	im2col(w.p1, w.col2, c.C1, P1Side)
	patch := c.C1 * K * K
	for o := 0; o < c.C2; o++ {
		out := w.c2[o*C2Side*C2Side : (o+1)*C2Side*C2Side]
		kern := n.W2[o*patch : (o+1)*patch]
		b := n.B2[o]
		for p := range out {
			out[p] = b + dot(kern, w.col2[p*patch:(p+1)*patch])
		}
		relu(out)
	}
	pool(w.c2, w.p2, w.a2, c.C2, C2Side)
	copy(w.p2[c.C2*P2Side*P2Side:], feat)
	// dense + ReLU
	fl := c.flat()
	for j := 0; j < c.Hidden; j++ {
		w.h[j] = n.B3[j] + dot(n.W3[j*fl:(j+1)*fl], w.p2)
	}
	relu(w.h)
	for k := 0; k < c.Classes; k++ {
		w.out[k] = n.B4[k] + dot(n.W4[k*c.Hidden:(k+1)*c.Hidden], w.h)
	}
	return w.out
}

// Backward accumulates into g the gradient of the loss whose derivative
// with respect to the logits is dlogits, for the pass last run in w.
func (n *Net) Backward(w *Work, g *Net, img []float32, dlogits []float32) {
	c := n.Config
	fl := c.flat()
	clear(w.dh)
	for k := 0; k < c.Classes; k++ {
		d := dlogits[k]
		if d == 0 {
			continue
		}
		g.B4[k] += d
		axpy(g.W4[k*c.Hidden:(k+1)*c.Hidden], d, w.h)
		axpy(w.dh, d, n.W4[k*c.Hidden:(k+1)*c.Hidden])
	}
	clear(w.dp2)
	for j := 0; j < c.Hidden; j++ {
		if w.h[j] <= 0 {
			continue
		}
		d := w.dh[j]
		g.B3[j] += d
		axpy(g.W3[j*fl:(j+1)*fl], d, w.p2)
		axpy(w.dp2, d, n.W3[j*fl:(j+1)*fl])
	}
	// Unpool into conv2 (ReLU: the max of a pool is > 0 or the gradient
	// dies there anyway).
	clear(w.dc2)
	for i, a := range w.a2 {
		if w.c2[a] > 0 {
			w.dc2[a] = w.dp2[i]
		}
	}
	// Only pooled maxima carry a gradient, so most positions are skipped.
	patch := c.C1 * K * K
	clear(w.dcol)
	for o := 0; o < c.C2; o++ {
		dout := w.dc2[o*C2Side*C2Side : (o+1)*C2Side*C2Side]
		kern := n.W2[o*patch : (o+1)*patch]
		gk := g.W2[o*patch : (o+1)*patch]
		for p, d := range dout {
			if d == 0 {
				continue
			}
			g.B2[o] += d
			axpy(gk, d, w.col2[p*patch:(p+1)*patch])
			axpy(w.dcol[p*patch:(p+1)*patch], d, kern)
		}
	}
	clear(w.dp1)
	col2im(w.dcol, w.dp1, c.C1, P1Side)
	clear(w.dc1)
	for i, a := range w.a1 {
		if w.c1[a] > 0 {
			w.dc1[a] = w.dp1[i]
		}
	}
	for o := 0; o < c.C1; o++ {
		dout := w.dc1[o*C1Side*C1Side : (o+1)*C1Side*C1Side]
		gk := g.W1[o*K*K : (o+1)*K*K]
		for p, d := range dout {
			if d == 0 {
				continue
			}
			g.B1[o] += d
			axpy(gk, d, w.col1[p*K*K:(p+1)*K*K])
		}
	}
}

// im2col lays out the K × K patches of ch planes of side s (valid
// positions only) as rows of ch·K² values.
func im2col(in, col []float32, ch, s int) {
	o := s - K + 1
	patch := ch * K * K
	for y := 0; y < o; y++ {
		for x := 0; x < o; x++ {
			row := col[(y*o+x)*patch : (y*o+x+1)*patch]
			i := 0
			for c := 0; c < ch; c++ {
				plane := in[c*s*s:]
				for ky := 0; ky < K; ky++ {
					copy(row[i:i+K], plane[(y+ky)*s+x:(y+ky)*s+x+K])
					i += K
				}
			}
		}
	}
}

// col2im adds the patch gradients in col back onto the planes of in.
func col2im(col, in []float32, ch, s int) {
	o := s - K + 1
	patch := ch * K * K
	for y := 0; y < o; y++ {
		for x := 0; x < o; x++ {
			row := col[(y*o+x)*patch : (y*o+x+1)*patch]
			i := 0
			for c := 0; c < ch; c++ {
				plane := in[c*s*s:]
				for ky := 0; ky < K; ky++ {
					dst := plane[(y+ky)*s+x : (y+ky)*s+x+K]
					for k := range dst {
						dst[k] += row[i+k]
					}
					i += K
				}
			}
		}
	}
}

// Softmax turns logits into probabilities at the network's temperature.
func (n *Net) Softmax(logits []float32, p []float64) {
	t := float64(n.Temperature)
	if t <= 0 {
		t = 1
	}
	m := math.Inf(-1)
	for _, l := range logits {
		m = math.Max(m, float64(l)/t)
	}
	var s float64
	for i, l := range logits {
		p[i] = math.Exp(float64(l)/t - m)
		s += p[i]
	}
	for i := range p {
		p[i] /= s
	}
}

func relu(v []float32) {
	for i, x := range v {
		if x < 0 {
			v[i] = 0
		}
	}
}

// allZero says whether every value of v is zero.
func allZero(v []float32) bool {
	for _, x := range v {
		if x != 0 {
			return false
		}
	}
	return true
}

// dotGo is the dot product of a and b (b at least as long as a) in plain
// Go, where no vector unit is used.
func dotGo(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return s0 + s1 + s2 + s3
}

// axpy adds a·x to y.
func axpy(y []float32, a float32, x []float32) {
	x = x[:len(y)]
	for i := range y {
		y[i] += a * x[i]
	}
}

// pool is a 2 × 2 max pooling of ch planes of side s.
func pool(in, out []float32, arg []int32, ch, s int) {
	h := s / 2
	for c := 0; c < ch; c++ {
		base := c * s * s
		for y := 0; y < h; y++ {
			for x := 0; x < h; x++ {
				i := base + 2*y*s + 2*x
				best, bi := in[i], i
				for _, j := range [3]int{i + 1, i + s, i + s + 1} {
					if in[j] > best {
						best, bi = in[j], j
					}
				}
				o := c*h*h + y*h + x
				out[o] = best
				arg[o] = int32(bi)
			}
		}
	}
}

// magic starts a weights file; the version follows it.
const (
	magic   = "GIADIGIT"
	version = 1
)

// MarshalBinary encodes the network: a header with the configuration and
// temperature, then every weight as a little-endian float32.
func (n *Net) MarshalBinary() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(magic)
	hdr := []int32{version, int32(n.C1), int32(n.C2), int32(n.Hidden), int32(n.Features), int32(n.Classes)}
	if err := binary.Write(&b, binary.LittleEndian, hdr); err != nil {
		return nil, err
	}
	if err := binary.Write(&b, binary.LittleEndian, n.Temperature); err != nil {
		return nil, err
	}
	for _, p := range n.Params() {
		if err := binary.Write(&b, binary.LittleEndian, p); err != nil {
			return nil, err
		}
	}
	return b.Bytes(), nil
}

// UnmarshalBinary decodes what MarshalBinary wrote.
func (n *Net) UnmarshalBinary(data []byte) error {
	r := bytes.NewReader(data)
	m := make([]byte, len(magic))
	if _, err := io.ReadFull(r, m); err != nil || string(m) != magic {
		return errors.New("not a digit network file")
	}
	var hdr [6]int32
	if err := binary.Read(r, binary.LittleEndian, &hdr); err != nil {
		return fmt.Errorf("reading header: %w", err)
	}
	if hdr[0] != version {
		return fmt.Errorf("digit network file version %d, want %d", hdr[0], version)
	}
	for _, v := range hdr[1:] {
		if v <= 0 || v > 4096 {
			return fmt.Errorf("implausible layer size %d", v)
		}
	}
	n.Config = Config{C1: int(hdr[1]), C2: int(hdr[2]), Hidden: int(hdr[3]), Features: int(hdr[4]), Classes: int(hdr[5])}
	if err := binary.Read(r, binary.LittleEndian, &n.Temperature); err != nil {
		return fmt.Errorf("reading temperature: %w", err)
	}
	n.alloc()
	for i, p := range n.Params() {
		if err := binary.Read(r, binary.LittleEndian, p); err != nil {
			return fmt.Errorf("reading weights of layer part %d: %w", i, err)
		}
	}
	if r.Len() != 0 {
		return fmt.Errorf("%d bytes left over after the weights", r.Len())
	}
	for _, p := range n.Params() {
		for _, v := range p {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return errors.New("weights hold a NaN or infinity")
			}
		}
	}
	return nil
}
