package imagein

import (
	"bytes"
	"encoding/binary"

	"gocv.io/x/gocv"
)

// singleImage is a file that is one encoded image (JPEG, PNG, one TIFF page
// re-wrapped): checked header, then OpenCV.
type singleImage struct {
	data   []byte
	limits Limits
	w, h   int64
	// rotatable allows the decoded Mat to come out with width and height
	// swapped: OpenCV applies a JPEG's Exif orientation.
	rotatable bool
	// jpeg: libjpeg can decode the image reduced in the DCT domain.
	jpeg bool
	info Info
	// err is a problem found while parsing that makes the page, not the
	// file, unreadable (a truncated body, an unsupported encoding).
	err error
}

func (s *singleImage) pages() int { return 1 }

func (s *singleImage) page(int) (gocv.Mat, Info, error) { return s.decode(1) }

func (s *singleImage) pageReduced(_, minLong int) (gocv.Mat, Info, error) {
	denom := 1
	if s.jpeg {
		long := max(s.w, s.h)
		for denom < 8 && long/int64(2*denom) >= int64(minLong) {
			denom *= 2
		}
	}
	return s.decode(denom)
}

func (s *singleImage) decode(denom int) (gocv.Mat, Info, error) {
	if s.err != nil {
		return gocv.Mat{}, Info{}, s.err
	}
	if err := s.limits.checkSize(s.w, s.h); err != nil {
		return gocv.Mat{}, Info{}, err
	}
	m, err := cvDecodeReduced(s.data, denom)
	if err != nil {
		return gocv.Mat{}, Info{}, err
	}
	// The header check above is only worth something if OpenCV decoded
	// the image the header describes; a mismatch means the parsers
	// disagree about the file, which we treat as damage. libjpeg rounds a
	// reduced size up.
	d := int64(denom)
	w, h := (s.w+d-1)/d, (s.h+d-1)/d
	r, c := int64(m.Rows()), int64(m.Cols())
	if !(r == h && c == w) && !(s.rotatable && r == w && c == h) {
		m.Close()
		return gocv.Mat{}, Info{}, errorf(ErrCorrupt, "header says %d×%d, decoded %d×%d", w, h, c, r)
	}
	info := s.info
	info.Reduced = denom
	return m, info, nil
}

// jpegHeader is what the station needs from a JPEG before decoding it.
type jpegHeader struct {
	width, height int64
	components    int
	precision     int
	sof           byte // the frame marker, C0…CF
	dpiX, dpiY    float64
	// scans counts the scan headers; a progressive JPEG normally has
	// about ten, and each one costs libjpeg a pass over the whole image.
	scans int
	// complete is true when an EOI marker follows the scan data; libjpeg
	// silently pads a cut-off file with grey, so this is the only way to
	// tell a truncated scan from a good one.
	complete bool
}

// parseJPEG walks the marker segments up to the first scan the way libjpeg
// does (skipping stray bytes between markers), so that the frame size found
// here is the one OpenCV will allocate.
func parseJPEG(data []byte) (jpegHeader, error) {
	var h jpegHeader
	if len(data) < 3 || data[0] != 0xFF || data[1] != 0xD8 {
		return h, errorf(ErrCorrupt, "no JPEG start marker")
	}
	pos := 2
	haveSOF := false
	for {
		// Find the next marker: 0xFF, any number of fill 0xFF, a code.
		for pos < len(data) && data[pos] != 0xFF {
			pos++
		}
		for pos < len(data) && data[pos] == 0xFF {
			pos++
		}
		if pos >= len(data) {
			return h, errorf(ErrTruncated, "JPEG ends before the image data")
		}
		m := data[pos]
		pos++
		switch {
		case m == 0x00 || m == 0x01 || (m >= 0xD0 && m <= 0xD7):
			continue // stuffed byte or standalone marker: no length
		case m == 0xD8:
			return h, errorf(ErrCorrupt, "second JPEG start marker before the image data")
		case m == 0xD9:
			return h, errorf(ErrCorrupt, "JPEG has no image data")
		}
		if pos+2 > len(data) {
			return h, errorf(ErrTruncated, "JPEG ends inside a header")
		}
		n := int(binary.BigEndian.Uint16(data[pos:]))
		if n < 2 {
			return h, errorf(ErrCorrupt, "JPEG segment length %d", n)
		}
		if pos+n > len(data) {
			return h, errorf(ErrTruncated, "JPEG ends inside a header")
		}
		seg := data[pos+2 : pos+n]
		pos += n
		switch {
		case m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC:
			if haveSOF {
				return h, errorf(ErrCorrupt, "JPEG has two frame headers")
			}
			if len(seg) < 6 {
				return h, errorf(ErrCorrupt, "JPEG frame header too short")
			}
			haveSOF = true
			h.sof = m
			h.precision = int(seg[0])
			h.height = int64(binary.BigEndian.Uint16(seg[1:]))
			h.width = int64(binary.BigEndian.Uint16(seg[3:]))
			h.components = int(seg[5])
		case m == 0xE0 && bytes.HasPrefix(seg, []byte("JFIF\x00")) && len(seg) >= 12 && h.dpiX == 0:
			h.dpiX, h.dpiY = density(seg[7], binary.BigEndian.Uint16(seg[8:]), binary.BigEndian.Uint16(seg[10:]))
		case m == 0xE1 && bytes.HasPrefix(seg, []byte("Exif\x00\x00")) && h.dpiX == 0:
			h.dpiX, h.dpiY = exifDensity(seg[6:])
		case m == 0xDA:
			if !haveSOF {
				return h, errorf(ErrCorrupt, "JPEG scan before the frame header")
			}
			// In entropy-coded data 0xFF is always followed by 0x00 or a
			// restart marker, so FF D9 after the first scan is the end.
			h.complete = bytes.LastIndex(data[pos:], []byte{0xFF, 0xD9}) >= 0
			h.scans = 1 + bytes.Count(data[pos:], []byte{0xFF, 0xDA})
			return h, nil
		}
	}
}

// density converts a JFIF density to dots per inch; unit 0 is an aspect
// ratio only, so the resolution stays unknown.
func density(unit byte, x, y uint16) (float64, float64) {
	switch unit {
	case 1:
		return float64(x), float64(y)
	case 2:
		return float64(x) * 2.54, float64(y) * 2.54
	}
	return 0, 0
}

// exifDensity reads XResolution, YResolution and ResolutionUnit from the
// first IFD of an Exif block (a small TIFF structure).
func exifDensity(t []byte) (float64, float64) {
	tf, err := parseTIFFHeader(t)
	if err != nil {
		return 0, 0
	}
	ifd, _, err := tf.readIFD(tf.first)
	if err != nil {
		return 0, 0
	}
	return tf.resolution(ifd)
}

func openJPEG(data []byte, limits Limits) (pager, error) {
	h, err := parseJPEG(data)
	if err != nil {
		return nil, err
	}
	s := &singleImage{data: data, limits: limits, w: h.width, h: h.height, rotatable: true, jpeg: true}
	s.info = Info{DPIX: h.dpiX, DPIY: h.dpiY, BitsPerSample: h.precision, Compression: "jpeg"}
	s.info.Model = ModelGrey
	if h.components > 1 {
		s.info.Model = ModelColour
	}
	s.err = jpegSupported(h)
	if s.err == nil && !h.complete {
		s.err = errorf(ErrTruncated, "JPEG image data ends without an end marker")
	}
	return s, nil
}

// maxJPEGScans is far above what any scanner writes (baseline: 1,
// progressive: about 10).
const maxJPEGScans = 100

// jpegSupported refuses what Debian's libjpeg-turbo cannot decode, so the
// page gets a precise reason instead of OpenCV's generic failure.
func jpegSupported(h jpegHeader) error {
	switch h.sof {
	case 0xC3, 0xC7, 0xCB, 0xCF:
		return errorf(ErrUnsupported, "lossless JPEG")
	case 0xC5, 0xC6, 0xCD, 0xCE:
		return errorf(ErrUnsupported, "hierarchical JPEG")
	}
	if h.precision != 8 {
		return errorf(ErrUnsupported, "%d-bit JPEG", h.precision)
	}
	if h.components != 1 && h.components != 3 && h.components != 4 {
		return errorf(ErrUnsupported, "JPEG with %d components", h.components)
	}
	if h.scans > maxJPEGScans {
		// A known way to make libjpeg spend minutes on a small file.
		return errorf(ErrUnsupported, "JPEG with %d scans", h.scans)
	}
	if h.height == 0 {
		// A DNL-defined height: libjpeg does not support it.
		return errorf(ErrUnsupported, "JPEG with the height defined after the scan (DNL)")
	}
	return nil
}

var pngSignature = []byte("\x89PNG\r\n\x1a\n")

// pngHeader is what the station needs from a PNG before decoding it.
type pngHeader struct {
	width, height int64
	bitDepth      int
	colourType    int
	dpiX, dpiY    float64
	complete      bool // IEND was reached through intact chunk lengths
}

// parsePNG reads IHDR (which the format requires to come first) and walks
// the chunk list to find pHYs and to make sure the file is not cut short.
func parsePNG(data []byte) (pngHeader, error) {
	var h pngHeader
	pos := len(pngSignature)
	first := true
	for {
		if pos+12 > len(data) {
			if first {
				return h, errorf(ErrTruncated, "PNG ends before its header")
			}
			return h, nil
		}
		n := int64(binary.BigEndian.Uint32(data[pos:]))
		typ := string(data[pos+4 : pos+8])
		if n > int64(len(data)-pos-12) {
			if first {
				return h, errorf(ErrTruncated, "PNG ends inside its header")
			}
			return h, nil
		}
		body := data[pos+8 : pos+8+int(n)]
		pos += 12 + int(n)
		if first {
			if typ != "IHDR" || n != 13 {
				return h, errorf(ErrCorrupt, "PNG does not start with a header chunk")
			}
			h.width = int64(binary.BigEndian.Uint32(body))
			h.height = int64(binary.BigEndian.Uint32(body[4:]))
			h.bitDepth = int(body[8])
			h.colourType = int(body[9])
			first = false
			continue
		}
		switch typ {
		case "pHYs":
			if n == 9 && body[8] == 1 { // unit 1: pixels per metre
				h.dpiX = float64(binary.BigEndian.Uint32(body)) * 0.0254
				h.dpiY = float64(binary.BigEndian.Uint32(body[4:])) * 0.0254
			}
		case "IEND":
			h.complete = true
			return h, nil
		}
	}
}

func openPNG(data []byte, limits Limits) (pager, error) {
	h, err := parsePNG(data)
	if err != nil {
		return nil, err
	}
	s := &singleImage{data: data, limits: limits, w: h.width, h: h.height}
	s.info = Info{DPIX: h.dpiX, DPIY: h.dpiY, BitsPerSample: h.bitDepth, Compression: "png"}
	switch h.colourType {
	case 0, 4:
		s.info.Model = ModelGrey
		if h.bitDepth == 1 {
			s.info.Model = ModelBilevel
		}
	case 2, 6:
		s.info.Model = ModelColour
	case 3:
		s.info.Model = ModelPalette
	default:
		s.err = errorf(ErrCorrupt, "PNG colour type %d", h.colourType)
	}
	if s.err == nil && !h.complete {
		s.err = errorf(ErrTruncated, "PNG ends before its last chunk")
	}
	return s, nil
}
