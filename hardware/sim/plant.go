package sim

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"giascan/forms"
)

// Plants are the problems of an exam day planted in a simulated stack, so
// that reconciliation and the corrections that follow it can be shown and
// tested on real scans. Sheet numbers count the planned stack from 1,
// before From cuts it.
type Plants struct {
	// From starts the stack at sheet N: the sheets before it were fed in
	// an earlier run. 0 or 1 starts at the first sheet.
	From int
	// DupScan feeds sheet N a second time right after itself: the same
	// paper, a scan of its own (other noise, skew and resolution).
	DupScan []int
	// DupBarcode prints sheet N with the barcode of the nearest earlier
	// sheet of its type: two different sheets carry one barcode.
	DupBarcode []int
	// Foreign puts, after sheet N, a copy of it printed for another ППЭ
	// (code +1) with a barcode of its own.
	Foreign []int
	// Drop leaves sheet N out of the stack, as a sheet that never reached
	// the scanner.
	Drop []int
	// Gap prints ДБО №2 sheet N with the next sheet number, leaving a
	// gap in its participant's chain.
	Gap []int
	// Smudge smears ink over the barcode and the QR code of sheet N, so
	// that the page cannot be identified.
	Smudge []int
	// Removed flips the organiser's «удалён» mark of БО №1 sheet N, so
	// that the blanks disagree with the ППЭ-13-02-МАШ.
	Removed []int
}

// variant says how a planted sheet is rendered differently from Render.
type variant int

const (
	variantNone   variant = iota
	variantRescan         // a second scan of a sheet already fed
	variantSmudge         // codes smeared with ink
)

// planted is one sheet of a planted stack with how it is rendered.
type planted struct {
	sheet Sheet
	how   variant
}

// IsPlantKey tells whether a sim spec key belongs to Plants.
func IsPlantKey(k string) bool {
	switch k {
	case "from", "dupscan", "dupbarcode", "foreign", "drop", "gap", "smudge", "removed":
		return true
	}
	return false
}

// Set sets the plant of a sim spec key from its value. Keys naming sheets
// may repeat, or take several numbers joined by "+": drop=4+9.
func (p *Plants) Set(k, v string) error {
	if k == "from" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fmt.Errorf("want a sheet number from 1, not %q", v)
		}
		p.From = n
		return nil
	}
	var list *[]int
	switch k {
	case "dupscan":
		list = &p.DupScan
	case "dupbarcode":
		list = &p.DupBarcode
	case "foreign":
		list = &p.Foreign
	case "drop":
		list = &p.Drop
	case "gap":
		list = &p.Gap
	case "smudge":
		list = &p.Smudge
	case "removed":
		list = &p.Removed
	default:
		return fmt.Errorf("unknown key")
	}
	for _, s := range strings.Split(v, "+") {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return fmt.Errorf("want sheet numbers from 1, not %q", v)
		}
		*list = append(*list, n)
	}
	return nil
}

// Zero tells whether nothing is planted.
func (p Plants) Zero() bool {
	return p.From <= 1 && len(p.DupScan)+len(p.DupBarcode)+len(p.Foreign)+len(p.Drop)+len(p.Gap)+len(p.Smudge)+len(p.Removed) == 0
}

// plant applies p to a planned stack and returns the stack to feed.
func (p Plants) plant(sheets []Sheet) ([]planted, error) {
	check := func(what string, ns []int, ok func(Sheet) bool, want string) error {
		for _, n := range ns {
			if n > len(sheets) {
				return fmt.Errorf("plant %s=%d: the stack has %d sheets", what, n, len(sheets))
			}
			if ok != nil && !ok(sheets[n-1]) {
				return fmt.Errorf("plant %s=%d: sheet %d is type %s, want %s", what, n, n, sheets[n-1].ID.Type, want)
			}
		}
		return nil
	}
	isType := func(t string) func(Sheet) bool { return func(s Sheet) bool { return s.ID.Type == t } }
	for _, c := range []struct {
		what string
		ns   []int
		ok   func(Sheet) bool
		want string
	}{
		{"dupscan", p.DupScan, nil, ""}, {"dupbarcode", p.DupBarcode, nil, ""}, {"foreign", p.Foreign, nil, ""},
		{"drop", p.Drop, nil, ""}, {"smudge", p.Smudge, nil, ""},
		{"gap", p.Gap, isType(forms.TypeDBO2), "ДБО №2 (" + forms.TypeDBO2 + ")"},
		{"removed", p.Removed, isType(forms.TypeBO1), "БО №1 (" + forms.TypeBO1 + ")"},
	} {
		if err := check(c.what, c.ns, c.ok, c.want); err != nil {
			return nil, err
		}
	}
	if p.From > len(sheets) {
		return nil, fmt.Errorf("plant from=%d: the stack has %d sheets", p.From, len(sheets))
	}
	// New barcodes (foreign copies) come after every serial of the plan,
	// so they never meet a planned one.
	var serial uint64
	for _, s := range sheets {
		n, _ := strconv.ParseUint(s.ID.Barcode[2:12], 10, 64)
		serial = max(serial, n)
	}
	src := slices.Clone(sheets)
	for _, n := range p.DupBarcode {
		s := &src[n-1]
		for i := n - 2; i >= 0; i-- {
			if sheets[i].ID.Type == s.ID.Type {
				s.ID.Barcode = sheets[i].ID.Barcode
				break
			}
		}
		if s.ID.Barcode == sheets[n-1].ID.Barcode {
			return nil, fmt.Errorf("plant dupbarcode=%d: no earlier sheet of type %s", n, s.ID.Type)
		}
	}
	for _, n := range p.Gap {
		src[n-1].ID.Sheet++
	}
	for _, n := range p.Removed {
		src[n-1].removed = !src[n-1].removed
	}
	var out []planted
	for i, s := range src {
		n := i + 1
		if n < p.From || slices.Contains(p.Drop, n) {
			continue
		}
		how := variantNone
		if slices.Contains(p.Smudge, n) {
			how = variantSmudge
		}
		out = append(out, planted{sheet: s, how: how})
		if slices.Contains(p.DupScan, n) {
			out = append(out, planted{sheet: s, how: variantRescan})
		}
		if slices.Contains(p.Foreign, n) {
			f := s
			code, _ := strconv.Atoi(s.ID.PPE)
			f.ID.PPE = fmt.Sprintf("%04d", code%9999+1)
			serial++
			b, err := forms.MakeBarcode(f.ID.Type, serial)
			if err != nil {
				return nil, fmt.Errorf("plant foreign=%d: %w", n, err)
			}
			f.ID.Barcode = b
			f.seed[0] ^= 0xf0e1d2c3b4a59687 // another participant's writing
			out = append(out, planted{sheet: f, how: variantNone})
		}
	}
	for i := range out {
		if err := out[i].sheet.ID.Validate(); err != nil {
			return nil, fmt.Errorf("plant: sheet %d: %w", out[i].sheet.Index+1, err)
		}
	}
	return out, nil
}

// rescanSalt makes a second scan's scanner noise its own while what is
// written on the paper stays the same.
const rescanSalt = 0x72657363616e2121

// renderPlanted renders a planted sheet; it is Render with the scanner's
// random stream of a second scan, or with the codes smeared.
func renderPlanted(pl planted, set Settings) (Scan, error) {
	s := pl.sheet
	if pl.how == variantNone {
		return Render(s, set)
	}
	if err := set.check(); err != nil {
		return Scan{}, err
	}
	fillRNG, scanRNG, bodyRNG := pageRNGs(s)
	if pl.how == variantRescan {
		scanRNG = rand.New(rand.NewPCG(s.seed[0]^rescanSalt, s.seed[1]<<2|1))
	}
	p, err := drawParams(scanRNG, set)
	if err != nil {
		return Scan{}, err
	}
	tpl, ok := forms.Builtin().Get(s.ID.Type)
	if !ok {
		return Scan{}, fmt.Errorf("page %d: no template of type %s", s.Index+1, s.ID.Type)
	}
	renderDPI := float64(p.dpi) * (1 + p.dpiErr)
	d, err := forms.Compose(tpl, s.ID)
	if err != nil {
		return Scan{}, fmt.Errorf("page %d: %w", s.Index+1, err)
	}
	for _, tx := range body(s, bodyRNG) {
		d.Text(tx, 1)
	}
	if pl.how == variantSmudge {
		// A wet smear across the header: barcode, its digits and the QR
		// code, clear of the anchors so the page itself still lies right.
		for y := 8.0; y <= 40; y += 2.5 {
			d.Line(17, y, 100, y+1, 3.2, 0.9)
			d.Line(168, y, 195, y-1, 3.2, 0.9)
		}
	}
	print, err := forms.Rasterize(d, renderDPI)
	if err != nil {
		return Scan{}, fmt.Errorf("page %d: %w", s.Index+1, err)
	}
	pen := newPenLayer(print.Rect.Dx(), print.Rect.Dy(), renderDPI)
	h, err := newHand(s.writer)
	if err != nil {
		return Scan{}, err
	}
	w := &writer{hand: h, pen: pen, rng: fillRNG}
	f, err := fill(s, tpl, w)
	if err != nil {
		return Scan{}, fmt.Errorf("page %d: %w", s.Index+1, err)
	}
	res := truth(s, tpl, f, pen, p.rotation(), -p.skew)
	if pl.how == variantSmudge {
		res = forms.NewPageResult("", 1)
		res.Flags = []string{forms.FlagNoBarcode, forms.FlagNoQR}
	}
	data, err := degrade(print, pen, h.inkTop, p, renderDPI, scanRNG)
	if err != nil {
		return Scan{}, fmt.Errorf("page %d: %w", s.Index+1, err)
	}
	ext := "png"
	if p.format == "jpeg" {
		ext = "jpg"
	}
	return Scan{Data: data, Format: p.format, Ext: ext, DPI: p.dpi, Truth: res}, nil
}

// plant loads the feeder with its stack as p plants it.
func (a *ADF) plant(p Plants) error {
	stack, err := p.plant(a.sheets)
	if err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	a.sheets, a.how = make([]Sheet, len(stack)), make([]variant, len(stack))
	for i, pl := range stack {
		a.sheets[i], a.how[i] = pl.sheet, pl.how
	}
	return nil
}

// renderFront renders the front of the sheet at the feeder's position.
func (a *ADF) renderFront(s Sheet, set Settings) (Scan, error) {
	how := variantNone
	if a.pos < len(a.how) {
		how = a.how[a.pos]
	}
	return renderPlanted(planted{sheet: s, how: how}, set)
}
