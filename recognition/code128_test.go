package recognition

import (
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gocv.io/x/gocv"

	"giascan/forms"
)

// TestCode128Patterns checks the symbol table against the encoder the
// blanks are printed with: every value the encoder writes for a range of
// contents decodes back to that content.
func TestCode128Patterns(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	contents := []string{"1100000123452", "0", "A", "Z9", "hello world", "~}|{"}
	for i := 0; i < 300; i++ {
		contents = append(contents, fmt.Sprintf("%02d%010d%d", 11+r.IntN(50), r.Int64N(1e10), r.IntN(10)))
	}
	for i := 0; i < 100; i++ {
		b := make([]byte, 1+r.IntN(12))
		for j := range b {
			b[j] = byte(' ' + r.IntN(95))
		}
		contents = append(contents, string(b))
	}
	for _, c := range contents {
		mods, err := forms.Code128Modules(c)
		if err != nil {
			t.Fatal(err)
		}
		// Edges at module boundaries, one sample a module.
		var edges []float64
		for i := range mods {
			if mods[i] != (i > 0 && mods[i-1]) {
				edges = append(edges, float64(i))
			}
		}
		edges = append(edges, float64(len(mods)))
		if got, sure := decodeEdges(edges, 1); got != c || !sure {
			t.Errorf("%q decoded as %q (sure %v)", c, got, sure)
		}
	}
}

// TestBarcodeEdgesSpread reads a drawn barcode whose bars the scan
// widened, at 150 dpi and in 1-bit: a blurred and thresholded lineart scan.
func TestBarcodeEdgesSpread(t *testing.T) {
	tpl, _ := forms.Builtin().Get("11")
	const text = "1163610428570"
	mods, err := forms.Code128Modules(text)
	if err != nil {
		t.Fatal(err)
	}
	b := tpl.Barcode
	for _, c := range []struct {
		pxmm, spread float64
		skew         float64
	}{{5.9, 0, 0}, {5.9, 0.12, 1.5}, {6.5, 0.15, -3}, {7.9, 0.1, 4.5}, {11.8, 0.2, 0}} {
		// Page: template mm → px by scale and a turn about the barcode.
		ang := c.skew * math.Pi / 180
		cs, sn := math.Cos(ang), math.Sin(ang)
		h := homography{c.pxmm * cs, -c.pxmm * sn, 40, c.pxmm * sn, c.pxmm * cs, 20, 0, 0, 1}
		inv := func(u, v float64) (float64, float64) {
			u, v = (u-40)/c.pxmm, (v-20)/c.pxmm
			return u*cs + v*sn, -u*sn + v*cs
		}
		w, ht := int(80*c.pxmm), int(40*c.pxmm)
		pix := make([]uint8, w*ht)
		for y := 0; y < ht; y++ {
			for x := 0; x < w; x++ {
				mx, my := inv(float64(x)+0.5, float64(y)+0.5)
				v := uint8(255)
				if my >= b.Y && my < b.Y+b.H {
					i := int(math.Floor((mx - b.X + c.spread/2) / b.Module))
					j := int(math.Floor((mx - b.X - c.spread/2) / b.Module))
					if i >= 0 && i < len(mods) && mods[i] || j >= 0 && j < len(mods) && mods[j] {
						v = 0
					}
				}
				pix[y*w+x] = v
			}
		}
		p := plane{pix: pix, w: w, h: ht, stride: w}
		if got, sure := readBarcodeEdges(&p, &h, tpl); got != text {
			t.Errorf("%.1f px/mm, bars %.2f mm wider, skew %.1f°: read %q", c.pxmm, c.spread, c.skew, got)
		} else {
			t.Logf("%.1f px/mm, bars %.2f mm wider, skew %.1f°: sure %v", c.pxmm, c.spread, c.skew, sure)
		}
	}
}

// TestLineartPage reads whole pages as a lineart scanner delivers them:
// blurred, then cut to 1 bit at a threshold a quarter of the way from
// white, which widens every bar and dark QR module, at 150–200 dpi.
func TestLineartPage(t *testing.T) {
	set := forms.Builtin()
	rc, _ := New(set, nil)
	for _, c := range []struct {
		dpi, sigma float64
		rot        int
	}{{150, 0.5, 0}, {165, 0.55, 180}, {200, 0.65, 90}} {
		g := renderPage(t, set, "21", 31, pen{}, c.dpi)
		m := scan(toMat(t, g), c.rot, 1.2, 2, -1, 1, c.dpi)
		blurred := gocv.NewMat()
		gocv.GaussianBlur(m, &blurred, image.Point{}, c.sigma, c.sigma, gocv.BorderReplicate)
		m.Close()
		bin := gocv.NewMat()
		gocv.Threshold(blurred, &bin, 0.75*255, 255, gocv.ThresholdBinary)
		blurred.Close()
		res := rc.Page(bin)
		bin.Close()
		id := testIdentity(t, "21", 31)
		if res.Type != "21" || res.Barcode != id.Barcode || res.Rotation != c.rot || slices.Contains(res.Flags, forms.FlagNoBarcode) || slices.Contains(res.Flags, forms.FlagNoQR) {
			t.Errorf("%.0f dpi, blur %.1f px: %s", c.dpi, c.sigma, describe(res))
		}
	}
}
