package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// The audit log filtered by one page shows that page's entries only.
func TestAuditLogFilteredByPage(t *testing.T) {
	s := newScanned(t)
	oper := s.client(t)
	oper.mustSignIn("oper")
	for _, seq := range []int{2, 3} {
		path := s.pagePath(seq)
		tok := oper.token(path)
		if r := oper.post(path+"/delete", url.Values{"csrf": {tok}, "reason": {"проверка журнала"}, "confirmed": {"yes"}}); r.code != http.StatusSeeOther {
			t.Fatalf("delete page %d: %d\n%s", seq, r.code, r.body)
		}
	}
	head := s.client(t)
	head.mustSignIn("head")
	all := head.get("/audit?ppe=" + s.place.PPE + "&aud=" + s.place.Auditorium)
	one := head.get("/audit?ppe=" + s.place.PPE + "&aud=" + s.place.Auditorium + "&page=2")
	row := regexp.MustCompile(`<tr><td>\d+</td><td>[^<]*</td><td>[^<]*</td><td>([^<]*)</td><td>[^<]*</td><td>[^<]*</td><td>([^<]*)</td>`)
	rowsAll, rowsOne := row.FindAllStringSubmatch(all.body, -1), row.FindAllStringSubmatch(one.body, -1)
	if len(rowsOne) == 0 || len(rowsOne) >= len(rowsAll) {
		t.Fatalf("page filter: %d of %d entries\n%s", len(rowsOne), len(rowsAll), all.body)
	}
	for _, r := range rowsOne {
		if r[2] != "2" {
			t.Errorf("entry of page %q in the excerpt of page 2: %s", r[2], r[0])
		}
	}
	if !strings.Contains(one.body, `id="filter-page" value="2"`) {
		t.Error("the page filter is not shown filled in")
	}
}
