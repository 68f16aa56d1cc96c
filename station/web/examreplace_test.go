package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Once pages are stored, swapping the exam under them (which made an
// auditorium vanish and its pages foreign) is refused to everyone but the
// head, and to the head without a reason; the head's reason is logged.
func TestExamReplacementNeedsTheHeadAndAReason(t *testing.T) {
	s := newScanned(t)
	before, err := s.st.Exam()
	if err != nil || before == nil {
		t.Fatal("no exam", err)
	}
	replace := func(login, reason string) resp {
		c := s.client(t)
		c.mustSignIn(login)
		return c.postFile("/exam/import", url.Values{"csrf": {c.token("/exam/import")}, "reason": {reason}},
			"exam", "exam.json", []byte(examFile))
	}
	if r := replace("admin", "РЦОИ прислал исправленный файл"); r.code != http.StatusConflict || !strings.Contains(r.body, "только руководитель ППЭ") {
		t.Fatalf("admin replaced the exam under scanned pages: %d %s", r.code, r.body)
	}
	if r := replace("head", ""); r.code != http.StatusConflict || !strings.Contains(r.body, "укажите причину замены") {
		t.Fatalf("head replaced the exam without a reason: %d %s", r.code, r.body)
	}
	if now, _ := s.st.Exam(); now == nil || now.PPE[0].Code != before.PPE[0].Code {
		t.Fatalf("a refused replacement changed the exam")
	}
	if r := replace("head", "РЦОИ прислал исправленный файл"); r.code != http.StatusSeeOther {
		t.Fatalf("head with a reason: %d %s", r.code, r.body)
	}
	if log := s.auditText(t); !strings.Contains(log, "РЦОИ прислал исправленный файл") {
		t.Errorf("the head's reason is not in the audit log:\n%s", log)
	}
}
