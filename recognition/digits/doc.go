// Package digits reads the handwritten digit in one digit cell of a blank
// (blanks.md section 4: 6 × 8 mm or 5 × 8 mm cells with a 0.3 mm border,
// scanned at 150–600 dpi).
//
// A cell crop is cleaned first (paper and ink levels, removal of border
// remnants while keeping strokes that touch the border, specks, stray dots,
// a neighbour's ink poking over the border) and declared empty when
// nothing is left. Otherwise the ink is scaled into a 28 × 28 frame and
// read by a small convolutional network (two 5 × 5 convolutions, one dense
// layer, about 32 000 weights) with ten digit classes and one "not a digit"
// class for scribbles, crossed-out digits, letters and blots. The network
// runs in pure Go; its weights (model.bin, 128 KB) are embedded.
//
// `go generate ./recognition/digits/...` rebuilds model.bin from scratch:
// it renders about 114 000 synthetic cells from the handwriting fonts of
// forms.HandwritingFonts and from built-in stroke models of common
// handwritten variants, with random size, slant (±12°), shear, elastic
// distortion, pen width, position, faint ink, blur, noise, specks,
// border remnants, JPEG and resolution, trains for four epochs and fits
// the softmax temperature on fresh cells. The font "stevehand" is kept out
// of training. The run is deterministic and takes about 2.5 minutes of
// wall time (4.6 minutes of CPU) on two cores.
//
// On 2 000 cells drawn the same way from the held-out font (the test
// TestHeldOutFont), the model reads 98.0 % of digits right (top-1); 85.7 %
// of the cells reach Threshold (0.9), and among those 99.8 % are right
// (3 confident mistakes). Of 600 non-digit marks 1.0 % reach Threshold;
// 99.0 % of blank cells read as empty and none as a certain digit.
//
// Confidence is a calibrated probability; a caller reports a digit as
// certain only at or above Threshold and reports "?" for review otherwise.
// Cells scanned below about 100 dpi (crops under 32 pixels high) are never
// certain.
package digits
