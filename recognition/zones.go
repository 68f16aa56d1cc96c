package recognition

import (
	"math"

	"giascan/forms"
)

// Zone ink. Coverage is measured on the 4 px/mm copy of the page, inside
// the zone 1 mm away from its border, counting pixels darker than half way
// from paper to black: dropout rules and printed grey labels (at most 15 %
// grey) stay far above that.
const (
	zoneInset   = 1.0
	zoneDepth   = 0.45
	zoneNoInk   = 0.002 // coverage below this is noise: the zone is empty
	zoneDecimal = 1e4
)

// readZones measures every zone's ink and flags empty answer areas and
// missing signatures.
func readZones(r *forms.PageResult, mid *plane, hMid *homography, black float64, tpl *forms.Template) {
	emptyAnswer, noSignature := false, false
	for _, z := range tpl.Zones {
		in := z.Rect.Inset(zoneInset)
		crop := mid.sampleNearest(hMid, in, midScale)
		thr, _ := inkThreshold(crop, black, zoneDepth)
		cov := measureInk(crop, crop.Bounds(), thr).coverage
		if cov < zoneNoInk {
			cov = 0
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
