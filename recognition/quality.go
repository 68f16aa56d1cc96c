package recognition

import (
	"giascan/forms"
)

// Quality limits.
const (
	minDPI         = 140.0 // effective resolution below which details are lost
	maxSkew        = 5.0   // degrees the contract allows
	tooDarkPaper   = 120.0 // paper greyer than this: the scan is too dark
	tooLightBlack  = 60.0  // paper-to-black contrast below this: the scan is too light
	blankInkFrac   = 0.001 // a page with less ink than this (and no anchors) is blank
	blankInkDepth  = 0.5
	blankMinDarken = 60.0 // how much darker than paper a pixel must be to count on a blank check
)

// pageLevels are the page-wide grey levels, from the 4 px/mm copy.
type pageLevels struct {
	paper   float64 // bright percentile: the paper
	inkFrac float64 // fraction of pixels clearly darker than the paper
}

// measureLevels reads every other row: page-wide fractions need no more,
// and the whole 4–8 px/mm page is the largest thing read after decoding.
func measureLevels(mid *plane) pageLevels {
	// The paper's level and the share of ink are statistics of the
	// whole page: one pixel in nine tells them as well as all.
	hist := mid.histogramEvery(3)
	paper := percentile(&hist, 0.9)
	thr := paper - blankMinDarken
	n, total := 0, 0
	for v, c := range hist {
		total += c
		if float64(v) < thr {
			n += c
		}
	}
	l := pageLevels{paper: paper}
	if total > 0 {
		l.inkFrac = float64(n) / float64(total)
	}
	return l
}

// qualityFlags adds the flags about the scan itself.
func qualityFlags(r *forms.PageResult, lv pageLevels, reg *registration) {
	if lv.paper < tooDarkPaper {
		r.Flags = append(r.Flags, forms.FlagTooDark)
	}
	if reg == nil {
		return
	}
	if lv.paper-reg.ink < tooLightBlack {
		r.Flags = append(r.Flags, forms.FlagTooLight)
	}
	if reg.pxPerMM*25.4 < minDPI {
		r.Flags = append(r.Flags, forms.FlagLowResolution)
	}
	if reg.skew > maxSkew || reg.skew < -maxSkew {
		r.Flags = append(r.Flags, forms.FlagSkewExceeded)
	}
	if reg.anchors < 4 {
		r.Flags = append(r.Flags, forms.FlagAnchorMissing)
	}
}
