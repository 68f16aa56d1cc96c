package main

import (
	"os"
	"path/filepath"
	"testing"

	"giascan/recognition/digits"
	"giascan/recognition/digits/internal/nn"
	"giascan/recognition/digits/internal/train"
)

// TestTinyRun runs the training command end to end on a few cells and
// loads what it wrote, so the generator cannot rot unnoticed between the
// rare full runs.
func TestTinyRun(t *testing.T) {
	if _, _, err := train.LoadFonts(train.Defaults().Holdout); err != nil {
		t.Skipf("handwriting fonts not installed: %v", err)
	}
	o := train.Defaults()
	o.Samples, o.Valid, o.Epochs, o.Batch = 120, 40, 1, 16
	o.Net = nn.Config{C1: 3, C2: 4, Hidden: 8, Features: train.DefaultNet.Features, Classes: train.Classes}
	out := filepath.Join(t.TempDir(), "model.bin")
	if err := run(o, out); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := digits.Parse(b); err != nil {
		t.Fatalf("the written model does not load: %v", err)
	}
}
