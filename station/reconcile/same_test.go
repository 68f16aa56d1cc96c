package reconcile

import (
	"testing"

	"giascan/forms"
)

func TestSameContent(t *testing.T) {
	s := newStack(t, "0101", "0012")
	base := func() Page {
		r := s.page("0101", "0012", "0000012345", 0)
		r.Digits["school"] = "123456"
		r.Ink["surname"], r.Ink["signature"] = 0.10, 0.03
		return Page{Seq: 1, SHA256: "aa", Result: r}
	}
	cases := []struct {
		name   string
		change func(a, b *Page)
		same   bool
	}{
		{"rescan with other bytes", func(a, b *Page) { b.SHA256 = "bb"; b.Result.Ink["surname"] = 0.11 }, true},
		{"the same file twice", func(a, b *Page) { b.Result.Context.Kit = "0000099999" }, true},
		{"another kit", func(a, b *Page) { b.SHA256 = "bb"; b.Result.Context.Kit = "0000012346" }, false},
		{"another sheet number", func(a, b *Page) { b.SHA256 = "bb"; b.Result.Context.Sheet = intp(1) }, false},
		{"another answer", func(a, b *Page) { b.SHA256 = "bb"; b.Result.Marks["t01_2"] = forms.MarkEmpty }, false},
		{"another school", func(a, b *Page) { b.SHA256 = "bb"; b.Result.Digits["school"] = "654321" }, false},
		{"uncertain digit left out", func(a, b *Page) {
			b.SHA256 = "bb"
			b.Result.Digits["school"] = "65432?"
		}, true},
		{"field in review left out", func(a, b *Page) {
			b.SHA256 = "bb"
			b.Result.Digits["school"] = "654321"
			b.Result.Review = []string{"school"}
		}, true},
		{"ambiguous mark left out", func(a, b *Page) { b.SHA256 = "bb"; b.Result.Marks["t01_2"] = forms.MarkAmbiguous }, true},
		{"other handwriting", func(a, b *Page) { b.SHA256 = "bb"; b.Result.Ink["surname"] = 0.16 }, false},
		{"fingerprints close", func(a, b *Page) {
			b.SHA256 = "bb"
			a.Fingerprint, b.Fingerprint = "f0f0f0f0f0f0f0f0", "f0f0f0f0f0f0f0f3"
			b.Result.Ink["surname"] = 0.5 // the fingerprint outranks recognised content
		}, true},
		{"fingerprints far", func(a, b *Page) {
			b.SHA256 = "bb"
			a.Fingerprint, b.Fingerprint = "f0f0f0f0f0f0f0f0", "0f0f0f0f0f0f0f0f"
		}, false},
		{"fingerprint on one page only", func(a, b *Page) { b.SHA256 = "bb"; a.Fingerprint = "f0f0f0f0f0f0f0f0" }, true},
		{"empty answer sheets", func(a, b *Page) {
			b.SHA256 = "bb"
			a.Result.Ink["surname"], b.Result.Ink["surname"] = 0, 0.003
		}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, b := base(), base()
			tc.change(&a, &b)
			if got := sameContent(a, b); got != tc.same {
				t.Errorf("sameContent = %v, want %v", got, tc.same)
			}
			if got := sameContent(b, a); got != tc.same {
				t.Errorf("sameContent is not symmetric")
			}
		})
	}
}
