package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"giascan/station/audit"
)

type readinessAnswer struct {
	OK       bool            `json:"ok"`
	Message  string          `json:"message"`
	Ready    bool            `json:"ready"`
	Verdict  string          `json:"verdict"`
	Protocol string          `json:"protocol"`
	Criteria []criterionView `json:"criteria"`
}

func (c *client) readiness(tok, device string) (int, readinessAnswer) {
	c.t.Helper()
	req, _ := http.NewRequest("POST", c.f.http.URL+"/scan/readiness", strings.NewReader(url.Values{"csrf": {tok}, "device": {device}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	r := c.do(req)
	var a readinessAnswer
	if err := json.Unmarshal([]byte(r.body), &a); err != nil {
		c.t.Fatalf("readiness answer %d %q: %v", r.code, r.body, err)
	}
	return r.code, a
}

// The operator checks the chosen scanner from the scanning screen and
// gets the same protocol as from the command line; a scanner whose
// resolution is off is found not ready, and a busy scanner is not taken.
func TestReadinessCheckFromTheScanningScreen(t *testing.T) {
	const offDPI = "sim:calibration,dpierr=4"
	f := newScanFixtureOf(t, scanStack)
	f.srv.cfg.Devices = append(f.srv.cfg.Devices, offDPI)
	op := f.client(t)
	op.mustSignIn("oper")
	page := op.get("/scan")
	if !strings.Contains(page.body, `id="readiness-check"`) || !strings.Contains(page.body, "Проверить готовность сканера") {
		t.Fatal("the scanning screen offers no readiness check")
	}
	tok := op.token("/scan")
	// The training stack's simulator is loaded with the calibration sheet.
	code, a := op.readiness(tok, scanStack)
	if code != http.StatusOK || !a.OK || !a.Ready || a.Verdict != "ГОТОВ" || len(a.Criteria) < 5 {
		t.Fatalf("check of a good scanner: %d %+v", code, a)
	}
	r := op.get(a.Protocol)
	if r.code != http.StatusOK || !strings.HasPrefix(r.body, "%PDF") {
		t.Fatalf("protocol %s: %d", a.Protocol, r.code)
	}
	log := f.auditText(t)
	if !strings.Contains(log, audit.ActionReadiness) || !strings.Contains(log, `"oper"`) || !strings.Contains(log, "ГОТОВ") {
		t.Errorf("the check is not in the audit log under the operator:\n%s", log)
	}
	first := a.Protocol
	code, a = op.readiness(tok, offDPI)
	if code != http.StatusOK || a.Ready || !strings.Contains(a.Message, "НЕ ГОТОВ") {
		t.Fatalf("check of a scanner 4 %% off in resolution: %d %+v", code, a)
	}
	if a.Protocol == first {
		t.Errorf("the second check's protocol %s replaced the first", a.Protocol)
	}
	failed := false
	for _, c := range a.Criteria {
		failed = failed || (!c.Pass && c.Explain != "")
	}
	if !failed {
		t.Errorf("no failed criterion says what to do: %+v", a.Criteria)
	}
	if r := op.get(a.Protocol); r.code != http.StatusOK || !strings.HasPrefix(r.body, "%PDF") {
		t.Errorf("second protocol %s: %d", a.Protocol, r.code)
	}
	if code, a := op.readiness(tok, "folder:/etc"); code != http.StatusBadRequest || !strings.Contains(a.Message, "Такого сканера нет") {
		t.Errorf("a device not offered: %d %+v", code, a)
	}
	if r := op.get("/scan/readiness/..%2Fstore.db"); r.code != http.StatusNotFound {
		t.Errorf("a file outside the protocols: %d", r.code)
	}
	// A scan running on the seat keeps the scanner.
	if r := op.post("/scan/start", url.Values{"csrf": {tok}, "place": {"0101/0012"}, "device": {scanStack}}); r.code != http.StatusOK && r.code != http.StatusAccepted {
		t.Fatalf("start: %d %s", r.code, r.body)
	}
	if code, a := op.readiness(tok, scanStack); code != http.StatusConflict || !strings.Contains(a.Message, "Сканер занят") {
		t.Errorf("check during a scan: %d %+v", code, a)
	}
	op.post("/scan/stop", url.Values{"csrf": {tok}})
}
