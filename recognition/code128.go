package recognition

import (
	"math"
	"sort"
	"strings"

	"giascan/forms"
)

// Code 128 read from edge to similar edge. A scanner's blur and a
// lineart threshold widen every bar and narrow every space by the same
// amount, which a decoder measuring bars and spaces (gozxing's) cannot
// tell from other symbols once a narrow space nearly closes; the distance
// from the leading edge of one bar to that of the next, or from a space to
// the next space, does not change. Code 128 is designed to be decoded
// this way (its reference decode algorithm uses these distances).
//
// The profile is sampled across the bars along the template's barcode row
// at a fraction of a module, averaged over several rows, so that at
// 150 dpi (under two pixels a module) and on 1-bit scans the edges are
// still found to a fraction of a pixel.

// code128Patterns are the bar and space widths, in modules, of the Code
// 128 symbol values 0–106 (106 is the stop, with its final bar).
var code128Patterns = [107][]int{
	{2, 1, 2, 2, 2, 2}, {2, 2, 2, 1, 2, 2}, {2, 2, 2, 2, 2, 1}, {1, 2, 1, 2, 2, 3}, {1, 2, 1, 3, 2, 2},
	{1, 3, 1, 2, 2, 2}, {1, 2, 2, 2, 1, 3}, {1, 2, 2, 3, 1, 2}, {1, 3, 2, 2, 1, 2}, {2, 2, 1, 2, 1, 3},
	{2, 2, 1, 3, 1, 2}, {2, 3, 1, 2, 1, 2}, {1, 1, 2, 2, 3, 2}, {1, 2, 2, 1, 3, 2}, {1, 2, 2, 2, 3, 1},
	{1, 1, 3, 2, 2, 2}, {1, 2, 3, 1, 2, 2}, {1, 2, 3, 2, 2, 1}, {2, 2, 3, 2, 1, 1}, {2, 2, 1, 1, 3, 2},
	{2, 2, 1, 2, 3, 1}, {2, 1, 3, 2, 1, 2}, {2, 2, 3, 1, 1, 2}, {3, 1, 2, 1, 3, 1}, {3, 1, 1, 2, 2, 2},
	{3, 2, 1, 1, 2, 2}, {3, 2, 1, 2, 2, 1}, {3, 1, 2, 2, 1, 2}, {3, 2, 2, 1, 1, 2}, {3, 2, 2, 2, 1, 1},
	{2, 1, 2, 1, 2, 3}, {2, 1, 2, 3, 2, 1}, {2, 3, 2, 1, 2, 1}, {1, 1, 1, 3, 2, 3}, {1, 3, 1, 1, 2, 3},
	{1, 3, 1, 3, 2, 1}, {1, 1, 2, 3, 1, 3}, {1, 3, 2, 1, 1, 3}, {1, 3, 2, 3, 1, 1}, {2, 1, 1, 3, 1, 3},
	{2, 3, 1, 1, 1, 3}, {2, 3, 1, 3, 1, 1}, {1, 1, 2, 1, 3, 3}, {1, 1, 2, 3, 3, 1}, {1, 3, 2, 1, 3, 1},
	{1, 1, 3, 1, 2, 3}, {1, 1, 3, 3, 2, 1}, {1, 3, 3, 1, 2, 1}, {3, 1, 3, 1, 2, 1}, {2, 1, 1, 3, 3, 1},
	{2, 3, 1, 1, 3, 1}, {2, 1, 3, 1, 1, 3}, {2, 1, 3, 3, 1, 1}, {2, 1, 3, 1, 3, 1}, {3, 1, 1, 1, 2, 3},
	{3, 1, 1, 3, 2, 1}, {3, 3, 1, 1, 2, 1}, {3, 1, 2, 1, 1, 3}, {3, 1, 2, 3, 1, 1}, {3, 3, 2, 1, 1, 1},
	{3, 1, 4, 1, 1, 1}, {2, 2, 1, 4, 1, 1}, {4, 3, 1, 1, 1, 1}, {1, 1, 1, 2, 2, 4}, {1, 1, 1, 4, 2, 2},
	{1, 2, 1, 1, 2, 4}, {1, 2, 1, 4, 2, 1}, {1, 4, 1, 1, 2, 2}, {1, 4, 1, 2, 2, 1}, {1, 1, 2, 2, 1, 4},
	{1, 1, 2, 4, 1, 2}, {1, 2, 2, 1, 1, 4}, {1, 2, 2, 4, 1, 1}, {1, 4, 2, 1, 1, 2}, {1, 4, 2, 2, 1, 1},
	{2, 4, 1, 2, 1, 1}, {2, 2, 1, 1, 1, 4}, {4, 1, 3, 1, 1, 1}, {2, 4, 1, 1, 1, 2}, {1, 3, 4, 1, 1, 1},
	{1, 1, 1, 2, 4, 2}, {1, 2, 1, 1, 4, 2}, {1, 2, 1, 2, 4, 1}, {1, 1, 4, 2, 1, 2}, {1, 2, 4, 1, 1, 2},
	{1, 2, 4, 2, 1, 1}, {4, 1, 1, 2, 1, 2}, {4, 2, 1, 1, 1, 2}, {4, 2, 1, 2, 1, 1}, {2, 1, 2, 1, 4, 1},
	{2, 1, 4, 1, 2, 1}, {4, 1, 2, 1, 2, 1}, {1, 1, 1, 1, 4, 3}, {1, 1, 1, 3, 4, 1}, {1, 3, 1, 1, 4, 1},
	{1, 1, 4, 1, 1, 3}, {1, 1, 4, 3, 1, 1}, {4, 1, 1, 1, 1, 3}, {4, 1, 1, 3, 1, 1}, {1, 1, 3, 1, 4, 1},
	{1, 1, 4, 1, 3, 1}, {3, 1, 1, 1, 4, 1}, {4, 1, 1, 1, 3, 1}, {2, 1, 1, 4, 1, 2}, {2, 1, 1, 2, 1, 4},
	{2, 1, 1, 2, 3, 2}, {2, 3, 3, 1, 1, 1, 2},
}

// Code 128 symbol values with a meaning of their own.
const (
	c128CodeC  = 99
	c128CodeB  = 100
	c128CodeA  = 101
	c128StartA = 103
	c128StartB = 104
	c128StartC = 105
	c128Stop   = 106
)

// edgeKey is a symbol's four edge-to-similar-edge distances in modules.
type edgeKey [4]int

// code128ByEdges finds symbol values by their edge distances; a key that
// several symbols share lists them all.
var code128ByEdges = func() map[edgeKey][]int {
	m := map[edgeKey][]int{}
	for v, p := range code128Patterns[:c128Stop] {
		k := edgeKey{p[0] + p[1], p[1] + p[2], p[2] + p[3], p[3] + p[4]}
		m[k] = append(m[k], v)
	}
	return m
}()

// Sampling of the barcode profile.
const (
	c128Step     = 0.03 // mm between samples along the row
	c128RowStep  = 0.5  // mm between the rows averaged
	c128Margin   = 1.5  // mm of the bars' height left out at top and bottom
	c128Reach    = 4.0  // mm beyond the nominal ends searched for the first and last bar
	c128MinQuiet = 1.5  // mm of paper before the first bar

	c128Sure        = 0.3 // an edge distance this near a whole number of modules is read as it
	c128MaxReadings = 16  // readings of a barcode tried at most, with edge distances read both ways
)

// readBarcodeEdges reads the barcode of the page under map h (template mm
// → plane px) from edge distances. It returns the decoded text, or "" when
// the bars do not decode to a symbol with a valid Code 128 check, and
// whether every edge distance was clear (see decodeEdges).
func readBarcodeEdges(p *plane, h *homography, tpl *forms.Template) (string, bool) {
	b := tpl.Barcode
	width := barcodeWidth() * b.Module
	x0 := b.X - c128Reach
	n := int((width + 2*c128Reach) / c128Step)
	rows := 0
	prof := make([]float64, n)
	for y := b.Y + c128Margin; y <= b.Y+b.H-c128Margin; y += c128RowStep {
		rows++
		for i := range prof {
			q := h.apply(pt{x0 + float64(i)*c128Step, y})
			prof[i] += p.bilinear(q.X, q.Y)
		}
	}
	if rows == 0 {
		return "", false
	}
	// Paper and bars: the bright and dark ends of the profile.
	sorted := append([]float64(nil), prof...)
	sort.Float64s(sorted)
	dark, light := sorted[len(sorted)/20], sorted[len(sorted)*19/20]
	if light-dark < 20*float64(rows) {
		return "", false
	}
	// A few thresholds: where a blurred narrow space nearly closes, a
	// lighter one still finds it; the edge distances do not depend on it.
	// A sure reading at any of them is better than an unsure one.
	unsure := ""
	for _, f := range []float64{0.5, 0.65, 0.35} {
		text, sure := decodeProfile(prof, dark+f*(light-dark), b.Module/c128Step)
		if sure {
			return text, true
		}
		if unsure == "" {
			unsure = text
		}
	}
	return unsure, false
}

// decodeProfile cuts the profile at thr into bars and spaces, with edges
// interpolated between samples, and decodes them; module is the nominal
// module width in samples.
func decodeProfile(prof []float64, thr, module float64) (string, bool) {
	// Edges: positions where the profile crosses thr, alternately falling
	// (a bar begins) and rising.
	var edges []float64
	inBar := false
	quiet := c128MinQuiet / c128Step
	lastEdge := -math.Inf(1)
	for i := 1; i < len(prof); i++ {
		a, b := prof[i-1], prof[i]
		switch {
		case !inBar && a >= thr && b < thr:
			x := float64(i-1) + (a-thr)/(a-b)
			if len(edges) == 0 && x < quiet {
				continue // a bar too close to the profile's start: not ours
			}
			if len(edges) > 0 && x-lastEdge > 10*module {
				// A wide gap after the bars: the symbol ended before.
				return decodeEdges(edges, module)
			}
			edges = append(edges, x)
			lastEdge = x
			inBar = true
		case inBar && a < thr && b >= thr:
			x := float64(i-1) + (a-thr)/(a-b)
			edges = append(edges, x)
			lastEdge = x
			inBar = false
		}
	}
	if inBar {
		return "", false
	}
	return decodeEdges(edges, module)
}

// decodeEdges decodes a run of bar/space edges (the first a bar's leading
// edge, the last the final bar's trailing edge). An edge distance that
// falls near the middle between two whole modules (a bar edge cut by the
// pixel grid of a 1-bit 150 dpi scan) is read both ways; sure is false
// when a reading needed that, and the text is then given only if exactly
// one of the readings passes the symbol check.
func decodeEdges(edges []float64, module float64) (text string, sure bool) {
	runs := len(edges) - 1
	// Start, data and check symbols of 6 runs, the stop of 7.
	if runs < 6*3+7 || (runs-7)%6 != 0 {
		return "", false
	}
	nsym := (runs - 7) / 6
	cands := make([][]int, nsym)
	combos := 1
	for s := 0; s < nsym; s++ {
		e := edges[6*s:]
		w := e[6] - e[0] // 11 modules, bar edge to bar edge
		if w < 11*module*0.7 || w > 11*module*1.3 {
			return "", false
		}
		var opts [4][]int
		for j := 0; j < 4; j++ {
			m := (e[j+2] - e[j]) * 11 / w
			r := math.Round(m)
			if math.Abs(m-r) <= c128Sure {
				opts[j] = []int{int(r)}
			} else {
				opts[j] = []int{int(math.Floor(m)), int(math.Ceil(m))}
			}
		}
		for _, a := range opts[0] {
			for _, b := range opts[1] {
				for _, c := range opts[2] {
					for _, d := range opts[3] {
						if vs := code128ByEdges[edgeKey{a, b, c, d}]; len(vs) > 0 {
							cands[s] = append(cands[s], bestBySums(vs, e[:7], w))
						}
					}
				}
			}
		}
		if len(cands[s]) == 0 {
			return "", false
		}
		if combos *= len(cands[s]); combos > c128MaxReadings {
			return "", false
		}
	}
	// The stop: edge distances 5, 6, 4, 2 (2 3 3 1 1 1 2).
	e := edges[6*nsym:]
	w := e[6] - e[0]
	for j, want := range []float64{5, 6, 4, 2} {
		if math.Abs((e[j+2]-e[j])*11/w-want) > 0.5 {
			return "", false
		}
	}
	// Every reading, and the ones that pass the check.
	vals := make([]int, nsym)
	found, n := "", 0
	var walk func(s int)
	walk = func(s int) {
		if s == nsym {
			if t := code128Text(vals); t != "" && t != found {
				found = t
				n++
			}
			return
		}
		for _, v := range cands[s] {
			vals[s] = v
			walk(s + 1)
		}
	}
	walk(0)
	if n != 1 {
		return "", false
	}
	return found, combos == 1
}

// bestBySums picks among symbols with the same edge distances the one
// whose bars' total width is nearest to what was measured, as the Code 128
// reference decoder does.
func bestBySums(cands []int, e []float64, w float64) int {
	if len(cands) == 1 {
		return cands[0]
	}
	bars := ((e[1] - e[0]) + (e[3] - e[2]) + (e[5] - e[4])) * 11 / w
	best, bestD := cands[0], math.Inf(1)
	for _, v := range cands {
		p := code128Patterns[v]
		if d := math.Abs(float64(p[0]+p[2]+p[4]) - bars); d < bestD {
			best, bestD = v, d
		}
	}
	return best
}

// code128Text checks the symbol check value and turns the values (start
// first, check last) into text; "" when the check fails or a value has no
// meaning where it stands. Only what the blanks' barcodes use is decoded:
// digits in code set C, printable characters in A and B.
func code128Text(vals []int) string {
	if len(vals) < 3 {
		return ""
	}
	sum := vals[0]
	for i, v := range vals[1 : len(vals)-1] {
		sum += (i + 1) * v
	}
	if sum%103 != vals[len(vals)-1] {
		return ""
	}
	var set int
	switch vals[0] {
	case c128StartA:
		set = c128CodeA
	case c128StartB:
		set = c128CodeB
	case c128StartC:
		set = c128CodeC
	default:
		return ""
	}
	var sb strings.Builder
	for _, v := range vals[1 : len(vals)-1] {
		switch {
		case set == c128CodeC && v < 100:
			sb.WriteByte(byte('0' + v/10))
			sb.WriteByte(byte('0' + v%10))
		case v == c128CodeA || v == c128CodeB || v == c128CodeC:
			if v == set {
				return "" // FNC4 in A and B: not in a blank's barcode
			}
			set = v
		case set == c128CodeB && v < 95:
			sb.WriteByte(byte(' ' + v))
		case set == c128CodeA && v < 64:
			sb.WriteByte(byte(' ' + v))
		default:
			return ""
		}
	}
	return sb.String()
}
