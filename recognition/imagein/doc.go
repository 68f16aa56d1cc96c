// Package imagein reads scanned pages from the files that scanners write —
// JPEG, PNG, TIFF (multi-page, 1-bit, CCITT G4, LZW, deflate) and PDF — and
// hands each page to the recognizer as an 8-bit single-channel grey gocv.Mat.
// Colour is converted to grey and 1-bit pages become 0 (black) and 255
// (white), so later stages see one pixel format whatever the scanner wrote.
//
// Decoding is done by OpenCV, which is several times faster than Go's image
// packages on a full A4 page. OpenCV cannot be interrupted or recovered from
// once it runs, so everything that decides how much memory it will take is
// checked first from the file's own headers (JPEG SOF, PNG IHDR, TIFF tags,
// the PDF image dictionary): an oversized or malformed file is refused with
// an error before any pixel is decoded, never with a crash.
//
// PDF files are taken apart, not rendered: a scanner's PDF holds one image
// per page, and that image is decoded directly (DCTDecode and JPXDecode by
// OpenCV, CCITTFaxDecode by golang.org/x/image/ccitt, raw and Flate samples
// copied into a Mat). A page without an image is an error for that page.
//
// Building needs OpenCV 4 with its pkg-config file (Debian: libopencv-dev,
// pkg-config); this package compiles a small C++ file against it. The
// tests read committed files and need no tools; remaking those files
// (IMAGEIN_REGENERATE=1) needs Debian's libtiff-tools and img2pdf.
//
// Ownership: Page returns a new Mat on every call. The caller owns it and
// must Close it; the Document keeps no reference to it. The Document holds the
// file's bytes and parsed structure only, and Close releases them.
package imagein
