package ops

import (
	"context"
	"strings"
	"testing"

	"giascan/forms"
	"giascan/hardware"
	"giascan/station/audit"
	"giascan/station/exam"
	"giascan/station/store"
)

// reviewFixture is a store with one exam and one recognised answer blank
// whose variant and ППЭ code wait for review.
func reviewFixture(t *testing.T) (*Ops, store.Page) {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log, err := audit.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	ex, err := exam.Parse([]byte(`{"level":9,"subject":"02","date":"2025-05-27","region":"11","ppe":[{"code":"2407","auditoriums":[{"number":"0012"},{"number":"0014"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetExam(ex); err != nil {
		t.Fatal(err)
	}
	place := store.Place{PPE: "2407", Auditorium: "0012"}
	p, _, err := st.Add(context.Background(), place, hardware.Page{Seq: 1, Data: []byte("page image"), Format: "png", Side: hardware.Front}, "sim")
	if err != nil {
		t.Fatal(err)
	}
	res := forms.NewPageResult(p.File, 1)
	res.Type = forms.TypeBO1
	res.Digits = map[string]string{"ppe": "2408", "auditorium": "0012", "subject": "02", "date": "270525", "region": "11", "variant": "1234"}
	res.Marks = map[string]string{"t01_1": forms.MarkAmbiguous}
	res.Review, res.NeedsReview = []string{"ppe", "t01_1", "variant"}, true
	if err := st.SetResult(p.Ref, p.Rev, res); err != nil {
		t.Fatal(err)
	}
	p.Result = &res
	return New(st, log, nil), p
}

// A value that is not this exam's is refused, naming the field in
// Russian, whether typed or confirmed as read; it keeps waiting.
func TestReviewChecksValuesAgainstTheExam(t *testing.T) {
	o, p := reviewFixture(t)
	for _, tc := range []struct{ field, value, want string }{
		{"ppe", "", "«Код ППЭ»: 2408 — не код этого ППЭ (2407)"},
		{"ppe", "2408", "«Код ППЭ»"},
		{"auditorium", "0014", "«Аудитория»: 0014 — не эта аудитория (0012)"},
		{"subject", "07", "«Предмет»: 07 — не предмет этого экзамена (02)"},
		{"date", "280525", "не дата этого экзамена (270525)"},
		{"region", "12", "не код региона этого экзамена (11)"},
	} {
		if tc.field != "ppe" {
			// Make the field wait, as the queue shows it.
			q, _ := o.St.Page(p.Ref)
			res := cloneResult(q.Result)
			res.Review = append(res.Review, tc.field)
			if err := o.St.SetResult(p.Ref, q.Rev, res); err != nil {
				t.Fatal(err)
			}
		}
		_, err := o.Review("oper", p.Ref, tc.field, tc.value)
		if !IsInput(err) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s=%q: %v, want a refusal with %q", tc.field, tc.value, err, tc.want)
		}
	}
	q, _ := o.St.Page(p.Ref)
	if q.Result.Digits["ppe"] != "2408" || !strings.Contains(strings.Join(q.Result.Review, ","), "ppe") {
		t.Errorf("after the refusals: ppe %q, review %v", q.Result.Digits["ppe"], q.Result.Review)
	}
	if _, err := o.Review("oper", p.Ref, "ppe", "2407"); err != nil {
		t.Errorf("the right code: %v", err)
	}
}

// Undo restores the value and its flag; a later correction of the same
// field must be undone first; one undone cannot be undone again; a page
// scanned again keeps the corrections of its old image out of reach.
func TestUndoReview(t *testing.T) {
	o, p := reviewFixture(t)
	ctx := context.Background()
	if _, err := o.Review("oper", p.Ref, "variant", "4321"); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Review("oper", p.Ref, "t01_1", forms.MarkMarked); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Review("head", p.Ref, "variant", "4322"); err != nil {
		t.Fatal(err)
	}
	fixes, err := o.Corrections(p.Ref)
	if err != nil || len(fixes) != 3 {
		t.Fatalf("corrections: %v %+v", err, fixes)
	}
	if _, err := o.Undo("oper", p.Ref, fixes[0].Seq); !IsInput(err) || !strings.Contains(err.Error(), "сначала отмените более позднее") {
		t.Errorf("undo under a later correction: %v", err)
	}
	for _, i := range []int{2, 0, 1} {
		if _, err := o.Undo("oper", p.Ref, fixes[i].Seq); err != nil {
			t.Fatalf("undo %d: %v", i, err)
		}
	}
	q, _ := o.St.Page(p.Ref)
	if q.Result.Digits["variant"] != "1234" || q.Result.Marks["t01_1"] != forms.MarkAmbiguous ||
		strings.Join(q.Result.Review, ",") != "ppe,t01_1,variant" || !q.Result.NeedsReview {
		t.Errorf("after the undos: %v %v %v", q.Result.Digits["variant"], q.Result.Marks["t01_1"], q.Result.Review)
	}
	if _, err := o.Undo("oper", p.Ref, fixes[1].Seq); !IsInput(err) || !strings.Contains(err.Error(), "уже отменено") {
		t.Errorf("undo twice: %v", err)
	}
	if fixes, _ := o.Corrections(p.Ref); len(fixes) != 0 {
		t.Errorf("undone corrections still listed: %+v", fixes)
	}

	// A page read again has nothing of its old reading to undo.
	if _, err := o.Review("oper", p.Ref, "variant", "6666"); err != nil {
		t.Fatal(err)
	}
	o.Read = func(ctx context.Context, data []byte, file string) forms.PageResult {
		q, _ := o.St.Page(p.Ref)
		return cloneResult(q.Result)
	}
	if _, err := o.Recognize(ctx, "oper", p.Ref); err != nil {
		t.Fatal(err)
	}
	if fixes, _ := o.Corrections(p.Ref); len(fixes) != 0 {
		t.Errorf("corrections of the old reading still offered: %+v", fixes)
	}
	o.Read = nil

	// A correction of an image replaced since cannot be undone.
	if _, err := o.Review("oper", p.Ref, "variant", "5555"); err != nil {
		t.Fatal(err)
	}
	fixes, _ = o.Corrections(p.Ref)
	if _, err := o.St.Replace(ctx, p.Ref, hardware.Page{Seq: 1, Data: []byte("another image"), Format: "png", Side: hardware.Front}, "sim"); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Undo("oper", p.Ref, fixes[0].Seq); !IsInput(err) || !strings.Contains(err.Error(), "отсканирована заново") {
		t.Errorf("undo on a replaced image: %v", err)
	}
}

// Every field and box of every template has a Russian name.
func TestEveryFieldHasARussianName(t *testing.T) {
	set := forms.Builtin()
	for _, typ := range set.Types() {
		tpl, _ := set.Get(typ)
		var ids []string
		for _, f := range tpl.DigitFields {
			ids = append(ids, f.ID)
		}
		for _, b := range tpl.Boxes {
			ids = append(ids, b.ID)
		}
		for _, id := range ids {
			if n := FieldName(typ, id); n == id || strings.ContainsAny(n, "_.") {
				t.Errorf("type %s field %s is named %q", typ, id, n)
			}
		}
	}
}
