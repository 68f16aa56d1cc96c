package g4

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// Page is one page of a TIFF file: a bitmap and the resolution it was
// scanned at, in dots per inch (the same for both axes).
type Page struct {
	Image *Bitmap
	DPI   float64
}

// WriteTIFF writes pages as one little-endian TIFF file, each page a single
// G4-compressed strip.
func WriteTIFF(w io.Writer, pages ...Page) error {
	tw, err := NewTIFFWriter(w, len(pages))
	if err != nil {
		return err
	}
	for _, p := range pages {
		if err := tw.WritePage(p); err != nil {
			return err
		}
	}
	return tw.Close()
}

// TIFFWriter writes a TIFF file page by page, holding only the compressed
// strip of the current page in memory. The number of pages is fixed up
// front, since each page's directory points to the next one and carries
// PageNumber (n of total).
type TIFFWriter struct {
	w       io.Writer
	total   int
	written int
	off     uint32 // bytes written so far
	strip   bytes.Buffer
	err     error
}

// NewTIFFWriter writes the TIFF header to w and returns a writer that
// expects exactly pages pages.
func NewTIFFWriter(w io.Writer, pages int) (*TIFFWriter, error) {
	if pages < 1 {
		return nil, fmt.Errorf("g4: a TIFF file needs at least one page, got %d", pages)
	}
	t := &TIFFWriter{w: w, total: pages}
	// "II", 42, and the first directory right after the header.
	t.write([]byte{'I', 'I', 42, 0, 8, 0, 0, 0})
	return t, t.err
}

// Tag numbers and field types of TIFF 6.0.
const (
	tagNewSubfileType  = 254
	tagImageWidth      = 256
	tagImageLength     = 257
	tagBitsPerSample   = 258
	tagCompression     = 259
	tagPhotometric     = 262
	tagFillOrder       = 266
	tagStripOffsets    = 273
	tagOrientation     = 274
	tagSamplesPerPixel = 277
	tagRowsPerStrip    = 278
	tagStripByteCounts = 279
	tagXResolution     = 282
	tagYResolution     = 283
	tagT6Options       = 293
	tagResolutionUnit  = 296
	tagPageNumber      = 297

	typeShort    = 3
	typeLong     = 4
	typeRational = 5
)

// entry is one directory entry; value holds a SHORT or LONG, or the offset
// of a RATIONAL, or two SHORTs (PageNumber) packed low-first.
type entry struct {
	tag, typ uint16
	value    uint32
}

// numEntries is the size of a page's directory; fixed, so the strip's
// offset is known before the directory is written.
const numEntries = 17

// WritePage compresses p and writes its directory and strip.
func (t *TIFFWriter) WritePage(p Page) error {
	if t.err != nil {
		return t.err
	}
	if t.written == t.total {
		return fmt.Errorf("g4: TIFF file announced %d pages, page %d is one too many", t.total, t.written+1)
	}
	if p.Image == nil || p.Image.Width < 1 || p.Image.Height < 1 {
		return fmt.Errorf("g4: page %d is empty", t.written+1)
	}
	if !(p.DPI > 0 && p.DPI < 100000) {
		return fmt.Errorf("g4: page %d: resolution %v dpi out of range", t.written+1, p.DPI)
	}
	t.strip.Reset()
	if err := Encode(&t.strip, p.Image); err != nil {
		return fmt.Errorf("g4: page %d: %w", t.written+1, err)
	}
	t.written++

	// Layout: directory, its two RATIONALs, the strip (word-aligned), then
	// the next page's directory.
	ifdOff := t.off
	ratOff := ifdOff + 2 + numEntries*12 + 4
	stripOff := ratOff + 16
	stripLen := uint32(t.strip.Len())
	next := uint32(0)
	if t.written < t.total {
		next = stripOff + stripLen + stripLen%2
	}
	subfile := uint32(0)
	if t.total > 1 {
		subfile = 2 // a page of a multi-page image
	}
	num, den := rational(p.DPI)
	entries := [numEntries]entry{
		{tagNewSubfileType, typeLong, subfile},
		{tagImageWidth, typeLong, uint32(p.Image.Width)},
		{tagImageLength, typeLong, uint32(p.Image.Height)},
		{tagBitsPerSample, typeShort, 1},
		{tagCompression, typeShort, 4}, // CCITT T.6
		{tagPhotometric, typeShort, 0}, // min-is-white: 1 bits are black
		{tagFillOrder, typeShort, 1},   // most significant bit first
		{tagStripOffsets, typeLong, stripOff},
		{tagOrientation, typeShort, 1},
		{tagSamplesPerPixel, typeShort, 1},
		{tagRowsPerStrip, typeLong, uint32(p.Image.Height)},
		{tagStripByteCounts, typeLong, stripLen},
		{tagXResolution, typeRational, ratOff},
		{tagYResolution, typeRational, ratOff + 8},
		{tagT6Options, typeLong, 0},
		{tagResolutionUnit, typeShort, 2}, // inch
		{tagPageNumber, typeShort, uint32(t.written-1) | uint32(t.total)<<16},
	}
	buf := make([]byte, 0, stripOff-ifdOff)
	le := binary.LittleEndian
	buf = le.AppendUint16(buf, numEntries)
	for _, e := range entries {
		buf = le.AppendUint16(buf, e.tag)
		buf = le.AppendUint16(buf, e.typ)
		count := uint32(1)
		if e.tag == tagPageNumber {
			count = 2
		}
		buf = le.AppendUint32(buf, count)
		if e.typ == typeShort && count == 1 {
			// A SHORT sits left-justified in the 4-byte value field.
			buf = le.AppendUint16(buf, uint16(e.value))
			buf = le.AppendUint16(buf, 0)
		} else {
			buf = le.AppendUint32(buf, e.value)
		}
	}
	buf = le.AppendUint32(buf, next)
	for range 2 {
		buf = le.AppendUint32(buf, num)
		buf = le.AppendUint32(buf, den)
	}
	t.write(buf)
	t.write(t.strip.Bytes())
	if stripLen%2 == 1 && next != 0 {
		t.write([]byte{0}) // directories start on a word boundary
	}
	return t.err
}

// Close checks that every announced page was written. It does not close
// the underlying writer.
func (t *TIFFWriter) Close() error {
	if t.err != nil {
		return t.err
	}
	if t.written != t.total {
		return fmt.Errorf("g4: TIFF file announced %d pages, got %d", t.total, t.written)
	}
	return nil
}

func (t *TIFFWriter) write(b []byte) {
	if t.err != nil {
		return
	}
	if uint64(t.off)+uint64(len(b)) > math.MaxUint32 {
		t.err = fmt.Errorf("g4: TIFF file over 4 GiB")
		return
	}
	n, err := t.w.Write(b)
	t.off += uint32(n)
	if err != nil {
		t.err = fmt.Errorf("g4: write TIFF: %w", err)
	}
}

// rational expresses dpi as a TIFF RATIONAL: whole numbers exactly, others
// to a hundredth.
func rational(dpi float64) (num, den uint32) {
	if dpi == math.Trunc(dpi) {
		return uint32(dpi), 1
	}
	return uint32(math.Round(dpi * 100)), 100
}
