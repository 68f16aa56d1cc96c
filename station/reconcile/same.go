package reconcile

import (
	"math"
	"math/bits"
	"strconv"
	"strings"

	"giascan/forms"
)

// Telling a second scan of one sheet from a second sheet with the same
// barcode. The image digest cannot do it: two scans of one sheet never
// give the same bytes. So, in this order:
//
//  1. Equal SHA-256: the same file was fed twice — the same sheet.
//  2. Different QR context or page type: different sheets (a blank printed
//     with one number for a whole district still carries its own kit,
//     auditorium or sheet number in most cases).
//  3. Both pages carry a perceptual fingerprint: the same sheet when the
//     64-bit hashes differ in at most fingerprintBits bits.
//  4. Otherwise the recognised content decides: every digit field and mark
//     box read with certainty on both pages must agree, and every zone's
//     ink coverage must be close (inkClose). Uncertain values are left out
//     rather than guessed.
//
// Rule 4 errs towards "same sheet" only where a page has almost no
// content of its own (two empty answer sheets): dropping such a repeat
// loses nothing, while a sheet with a participant's writing differs in
// ink and is kept as a duplicate_barcode incident for a person.
const fingerprintBits = 10

func sameContent(a, b Page) bool {
	if a.SHA256 != "" && strings.EqualFold(a.SHA256, b.SHA256) {
		return true
	}
	ra, rb := a.Result, b.Result
	if ra.Type != rb.Type || !sameContext(ra.Context, rb.Context) {
		return false
	}
	if a.Fingerprint != "" && b.Fingerprint != "" {
		ha, errA := strconv.ParseUint(a.Fingerprint, 16, 64)
		hb, errB := strconv.ParseUint(b.Fingerprint, 16, 64)
		if errA != nil || errB != nil {
			return strings.EqualFold(a.Fingerprint, b.Fingerprint)
		}
		return bits.OnesCount64(ha^hb) <= fingerprintBits
	}
	ua, ub := uncertain(ra), uncertain(rb)
	for k, va := range ra.Digits {
		vb, ok := rb.Digits[k]
		if !ok || ua[k] || ub[k] || strings.Contains(va, "?") || strings.Contains(vb, "?") {
			continue
		}
		if va != vb {
			return false
		}
	}
	for k, va := range ra.Marks {
		vb, ok := rb.Marks[k]
		if !ok || ua[k] || ub[k] || va == forms.MarkAmbiguous || vb == forms.MarkAmbiguous {
			continue
		}
		if va != vb {
			return false
		}
	}
	for k, va := range ra.Ink {
		if vb, ok := rb.Ink[k]; ok && !inkClose(va, vb) {
			return false
		}
	}
	return true
}

// inkClose allows for what rescanning changes in a zone's ink coverage
// (threshold, blur, a slightly different crop): a small absolute margin for
// nearly empty zones plus a fifth of the larger value.
func inkClose(a, b float64) bool {
	return math.Abs(a-b) <= 0.005+0.2*math.Max(a, b)
}

func sameContext(a, b forms.Context) bool {
	if (a.Sheet == nil) != (b.Sheet == nil) || a.Sheet != nil && *a.Sheet != *b.Sheet {
		return false
	}
	a.Sheet, b.Sheet = nil, nil
	return a == b
}

func uncertain(r forms.PageResult) map[string]bool {
	m := make(map[string]bool, len(r.Review))
	for _, f := range r.Review {
		m[f] = true
	}
	return m
}
