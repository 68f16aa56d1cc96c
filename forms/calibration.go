package forms

import (
	"fmt"
	"math"
)

// The scanner calibration sheet is printed and scanned before exam day to
// check that a scanner is fit for the exam (station readiness). It is not
// a page type of the layout contract and never enters a scan stream: its
// barcode's type digits (99) and its QR prefix are not the contract's, so
// the recognizer reports it as an unknown page, never as a blank.
//
// It keeps the contract's header geometry (anchors, barcode, QR) so that
// what is measured on it is what the recognizer relies on, and adds test
// patterns below the header.

// Calibration codes: known content that the readiness check must read back.
const (
	CalibrationBarcode = "9900000000010" // type 99 (no contract page), serial 1, Luhn digit
	CalibrationQR      = "GIACAL;V=1;SHEET=A4;RULER=150x200"
)

// Ruler is a row or column of thin ticks a known distance apart: the
// distance between the first and last tick centres on a scan gives the
// scanner's real resolution along the ruler.
type Ruler struct {
	Vertical bool    // ticks run down the page (measures the vertical dpi)
	X, Y     float64 // top-left of the first tick
	Step     float64 // centre-to-centre distance of neighbouring ticks, mm
	Count    int     // number of ticks
	Long     float64 // tick length across the ruler, mm
	Thick    float64 // tick thickness along the ruler, mm
}

// Tick returns the rectangle of tick i (0-based).
func (r Ruler) Tick(i int) Rect {
	if r.Vertical {
		return Rect{r.X, r.Y + float64(i)*r.Step, r.Long, r.Thick}
	}
	return Rect{r.X + float64(i)*r.Step, r.Y, r.Thick, r.Long}
}

// Length is the distance between the centres of the first and last tick.
func (r Ruler) Length() float64 { return float64(r.Count-1) * r.Step }

// GreyStep is one patch of the grey scale.
type GreyStep struct {
	Ink float64 // darkness 0..1 as printed
	Rect
}

// LinePairs is a patch of equal black lines and gaps of width Width: the
// scan's contrast between them shows the resolving power at that detail.
type LinePairs struct {
	Width      float64 // line width = gap width, mm
	Horizontal bool    // lines run left to right (tests the vertical resolution)
	Rect
}

// CalibrationLayout is where everything lies on the calibration sheet.
type CalibrationLayout struct {
	Width, Height float64
	Anchors       []Anchor
	Barcode       BarcodeSpec
	QR            QRSpec
	RulerH        Ruler // horizontal ruler: real dpi across the page
	RulerV        Ruler // vertical ruler: real dpi along the page
	Steps         []GreyStep
	Lines         []LinePairs
	White         Rect // blank paper for the noise measurement
}

// Calibration returns the calibration sheet's layout. The header (anchors,
// barcode, QR) is taken from the contract's built-in templates, so the
// sheet follows the contract if it ever moves.
func Calibration() CalibrationLayout {
	hdr, _ := Builtin().Get(TypeBO1)
	l := CalibrationLayout{
		Width: hdr.Width, Height: hdr.Height,
		Anchors: append([]Anchor(nil), hdr.Anchors...),
		Barcode: hdr.Barcode,
		QR:      hdr.QR,
		RulerH:  Ruler{X: 29.7, Y: 50, Step: 10, Count: 16, Long: 5, Thick: 0.6},
		RulerV:  Ruler{Vertical: true, X: 16, Y: 59.7, Step: 10, Count: 21, Long: 5, Thick: 0.6},
		White:   Rect{X: 120, Y: 150, W: 75, H: 60},
	}
	for i := 0; i <= 10; i++ {
		l.Steps = append(l.Steps, GreyStep{Ink: float64(i) / 10, Rect: Rect{X: 35 + 14*float64(i), Y: 72, W: 12, H: 12}})
	}
	for i, w := range []float64{0.5, 0.3, 0.2, 0.15, 0.1} {
		x := 35 + 16*float64(i)
		l.Lines = append(l.Lines,
			LinePairs{Width: w, Rect: Rect{X: x, Y: 104, W: 12, H: 12}},
			LinePairs{Width: w, Horizontal: true, Rect: Rect{X: x, Y: 124, W: 12, H: 12}})
	}
	return l
}

// LinePairsAt returns the line-pair patch of a line width and direction.
func (l CalibrationLayout) LinePairsAt(width float64, horizontal bool) (LinePairs, bool) {
	for _, p := range l.Lines {
		if math.Abs(p.Width-width) < 1e-9 && p.Horizontal == horizontal {
			return p, true
		}
	}
	return LinePairs{}, false
}

// ComposeCalibration draws the calibration sheet for print (WritePDF) or
// for a simulated scan (Rasterize).
func ComposeCalibration() (*Drawing, error) {
	l := Calibration()
	d := &Drawing{Width: l.Width, Height: l.Height}
	for _, a := range l.Anchors {
		d.fill(a.Rect, 1)
	}
	if err := d.barcode(l.Barcode, CalibrationBarcode); err != nil {
		return nil, fmt.Errorf("calibration sheet: %w", err)
	}
	if err := d.qr(l.QR, CalibrationQR); err != nil {
		return nil, fmt.Errorf("calibration sheet: %w", err)
	}
	d.Text(Text{X: 115, Y: 13, Size: 6.5, Align: "center", Text: "СТАНЦИЯ СКАНИРОВАНИЯ ГИА · ПРОВЕРКА ГОТОВНОСТИ"}, 1)
	d.Text(Text{X: 115, Y: 19, Size: 10.5, Bold: true, Align: "center", Text: "КАЛИБРОВОЧНЫЙ ЛИСТ СКАНЕРА"}, 1)

	// Labels stay well clear of the ticks: the measurement takes each
	// tick's centre from a window around it, which must hold nothing else.
	d.Text(Text{X: 30, Y: 46, Size: 7, Text: "Горизонтальная шкала: 150 мм, деления через 10 мм"}, 1)
	for i := 0; i < l.RulerH.Count; i++ {
		d.fill(l.RulerH.Tick(i), 1)
		if i%5 == 0 {
			t := l.RulerH.Tick(i)
			d.Text(Text{X: t.X + t.W/2, Y: 60.5, Size: 6, Align: "center", Text: fmt.Sprint(i * 10)}, 1)
		}
	}
	for i := 0; i < l.RulerV.Count; i++ {
		d.fill(l.RulerV.Tick(i), 1)
		if i%5 == 0 {
			t := l.RulerV.Tick(i)
			d.Text(Text{X: 25, Y: t.Y + 1, Size: 6, Text: fmt.Sprint(i * 10)}, 1)
		}
	}
	d.Text(Text{X: 25, Y: 265, Size: 6, Text: "Вертикальная шкала: 200 мм"}, 1)

	d.Text(Text{X: 35, Y: 69.5, Size: 7, Text: "Шкала серого: 0–100 % с шагом 10 %"}, 1)
	for _, s := range l.Steps {
		if s.Ink > 0 {
			d.fill(s.Rect, s.Ink)
		}
		d.Text(Text{X: s.X + s.W/2, Y: s.Y1() + 3.5, Size: 6, Align: "center", Text: fmt.Sprintf("%.0f %%", s.Ink*100)}, 1)
	}

	d.Text(Text{X: 35, Y: 101.5, Size: 7, Text: "Штриховые миры: ширина линии 0,5 / 0,3 / 0,2 / 0,15 / 0,1 мм"}, 1)
	for _, p := range l.Lines {
		lineStripes(d, p)
		if p.Horizontal {
			d.Text(Text{X: p.X + p.W/2, Y: p.Y1() + 3.5, Size: 6, Align: "center", Text: fmt.Sprintf("%g мм", p.Width)}, 1)
		}
	}

	w := l.White
	// The frame lies 1 mm outside the measured field so the field is paper.
	d.stroke(Rect{w.X - 1, w.Y - 1, w.W + 2, w.H + 2}, 0.2)
	d.Text(Text{X: w.X - 1, Y: w.Y - 2.5, Size: 7, Text: "Белое поле (шум): не писать"}, 1)

	for i, s := range []string{
		"Печатать в масштабе 100 % (без «по размеру страницы»), на белой бумаге A4, лазерным принтером.",
		"Лист не мять и не подписывать: он проверяет разрешение, перекос, контраст, шум и чтение кодов.",
		"Проверка: station readiness check --device … ; при замене сканера или принтера — напечатать заново.",
	} {
		d.Text(Text{X: 35, Y: 225 + 6*float64(i), Size: 7, Text: s}, 1)
	}
	return d, nil
}

// lineStripes fills a line-pair patch with black lines, starting with a
// line at its top or left edge.
func lineStripes(d *Drawing, p LinePairs) {
	span := p.W
	if p.Horizontal {
		span = p.H
	}
	n := int(math.Floor((span + p.Width) / (2 * p.Width)))
	for i := 0; i < n; i++ {
		off := float64(i) * 2 * p.Width
		if p.Horizontal {
			d.fill(Rect{p.X, p.Y + off, p.W, p.Width}, 1)
		} else {
			d.fill(Rect{p.X + off, p.Y, p.Width, p.H}, 1)
		}
	}
}
