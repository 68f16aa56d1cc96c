package reconcile

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"giascan/forms"
)

// formPage returns a ППЭ-13-02-МАШ page result shaped like the
// recognizer's: every digit field reported, unused rows empty.
func formPage(rows map[int][]string) forms.PageResult {
	r := forms.NewPageResult("ppe1302.png", 1)
	r.Type = forms.TypePPE1302
	r.Digits["region"], r.Digits["ppe"], r.Digits["subject"], r.Digits["date"] = "11", "0101", "02", "270525"
	for row := 1; row <= FormRows; row++ {
		vals := rows[row]
		for i, f := range formFields {
			v := ""
			if vals != nil {
				v = vals[i]
			}
			r.Digits[fmt.Sprintf("row%02d.%s", row, f.name)] = v
		}
	}
	return r
}

func TestReadForm(t *testing.T) {
	r := formPage(map[int][]string{
		// auditorium, listed, present, absent, removed, unfinished, bo1, bo2s1, bo2s2, dbo2, defective
		1: {"12", "15", "14", "1", "", "1", "14", "14", "14", "3", ""},
		2: {"0014", "10", "9", "1", "1", "", "9", "9", "9", "?", "1"},
		4: {"0016", "8", "8", "1", "", "", "8", "8", "8", "", ""}, // 8 + 1 ≠ 8
	})
	r.NeedsReview = true
	r.Review = []string{"row02.dbo2", "row04.present", "date"}
	f, err := ReadForm(r)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Rows) != 3 {
		t.Fatalf("rows: %+v", f.Rows)
	}
	r1 := f.Rows[0]
	want1 := Counts{Listed: 15, Present: 14, Absent: 1, Unfinished: 1, BO1: 14, BO2S1: 14, BO2S2: 14, DBO2: 3}
	if r1.Row != 1 || r1.Auditorium != "0012" || r1.Counts != want1 || len(r1.Uncertain) != 0 {
		t.Errorf("row 1 (right-aligned auditorium, blank zeros): %+v", r1)
	}
	if r2 := f.Rows[1]; r2.Auditorium != "0014" || r2.Counts.DBO2 != 0 || !reflect.DeepEqual(r2.Uncertain, []string{"row02.dbo2"}) {
		t.Errorf("row 2 (unreadable cell): %+v", r2)
	}
	if r4 := f.Rows[2]; r4.Row != 4 || !reflect.DeepEqual(r4.Uncertain, []string{"row04.present"}) {
		t.Errorf("row 4: %+v", r4)
	}
	if !reflect.DeepEqual(f.Uncertain, []string{"date", "row02.dbo2", "row04.present"}) {
		t.Errorf("uncertain: %v", f.Uncertain)
	}
	// Row 4's arithmetic is wrong, but its present count is uncertain,
	// so the note waits until a person has confirmed it.
	if len(f.Notes) != 0 || f.Certain() {
		t.Errorf("notes %v certain %v", f.Notes, f.Certain())
	}
	exp := f.Expected()
	if len(exp) != 3 || exp["0012"] != want1 || exp["0014"].Removed != 1 {
		t.Errorf("expected: %+v", exp)
	}

	// Arithmetic and a repeated auditorium on a certain form.
	f2, err := ReadForm(formPage(map[int][]string{
		1: {"0012", "15", "14", "2", "", "", "14", "14", "14", "", ""},
		3: {"0012", "1", "1", "", "", "", "1", "1", "1", "", ""},
	}))
	if err != nil {
		t.Fatal(err)
	}
	if len(f2.Notes) != 2 || !strings.Contains(f2.Notes[0], "Строка 1") || !strings.Contains(f2.Notes[1], "строках 1 и 3") {
		t.Errorf("notes: %v", f2.Notes)
	}
	if f2.Expected()["0012"].Listed != 15 {
		t.Error("the first of repeated rows does not win")
	}

	// A used row without an auditorium is kept, uncertain, and left out
	// of Expected.
	f3, _ := ReadForm(formPage(map[int][]string{5: {"", "3", "3", "", "", "", "3", "3", "3", "", ""}}))
	if len(f3.Rows) != 1 || f3.Rows[0].Auditorium != "" || !reflect.DeepEqual(f3.Rows[0].Uncertain, []string{"row05.auditorium"}) || len(f3.Expected()) != 0 {
		t.Errorf("row without auditorium: %+v", f3.Rows)
	}

	if _, err := ReadForm(forms.NewPageResult("x", 1)); err == nil {
		t.Error("a page of another type read as a form")
	}
}

func TestReadFormMissingFields(t *testing.T) {
	r := formPage(map[int][]string{1: {"0012", "1", "1", "", "", "", "1", "1", "1", "", ""}})
	delete(r.Digits, "row01.bo1")
	delete(r.Digits, "ppe")
	f, _ := ReadForm(r)
	if !reflect.DeepEqual(f.Uncertain, []string{"ppe", "row01.bo1"}) {
		t.Errorf("unreported fields are not uncertain: %v", f.Uncertain)
	}
}

func TestFormCheckExam(t *testing.T) {
	e := testExam(t)
	f, _ := ReadForm(formPage(map[int][]string{
		1: {"0012", "1", "1", "", "", "", "1", "1", "1", "", ""},
		2: {"0099", "1", "1", "", "", "", "1", "1", "1", "", ""},
	}))
	if notes := f.CheckExam(e); len(notes) != 1 || !strings.Contains(notes[0], "0099") {
		t.Errorf("notes: %v", notes)
	}
	f.Date, f.Subject = "280525", "03"
	notes := f.CheckExam(e)
	if len(notes) != 3 || !strings.Contains(notes[0], "Предмет") || !strings.Contains(notes[1], "Дата") {
		t.Errorf("notes: %v", notes)
	}
}
