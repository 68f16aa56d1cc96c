package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"giascan/forms"
	"giascan/hardware/sim"
	"giascan/station/exam"
)

// The demo runs the station's own commands end to end on a fresh data
// folder: exam import, printing, a scan through a jam and a double feed
// with one лист 2 lost, ППЭ-13-02-МАШ confirmation and the report.
func TestDemoRunsEndToEnd(t *testing.T) {
	data := filepath.Join(t.TempDir(), "demo-data")
	var out, errb bytes.Buffer
	code := run(context.Background(), &env{stdout: &out, stderr: &errb}, []string{"demo", "--data", data, "--profile", "clean"})
	if code != 0 {
		t.Fatalf("demo exit %d: %s\n%s", code, errb.String(), out.String())
	}
	text := out.String()
	for _, want := range []string{"Замятие бумаги после страницы", "Подача двух листов", "Лоток сканера пуст",
		"[missing] Лист 2 БО №2 комплекта", "[count_mismatch] БО №2 лист 2", "Что дальше"} {
		if !strings.Contains(text, want) {
			t.Errorf("demo output lacks %q:\n%s", want, text)
		}
	}
	raw, err := os.ReadFile(filepath.Join(data, "exam.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exam.Parse(raw); err != nil {
		t.Fatalf("the demo's exam file does not follow exam.md: %v", err)
	}
	checkDemoTrainer(t, raw, text)
	// The training auditorium is on the ППЭ-13-02-МАШ like the scanned one,
	// so the board expects its sheets.
	if !strings.Contains(text, "строка учебной аудитории") || strings.Contains(text, "form_missing") {
		t.Errorf("the training auditorium is not on the ППЭ-13-02-МАШ:\n%s", text)
	}
	for _, pdf := range []string{"kits.pdf", "ppe-13-02-mash.pdf"} {
		if fi, err := os.Stat(filepath.Join(data, "print", pdf)); err != nil || fi.Size() < 1000 {
			t.Errorf("%s not printed: %v", pdf, err)
		}
	}
	if code, _, errs := runStation(t, "audit", "verify", "--data", data); code != 0 {
		t.Errorf("audit log of the demo does not verify: %s", errs)
	}
	// make demo twice: the demo's own folder is started afresh.
	out.Reset()
	if code := run(context.Background(), &env{stdout: &out, stderr: &errb}, []string{"demo", "--data", data, "--profile", "clean"}); code != 0 {
		t.Fatalf("second demo run exit %d: %s", code, errb.String())
	}
	// A folder the demo did not make is never wiped.
	other := t.TempDir()
	keep := filepath.Join(other, "station.db")
	if err := os.WriteFile(keep, []byte("real data"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := runStation(t, "demo", "--data", other); code != 2 {
		t.Errorf("demo over a non-demo folder: exit %d, want 2", code)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("the demo touched a folder it did not make: %v", err)
	}
}

// With --serve the demo ends by serving the web interface with fresh
// random accounts, and stops cleanly when interrupted.
func TestDemoServesTheWebInterface(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	data := filepath.Join(t.TempDir(), "demo-data")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, &env{stdout: &out, stderr: &errb}, []string{"demo", "--data", data, "--profile", "clean", "--serve", addr})
	}()
	deadline := time.Now().Add(90 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/login")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET /login: %s", resp.Status)
			}
			break
		}
		select {
		case code := <-done:
			t.Fatalf("demo ended with %d before serving: %s\n%s", code, errb.String(), out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the web interface did not come up: %s", out.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, login := range []string{"demo-operator", "demo-technician", "demo-head", "demo-admin"} {
		if !strings.Contains(out.String(), login) {
			t.Errorf("demo did not print the account %s", login)
		}
	}
	// The scanning screen offers the training stack of the demo exam, not
	// a simulator of some other exam.
	scan := demoPage(t, "http://"+addr, "demo-operator", out.String(), "/scan")
	if !strings.Contains(scan, "Учебная пачка аудитории") || strings.Contains(scan, ">Имитатор сканера (учебный)<") {
		t.Errorf("the demo's scanning screen does not offer its training stack:\n%s", scan)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("demo exit %d after interrupt: %s", code, errb.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the web interface did not stop after interrupt")
	}
}

// checkDemoTrainer checks the browser's training stack of the demo: every
// sheet is of the demo exam, of its training auditorium and of a kit its
// seating plan lists, and the stack jams, double-feeds and loses a sheet.
func checkDemoTrainer(t *testing.T, examRaw []byte, out string) {
	t.Helper()
	ex, err := exam.Parse(examRaw)
	if err != nil {
		t.Fatal(err)
	}
	sheets, _ := demoStack(2025)
	tr, err := demoTrainer(2025, sim.Clean, sheets)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, tr.name) || !strings.Contains(out, tr.auditorium) {
		t.Errorf("the demo does not tell of its training stack %q", tr.name)
	}
	aud := ex.FindAuditorium(ex.PPE[0].Code, tr.auditorium)
	if aud == nil || len(aud.Kits) != 5 || tr.auditorium == sheets[0].ID.Auditorium {
		t.Fatalf("training auditorium %s in the exam: %+v", tr.auditorium, aud)
	}
	for _, key := range []string{",jam=", ",double=", ",drop="} {
		if !strings.Contains(tr.spec, key) {
			t.Errorf("training stack %s lacks %s", tr.spec, key)
		}
	}
	stack, err := sim.Open(strings.TrimPrefix(tr.spec, "sim:"))
	if err != nil {
		t.Fatal(err)
	}
	for _, sh := range stack.Sheets() {
		c := sh.ID
		if !ex.SameExam(forms.Context{Level: c.Level, Region: c.Region, Subject: c.Subject, Date: c.Date}) ||
			c.PPE != ex.PPE[0].Code || c.Auditorium != tr.auditorium || !aud.HasKit(c.Kit) {
			t.Errorf("training sheet %d is not the demo exam's: %+v", sh.Index+1, c)
		}
	}
}

// demoPage signs in to the demo's web interface with the password the
// demo printed for login and returns the page at path.
func demoPage(t *testing.T, base, login, out, path string) string {
	t.Helper()
	var password string
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == login {
			password = f[1]
		}
	}
	if password == "" {
		t.Fatalf("no password printed for %s", login)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	get := func(p string) string {
		r, err := c.Get(base + p)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return string(b)
	}
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(get("/login"))
	if m == nil {
		t.Fatal("no CSRF token on the sign-in page")
	}
	r, err := c.PostForm(base+"/login", url.Values{"csrf": {m[1]}, "login": {login}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	return get(path)
}
