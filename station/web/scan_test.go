package web

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"giascan/forms"
	"giascan/hardware"
	"giascan/station/audit"
	"giascan/station/store"
	"giascan/station/users"
)

// examStack is a simulated stack printed for examFile: the two kits the
// seating plan gives auditorium 0012 of ППЭ 0101, six sheets. Tests add
// the device events and planted sheets they need.
const examStack = "sim:seed=5,shape=1x2,profile=clean,exam=9-11-0101-02-20250527,auditorium=0012,kit=0000012345"

// scanStack is examStack with a paper jam after page 3.
const scanStack = examStack + ",jam=3"

// newScanFixture is a fixture whose server offers scanStack and has the
// exam imported; the server is closed before the store.
func newScanFixture(t *testing.T) *fixture { return newScanFixtureOf(t, scanStack) }

// newScanFixtureOf is newScanFixture offering the stack spec.
func newScanFixtureOf(t *testing.T, specs ...string) *fixture {
	t.Helper()
	dir := t.TempDir()
	app, db := openApp(t, dir, map[string]users.Role{"head": users.Head, "oper": users.Operator, "admin": users.Admin})
	st, log := app.Store, app.Log
	clk := &testClock{t: time.Now()}
	srv, err := New(Config{App: app, Users: db, Now: clk.now, Devices: specs,
		ScanOptions: hardware.Options{DPI: 150, Mode: "lineart"}, ScanWorkers: 2})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	t.Cleanup(srv.Close) // runs first: the scan stops before the store closes
	f := &fixture{app: app, dir: dir, st: st, log: log, srv: srv, http: hs, clock: clk}
	h := f.client(t)
	h.mustSignIn("head")
	if r := h.upload(h.token("/exam/import"), examFile); r.code != http.StatusSeeOther {
		t.Fatalf("import: %d %s", r.code, r.body)
	}
	return f
}

// events reads the scanning screen's stream, calling on for each event
// until it returns true or the time is up.
func (c *client) events(timeout time.Duration, on func(scanEvent) bool) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", c.f.http.URL+"/scan/events", nil)
	r, err := c.c.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer r.Body.Close()
	if ct := r.Header.Get("Content-Type"); r.StatusCode != http.StatusOK || ct != "text/event-stream" {
		c.t.Fatalf("events: %d %s", r.StatusCode, ct)
	}
	sc := bufio.NewScanner(r.Body)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var ev scanEvent
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			c.t.Fatalf("event %q: %v", data, err)
		}
		if on(ev) {
			return
		}
	}
	c.t.Fatalf("event stream ended early: %v", sc.Err())
}

func TestScanStartNeedsCSRFAndScanRole(t *testing.T) {
	f := newScanFixture(t)
	admin := f.client(t)
	admin.mustSignIn("admin")
	if r := admin.get("/scan"); r.code != http.StatusForbidden || !strings.Contains(r.body, "Недостаточно прав") {
		t.Fatalf("admin on /scan: %d", r.code)
	}
	tok := admin.token("/")
	if r := admin.post("/scan/start", url.Values{"csrf": {tok}, "place": {"0101/0012"}}); r.code != http.StatusForbidden {
		t.Fatalf("admin start: %d", r.code)
	}
	op := f.client(t)
	op.mustSignIn("oper")
	page := op.get("/scan")
	for _, want := range []string{"0101/0012", scanStack, "Начать (S)", "Esc"} {
		if page.code != http.StatusOK || !strings.Contains(page.body, want) {
			t.Fatalf("operator's scan page lacks %q: %d", want, page.code)
		}
	}
	if r := op.post("/scan/start", url.Values{"place": {"0101/0012"}}); r.code != http.StatusForbidden || !strings.Contains(r.body, "CSRF") {
		t.Fatalf("start without token: %d", r.code)
	}
	tok = op.token("/scan")
	r := op.post("/scan/start", url.Values{"csrf": {tok}, "place": {"0101/0013"}})
	if r.code != http.StatusBadRequest || !strings.Contains(r.body, "нет в импортированном экзамене") {
		t.Fatalf("unknown auditorium: %d %s", r.code, r.body)
	}
	r = op.post("/scan/start", url.Values{"csrf": {tok}, "place": {"0101/0012"}, "device": {"folder:/etc"}})
	if r.code != http.StatusBadRequest || !strings.Contains(r.body, "Такого сканера нет") {
		t.Fatalf("device not offered: %d", r.code)
	}
	// A closed auditorium takes no scan from the browser either.
	if err := f.st.SetClosure(store.Closure{Place: store.Place{PPE: "0101", Auditorium: "0012"}, By: "head", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	r = op.post("/scan/start", url.Values{"csrf": {tok}, "place": {"0101/0012"}, "device": {scanStack}, "source": {"ADF"}})
	if r.code != http.StatusBadRequest || !strings.Contains(r.body, "закрыта") || !strings.Contains(r.body, "руководителя ППЭ") {
		t.Fatalf("scan into a closed auditorium: %d %s", r.code, r.body)
	}
	if pages, _ := f.st.Pages(store.Place{PPE: "0101", Auditorium: "0012"}); len(pages) != 0 {
		t.Fatalf("refused starts stored %d pages", len(pages))
	}
	if !strings.Contains(f.auditText(t), audit.ActionAccessRefused) {
		t.Error("the refused admin is not in the audit log")
	}
}

func TestScanStreamsPagesJamContinueAndEnd(t *testing.T) {
	f := newScanFixture(t)
	op := f.client(t)
	op.mustSignIn("oper")
	tok := op.token("/scan")
	start := url.Values{"csrf": {tok}, "place": {"0101/0012"}, "device": {scanStack}, "source": {"ADF"}}
	if r := op.post("/scan/start", start); r.code != http.StatusAccepted {
		t.Fatalf("start: %d %s", r.code, r.body)
	}
	if r := op.post("/scan/start", start); r.code != http.StatusConflict || !strings.Contains(r.body, "Сканирование уже идёт") {
		t.Fatalf("second start: %d", r.code)
	}
	stored, read := map[int]bool{}, map[int]scanEvent{}
	var fault, empty, end scanEvent
	var alerts []scanEvent
	op.events(40*time.Second, func(ev scanEvent) bool {
		switch ev.Kind {
		case "foreign", "duplicate":
			alerts = append(alerts, ev)
		case "page":
			stored[ev.Seq] = true
		case "read":
			read[ev.Seq] = ev
		case "fault":
			fault = ev
			if r := op.post("/scan/continue", url.Values{"csrf": {tok}}); r.code != http.StatusOK {
				t.Errorf("continue: %d %s", r.code, r.body)
			}
		case "empty":
			empty = ev
		case "end":
			end = ev
			return true
		}
		return false
	})
	if len(stored) != 6 || len(read) != 6 {
		t.Fatalf("stored %d, read %d pages", len(stored), len(read))
	}
	// Every sheet is the exam's: no alert, and nothing is missing.
	if len(alerts) != 0 || !strings.Contains(end.Text, "Недостающих листов нет") {
		t.Errorf("a stack of the exam's own sheets: alerts %+v, end %q", alerts, end.Text)
	}
	if !strings.Contains(fault.Text, "Замятие бумаги после страницы 3") || !strings.Contains(fault.Text, "Продолжить") {
		t.Errorf("jam: %q", fault.Text)
	}
	if !strings.Contains(empty.Text, "Лоток сканера пуст") || end.Failed || !strings.Contains(end.Text, "Сохранено за сеанс: 6") {
		t.Errorf("empty %q, end %+v", empty.Text, end)
	}
	if ev := read[1]; ev.Barcode == "" || ev.Type == "" || ev.Image != "/page/0101/0012/1/image" {
		t.Errorf("page 1: %+v", ev)
	}
	if r := op.post("/scan/continue", url.Values{"csrf": {tok}}); r.code != http.StatusConflict {
		t.Errorf("continue with nothing to continue: %d", r.code)
	}
	log := f.auditText(t)
	for _, want := range []string{audit.ActionScanStart, audit.ActionSessionEnd, "device.fault"} {
		if !strings.Contains(log, want) {
			t.Errorf("audit log lacks %s", want)
		}
	}
}

func TestScanStopEndsTheRunAndFreesTheDesk(t *testing.T) {
	f := newScanFixture(t)
	op := f.client(t)
	op.mustSignIn("oper")
	tok := op.token("/scan")
	start := url.Values{"csrf": {tok}, "place": {"0101/0012"}, "device": {scanStack}}
	if r := op.post("/scan/start", start); r.code != http.StatusAccepted {
		t.Fatalf("start: %d %s", r.code, r.body)
	}
	// The jam holds the scan until someone answers: stop it there.
	var end scanEvent
	op.events(30*time.Second, func(ev scanEvent) bool {
		switch ev.Kind {
		case "fault":
			if r := op.post("/scan/stop", url.Values{"csrf": {tok}}); r.code != http.StatusOK {
				t.Errorf("stop: %d %s", r.code, r.body)
			}
		case "end":
			end = ev
			return true
		}
		return false
	})
	if !end.Failed || !strings.Contains(end.Text, "остановлено") {
		t.Fatalf("end: %+v", end)
	}
	if r := op.post("/scan/stop", url.Values{"csrf": {tok}}); r.code != http.StatusConflict {
		t.Errorf("stop when idle: %d", r.code)
	}
	if pages, _ := f.st.Pages(store.Place{PPE: "0101", Auditorium: "0012"}); len(pages) != 3 {
		t.Errorf("%d pages kept after the stop, want 3", len(pages))
	}
	if !strings.Contains(f.auditText(t), audit.ActionScanStop) {
		t.Error("the stop is not in the audit log")
	}
}

// A sheet of another ППЭ in the stack is called out with an alert the
// moment it is read, not only in the report afterwards; the sheets that
// belong raise none.
func TestScanAlertsAForeignSheetAtOnce(t *testing.T) {
	const stack = examStack + ",foreign=2"
	f := newScanFixtureOf(t, stack)
	id := forms.Identity{PPE: "0101", Auditorium: "0012"}
	op := f.client(t)
	op.mustSignIn("oper")
	tok := op.token("/scan")
	if r := op.post("/scan/start", url.Values{"csrf": {tok}, "place": {id.PPE + "/" + id.Auditorium}, "device": {stack}, "source": {"ADF"}}); r.code != http.StatusAccepted {
		t.Fatalf("start: %d %s", r.code, r.body)
	}
	var alerts []scanEvent
	var end scanEvent
	op.events(40*time.Second, func(ev scanEvent) bool {
		if ev.Kind == "foreign" {
			alerts = append(alerts, ev)
		}
		end = ev
		return ev.Kind == "end"
	})
	if len(alerts) != 1 || !strings.Contains(alerts[0].Text, "отложите его отдельно") {
		t.Fatalf("alerts during the scan: %+v; want one, for the planted foreign sheet", alerts)
	}
	// The end says what the auditorium still lacks.
	if !strings.Contains(end.Text, "Не хватает") && !strings.Contains(end.Text, "Недостающих листов нет") {
		t.Errorf("end of the scan: %q; want what is still missing", end.Text)
	}
}

// The scanning screen's progress says how many sheets of each type the
// auditorium holds against the plan.
func TestScanProgressAgainstThePlan(t *testing.T) {
	f := newScanFixture(t)
	op := f.client(t)
	op.mustSignIn("oper")
	r := op.get("/scan/progress?place=0101/0012")
	if r.code != http.StatusOK || !strings.Contains(r.body, `"label":"0 из 2 (0 %)"`) || !strings.Contains(r.body, "по плану рассадки") {
		t.Fatalf("progress of an empty auditorium planned for 2 kits: %d %s", r.code, r.body)
	}
	if r := op.get("/scan/progress?place=0101/9999"); r.code != http.StatusNotFound {
		t.Errorf("progress of an unplanned auditorium: %d", r.code)
	}
}

// The calibration sheet is a PDF download from the scanning screen.
func TestCalibrationSheetDownload(t *testing.T) {
	f := newScanFixture(t)
	op := f.client(t)
	op.mustSignIn("oper")
	if !strings.Contains(op.get("/scan").body, `href="/scan/calibration.pdf"`) {
		t.Error("the scanning screen does not offer the calibration sheet")
	}
	r := op.get("/scan/calibration.pdf")
	if r.code != http.StatusOK || !strings.HasPrefix(r.body, "%PDF") || len(r.body) < 2000 {
		t.Fatalf("calibration sheet: %d, %d bytes", r.code, len(r.body))
	}
}
