package recognition

import (
	"image"

	"github.com/makiuchi-d/gozxing"
)

// grayLuminance hands an *image.Gray to gozxing without the per-pixel
// colour conversion of gozxing.NewLuminanceSourceFromImage.
type grayLuminance struct {
	gozxing.LuminanceSourceBase
	pix    []byte // row-major, stride = Width
	invert bool
}

func newGrayLuminance(g *image.Gray) *grayLuminance {
	b := g.Bounds()
	w, h := b.Dx(), b.Dy()
	pix := make([]byte, w*h)
	for y := 0; y < h; y++ {
		copy(pix[y*w:(y+1)*w], g.Pix[g.PixOffset(b.Min.X, b.Min.Y+y):])
	}
	return &grayLuminance{LuminanceSourceBase: gozxing.LuminanceSourceBase{Width: w, Height: h}, pix: pix}
}

// GetRow returns row y.
func (l *grayLuminance) GetRow(y int, row []byte) ([]byte, error) {
	if len(row) < l.Width {
		row = make([]byte, l.Width)
	}
	copy(row, l.pix[y*l.Width:(y+1)*l.Width])
	return row, nil
}

// GetMatrix returns all pixels, row-major.
func (l *grayLuminance) GetMatrix() []byte { return l.pix }

// Invert returns the negative image.
func (l *grayLuminance) Invert() gozxing.LuminanceSource { return gozxing.LuminanceSourceInvert(l) }

// String renders the source as text, for debugging.
func (l *grayLuminance) String() string { return gozxing.LuminanceSourceString(l) }
