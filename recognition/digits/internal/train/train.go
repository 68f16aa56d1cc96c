// Package train builds the digit network: it renders synthetic cells from
// the training fonts, prepares them exactly as recognition does, trains the
// network with Adam, and fits the softmax temperature on cells it did not
// train on. Everything is seeded, and work is split across goroutines in a
// fixed way, so the same options give the same weights bit for bit.
package train

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"

	"giascan/forms"
	"giascan/recognition/digits/internal/nn"
	"giascan/recognition/digits/internal/prep"
	"giascan/recognition/digits/internal/synth"
)

// Classes are the ten digits and synth.Reject.
const Classes = 11

// DefaultNet is the size of the network that ships.
var DefaultNet = nn.Config{C1: 10, C2: 20, Hidden: 80, Features: prep.NumFeatures, Classes: Classes}

// Options control a training run.
type Options struct {
	Seed    uint64
	Holdout string  // name of the font kept out of training (forms.HandwritingFonts)
	Samples int     // training cells
	Valid   int     // cells for fitting the temperature
	Epochs  int     // passes over the training cells
	Batch   int     // cells per optimiser step
	LR      float64 // peak learning rate of Adam (warm-up, then cosine decay)
	Workers int     // goroutines; the weights do not depend on it
	Net     nn.Config
	Log     io.Writer // progress; nil for none
}

// Defaults are the options of the shipped model.
func Defaults() Options {
	return Options{
		Seed: 20240601, Holdout: "stevehand", Samples: 120000, Valid: 6000,
		Epochs: 4, Batch: 64, LR: 2e-3, Workers: runtime.GOMAXPROCS(0), Net: DefaultNet,
	}
}

// LoadFonts loads the available handwriting fonts and splits off the one
// named holdout.
func LoadFonts(holdout string) (train []*synth.Font, held *synth.Font, err error) {
	avail, err := forms.AvailableHandwritingFonts()
	if err != nil {
		return nil, nil, fmt.Errorf("loading training fonts: %w", err)
	}
	for _, hf := range avail {
		f, err := synth.LoadFont(hf.Name, hf.Path)
		if err != nil {
			return nil, nil, fmt.Errorf("loading training fonts: %w", err)
		}
		if hf.Name == holdout {
			held = f
		} else {
			train = append(train, f)
		}
	}
	if held == nil {
		return nil, nil, fmt.Errorf("held-out font %q is not installed", holdout)
	}
	if len(train) == 0 {
		return nil, nil, errors.New("no font left to train on")
	}
	return train, held, nil
}

// Data is a set of prepared cells.
type Data struct {
	Inputs []prep.Input
	Labels []int8 // 0–9 or synth.Reject
}

// Len is the number of cells.
func (d *Data) Len() int { return len(d.Labels) }

// Mix of the training cells: mostly digits, some non-digit marks, and some
// blank cells (those that preparation does not call empty are taught as
// "not a digit").
const (
	strokeShare = 0.25 // digits drawn from the stroke models, not a font
	rejectShare = 0.12
	blankShare  = 0.05
)

// Generate renders and prepares n cells. Cell i depends only on seed and
// i, so the result does not depend on the number of workers.
func Generate(g *synth.Generator, n int, seed uint64, workers int) *Data {
	inputs := make([]prep.Input, n)
	labels := make([]int8, n)
	ok := make([]bool, n)
	parallel(n, workers, func(i int) {
		rng := rand.New(rand.NewPCG(seed, uint64(i)))
		label := rng.IntN(10)
		switch r := rng.Float64(); {
		case r < rejectShare:
			label = synth.Reject
		case r < rejectShare+blankShare:
			label = synth.Blank
		}
		cell := prep.Prepare(g.Cell(rng, label))
		if cell.Empty || cell.Ink == 0 {
			return // nothing for the network to learn from
		}
		if label == synth.Blank {
			label = synth.Reject
		}
		inputs[i], labels[i], ok[i] = cell.Input, int8(label), true
	})
	d := &Data{}
	for i := range ok {
		if ok[i] {
			d.Inputs = append(d.Inputs, inputs[i])
			d.Labels = append(d.Labels, labels[i])
		}
	}
	return d
}

// parallel runs f(0..n-1) on workers goroutines.
func parallel(n, workers int, f func(int)) {
	workers = max(1, min(workers, n))
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				f(i)
			}
		}()
	}
	wg.Wait()
}

// Train fits a new network to data.
func Train(data *Data, o Options) *nn.Net {
	rng := newRand(o.Seed)
	net := nn.New(o.Net, rng)
	// The batch is cut into a fixed number of shards whose gradients are
	// summed in shard order, so the arithmetic, and so the weights, do not
	// depend on how many goroutines share the work.
	const shards = 4
	grads := make([]*nn.Net, shards)
	works := make([]*nn.Work, shards)
	losses := make([]float64, shards)
	for s := range grads {
		grads[s] = net.NewGrad()
		works[s] = net.NewWork()
	}
	opt := newAdam(net, o.LR)
	n := data.Len()
	steps := o.Epochs * (n / o.Batch)
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	step := 0
	start := time.Now()
	for epoch := 0; epoch < o.Epochs; epoch++ {
		rng.Shuffle(n, func(i, j int) { order[i], order[j] = order[j], order[i] })
		var epochLoss float64
		for b := 0; b+o.Batch <= n; b += o.Batch {
			batch := order[b : b+o.Batch]
			parallel(shards, o.Workers, func(s int) {
				grads[s].Zero()
				losses[s] = 0
				p := make([]float64, Classes)
				d := make([]float32, Classes)
				for k := s; k < len(batch); k += shards {
					i := batch[k]
					in := &data.Inputs[i]
					out := net.Forward(works[s], in.Pixels[:], in.Features[:])
					softmax1(out, p)
					y := int(data.Labels[i])
					losses[s] -= math.Log(math.Max(p[y], 1e-12))
					for c := range d {
						d[c] = float32(p[c]) / float32(len(batch))
					}
					d[y] -= 1 / float32(len(batch))
					net.Backward(works[s], grads[s], in.Pixels[:], d)
				}
			})
			for s := 1; s < shards; s++ {
				grads[0].Add(grads[s])
			}
			for _, l := range losses {
				epochLoss += l
			}
			// Linear warm-up, then cosine decay to zero.
			lr := o.LR * 0.5 * (1 + math.Cos(math.Pi*float64(step)/float64(steps)))
			if warm := min(300, steps/10); step < warm {
				lr *= float64(step+1) / float64(warm)
			}
			opt.step(net, grads[0], lr)
			step++
		}
		logf(o.Log, "epoch %d/%d: loss %.4f (%s)", epoch+1, o.Epochs, epochLoss/float64(n/o.Batch*o.Batch), time.Since(start).Round(time.Second))
	}
	return net
}

// newRand is the generator of initial weights and shuffling.
func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x6e6574)) }

// softmax1 is the plain softmax used while training (temperature 1).
func softmax1(logits []float32, p []float64) {
	m := math.Inf(-1)
	for _, l := range logits {
		m = math.Max(m, float64(l))
	}
	var s float64
	for i, l := range logits {
		p[i] = math.Exp(float64(l) - m)
		s += p[i]
	}
	for i := range p {
		p[i] /= s
	}
}

// adam is the Adam optimiser with decoupled weight decay on the weights
// (not the biases).
type adam struct {
	m, v  [][]float32
	t     int
	decay []bool
}

func newAdam(n *nn.Net, lr float64) *adam {
	a := &adam{}
	for i, p := range n.Params() {
		a.m = append(a.m, make([]float32, len(p)))
		a.v = append(a.v, make([]float32, len(p)))
		a.decay = append(a.decay, i%2 == 0) // W1, W2, W3, W4
	}
	return a
}

func (a *adam) step(n, g *nn.Net, lr float64) {
	const b1, b2, eps, wd = 0.9, 0.999, 1e-8, 1e-4
	a.t++
	c1 := 1 - math.Pow(b1, float64(a.t))
	c2 := 1 - math.Pow(b2, float64(a.t))
	gp := g.Params()
	for i, p := range n.Params() {
		m, v, gr := a.m[i], a.v[i], gp[i]
		for j := range p {
			gj := gr[j]
			m[j] = b1*m[j] + (1-b1)*gj
			v[j] = b2*v[j] + (1-b2)*gj*gj
			upd := lr * (float64(m[j]) / c1) / (math.Sqrt(float64(v[j])/c2) + eps)
			if a.decay[i] {
				upd += lr * wd * float64(p[j])
			}
			p[j] -= float32(upd)
		}
	}
}

// Predict runs the network on every cell of data (in parallel) and
// returns the class probabilities at the network's temperature.
func Predict(net *nn.Net, data *Data, workers int) [][]float64 {
	out := make([][]float64, data.Len())
	works := make([]*nn.Work, max(1, workers))
	for i := range works {
		works[i] = net.NewWork()
	}
	var wg sync.WaitGroup
	for w := range works {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < data.Len(); i += len(works) {
				in := &data.Inputs[i]
				p := make([]float64, net.Classes)
				net.Softmax(net.Forward(works[w], in.Pixels[:], in.Features[:]), p)
				out[i] = p
			}
		}()
	}
	wg.Wait()
	return out
}

// FitTemperature picks the softmax temperature that minimises the
// negative log-likelihood of data, so that confidences are calibrated.
func FitTemperature(net *nn.Net, data *Data, workers int) float32 {
	saved := net.Temperature
	defer func() { net.Temperature = saved }()
	logits := make([][]float32, data.Len())
	works := make([]*nn.Work, max(1, workers))
	for i := range works {
		works[i] = net.NewWork()
	}
	parallel(len(works), len(works), func(w int) {
		for i := w; i < data.Len(); i += len(works) {
			in := &data.Inputs[i]
			logits[i] = append([]float32(nil), net.Forward(works[w], in.Pixels[:], in.Features[:])...)
		}
	})
	best, bestNLL := float32(1), math.Inf(1)
	p := make([]float64, net.Classes)
	for t := float32(0.5); t <= 4; t += 0.05 {
		net.Temperature = t
		var nll float64
		for i, l := range logits {
			net.Softmax(l, p)
			nll -= math.Log(math.Max(p[data.Labels[i]], 1e-12))
		}
		if nll < bestNLL {
			best, bestNLL = t, nll
		}
	}
	return best
}

// Run does a whole training run and returns the network, its temperature
// fitted on validation cells from the training fonts.
func Run(o Options) (*nn.Net, error) {
	fonts, _, err := LoadFonts(o.Holdout)
	if err != nil {
		return nil, err
	}
	g := synth.NewGenerator(fonts)
	g.Strokes = strokeShare
	start := time.Now()
	data := Generate(g, o.Samples, o.Seed, o.Workers)
	logf(o.Log, "rendered %d training cells from %d fonts (%s)", data.Len(), len(fonts), time.Since(start).Round(time.Second))
	net := Train(data, o)
	valid := Generate(g, o.Valid, o.Seed^0x76616c6964, o.Workers)
	net.Temperature = FitTemperature(net, valid, o.Workers)
	acc := Accuracy(net, valid, o.Workers)
	logf(o.Log, "validation on training fonts: accuracy %.2f%%, temperature %.2f (%s)", 100*acc, net.Temperature, time.Since(start).Round(time.Second))
	return net, nil
}

// Accuracy is the share of cells of data whose most likely class is right.
func Accuracy(net *nn.Net, data *Data, workers int) float64 {
	probs := Predict(net, data, workers)
	right := 0
	for i, p := range probs {
		if argmax(p) == int(data.Labels[i]) {
			right++
		}
	}
	return float64(right) / float64(max(1, data.Len()))
}

func argmax(p []float64) int {
	best := 0
	for i := range p {
		if p[i] > p[best] {
			best = i
		}
	}
	return best
}

func logf(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, format+"\n", args...)
	}
}
