package imagein

import (
	"bytes"
	"image/jpeg"
	"math/rand/v2"
	"sync"
	"testing"
)

// a4JPEG is a 300 dpi A4 grey scan (2480×3508) as a scanner's JPEG would
// be: the test page with paper noise and lines of "text", quality 85.
var a4JPEG = sync.OnceValue(func() []byte {
	const w, h = 2480, 3508
	g := drawPage(w, h, 3, true)
	r := rand.New(rand.NewPCG(1, 2))
	for y := 300; y < h-600; y += 60 {
		for x := 200; x < w-200; x++ {
			if r.IntN(3) == 0 {
				for dy := 0; dy < 28; dy++ {
					if r.IntN(4) == 0 {
						g.Pix[(y+dy)*w+x] = 20
					}
				}
			}
		}
	}
	for i := range g.Pix {
		v := int(g.Pix[i]) + r.IntN(17) - 8
		g.Pix[i] = uint8(max(0, min(255, v)))
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, g, &jpeg.Options{Quality: 85}); err != nil {
		panic(err)
	}
	return buf.Bytes()
})

// BenchmarkDecodeA4JPEG compares this package (OpenCV) with Go's
// image/jpeg on the page the recognizer sees most.
func BenchmarkDecodeA4JPEG(b *testing.B) {
	data := a4JPEG()
	b.Run("imagein", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			doc, err := FromBytes(data, "a4.jpg", Limits{})
			if err != nil {
				b.Fatal(err)
			}
			m, _, err := doc.Page(0)
			if err != nil {
				b.Fatal(err)
			}
			m.Close()
			doc.Close()
		}
	})
	b.Run("image-jpeg", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := jpeg.Decode(bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
