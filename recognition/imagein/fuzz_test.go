package imagein

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzFromBytes feeds arbitrary bytes through the whole entry: format
// detection, header checks, page decoding. Any panic or crash (including
// an OpenCV abort) fails; errors must be *Error values.
func FuzzFromBytes(f *testing.F) {
	small := func(n int, grey bool) tiffSpec {
		s := tiffSpec{img: drawPage(24, 34, n, grey), bits: 8, rowsPer: 5, dpi: 300}
		if !grey {
			s.bits = 1
		}
		return s
	}
	f.Add(encode(f, drawPage(24, 34, 1, true), ".jpg"))
	f.Add(withPHYs(encode(f, drawPage(24, 34, 1, true), ".png"), 300))
	f.Add(writeTIFF([]tiffSpec{small(1, false), small(2, true)}, binary.LittleEndian))
	f.Add(writeTIFF([]tiffSpec{small(1, true)}, binary.BigEndian))
	f.Add(imagePDF(
		pdfObj{dict: "/Width 24 /Height 34 /ColorSpace /DeviceGray /BitsPerComponent 1 /Filter /FlateDecode", stream: deflate(make([]byte, 3*34))},
		pdfObj{dict: "/Width 24 /Height 34 /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /DCTDecode", stream: encode(f, drawPage(24, 34, 2, true), ".jpg")},
	))
	for _, name := range []string{"multipage.tif", "scans.pdf"} {
		data, err := os.ReadFile(filepath.Join(testdataDir, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	limits := Limits{MaxPixels: 1 << 21, MaxPages: 16}
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := FromBytes(data, "fuzz", limits)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T: %v", err, err)
			}
			return
		}
		defer doc.Close()
		for i := 0; i < min(doc.Pages(), 4); i++ {
			for _, minLong := range []int{0, 8} { // whole, then reduced as far as 8 pixels allow
				m, info, err := doc.Page(i)
				if minLong > 0 {
					m.Close()
					m, info, err = doc.PageReduced(i, minLong)
				}
				if err != nil {
					var e *Error
					if !errors.As(err, &e) || e.Page != i+1 {
						t.Fatalf("page error %T: %v", err, err)
					}
					continue
				}
				if m.Cols() != info.Width || m.Rows() != info.Height || int64(info.Width)*int64(info.Height) > limits.MaxPixels {
					t.Fatalf("page %d: Mat %d×%d, info %+v", i+1, m.Cols(), m.Rows(), info)
				}
				m.Close()
			}
		}
	})
}
