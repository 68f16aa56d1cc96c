package web

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	_ "giascan/hardware/folder" // the scanner's own software drops the signed act into a folder
	"giascan/station/acts"
	"giascan/station/audit"
	"giascan/station/users"
)

// Bad input on the acts page is refused with a Russian sentence, keeps
// what was typed and writes nothing.
func TestActsBadInput(t *testing.T) {
	s := newScanned(t)
	c := s.client(t)
	c.mustSignIn("oper")
	path := "/acts/" + s.place.PPE
	tok := c.token(path)
	for _, tc := range []struct {
		name string
		form url.Values
		want string
	}{
		{"unknown kind", url.Values{"kind": {"flood"}, "text": {"вода на полу"}}, `Вид нештатной ситуации "flood" неизвестен`},
		{"empty text", url.Values{"kind": {acts.KindPower}, "text": {" "}}, "Не описаны обстоятельства"},
		{"foreign auditorium", url.Values{"kind": {acts.KindPower}, "text": {"свет"}, "auditorium": {"0555"}}, `Аудитории "0555" нет в ППЭ`},
	} {
		tc.form.Set("csrf", tok)
		r := c.post(path+"/incident", tc.form)
		body := strings.ReplaceAll(r.body, "&#34;", `"`)
		if r.code != http.StatusUnprocessableEntity || !strings.Contains(r.body, "Ничего не изменено") {
			t.Errorf("%s: %d %s", tc.name, r.code, r.body)
		}
		if !strings.Contains(body, tc.want) {
			t.Errorf("%s: page lacks %q", tc.name, tc.want)
		}
	}
	if got, _ := s.app.Acts().Incidents(s.place.PPE); len(got) != 0 {
		t.Errorf("refused input left acts: %v", got)
	}
	r := c.post(path+"/acceptance", url.Values{"csrf": {tok}, "envelopes": {"два"}})
	if r.code != http.StatusUnprocessableEntity || !strings.Contains(r.body, "не число") {
		t.Errorf("letters for a count: %d %s", r.code, r.body)
	}
	if r := c.get("/acts/9999"); r.code != http.StatusNotFound || !strings.Contains(r.body, "нет в файле экзамена") {
		t.Errorf("wrong ППЭ: %d %s", r.code, r.body)
	}
	// The operator may not sign.
	if r := c.post(path+"/incident/1/sign", url.Values{"csrf": {tok}}); r.code != http.StatusForbidden {
		t.Errorf("operator signing: %d", r.code)
	}
}

// TestBrowserIncidentFiledAndSigned: the operator files an incident from
// the auditorium page (first without saying what happened, and is told),
// makes the acceptance act and the list of removed participants; the head
// signs the incident once. Screenshots: test-output/ui/acts-*.png.
func TestBrowserIncidentFiledAndSigned(t *testing.T) {
	needBrowser(t)
	s := newScanned(t)
	base := s.http.URL
	br := startBrowser(t, base, 60*time.Second)
	var refused, filed, signed, again, acceptance string
	err := chromedp.Do(br.ctx,
		br.signIn("oper"),
		chromedp.Navigate(base+auditoriumURL(s.place)),
		chromedp.WaitVisible(chromedp.CSS("#incident-link")),
		chromedp.Click(chromedp.CSS("#incident-link")),
		chromedp.WaitVisible(chromedp.CSS("#incident-form")),
		chromedp.SetValue(chromedp.CSS("#incident-kind"), acts.KindPackaging),
		chromedp.Click(chromedp.CSS("#incident-save")),
		chromedp.WaitVisible(chromedp.CSS("#error")),
		into(&refused, chromedp.Text(chromedp.CSS("#error"))),
		br.shot("acts-01-incident-refused.png"),
		chromedp.SendKeys(chromedp.CSS("#incident-text"), "Доставочный пакет аудитории вскрыт, пломба сорвана. Бланки пересчитаны: все на месте."),
		chromedp.Click(chromedp.CSS("#incident-save")),
		chromedp.WaitVisible(chromedp.CSS("#flash")),
		into(&filed, chromedp.Text(chromedp.CSS("#incident-list"))),
		br.shot("acts-02-incident-filed.png"),
		chromedp.SendKeys(chromedp.CSS("#acc-envelopes"), "1"),
		chromedp.SendKeys(chromedp.CSS("#acc-unused"), "2"),
		chromedp.SendKeys(chromedp.CSS("#acc-kim"), "9"),
		chromedp.Click(chromedp.CSS("#acceptance-make")),
		chromedp.WaitVisible(chromedp.CSS("#acceptance-state")),
		chromedp.Click(chromedp.CSS("#removed-make")),
		chromedp.WaitVisible(chromedp.CSS("#removed-state")),
		into(&acceptance, chromedp.Text(chromedp.CSS("main"))),
		br.shot("acts-03-acceptance-and-list.png"),
		chromedp.Click(chromedp.CSS("#logout")),
		chromedp.WaitVisible(chromedp.CSS("#info")),
		br.signIn("head"),
		chromedp.Navigate(base+"/acts/"+s.place.PPE),
		chromedp.WaitVisible(chromedp.CSS("#sign-1")),
		br.shot("acts-04-head-before-signing.png"),
		chromedp.Click(chromedp.CSS("#sign-1")),
		chromedp.WaitVisible(chromedp.CSS("#signed-1")),
		into(&signed, chromedp.Text(chromedp.CSS("#signed-1"))),
		br.shot("acts-05-head-signed.png"),
	)
	if err != nil {
		t.Fatalf("browser: %v\naudit log:\n%s", err, s.auditText(t))
	}
	if !strings.Contains(refused, "Не описаны обстоятельства") {
		t.Errorf("empty text: %q", refused)
	}
	if !strings.Contains(filed, "повреждение доставочной упаковки") || !strings.Contains(filed, "ждёт подписи руководителя") {
		t.Errorf("filed: %q", filed)
	}
	if !strings.Contains(acceptance, "Принято конвертов с бланками: 1, а аудиторий в файле экзамена: 2") || !strings.Contains(acceptance, "бланков с отметками") {
		t.Errorf("acceptance and list:\n%s", acceptance)
	}
	if !strings.Contains(signed, "подписан: head") {
		t.Errorf("signed: %q", signed)
	}
	// Signing again keeps the one signature.
	in, first, err := s.app.SignIncident(br.ctx, "head", users.Head, s.place.PPE, 1, "web")
	again = in.Signed.By
	if err != nil || first || again != "head" {
		t.Errorf("second signature: %v %v %q", first, err, again)
	}
	log := s.auditText(t)
	for _, a := range []string{audit.ActionActIncident, audit.ActionActIncidentSign, audit.ActionActAcceptance, audit.ActionActRemoved} {
		if !strings.Contains(log, `"`+a+`"`) {
			t.Errorf("audit log lacks %s", a)
		}
	}
}

// The signed acceptance act comes back through the scanning screen (here
// a folder the scanner's own software fills) and is matched; a page that
// is no acceptance act, loaded on the acts page, is refused.
func TestAcceptanceScannedBack(t *testing.T) {
	if _, err := exec.LookPath("pdftoppm"); err != nil {
		t.Skip("pdftoppm is not installed")
	}
	s := newScanned(t)
	_, pdf, err := s.app.MakeAcceptance(context.Background(), "oper", users.Operator, s.place.PPE, acts.Received{Envelopes: 2})
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	os.WriteFile(filepath.Join(tmp, "act.pdf"), pdf, 0o600)
	tray := filepath.Join(tmp, "tray")
	os.MkdirAll(tray, 0o750)
	if b, err := exec.Command("pdftoppm", "-r", "200", "-gray", "-png", "-singlefile", filepath.Join(tmp, "act.pdf"), filepath.Join(tray, "0001")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v %s", err, b)
	}
	spec := "folder:" + tray + ",settle=300ms"
	s.srv.cfg.Devices = []string{spec}
	c := s.client(t)
	c.mustSignIn("oper")

	// A БО №1 scan is not the act.
	page := s.page(t, 1)
	img, _ := s.st.Image(page)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("csrf", c.token("/acts/"+s.place.PPE))
	fw, _ := mw.CreateFormFile("scan", "bo1."+page.Format)
	fw.Write(img)
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, s.http.URL+"/acts/"+s.place.PPE+"/acceptance/match", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if r := c.do(req); r.code != http.StatusUnprocessableEntity || !strings.Contains(r.body, "не распознана как акт приёмки-передачи") {
		t.Errorf("БО №1 as the act: %d %s", r.code, r.body)
	}
	// A file over the limit is refused whole, and nothing changes.
	huge := make([]byte, maxBodyBytes+1)
	copy(huge, img)
	if r := c.postFile("/acts/"+s.place.PPE+"/acceptance/match", url.Values{"csrf": {c.token("/acts/" + s.place.PPE)}}, "scan", "huge."+page.Format, huge); r.code != http.StatusRequestEntityTooLarge || !strings.Contains(r.body, "до 5 МБ") {
		t.Errorf("a 5 MB file as the act: %d %s", r.code, r.body)
	}

	r := c.post("/scan/acceptance", url.Values{"csrf": {c.token("/scan")}, "ppe": {s.place.PPE}, "device": {spec}})
	if r.code != http.StatusOK || !strings.Contains(r.body, "сверен и сохранён") {
		t.Fatalf("scan back: %d %s", r.code, r.body)
	}
	got, err := s.app.PPEActs(s.place.PPE)
	if err != nil || got.Acceptance.Signed == nil || got.Acceptance.Signed.Via != "scan" {
		t.Fatalf("after the scan: %+v %v", got.Acceptance, err)
	}
	if _, err := os.Stat(s.app.Acts().Path(s.place.PPE, got.Acceptance.Signed.Scan)); err != nil {
		t.Errorf("signed scan not kept: %v", err)
	}
	if !strings.Contains(s.auditText(t), `"`+audit.ActionActAcceptanceMatch+`"`) {
		t.Error("audit log lacks the match")
	}
}
