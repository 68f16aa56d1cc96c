package train

import (
	"bytes"
	"math"
	"testing"

	"giascan/recognition/digits/internal/nn"
	"giascan/recognition/digits/internal/synth"
)

var tinyNet = nn.Config{C1: 4, C2: 6, Hidden: 16, Features: DefaultNet.Features, Classes: Classes}

func tiny(workers int) Options {
	o := Defaults()
	o.Samples, o.Valid, o.Epochs, o.Batch, o.Workers, o.Net = 160, 60, 1, 16, workers, tinyNet
	return o
}

func fontsOrSkip(t *testing.T) []*synth.Font {
	t.Helper()
	fonts, _, err := LoadFonts(Defaults().Holdout)
	if err != nil {
		t.Skipf("handwriting fonts not installed: %v", err)
	}
	return fonts
}

// TestRunIsDeterministic runs the whole training pipeline on a few cells
// twice, with different numbers of workers, and wants the same weights:
// the shipped model must be reproducible on any machine.
func TestRunIsDeterministic(t *testing.T) {
	fontsOrSkip(t)
	a, err := Run(tiny(2))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Run(tiny(1))
	if err != nil {
		t.Fatal(err)
	}
	ab, _ := a.MarshalBinary()
	bb, _ := b.MarshalBinary()
	if !bytes.Equal(ab, bb) {
		t.Error("two runs with the same options gave different weights")
	}
	if a.Temperature <= 0 {
		t.Errorf("temperature %v", a.Temperature)
	}
}

// TestTrainingLearns checks that a short training lowers the loss on the
// cells it trains on, so that a broken gradient or optimiser is caught
// without a full run.
func TestTrainingLearns(t *testing.T) {
	fonts := fontsOrSkip(t)
	g := synth.NewGenerator(fonts)
	g.Strokes = strokeShare
	data := Generate(g, 400, 5, 2)
	if data.Len() < 300 {
		t.Fatalf("only %d of 400 cells usable", data.Len())
	}
	o := tiny(2)
	o.Epochs, o.Batch, o.Net = 6, 8, DefaultNet
	before := meanLoss(nn.New(o.Net, newRand(o.Seed)), data)
	net := Train(data, o)
	after := meanLoss(net, data)
	t.Logf("loss %.3f → %.3f", before, after)
	if !(after < 0.8*before) {
		t.Errorf("loss went from %.3f to %.3f, want a clear drop", before, after)
	}
}

func meanLoss(net *nn.Net, data *Data) float64 {
	var s float64
	for i, p := range Predict(net, data, 2) {
		s -= math.Log(math.Max(p[data.Labels[i]], 1e-12))
	}
	return s / float64(data.Len())
}
