package prep

import (
	"image"
	"testing"
)

// bordered returns a w × h crop of paper with a printed border line along the
// top and the bottom edge, three pixels thick, as a crop that reaches over
// the border delivers it.
func bordered(w, h int) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 235
	}
	for y := 0; y < 3; y++ {
		for x := 0; x < w; x++ {
			img.Pix[y*w+x] = 25
			img.Pix[(h-1-y)*w+x] = 25
		}
	}
	return img
}

func fill(img *image.Gray, x0, y0, x1, y1 int, v uint8) {
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			img.Pix[y*img.Stride+x] = v
		}
	}
}

func TestBorderAloneIsEmpty(t *testing.T) {
	if c := Prepare(bordered(60, 80)); !c.Empty {
		t.Errorf("a crop with only border lines is not empty (ink %.3f)", c.Ink)
	}
}

// TestStrokeOnBorderIsKept draws an "L": a vertical stroke and a foot
// lying on the bottom border line, like the base of a 2 written down to
// the border. Removing the border must not remove the foot.
func TestStrokeOnBorderIsKept(t *testing.T) {
	img := bordered(60, 80)
	fill(img, 15, 15, 20, 77, 60) // vertical stroke down into the border
	fill(img, 15, 72, 45, 77, 60) // foot lying on the border line
	c := Prepare(img)
	if c.Empty {
		t.Fatal("stroke read as empty")
	}
	// The foot makes the ink box much wider than the 5-pixel stroke.
	if got := c.Input.Features[1] * 60; got < 25 {
		t.Errorf("ink box is %.0f pixels wide, want the 30-pixel foot kept", got)
	}
}

func TestStrayDotIsEmpty(t *testing.T) {
	img := bordered(60, 80)
	fill(img, 30, 40, 34, 44, 40)
	if c := Prepare(img); !c.Empty {
		t.Error("a stray dot is not empty")
	}
}

// TestFaintDigitIsNotEmpty draws a "1" only 20 grey levels darker than the
// paper: too light to read, but it must not be reported as an empty cell.
func TestFaintDigitIsNotEmpty(t *testing.T) {
	img := bordered(60, 80)
	fill(img, 28, 15, 33, 65, 215)
	c := Prepare(img)
	if c.Empty || !c.Faint {
		t.Errorf("faint stroke: empty %v, faint %v; want not empty and faint", c.Empty, c.Faint)
	}
}
