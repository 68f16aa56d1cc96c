package recognition

import (
	"fmt"
	"image"

	"giascan/forms"
	"giascan/recognition/digits"
)

// modelReader reads cells with the built-in digit classifier.
type modelReader struct{ m *digits.Model }

// NewDigitReader adapts the digit classifier: a digit is sure when its
// confidence reaches digits.Threshold.
func NewDigitReader(m *digits.Model) DigitReader { return modelReader{m} }

// ReadDigit implements DigitReader.
func (r modelReader) ReadDigit(cell *image.Gray) (digit byte, sure, empty bool) {
	res := r.m.Classify(cell)
	if res.Empty {
		return 0, true, true
	}
	if res.Digit < 0 || res.Digit > 9 {
		return 0, false, false
	}
	return byte('0' + res.Digit), res.Confidence >= digits.Threshold, false
}

// NewDefault builds the recognizer the station uses: the built-in
// templates and the embedded handwritten-digit model.
func NewDefault() (*Recognizer, error) {
	model, err := digits.Load()
	if err != nil {
		return nil, fmt.Errorf("digit model: %w", err)
	}
	return New(forms.Builtin(), NewDigitReader(model))
}
