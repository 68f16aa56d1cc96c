// Package g4 encodes bilevel (1-bit) images with CCITT Group 4 (ITU-T T.6)
// compression and wraps them as TIFF files (compression 4, photometric
// min-is-white), the format in which the station archives and sends scanned
// blanks: a typical form page at 300 dpi takes a few tens of kilobytes.
//
// Only bilevel images are handled. A page kept in grey (a grey profile of
// the scan) is the caller's to encode, e.g. as JPEG; transport stays free of
// image-processing libraries and just carries the resulting file.
package g4

import (
	"fmt"
	"image"
	"io"
	"math/bits"
)

// Bitmap is a bilevel image packed 8 pixels a byte, most significant bit
// first, with 1 for black: the layout of a min-is-white TIFF strip.
type Bitmap struct {
	Width, Height int
	// Stride is the number of bytes between the starts of two rows; at
	// least (Width+7)/8. Bits past Width in a row are ignored.
	Stride int
	Pix    []byte
}

// NewBitmap returns an all-white bitmap of the given size.
func NewBitmap(width, height int) *Bitmap {
	stride := (width + 7) / 8
	return &Bitmap{Width: width, Height: height, Stride: stride, Pix: make([]byte, stride*height)}
}

// Row returns the packed pixels of row y.
func (b *Bitmap) Row(y int) []byte {
	return b.Pix[y*b.Stride : y*b.Stride+(b.Width+7)/8]
}

// Black reports whether the pixel at (x, y) is black.
func (b *Bitmap) Black(x, y int) bool {
	return b.Pix[y*b.Stride+x/8]&(0x80>>(x%8)) != 0
}

// Set makes the pixel at (x, y) black or white.
func (b *Bitmap) Set(x, y int, black bool) {
	i, m := y*b.Stride+x/8, byte(0x80>>(x%8))
	if black {
		b.Pix[i] |= m
	} else {
		b.Pix[i] &^= m
	}
}

// Threshold turns a grey image into a bitmap: a pixel is black when its
// grey value is below level (so level 128 splits the range in halves, and
// level 0 gives an all-white page).
func Threshold(img *image.Gray, level uint8) *Bitmap {
	r := img.Bounds()
	b := NewBitmap(r.Dx(), r.Dy())
	for y := 0; y < r.Dy(); y++ {
		src := img.Pix[img.PixOffset(r.Min.X, r.Min.Y+y):]
		dst := b.Row(y)
		for x := 0; x < r.Dx(); x++ {
			if src[x] < level {
				dst[x/8] |= 0x80 >> (x % 8)
			}
		}
	}
	return b
}

// Encoder writes one image as a G4 stream, a row at a time, so a page need
// not be held whole in memory.
type Encoder struct {
	w      io.Writer
	width  int
	bw     bitWriter
	ref    []int // changing elements of the previous row, with sentinels
	cur    []int
	closed bool
}

// NewEncoder returns an encoder for rows of width pixels that writes to w.
func NewEncoder(w io.Writer, width int) (*Encoder, error) {
	if width <= 0 {
		return nil, fmt.Errorf("g4: image width %d: want at least 1 pixel", width)
	}
	e := &Encoder{w: w, width: width}
	e.bw.w = w
	// The row above the first is white: no changing elements.
	e.ref = []int{width, width, width}
	return e, nil
}

// WriteRow encodes one row: (width+7)/8 packed bytes, 1 = black.
func (e *Encoder) WriteRow(row []byte) error {
	if e.closed {
		return fmt.Errorf("g4: row written after Close")
	}
	if len(row) < (e.width+7)/8 {
		return fmt.Errorf("g4: row of %d bytes is short for width %d", len(row), e.width)
	}
	e.cur = changes(row, e.width, e.cur[:0])
	e.codeRow()
	e.ref, e.cur = e.cur, e.ref
	return e.bw.err
}

// Close ends the stream with EOFB and pads it to a whole byte. It does not
// close the underlying writer.
func (e *Encoder) Close() error {
	if e.closed {
		return nil
	}
	e.closed = true
	e.bw.put(codeEOL)
	e.bw.put(codeEOL)
	return e.bw.flush()
}

// Encode writes b as a G4 stream.
func Encode(w io.Writer, b *Bitmap) error {
	e, err := NewEncoder(w, b.Width)
	if err != nil {
		return err
	}
	for y := 0; y < b.Height; y++ {
		if err := e.WriteRow(b.Row(y)); err != nil {
			return err
		}
	}
	return e.Close()
}

// changes appends to dst the changing elements of a packed row (positions
// whose colour differs from the pixel to their left; the pixel left of the
// row is white), followed by three sentinels at width so that a1, a2, b1
// and b2 past the last change read as "end of row".
func changes(row []byte, width int, dst []int) []int {
	black := false
	x := 0
	for x < width {
		by := row[x/8]
		if black {
			by = ^by
		}
		by <<= uint(x % 8) // pixels left of x are out of the search
		if by == 0 {
			x = (x/8 + 1) * 8 // no change in the rest of this byte
			continue
		}
		x += bits.LeadingZeros8(by)
		if x >= width {
			break
		}
		dst = append(dst, x)
		black = !black
	}
	return append(dst, width, width, width)
}

// codeRow codes e.cur against e.ref (T.6 §2.2.3, the two-dimensional coding
// procedure without EOL).
func (e *Encoder) codeRow() {
	ref, cur, w := e.ref, e.cur, e.width
	a0 := -1
	white := true // colour of a0
	bi, ai := 0, 0
	for a0 < w {
		for ref[bi] <= a0 {
			bi++
		}
		// Changing elements alternate colour, the first (index 0) turning
		// to black: b1 is the first change past a0 to the colour opposite
		// a0's, so ref[bi] or the one after it.
		k := bi
		if (k%2 == 0) != white {
			k++
		}
		b1, b2 := ref[k], ref[k+1]
		for cur[ai] <= a0 {
			ai++
		}
		a1 := cur[ai]
		switch d := a1 - b1; {
		case b2 < a1:
			e.bw.put(codePass)
			a0 = b2
		case d >= -3 && d <= 3:
			e.bw.put(codeVertical[d+3])
			a0 = a1
			white = !white
		default:
			a2 := cur[ai+1]
			e.bw.put(codeHorizontal)
			e.bw.run(a1-max(a0, 0), white)
			e.bw.run(a2-a1, !white)
			a0 = a2
		}
	}
}

// bitWriter packs codes most significant bit first.
type bitWriter struct {
	w   io.Writer
	acc uint64 // pending bits, right-aligned
	n   uint   // how many
	buf []byte
	err error
}

func (b *bitWriter) put(c code) {
	b.acc = b.acc<<c.n | uint64(c.bits)
	b.n += uint(c.n)
	for b.n >= 8 {
		b.n -= 8
		b.buf = append(b.buf, byte(b.acc>>b.n))
	}
	if len(b.buf) >= 4096 {
		b.drain()
	}
}

// run writes a run length of one colour: make-up codes for the multiples of
// 64 (several of 2560 for very wide rows), then a terminating code.
func (b *bitWriter) run(n int, white bool) {
	term, makeup := &blackTerm, &blackMakeup
	if white {
		term, makeup = &whiteTerm, &whiteMakeup
	}
	for n >= 2560+64 {
		b.put(makeup[40])
		n -= 2560
	}
	if n >= 64 {
		b.put(makeup[n/64])
		n %= 64
	}
	b.put(term[n])
}

func (b *bitWriter) drain() {
	if b.err == nil && len(b.buf) > 0 {
		_, b.err = b.w.Write(b.buf)
	}
	b.buf = b.buf[:0]
}

// flush pads the last byte with zero bits and writes everything out.
func (b *bitWriter) flush() error {
	if b.n > 0 {
		b.buf = append(b.buf, byte(b.acc<<(8-b.n)))
		b.n = 0
	}
	b.drain()
	if b.err != nil {
		return fmt.Errorf("g4: write: %w", b.err)
	}
	return nil
}
