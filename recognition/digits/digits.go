package digits

import (
	_ "embed"
	"fmt"
	"image"
	"sync"

	"giascan/recognition/digits/internal/nn"
	"giascan/recognition/digits/internal/prep"
)

//go:generate go run ./gen

// modelFile holds the trained weights written by ./gen.
//
//go:embed model.bin
var modelFile []byte

// Threshold is the confidence at or above which a digit may be reported as
// certain. Below it the cell must be reported as unreadable ("?") and sent
// for review.
const Threshold = 0.9

// faintCap bounds the confidence of a cell whose ink is barely darker than
// the paper: whatever the network says, such a reading is not certain.
const faintCap = Threshold / 2

// Result is the reading of one cell.
type Result struct {
	// Digit is the most likely digit, 0–9. It is only meaningful when the
	// cell is not Empty, and only trustworthy when Certain.
	Digit int
	// Confidence is the probability, calibrated on cells the network was
	// not trained on, that Digit is what is written. It is low both for
	// unclear digits and for ink that is no digit (scribbles, crossed-out
	// digits, letters). Zero when Empty.
	Confidence float64
	// Empty is true when the cell holds no ink apart from border
	// remnants, paper noise and stray dots.
	Empty bool
	// Ink is the fraction of the crop covered by the ink that was read,
	// after border remnants and specks were removed.
	Ink float64
}

// Certain tells whether the result may be reported without review: an
// empty cell, or a digit at or above Threshold.
func (r Result) Certain() bool { return r.Empty || r.Confidence >= Threshold }

// Model is a loaded digit classifier. It is safe for concurrent use.
type Model struct {
	net  *nn.Net
	work sync.Pool // *nn.Work, one per concurrent Classify
}

// Load returns the model built into the binary.
func Load() (*Model, error) {
	m, err := Parse(modelFile)
	if err != nil {
		return nil, fmt.Errorf("loading the built-in digit model: %w", err)
	}
	return m, nil
}

// Parse returns the model encoded in data (the format ./gen writes).
func Parse(data []byte) (*Model, error) {
	net := &nn.Net{}
	if err := net.UnmarshalBinary(data); err != nil {
		return nil, fmt.Errorf("decoding digit model: %w", err)
	}
	if net.Classes != numClasses || net.Features != prep.NumFeatures {
		return nil, fmt.Errorf("digit model has %d classes and %d features, want %d and %d",
			net.Classes, net.Features, numClasses, prep.NumFeatures)
	}
	m := &Model{net: net}
	m.work.New = func() any { return net.NewWork() }
	return m, nil
}

// numClasses is the ten digits and "not a digit".
const numClasses = 11

// Classify reads the digit in the grey crop of one cell's interior. The
// crop may include remnants of the cell border at its edges and may be of
// any resolution; cells of 150–600 dpi scans are what the model was built
// for.
func (m *Model) Classify(crop *image.Gray) Result {
	cell := prep.Prepare(crop)
	if cell.Empty {
		return Result{Empty: true, Ink: cell.Ink}
	}
	if cell.Ink == 0 {
		return Result{} // a mark too faint to isolate: unreadable
	}
	w := m.work.Get().(*nn.Work)
	logits := m.net.Forward(w, cell.Input.Pixels[:], cell.Input.Features[:])
	var p [numClasses]float64
	m.net.Softmax(logits, p[:])
	m.work.Put(w)
	best := 0
	for d := 1; d < 10; d++ {
		if p[d] > p[best] {
			best = d
		}
	}
	conf := p[best]
	if cell.Faint {
		conf = min(conf, faintCap)
	}
	return Result{Digit: best, Confidence: conf, Ink: cell.Ink}
}
