package recognition

import (
	"image"
	"math"
	"testing"

	"gocv.io/x/gocv"
)

// TestZoneInkBlurred reads simulated pages sharp and blurred as a poor
// scanner blurs them: the ink of every written zone must stay near the
// pen's true coverage, and empty zones empty.
func TestZoneInkBlurred(t *testing.T) {
	scans, err := jpegScans(5, 2)
	if err != nil {
		t.Fatal(err)
	}
	rc := benchRecognizer(t)
	checked := 0
	for i, s := range scans {
		m, err := imageinFromBytes(s.data, "page.jpg")
		if err != nil {
			t.Fatal(err)
		}
		for _, sigma := range []float64{0, 2.5} {
			page := m
			if sigma > 0 {
				page = gocv.NewMat()
				gocv.GaussianBlur(m, &page, image.Point{}, sigma, sigma, gocv.BorderReplicate)
			}
			r := rc.Page(page)
			if sigma > 0 {
				page.Close()
			}
			if r.Type != s.truth.Type {
				t.Fatalf("page %d blur %.1f: %s", i+1, sigma, describe(r))
			}
			for id, want := range s.truth.Ink {
				have := r.Ink[id]
				switch {
				case want == 0 && have != 0, want != 0 && have == 0:
					t.Errorf("page %d blur %.1f: zone %s ink %.4f, truth %.4f", i+1, sigma, id, have, want)
				case want >= 0.01:
					checked++
					if math.Abs(have/want-1) > 0.25 {
						t.Errorf("page %d blur %.1f: zone %s ink %.4f, truth %.4f", i+1, sigma, id, have, want)
					}
				}
			}
		}
		m.Close()
	}
	if checked < 4 {
		t.Errorf("only %d written zones checked", checked)
	}
}
