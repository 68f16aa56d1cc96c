package imagein

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"

	"github.com/pdfcpu/pdfcpu/pkg/filter"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
	"gocv.io/x/gocv"
	"golang.org/x/image/ccitt"
)

// decodePDFImage turns one image XObject into a grey Mat. Encoded formats
// (JPEG, JPEG 2000) go to OpenCV after their own header is checked, fax
// data to x/image/ccitt, and plain samples are converted here.
func decodePDFImage(img *pdfImage, limits Limits, info *Info) (gocv.Mat, error) {
	fl := img.filters
	last := ""
	if len(fl) > 0 {
		last = fl[len(fl)-1].Name
	}
	// Raw samples of an accepted page never exceed 4 bytes per pixel plus
	// row padding; anything longer is not this image.
	limit := img.w*img.h*4 + img.h*8 + 1<<20
	var (
		m   gocv.Mat
		err error
	)
	switch last {
	case filter.DCT, filter.JPX, filter.CCITTFax, filter.JBIG2:
		if last == filter.JBIG2 {
			return gocv.Mat{}, errorf(ErrUnsupported, "JBIG2 image in PDF")
		}
		data := img.raw
		if len(fl) > 1 {
			if data, err = decodeFilters(fl[:len(fl)-1], img.raw, limit); err != nil {
				return gocv.Mat{}, err
			}
		}
		switch last {
		case filter.DCT:
			m, err = decodePDFJPEG(data, limits, info)
		case filter.JPX:
			m, err = decodePDFJPX(data, limits, info)
		default:
			m, err = decodePDFCCITT(data, img, fl[len(fl)-1].DecodeParms, info)
		}
	default:
		info.Compression = "none"
		switch last {
		case filter.Flate:
			info.Compression = "deflate"
		case filter.LZW:
			info.Compression = "lzw"
		case filter.RunLength:
			info.Compression = "packbits"
		}
		if img.csErr != nil {
			return gocv.Mat{}, img.csErr
		}
		var data []byte
		if data, err = decodeFilters(fl, img.raw, limit); err != nil {
			return gocv.Mat{}, err
		}
		info.Model = img.cs.model(img.bpc)
		m, err = samplesToMat(data, int(img.w), int(img.h), img.bpc, img.cs)
	}
	if err != nil {
		return gocv.Mat{}, err
	}
	if img.invert {
		gocv.BitwiseNot(m, &m)
	}
	return m, nil
}

func (cs colourSpace) model(bpc int) ColourModel {
	switch cs.kind {
	case csGrey, csInverse:
		if bpc == 1 {
			return ModelBilevel
		}
		return ModelGrey
	case csIndexed:
		return ModelPalette
	}
	return ModelColour
}

func decodePDFJPEG(data []byte, limits Limits, info *Info) (gocv.Mat, error) {
	p, err := openJPEG(data, limits)
	if err != nil {
		return gocv.Mat{}, err
	}
	s := p.(*singleImage)
	info.Compression, info.Model, info.BitsPerSample = s.info.Compression, s.info.Model, s.info.BitsPerSample
	m, _, err := s.page(0)
	return m, err
}

func decodePDFJPX(data []byte, limits Limits, info *Info) (gocv.Mat, error) {
	w, h, n, err := parseJPX(data)
	if err != nil {
		return gocv.Mat{}, err
	}
	info.Compression, info.Model = "jpeg2000", ModelGrey
	if n > 1 {
		info.Model = ModelColour
	}
	s := &singleImage{data: data, limits: limits, w: w, h: h}
	m, _, err := s.page(0)
	return m, err
}

// parseJPX reads the image size from a JPEG 2000 file (the ihdr box of a
// JP2) or a bare codestream (the SIZ marker), as OpenCV's openjpeg decoder
// will allocate it.
func parseJPX(data []byte) (w, h int64, n int, err error) {
	if bytes.HasPrefix(data, []byte{0xFF, 0x4F, 0xFF, 0x51}) {
		if len(data) < 4+2+2+16+22 {
			return 0, 0, 0, errorf(ErrTruncated, "JPEG 2000 header")
		}
		siz := data[6:]
		xs, ys := binary.BigEndian.Uint32(siz[2:]), binary.BigEndian.Uint32(siz[6:])
		xo, yo := binary.BigEndian.Uint32(siz[10:]), binary.BigEndian.Uint32(siz[14:])
		if xo >= xs || yo >= ys {
			return 0, 0, 0, errorf(ErrCorrupt, "JPEG 2000 image size")
		}
		return int64(xs - xo), int64(ys - yo), int(binary.BigEndian.Uint16(siz[34:])), nil
	}
	if !bytes.HasPrefix(data, []byte("\x00\x00\x00\x0cjP  \r\n\x87\n")) {
		return 0, 0, 0, errorf(ErrCorrupt, "not JPEG 2000 data")
	}
	// Top-level boxes, then the boxes inside jp2h.
	for pos, end := 12, len(data); pos+8 <= end; {
		size := int64(binary.BigEndian.Uint32(data[pos:]))
		typ := string(data[pos+4 : pos+8])
		hdr := int64(8)
		if size == 1 {
			if pos+16 > end {
				break
			}
			size, hdr = int64(binary.BigEndian.Uint64(data[pos+8:])), 16
		} else if size == 0 {
			size = int64(end - pos)
		}
		if size < hdr || size > int64(end-pos) {
			return 0, 0, 0, errorf(ErrTruncated, "JPEG 2000 box %q", typ)
		}
		switch typ {
		case "jp2h":
			// Descend: continue the walk inside the header box.
			end = pos + int(size)
			pos += int(hdr)
			continue
		case "ihdr":
			if size-hdr < 14 {
				return 0, 0, 0, errorf(ErrCorrupt, "JPEG 2000 image header")
			}
			b := data[pos+int(hdr):]
			return int64(binary.BigEndian.Uint32(b[4:])), int64(binary.BigEndian.Uint32(b)), int(binary.BigEndian.Uint16(b[8:])), nil
		}
		pos += int(size)
	}
	return 0, 0, 0, errorf(ErrCorrupt, "JPEG 2000 without an image header")
}

// decodePDFCCITT decodes fax data straight into the Mat's memory.
func decodePDFCCITT(data []byte, img *pdfImage, parms types.Dict, info *Info) (m gocv.Mat, err error) {
	intParm := func(key string, def int) int {
		switch v := parms[key].(type) {
		case types.Integer:
			return v.Value()
		case types.Boolean:
			if v.Value() {
				return 1
			}
			return 0
		}
		return def
	}
	k := intParm("K", 0)
	cols := int64(intParm("Columns", 1728))
	rows := int64(intParm("Rows", int(img.h)))
	info.Model, info.BitsPerSample = ModelBilevel, 1
	sf := ccitt.Group3
	info.Compression = "ccitt-g3"
	if k < 0 {
		sf, info.Compression = ccitt.Group4, "ccitt-g4"
	} else if k > 0 {
		return gocv.Mat{}, errorf(ErrUnsupported, "two-dimensional CCITT group 3 (K=%d) in PDF", k)
	}
	if cols != img.w || rows != img.h {
		return gocv.Mat{}, errorf(ErrCorrupt, "CCITT data is %d×%d, image is %d×%d", cols, rows, img.w, img.h)
	}
	opts := &ccitt.Options{Invert: intParm("BlackIs1", 0) == 1, Align: intParm("EncodedByteAlign", 0) == 1}
	m = gocv.NewMatWithSize(int(rows), int(cols), gocv.MatTypeCV8UC1)
	err = func() (err error) {
		defer recoverTo(&err, "CCITT data")
		pix, err := m.DataPtrUint8()
		if err != nil {
			return err
		}
		dst := &image.Gray{Pix: pix, Stride: int(cols), Rect: image.Rect(0, 0, int(cols), int(rows))}
		return ccitt.DecodeIntoGray(dst, bytes.NewReader(data), ccitt.MSB, sf, opts)
	}()
	if err != nil {
		m.Close()
		return gocv.Mat{}, fmt.Errorf("%w: CCITT: %v", ErrCorrupt, err)
	}
	return m, nil
}

// samplesToMat converts uncompressed PDF image samples to grey.
func samplesToMat(data []byte, w, h, bpc int, cs colourSpace) (gocv.Mat, error) {
	switch bpc {
	case 1, 2, 4, 8, 16:
	default:
		return gocv.Mat{}, errorf(ErrCorrupt, "PDF image with %d bits per component", bpc)
	}
	if cs.n < 1 {
		return gocv.Mat{}, errorf(ErrCorrupt, "PDF image without a colour space")
	}
	stride := (w*cs.n*bpc + 7) / 8
	if len(data) < stride*h {
		return gocv.Mat{}, errorf(ErrTruncated, "PDF image data has %d of %d bytes", len(data), stride*h)
	}
	// The common scanner cases take OpenCV or table-driven paths; the
	// general loop below is there for correctness, not speed.
	if bpc == 8 && cs.kind == csRGB {
		rgb := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC3)
		defer rgb.Close()
		pix, err := rgb.DataPtrUint8()
		if err != nil {
			return gocv.Mat{}, err
		}
		copy(pix, data[:stride*h])
		m := gocv.NewMat()
		gocv.CvtColor(rgb, &m, gocv.ColorRGBToGray)
		return m, nil
	}
	m := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC1)
	pix, err := m.DataPtrUint8()
	if err != nil {
		m.Close()
		return gocv.Mat{}, err
	}
	switch {
	case bpc == 8 && cs.kind == csGrey:
		copy(pix, data[:stride*h])
		return m, nil
	case bpc == 1 && cs.kind == csGrey:
		for y := 0; y < h; y++ {
			row, out := data[y*stride:], pix[y*w:(y+1)*w]
			for x := 0; x < w; x += 8 {
				copy(out[x:], bitExpand[row[x/8]][:min(8, w-x)])
			}
		}
		return m, nil
	}
	max := uint32(1)<<bpc - 1
	if bpc == 16 {
		max = 255 // only the high byte is read
	}
	scale := func(v uint32) uint32 { return v * 255 / max }
	for y := 0; y < h; y++ {
		row := data[y*stride : (y+1)*stride]
		bit := 0
		next := func() uint32 {
			var v uint32
			switch bpc {
			case 8:
				v = uint32(row[bit/8])
			case 16:
				v = uint32(row[bit/8])
			default:
				v = uint32(row[bit/8]>>(8-bpc-bit%8)) & max
			}
			bit += bpc
			return v
		}
		out := pix[y*w : (y+1)*w]
		for x := range out {
			var s [4]uint32
			for c := 0; c < cs.n; c++ {
				s[c] = next()
			}
			if cs.kind == csIndexed {
				idx := min(int(s[0]), cs.hival)
				out[x] = cs.base.grey(cs.lookup[idx*cs.base.n:], func(v uint32) uint32 { return v })
				continue
			}
			out[x] = cs.greyOf(s, scale)
		}
	}
	return m, nil
}

// grey converts the components at p (bytes) in this space to grey.
func (cs *colourSpace) grey(p []byte, scale func(uint32) uint32) uint8 {
	var s [4]uint32
	for c := 0; c < cs.n; c++ {
		s[c] = uint32(p[c])
	}
	return cs.greyOf(s, scale)
}

// greyOf uses the Rec. 601 luma weights, as OpenCV's RGB2GRAY does, so a
// page reads the same whichever path it took.
func (cs *colourSpace) greyOf(s [4]uint32, scale func(uint32) uint32) uint8 {
	switch cs.kind {
	case csRGB:
		return uint8((299*scale(s[0]) + 587*scale(s[1]) + 114*scale(s[2]) + 500) / 1000)
	case csCMYK:
		v := (299*scale(s[0])+587*scale(s[1])+114*scale(s[2])+500)/1000 + scale(s[3])
		return uint8(255 - min(v, 255))
	case csInverse:
		return uint8(255 - scale(s[0]))
	}
	return uint8(scale(s[0]))
}

// bitExpand maps a byte of 1-bit samples to eight grey pixels (0 black,
// 255 white), most significant bit first.
var bitExpand = func() (t [256][8]byte) {
	for b := range t {
		for i := 0; i < 8; i++ {
			if b&(0x80>>i) != 0 {
				t[b][i] = 255
			}
		}
	}
	return t
}()
