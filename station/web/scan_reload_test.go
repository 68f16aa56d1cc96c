package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// A scanning screen opened or reloaded while a scan runs shows the
// auditorium, scanner and feed of that scan chosen — not the first
// entries of its lists — and so does the screen after the scan.
func TestScanScreenAfterReloadShowsTheScanAtWork(t *testing.T) {
	other := "sim:seed=5,count=3,profile=clean"
	f := newScanFixtureOf(t, other, scanStack)
	op := f.client(t)
	op.mustSignIn("oper")
	tok := op.token("/scan")
	page := op.get("/scan")
	if strings.Contains(page.body, `value="0101/0014" selected`) {
		t.Fatal("a place is chosen before any scan")
	}
	// The second place and the second scanner of the lists.
	start := url.Values{"csrf": {tok}, "place": {"0101/0014"}, "device": {scanStack}, "source": {"Duplex"}}
	if !strings.Contains(page.body, `<option value="`+scanStack+`"`) || strings.Index(page.body, `value="`+other+`"`) > strings.Index(page.body, `value="`+scanStack+`"`) {
		t.Fatalf("the fixture's scanners are not listed in order:\n%s", page.body)
	}
	if r := op.post("/scan/start", start); r.code != http.StatusAccepted {
		t.Fatalf("start: %d %s", r.code, r.body)
	}
	defer op.post("/scan/stop", url.Values{"csrf": {tok}})
	again := op.get("/scan")
	if again.code != http.StatusOK {
		t.Fatalf("reload: %d", again.code)
	}
	for _, want := range []string{`value="0101/0014" selected`, `value="` + scanStack + `" selected`, `value="Duplex" selected`, "Идёт сканирование"} {
		if !strings.Contains(again.body, want) {
			t.Errorf("the reloaded screen lacks %q", want)
		}
	}
	if strings.Contains(again.body, `value="`+other+`" selected`) {
		t.Error("the reloaded screen shows another scanner chosen")
	}
	op.post("/scan/stop", url.Values{"csrf": {tok}})
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := op.get("/scan")
		if !strings.Contains(r.body, "Идёт сканирование") {
			if !strings.Contains(r.body, `value="0101/0014" selected`) {
				t.Error("after the scan the screen forgets its auditorium")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the scan did not stop")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
