package recognition

import (
	"testing"

	"giascan/forms"
)

func TestScoreSilentErrors(t *testing.T) {
	truth := forms.NewPageResult("a.png", 1)
	truth.Type, truth.Barcode = "11", "1100000001237"
	truth.Marks["t01_1"], truth.Marks["t01_2"] = forms.MarkMarked, forms.MarkEmpty
	truth.Digits["region"] = "77"
	got := forms.NewPageResult("a.png", 1)
	got.Type, got.Barcode = "11", "1100000001237"
	got.Marks["t01_1"], got.Marks["t01_2"] = forms.MarkMarked, forms.MarkMarked // wrong, not in review
	got.Digits["region"] = "7?"                                                 // wrong, in review
	got.Review = []string{"region"}
	s := Score([]forms.PageResult{truth}, []forms.PageResult{got})
	if s.IdentityOK != 1 || s.MarksOK != 1 || s.Marks != 2 || s.FieldsOK != 0 || len(s.Silent) != 1 {
		t.Fatalf("scores %+v", s)
	}
}
