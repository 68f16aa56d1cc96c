package main

import (
	"fmt"

	"giascan/forms"
	"giascan/recognition"
	"giascan/recognition/digits"
)

// newRecognizer builds the page recognizer with the built-in templates and
// the embedded handwritten-digit model.
func newRecognizer() (*recognition.Recognizer, error) {
	model, err := digits.Load()
	if err != nil {
		return nil, fmt.Errorf("digit model: %w", err)
	}
	return recognition.New(forms.Builtin(), recognition.NewDigitReader(model))
}
