package recognition

import (
	"image"
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

// sevenReader is a digit reader for tests: a cell with ink in its middle
// holds a sure 7, any other is empty.
type sevenReader struct{}

func (sevenReader) ReadDigit(cell *image.Gray) (byte, bool, bool) {
	b := cell.Bounds()
	dark := 0
	for y := b.Min.Y + b.Dy()/5; y < b.Max.Y-b.Dy()/5; y++ {
		for x := b.Min.X + b.Dx()/5; x < b.Max.X-b.Dx()/5; x++ {
			if cell.GrayAt(x, y).Y < 128 {
				dark++
			}
		}
	}
	if dark < 4 {
		return 0, true, true
	}
	return '7', true, false
}

// TestDigitGapGoesToReview: every digit is read for certain, but a field
// whose digits do not fill it as written numbers do is not taken as it
// reads. An empty cell between written ones (a digit missed, or one the
// writer skipped), an empty cell after them (not flush right), a code
// of fixed length with a cell empty, and a field shorter than the value
// the QR code gives for it all go to review; the digits are still
// reported as the contract has them, empty cells adding nothing. A field
// filled flush right, or a code filled whole, does not.
func TestDigitGapGoesToReview(t *testing.T) {
	set := forms.Builtin()
	rc, err := New(set, sevenReader{})
	if err != nil {
		t.Fatal(err)
	}
	p := pen{cells: []string{
		"variant:0", "variant:2", "variant:3", // 7_77: a gap
		"r1_task:0",                                                // 7_: not flush right
		"school:1", "school:2", "school:3", "school:4", "school:5", // _77777: a six-digit code short of one
		"region:1",           // _7: shorter than the QR code's 77
		"class:0", "class:1", // 77: whole
		"r2_task:1", // _7: flush right
	}}
	g := renderPage(t, set, "11", 31, p, 200)
	res, err := rc.Gray(g)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(describe(res), res.Digits)
	want := map[string]string{"variant": "777", "r1_task": "7", "school": "77777", "region": "7", "class": "77", "r2_task": "7"}
	for id, v := range want {
		if res.Digits[id] != v {
			t.Errorf("%s read %q, want %q", id, res.Digits[id], v)
		}
	}
	for _, id := range []string{"variant", "r1_task", "school", "region"} {
		if !slices.Contains(res.Review, id) {
			t.Errorf("%s = %q is not in review", id, res.Digits[id])
		}
	}
	for _, id := range []string{"class", "r2_task", "r3_task"} {
		if slices.Contains(res.Review, id) {
			t.Errorf("%s = %q is in review", id, res.Digits[id])
		}
	}
	if !res.NeedsReview {
		t.Error("needs_review is false")
	}
}
