// Package forms holds the templates of the machine-readable pages (answer
// blanks and ППЭ forms), the identity codes printed on them, and the drawing
// of a page for print (PDF) and for simulated scans (raster).
//
// Templates are declarative JSON files (templates/*.json) embedded in the
// binary; a folder of such files can replace them, so that next year's
// blanks need no recompiling. Coordinates are millimetres from the top-left
// corner of the upright A4 page, as in the layout contract (blanks.md).
package forms

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
)

// Page types of the layout contract, section 3.
const (
	TypeBO1       = "11" // Бланк ответов №1
	TypeBO2Sheet1 = "21" // Бланк ответов №2 лист 1
	TypeBO2Sheet2 = "22" // Бланк ответов №2 лист 2
	TypeDBO2      = "23" // Дополнительный бланк ответов №2
	TypePPE1302   = "51" // ППЭ-13-02-МАШ
	TypePPE18     = "53" // ППЭ-18-МАШ
	TypePPE15     = "55" // ППЭ-15, signed copy (header only is fixed)
	// TypeAcceptance is the station's own acceptance act (акт
	// приёмки-передачи ЭМ): the contract's header, no H, the station's body.
	TypeAcceptance = "56"
)

// Rect is an axis-aligned rectangle in millimetres.
type Rect struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
	W float64 `json:"w"`
	H float64 `json:"h"`
}

// X1 is the right edge.
func (r Rect) X1() float64 { return r.X + r.W }

// Y1 is the bottom edge.
func (r Rect) Y1() float64 { return r.Y + r.H }

// Center is the centre point.
func (r Rect) Center() (float64, float64) { return r.X + r.W/2, r.Y + r.H/2 }

// Inset shrinks the rectangle by d on every side.
func (r Rect) Inset(d float64) Rect { return Rect{r.X + d, r.Y + d, r.W - 2*d, r.H - 2*d} }

// Anchor is one of the four solid registration squares.
type Anchor struct {
	ID string `json:"id"` // TL, TR, BL, BR
	Rect
}

// BarcodeSpec places the Code 128 barcode and its human-readable digits.
type BarcodeSpec struct {
	X      float64 `json:"x"`      // left edge of the first bar
	Y      float64 `json:"y"`      // top of the bars
	H      float64 `json:"h"`      // bar height
	Module float64 `json:"module"` // narrow module width
	Digits int     `json:"digits"`
	Quiet  float64 `json:"quiet"` // minimum quiet zone each side
	TextY0 float64 `json:"text_y0"`
	TextY1 float64 `json:"text_y1"`
}

// QRSpec places the QR code (the symbol itself, quiet zone outside it).
type QRSpec struct {
	X         float64 `json:"x"`
	Y         float64 `json:"y"`
	Size      float64 `json:"size"`
	ECLevel   string  `json:"ec"`
	QuietMods int     `json:"quiet_modules"`
}

// Box returns the symbol's rectangle.
func (q QRSpec) Box() Rect { return Rect{q.X, q.Y, q.Size, q.Size} }

// DigitField is a row of touching digit cells.
type DigitField struct {
	ID    string  `json:"id"`
	Label string  `json:"label,omitempty"`
	X     float64 `json:"x"`
	Y     float64 `json:"y"`
	Cells int     `json:"cells"`
	CellW float64 `json:"cell_w"`
	CellH float64 `json:"cell_h"`
}

// Cell returns the rectangle of cell i (0-based, left to right).
func (f DigitField) Cell(i int) Rect {
	return Rect{f.X + float64(i)*f.CellW, f.Y, f.CellW, f.CellH}
}

// Bounds is the rectangle of the whole field.
func (f DigitField) Bounds() Rect { return Rect{f.X, f.Y, float64(f.Cells) * f.CellW, f.CellH} }

// Box is a mark box. Group names the set of alternatives it belongs to
// (a task's options): more than one marked box of a group is flagged.
type Box struct {
	ID    string `json:"id"`
	Group string `json:"group,omitempty"`
	Label string `json:"label,omitempty"`
	Rect
}

// Zone kinds.
const (
	ZoneText      = "text"
	ZoneSignature = "signature"
	ZoneAnswer    = "answer"
)

// Zone is a rectangle whose content is kept as an image crop.
type Zone struct {
	ID    string `json:"id"`
	Kind  string `json:"kind"`
	Label string `json:"label,omitempty"`
	Rect
}

// Rules are dropout lines ruled across a zone (not ink).
type Rules struct {
	Zone string  `json:"zone"`
	Step float64 `json:"step"`
	Grey float64 `json:"grey"` // darkness 0..1 of the lines, at most 0.15
}

// Text is printed text that the recognizer ignores.
type Text struct {
	X     float64 `json:"x"`
	Y     float64 `json:"y"`    // baseline
	Size  float64 `json:"size"` // points
	Bold  bool    `json:"bold,omitempty"`
	Align string  `json:"align,omitempty"` // left (default), center, right
	Text  string  `json:"text"`
}

// Template is the layout of one page type.
type Template struct {
	Type    string  `json:"type"`
	Name    string  `json:"name"`
	Version int     `json:"version"`
	Width   float64 `json:"width"`
	Height  float64 `json:"height"`
	// Sheet is the fixed sheet number L of the page type; -1 when it varies (ДБО №2: 3, 4, …).
	Sheet       int          `json:"sheet"`
	PerPPE      bool         `json:"per_ppe,omitempty"` // ППЭ-wide form: A = 0000, K = 0000000000
	Anchors     []Anchor     `json:"anchors"`
	AnchorClear float64      `json:"anchor_clear"` // nothing dark this close to an anchor
	Barcode     BarcodeSpec  `json:"barcode"`
	QR          QRSpec       `json:"qr"`
	TitleBox    Rect         `json:"title_box"`
	Title       []Text       `json:"title"`
	DigitFields []DigitField `json:"digit_fields,omitempty"`
	Boxes       []Box        `json:"boxes,omitempty"`
	Zones       []Zone       `json:"zones,omitempty"`
	Rules       []Rules      `json:"rules,omitempty"`
	Texts       []Text       `json:"texts,omitempty"`
}

// Field looks up a digit field by id.
func (t *Template) Field(id string) (DigitField, bool) {
	for _, f := range t.DigitFields {
		if f.ID == id {
			return f, true
		}
	}
	return DigitField{}, false
}

// ZoneByID looks up a zone by id.
func (t *Template) ZoneByID(id string) (Zone, bool) {
	for _, z := range t.Zones {
		if z.ID == id {
			return z, true
		}
	}
	return Zone{}, false
}

// Set is the templates in force, by page type.
type Set struct {
	byType map[string]*Template
}

// Get returns the template of a page type.
func (s *Set) Get(pageType string) (*Template, bool) {
	t, ok := s.byType[pageType]
	return t, ok
}

// Types lists the page types in ascending order.
func (s *Set) Types() []string {
	out := make([]string, 0, len(s.byType))
	for k := range s.byType {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

//go:embed templates/*.json
var embedded embed.FS

// Builtin returns the templates embedded in the binary.
func Builtin() *Set {
	s, err := LoadFS(embedded, "templates")
	if err != nil {
		panic("embedded templates are broken: " + err.Error())
	}
	return s
}

// LoadDir reads every *.json template from a folder, replacing the built-in set.
func LoadDir(dir string) (*Set, error) {
	return LoadFS(os.DirFS(dir), ".")
}

// Load returns the templates from dir, or the built-in ones when dir is empty.
func Load(dir string) (*Set, error) {
	if dir == "" {
		return Builtin(), nil
	}
	return LoadDir(dir)
}

// LoadFS reads every *.json template under root of fsys.
func LoadFS(fsys fs.FS, root string) (*Set, error) {
	entries, err := fs.ReadDir(fsys, root)
	if err != nil {
		return nil, fmt.Errorf("read templates: %w", err)
	}
	s := &Set{byType: map[string]*Template{}}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		p := path.Join(root, e.Name())
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return nil, fmt.Errorf("read template %s: %w", e.Name(), err)
		}
		var t Template
		dec := json.NewDecoder(strings.NewReader(string(data)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&t); err != nil {
			return nil, fmt.Errorf("template %s: %w", e.Name(), err)
		}
		if err := t.Validate(); err != nil {
			return nil, fmt.Errorf("template %s: %w", e.Name(), err)
		}
		if _, dup := s.byType[t.Type]; dup {
			return nil, fmt.Errorf("template %s: page type %s defined twice", e.Name(), t.Type)
		}
		s.byType[t.Type] = &t
	}
	if len(s.byType) == 0 {
		return nil, errors.New("no templates (*.json) found")
	}
	return s, nil
}

// Validate checks a template for internal consistency: everything on the
// page, unique ids, two-digit type, four anchors.
func (t *Template) Validate() error {
	if len(t.Type) != 2 || !isDigits(t.Type) {
		return fmt.Errorf("type %q: want two digits", t.Type)
	}
	if t.Width <= 0 || t.Height <= 0 {
		return fmt.Errorf("page size %gx%g mm", t.Width, t.Height)
	}
	if len(t.Anchors) != 4 {
		return fmt.Errorf("%d anchors, want 4", len(t.Anchors))
	}
	page := Rect{0, 0, t.Width, t.Height}
	inside := func(what string, r Rect) error {
		if r.W <= 0 || r.H <= 0 || r.X < page.X || r.Y < page.Y || r.X1() > page.X1() || r.Y1() > page.Y1() {
			return fmt.Errorf("%s %+v is not on the page", what, r)
		}
		return nil
	}
	for _, a := range t.Anchors {
		if err := inside("anchor "+a.ID, a.Rect); err != nil {
			return err
		}
	}
	if t.Barcode.Digits <= 0 || t.Barcode.Module <= 0 || t.Barcode.H <= 0 {
		return errors.New("barcode: digits, module and height must be positive")
	}
	if err := inside("qr", t.QR.Box()); err != nil {
		return err
	}
	ids := map[string]bool{}
	seen := func(kind, id string) error {
		if id == "" {
			return fmt.Errorf("%s without id", kind)
		}
		if ids[id] {
			return fmt.Errorf("%s %q: id used twice", kind, id)
		}
		ids[id] = true
		return nil
	}
	for _, f := range t.DigitFields {
		if err := seen("digit field", f.ID); err != nil {
			return err
		}
		if f.Cells <= 0 {
			return fmt.Errorf("digit field %s: %d cells", f.ID, f.Cells)
		}
		if err := inside("digit field "+f.ID, f.Bounds()); err != nil {
			return err
		}
	}
	for _, b := range t.Boxes {
		if err := seen("box", b.ID); err != nil {
			return err
		}
		if err := inside("box "+b.ID, b.Rect); err != nil {
			return err
		}
	}
	for _, z := range t.Zones {
		if err := seen("zone", z.ID); err != nil {
			return err
		}
		switch z.Kind {
		case ZoneText, ZoneSignature, ZoneAnswer:
		default:
			return fmt.Errorf("zone %s: kind %q", z.ID, z.Kind)
		}
		if err := inside("zone "+z.ID, z.Rect); err != nil {
			return err
		}
	}
	for _, r := range t.Rules {
		if _, ok := t.ZoneByID(r.Zone); !ok {
			return fmt.Errorf("rules on unknown zone %q", r.Zone)
		}
		if r.Step <= 0 || r.Grey <= 0 || r.Grey > 0.15 {
			return fmt.Errorf("rules on %s: step %g, grey %g (dropout lines are at most 15 %% grey)", r.Zone, r.Step, r.Grey)
		}
	}
	return nil
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}
