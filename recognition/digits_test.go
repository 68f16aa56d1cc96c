package recognition

import (
	"slices"
	"testing"

	"giascan/forms"
)

// TestDigitsAgainstQR: a handwritten field that repeats the QR code's
// context and reads otherwise goes to review; one that agrees, is
// unreadable already or has nothing to compare with is left alone.
func TestDigitsAgainstQR(t *testing.T) {
	r := forms.NewPageResult("p", 1)
	r.Context = forms.Context{Region: "77", PPE: "9361", Subject: "13", Date: "20250528"}
	r.Digits = map[string]string{"region": "72", "ppe": "9361", "subject": "1?", "date": "280525", "variant": "1234"}
	checkDigitsAgainstQR(&r)
	if !r.NeedsReview || !slices.Equal(r.Review, []string{"region"}) {
		t.Errorf("review %v (needs %v), want [region]", r.Review, r.NeedsReview)
	}
	r = forms.NewPageResult("p", 1)
	r.Digits = map[string]string{"region": "72"}
	checkDigitsAgainstQR(&r)
	if r.NeedsReview || len(r.Review) != 0 {
		t.Errorf("without a QR context: review %v", r.Review)
	}
	r = forms.NewPageResult("p", 1)
	r.Context = forms.Context{Region: "77", Date: "20250528"}
	r.Digits = map[string]string{"date": "280526"}
	checkDigitsAgainstQR(&r)
	if !slices.Equal(r.Review, []string{"date"}) {
		t.Errorf("date: review %v, want [date]", r.Review)
	}
}
