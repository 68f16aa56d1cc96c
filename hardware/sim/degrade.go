package sim

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"math"
	"math/rand/v2"

	"gocv.io/x/gocv"
)

// degrade turns the printed page and its pen layer into the encoded file a
// scanner would deliver: the pen's ink on the print, a torn corner, the
// paper's position on the glass (turn, skew, shift and the real dpi in one
// affine warp, so the page is resampled once), optical blur, paper and ink
// levels, uneven light, sensor noise, and the file format.
//
// OpenCV does the warp, the blur and the encoding, which are many times
// faster there than in pure Go; the per-pixel arithmetic stays in Go where
// it is deterministic by construction.
func degrade(print *image.Gray, pen *penLayer, ink float64, p scanParams, renderDPI float64, r *rand.Rand) ([]byte, error) {
	pix := print.Pix
	if p.faint < 1 {
		var lut [256]uint8
		for i := range lut {
			lut[i] = uint8(255 - (255-float64(i))*p.faint + 0.5)
		}
		for i, v := range pix {
			pix[i] = lut[v]
		}
	}
	if ink > 0 {
		for i, c := range pen.img.Pix {
			if c != 0 {
				pix[i] = uint8(float64(pix[i])*(1-float64(c)/255*ink) + 0.5)
			}
		}
	}
	if p.torn >= 0 {
		tearCorner(print, p, renderDPI/25.4)
	}

	w, h := print.Rect.Dx(), print.Rect.Dy()
	src, err := gocv.NewMatFromBytes(h, w, gocv.MatTypeCV8U, pix)
	if err != nil {
		return nil, fmt.Errorf("scan: %w", err)
	}
	defer src.Close()
	img := src
	if p.turn != 0 || p.skew != 0 || p.shiftX != 0 || p.shiftY != 0 || p.dpiErr != 0 || p.overscan != 0 {
		warped, err := place(src, p, float64(w), float64(h))
		if err != nil {
			return nil, err
		}
		defer warped.Close()
		img = warped
	}
	if sigma := p.blur * float64(p.dpi) / 300; sigma >= 0.2 {
		blurred := gocv.NewMat()
		defer blurred.Close()
		gocv.GaussianBlur(img, &blurred, image.Point{}, sigma, sigma, gocv.BorderReplicate)
		img = blurred
	}
	grey, err := img.DataPtrUint8()
	if err != nil {
		return nil, fmt.Errorf("scan: %w", err)
	}
	out, channels := expose(grey, img.Cols(), img.Rows(), p, r)
	mt := gocv.MatTypeCV8U
	if channels == 3 {
		mt = gocv.MatTypeCV8UC3
	}
	final, err := gocv.NewMatFromBytes(img.Rows(), img.Cols(), mt, out)
	if err != nil {
		return nil, fmt.Errorf("scan: %w", err)
	}
	defer final.Close()
	return encode(final, p)
}

// place warps the page onto the scanner's canvas: the page centre goes to
// the canvas centre plus the shift, turned by the quarter turn plus the
// skew. Pixels of the render are (1 + dpi error) times the nominal size,
// so the same warp at scale 1 also makes the real dpi differ from the
// nominal one.
func place(src gocv.Mat, p scanParams, w, h float64) (gocv.Mat, error) {
	n := float64(p.dpi) / 25.4 // canvas pixels per mm
	cw := math.Round((210 + 2*p.overscan) * n)
	ch := math.Round((297 + 2*p.overscan) * n)
	if p.turn == 90 || p.turn == 270 {
		cw, ch = ch, cw
	}
	a := (float64(p.turn) + p.skew) * math.Pi / 180
	cos, sin := math.Cos(a), math.Sin(a)
	// Continuous coordinates (pixel edges at integers): q = R·(s − cp) + cc.
	cpx, cpy := w/2, h/2
	ccx, ccy := cw/2+p.shiftX*n, ch/2+p.shiftY*n
	tx := ccx - (cos*cpx - sin*cpy)
	ty := ccy - (sin*cpx + cos*cpy)
	// OpenCV puts pixel centres at integers: shift by half a pixel both ways.
	tx += (cos*0.5 - sin*0.5) - 0.5
	ty += (sin*0.5 + cos*0.5) - 0.5
	m := gocv.NewMatWithSize(2, 3, gocv.MatTypeCV64F)
	defer m.Close()
	for i, v := range []float64{cos, -sin, tx, sin, cos, ty} {
		m.SetDoubleAt(i/3, i%3, v)
	}
	dst := gocv.NewMat()
	bg := uint8(p.bg + 0.5)
	gocv.WarpAffineWithParams(src, &dst, m, image.Pt(int(cw), int(ch)), gocv.InterpolationLinear,
		gocv.BorderConstant, color.RGBA{bg, bg, bg, 255})
	if dst.Empty() {
		dst.Close()
		return gocv.Mat{}, errors.New("scan: warp produced no image")
	}
	return dst, nil
}

// tearCorner removes a corner of the paper along a ragged line; the
// scanner's background shows through.
func tearCorner(img *image.Gray, p scanParams, scale float64) {
	r := rand.New(rand.NewPCG(p.tornSeed, 7))
	var waves [3][3]float64 // amplitude mm, frequency, phase
	for i := range waves {
		waves[i] = [3]float64{uniform(r, 0.2, 0.8) / float64(i+1), uniform(r, 0.3, 1.5) * float64(i+1), uniform(r, 0, 2*math.Pi)}
	}
	w, h := img.Rect.Dx(), img.Rect.Dy()
	bg := uint8(p.bg + 0.5)
	a, b := p.tornA*scale, p.tornB*scale
	for y := 0; y < int(b)+2 && y < h; y++ {
		dy := float64(y) + 0.5
		// Distance from the corner along the top or bottom edge that is torn
		// at this distance from it, with the ragged line's wobble.
		edge := a * (1 - dy/b)
		for _, wv := range waves {
			edge += wv[0] * scale * math.Sin(wv[1]*dy/scale+wv[2])
		}
		n := int(math.Max(0, math.Min(float64(w), edge)))
		row := y
		if p.torn >= 2 { // bottom corners
			row = h - 1 - y
		}
		line := img.Pix[row*img.Stride : row*img.Stride+w]
		if p.torn == 0 || p.torn == 3 {
			for x := 0; x < n; x++ {
				line[x] = bg
			}
		} else {
			for x := w - n; x < w; x++ {
				line[x] = bg
			}
		}
	}
}

// expose maps the warped page to what the sensor records: paper and ink
// levels, uneven light, noise; in colour with a paper tint, or thresholded
// to 1 bit. It returns the pixels and their channel count.
func expose(grey []uint8, w, h int, p scanParams, r *rand.Rand) ([]uint8, int) {
	// Uneven light as 1 − depth·(A[x] + B[y]): a gradient in some
	// direction and a vignette, both separable so the loop stays cheap.
	R := math.Hypot(float64(w), float64(h)) / 2
	cos, sin := math.Cos(p.lightDir), math.Sin(p.lightDir)
	ax := make([]float32, w)
	for x := range ax {
		dx := float64(x) - float64(w)/2
		ax[x] = float32(p.light * (0.3*dx*cos/R + 0.4*dx*dx/(R*R)))
	}
	by := make([]float32, h)
	for y := range by {
		dy := float64(y) - float64(h)/2
		by[y] = float32(p.light * (0.3 + 0.3*dy*sin/R + 0.4*dy*dy/(R*R)))
	}
	// Gaussian noise from a table indexed by a xorshift generator: the
	// table and the generator's seed come from the page's stream. A sparse
	// table (most entries zero) gives the speckle of a good sensor, which
	// also keeps lossless files small.
	var table [4096]float32
	for i := range table {
		if p.sparse == 0 || i%p.sparse == 0 {
			table[i] = float32(r.NormFloat64() * p.noise)
		}
	}
	state := r.Uint64() | 1
	black, span := float32(p.black), float32(p.white-p.black)/255
	channels := 1
	tint := [3]float32{1, 1, 1}
	if p.color {
		channels = 3
		tint = [3]float32{float32(uniform(r, 0.9, 0.97)), float32(uniform(r, 0.95, 0.99)), 1} // B, G, R: warm paper
	}
	// Lineart scanners set the threshold high enough to keep faint print
	// and pencil, still above the 15 % dropout grey.
	threshold := float32(p.black + 0.75*(p.white-p.black))
	var levels [256]float32 // paper and ink levels of each grey value
	for i := range levels {
		levels[i] = black + span*float32(i)
	}
	out := make([]uint8, w*h*channels)
	for y := 0; y < h; y++ {
		row := grey[y*w : y*w+w]
		o := out[y*w*channels : (y+1)*w*channels]
		ly := 1 - by[y]
		if channels == 1 && !p.bilevel {
			// The common case, kept free of branches.
			for x, v := range row {
				state ^= state << 13
				state ^= state >> 7
				state ^= state << 17
				o[x] = clamp8(levels[v]*(ly-ax[x]) + table[state>>52])
			}
			continue
		}
		for x, v := range row {
			level := levels[v] * (ly - ax[x])
			for c := 0; c < channels; c++ {
				state ^= state << 13
				state ^= state >> 7
				state ^= state << 17
				l := level*tint[c] + table[state>>52]
				if p.bilevel {
					if l < threshold {
						l = 0
					} else {
						l = 255
					}
				}
				o[x*channels+c] = clamp8(l)
			}
		}
	}
	return out, channels
}

func clamp8(v float32) uint8 {
	return uint8(min(max(v+0.5, 0), 255))
}

// OpenCV's PNG writer flag for 1-bit output (IMWRITE_PNG_BILEVEL), which
// gocv v0.31 does not name.
const imwritePNGBilevel = 18

// encode writes the image in the page's format and records the nominal
// resolution in the file, as scanners do.
func encode(m gocv.Mat, p scanParams) ([]byte, error) {
	var ext gocv.FileExt
	var params []int
	switch {
	case p.format == "jpeg":
		ext, params = gocv.JPEGFileExt, []int{gocv.IMWriteJpegQuality, p.quality}
	case p.bilevel:
		ext, params = gocv.PNGFileExt, []int{gocv.IMWritePngCompression, 6, imwritePNGBilevel, 1}
	default:
		ext = gocv.PNGFileExt // OpenCV's default: SUB filter, fastest zlib level, RLE
	}
	var buf *gocv.NativeByteBuffer
	var err error
	if params == nil {
		buf, err = gocv.IMEncode(ext, m) // gocv fails on an empty parameter list
	} else {
		buf, err = gocv.IMEncodeWithParams(ext, m, params)
	}
	if err != nil {
		return nil, fmt.Errorf("scan: encode %s: %w", p.format, err)
	}
	defer buf.Close()
	data := append([]byte(nil), buf.GetBytes()...)
	if p.format == "jpeg" {
		return jpegDensity(data, p.dpi), nil
	}
	return pngDensity(data, p.dpi)
}

// jpegDensity sets the JFIF header's density to dpi (libjpeg writes 1:1
// aspect without units).
func jpegDensity(data []byte, dpi int) []byte {
	if len(data) > 18 && data[2] == 0xFF && data[3] == 0xE0 && string(data[6:11]) == "JFIF\x00" {
		data[13] = 1 // dots per inch
		binary.BigEndian.PutUint16(data[14:], uint16(dpi))
		binary.BigEndian.PutUint16(data[16:], uint16(dpi))
	}
	return data
}

// pngDensity inserts a pHYs chunk with dpi after the IHDR chunk.
func pngDensity(data []byte, dpi int) ([]byte, error) {
	const ihdrEnd = 8 + 4 + 4 + 13 + 4
	if len(data) < ihdrEnd || string(data[12:16]) != "IHDR" {
		return nil, errors.New("scan: encoder wrote no PNG header")
	}
	ppm := uint32(math.Round(float64(dpi) / 0.0254))
	chunk := make([]byte, 4+4+9+4)
	binary.BigEndian.PutUint32(chunk[0:], 9)
	copy(chunk[4:], "pHYs")
	binary.BigEndian.PutUint32(chunk[8:], ppm)
	binary.BigEndian.PutUint32(chunk[12:], ppm)
	chunk[16] = 1 // metres
	binary.BigEndian.PutUint32(chunk[17:], crc32.ChecksumIEEE(chunk[4:17]))
	out := make([]byte, 0, len(data)+len(chunk))
	out = append(out, data[:ihdrEnd]...)
	out = append(out, chunk...)
	return append(out, data[ihdrEnd:]...), nil
}
