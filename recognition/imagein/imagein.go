package imagein

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sync"

	"gocv.io/x/gocv"
)

// Format names the container a page came from.
type Format string

// Formats the package reads, identified by the file's leading bytes, never
// by its name: scanners and people rename files.
const (
	FormatJPEG Format = "jpeg"
	FormatPNG  Format = "png"
	FormatTIFF Format = "tiff"
	FormatPDF  Format = "pdf"
)

// ColourModel says how the source stored its pixels before they were turned
// into grey; the recognizer uses it to judge thresholds and to report what
// the scanner delivered.
type ColourModel string

// Colour models of the source image.
const (
	ModelUnknown ColourModel = ""
	ModelBilevel ColourModel = "bilevel" // 1 bit per pixel, black and white
	ModelGrey    ColourModel = "grey"
	ModelPalette ColourModel = "palette"
	ModelColour  ColourModel = "colour" // RGB, YCbCr, CMYK
)

// Info describes one decoded page as the file stored it.
type Info struct {
	// Format is the container: jpeg, png, tiff or pdf.
	Format Format
	// Page is the 1-based page number within the file.
	Page int
	// Width and Height are the dimensions of the returned Mat in pixels.
	Width, Height int
	// DPIX and DPIY are the resolution the file declares (TIFF tags, JFIF
	// or Exif density, PNG pHYs) or, for PDF, the one implied by the
	// image's size on the page. 0 when the file does not say: a guess here
	// would be taken for a fact downstream.
	DPIX, DPIY float64
	// Model is the source's colour model before conversion to grey.
	Model ColourModel
	// BitsPerSample is the source's bits per sample (1, 8, 16, …); 0 when
	// unknown.
	BitsPerSample int
	// Compression names the source encoding, e.g. "jpeg", "png",
	// "ccitt-g4", "lzw", "deflate", "none", "jpeg2000".
	Compression string
	// Reduced is how many times smaller than the file's image the Mat is
	// on each side: 1 from Page, 1, 2, 4 or 8 from PageReduced.
	Reduced int
}

// Limits bound what a single file may cost. The zero value means the
// defaults; they are generous for A4 and A3 scans at 600 dpi and refuse
// what can only be damage or an attack.
type Limits struct {
	// MaxPixels is the largest width×height of one page. Checked from the
	// headers before decoding. 0 means DefaultMaxPixels.
	MaxPixels int64
	// MaxFileBytes is the largest file Open reads. 0 means
	// DefaultMaxFileBytes.
	MaxFileBytes int64
	// MaxPages is the largest number of pages in one file. 0 means
	// DefaultMaxPages.
	MaxPages int
}

// Default limits. An A3 page at 600 dpi is 70 Mpx; a grey page of
// DefaultMaxPixels takes 100 MB as a Mat and three times that while a
// colour source is converted.
const (
	DefaultMaxPixels    = 100_000_000
	DefaultMaxFileBytes = 1 << 30
	DefaultMaxPages     = 10_000
)

// cvMaxPixels is OpenCV's own limit (CV_IO_MAX_IMAGE_PIXELS); a larger
// MaxPixels could only turn our clean error into an OpenCV one.
const cvMaxPixels = 1 << 30

// maxSide bounds either dimension whatever MaxPixels says: every format we
// read stores sizes in at most 32 bits and OpenCV refuses sides above 2^20.
const maxSide = 1 << 20

func (l Limits) withDefaults() Limits {
	if l.MaxPixels <= 0 {
		l.MaxPixels = DefaultMaxPixels
	}
	if l.MaxPixels > cvMaxPixels {
		l.MaxPixels = cvMaxPixels
	}
	if l.MaxFileBytes <= 0 {
		l.MaxFileBytes = DefaultMaxFileBytes
	}
	if l.MaxPages <= 0 {
		l.MaxPages = DefaultMaxPages
	}
	return l
}

// checkSize refuses dimensions that are empty, absurd or above the limit.
// It runs on header values before anything is allocated for the pixels.
func (l Limits) checkSize(w, h int64) error {
	if w <= 0 || h <= 0 {
		return errorf(ErrCorrupt, "image size %d×%d", w, h)
	}
	if w > maxSide || h > maxSide || w*h > l.MaxPixels {
		return errorf(ErrTooLarge, "%d×%d pixels, limit %d", w, h, l.MaxPixels)
	}
	return nil
}

// pager is what each container provides: the page count and the decoding
// of one page (0-based index).
type pager interface {
	pages() int
	page(i int) (gocv.Mat, Info, error)
}

// reducer is a pager that can decode a page at a fraction of its size for
// less than a full decode costs.
type reducer interface {
	// pageReduced decodes page i at 1/denom of its size, with the largest
	// denom of 1, 2, 4 and 8 that keeps the longer side at least minLong
	// pixels, and reports denom in Info.Reduced.
	pageReduced(i, minLong int) (gocv.Mat, Info, error)
}

// Document is an opened scan file: one or more pages. Its methods are safe
// for concurrent use, so a worker pool may decode the pages of one file in
// parallel.
type Document struct {
	name   string
	format Format

	mu     sync.RWMutex // guards p against Close while pages are decoded
	p      pager
	closed bool
}

// Open reads the file at path and parses its structure (format, page count,
// headers). It fails when the file cannot be read, is not one of the
// supported formats or its structure is broken beyond finding the pages;
// problems of a single page are reported by Page.
func Open(path string, limits Limits) (*Document, error) {
	limits = limits.withDefaults()
	f, err := os.Open(path)
	if err != nil {
		return nil, &Error{Name: path, Err: err}
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, &Error{Name: path, Err: err}
	}
	if st.IsDir() {
		return nil, &Error{Name: path, Err: fmt.Errorf("is a directory")}
	}
	if st.Size() > limits.MaxFileBytes {
		return nil, &Error{Name: path, Err: errorf(ErrTooLarge, "file is %d bytes, limit %d", st.Size(), limits.MaxFileBytes)}
	}
	// Read through a limit as well: the file may grow between Stat and read.
	// The buffer is sized from Stat once: growing it by doubling cost more
	// than a tenth of a page's decode in copies and clearing.
	buf := bytes.NewBuffer(make([]byte, 0, st.Size()+bytes.MinRead))
	if _, err := buf.ReadFrom(io.LimitReader(f, limits.MaxFileBytes+1)); err != nil {
		return nil, &Error{Name: path, Err: fmt.Errorf("read: %w", err)}
	}
	data := buf.Bytes()
	if int64(len(data)) > limits.MaxFileBytes {
		return nil, &Error{Name: path, Err: errorf(ErrTooLarge, "file is over %d bytes", limits.MaxFileBytes)}
	}
	return FromBytes(data, path, limits)
}

// FromBytes parses a scan file held in memory; name is used in errors only.
// The Document keeps data and reads from it until Close: the caller must
// not modify it meanwhile.
func FromBytes(data []byte, name string, limits Limits) (*Document, error) {
	limits = limits.withDefaults()
	fail := func(err error) (*Document, error) { return nil, &Error{Name: name, Err: err} }
	if len(data) == 0 {
		return fail(ErrEmpty)
	}
	if int64(len(data)) > limits.MaxFileBytes {
		return fail(errorf(ErrTooLarge, "file is %d bytes, limit %d", len(data), limits.MaxFileBytes))
	}
	format, err := sniff(data)
	if err != nil {
		return fail(err)
	}
	var p pager
	switch format {
	case FormatJPEG:
		p, err = openJPEG(data, limits)
	case FormatPNG:
		p, err = openPNG(data, limits)
	case FormatTIFF:
		p, err = openTIFF(data, limits)
	case FormatPDF:
		p, err = openPDF(data, limits)
	}
	if err != nil {
		return fail(err)
	}
	return &Document{name: name, format: format, p: p}, nil
}

// sniff identifies the container by its leading bytes.
func sniff(data []byte) (Format, error) {
	switch {
	case bytes.HasPrefix(data, []byte{0xFF, 0xD8, 0xFF}):
		return FormatJPEG, nil
	case bytes.HasPrefix(data, pngSignature):
		return FormatPNG, nil
	case bytes.HasPrefix(data, []byte("II*\x00")), bytes.HasPrefix(data, []byte("MM\x00*")):
		return FormatTIFF, nil
	case bytes.HasPrefix(data, []byte("II+\x00")), bytes.HasPrefix(data, []byte("MM\x00+")):
		return "", errorf(ErrUnsupported, "BigTIFF")
	}
	// PDF readers accept a header anywhere in the first KiB; some scanner
	// software writes a few bytes of junk first.
	head := data[:min(len(data), 1024)]
	if bytes.Contains(head, []byte("%PDF-")) {
		return FormatPDF, nil
	}
	if len(data) < 8 && (bytes.HasPrefix([]byte{0xFF, 0xD8, 0xFF}, data) || bytes.HasPrefix(pngSignature, data) ||
		bytes.HasPrefix([]byte("II*\x00"), data) || bytes.HasPrefix([]byte("MM\x00*"), data)) {
		return "", ErrTruncated
	}
	return "", ErrFormat
}

// Name returns the name the Document was opened with.
func (d *Document) Name() string { return d.name }

// Format returns the container format.
func (d *Document) Format() Format { return d.format }

// Pages returns the number of pages; 0 after Close.
func (d *Document) Pages() int {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed {
		return 0
	}
	return d.p.pages()
}

// Page decodes page i (0-based, i < Pages()) into a new 8-bit single-channel
// grey Mat. The caller owns the Mat and must Close it. On error the Mat is
// the zero value: it must not be used, and closing it is harmless. Errors
// are *Error values naming the file and the 1-based page.
func (d *Document) Page(i int) (gocv.Mat, Info, error) { return d.page(i, 0) }

// PageReduced is Page at a reduced size where that costs less than a full
// decode: a JPEG is decoded at 1/2, 1/4 or 1/8 of its size in the DCT
// domain (libjpeg's scaled decoding), the most reduced that keeps the
// longer side at least minLong pixels; every other page comes out at full
// size. Info.Reduced says by how much the Mat was reduced.
func (d *Document) PageReduced(i, minLong int) (gocv.Mat, Info, error) {
	return d.page(i, max(minLong, 1))
}

// page is Page (minLong 0) and PageReduced.
func (d *Document) page(i, minLong int) (gocv.Mat, Info, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	fail := func(err error) (gocv.Mat, Info, error) {
		return gocv.Mat{}, Info{}, &Error{Name: d.name, Page: i + 1, Err: err}
	}
	if d.closed {
		return fail(ErrClosed)
	}
	if i < 0 || i >= d.p.pages() {
		return fail(errorf(ErrPageRange, "page %d of %d", i+1, d.p.pages()))
	}
	m, info, err := d.decode(i, minLong)
	if err != nil {
		return fail(err)
	}
	info.Format = d.format
	info.Page = i + 1
	info.Width, info.Height = m.Cols(), m.Rows()
	return m, info, nil
}

// decode runs the container's page decoder, reduced when minLong > 0 and
// the container can. Parsers of hostile files are the likeliest place for
// a slip, so a Go panic there fails the page instead of the batch (OpenCV
// itself is shielded in cvDecode).
func (d *Document) decode(i, minLong int) (m gocv.Mat, info Info, err error) {
	defer recoverTo(&err, "decoder")
	if r, ok := d.p.(reducer); ok && minLong > 0 {
		return r.pageReduced(i, minLong)
	}
	m, info, err = d.p.page(i)
	info.Reduced = 1
	return m, info, err
}

// Close releases the file's bytes. Mats returned by Page stay valid and are
// still the caller's to close. Close waits for running Page calls.
func (d *Document) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	d.p = nil
	return nil
}
