package imagein

/*
#cgo !windows LDFLAGS: -ljpeg
#include <stdlib.h>
#include "jpegdecode.h"
*/
import "C"

import (
	"fmt"
	"math"
	"unsafe"

	"gocv.io/x/gocv"
)

// jpegDecode decodes a grey or YCbCr JPEG with libjpeg-turbo directly, at
// 1/denom of its size (1, 2, 4 or 8), into a new 8-bit single-channel Mat
// that the caller owns. It gives the same pixels as OpenCV's grey decode
// (the same library, the same IDCT) at less cost: no copy of the rows, and
// the pixels land in a buffer released by an earlier page of the same
// size instead of fresh memory. The caller must have checked the header
// (size against the limits, a supported encoding) and that OpenCV would
// not turn the image by an Exif orientation.
func jpegDecode(buf []byte, denom int) (gocv.Mat, error) {
	if len(buf) == 0 {
		return gocv.Mat{}, fmt.Errorf("%w: no image data", ErrCorrupt)
	}
	if len(buf) > math.MaxInt32 {
		return gocv.Mat{}, fmt.Errorf("%w: encoded image larger than 2 GiB", ErrTooLarge)
	}
	m := gocv.NewMat()
	var msg [256]C.char
	rc := C.imagein_jpeg_decode((*C.uchar)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)), C.int(denom),
		unsafe.Pointer(m.Ptr()), &msg[0], C.size_t(len(msg)))
	if rc != 0 {
		m.Close()
		return gocv.Mat{}, fmt.Errorf("%w: libjpeg: %s", ErrCorrupt, C.GoString(&msg[0]))
	}
	return m, nil
}
