package web

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"giascan/station"
	"giascan/station/audit"
	"giascan/station/reconcile"
	"giascan/station/store"
	"giascan/station/users"
	"giascan/transport/seal"

	"filippo.io/age"
)

const testPassword = "пароль-для-проверки"

// examFile is a small exam of two ППЭ; ends gives the one-hour limit.
const examFile = `{"level": 9, "subject": "02", "date": "2025-05-27", "region": "11", "ends": "14:00",
 "ppe": [
  {"code": "0101", "auditoriums": [{"number": "0012", "kits": ["0000012345", "0000012346"]}, {"number": "0014"}]},
  {"code": "0202", "auditoriums": [{"number": "0001"}]}
 ]}`

// testClock is a clock the tests move and the server reads.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	app   *station.Station
	dir   string
	st    *store.Store
	log   *audit.Log
	srv   *Server
	http  *httptest.Server
	clock *testClock
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	app, db := openApp(t, dir, map[string]users.Role{"head": users.Head, "oper": users.Operator, "admin": users.Admin})
	st, log := app.Store, app.Log
	loc := time.FixedZone("MSK", 3*3600)
	clk := &testClock{t: time.Date(2025, 5, 27, 14, 20, 0, 0, loc)}
	srv, err := New(Config{App: app, Users: db, Now: clk.now, Location: loc})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return &fixture{app: app, dir: dir, st: st, log: log, srv: srv, http: hs, clock: clk}
}

// client is one browser: its own cookies, redirects not followed so the
// tests see them.
type client struct {
	t *testing.T
	f *fixture
	c *http.Client
}

func (f *fixture) client(t *testing.T) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, f: f, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type resp struct {
	code     int
	body     string
	location string
}

func (c *client) do(req *http.Request) resp {
	c.t.Helper()
	r, err := c.c.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return resp{code: r.StatusCode, body: string(b), location: r.Header.Get("Location")}
}

func (c *client) get(path string) resp {
	req, _ := http.NewRequest("GET", c.f.http.URL+path, nil)
	return c.do(req)
}

func (c *client) post(path string, form url.Values) resp {
	req, _ := http.NewRequest("POST", c.f.http.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

var tokenRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// token returns the CSRF token of the form on page path.
func (c *client) token(path string) string {
	c.t.Helper()
	r := c.get(path)
	m := tokenRE.FindStringSubmatch(r.body)
	if m == nil {
		c.t.Fatalf("no CSRF token on %s (%d):\n%s", path, r.code, r.body)
	}
	return m[1]
}

func (c *client) signIn(login, password string) resp {
	c.t.Helper()
	tok := c.token("/login")
	return c.post("/login", url.Values{"csrf": {tok}, "login": {login}, "password": {password}})
}

func (c *client) mustSignIn(login string) {
	c.t.Helper()
	if r := c.signIn(login, testPassword); r.code != http.StatusSeeOther || r.location != "/" {
		c.t.Fatalf("sign in as %s: %d %s\n%s", login, r.code, r.location, r.body)
	}
}

// upload posts an exam file to the import form.
func (c *client) upload(token, content string) resp {
	c.t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	if token != "" {
		w.WriteField("csrf", token)
	}
	fw, _ := w.CreateFormFile("exam", "exam.json")
	fw.Write([]byte(content))
	w.Close()
	req, _ := http.NewRequest("POST", c.f.http.URL+"/exam/import", &b)
	req.Header.Set("Content-Type", w.FormDataContentType())
	return c.do(req)
}

func (f *fixture) auditText(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(f.dir, audit.FileName))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSignInSuccessAndFailure(t *testing.T) {
	f := newFixture(t)
	c := f.client(t)
	if r := c.get("/"); r.code != http.StatusSeeOther || r.location != "/login" {
		t.Fatalf("board without sign-in: %d %s", r.code, r.location)
	}
	r := c.signIn("head", "неверный-пароль")
	if r.code != http.StatusUnauthorized || !strings.Contains(r.body, "Неверный логин или пароль") {
		t.Fatalf("wrong password: %d\n%s", r.code, r.body)
	}
	c.mustSignIn("head")
	r = c.get("/")
	if r.code != http.StatusOK || !strings.Contains(r.body, "Экзамен не импортирован") || !strings.Contains(r.body, "head · руководитель") {
		t.Fatalf("board after sign-in: %d\n%s", r.code, r.body)
	}
	for _, ck := range c.c.Jar.Cookies(mustURL(f.http.URL)) {
		if ck.Name == sessionCookie && len(ck.Value) < 40 {
			t.Fatalf("session id too short: %q", ck.Value)
		}
	}
	tok := tokenRE.FindStringSubmatch(r.body)[1]
	if r := c.post("/logout", url.Values{"csrf": {tok}}); r.code != http.StatusSeeOther || r.location != "/login?m=out" {
		t.Fatalf("logout: %d %s", r.code, r.location)
	}
	if r := c.get("/"); r.code != http.StatusSeeOther {
		t.Fatalf("board after logout: %d", r.code)
	}
	log := f.auditText(t)
	for _, want := range []string{`"actor":"head","action":"user.signin.refused"`, `"actor":"head","action":"user.signin"`, `"actor":"head","action":"user.signout"`} {
		if !strings.Contains(log, want) {
			t.Errorf("audit log lacks %s:\n%s", want, log)
		}
	}
}

func TestSessionCookieFlags(t *testing.T) {
	f := newFixture(t)
	c := f.client(t)
	tok := c.token("/login")
	req, _ := http.NewRequest("POST", f.http.URL+"/login", strings.NewReader(url.Values{"csrf": {tok}, "login": {"oper"}, "password": {testPassword}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r, err := c.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	var found bool
	for _, ck := range r.Cookies() {
		if ck.Name == sessionCookie {
			found = true
			if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode {
				t.Fatalf("session cookie %+v: want HttpOnly and SameSite=Strict", ck)
			}
		}
	}
	if !found {
		t.Fatal("no session cookie set")
	}
}

func TestSignInRateLimited(t *testing.T) {
	f := newFixture(t)
	c := f.client(t)
	for i := 0; i < 5; i++ {
		if r := c.signIn("oper", "неверный-пароль"); r.code != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i+1, r.code)
		}
	}
	// Even the right password is refused while the login is blocked.
	r := c.signIn("oper", testPassword)
	if r.code != http.StatusTooManyRequests || !strings.Contains(r.body, "Слишком много неудачных попыток") {
		t.Fatalf("after 5 failures: %d\n%s", r.code, r.body)
	}
	// Another login from the same address still may sign in…
	c2 := f.client(t)
	c2.mustSignIn("head")
	// …until the address has failed too often (20 per window).
	for i := 0; i < 15; i++ {
		c2.signIn("guess"+string(rune('a'+i)), "неверный-пароль")
	}
	if r := c2.signIn("nobody", "неверный-пароль"); r.code != http.StatusTooManyRequests {
		t.Fatalf("address limit: %d", r.code)
	}
	f.clock.add(16 * time.Minute)
	c.mustSignIn("oper")
	if !strings.Contains(f.auditText(t), "слишком много неудачных попыток") {
		t.Error("rate-limited attempts are not in the audit log")
	}
}

func TestCSRFForgedOrMissingChangesNothing(t *testing.T) {
	f := newFixture(t)
	c := f.client(t)
	c.mustSignIn("head")
	for name, tok := range map[string]string{"missing": "", "forged": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"} {
		r := c.upload(tok, examFile)
		if r.code != http.StatusForbidden || !strings.Contains(r.body, "Запрос отклонён") {
			t.Fatalf("%s token: %d\n%s", name, r.code, r.body)
		}
		if _, err := f.st.Exam(); err == nil {
			t.Fatalf("%s token: the exam was imported", name)
		}
	}
	// Sign-out without the token leaves the session alive.
	if r := c.post("/logout", url.Values{}); r.code != http.StatusForbidden {
		t.Fatalf("logout without token: %d", r.code)
	}
	if r := c.get("/"); r.code != http.StatusOK {
		t.Fatalf("session ended by a forged sign-out: %d", r.code)
	}
	// A sign-in form posted from elsewhere (no login cookie token) is refused.
	c2 := f.client(t)
	if r := c2.post("/login", url.Values{"csrf": {"x"}, "login": {"head"}, "password": {testPassword}}); r.code != http.StatusForbidden {
		t.Fatalf("login CSRF: %d", r.code)
	}
	if !strings.Contains(f.auditText(t), `"action":"csrf.refused"`) {
		t.Error("refused forged requests are not in the audit log")
	}
}

func TestExpiredSessionRedirectsWithMessage(t *testing.T) {
	f := newFixture(t)
	c := f.client(t)
	c.mustSignIn("oper")
	f.clock.add(31 * time.Minute)
	r := c.get("/")
	if r.code != http.StatusSeeOther || r.location != "/login?m=expired" {
		t.Fatalf("expired session: %d %s", r.code, r.location)
	}
	r = c.get(r.location)
	if !strings.Contains(r.body, "Сеанс завершён") {
		t.Fatalf("no expiry message:\n%s", r.body)
	}
}

func TestOperatorRefusedOnImport(t *testing.T) {
	f := newFixture(t)
	c := f.client(t)
	c.mustSignIn("oper")
	if r := c.get("/exam/import"); r.code != http.StatusForbidden || !strings.Contains(r.body, "Недостаточно прав") {
		t.Fatalf("import page for operator: %d\n%s", r.code, r.body)
	}
	tok := c.token("/")
	if r := c.upload(tok, examFile); r.code != http.StatusForbidden {
		t.Fatalf("import by operator: %d", r.code)
	}
	if _, err := f.st.Exam(); err == nil {
		t.Fatal("an operator imported the exam")
	}
	if r := c.get("/"); strings.Contains(r.body, `href="/exam/import"`) {
		t.Error("the board offers the import to an operator")
	}
	if !strings.Contains(f.auditText(t), `"actor":"oper","action":"access.refused"`) {
		t.Error("refused access is not in the audit log")
	}
}

func TestImportRefusesBadFileWithPaths(t *testing.T) {
	f := newFixture(t)
	c := f.client(t)
	c.mustSignIn("admin")
	bad := strings.Replace(examFile, `"number": "0014"`, `"number": 14`, 1)
	r := c.upload(c.token("/exam/import"), bad)
	if r.code != http.StatusUnprocessableEntity || !strings.Contains(r.body, "ppe[0].auditoriums[1].number") ||
		!strings.Contains(r.body, "запишите код строкой из 4 цифр") {
		t.Fatalf("bad exam file: %d\n%s", r.code, r.body)
	}
	if _, err := f.st.Exam(); err == nil {
		t.Fatal("a bad exam file was imported")
	}
}

func TestBoardShowsImportedExam(t *testing.T) {
	f := newFixture(t)
	c := f.client(t)
	c.mustSignIn("head")
	r := c.upload(c.token("/exam/import"), examFile)
	if r.code != http.StatusSeeOther || r.location != "/" {
		t.Fatalf("import: %d\n%s", r.code, r.body)
	}
	// Confirmed ППЭ-13-02-МАШ counts for 0101 and a closed auditorium of 0202.
	err := f.st.SetForm1302(store.Form1302{PPE: "0101", Source: "typed", By: "head", At: time.Now(), Rows: map[string]reconcile.Counts{
		"0012": {Listed: 15, Present: 14, Absent: 1, BO1: 14, BO2S1: 14, BO2S2: 3},
		"0014": {Listed: 10, Present: 10, BO1: 10, BO2S1: 10},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.st.SetClosure(store.Closure{Place: store.Place{PPE: "0202", Auditorium: "0001"}, Reason: "нет участников", By: "head", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	r = c.get("/")
	for _, want := range []string{
		"Экзамен импортирован.", "Математика (02)", "27.05.2025",
		`id="ppe-0101"`, `id="ppe-0202"`, `id="aud-0012"`, `id="aud-0014"`, `id="aud-0001"`,
		"0 из 14 (0 %)", "0 из 10 (0 %)", "0 (ожидается: нет данных ППЭ-13-02-МАШ)",
		"st-open", "st-closed", "закрыта с причиной: нет участников",
		"срок отправки 15:00", "осталось 0:40:00",
		`href="/auditorium/0101/0012"`, `href="/auditorium/0202/0001"`, `href="/signoff/0101">Протокол ППЭ-15</a>`,
		`href="/scan"`, `href="/review"`, `href="/exam/import"`,
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("board lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("board:\n%s", r.body)
	}
	if !strings.Contains(f.auditText(t), `"actor":"head","action":"exam.import"`) {
		t.Error("the import is not in the audit log under the head's login")
	}
	// The header offers each person only the screens their role may use.
	for login, want := range map[string][3]bool{"oper": {true, true, false}, "admin": {false, false, true}} {
		o := f.client(t)
		o.mustSignIn(login)
		body := o.get("/").body
		for i, link := range []string{`href="/scan"`, `href="/review"`, `href="/exam/import"`} {
			if strings.Contains(body, link) != want[i] {
				t.Errorf("%s's board: link %s shown=%v, want %v", login, link, !want[i], want[i])
			}
		}
	}
	f.clock.add(30 * time.Minute)
	c.get("/") // within the idle limit, so the session lives on
	f.clock.add(30 * time.Minute)
	if r := c.get("/"); !strings.Contains(r.body, "срок истёк 0:20:00 назад") {
		t.Error("the board does not show the missed limit")
	}
}

func TestNumbersInRussianFormat(t *testing.T) {
	if got := numRU(93.3); got != "93,3" {
		t.Errorf("numRU(93.3) = %q", got)
	}
	if got := bar("БО №1", 14, 15, true).Label; got != "14 из 15 (93,3 %)" {
		t.Errorf("bar label = %q", got)
	}
}

func mustURL(s string) *url.URL { u, _ := url.Parse(s); return u }

func TestServeStopsOnContext(t *testing.T) {
	f := newFixture(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.srv.Serve(ctx, ln) }()
	r, err := http.Get("http://" + ln.Addr().String() + "/login")
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Serve did not stop after its context ended")
	}
}

// openApp opens a station in dir with one account per role given, with
// cheap password hashing for tests.
func openApp(t *testing.T, dir string, roles map[string]users.Role) (*station.Station, *users.DB) {
	t.Helper()
	app, err := station.Open(dir, station.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close() })
	// Keys, so that closing an auditorium seals its package as on a
	// station set up for the exam.
	if _, err := seal.GenerateStationKey(seal.KeyDir(dir)); err != nil {
		t.Fatal(err)
	}
	id, _ := age.GenerateX25519Identity()
	if _, err := seal.ImportRecipients(seal.KeyDir(dir), strings.NewReader(id.Recipient().String()+"\n")); err != nil {
		t.Fatal(err)
	}
	db := app.Users
	db.Params = users.Params{Memory: 64, Time: 1, Threads: 1}
	for login, role := range roles {
		if _, err := db.Add(login, role, testPassword, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	return app, db
}

// /metrics serves the station's counts in Prometheus' text format.
func TestMetrics(t *testing.T) {
	s := newScanned(t)
	c := s.client(t)
	r := c.get("/metrics")
	if r.code != http.StatusOK {
		t.Fatalf("/metrics: %d", r.code)
	}
	pages, _ := s.st.Pages(s.place)
	for _, want := range []string{
		fmt.Sprintf("giascan_pages_stored %d", len(pages)),
		"giascan_recognition_seconds_count",
		"giascan_review_queue_pages",
		`giascan_packages{state="sealed"} 0`,
		"giascan_upload_bytes_sent_total 0",
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, r.body)
		}
	}
}

// A stranger guessing the head's password from another computer locks
// only their own attempts: the head still signs in from the station.
func TestSignInLockoutIsPerAddress(t *testing.T) {
	f := newFixture(t)
	stranger := f.client(t)
	tr := &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}).DialContext}
	stranger.c.Transport = tr
	for i := 0; i < 6; i++ {
		stranger.signIn("head", "неверный-пароль")
	}
	if r := stranger.signIn("head", testPassword); r.code != http.StatusTooManyRequests {
		t.Fatalf("the stranger's address is not locked for the head's login: %d", r.code)
	}
	head := f.client(t)
	head.mustSignIn("head")
}

// The administrator manages accounts in the browser: adds one, disables
// it (its sessions end, it cannot sign in), enables it, sets a new
// password, and unlocks a login locked by failed attempts.
func TestAccountsInTheBrowser(t *testing.T) {
	f := newFixture(t)
	admin := f.client(t)
	admin.mustSignIn("admin")
	tok := admin.token("/users")
	oper := f.client(t)
	oper.mustSignIn("oper")
	if r := oper.get("/users"); r.code != http.StatusForbidden {
		t.Errorf("operator's accounts page: %d", r.code)
	}
	if r := admin.post("/users/add", url.Values{"csrf": {tok}, "login": {"tech2"}, "role": {"technician"}, "password": {testPassword}, "password2": {"другой-пароль"}}); r.code != http.StatusUnprocessableEntity || !strings.Contains(r.body, "не совпадают") {
		t.Errorf("mismatched passwords: %d", r.code)
	}
	if r := admin.post("/users/add", url.Values{"csrf": {tok}, "login": {"tech2"}, "role": {"technician"}, "password": {testPassword}, "password2": {testPassword}}); r.code != http.StatusSeeOther {
		t.Fatalf("add: %d\n%s", r.code, r.body)
	}
	tech := f.client(t)
	tech.mustSignIn("tech2")
	if r := admin.post("/users/disable", url.Values{"csrf": {tok}, "login": {"tech2"}, "disable": {"yes"}}); r.code != http.StatusSeeOther {
		t.Fatalf("disable: %d", r.code)
	}
	if r := tech.get("/"); r.code == http.StatusOK {
		t.Error("a disabled account's session goes on")
	}
	if r := f.client(t).signIn("tech2", testPassword); r.code == http.StatusSeeOther {
		t.Error("a disabled account signed in")
	}
	if r := admin.post("/users/disable", url.Values{"csrf": {tok}, "login": {"admin"}, "disable": {"yes"}}); r.code != http.StatusUnprocessableEntity {
		t.Errorf("admin disables itself: %d", r.code)
	}
	admin.post("/users/disable", url.Values{"csrf": {tok}, "login": {"tech2"}, "disable": {"no"}})
	const newPW = "новый-пароль-техника"
	if r := admin.post("/users/password", url.Values{"csrf": {tok}, "login": {"tech2"}, "password": {newPW}, "password2": {newPW}}); r.code != http.StatusSeeOther {
		t.Fatalf("new password: %d\n%s", r.code, r.body)
	}
	if r := f.client(t).signIn("tech2", testPassword); r.code == http.StatusSeeOther {
		t.Error("the old password still works")
	}
	if r := f.client(t).signIn("tech2", newPW); r.code != http.StatusSeeOther {
		t.Errorf("the new password does not work: %d", r.code)
	}
	// Locked by failures, unlocked by the administrator.
	locked := f.client(t)
	for i := 0; i < 6; i++ {
		locked.signIn("oper", "неверный-пароль")
	}
	if r := locked.signIn("oper", testPassword); r.code != http.StatusTooManyRequests {
		t.Fatalf("not locked: %d", r.code)
	}
	if r := admin.post("/users/unlock", url.Values{"csrf": {tok}, "login": {"oper"}}); r.code != http.StatusSeeOther {
		t.Fatalf("unlock: %d", r.code)
	}
	if r := locked.signIn("oper", testPassword); r.code != http.StatusSeeOther {
		t.Errorf("after unlocking: %d", r.code)
	}
	log := f.auditText(t)
	for _, a := range []string{audit.ActionUserAdd, audit.ActionUserDisable, audit.ActionUserEnable, audit.ActionUserPassword, audit.ActionUserUnlock} {
		if !strings.Contains(log, `"`+a+`"`) {
			t.Errorf("audit log lacks %s", a)
		}
	}
	if strings.Contains(log, newPW) || strings.Contains(log, testPassword) {
		t.Error("a password is in the audit log")
	}
}
