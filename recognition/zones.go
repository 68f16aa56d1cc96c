package recognition

import (
	"math"

	"giascan/forms"
)

// Zone ink, measured on the 4 px/mm copy of the page, inside the zone 1 mm
// away from its border. Whether there is any ink at all is told by the
// pixels darker than half way from paper to black: dropout rules and
// printed grey labels (at most 15 % grey) stay far above that. How much
// ink there is, is the sum of the pixels' darkness, which blur does not
// change (a count of dark pixels grows with every blurred stroke edge).
const (
	zoneInset   = 1.0
	zoneDepth   = 0.45
	zoneNoInk   = 0.002 // coverage below this is noise: the zone is empty
	zoneFloor   = 0.2   // pixels lighter than this fraction of the way to black add no ink
	zoneDecimal = 1e4
)

// readZones measures every zone's ink and flags empty answer areas and
// missing signatures.
func readZones(r *forms.PageResult, mid *plane, hMid *homography, black float64, tpl *forms.Template) {
	emptyAnswer, noSignature := false, false
	for _, z := range tpl.Zones {
		// Everything below is a function of the zone's grey levels, not
		// of where they lie: one histogram is all that is sampled.
		hist := mid.histogramNearest(hMid, z.Rect.Inset(zoneInset), midScale)
		thr, paper := histThreshold(&hist, black, zoneDepth)
		cov := 0.0
		if below(&hist, thr) >= zoneNoInk {
			// Never rounded down to the 0 that means an empty zone.
			cov = math.Max(inkAmount(&hist, paper, penBlack(&hist, thr, paper-(paper-thr)/zoneDepth)), 1/zoneDecimal)
		}
		r.Ink[z.ID] = math.Round(cov*zoneDecimal) / zoneDecimal
		if cov == 0 {
			switch z.Kind {
			case forms.ZoneAnswer:
				emptyAnswer = true
			case forms.ZoneSignature:
				noSignature = true
			}
		}
	}
	if emptyAnswer {
		r.Flags = append(r.Flags, forms.FlagEmptyAnswerArea)
	}
	if noSignature {
		r.Flags = append(r.Flags, forms.FlagNoSignature)
	}
}

// inkAmount is the zone's ink as the mean darkness of its pixels, each
// pixel's darkness being how far it lies from paper towards black (0..1),
// counted only from zoneFloor on so that paper grain and grey print add
// nothing. Unlike a count of pixels past a threshold, the sum does not
// change when blur spreads a stroke over more pixels.
func inkAmount(hist *[256]int, paper, black float64) float64 {
	span := paper - black
	if span <= 0 {
		return 0
	}
	sum, n := 0.0, 0
	for v, c := range hist {
		n += c
		if d := (paper - float64(v)) / span; d >= zoneFloor {
			sum += float64(c) * math.Min(d, 1)
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// below is the fraction of the counted pixels darker than thr.
func below(hist *[256]int, thr float64) float64 {
	t := int(math.Max(0, math.Min(255, thr))) // as measureInk rounds it
	n, total := 0, 0
	for v, c := range hist {
		total += c
		if v < t {
			n += c
		}
	}
	if total == 0 {
		return 0
	}
	return float64(n) / float64(total)
}

// penBlack is the black of the pen in a zone: the darker of the page's
// black (its anchors) and the zone's own darkest ink, the 5th percentile
// of the pixels darker than thr. A pen is often darker than faint toner,
// and measured against the toner every grey edge of its strokes would
// count as solid ink.
func penBlack(hist *[256]int, thr, black float64) float64 {
	n := 0
	for v := 0; float64(v) < thr && v < 256; v++ {
		n += hist[v]
	}
	if n == 0 {
		return black
	}
	want, acc := n/20, 0
	for v := 0; v < 256; v++ {
		acc += hist[v]
		if acc > want {
			return math.Min(black, float64(v))
		}
	}
	return black
}
