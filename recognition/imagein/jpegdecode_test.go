package imagein

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"

	"gocv.io/x/gocv"
)

// noisyPage is a test page with scanner-like grain, so that every DCT
// block carries coefficients and a decoder difference would show.
func noisyPage(w, h int) []byte {
	g := drawPage(w, h, 3, true)
	rng := rand.New(rand.NewPCG(1, 2))
	for i, v := range g.Pix {
		g.Pix[i] = uint8(max(0, min(255, int(v)+rng.IntN(31)-15)))
	}
	return g.Pix
}

// TestDirectJPEGMatchesOpenCV checks that the station's own JPEG decoder
// gives OpenCV's grey pixels exactly, whole and reduced, for a grey and a
// colour JPEG, and takes the buffer of a released page for the next one.
func TestDirectJPEGMatchesOpenCV(t *testing.T) {
	const w, h = 803, 1131 // odd sizes: the reduced sizes round up
	src, err := gocv.NewMatFromBytes(h, w, gocv.MatTypeCV8UC1, noisyPage(w, h))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	bgr := gocv.NewMat()
	defer bgr.Close()
	gocv.CvtColor(src, &bgr, gocv.ColorGrayToBGR)
	files := map[string]gocv.Mat{"grey": src, "colour": bgr}
	for name, m := range files {
		buf, err := gocv.IMEncodeWithParams(".jpg", m, []int{gocv.IMWriteJpegQuality, 85})
		if err != nil {
			t.Fatal(err)
		}
		data := bytes.Clone(buf.GetBytes())
		buf.Close()
		doc, err := FromBytes(data, name+".jpg", Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if s, ok := doc.p.(*singleImage); !ok || !s.direct {
			t.Fatalf("%s: not decoded by the direct decoder", name)
		}
		for _, denom := range []int{1, 2, 4, 8} {
			want, err := cvDecodeReduced(data, denom)
			if err != nil {
				t.Fatal(err)
			}
			for round := 0; round < 2; round++ { // the second from a reused buffer
				got, err := jpegDecode(data, denom)
				if err != nil {
					t.Fatalf("%s 1/%d: %v", name, denom, err)
				}
				samePixels(t, name, denom, got, want)
				got.Close()
			}
			want.Close()
		}
		doc.Close()
	}
}

func samePixels(t *testing.T, name string, denom int, got, want gocv.Mat) {
	t.Helper()
	if got.Type() != gocv.MatTypeCV8UC1 || got.Rows() != want.Rows() || got.Cols() != want.Cols() {
		t.Fatalf("%s 1/%d: %v %d×%d, OpenCV %d×%d", name, denom, got.Type(), got.Cols(), got.Rows(), want.Cols(), want.Rows())
	}
	g, _ := got.DataPtrUint8()
	o, _ := want.DataPtrUint8()
	for i := range o {
		if g[i] != o[i] {
			t.Fatalf("%s 1/%d: pixel (%d,%d) = %d, OpenCV %d", name, denom, i%want.Cols(), i/want.Cols(), g[i], o[i])
		}
	}
}

// TestDirectJPEGDamage checks that a JPEG libjpeg cannot decode is a
// corrupt page with libjpeg's reason, not a crash, and that the decoder
// works on after it.
func TestDirectJPEGDamage(t *testing.T) {
	g := drawPage(200, 283, 1, false)
	data := encode(t, g, ".jpg")
	bad := bytes.Clone(data)
	// A frame header with zero width.
	i := bytes.Index(bad, []byte{0xFF, 0xC0})
	if i < 0 {
		t.Fatal("no baseline frame header")
	}
	bad[i+7], bad[i+8] = 0, 0
	_, err := jpegDecode(bad, 2)
	if !errors.Is(err, ErrCorrupt) || !bytes.Contains([]byte(err.Error()), []byte("libjpeg")) {
		t.Fatalf("zero-width frame: %v, want a corrupt page with libjpeg's reason", err)
	}
	m, err := jpegDecode(data, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	checkPage(t, m, 200, 283, 1, false, 12)
}
