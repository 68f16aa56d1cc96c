package main

import "giascan/recognition"

// newRecognizer builds the page recognizer with the built-in templates and
// the embedded handwritten-digit model.
func newRecognizer() (*recognition.Recognizer, error) { return recognition.NewDefault() }
