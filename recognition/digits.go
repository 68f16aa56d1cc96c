package recognition

import (
	"image"
	"math"
	"strings"

	"giascan/forms"
)

// DigitReader reads one handwritten digit from the grey crop of a cell
// (the whole cell, border included, upright). It reports the digit ('0'…
// '9'), whether it is sure of it (its confidence reached its threshold) and
// whether the cell is empty. Implementations must be safe for concurrent
// use.
type DigitReader interface {
	ReadDigit(cell *image.Gray) (digit byte, sure, empty bool)
}

// Cell checks of the pipeline's own, independent of the classifier: a cell
// is reported empty only when both the classifier and this check find next
// to no ink in it.
const (
	cellInset      = 0.8  // mm from the border
	cellDepth      = 0.4  // as markDepth
	cellEmptyCov   = 0.01 // below: no ink
	cellDotSpan    = 0.2  // ink spread below: a dot
	cellInkCov     = 0.04 // at least this coverage …
	cellInkSpan    = 0.35 // … and spread: surely something written
	cellBlankDepth = 0.2  // no pixel of the interior even this dark: blank, the classifier is not asked
	cellMaxScale   = 12.0 // px/mm: enough for a digit, cheap at 600 dpi
	cellMinScale   = 6.0
	unreadableMark = '?'
)

// readDigits reads every digit field of the template. Empty cells read as
// nothing (numbers on ППЭ-13-02 are right-aligned); a cell that holds
// something the classifier is not sure of reads as '?', and its field goes
// to review. So does a field not written as a number is: an empty
// cell after a written one (a gap, or a number not flush right) may be a
// digit the pipeline missed, and the shorter value must not stand; and a
// fixed-length code with cells left empty.
func readDigits(r *forms.PageResult, full *plane, h *homography, black float64, tpl *forms.Template, dr DigitReader) {
	unreadable := false
	for _, f := range tpl.DigitFields {
		var sb strings.Builder
		k := clampScale(h.scaleAt(pt{f.X, f.Y}), cellMinScale, cellMaxScale)
		fieldUnsure := false
		// gap: a cell read as empty after one that was not.
		gap := false
		for i := 0; i < f.Cells; i++ {
			before := sb.Len()
			readCell(&sb, &fieldUnsure, full, h, black, f.Cell(i), k, dr)
			if sb.Len() == before && before > 0 {
				gap = true
			}
		}
		v := sb.String()
		r.Digits[f.ID] = v
		if fieldUnsure {
			unreadable = true
		}
		if fieldUnsure || gap || shortCode(f, v) {
			r.NeedsReview = true
			r.Review = append(r.Review, f.ID)
		}
	}
	if unreadable {
		r.Flags = append(r.Flags, forms.FlagUnreadableDigit)
	}
}

// readCell reads one digit cell c of a field sampled at k px/mm and
// appends what it holds to sb: nothing when it is empty, the digit, or
// unreadableMark, which also sets unsure.
func readCell(sb *strings.Builder, unsure *bool, full *plane, h *homography, black float64, c forms.Rect, k float64, dr DigitReader) {
	crop := full.warp(h, c, k)
	thr, paper := inkThreshold(crop, black, cellDepth)
	in := c.Inset(cellInset)
	inner := mmRect(cellInset, cellInset, in.W, in.H, k)
	s := measureInk(crop, inner, thr)
	noInk := s.coverage < cellEmptyCov || s.spread < cellDotSpan
	if s.coverage == 0 && blank(crop, inner, paper-cellBlankDepth/cellDepth*(paper-thr)) {
		// Most cells are blank: plain paper inside the border needs
		// no network, which costs more than the rest of the page.
		return
	}
	if dr == nil {
		if !noInk {
			sb.WriteByte(unreadableMark)
			*unsure = true
		}
		return
	}
	d, sure, empty := dr.ReadDigit(crop)
	switch {
	case empty && noInk:
		// nothing written
	case empty:
		// The classifier dropped as specks what the pipeline sees
		// as ink (faint or dithered strokes): not surely empty.
		sb.WriteByte(unreadableMark)
		*unsure = true
	case noInk && s.coverage == 0:
		// The classifier sees a digit where there is no ink at all.
		sb.WriteByte(unreadableMark)
		*unsure = true
	case sure && d >= '0' && d <= '9':
		sb.WriteByte(d)
	default:
		sb.WriteByte(unreadableMark)
		*unsure = true
	}
}

// fixedCodes are the digit fields that hold a code of as many digits as
// the field has cells (blanks.md 4.1 and 4.3; the codes of the QR code's
// context, the school code and the class): partly filled, a digit was
// missed or not written, and the value cannot stand as read.
var fixedCodes = map[string]bool{"region": true, "school": true, "class": true, "ppe": true,
	"auditorium": true, "date": true, "subject": true}

// shortCode says whether v, the reading of field f, is a fixed-length
// code with some but not all of its cells written.
func shortCode(f forms.DigitField, v string) bool {
	id := f.ID
	if _, after, ok := strings.Cut(id, "."); ok {
		id = after // a ППЭ-13-02-МАШ row field: rowNN.auditorium
	}
	return fixedCodes[id] && v != "" && len(v) < f.Cells
}

// blank says whether no pixel of r in g is darker than thr.
func blank(g *image.Gray, r image.Rectangle, thr float64) bool {
	r = r.Intersect(g.Bounds())
	t := uint8(math.Max(0, math.Min(255, thr)))
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for _, v := range g.Pix[g.PixOffset(r.Min.X, y):g.PixOffset(r.Max.X, y)] {
			if v < t {
				return false
			}
		}
	}
	return true
}

// checkDigitsAgainstQR sends to review a handwritten field that repeats
// what the QR code carries (region, ППЭ, auditorium, subject, date) and
// reads otherwise, a different length included: either the hand or the
// reading is wrong, and the classifier's confidence cannot say which.
func checkDigitsAgainstQR(r *forms.PageResult) {
	c := r.Context
	if c.Region == "" && c.PPE == "" {
		return // no QR context
	}
	date := ""
	if len(c.Date) == 8 {
		date = c.Date[6:8] + c.Date[4:6] + c.Date[2:4] // written DDMMYY
	}
	for id, want := range map[string]string{"region": c.Region, "ppe": c.PPE, "auditorium": c.Auditorium, "subject": c.Subject, "date": date} {
		got, ok := r.Digits[id]
		// A reading shorter (or longer) than the code lost or gained a
		// digit: it goes to review like one that differs.
		if !ok || want == "" || got == "" || strings.ContainsRune(got, unreadableMark) || got == want {
			continue
		}
		r.NeedsReview = true
		r.Review = append(r.Review, id)
	}
}
