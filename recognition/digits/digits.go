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
// any resolution: the model was built for cells of 150–600 dpi scans,
// and crops under 32 pixels high (below about 100 dpi) are never read as
// certain, nor as empty unless their middle is plain paper.
func (m *Model) Classify(crop *image.Gray) Result {
	r := m.classify(crop)
	if crop.Bounds().Dy() < minHeight {
		// Below ~100 dpi strokes blur into specks and borders into the
		// cell: no reading is sure, and a cell is only empty when its
		// middle is plain paper.
		if r.Empty && (r.Ink > 0 || darkMiddle(crop)) {
			r = Result{Ink: r.Ink}
		}
		r.Confidence = min(r.Confidence, faintCap)
	}
	return r
}

// darkMiddle tells whether the middle of the crop (away from where border
// remnants lie) holds a pixel darker than the paper by more than noise.
func darkMiddle(crop *image.Gray) bool {
	b := crop.Bounds()
	mx, my := b.Dx()/5, b.Dy()/5
	var hist [256]int
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			hist[crop.GrayAt(x, y).Y]++
		}
	}
	// Paper is the 80th percentile of the whole crop.
	paper, n := 255, 0
	for v, c := range hist {
		n += c
		if n > b.Dx()*b.Dy()*4/5 {
			paper = v
			break
		}
	}
	for y := b.Min.Y + my; y < b.Max.Y-my; y++ {
		for x := b.Min.X + mx; x < b.Max.X-mx; x++ {
			if int(crop.GrayAt(x, y).Y) < paper-20 {
				return true
			}
		}
	}
	return false
}

// minHeight is the crop height, in pixels, under which readings are never
// certain: an 8 mm cell scanned below about 100 dpi. The model was built
// for 150–600 dpi and holds up to about 120 dpi.
const minHeight = 32

func (m *Model) classify(crop *image.Gray) Result {
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
