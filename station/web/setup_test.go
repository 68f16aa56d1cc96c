package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// A data folder with no account: the sign-in page leads to the first
// start, where a wrong code creates nothing, the code the daemon keeps
// creates the administrator (signed in at once) and works only once.
func TestFirstStartCreatesTheAdministratorWithTheOneTimeCode(t *testing.T) {
	dir := t.TempDir()
	app, db := openApp(t, dir, nil)
	srv, err := New(Config{App: app, Users: db, Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	f := &fixture{app: app, dir: dir, st: app.Store, log: app.Log, srv: srv, http: hs}
	c := f.client(t)

	if r := c.get("/login"); r.code != http.StatusSeeOther || r.location != "/setup" {
		t.Fatalf("sign-in page of an empty station: %d %q", r.code, r.location)
	}
	code, needed, err := db.SetupCode()
	if err != nil || !needed || len(code) != 14 {
		t.Fatalf("setup code %q needed=%v err=%v", code, needed, err)
	}
	if b, err := os.ReadFile(db.SetupCodePath()); err != nil || strings.TrimSpace(string(b)) != code {
		t.Fatalf("code file: %q %v", b, err)
	}
	if fi, err := os.Stat(db.SetupCodePath()); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("code file mode: %v %v", fi.Mode(), err)
	}

	tok := c.token("/setup")
	wrong := "0000-0000-0000"
	if wrong == code {
		wrong = "1111-1111-1111"
	}
	form := url.Values{"csrf": {tok}, "code": {wrong}, "login": {"admin"}, "password": {testPassword}, "password2": {testPassword}}
	r := c.post("/setup", form)
	if r.code != http.StatusUnprocessableEntity || !strings.Contains(r.body, "Код первого запуска неверен") {
		t.Fatalf("wrong code: %d\n%s", r.code, r.body)
	}
	if list, _ := db.List(); len(list) != 0 {
		t.Fatalf("a wrong code created %v", list)
	}
	// Without the form's token nothing happens either.
	form.Set("code", code)
	form.Set("csrf", "forged")
	if r := c.post("/setup", form); r.code != http.StatusForbidden {
		t.Fatalf("forged setup: %d", r.code)
	}
	// The code as a person types it: spaces instead of dashes.
	form.Set("csrf", tok)
	form.Set("code", strings.ReplaceAll(code, "-", " "))
	r = c.post("/setup", form)
	if r.code != http.StatusSeeOther || !strings.HasPrefix(r.location, "/users?") {
		t.Fatalf("setup with the code: %d %q\n%s", r.code, r.location, r.body)
	}
	if u, ok, _ := db.Find("admin"); !ok || u.Role != "admin" {
		t.Fatalf("first account: %+v %v", u, ok)
	}
	if _, err := os.Stat(db.SetupCodePath()); !os.IsNotExist(err) {
		t.Fatalf("the code file is still there: %v", err)
	}
	if r := c.get(r.location); r.code != http.StatusOK || !strings.Contains(r.body, "Администратор admin создан") {
		t.Fatalf("accounts page after the first start: %d\n%s", r.code, r.body)
	}
	log := f.auditText(t)
	for _, want := range []string{"неверный код первого запуска", "первый запуск станции"} {
		if !strings.Contains(log, want) {
			t.Errorf("audit log lacks %q", want)
		}
	}

	// Once an account exists the first start is over, whatever is sent.
	other := f.client(t)
	if r := other.get("/setup"); r.code != http.StatusSeeOther || r.location != "/login" {
		t.Fatalf("setup page after the first start: %d %q", r.code, r.location)
	}
	tok = other.token("/login")
	r = other.post("/setup", url.Values{"csrf": {tok}, "code": {code}, "login": {"intruder"}, "password": {testPassword}, "password2": {testPassword}})
	if r.code != http.StatusUnprocessableEntity || !strings.Contains(r.body, "Учётные записи уже созданы") {
		t.Fatalf("second setup: %d\n%s", r.code, r.body)
	}
	if _, ok, _ := db.Find("intruder"); ok {
		t.Fatal("a second administrator was created with the used code")
	}
}
