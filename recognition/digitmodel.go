package recognition

import (
	"image"

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
