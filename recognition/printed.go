package recognition

import (
	"fmt"
	"image"
	"math"
	"strings"
	"sync"

	"gocv.io/x/gocv"

	"giascan/forms"
)

// The barcode's 13 digits are also printed under its bars (blanks.md 2.2),
// in a monospaced font at a place the template fixes. When the bars do not
// read (smudged, or lost in a 150 dpi 1-bit scan), these digits are read
// by template matching: the forms renderer draws every digit at every
// position at the scale of the crop, and each position takes the digit
// whose drawing correlates best with the scan. The reading is only a
// witness: applyIdentity accepts it when its check digit verifies and it
// equals the QR code's B, and otherwise sends the barcode to a person.

// printedRefs are the references of one barcode layout at one scale and
// one blur.
type printedRefs struct {
	strip forms.Rect        // the crop, template mm
	k     float64           // crop px per mm
	w, h  int               // crop size, px
	cells []image.Rectangle // each digit's window on the crop, px
	// refs[i][d] is digit d drawn at position i over cells[i], less its
	// mean and scaled to unit norm, row by row.
	refs [][10][]float32
}

type printedKey struct {
	spec  forms.BarcodeSpec
	k2    int // twice the scale: scales are taken in half px/mm steps
	blur4 int // four times the references' blur, px
}

var printedCache sync.Map // printedKey → *printedRefs

// Margins of the crop around the printed digits and of each digit's
// window above and below it, mm.
const (
	printedMarginX = 1.0
	printedMarginY = 0.8
	printedPadY    = 0.15
)

// printedReferences renders the references of spec at k px/mm, blurred by
// a Gaussian of blur px, once per process.
func printedReferences(spec forms.BarcodeSpec, k, blur float64) (*printedRefs, error) {
	key := printedKey{spec, int(math.Round(k * 2)), int(math.Round(blur * 4))}
	if v, ok := printedCache.Load(key); ok {
		return v.(*printedRefs), nil
	}
	zeros := strings.Repeat("0", spec.Digits)
	op, cells, err := forms.BarcodeText(spec, zeros)
	if err != nil {
		return nil, err
	}
	first, last := cells[0], cells[len(cells)-1]
	strip := forms.Rect{X: first.X - printedMarginX, Y: first.Y - printedMarginY,
		W: last.X1() - first.X + 2*printedMarginX, H: first.H + 2*printedMarginY}
	p := &printedRefs{strip: strip, k: k, w: int(math.Round(strip.W * k)), h: int(math.Round(strip.H * k))}
	for _, c := range cells {
		r := image.Rect(int(math.Round((c.X-strip.X)*k)), int(math.Floor((c.Y-printedPadY-strip.Y)*k)),
			int(math.Round((c.X1()-strip.X)*k)), int(math.Ceil((c.Y1()+printedPadY-strip.Y)*k)))
		p.cells = append(p.cells, r)
	}
	p.refs = make([][10][]float32, len(cells))
	for d := 0; d < 10; d++ {
		ref := op
		ref.Text = strings.Repeat(string(rune('0'+d)), spec.Digits)
		ref.Rect.X -= strip.X
		ref.Rect.Y -= strip.Y
		g, err := forms.Rasterize(&forms.Drawing{Width: strip.W, Height: strip.H, Ops: []forms.Op{ref}}, k*25.4)
		if err != nil {
			return nil, err
		}
		if blur > 0 {
			if g, err = gaussian(g, blur); err != nil {
				return nil, err
			}
		}
		for i, c := range p.cells {
			p.refs[i][d] = unitWindow(g, c)
		}
	}
	v, _ := printedCache.LoadOrStore(key, p)
	return v.(*printedRefs), nil
}

// unitWindow returns the pixels of g in r, less their mean, scaled to unit
// norm (ink positive).
func unitWindow(g *image.Gray, r image.Rectangle) []float32 {
	out := make([]float32, 0, r.Dx()*r.Dy())
	sum := 0.0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			v := 255 - float64(g.GrayAt(x, y).Y)
			out = append(out, float32(v))
			sum += v
		}
	}
	mean := float32(sum / float64(len(out)))
	norm := 0.0
	for i := range out {
		out[i] -= mean
		norm += float64(out[i]) * float64(out[i])
	}
	if norm > 0 {
		s := float32(1 / math.Sqrt(norm))
		for i := range out {
			out[i] *= s
		}
	}
	return out
}

// Thresholds of a digit's reading: its correlation with the best digit's
// drawing, and how far ahead of the next digit's it must be. A misread
// that passes them still has to pass the check digit and the QR code.
const (
	printedMinCorr = 0.5
	printedMinGap  = 0.01
)

// printedBlurs are the blurs (px at the crop's scale) the references are
// drawn with: the renderer's glyphs are sharp, a scan's are not, and the
// dot in DejaVu's zero tells it from an eight only when the reference is
// as soft as the scan. The page's own is the one its digits match best.
var printedBlurs = []float64{0.5, 1, 1.5}

// readPrinted reads the human-readable digits of the barcode on the page
// placed by h: spec.Digits characters, '?' for each position that matches
// no digit clearly. It returns "" when the references cannot be drawn.
func readPrinted(full *plane, h *homography, spec forms.BarcodeSpec) string {
	// 6–8 px/mm puts some 15 px on a digit's height: enough to tell the
	// digits apart, and little to correlate.
	k := clampScale(math.Round(h.scaleAt(pt{spec.X + 10, spec.TextY0})*2)/2, 6, 8)
	refs := make([]*printedRefs, len(printedBlurs))
	for i, b := range printedBlurs {
		p, err := printedReferences(spec, k, b)
		if err != nil {
			return ""
		}
		refs[i] = p
	}
	p := refs[len(refs)/2]
	crop := full.warp(h, p.strip, k)
	if crop.Rect.Dx() != p.w || crop.Rect.Dy() != p.h {
		return ""
	}
	// The registration may be off by a fraction of a millimetre: one shift
	// for the whole line first, the one under which the digits match best,
	// then a pixel either way for each digit. The line's shift is
	// searched in steps of two pixels, which that last pixel fills in.
	m := int(math.Ceil(0.5 * k))
	best, bx, by := math.Inf(-1), 0, 0
	for dy := -m; dy <= m; dy += 2 {
		for dx := -m; dx <= m; dx += 2 {
			s := 0.0
			for i := range p.cells {
				top := math.Inf(-1)
				for d := 0; d < 10; d++ {
					top = math.Max(top, p.corr(crop, i, d, dx, dy))
				}
				s += top
			}
			if s > best {
				best, bx, by = s, dx, dy
			}
		}
	}
	// Each blur reads the line; the one whose digits match best says it.
	var out []byte
	best = math.Inf(-1)
	for _, p := range refs {
		line, total := p.readLine(crop, bx, by)
		if total > best {
			best, out = total, line
		}
	}
	return string(out)
}

// readLine reads each digit of the crop around the line's shift (bx, by)
// and returns the digits and the sum of their correlations.
func (p *printedRefs) readLine(crop *image.Gray, bx, by int) ([]byte, float64) {
	out := make([]byte, len(p.cells))
	total := 0.0
	for i := range p.cells {
		var score [10]float64
		for d := range score {
			score[d] = math.Inf(-1)
			for dy := by - 1; dy <= by+1; dy++ {
				for dx := bx - 1; dx <= bx+1; dx++ {
					score[d] = math.Max(score[d], p.corr(crop, i, d, dx, dy))
				}
			}
		}
		first, second := 0, -1
		for d := 1; d < 10; d++ {
			switch {
			case score[d] > score[first]:
				first, second = d, first
			case second < 0 || score[d] > score[second]:
				second = d
			}
		}
		total += score[first]
		out[i] = '?'
		if score[first] >= printedMinCorr && score[first]-score[second] >= printedMinGap {
			out[i] = byte('0' + first)
		}
	}
	return out, total
}

// corr is the normalised correlation of digit d's reference at position i
// with the crop's window there shifted by (dx, dy) pixels; 0 for a window
// without contrast or off the crop.
func (p *printedRefs) corr(crop *image.Gray, i, d, dx, dy int) float64 {
	r := p.cells[i].Add(image.Pt(dx, dy))
	if !r.In(crop.Rect) {
		return 0
	}
	ref := p.refs[i][d]
	var dot, sum, sq float64
	j := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := crop.Pix[y*crop.Stride+r.Min.X : y*crop.Stride+r.Max.X]
		for _, v := range row {
			s := float64(255 - v)
			dot += s * float64(ref[j])
			sum += s
			sq += s * s
			j++
		}
	}
	n := float64(j)
	v := sq - sum*sum/n
	if v < n { // less than one grey level of spread: paper or a solid blot
		return 0
	}
	return dot / math.Sqrt(v)
}

// gaussian returns g blurred by a Gaussian of sigma px, edges replicated:
// OpenCV's, as the scans themselves are blurred in the tests.
func gaussian(g *image.Gray, sigma float64) (*image.Gray, error) {
	b := g.Bounds()
	m, err := gocv.NewMatFromBytes(b.Dy(), b.Dx(), gocv.MatTypeCV8UC1, packGray(g))
	if err != nil {
		return nil, err
	}
	defer m.Close()
	out := gocv.NewMat()
	defer out.Close()
	gocv.GaussianBlur(m, &out, image.Point{}, sigma, sigma, gocv.BorderReplicate)
	img, err := out.ToImage()
	if err != nil {
		return nil, err
	}
	bg, ok := img.(*image.Gray)
	if !ok {
		return nil, fmt.Errorf("blurred reference is %T, not grey", img)
	}
	return bg, nil
}
