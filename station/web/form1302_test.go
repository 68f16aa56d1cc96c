package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"giascan/forms"
	"giascan/hardware"
	"giascan/hardware/sim"
	"giascan/station/store"
)

// addForm1302 scans the simulated ППЭ-13-02-МАШ of the fixture's ППЭ into
// its auditorium with field made uncertain (read as "?"), and returns the
// page and the field's true value.
func addForm1302(t *testing.T, s *scanned, field string) (store.Page, string) {
	t.Helper()
	planned, err := sim.Plan(1, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, sh := range planned {
		if sh.ID.Type != forms.TypePPE1302 || sh.ID.PPE != s.place.PPE {
			continue
		}
		sc, err := sim.Render(sh, sim.Settings{Profile: sim.Clean, DPI: 100, Mode: sim.ModeGray})
		if err != nil {
			t.Fatal(err)
		}
		rec, _, err := s.st.Add(context.Background(), s.place, hardware.Page{Seq: 1, Data: sc.Data, Format: sc.Format, DPI: sc.DPI,
			Side: hardware.Front, Name: "form." + sc.Ext}, "sim")
		if err != nil {
			t.Fatal(err)
		}
		res := sc.Truth
		res.File = rec.File
		truth, ok := res.Digits[field]
		if !ok || truth == "" {
			t.Fatalf("the simulated form has no value in %s: %v", field, res.Digits)
		}
		res.Digits = map[string]string{}
		for k, v := range sc.Truth.Digits {
			res.Digits[k] = v
		}
		res.Digits[field] = strings.Repeat("?", len(truth))
		res.Review, res.NeedsReview = []string{field}, true
		if err := s.st.SetResult(rec.Ref, rec.Rev, res); err != nil {
			t.Fatal(err)
		}
		rec.Result = &res
		return rec, truth
	}
	t.Fatal("the simulated stack has no ППЭ-13-02-МАШ of the ППЭ")
	return store.Page{}, ""
}

func TestForm1302ConfirmByHead(t *testing.T) {
	s := newScanned(t)
	const field = "row01.present"
	p, truth := addForm1302(t, s, field)
	path := "/form1302/" + s.place.PPE
	form := func(tok string) url.Values {
		v := url.Values{"aud": {p.Ref.Auditorium}, "seq": {strconv.Itoa(p.Ref.Seq)}, "rev": {strconv.Itoa(p.Rev)}}
		if tok != "" {
			v.Set("csrf", tok)
		}
		return v
	}
	stored := func() bool {
		all, err := s.st.Forms1302()
		if err != nil {
			t.Fatal(err)
		}
		_, ok := all[s.place.PPE]
		return ok
	}

	// The operator neither sees the screen nor may confirm.
	oper := s.client(t)
	oper.mustSignIn("oper")
	if r := oper.get(path); r.code != http.StatusForbidden {
		t.Errorf("operator opens the form: %d", r.code)
	}
	otok := oper.token("/review")
	f := form(otok)
	f.Set(field, truth)
	if r := oper.post(path, f); r.code != http.StatusForbidden || !strings.Contains(r.body, "Недостаточно прав") {
		t.Errorf("operator confirms: %d\n%s", r.code, r.body)
	}
	if r := oper.get("/"); strings.Contains(r.body, `id="form1302-`+s.place.PPE+`"`) {
		t.Error("the board links the operator to a screen the operator may not open")
	}

	head := s.client(t)
	head.mustSignIn("head")
	if r := head.get("/"); !strings.Contains(r.body, `href="/form1302/`+s.place.PPE+`"`) {
		t.Errorf("the board does not link the form:\n%s", r.body)
	}
	if r := head.get("/signoff/" + s.place.PPE); !strings.Contains(r.body, `id="form1302-link"`) {
		t.Errorf("the sign-off page does not link the form:\n%s", r.body)
	}
	r := head.get(path)
	if r.code != http.StatusOK || !strings.Contains(r.body, `id="f-`+field+`"`) || !strings.Contains(r.body, `uncertain"`) ||
		!strings.Contains(r.body, "/image?rev=") {
		t.Fatalf("head opens the form: %d\n%s", r.code, r.body)
	}
	tok := head.token(path)

	// Without the CSRF token nothing changes.
	f = form("")
	f.Set(field, truth)
	if r := head.post(path, f); r.code != http.StatusForbidden {
		t.Errorf("confirm without CSRF: %d", r.code)
	}
	if stored() {
		t.Fatal("a forged confirmation stored the form")
	}

	// The uncertain field left empty: refused, naming it in Russian.
	r = head.post(path, form(tok))
	if r.code != http.StatusUnprocessableEntity || !strings.Contains(r.body, "Не подтверждены поля: «строка 1: явились»") ||
		!strings.Contains(r.body, "Ничего не изменено") {
		t.Errorf("confirm with the uncertain field empty: %d\n%s", r.code, r.body)
	}
	f = form(tok)
	f.Set(field, "1x")
	if r := head.post(path, f); r.code != http.StatusUnprocessableEntity || !strings.Contains(r.body, "Не цифры") {
		t.Errorf("confirm with letters: %d\n%s", r.code, r.body)
	}
	if stored() {
		t.Fatal("a refused confirmation stored the form")
	}

	// Before confirmation the board has no expected counts.
	if r := head.get("/"); !strings.Contains(r.body, "нет данных ППЭ-13-02-МАШ") {
		t.Errorf("board before confirmation:\n%s", r.body)
	}
	f = form(tok)
	f.Set(field, truth)
	r = head.post(path, f)
	if r.code != http.StatusSeeOther {
		t.Fatalf("head confirms: %d\n%s", r.code, r.body)
	}
	if r := head.get(r.location); !strings.Contains(r.body, "Данные ППЭ-13-02-МАШ подтверждены") {
		t.Errorf("after confirmation:\n%s", r.body)
	}
	all, _ := s.st.Forms1302()
	saved, ok := all[s.place.PPE]
	if !ok || saved.By != "head" || saved.Source != "scan" {
		t.Fatalf("stored form: %+v", saved)
	}
	c, ok := saved.Rows[s.place.Auditorium]
	if !ok || strconv.Itoa(c.Present) != strings.TrimLeft(truth, "0") {
		t.Errorf("stored counts of %s: %+v (present on paper %s)", s.place.Auditorium, saved.Rows, truth)
	}
	board := head.get("/").body
	if i := strings.Index(board, `id="aud-`+s.place.Auditorium+`"`); i >= 0 {
		board, _, _ = strings.Cut(board[i:], "</article>")
	}
	if strings.Contains(board, "нет данных ППЭ-13-02-МАШ") || !strings.Contains(board, " из "+strconv.Itoa(c.BO1)) {
		t.Errorf("board after confirmation shows no expected counts (БО №1 %d):\n%s", c.BO1, board)
	}
	if !strings.Contains(s.auditText(t), `"form1302.confirm"`) {
		t.Error("the confirmation is not in the audit log")
	}
}
