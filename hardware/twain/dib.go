package twain

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
)

// sizeBitmapInfoHeader is sizeof(BITMAPINFOHEADER).
const sizeBitmapInfoHeader = 40

// DIB decodes a packed device-independent bitmap, what a native transfer
// hands over: a BITMAPINFOHEADER, the colour table, and the rows, bottom
// up unless the height is negative, each padded to 4 bytes. 1-, 4-, 8-
// and 24-bit uncompressed bitmaps are read, as TWAIN sources produce;
// a grey palette gives a grey image. dpi is the resolution the header
// states, 0 when it states none.
func DIB(b []byte) (img image.Image, dpi int, err error) {
	if len(b) < sizeBitmapInfoHeader {
		return nil, 0, fmt.Errorf("twain: DIB of %d bytes has no header", len(b))
	}
	hdr := le.Uint32(b[0:])
	width := int(int32(le.Uint32(b[4:])))
	height := int(int32(le.Uint32(b[8:])))
	bits := int(le.Uint16(b[14:]))
	compression := le.Uint32(b[16:])
	ppm := int(int32(le.Uint32(b[24:])))
	used := int(le.Uint32(b[32:]))
	if hdr < sizeBitmapInfoHeader || int(hdr) > len(b) {
		return nil, 0, fmt.Errorf("twain: DIB header size %d", hdr)
	}
	if compression != 0 {
		return nil, 0, fmt.Errorf("twain: compressed DIB (%d) is not supported", compression)
	}
	bottomUp := height > 0
	if height < 0 {
		height = -height
	}
	if width <= 0 || height <= 0 || width > 1<<16 || height > 1<<16 {
		return nil, 0, fmt.Errorf("twain: DIB of %d×%d pixels", width, height)
	}
	var palette color.Palette
	if bits <= 8 {
		n := used
		if n == 0 {
			n = 1 << bits
		}
		off := int(hdr)
		if off+4*n > len(b) {
			return nil, 0, errors.New("twain: DIB colour table is cut short")
		}
		for i := 0; i < n; i++ {
			q := b[off+4*i:]
			palette = append(palette, color.RGBA{R: q[2], G: q[1], B: q[0], A: 255})
		}
		b = b[off+4*n:]
	} else {
		b = b[hdr:]
	}
	stride := (width*bits + 31) / 32 * 4
	if len(b) < stride*height {
		return nil, 0, fmt.Errorf("twain: DIB holds %d bytes of pixels, %d×%d at %d bits need %d", len(b), width, height, bits, stride*height)
	}
	row := func(y int) []byte {
		if bottomUp {
			y = height - 1 - y
		}
		return b[y*stride : (y+1)*stride]
	}
	if ppm > 0 {
		dpi = int(float64(ppm)*0.0254 + 0.5)
	}
	switch bits {
	case 1, 4, 8:
		gray := isGray(palette)
		var gimg *image.Gray
		var pimg *image.Paletted
		if gray {
			gimg = image.NewGray(image.Rect(0, 0, width, height))
		} else {
			pimg = image.NewPaletted(image.Rect(0, 0, width, height), palette)
		}
		for y := 0; y < height; y++ {
			r := row(y)
			for x := 0; x < width; x++ {
				idx := index(r, x, bits)
				if idx >= len(palette) {
					return nil, 0, fmt.Errorf("twain: DIB pixel %d,%d has colour %d of %d", x, y, idx, len(palette))
				}
				if gray {
					gimg.Pix[y*gimg.Stride+x] = palette[idx].(color.RGBA).R
				} else {
					pimg.Pix[y*pimg.Stride+x] = uint8(idx)
				}
			}
		}
		if gray {
			return gimg, dpi, nil
		}
		return pimg, dpi, nil
	case 24, 32:
		step := bits / 8
		out := image.NewRGBA(image.Rect(0, 0, width, height))
		for y := 0; y < height; y++ {
			r := row(y)
			for x := 0; x < width; x++ {
				p := r[x*step:]
				i := y*out.Stride + 4*x
				out.Pix[i], out.Pix[i+1], out.Pix[i+2], out.Pix[i+3] = p[2], p[1], p[0], 255
			}
		}
		return out, dpi, nil
	}
	return nil, 0, fmt.Errorf("twain: DIB of %d bits per pixel is not supported", bits)
}

// index reads pixel x of a row of 1, 4 or 8 bits per pixel.
func index(r []byte, x, bits int) int {
	switch bits {
	case 1:
		return int(r[x/8]>>(7-x%8)) & 1
	case 4:
		return int(r[x/2]>>(4*(1-x%2))) & 0xF
	}
	return int(r[x])
}

func isGray(p color.Palette) bool {
	for _, c := range p {
		c := c.(color.RGBA)
		if c.R != c.G || c.G != c.B {
			return false
		}
	}
	return true
}

// Raster turns the rows a memory transfer collected, top down and
// uncompressed, into an image, by the image's pixel type: black and
// white (1 bit, 0 black as TWAIN's default pixel flavour has it), grey
// (8 bits) or RGB (24 bits, in R, G, B order).
func Raster(info ImageInfo, rows []byte, bytesPerRow int) (image.Image, error) {
	w, h := int(info.Width), int(info.Length)
	if w <= 0 || h <= 0 {
		return nil, fmt.Errorf("twain: image of %d×%d pixels", w, h)
	}
	need := func(bits int) error {
		if bytesPerRow < (w*bits+7)/8 || len(rows) < bytesPerRow*h {
			return fmt.Errorf("twain: %d bytes of %d-byte rows for %d×%d pixels at %d bits", len(rows), bytesPerRow, w, h, bits)
		}
		return nil
	}
	switch {
	case info.PixelType == PTBW && info.BitsPerPixel == 1:
		if err := need(1); err != nil {
			return nil, err
		}
		out := image.NewGray(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				if index(rows[y*bytesPerRow:], x, 1) == 1 {
					out.Pix[y*out.Stride+x] = 255
				}
			}
		}
		return out, nil
	case info.PixelType == PTGray && info.BitsPerPixel == 8:
		if err := need(8); err != nil {
			return nil, err
		}
		out := image.NewGray(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			copy(out.Pix[y*out.Stride:y*out.Stride+w], rows[y*bytesPerRow:])
		}
		return out, nil
	case info.PixelType == PTRGB && info.BitsPerPixel == 24 && !info.Planar:
		if err := need(24); err != nil {
			return nil, err
		}
		out := image.NewRGBA(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			r := rows[y*bytesPerRow:]
			for x := 0; x < w; x++ {
				i := y*out.Stride + 4*x
				out.Pix[i], out.Pix[i+1], out.Pix[i+2], out.Pix[i+3] = r[3*x], r[3*x+1], r[3*x+2], 255
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("twain: pixel type %d at %d bits is not supported (want black and white, grey or RGB)", info.PixelType, info.BitsPerPixel)
}

// Strips collects the strips of a memory transfer into top-down rows.
type Strips struct {
	rows        []byte
	bytesPerRow int
}

// Add copies a strip the source wrote into the raster.
func (s *Strips) Add(st MemStrip, data []byte) error {
	if st.Compression != CPNone {
		return fmt.Errorf("twain: compressed strip (%d)", st.Compression)
	}
	bpr := int(st.BytesPerRow)
	if bpr <= 0 || int(st.Rows)*bpr > len(data) {
		return fmt.Errorf("twain: strip of %d rows of %d bytes in %d bytes", st.Rows, bpr, len(data))
	}
	if s.bytesPerRow == 0 {
		s.bytesPerRow = bpr
	}
	if bpr != s.bytesPerRow {
		return fmt.Errorf("twain: strips of %d and %d bytes a row", s.bytesPerRow, bpr)
	}
	if (int64(st.YOffset)+int64(st.Rows))*int64(bpr) > 1<<30 {
		return errors.New("twain: image too large")
	}
	end := (int(st.YOffset) + int(st.Rows)) * bpr
	if end > len(s.rows) {
		s.rows = append(s.rows, make([]byte, end-len(s.rows))...)
	}
	copy(s.rows[int(st.YOffset)*bpr:end], data[:int(st.Rows)*bpr])
	return nil
}

// Image is the collected raster as an image.
func (s *Strips) Image(info ImageInfo) (image.Image, error) {
	return Raster(info, s.rows, s.bytesPerRow)
}

// PNG encodes a page image losslessly, as the station stores it.
func PNG(img image.Image) ([]byte, error) {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
