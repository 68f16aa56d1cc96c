package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// With no ППЭ-13-02-МАШ scanned, the head is led to type the paper form's
// rows: a bad count is refused naming the cell and keeps what was typed;
// counts that do not add up are refused; good rows are saved, the board
// then compares with them, and the screen shows them again.
func TestForm1302TypedFromPaper(t *testing.T) {
	s := newScanned(t)
	head := s.client(t)
	head.mustSignIn("head")
	ppe, aud := s.place.PPE, s.place.Auditorium
	if r := head.get("/form1302/" + ppe); r.code != http.StatusSeeOther || r.location != "/form1302/"+ppe+"/typed" {
		t.Fatalf("form screen with nothing scanned: %d %q", r.code, r.location)
	}
	page := head.get("/form1302/" + ppe + "/typed")
	if page.code != http.StatusOK || !strings.Contains(page.body, `id="typed-`+aud+`"`) || !strings.Contains(page.body, `id="typed-0099"`) {
		t.Fatalf("typed form: %d\n%s", page.code, page.body)
	}
	tok := head.token("/form1302/" + ppe + "/typed")
	form := url.Values{"csrf": {tok},
		aud + ".listed": {"2"}, aud + ".present": {"2"}, aud + ".bo1": {"2"}, aud + ".bo2s1": {"2"}, aud + ".bo2s2": {"2x"}}
	r := head.post("/form1302/"+ppe+"/typed", form)
	if r.code != http.StatusUnprocessableEntity || !strings.Contains(r.body, "«БО №2 л. 2»") || !strings.Contains(r.body, `value="2x"`) {
		t.Fatalf("a bad cell: %d\n%s", r.code, r.body)
	}
	form.Set(aud+".bo2s2", "2")
	form.Set(aud+".present", "1")
	if r := head.post("/form1302/"+ppe+"/typed", form); r.code != http.StatusUnprocessableEntity || !strings.Contains(r.body, "сверьте с бумажной формой") {
		t.Fatalf("counts that do not add up: %d\n%s", r.code, r.body)
	}
	if all, _ := s.st.Forms1302(); len(all) != 0 {
		t.Fatalf("a refused form was saved: %+v", all)
	}
	oper := s.client(t)
	oper.mustSignIn("oper")
	if r := oper.post("/form1302/"+ppe+"/typed", form); r.code != http.StatusForbidden {
		t.Errorf("operator types the form: %d", r.code)
	}
	form.Set(aud+".present", "2")
	r = head.post("/form1302/"+ppe+"/typed", form)
	if r.code != http.StatusSeeOther || !strings.HasPrefix(r.location, "/signoff/"+ppe) {
		t.Fatalf("good rows: %d %q\n%s", r.code, r.location, r.body)
	}
	all, err := s.st.Forms1302()
	f, ok := all[ppe]
	if err != nil || !ok || f.Source != "typed" || f.By != "head" || f.Rows[aud].BO2S2 != 2 || f.Rows["0099"].Listed != 0 {
		t.Fatalf("saved form: %+v %v", all, err)
	}
	if again := head.get("/form1302/" + ppe + "/typed"); !strings.Contains(again.body, `id="saved"`) || !strings.Contains(again.body, `name="`+aud+`.bo2s2" id="t-`+aud+`.bo2s2" value="2"`) {
		t.Errorf("the saved rows are not shown again:\n%s", again.body)
	}
	if !strings.Contains(s.auditText(t), `"form1302.confirm"`) {
		t.Error("typing the form is not in the audit log")
	}
}
