package recognition

import (
	"giascan/forms"
)

// Mark decision. Ink is counted in the box interior 0.8 mm away from the
// border, so a stroke that only touches the border does not count; a mark
// must both cover enough of the interior and spread across it, so a
// stray dot is empty however dark it is.
const (
	markScale    = 6.0  // px/mm of box crops
	markInset    = 0.8  // mm
	markMargin   = 1.0  // mm of paper around the box in the crop, for the local paper level
	markDepth    = 0.4  // ink is darker than 40 % of the way from paper to black
	markEmptyCov = 0.03 // below: empty
	markDotSpan  = 0.3  // ink spread below this: a dot, empty
	markFullCov  = 0.10 // at least this coverage …
	markFullSpan = 0.5  // … and this spread: marked
)

// readMarks decides every box of the template.
func readMarks(r *forms.PageResult, full *plane, h *homography, black float64, tpl *forms.Template) {
	groups := map[string]int{}
	var ambiguous bool
	for _, b := range tpl.Boxes {
		state := boxState(full, h, black, b.Rect)
		r.Marks[b.ID] = state
		switch state {
		case forms.MarkAmbiguous:
			ambiguous = true
			r.Review = append(r.Review, b.ID)
			r.NeedsReview = true
		case forms.MarkMarked:
			if b.Group != "" {
				groups[b.Group]++
			}
		}
	}
	if ambiguous {
		r.Flags = append(r.Flags, forms.FlagAmbiguousMark)
	}
	for _, n := range groups {
		if n > 1 {
			r.Flags = append(r.Flags, forms.FlagMultipleMarks)
			break
		}
	}
}

func boxState(full *plane, h *homography, black float64, box forms.Rect) string {
	crop := full.warp(h, box.Inset(-markMargin), markScale)
	thr, _ := inkThreshold(crop, black, markDepth)
	in := box.Inset(markInset)
	s := measureInk(crop, mmRect(in.X-box.X+markMargin, in.Y-box.Y+markMargin, in.W, in.H, markScale), thr)
	switch {
	case s.coverage < markEmptyCov || s.spread < markDotSpan:
		return forms.MarkEmpty
	case s.coverage >= markFullCov && s.spread >= markFullSpan:
		return forms.MarkMarked
	}
	return forms.MarkAmbiguous
}
