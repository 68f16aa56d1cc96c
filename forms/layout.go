package forms

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/oned"
	"github.com/makiuchi-d/gozxing/qrcode/decoder"
	"github.com/makiuchi-d/gozxing/qrcode/encoder"
	"golang.org/x/image/font"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

// OpKind is the kind of a drawing operation.
type OpKind int

// Drawing operations. Every backend (PDF, raster) understands exactly these.
const (
	OpFill   OpKind = iota // filled rectangle
	OpStroke               // rectangle outline, stroke centred on the edge
	OpLine                 // straight line from (X, Y) to (X2, Y2)
	OpText                 // text with its baseline at Y
	OpImage                // a PNG image stretched over Rect (a crop of a scan)
)

// Font roles; backends map them to real fonts.
const (
	FontRegular = "regular"
	FontBold    = "bold"
	FontMono    = "mono"
)

// Op is one drawing operation in page millimetres.
type Op struct {
	Kind   OpKind
	Rect   Rect    // OpFill, OpStroke; OpLine uses X, Y as the start
	X2, Y2 float64 // OpLine end
	Width  float64 // stroke or line width, mm
	Ink    float64 // darkness 0..1: 1 is black, 0.12 a dropout grey
	Text   string
	Size   float64 // points
	Font   string
	Align  string // left, center, right
	Image  []byte // OpImage: PNG
}

// Drawing is a page as a list of operations, independent of the output.
type Drawing struct {
	Width, Height float64
	Ops           []Op
}

// Border is the width of the printed border of cells, boxes and zones.
const Border = 0.3

func (d *Drawing) fill(r Rect, ink float64) {
	d.Ops = append(d.Ops, Op{Kind: OpFill, Rect: r, Ink: ink})
}

func (d *Drawing) stroke(r Rect, width float64) {
	d.Ops = append(d.Ops, Op{Kind: OpStroke, Rect: r, Width: width, Ink: 1})
}

// Line adds a straight line.
func (d *Drawing) Line(x0, y0, x1, y1, width, ink float64) {
	d.Ops = append(d.Ops, Op{Kind: OpLine, Rect: Rect{X: x0, Y: y0}, X2: x1, Y2: y1, Width: width, Ink: ink})
}

// Text adds a line of text.
func (d *Drawing) Text(t Text, ink float64) {
	font := FontRegular
	if t.Bold {
		font = FontBold
	}
	d.Ops = append(d.Ops, Op{Kind: OpText, Rect: Rect{X: t.X, Y: t.Y}, Text: t.Text, Size: t.Size, Font: font, Align: t.Align, Ink: ink})
}

// Image adds a PNG image stretched over r: a crop of a scanned page on a
// printed act.
func (d *Drawing) Image(r Rect, png []byte) {
	d.Ops = append(d.Ops, Op{Kind: OpImage, Rect: r, Image: png, Ink: 1})
}

// Compose draws a page of template t for the page identity id: anchors,
// barcode, QR code, title, every field, box and zone, and the printed texts.
func Compose(t *Template, id Identity) (*Drawing, error) {
	if id.Type != t.Type {
		return nil, fmt.Errorf("identity of type %s on a template of type %s", id.Type, t.Type)
	}
	if err := id.Validate(); err != nil {
		return nil, fmt.Errorf("page identity: %w", err)
	}
	if t.Sheet >= 0 && id.Sheet != t.Sheet {
		return nil, fmt.Errorf("type %s pages have sheet %d, not %d", t.Type, t.Sheet, id.Sheet)
	}
	if t.Sheet < 0 && id.Sheet < 3 {
		return nil, fmt.Errorf("type %s sheets are numbered from 3, not %d", t.Type, id.Sheet)
	}
	if t.PerPPE && (id.Auditorium != "0000" || id.Kit != NoKit) {
		return nil, fmt.Errorf("type %s is a ППЭ-wide form: auditorium 0000 and no kit", t.Type)
	}
	d := &Drawing{Width: t.Width, Height: t.Height}
	for _, a := range t.Anchors {
		d.fill(a.Rect, 1)
	}
	if err := d.barcode(t.Barcode, id.Barcode); err != nil {
		return nil, err
	}
	if err := d.qr(t.QR, id.QRText()); err != nil {
		return nil, err
	}
	vars := placeholders(id)
	for _, tx := range t.Title {
		tx.Text = vars.Replace(tx.Text)
		d.Text(tx, 1)
	}
	for _, r := range t.Rules {
		z, _ := t.ZoneByID(r.Zone)
		for y := z.Y + r.Step; y < z.Y1()-r.Step/4; y += r.Step {
			d.Line(z.X+1, y, z.X1()-1, y, 0.2, r.Grey)
		}
	}
	for _, z := range t.Zones {
		d.stroke(z.Rect, Border)
		if z.Label != "" && z.Kind != ZoneAnswer {
			// Printed inside the zone in dropout grey, so it never counts as ink.
			d.Text(Text{X: z.X + 1, Y: z.Y + 2.6, Size: 6, Text: z.Label}, 0.12)
		}
	}
	for _, f := range t.DigitFields {
		for i := 0; i < f.Cells; i++ {
			d.stroke(f.Cell(i), Border)
		}
		if f.Label != "" {
			d.Text(Text{X: f.X, Y: f.Y - 1.2, Size: 6, Text: f.Label}, 1)
		}
	}
	for _, b := range t.Boxes {
		d.stroke(b.Rect, Border)
	}
	for _, tx := range t.Texts {
		tx.Text = vars.Replace(tx.Text)
		d.Text(tx, 1)
	}
	return d, nil
}

// placeholders are the values a template's texts may name in braces.
func placeholders(id Identity) *strings.Replacer {
	date := id.Date
	if len(date) == 8 {
		date = date[6:8] + "." + date[4:6] + "." + date[0:4]
	}
	subject := Subjects[id.Subject]
	if subject == "" {
		subject = "Предмет " + id.Subject
	}
	return strings.NewReplacer(
		"{level}", strconv.Itoa(id.Level),
		"{region}", id.Region,
		"{ppe}", id.PPE,
		"{auditorium}", id.Auditorium,
		"{subject}", id.Subject,
		"{subject_name}", subject,
		"{date_ru}", date,
		"{kit}", id.Kit,
		"{sheet}", strconv.Itoa(id.Sheet),
		"{barcode}", id.Barcode,
	)
}

// Code128Modules returns the bar pattern (true = bar) of a Code 128 symbol
// without quiet zones.
func Code128Modules(content string) ([]bool, error) {
	hints := map[gozxing.EncodeHintType]interface{}{gozxing.EncodeHintType_MARGIN: 0}
	m, err := oned.NewCode128Writer().Encode(content, gozxing.BarcodeFormat_CODE_128, 0, 1, hints)
	if err != nil {
		return nil, fmt.Errorf("code 128 %q: %w", content, err)
	}
	out := make([]bool, m.GetWidth())
	for x := range out {
		out[x] = m.Get(x, 0)
	}
	return out, nil
}

// QRModules returns the module matrix (row-major, true = dark) of a QR code
// of error correction level ec ("L", "M", "Q", "H") in byte mode, without
// the quiet zone.
func QRModules(content, ec string) ([][]bool, error) {
	var level decoder.ErrorCorrectionLevel
	switch ec {
	case "L":
		level = decoder.ErrorCorrectionLevel_L
	case "M", "":
		level = decoder.ErrorCorrectionLevel_M
	case "Q":
		level = decoder.ErrorCorrectionLevel_Q
	case "H":
		level = decoder.ErrorCorrectionLevel_H
	default:
		return nil, fmt.Errorf("QR error correction level %q", ec)
	}
	hints := map[gozxing.EncodeHintType]interface{}{gozxing.EncodeHintType_CHARACTER_SET: "ISO-8859-1"}
	code, err := encoder.Encoder_encode(content, level, hints)
	if err != nil {
		return nil, fmt.Errorf("QR %q: %w", content, err)
	}
	bm := code.GetMatrix()
	out := make([][]bool, bm.GetHeight())
	for y := range out {
		out[y] = make([]bool, bm.GetWidth())
		for x := range out[y] {
			out[y][x] = bm.Get(x, y) == 1
		}
	}
	return out, nil
}

func (d *Drawing) barcode(spec BarcodeSpec, content string) error {
	if len(content) != spec.Digits {
		return fmt.Errorf("barcode %q: want %d digits", content, spec.Digits)
	}
	mods, err := Code128Modules(content)
	if err != nil {
		return err
	}
	for x := 0; x < len(mods); {
		if !mods[x] {
			x++
			continue
		}
		run := 1
		for x+run < len(mods) && mods[x+run] {
			run++
		}
		d.fill(Rect{spec.X + float64(x)*spec.Module, spec.Y, float64(run) * spec.Module, spec.H}, 1)
		x += run
	}
	d.Ops = append(d.Ops, barcodeText(spec, content, len(mods)))
	return nil
}

// Size of the barcode's human-readable digits, points.
const barcodeTextSize = 8

// barcodeText is the operation that prints the digits of a barcode of
// modules modules under its bars: centred on the bars, baseline half a
// millimetre above the text band's bottom.
func barcodeText(spec BarcodeSpec, content string, modules int) Op {
	width := float64(modules) * spec.Module
	return Op{Kind: OpText, Rect: Rect{X: spec.X + width/2, Y: spec.TextY1 - 0.5},
		Text: content, Size: barcodeTextSize, Font: FontMono, Align: "center", Ink: 1}
}

// BarcodeText returns the operation that prints content as the
// human-readable digits of a barcode placed by spec, exactly as Compose
// prints them, and where each character stands: one rectangle per
// character, its advance across and from the digits' height above the
// baseline down to the baseline. A reader of the printed digits renders
// references with it and knows where to look for each digit.
func BarcodeText(spec BarcodeSpec, content string) (Op, []Rect, error) {
	mods, err := Code128Modules(content)
	if err != nil {
		return Op{}, nil, err
	}
	op := barcodeText(spec, content, len(mods))
	p, err := FontPath(op.Font)
	if err != nil {
		return Op{}, nil, err
	}
	f, err := LoadFont(p)
	if err != nil {
		return Op{}, nil, err
	}
	// Font units are read at one unit per em: advances and heights come
	// out as fractions of the em, which is op.Size points.
	var buf sfnt.Buffer
	upem := float64(f.UnitsPerEm())
	em := op.Size * 25.4 / 72
	scale := fixed.Int26_6(upem * 64)
	metrics, err := f.Metrics(&buf, scale, font.HintingNone)
	if err != nil {
		return Op{}, nil, fmt.Errorf("barcode digits: %w", err)
	}
	// sfnt gives the cap height in its y-down sense: negative above the
	// baseline.
	height := math.Abs(float64(metrics.CapHeight)) / 64 / upem * em
	advances := make([]float64, 0, len(content))
	total := 0.0
	for _, c := range content {
		gi, err := f.GlyphIndex(&buf, c)
		if err != nil {
			return Op{}, nil, fmt.Errorf("barcode digits: %w", err)
		}
		adv, err := f.GlyphAdvance(&buf, gi, scale, font.HintingNone)
		if err != nil {
			return Op{}, nil, fmt.Errorf("barcode digits: %w", err)
		}
		a := float64(adv) / 64 / upem * em
		advances = append(advances, a)
		total += a
	}
	x := op.Rect.X - total/2
	cells := make([]Rect, len(advances))
	for i, a := range advances {
		cells[i] = Rect{X: x, Y: op.Rect.Y - height, W: a, H: height}
		x += a
	}
	return op, cells, nil
}

func (d *Drawing) qr(spec QRSpec, content string) error {
	mods, err := QRModules(content, spec.ECLevel)
	if err != nil {
		return err
	}
	m := spec.Size / float64(len(mods))
	for y, row := range mods {
		for x := 0; x < len(row); {
			if !row[x] {
				x++
				continue
			}
			run := 1
			for x+run < len(row) && row[x+run] {
				run++
			}
			d.fill(Rect{spec.X + float64(x)*m, spec.Y + float64(y)*m, float64(run) * m, m}, 1)
			x += run
		}
	}
	return nil
}
