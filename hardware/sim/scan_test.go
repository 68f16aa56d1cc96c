package sim

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"testing"

	"gocv.io/x/gocv"

	"giascan/forms"
)

func TestProfilesStayWithinTheContract(t *testing.T) {
	for _, prof := range Profiles {
		r := rand.New(rand.NewPCG(1, 2))
		turns, dpis := map[int]int{}, map[int]int{}
		var jpeg, png, color, bilevel, torn, faint int
		for i := 0; i < 3000; i++ {
			p, err := drawParams(r, Settings{Profile: prof})
			if err != nil {
				t.Fatal(err)
			}
			turns[p.turn]++
			dpis[p.dpi]++
			lim := map[Profile][3]float64{Clean: {0, 0, 0}, Real: {2, 4, 0.01}, Hard: {5, 8, 0.02}}[prof]
			if math.Abs(p.skew) > lim[0] || math.Abs(p.shiftX) > lim[1] || math.Abs(p.shiftY) > lim[1] || math.Abs(p.dpiErr) > lim[2] {
				t.Fatalf("%s: skew %g, shift %g,%g, dpi error %g beyond %v", prof, p.skew, p.shiftX, p.shiftY, p.dpiErr, lim)
			}
			if p.dpi < 150 || p.dpi > 600 {
				t.Fatalf("%s: %d dpi", prof, p.dpi)
			}
			if p.format == "jpeg" {
				jpeg++
				if prof == Real && (p.quality < 75 || p.quality > 92) || prof == Hard && (p.quality < 45 || p.quality > 70) {
					t.Fatalf("%s: JPEG quality %d", prof, p.quality)
				}
			} else {
				png++
			}
			if p.color {
				color++
			}
			if p.bilevel {
				bilevel++
			}
			if p.torn >= 0 {
				torn++
			}
			if p.faint < 1 {
				faint++
			}
		}
		switch prof {
		case Clean:
			if len(turns) != 1 || dpis[300] != 3000 || jpeg > 0 || color+bilevel+torn+faint > 0 {
				t.Errorf("clean: turns %v, dpis %v, %d JPEG, %d colour, %d 1-bit, %d torn, %d faint", turns, dpis, jpeg, color, bilevel, torn, faint)
			}
		case Real:
			if len(turns) != 2 || turns[180] < 300 || jpeg < 1500 || png < 500 || color+bilevel+torn+faint > 0 || len(dpis) < 3 {
				t.Errorf("real: turns %v, dpis %v, %d JPEG, %d PNG, %d colour, %d 1-bit, %d torn, %d faint", turns, dpis, jpeg, png, color, bilevel, torn, faint)
			}
		case Hard:
			if len(turns) != 4 || color < 300 || bilevel < 200 || torn < 200 || faint < 500 || dpis[150] == 0 || dpis[600] == 0 {
				t.Errorf("hard: turns %v, dpis %v, %d colour, %d 1-bit, %d torn, %d faint", turns, dpis, color, bilevel, torn, faint)
			}
		}
	}
	if _, err := ParseProfile("blurry"); err == nil {
		t.Error("unknown profile: want an error")
	}
	if _, err := Render(Sheet{}, Settings{Profile: Real, Mode: "sepia"}); err == nil {
		t.Error("unknown mode: want an error")
	}
}

func testWriter(t *testing.T, seed uint64) *writer {
	t.Helper()
	h, err := newHand(seed)
	if err != nil {
		t.Skipf("handwriting fonts: %v", err)
	}
	return &writer{hand: h, pen: newPenLayer(600, 600, 300), rng: rand.New(rand.NewPCG(seed, 9))}
}

// A mark fills a good part of a box's interior; a stray dot or a touch of
// the border hardly any.
func TestMarksAndSlips(t *testing.T) {
	box := forms.Rect{X: 10, Y: 10, W: 5, H: 5}
	inner := box.Inset(0.6)
	minMark, maxSlip := 1.0, 0.0
	for seed := uint64(0); seed < 120; seed++ {
		w := testWriter(t, seed)
		switch seed % 5 {
		case 0, 1, 2:
			w.mark(box, int(seed%3))
			minMark = math.Min(minMark, w.pen.coverage(inner))
		case 3:
			w.strayDot(box)
			maxSlip = math.Max(maxSlip, w.pen.coverage(inner))
		case 4:
			w.borderTouch(box)
			maxSlip = math.Max(maxSlip, w.pen.coverage(inner))
			if w.pen.coverage(box.Inset(-1.6)) == 0 {
				t.Fatal("a border touch left no ink")
			}
		}
	}
	if minMark < 0.1 || maxSlip > 0.04 {
		t.Errorf("interior ink: marks from %.3f, slips up to %.3f", minMark, maxSlip)
	}
}

// Handwritten digits of every font stay inside their cell, off the border.
func TestDigitsStayInsideCells(t *testing.T) {
	fonts, err := loadHandFonts()
	if err != nil {
		t.Skip(err)
	}
	for seed := uint64(0); seed < uint64(8*len(fonts)); seed++ {
		w := testWriter(t, seed)
		w.font = fonts[seed%uint64(len(fonts))]
		cell := forms.Rect{X: 10, Y: 10, W: 5, H: 8}
		if seed%2 == 0 {
			cell.W = 6
		}
		if err := w.digit(cell, byte('0'+seed%10)); err != nil {
			t.Fatal(err)
		}
		inner := cell.Inset(0.5)
		in := w.pen.coverage(inner)
		all := inkSum(w.pen, forms.Rect{X: 0, Y: 0, W: 50, H: 50})
		if in < 0.04 || inkSum(w.pen, inner) != all {
			t.Errorf("font %d, digit %d: %.3f of the cell, ink outside it", seed%uint64(len(fonts)), seed%10, in)
		}
	}
}

// inkSum adds up the pen coverage of the pixels of a rectangle.
func inkSum(l *penLayer, r forms.Rect) int {
	b := image.Rect(int(math.Round(r.X*l.scale)), int(math.Round(r.Y*l.scale)),
		int(math.Round(r.X1()*l.scale)), int(math.Round(r.Y1()*l.scale))).Intersect(l.img.Rect)
	sum := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			sum += int(l.img.Pix[y*l.img.Stride+x])
		}
	}
	return sum
}

var colorWhite = color.RGBA{255, 255, 255, 255}

// decodeGray decodes a scan as 8-bit grey.
func decodeGray(t *testing.T, data []byte) gocv.Mat {
	t.Helper()
	m, err := gocv.IMDecode(data, gocv.IMReadGrayScale)
	if err != nil || m.Empty() {
		t.Fatalf("decode: %v", err)
	}
	return m
}

// anchors finds the four anchors of an upright scan as the solid squares
// nearest to the corners: TL, TR, BL, BR.
func anchors(t *testing.T, m gocv.Mat, pxPerMM float64) [4]image.Point {
	t.Helper()
	bin := gocv.NewMat()
	defer bin.Close()
	// Adaptive: uneven light darkens whole sides of a hard scan.
	block := int(4*5*pxPerMM) | 1
	gocv.AdaptiveThreshold(m, &bin, 255, gocv.AdaptiveThresholdMean, gocv.ThresholdBinaryInv, block, 40)
	labels, stats, cents := gocv.NewMat(), gocv.NewMat(), gocv.NewMat()
	defer labels.Close()
	defer stats.Close()
	defer cents.Close()
	n := gocv.ConnectedComponentsWithStats(bin, &labels, &stats, &cents)
	side := 5 * pxPerMM
	var best [4]image.Point
	var score [4]float64
	for i := range score {
		score[i] = math.Inf(-1)
	}
	for i := 1; i < n; i++ {
		w, h := float64(stats.GetIntAt(i, 2)), float64(stats.GetIntAt(i, 3))
		area := float64(stats.GetIntAt(i, 4))
		// A turned square's box is up to 1.14 times its side.
		if w < side*0.8 || w > side*1.3 || h < side*0.8 || h > side*1.3 || area < side*side*0.8 {
			continue
		}
		x, y := cents.GetDoubleAt(i, 0), cents.GetDoubleAt(i, 1)
		p := image.Pt(int(x), int(y))
		for k, s := range [4]float64{-x - y, x - y, y - x, x + y} {
			if s > score[k] {
				score[k], best[k] = s, p
			}
		}
	}
	return best
}

// Undoing the truth's rotation and skew makes every scan upright and
// straight, at the scan's resolution, whatever the profile did to it.
func TestRotationAndSkewUndoTheScan(t *testing.T) {
	sheets, err := Plan(21, 14)
	if err != nil {
		t.Fatal(err)
	}
	checked := map[int]bool{}
	for _, prof := range []Profile{Real, Hard} {
		for _, s := range sheets {
			set := Settings{Profile: prof, DPI: 150}
			_, scanRNG, _ := pageRNGs(s)
			p, _ := drawParams(scanRNG, set)
			if p.torn >= 0 || p.bilevel {
				continue // an anchor is gone, or too ragged to measure at 150 dpi
			}
			sc, err := Render(s, set)
			if err != nil {
				t.Fatal(err)
			}
			m := decodeGray(t, sc.Data)
			wantW, wantH := int(math.Round((210+2*p.overscan)*150/25.4)), int(math.Round((297+2*p.overscan)*150/25.4))
			if p.turn%180 != 0 {
				wantW, wantH = wantH, wantW
			}
			if m.Cols() != wantW || m.Rows() != wantH {
				t.Errorf("%s page %d: %dx%d, want %dx%d", prof, s.Index, m.Cols(), m.Rows(), wantW, wantH)
			}
			up := gocv.NewMat()
			switch sc.Truth.Rotation {
			case 0:
				m.CopyTo(&up)
			case 90:
				gocv.Rotate(m, &up, gocv.Rotate90Clockwise)
			case 180:
				gocv.Rotate(m, &up, gocv.Rotate180Clockwise)
			case 270:
				gocv.Rotate(m, &up, gocv.Rotate90CounterClockwise)
			}
			m.Close()
			// OpenCV's positive angle turns counter-clockwise on screen.
			rot := gocv.GetRotationMatrix2D(image.Pt(up.Cols()/2, up.Rows()/2), -sc.Truth.Skew, 1)
			straight := gocv.NewMat()
			gocv.WarpAffineWithParams(up, &straight, rot, image.Pt(up.Cols(), up.Rows()), gocv.InterpolationLinear, gocv.BorderReplicate, colorWhite)
			rot.Close()
			up.Close()
			a := anchors(t, straight, 150/25.4)
			straight.Close()
			tl, tr, bl, br := a[0], a[1], a[2], a[3]
			angle := math.Atan2(float64(tr.Y-tl.Y), float64(tr.X-tl.X)) * 180 / math.Pi
			width := math.Hypot(float64(tr.X-tl.X), float64(tr.Y-tl.Y)) / (150 / 25.4) // mm at the nominal dpi
			if math.Abs(angle) > 0.4 || tl.Y > bl.Y || tr.Y > br.Y || math.Abs(width-189*(1+p.dpiErr)) > 1 {
				t.Errorf("%s page %d (turn %d, skew %.2f): anchors %v, TL→TR at %.2f° and %.1f mm", prof, s.Index, p.turn, p.skew, a, angle, width)
			}
			checked[p.turn] = true
		}
	}
	if len(checked) != 4 {
		t.Errorf("checked turns %v, want all four", checked)
	}
}

func TestRenderIsDeterministicAndWritesDPI(t *testing.T) {
	sheets, _ := Plan(4, 12)
	for _, tc := range []struct {
		s   Sheet
		set Settings
	}{
		{sheets[0], Settings{Profile: Real, DPI: 200, Mode: ModeGray}},
		{sheets[9], Settings{Profile: Hard, DPI: 150, Mode: ModeColor}},
		{sheets[10], Settings{Profile: Hard, DPI: 150, Mode: ModeLineart}},
	} {
		a, err := Render(tc.s, tc.set)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := Render(tc.s, tc.set)
		if !bytes.Equal(a.Data, b.Data) || a.DPI != tc.set.DPI {
			t.Errorf("%+v: two renders differ or dpi %d", tc.set, a.DPI)
		}
		switch tc.set.Mode {
		case ModeGray, ModeColor:
			if a.Format != "jpeg" || a.Ext != "jpg" || binary.BigEndian.Uint16(a.Data[14:]) != uint16(tc.set.DPI) || a.Data[13] != 1 {
				t.Errorf("%+v: %s without JFIF density", tc.set, a.Format)
			}
			if comps := jpegComponents(a.Data); tc.set.Mode == ModeColor && comps != 3 || tc.set.Mode == ModeGray && comps != 1 {
				t.Errorf("%+v: %d components", tc.set, comps)
			}
		case ModeLineart:
			// IHDR: bit depth 1, grey; then pHYs with pixels per metre.
			if a.Format != "png" || a.Data[24] != 1 || a.Data[25] != 0 || string(a.Data[37:41]) != "pHYs" ||
				binary.BigEndian.Uint32(a.Data[41:]) != uint32(math.Round(150/0.0254)) {
				t.Errorf("%+v: not a 1-bit PNG with pHYs", tc.set)
			}
		}
	}
	other := sheets[0]
	other.seed[0]++
	a, _ := Render(sheets[0], Settings{Profile: Real})
	b, _ := Render(other, Settings{Profile: Real})
	if bytes.Equal(a.Data, b.Data) {
		t.Error("another page seed rendered the same bytes")
	}
}

// jpegComponents reads the component count of a baseline JPEG's frame.
func jpegComponents(data []byte) int {
	for i := 2; i+9 < len(data); {
		if data[i] != 0xFF {
			return -1
		}
		marker, n := data[i+1], int(binary.BigEndian.Uint16(data[i+2:]))
		if marker == 0xC0 || marker == 0xC1 || marker == 0xC2 {
			return int(data[i+9])
		}
		i += 2 + n
	}
	return -1
}
