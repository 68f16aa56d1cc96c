package imagein

/*
#cgo !windows pkg-config: opencv4
#cgo CXXFLAGS: --std=c++11
#include <stdlib.h>
#include "cvdecode.h"
*/
import "C"

import (
	"fmt"
	"math"
	"unsafe"

	"gocv.io/x/gocv"
)

// cvDecode decodes an encoded JPEG, PNG, TIFF or JPEG 2000 image with
// OpenCV into a new 8-bit single-channel Mat that the caller owns. The caller
// must have checked the header first (format, dimensions against the limits):
// OpenCV allocates the full image before it looks at the pixel data.
func cvDecode(buf []byte) (gocv.Mat, error) { return cvDecodeReduced(buf, 1) }

// cvDecodeReduced is cvDecode at 1/denom of the size (denom 1, 2, 4 or 8).
// A JPEG is reduced in the DCT domain by libjpeg, at less cost than a full
// decode; other formats are decoded whole and then resized by OpenCV, which
// saves nothing.
func cvDecodeReduced(buf []byte, denom int) (gocv.Mat, error) {
	if len(buf) == 0 {
		return gocv.Mat{}, fmt.Errorf("%w: no image data", ErrCorrupt)
	}
	if len(buf) > math.MaxInt32 {
		return gocv.Mat{}, fmt.Errorf("%w: encoded image larger than 2 GiB", ErrTooLarge)
	}
	m := gocv.NewMat()
	var msg [256]C.char
	rc := C.imagein_imdecode((*C.uchar)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)), C.int(denom),
		unsafe.Pointer(m.Ptr()), &msg[0], C.size_t(len(msg)))
	switch rc {
	case 0:
	case 1:
		m.Close()
		return gocv.Mat{}, fmt.Errorf("%w: OpenCV could not decode the image data", ErrCorrupt)
	default:
		m.Close()
		return gocv.Mat{}, fmt.Errorf("%w: OpenCV: %s", ErrCorrupt, C.GoString(&msg[0]))
	}
	if m.Type() != gocv.MatTypeCV8UC1 {
		// IMREAD_GRAYSCALE promises this; checked so that a surprise in a
		// future OpenCV shows up as an error rather than as a wrong page.
		t := m.Type()
		m.Close()
		return gocv.Mat{}, fmt.Errorf("%w: OpenCV returned pixel type %v", ErrCorrupt, t)
	}
	return m, nil
}
