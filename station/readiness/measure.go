package readiness

import (
	"errors"
	"fmt"
	"image"
	"math"
	"sort"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/oned"
	"github.com/makiuchi-d/gozxing/qrcode"

	"giascan/forms"
)

// Figures are what one scan of the calibration sheet measured. Resolutions
// are in the scanner's axes: horizontal is across the feed (the sensor's
// line), vertical along the feed.
type Figures struct {
	NominalDPI   int       `json:"nominal_dpi"`
	Rotation     int       `json:"rotation"`      // clockwise quarter turn that made the sheet upright
	AnchorDPIH   float64   `json:"anchor_dpi_h"`  // from the anchors' distances
	AnchorDPIV   float64   `json:"anchor_dpi_v"`  //
	RulerDPIH    float64   `json:"ruler_dpi_h"`   // from the scale bars
	RulerDPIV    float64   `json:"ruler_dpi_v"`   //
	Skew         float64   `json:"skew"`          // degrees, the recognizer's sign: the clockwise correction
	White        float64   `json:"white"`         // paper level, 0..255
	Black        float64   `json:"black"`         // full ink level
	Steps        []float64 `json:"steps"`         // mean level of each grey step, 0 % first
	MinStepGap   float64   `json:"min_step_gap"`  // smallest difference of neighbouring steps
	Noise        float64   `json:"noise"`         // std-dev on the white field, grey levels
	ModulationH  []float64 `json:"modulation_h"`  // per line width, lines across the horizontal axis
	ModulationV  []float64 `json:"modulation_v"`  //
	LineWidths   []float64 `json:"line_widths"`   // mm, order of the modulations
	BarcodeReads int       `json:"barcode_reads"` // reads that gave the known content
	QRReads      int       `json:"qr_reads"`      //
	Tries        int       `json:"tries"`         // reads tried of each code
}

// errNoSheet means the image does not show the calibration sheet's anchors
// and scales where they must be.
var errNoSheet = errors.New("калибровочный лист не найден")

// mapping is the affine map from sheet millimetres to image pixels fitted
// on the four anchors.
type mapping struct{ a, b, c, d, e, f float64 } // x = a·u + b·v + c; y = d·u + e·v + f

func (m mapping) at(u, v float64) (float64, float64) {
	return m.a*u + m.b*v + m.c, m.d*u + m.e*v + m.f
}

// gray is the scan as a plane with bilinear sampling.
type gray struct {
	pix  []uint8
	w, h int
}

func grayOf(g *image.Gray) gray {
	b := g.Bounds()
	out := gray{w: b.Dx(), h: b.Dy()}
	if g.Stride == b.Dx() && b.Min == (image.Point{}) {
		out.pix = g.Pix[:b.Dx()*b.Dy()]
		return out
	}
	out.pix = make([]uint8, b.Dx()*b.Dy())
	for y := 0; y < b.Dy(); y++ {
		copy(out.pix[y*b.Dx():(y+1)*b.Dx()], g.Pix[g.PixOffset(b.Min.X, b.Min.Y+y):])
	}
	return out
}

func (g gray) at(x, y int) float64 {
	if x < 0 || y < 0 || x >= g.w || y >= g.h {
		return 255
	}
	return float64(g.pix[y*g.w+x])
}

// bilinear samples at continuous coordinates with pixel centres at +0.5.
func (g gray) bilinear(x, y float64) float64 {
	x -= 0.5
	y -= 0.5
	x0, y0 := math.Floor(x), math.Floor(y)
	fx, fy := x-x0, y-y0
	ix, iy := int(x0), int(y0)
	return (g.at(ix, iy)*(1-fx)+g.at(ix+1, iy)*fx)*(1-fy) + (g.at(ix, iy+1)*(1-fx)+g.at(ix+1, iy+1)*fx)*fy
}

// measure takes every figure from a grey scan of the calibration sheet.
func measure(img *image.Gray, nominalDPI int) (Figures, error) {
	f := Figures{NominalDPI: nominalDPI}
	l := forms.Calibration()
	g := grayOf(img)
	pxmm := float64(nominalDPI) / 25.4
	if g.w < int(100*pxmm) || g.h < int(100*pxmm) {
		return f, fmt.Errorf("%w: изображение %d×%d пикселей меньше листа A4 при %d dpi", errNoSheet, g.w, g.h, nominalDPI)
	}
	corners, err := findAnchors(g, pxmm)
	if err != nil {
		return f, err
	}
	m, rot := orient(g, corners, l)
	f.Rotation = (4 - rot) % 4 * 90

	// Anchor centres in sheet order TL, TR, BR, BL, as found on the image.
	var p [4][2]float64
	for j := range p {
		p[j] = corners[(j+rot)%4]
	}
	ac := anchorCentres(l)
	dx := ac[1][0] - ac[0][0] // 189 mm
	dy := ac[3][1] - ac[0][1] // 276 mm
	pageX := (dist(p[0], p[1]) + dist(p[3], p[2])) / 2 / dx * 25.4
	pageY := (dist(p[0], p[3]) + dist(p[1], p[2])) / 2 / dy * 25.4
	// The page's x axis on the image, turned back by the quarter turn: its
	// angle left over is the skew.
	vx := [2]float64{p[1][0] - p[0][0] + p[2][0] - p[3][0], p[1][1] - p[0][1] + p[2][1] - p[3][1]}
	vy := [2]float64{p[3][0] - p[0][0] + p[2][0] - p[1][0], p[3][1] - p[0][1] + p[2][1] - p[1][1]}
	angle := math.Atan2(vx[1], vx[0]) - float64(rot)*math.Pi/2
	angleY := math.Atan2(vy[1], vy[0]) - math.Pi/2 - float64(rot)*math.Pi/2
	f.Skew = -(wrapAngle(angle) + wrapAngle(angleY)) / 2 * 180 / math.Pi

	paper := meanIn(g, m, l.White.Inset(3))
	ink := meanIn(g, m, l.Steps[len(l.Steps)-1].Rect.Inset(3))
	rx, err := rulerDPI(g, m, l.RulerH, paper, ink)
	if err != nil {
		return f, err
	}
	ry, err := rulerDPI(g, m, l.RulerV, paper, ink)
	if err != nil {
		return f, err
	}
	// A quarter turn puts the page's width along the feed.
	if rot%2 == 0 {
		f.AnchorDPIH, f.AnchorDPIV, f.RulerDPIH, f.RulerDPIV = pageX, pageY, rx, ry
	} else {
		f.AnchorDPIH, f.AnchorDPIV, f.RulerDPIH, f.RulerDPIV = pageY, pageX, ry, rx
	}

	for _, s := range l.Steps {
		f.Steps = append(f.Steps, meanIn(g, m, s.Rect.Inset(3)))
	}
	f.White, f.Black = f.Steps[0], f.Steps[len(f.Steps)-1]
	f.MinStepGap = math.Inf(1)
	for i := 1; i < len(f.Steps); i++ {
		f.MinStepGap = math.Min(f.MinStepGap, f.Steps[i-1]-f.Steps[i])
	}
	f.Noise = noiseIn(g, m, l.White.Inset(3))

	span := math.Max(f.White-f.Black, 1)
	step := 25.4 / float64(nominalDPI) / 2
	for _, lp := range l.Lines {
		mod := modulation(g, m, lp, step) / span
		// Lines running down the page resolve detail along the page's x.
		acrossX := !lp.Horizontal
		if (rot%2 == 0) == acrossX {
			f.ModulationH = append(f.ModulationH, mod)
			f.LineWidths = append(f.LineWidths, lp.Width)
		} else {
			f.ModulationV = append(f.ModulationV, mod)
		}
	}
	f.BarcodeReads, f.QRReads, f.Tries = readCodes(g, m, l, (pageX+pageY)/2/25.4)
	return f, nil
}

func wrapAngle(a float64) float64 {
	for a > math.Pi {
		a -= 2 * math.Pi
	}
	for a <= -math.Pi {
		a += 2 * math.Pi
	}
	return a
}

func dist(a, b [2]float64) float64 { return math.Hypot(a[0]-b[0], a[1]-b[1]) }

// anchorCentres are the sheet's anchor centres in order TL, TR, BR, BL.
func anchorCentres(l forms.CalibrationLayout) [4][2]float64 {
	var out [4][2]float64
	for _, a := range l.Anchors {
		x, y := a.Center()
		i := 0
		switch {
		case x > l.Width/2 && y < l.Height/2:
			i = 1
		case x > l.Width/2:
			i = 2
		case y > l.Height/2:
			i = 3
		}
		out[i] = [2]float64{x, y}
	}
	return out
}

// findAnchors finds the darkest 5 mm square near each corner of the image
// and returns the centres in image order TL, TR, BR, BL.
func findAnchors(g gray, pxmm float64) ([4][2]float64, error) {
	var hist [256]int
	for _, v := range g.pix {
		hist[v]++
	}
	thr := otsu(&hist)
	// Integral image of the dark mask, one row and column of zeros first.
	W := g.w + 1
	integral := make([]uint32, W*(g.h+1))
	for y := 0; y < g.h; y++ {
		var run uint32
		row := g.pix[y*g.w : (y+1)*g.w]
		for x, v := range row {
			if float64(v) < thr {
				run++
			}
			integral[(y+1)*W+x+1] = integral[y*W+x+1] + run
		}
	}
	box := int(math.Round(4.6 * pxmm)) // a little under 5 mm: a real dpi a few per cent low still fills it
	reach := int(48 * pxmm)            // shift, skew and the glass around the sheet
	sum := func(x, y int) uint32 {
		return integral[(y+box)*W+x+box] - integral[y*W+x+box] - integral[(y+box)*W+x] + integral[y*W+x]
	}
	var out [4][2]float64
	for c := 0; c < 4; c++ {
		x0, y0 := 0, 0
		if c == 1 || c == 2 {
			x0 = g.w - reach
		}
		if c >= 2 {
			y0 = g.h - reach
		}
		x0, y0 = max(x0, 0), max(y0, 0)
		x1, y1 := min(x0+reach, g.w-box), min(y0+reach, g.h-box)
		best, bx, by := uint32(0), 0, 0
		for y := y0; y < y1; y++ {
			for x := x0; x < x1; x++ {
				if s := sum(x, y); s > best {
					best, bx, by = s, x, y
				}
			}
		}
		if float64(best) < 0.85*float64(box*box) {
			return out, fmt.Errorf("%w: нет метки в углу %s", errNoSheet, []string{"верхнем левом", "верхнем правом", "нижнем правом", "нижнем левом"}[c])
		}
		out[c] = centroid(g, float64(bx)+float64(box)/2, float64(by)+float64(box)/2, 4*pxmm, thr)
	}
	return out, nil
}

// centroid is the darkness-weighted centre of the pixels within half a
// window of (cx, cy). The anchors' clear zone keeps other ink out.
func centroid(g gray, cx, cy, half, thr float64) [2]float64 {
	var sw, sx, sy float64
	for y := int(cy - half); y <= int(cy+half); y++ {
		for x := int(cx - half); x <= int(cx+half); x++ {
			w := thr - g.at(x, y)
			if w <= 0 {
				continue
			}
			sw += w
			sx += w * (float64(x) + 0.5)
			sy += w * (float64(y) + 0.5)
		}
	}
	if sw == 0 {
		return [2]float64{cx, cy}
	}
	return [2]float64{sx / sw, sy / sw}
}

func otsu(hist *[256]int) float64 {
	total, sum := 0, 0.0
	for i, n := range hist {
		total += n
		sum += float64(i * n)
	}
	var wb, sb, best float64
	thr := 128.0
	for i, n := range hist {
		wb += float64(n)
		if wb == 0 {
			continue
		}
		wf := float64(total) - wb
		if wf == 0 {
			break
		}
		sb += float64(i * n)
		mb, mf := sb/wb, (sum-sb)/wf
		if v := wb * wf * (mb - mf) * (mb - mf); v > best {
			best, thr = v, float64(i)+0.5
		}
	}
	return thr
}

// orient tries the two quarter turns that fit the image's shape and keeps
// the one that finds the header's barcode and QR code inked. It returns
// the map and rot, the number of clockwise quarter turns the sheet lies
// turned by on the image.
func orient(g gray, corners [4][2]float64, l forms.CalibrationLayout) (mapping, int) {
	ac := anchorCentres(l)
	first := 0
	if g.w > g.h {
		first = 1
	}
	var best mapping
	bestRot, bestInk := first, -1.0
	for _, rot := range []int{first, first + 2} {
		var img [4][2]float64
		for j := range img {
			img[j] = corners[(j+rot)%4]
		}
		m := fitAffine(ac, img)
		qr := l.QR.Box()
		ink := 255 - meanIn(g, m, qr)
		bc := forms.Rect{X: l.Barcode.X, Y: l.Barcode.Y, W: 30, H: l.Barcode.H}
		ink += 255 - meanIn(g, m, bc)
		if ink > bestInk {
			best, bestRot, bestInk = m, rot, ink
		}
	}
	return best, bestRot
}

// fitAffine fits x = a·u + b·v + c, y = d·u + e·v + f to four point pairs
// by least squares.
func fitAffine(src, dst [4][2]float64) mapping {
	var n [3][3]float64
	var bx, by [3]float64
	for i := range src {
		r := [3]float64{src[i][0], src[i][1], 1}
		for j := 0; j < 3; j++ {
			for k := 0; k < 3; k++ {
				n[j][k] += r[j] * r[k]
			}
			bx[j] += r[j] * dst[i][0]
			by[j] += r[j] * dst[i][1]
		}
	}
	sx, sy := solve3(n, bx), solve3(n, by)
	return mapping{sx[0], sx[1], sx[2], sy[0], sy[1], sy[2]}
}

// solve3 solves a 3×3 system by Cramer's rule; the anchors' rectangle keeps
// it well conditioned.
func solve3(a [3][3]float64, b [3]float64) [3]float64 {
	det := func(m [3][3]float64) float64 {
		return m[0][0]*(m[1][1]*m[2][2]-m[1][2]*m[2][1]) - m[0][1]*(m[1][0]*m[2][2]-m[1][2]*m[2][0]) + m[0][2]*(m[1][0]*m[2][1]-m[1][1]*m[2][0])
	}
	d := det(a)
	var out [3]float64
	for c := 0; c < 3; c++ {
		m := a
		for r := 0; r < 3; r++ {
			m[r][c] = b[r]
		}
		out[c] = det(m) / d
	}
	return out
}

// bbox is the image pixel box that covers the sheet rectangle r.
func bbox(m mapping, r forms.Rect) (x0, y0, x1, y1 int) {
	fx0, fy0 := math.Inf(1), math.Inf(1)
	fx1, fy1 := math.Inf(-1), math.Inf(-1)
	for _, c := range [][2]float64{{r.X, r.Y}, {r.X1(), r.Y}, {r.X, r.Y1()}, {r.X1(), r.Y1()}} {
		x, y := m.at(c[0], c[1])
		fx0, fy0 = math.Min(fx0, x), math.Min(fy0, y)
		fx1, fy1 = math.Max(fx1, x), math.Max(fy1, y)
	}
	return int(math.Floor(fx0)), int(math.Floor(fy0)), int(math.Ceil(fx1)), int(math.Ceil(fy1))
}

// rulerDPI finds every tick's darkness centroid and fits a straight line of
// equally spaced centres: the spacing in pixels over the spacing in mm is
// the real resolution along the ruler.
func rulerDPI(g gray, m mapping, r forms.Ruler, paper, ink float64) (float64, error) {
	span := math.Max(paper-ink, 1)
	var pts [][2]float64
	for i := 0; i < r.Count; i++ {
		t := r.Tick(i)
		win := forms.Rect{X: t.X - 2, Y: t.Y - 2, W: t.W + 4, H: t.H + 4}
		x0, y0, x1, y1 := bbox(m, win)
		var sw, sx, sy float64
		for y := y0; y < y1; y++ {
			for x := x0; x < x1; x++ {
				w := paper - g.at(x, y)
				if w < 0.25*span { // paper and its noise weigh nothing
					continue
				}
				sw += w
				sx += w * (float64(x) + 0.5)
				sy += w * (float64(y) + 0.5)
			}
		}
		// A tick covers Long×Thick mm; far less ink means it is missing.
		if sw < 0.3*span*t.W*t.H*(m.a*m.a+m.d*m.d) {
			dir := "горизонтальной"
			if r.Vertical {
				dir = "вертикальной"
			}
			return 0, fmt.Errorf("%w: не найдено деление %d %s шкалы", errNoSheet, i, dir)
		}
		pts = append(pts, [2]float64{sx / sw, sy / sw})
	}
	// Least squares of p_i = p0 + i·v, per coordinate.
	n := float64(len(pts))
	var si, sii float64
	var sp, sip [2]float64
	for i, p := range pts {
		fi := float64(i)
		si += fi
		sii += fi * fi
		for k := 0; k < 2; k++ {
			sp[k] += p[k]
			sip[k] += fi * p[k]
		}
	}
	var v [2]float64
	for k := 0; k < 2; k++ {
		v[k] = (n*sip[k] - si*sp[k]) / (n*sii - si*si)
	}
	return math.Hypot(v[0], v[1]) / r.Step * 25.4, nil
}

// samples calls fn with the image position of sheet points on a grid of
// step mm inside r.
func samples(m mapping, r forms.Rect, step float64, fn func(x, y float64)) {
	for v := r.Y + step/2; v < r.Y1(); v += step {
		for u := r.X + step/2; u < r.X1(); u += step {
			fn(m.at(u, v))
		}
	}
}

// meanIn is the mean level inside a sheet rectangle.
func meanIn(g gray, m mapping, r forms.Rect) float64 {
	var sum float64
	n := 0
	samples(m, r, 0.25, func(x, y float64) {
		sum += g.at(int(x), int(y))
		n++
	})
	if n == 0 {
		return 255
	}
	return sum / float64(n)
}

// noiseIn is the median std-dev of small tiles inside r: uneven light
// changes the level across the field but hardly within a tile.
func noiseIn(g gray, m mapping, r forms.Rect) float64 {
	var sds []float64
	const tile = 2.0 // mm
	for v := r.Y; v+tile <= r.Y1(); v += tile {
		for u := r.X; u+tile <= r.X1(); u += tile {
			x0, y0, x1, y1 := bbox(m, forms.Rect{X: u, Y: v, W: tile, H: tile})
			// The inner half of the covering box lies inside the tile at
			// any skew the check accepts; it is plenty of pixels.
			qx, qy := (x1-x0)/4, (y1-y0)/4
			var s, ss float64
			n := 0
			for y := y0 + qy; y < y1-qy; y++ {
				for x := x0 + qx; x < x1-qx; x++ {
					p := g.at(x, y)
					s += p
					ss += p * p
					n++
				}
			}
			if n > 1 {
				mean := s / float64(n)
				sds = append(sds, math.Sqrt(math.Max(0, ss/float64(n)-mean*mean)))
			}
		}
	}
	if len(sds) == 0 {
		return math.Inf(1)
	}
	sort.Float64s(sds)
	return sds[len(sds)/2]
}

// modulation is the spread (90th minus 10th percentile) of a line-pair
// patch's profile across its lines, averaged along them.
func modulation(g gray, m mapping, lp forms.LinePairs, step float64) float64 {
	r := lp.Rect.Inset(1)
	var prof []float64
	if lp.Horizontal {
		for v := r.Y; v < r.Y1(); v += step {
			var s float64
			n := 0
			for u := r.X; u < r.X1(); u += 0.2 {
				s += g.bilinear(m.at(u, v))
				n++
			}
			prof = append(prof, s/float64(n))
		}
	} else {
		for u := r.X; u < r.X1(); u += step {
			var s float64
			n := 0
			for v := r.Y; v < r.Y1(); v += 0.2 {
				s += g.bilinear(m.at(u, v))
				n++
			}
			prof = append(prof, s/float64(n))
		}
	}
	sort.Float64s(prof)
	return prof[len(prof)*9/10] - prof[len(prof)/10]
}

// codeShifts are the crop offsets (mm) of the repeated reads: a code that
// reads only when the crop falls just so is not read reliably.
var codeShifts = [][2]float64{{0, 0}, {-1.5, 0}, {1.5, 0}, {0, -1}, {0, 1}, {-1, -1}, {1, 1}, {-1, 1}, {1, -1}}

// readCodes decodes the barcode and the QR code from crops of the sheet's
// header at several offsets, and counts the reads with the known content.
func readCodes(g gray, m mapping, l forms.CalibrationLayout, k float64) (barcode, qr, tries int) {
	mods, _ := forms.Code128Modules(forms.CalibrationBarcode)
	bw := float64(len(mods)) * l.Barcode.Module
	for _, s := range codeShifts {
		bc := forms.Rect{X: l.Barcode.X - 4.5 + s[0], Y: l.Barcode.Y - 1 + s[1], W: bw + 9, H: l.Barcode.H + 2}
		if decode(crop(g, m, bc, k), false) == forms.CalibrationBarcode {
			barcode++
		}
		q := l.QR.Box()
		qc := forms.Rect{X: q.X - 4.5 + s[0], Y: q.Y - 4.5 + s[1], W: q.W + 9, H: q.H + 9}
		if decode(crop(g, m, qc, k), true) == forms.CalibrationQR {
			qr++
		}
	}
	return barcode, qr, len(codeShifts)
}

// cropScale is the resolution of code crops, px/mm: 300 dpi is plenty for
// a 0.3 mm module, and a finer scan is averaged down to it, which also
// averages its noise as the recognizer's reading does.
const cropScale = 12.0

// crop warps a sheet rectangle to an upright image at most cropScale
// pixels per mm from a scan of k pixels per mm.
func crop(g gray, m mapping, r forms.Rect, k float64) *image.Gray {
	ks := math.Min(k, cropScale)
	ss := max(1, int(math.Ceil(k/ks))) // samples per output pixel and axis
	w, h := int(math.Round(r.W*ks)), int(math.Round(r.H*ks))
	out := image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var sum float64
			for j := 0; j < ss; j++ {
				for i := 0; i < ss; i++ {
					u := r.X + (float64(x)+(float64(i)+0.5)/float64(ss))/ks
					v := r.Y + (float64(y)+(float64(j)+0.5)/float64(ss))/ks
					sum += g.bilinear(m.at(u, v))
				}
			}
			out.Pix[y*out.Stride+x] = uint8(math.Round(sum / float64(ss*ss)))
		}
	}
	return out
}

// decode reads a Code 128 or QR symbol from a crop; "" when it fails.
func decode(img *image.Gray, isQR bool) string {
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return ""
	}
	var res *gozxing.Result
	if isQR {
		res, err = qrcode.NewQRCodeReader().Decode(bmp, nil)
	} else {
		res, err = oned.NewCode128Reader().Decode(bmp, nil)
	}
	if err != nil {
		return ""
	}
	return res.GetText()
}
