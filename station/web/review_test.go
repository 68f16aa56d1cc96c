package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"giascan/forms"
	"giascan/hardware"
	"giascan/hardware/sim"
	"giascan/station/audit"
	"giascan/station/exam"
	"giascan/station/ops"
	"giascan/station/reconcile"
	"giascan/station/store"
)

// scanned is a fixture whose store holds one simulated auditorium as the
// scanner would leave it: every sheet of the first auditorium recognised
// (the simulator's truth), one sheet fed twice (a duplicate scan, the last
// page) and one digit field of page 1 waiting for review.
type scanned struct {
	*fixture
	place  store.Place
	dup    int    // the duplicate scan's page
	field  string // the field of page 1 waiting for review
	value  string // its recognised value
	fields []string
}

func newScanned(t *testing.T) *scanned {
	t.Helper()
	f := newFixture(t)
	planned, err := sim.Plan(1, 10)
	if err != nil {
		t.Fatal(err)
	}
	id := planned[0].ID
	place := store.Place{PPE: id.PPE, Auditorium: id.Auditorium}
	var kits []string
	var sheets []sim.Sheet
	for _, s := range planned {
		if s.ID.PPE != id.PPE || s.ID.Auditorium != id.Auditorium {
			continue
		}
		sheets = append(sheets, s)
		if s.ID.Type == forms.TypeBO1 {
			kits = append(kits, s.ID.Kit)
		}
	}
	exJSON, _ := json.Marshal(map[string]any{"level": id.Level, "subject": id.Subject, "region": id.Region,
		"date": id.Date[:4] + "-" + id.Date[4:6] + "-" + id.Date[6:],
		"ppe": []any{map[string]any{"code": id.PPE, "auditoriums": []any{
			map[string]any{"number": id.Auditorium, "kits": kits},
			map[string]any{"number": "0099"},
		}}}})
	ex, err := exam.Parse(exJSON)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.st.SetExam(ex); err != nil {
		t.Fatal(err)
	}
	add := func(s sim.Sheet, dpi int) store.Page {
		sc, err := sim.Render(s, sim.Settings{Profile: sim.Clean, DPI: dpi, Mode: sim.ModeGray})
		if err != nil {
			t.Fatal(err)
		}
		rec, dup, err := f.st.Add(context.Background(), place, hardware.Page{Seq: 1, Data: sc.Data, Format: sc.Format, DPI: sc.DPI,
			Side: hardware.Front, Name: fmt.Sprintf("%04d.%s", s.Index+1, sc.Ext)}, "sim")
		if err != nil || dup {
			t.Fatalf("add sheet %d: %v dup=%v", s.Index, err, dup)
		}
		res := sc.Truth
		res.File = rec.File
		if err := f.st.SetResult(rec.Ref, rec.Rev, res); err != nil {
			t.Fatal(err)
		}
		rec.Result = &res
		return rec
	}
	sc := &scanned{fixture: f, place: place}
	var first store.Page
	for i, s := range sheets {
		p := add(s, 100)
		if i == 0 {
			first = p
		}
	}
	sc.dup = add(sheets[1], 110).Seq
	// Plant a review item on page 1: a digit field the recognizer was
	// unsure of.
	res := *first.Result
	for _, k := range sortedKeys(res.Digits) {
		if res.Digits[k] != "" && !strings.Contains(res.Digits[k], "?") {
			sc.field, sc.value = k, res.Digits[k]
			break
		}
	}
	if sc.field == "" {
		t.Fatalf("page 1 has no digit field to review: %v", res.Digits)
	}
	res.Review, res.NeedsReview = []string{sc.field}, true
	if err := f.st.SetResult(first.Ref, first.Rev, res); err != nil {
		t.Fatal(err)
	}
	return sc
}

func (s *scanned) ref(seq int) store.Ref { return store.Ref{Place: s.place, Seq: seq} }

func (s *scanned) page(t *testing.T, seq int) store.Page {
	t.Helper()
	p, err := s.st.Page(s.ref(seq))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (s *scanned) problems(t *testing.T) []string {
	t.Helper()
	rep, err := ops.Report(s.st)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range ops.FindAuditorium(rep, s.place).Problems {
		out = append(out, fmt.Sprintf("%s:%d", p.Kind, p.Seq))
	}
	return out
}

func (s *scanned) pagePath(seq int) string { return pageURL(s.ref(seq)) }

func TestReviewQueueConfirmAndCorrect(t *testing.T) {
	s := newScanned(t)
	c := s.client(t)
	c.mustSignIn("oper")
	r := c.get("/review")
	if r.code != http.StatusOK || !strings.Contains(r.body, "«"+s.value+"»") || !strings.Contains(r.body, s.pagePath(1)+"/image") {
		t.Fatalf("queue: %d\n%s", r.code, r.body)
	}
	if img := c.get(s.pagePath(1) + "/image"); img.code != http.StatusOK || len(img.body) < 1000 {
		t.Errorf("page image: %d, %d bytes", img.code, len(img.body))
	}
	tok := c.token("/review")
	form := url.Values{"csrf": {tok}, "ppe": {s.place.PPE}, "aud": {s.place.Auditorium}, "seq": {"1"}, "rev": {"0"}, "field": {s.field}}

	// Without the token nothing changes.
	noTok := url.Values{}
	for k, v := range form {
		if k != "csrf" {
			noTok[k] = v
		}
	}
	if r := c.post("/review", noTok); r.code != http.StatusForbidden {
		t.Errorf("review without CSRF: %d", r.code)
	}
	if p := s.page(t, 1); !p.Result.NeedsReview {
		t.Error("review without CSRF changed the page")
	}
	// Letters in a digit field are refused in Russian.
	bad := url.Values{}
	for k, v := range form {
		bad[k] = v
	}
	bad.Set("value", "12а")
	if r := c.post("/review", bad); r.code != http.StatusUnprocessableEntity || !strings.Contains(r.body, "не цифры") {
		t.Errorf("letters in a digit field: %d\n%s", r.code, r.body)
	}
	// Enter on an empty value confirms.
	if r := c.post("/review", form); r.code != http.StatusSeeOther {
		t.Fatalf("confirm: %d\n%s", r.code, r.body)
	}
	p := s.page(t, 1)
	if p.Result.NeedsReview || p.Result.Digits[s.field] != s.value {
		t.Errorf("after confirm: needs %v, %s=%q", p.Result.NeedsReview, s.field, p.Result.Digits[s.field])
	}
	if r := c.get("/review"); !strings.Contains(r.body, `id="queue-empty"`) {
		t.Errorf("queue after confirm:\n%s", r.body)
	}
	if !strings.Contains(s.auditText(t), `"review.confirm"`) && !strings.Contains(s.auditText(t), "confirm") {
		t.Error("confirm not in the audit log")
	}
}

func TestReviewOnDeletedPageRefused(t *testing.T) {
	s := newScanned(t)
	c := s.client(t)
	c.mustSignIn("oper")
	tok := c.token("/review")
	// Another person deletes page 1 after the queue was shown.
	if _, err := ops.New(s.st, s.log, nil).Delete("head", s.ref(1), "повторный скан"); err != nil {
		t.Fatal(err)
	}
	r := c.post("/review", url.Values{"csrf": {tok}, "ppe": {s.place.PPE}, "aud": {s.place.Auditorium}, "seq": {"1"}, "rev": {"0"},
		"field": {s.field}, "value": {"1"}})
	if r.code != http.StatusConflict || !strings.Contains(r.body, "только что удалена другим пользователем") {
		t.Errorf("review of a deleted page: %d\n%s", r.code, r.body)
	}
	if p := s.page(t, 1); p.Result.Digits[s.field] != s.value {
		t.Errorf("refused review changed the value to %q", p.Result.Digits[s.field])
	}
}

func TestPageViewerDeleteNeedsReasonAndConfirmation(t *testing.T) {
	s := newScanned(t)
	c := s.client(t)
	c.mustSignIn("oper")
	path := s.pagePath(s.dup)
	r := c.get(path)
	if r.code != http.StatusOK || !strings.Contains(r.body, "<rect class=") || !strings.Contains(r.body, "Штрихкод") {
		t.Fatalf("viewer: %d\n%s", r.code, r.body)
	}
	tok := c.token(path)
	if r := c.post(path+"/delete", url.Values{"reason": {"повторный скан"}, "confirmed": {"yes"}}); r.code != http.StatusForbidden {
		t.Errorf("delete without CSRF: %d", r.code)
	}
	if r := c.post(path+"/delete", url.Values{"csrf": {tok}, "reason": {" "}, "confirmed": {"yes"}}); r.code != http.StatusUnprocessableEntity ||
		!strings.Contains(r.body, "Не указана причина удаления") {
		t.Errorf("delete without reason: %d\n%s", r.code, r.body)
	}
	r = c.post(path+"/delete", url.Values{"csrf": {tok}, "reason": {"повторный скан"}})
	if r.code != http.StatusOK || !strings.Contains(r.body, `id="confirm-delete"`) {
		t.Errorf("delete asks for confirmation: %d\n%s", r.code, r.body)
	}
	if s.page(t, s.dup).Status != store.Active {
		t.Fatal("page deleted before confirmation or without a token")
	}
	if !slices.Contains(s.problems(t), reconcile.KindDuplicateScan+":"+fmt.Sprint(s.dup)) {
		t.Errorf("planted duplicate not reported: %v", s.problems(t))
	}
	r = c.post(path+"/delete", url.Values{"csrf": {tok}, "reason": {"повторный скан"}, "confirmed": {"yes"}, "rev": {"0"}})
	if r.code != http.StatusSeeOther {
		t.Fatalf("confirmed delete: %d\n%s", r.code, r.body)
	}
	if p := s.page(t, s.dup); p.Status != store.Deleted || p.Reason != "повторный скан" {
		t.Errorf("after delete: %s %q", p.Status, p.Reason)
	}
	if slices.Contains(s.problems(t), reconcile.KindDuplicateScan+":"+fmt.Sprint(s.dup)) {
		t.Errorf("duplicate still reported: %v", s.problems(t))
	}
	// A second delete of the same page says it is gone and changes nothing.
	if r := c.post(path+"/delete", url.Values{"csrf": {tok}, "reason": {"ещё раз"}, "confirmed": {"yes"}}); r.code != http.StatusConflict ||
		!strings.Contains(r.body, "удалена") {
		t.Errorf("delete of a deleted page: %d\n%s", r.code, r.body)
	}
}

func TestMoveRefusesBadAuditoriumAndIdentifyChecksLuhn(t *testing.T) {
	s := newScanned(t)
	c := s.client(t)
	c.mustSignIn("oper")
	path := s.pagePath(2)
	tok := c.token(path)
	before := s.page(t, 2)
	r := c.post(path+"/move", url.Values{"csrf": {tok}, "to": {"00991"}})
	if r.code != http.StatusUnprocessableEntity || !strings.Contains(r.body, "нужно ровно 4 цифры") {
		t.Errorf("5-digit auditorium: %d\n%s", r.code, r.body)
	}
	r = c.post(path+"/identify", url.Values{"csrf": {tok}, "barcode": {before.Result.Barcode[:12] + fmt.Sprint((int(before.Result.Barcode[12]-'0')+1)%10)}, "kit": {before.Result.Context.Kit}})
	if r.code != http.StatusUnprocessableEntity || !strings.Contains(r.body, "неверная контрольная цифра") {
		t.Errorf("bad check digit: %d\n%s", r.code, r.body)
	}
	if after := s.page(t, 2); after.Status != store.Active || after.Result.Barcode != before.Result.Barcode {
		t.Error("a refused correction changed the page")
	}
	if pages, _ := s.st.Pages(store.Place{PPE: s.place.PPE, Auditorium: "0099"}); len(pages) != 0 {
		t.Error("a refused move added a page")
	}
	// A good move goes through ops: the page is in 0099 and gone here.
	r = c.post(path+"/move", url.Values{"csrf": {tok}, "to": {"0099"}, "reason": {"лист другой аудитории"}})
	if r.code != http.StatusSeeOther {
		t.Fatalf("move: %d\n%s", r.code, r.body)
	}
	if pages, _ := s.st.Pages(store.Place{PPE: s.place.PPE, Auditorium: "0099"}); len(pages) != 1 || s.page(t, 2).Status != store.Deleted {
		t.Errorf("after move: %d pages in 0099, source %s", len(pages), s.page(t, 2).Status)
	}
}

func TestCloseNeedsReasonAndSignOffIsHeadOnly(t *testing.T) {
	s := newScanned(t)
	oper := s.client(t)
	oper.mustSignIn("oper")
	aud := auditoriumURL(s.place)
	tok := oper.token(aud)
	if r := oper.post("/auditorium/close", url.Values{"ppe": {s.place.PPE}, "aud": {s.place.Auditorium}, "reason": {"x"}, "confirmed": {"yes"}}); r.code != http.StatusForbidden {
		t.Errorf("close without CSRF: %d", r.code)
	}
	r := oper.post("/auditorium/close", url.Values{"csrf": {tok}, "ppe": {s.place.PPE}, "aud": {s.place.Auditorium}})
	if r.code != http.StatusUnprocessableEntity || !strings.Contains(r.body, "укажите причину закрытия") {
		t.Errorf("close with problems and no reason: %d\n%s", r.code, r.body)
	}
	if cl, _ := s.st.Closures(); len(cl) != 0 {
		t.Fatal("refused close closed the auditorium")
	}
	// With a reason, closing with problems is asked once more; only the
	// confirmation closes.
	r = oper.post("/auditorium/close", url.Values{"csrf": {tok}, "ppe": {s.place.PPE}, "aud": {s.place.Auditorium}, "reason": {"ППЭ-13-02-МАШ сдана на бумаге"}})
	if r.code != http.StatusOK || !strings.Contains(r.body, `id="confirm-close"`) || !strings.Contains(r.body, "Закрыть аудиторию с проблемами") ||
		!strings.Contains(r.body, `name="reason" value="ППЭ-13-02-МАШ сдана на бумаге"`) {
		t.Errorf("close with problems and a reason, unconfirmed: %d\n%s", r.code, r.body)
	}
	if cl, _ := s.st.Closures(); len(cl) != 0 {
		t.Fatal("an unconfirmed close closed the auditorium")
	}
	// Signing before the auditoriums are closed is refused, even for the head.
	head := s.client(t)
	head.mustSignIn("head")
	sp := "/signoff/" + s.place.PPE
	htok := head.token(sp)
	if r := head.post(sp, url.Values{"csrf": {htok}, "agree": {"yes"}}); r.code != http.StatusConflict || !strings.Contains(r.body, "Не закрыты аудитории") {
		t.Errorf("sign with open auditoriums: %d\n%s", r.code, r.body)
	}
	for _, a := range []string{s.place.Auditorium, "0099"} {
		r := oper.post("/auditorium/close", url.Values{"csrf": {tok}, "ppe": {s.place.PPE}, "aud": {a}, "reason": {"ППЭ-13-02-МАШ сдана на бумаге"}, "confirmed": {"yes"}})
		if r.code != http.StatusSeeOther {
			t.Fatalf("close %s: %d\n%s", a, r.code, r.body)
		}
	}
	if r := head.get(sp); !strings.Contains(r.body, `id="closed-with-problems-`+s.place.Auditorium+`"`) || !strings.Contains(r.body, "открыть заново") {
		t.Errorf("the head's sign-off page does not point out the closing with problems:\n%s", r.body)
	}
	if r := oper.get(sp); r.code != http.StatusOK || !strings.Contains(r.body, `id="no-sign"`) {
		t.Errorf("operator's sign-off page: %d\n%s", r.code, r.body)
	}
	if r := oper.post(sp, url.Values{"csrf": {tok}, "agree": {"yes"}}); r.code != http.StatusForbidden || !strings.Contains(r.body, "Недостаточно прав") {
		t.Errorf("operator signs: %d\n%s", r.code, r.body)
	}
	if strings.Contains(s.auditText(t), `"`+audit.ActionProtocolSign+`"`) {
		t.Fatal("operator's refused sign-off was recorded as signed")
	}
	if r := head.post(sp, url.Values{"agree": {"yes"}}); r.code != http.StatusForbidden {
		t.Errorf("sign without CSRF: %d", r.code)
	}
	// Signing a protocol never printed is refused: the head signs what
	// was printed over the sealed packages.
	if r := head.post(sp, url.Values{"csrf": {htok}, "agree": {"yes"}}); r.code != http.StatusConflict || !strings.Contains(r.body, "не распечатан") {
		t.Fatalf("head signs before printing: %d\n%s", r.code, r.body)
	}
	if r := head.post(sp+"/print", url.Values{"csrf": {htok}}); r.code != http.StatusSeeOther {
		t.Fatalf("head prints: %d\n%s", r.code, r.body)
	}
	// Looking at the printed protocol spends no serial and writes nothing.
	pr := head.get(sp + "/ppe15.pdf")
	if pr.code != http.StatusOK || !strings.HasPrefix(pr.body, "%PDF") {
		t.Fatalf("printed protocol: %d", pr.code)
	}
	if again := head.get(sp + "/ppe15.pdf"); again.body != pr.body {
		t.Error("a second look at the protocol gave another PDF: viewing must not print")
	}
	if r := head.post(sp, url.Values{"csrf": {htok}, "agree": {"yes"}}); r.code != http.StatusSeeOther {
		t.Fatalf("head signs: %d\n%s", r.code, r.body)
	}
	if r := head.post(sp, url.Values{"csrf": {htok}, "agree": {"yes"}}); r.code != http.StatusSeeOther || !strings.Contains(head.get(r.location).body, "подпись одна") {
		t.Errorf("signing twice: %d %s", r.code, r.location)
	}
	log := s.auditText(t)
	if !strings.Contains(log, `"`+audit.ActionProtocolSign+`"`) || !strings.Contains(log, `"head"`) {
		t.Errorf("sign-off not in the audit log:\n%s", log)
	}
	if n := strings.Count(log, `"`+audit.ActionProtocolSign+`"`); n != 1 {
		t.Errorf("signed twice: %d sign-off entries, want 1", n)
	}
}

func TestReviewOnReplacedPageRefusedAndProtocolPreview(t *testing.T) {
	s := newScanned(t)
	c := s.client(t)
	c.mustSignIn("oper")
	tok := c.token("/review")
	// Someone replaced page 1 with a new image since the queue was shown:
	// the form carries revision 0, the page is now at 1.
	img, err := s.st.Image(s.page(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ops.New(s.st, s.log, nil).Replace(context.Background(), "head", s.ref(1),
		hardware.Page{Seq: 1, Data: append(img, 0), Format: s.page(t, 1).Format, Side: hardware.Front, Name: "new.png"}, "пересканирована"); err != nil {
		t.Fatal(err)
	}
	r := c.post("/review", url.Values{"csrf": {tok}, "ppe": {s.place.PPE}, "aud": {s.place.Auditorium}, "seq": {"1"}, "rev": {"0"}, "field": {s.field}})
	if r.code != http.StatusConflict || !strings.Contains(r.body, "только что заменена") {
		t.Errorf("review of a replaced page: %d\n%s", r.code, r.body)
	}
	// The ППЭ-15 preview is the head's; without sealed packages and keys
	// the head is told what to do.
	sp := "/signoff/" + s.place.PPE + "/ppe15.pdf"
	if r := c.get(sp); r.code != http.StatusForbidden {
		t.Errorf("operator's protocol preview: %d", r.code)
	}
	head := s.client(t)
	head.mustSignIn("head")
	if r := head.get(sp); r.code != http.StatusConflict || !strings.Contains(r.body, "Протокол не сформирован") {
		t.Errorf("head's protocol preview without packages: %d\n%s", r.code, r.body)
	}
}

// Closing seals at once and the board and the auditorium page say so; a
// closed auditorium is reopened by the head only, with a reason, and
// pages then go in again.
func TestClosedAuditoriumShowsItsStateAndOnlyTheHeadReopens(t *testing.T) {
	s := newScanned(t)
	oper := s.client(t)
	oper.mustSignIn("oper")
	aud := auditoriumURL(s.place)
	tok := oper.token(aud)
	if r := oper.post("/auditorium/close", url.Values{"csrf": {tok}, "ppe": {s.place.PPE}, "aud": {s.place.Auditorium}, "reason": {"форма на бумаге"}, "confirmed": {"yes"}}); r.code != http.StatusSeeOther {
		t.Fatalf("close: %d\n%s", r.code, r.body)
	}
	board := oper.get("/")
	if !strings.Contains(board.body, `id="life-`+s.place.Auditorium+`"`) || !strings.Contains(board.body, "пакет запечатан") {
		t.Errorf("the board does not show the sealed package:\n%s", board.body)
	}
	page := oper.get(aud)
	if !strings.Contains(page.body, `id="aud-state"`) || !strings.Contains(page.body, "v1") || strings.Contains(page.body, `id="reopen-form"`) {
		t.Errorf("auditorium page for the operator after closing:\n%s", page.body)
	}
	// The operator cannot reopen, even by a forged form.
	if r := oper.post("/auditorium/reopen", url.Values{"csrf": {tok}, "ppe": {s.place.PPE}, "aud": {s.place.Auditorium}, "reason": {"x"}}); r.code != http.StatusForbidden {
		t.Errorf("operator reopens: %d", r.code)
	}
	head := s.client(t)
	head.mustSignIn("head")
	htok := head.token(aud)
	if !strings.Contains(head.get(aud).body, `id="reopen-form"`) {
		t.Error("the head is not offered to reopen a closed auditorium")
	}
	if r := head.post("/auditorium/reopen", url.Values{"csrf": {htok}, "ppe": {s.place.PPE}, "aud": {s.place.Auditorium}, "reason": {" "}}); r.code != http.StatusUnprocessableEntity || !strings.Contains(r.body, "указана причина") {
		t.Errorf("reopen without a reason: %d\n%s", r.code, r.body)
	}
	if cl, _ := s.st.Closures(); len(cl) != 1 {
		t.Fatal("a refused reopen opened the auditorium")
	}
	if r := head.post("/auditorium/reopen", url.Values{"csrf": {htok}, "ppe": {s.place.PPE}, "aud": {s.place.Auditorium}, "reason": {"найден лист 2"}}); r.code != http.StatusSeeOther {
		t.Fatalf("reopen: %d\n%s", r.code, r.body)
	}
	if cl, _ := s.st.Closures(); len(cl) != 0 {
		t.Fatal("the auditorium is still closed after reopening")
	}
	if log := s.auditText(t); !strings.Contains(log, `"`+audit.ActionAuditoriumReopen+`"`) || !strings.Contains(log, "найден лист 2") {
		t.Errorf("reopening is not in the audit log")
	}
}

// The РЦОИ and the keys are set in the browser; the delivery page and the
// audit log show what happened, in Russian.
func TestSettingsDeliveryAndAuditPages(t *testing.T) {
	s := newScanned(t)
	oper := s.client(t)
	oper.mustSignIn("oper")
	if r := oper.get("/settings"); r.code != http.StatusForbidden {
		t.Errorf("operator's settings: %d", r.code)
	}
	admin := s.client(t)
	admin.mustSignIn("admin")
	page := admin.get("/settings")
	if page.code != http.StatusOK || !strings.Contains(page.body, `id="fingerprint"`) || !strings.Contains(page.body, `id="no-rcoi"`) {
		t.Fatalf("settings: %d\n%s", page.code, page.body)
	}
	tok := admin.token("/settings")
	if r := admin.post("/settings/key", url.Values{"csrf": {tok}}); r.code != http.StatusConflict || !strings.Contains(r.body, "уже создан") {
		t.Errorf("second station key: %d", r.code)
	}
	if r := admin.post("/settings/rcoi", url.Values{"csrf": {tok}, "url": {"rcoi.example"}, "key": {"ed25519:xx"}}); r.code != http.StatusUnprocessableEntity || !strings.Contains(r.body, "приёмника РЦОИ") {
		t.Errorf("bad РЦОИ address: %d\n%s", r.code, r.body)
	}
	if _, _, ok, _ := s.app.RCOI(); ok {
		t.Fatal("a refused РЦОИ address was saved")
	}
	key := "ed25519:" + strings.Repeat("A", 43) + "="
	if r := admin.post("/settings/rcoi", url.Values{"csrf": {tok}, "url": {"https://127.0.0.1:9"}, "key": {key}}); r.code != http.StatusSeeOther {
		t.Fatalf("РЦОИ address: %d\n%s", r.code, r.body)
	}
	if r, _, ok, _ := s.app.RCOI(); !ok || r.URL != "https://127.0.0.1:9" || r.By != "admin" {
		t.Errorf("РЦОИ after saving: %+v %v", r, ok)
	}
	// Closing seals; the delivery page lists the package.
	otok := oper.token(auditoriumURL(s.place))
	if r := oper.post("/auditorium/close", url.Values{"csrf": {otok}, "ppe": {s.place.PPE}, "aud": {s.place.Auditorium}, "reason": {"x"}, "confirmed": {"yes"}}); r.code != http.StatusSeeOther {
		t.Fatalf("close: %d", r.code)
	}
	d := oper.get("/delivery/" + s.place.PPE)
	if d.code != http.StatusOK || !strings.Contains(d.body, "-v1") || !strings.Contains(d.body, "аудитория "+s.place.Auditorium) {
		t.Errorf("delivery page:\n%s", d.body)
	}
	head := s.client(t)
	head.mustSignIn("head")
	a := head.get("/audit?ppe=" + s.place.PPE)
	if a.code != http.StatusOK || !strings.Contains(a.body, `id="chain-ok"`) || !strings.Contains(a.body, "закрытие аудитории") || !strings.Contains(a.body, "запечатывание пакета") {
		t.Errorf("audit page:\n%s", a.body)
	}
	if strings.Contains(a.body, "auditorium.close") {
		t.Error("the audit page shows raw action names")
	}
	if r := oper.get("/audit"); r.code != http.StatusForbidden {
		t.Errorf("operator's audit page: %d", r.code)
	}
}
