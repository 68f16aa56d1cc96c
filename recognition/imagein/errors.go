package imagein

import (
	"errors"
	"fmt"
)

// Causes of a failure. Every error from this package wraps exactly one of
// them, so callers can tell bad scans (ErrCorrupt, ErrTruncated, ErrNoImage)
// from inputs that are outside what the station accepts (ErrFormat,
// ErrUnsupported, ErrTooLarge) with errors.Is. The texts are phrased to be
// printed as they are in the `error` key of a recognizer output line.
var (
	// ErrEmpty: the file has no bytes at all.
	ErrEmpty = errors.New("empty file")
	// ErrFormat: the bytes are not a JPEG, PNG, TIFF or PDF file.
	ErrFormat = errors.New("not a JPEG, PNG, TIFF or PDF file")
	// ErrTruncated: the file ends before the image data does.
	ErrTruncated = errors.New("file is truncated")
	// ErrCorrupt: the structure or the pixel data is damaged.
	ErrCorrupt = errors.New("corrupt image data")
	// ErrUnsupported: a valid encoding that this station does not read
	// (e.g. JBIG2 in a PDF, BigTIFF, 12-bit JPEG).
	ErrUnsupported = errors.New("unsupported image encoding")
	// ErrTooLarge: the image is larger than the limits allow; the pixel
	// data was not decoded.
	ErrTooLarge = errors.New("image too large")
	// ErrNoImage: a PDF page that holds no image (a vector or text page,
	// which the station does not rasterise).
	ErrNoImage = errors.New("no image on this page")
	// ErrPageRange: Page was asked for a page the document does not have.
	ErrPageRange = errors.New("page out of range")
	// ErrClosed: the Document was used after Close.
	ErrClosed = errors.New("document is closed")
)

// Error is the type of every error that Open, FromBytes and Page return.
// It says which file and page failed; Err wraps one of the Err* causes.
type Error struct {
	// Name is the file name as passed to Open or FromBytes.
	Name string
	// Page is the 1-based page number, 0 when the error is about the file.
	Page int
	// Err is the cause.
	Err error
}

// Error formats the error as "name: page N: cause".
func (e *Error) Error() string {
	if e.Page > 0 {
		return fmt.Sprintf("%s: page %d: %v", e.Name, e.Page, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.Name, e.Err)
}

// Unwrap returns the cause, so errors.Is(err, ErrTooLarge) and the like work.
func (e *Error) Unwrap() error { return e.Err }

// errorf wraps a cause with detail: errorf(ErrCorrupt, "strip %d", i) reads
// "corrupt image data: strip 3" and still matches errors.Is(err, ErrCorrupt).
func errorf(cause error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", cause, fmt.Sprintf(format, args...))
}
