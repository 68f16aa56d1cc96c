package web

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"giascan/forms"
	"giascan/hardware"
	"giascan/hardware/sim"
	"giascan/station/audit"
	"giascan/station/store"
	"giascan/station/users"
)

// The exam day of the end-to-end test: a simulated stack of one
// auditorium (one participant's kit, then the forms ППЭ-13-02-МАШ,
// ППЭ-18-МАШ and ППЭ-15) whose 2nd sheet (БО №2 лист 1) is fed twice and
// whose 6th sheet (ППЭ-18-МАШ) has its codes smeared with ink.
const (
	e2eSeed   = 5
	e2eCount  = 7
	e2eDup    = 2 // sheet fed twice
	e2eSmudge = 6 // sheet that cannot be identified by its codes
)

var e2eStack = fmt.Sprintf("sim:seed=%d,count=%d,profile=clean,dupscan=%d,smudge=%d", e2eSeed, e2eCount, e2eDup, e2eSmudge)

// writeE2EExam writes the exam file that matches the simulated stack, as
// the demo command does: the first sheet's exam, its ППЭ and auditorium
// with the kits of the stack's БО №1.
func writeE2EExam(t *testing.T, sheets []sim.Sheet) string {
	t.Helper()
	id := sheets[0].ID
	var kits []string
	for _, s := range sheets {
		if s.ID.Type == forms.TypeBO1 {
			kits = append(kits, s.ID.Kit)
		}
	}
	b, err := json.MarshalIndent(map[string]any{"level": id.Level, "subject": id.Subject, "region": id.Region,
		"date": id.Date[:4] + "-" + id.Date[4:6] + "-" + id.Date[6:],
		"ppe": []any{map[string]any{"code": id.PPE, "auditoriums": []any{
			map[string]any{"number": id.Auditorium, "kits": kits},
		}}}}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "exam.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// paperValue is what a person reads on the paper for field of page seq:
// the simulator's truth, a mark as «да» or «нет» as the queue accepts it.
func paperValue(t *testing.T, sheets []sim.Sheet, seq int, field string) string {
	t.Helper()
	i := seq - 1
	if seq > e2eDup {
		i-- // the duplicate scan of sheet e2eDup is page e2eDup+1
	}
	if i < 0 || i >= len(sheets) {
		t.Fatalf("page %d is not a scan of the stack", seq)
	}
	sc, err := sim.Render(sheets[i], sim.Settings{Profile: sim.Clean, DPI: 100, Mode: sim.ModeGray})
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := sc.Truth.Digits[field]; ok {
		return v
	}
	switch sc.Truth.Marks[field] {
	case forms.MarkMarked:
		return "да"
	case forms.MarkEmpty:
		return "нет"
	}
	t.Fatalf("page %d (sheet %d, type %s) has no field %s", seq, i+1, sheets[i].ID.Type, field)
	return ""
}

// newE2EFixture is one server on one empty data folder that offers the
// simulated stack e2eStack; nothing is imported yet.
func newE2EFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	app, db := openApp(t, dir, map[string]users.Role{"head": users.Head, "oper": users.Operator})
	st, log := app.Store, app.Log
	clk := &testClock{t: time.Now()}
	srv, err := New(Config{App: app, Users: db, Now: clk.now, Devices: []string{e2eStack},
		ScanOptions: hardware.Options{DPI: 150, Mode: "lineart"}, ScanWorkers: 2})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	t.Cleanup(srv.Close) // runs first: a scan stops before the store closes
	return &fixture{app: app, dir: dir, st: st, log: log, srv: srv, http: hs, clock: clk}
}

// TestBrowserExamDay drives a headless Chromium through a whole exam day
// on one server and data folder: the head imports the exam; the operator
// scans the auditorium's stack from the simulated scanner, finds the
// planted duplicate scan and unreadable sheet on the auditorium page
// reached from the board, deletes the duplicate with its confirmation,
// identifies the sheet by the barcode typed from the paper, goes through
// the review queue; the head confirms the ППЭ-13-02-МАШ; the operator
// closes the auditorium and is refused the ППЭ-15 sign-off; the head
// signs it. Screenshots go to
// test-output/ui/3x-*.png.
func TestBrowserExamDay(t *testing.T) {
	needBrowser(t)
	started := time.Now()
	sheets, err := sim.Plan(e2eSeed, e2eCount)
	if err != nil {
		t.Fatal(err)
	}
	id := sheets[0].ID
	smudged := sheets[e2eSmudge-1].ID
	place := store.Place{PPE: id.PPE, Auditorium: id.Auditorium}
	examPath := writeE2EExam(t, sheets)
	f := newE2EFixture(t)
	base := f.http.URL
	br := startBrowser(t, base, 90*time.Second)
	bctx, shot := br.ctx, br.shot
	signIn := br.signIn
	poll := func(js string) chromedp.Action[chromedp.Void] {
		return into(new(bool), chromedp.Poll[bool](js, chromedp.WithPollingTimeout(40*time.Second)))
	}
	// A participant's blank needs its kit number too; a form has none.
	typeKit := func(kit string) chromedp.Action[chromedp.Void] {
		if kit == "" || kit == forms.NoKit {
			return chromedp.Steps()
		}
		return chromedp.SendKeys(chromedp.CSS(`#identify-form input[name="kit"]`), kit)
	}
	audCard := "#aud-" + place.Auditorium
	toAuditorium := chromedp.Steps(
		chromedp.Click(chromedp.CSS(`nav a[href="/"]`)),
		chromedp.WaitVisible(chromedp.CSS(audCard+" h3 a")),
		// The board's live update may replace the card between finding
		// its link and clicking it: click in the page, in one step.
		into(new(bool), chromedp.Evaluate[bool](fmt.Sprintf(`document.querySelector(%q).click(), true`, audCard+" h3 a"))),
		chromedp.WaitVisible(chromedp.CSS("#aud-status")),
	)
	step := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, actions...); err != nil {
			t.Fatalf("%s: %v\naudit log:\n%s", name, err, f.auditText(t))
		}
	}

	// 1. The head signs in and imports the exam file.
	var headBoard string
	step("import",
		signIn("head"),
		shot("3x-01-board-empty-head.png"),
		chromedp.Click(chromedp.CSS("#import-link")),
		chromedp.WaitVisible(chromedp.CSS("#import-form")),
		chromedp.SetUploadFiles(chromedp.CSS("#exam-file"), []string{examPath}),
		shot("3x-02-import-head.png"),
		chromedp.Click(chromedp.CSS("#import")),
		chromedp.WaitVisible(chromedp.CSS("#ppe-"+place.PPE)),
		into(&headBoard, chromedp.Text(chromedp.CSS("main"))),
		shot("3x-03-board-imported.png"),
		chromedp.Click(chromedp.CSS("#logout")),
		chromedp.WaitVisible(chromedp.CSS("#info")),
	)
	for _, want := range []string{"Экзамен импортирован", "ППЭ " + place.PPE, "Аудитория " + place.Auditorium, "Протокол ППЭ-15"} {
		if !strings.Contains(headBoard, want) {
			t.Errorf("board after import lacks %q:\n%s", want, headBoard)
		}
	}

	// 2. The operator scans the auditorium from the simulated scanner.
	var nav, rows, state string
	total := e2eCount + 1 // the duplicate is a page of its own
	step("scan",
		signIn("oper"),
		into(&nav, chromedp.Text(chromedp.CSS("nav"))),
		chromedp.Click(chromedp.CSS("#nav-scan")),
		chromedp.WaitVisible(chromedp.CSS("#scan-form")),
		chromedp.SetValue(chromedp.CSS("#place"), place.PPE+"/"+place.Auditorium),
		chromedp.SetValue(chromedp.CSS("#device"), e2eStack),
		shot("3x-04-scan-ready.png"),
		chromedp.Click(chromedp.CSS("#start")),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf("#page-%d", total))),
		poll(`document.getElementById("state").textContent.includes("завершено")`),
		into(&rows, chromedp.Text(chromedp.CSS("#pages"))),
		into(&state, chromedp.Text(chromedp.CSS("#state"))),
		shot("3x-05-scan-done.png"),
	)
	if !strings.Contains(nav, "Сканирование") || !strings.Contains(nav, "Проверка") || strings.Contains(nav, "Импорт") {
		t.Errorf("operator's navigation: %q", nav)
	}
	if !strings.Contains(rows, "Бланк ответов №1") || !strings.Contains(state, fmt.Sprintf("Сохранено за сеанс: %d", total)) {
		t.Errorf("scanned pages:\n%s\nstate: %s", rows, state)
	}

	// 3. The planted problems show on the auditorium page, reached from
	// the board; the duplicate scan is deleted from the page viewer.
	var problems, deleted string
	step("duplicate",
		toAuditorium,
		chromedp.WaitVisible(chromedp.CSS("li.p-duplicate_scan a")),
		into(&problems, chromedp.Text(chromedp.CSS("#problems"))),
		shot("3x-06-auditorium-problems.png"),
		chromedp.Click(chromedp.CSS("li.p-duplicate_scan a")),
		chromedp.WaitVisible(chromedp.CSS("#delete-form")),
		chromedp.Sleep(300*time.Millisecond), // the page's image
		shot("3x-07-page-duplicate.png"),
		chromedp.SendKeys(chromedp.CSS("#delete-reason"), "повторный скан"),
		chromedp.Click(chromedp.CSS("#delete")),
		chromedp.WaitVisible(chromedp.CSS("#confirm-delete")),
		shot("3x-08-delete-confirm.png"),
		chromedp.Click(chromedp.CSS("#delete-yes")),
		chromedp.WaitVisible(chromedp.CSS("#flash")),
		into(&deleted, chromedp.Text(chromedp.CSS("main"))),
		shot("3x-09-duplicate-deleted.png"),
	)
	for _, want := range []string{"лист отсканирован дважды", "лист не опознан"} {
		if !strings.Contains(problems, want) {
			t.Errorf("auditorium problems lack %q:\n%s", want, problems)
		}
	}
	if !strings.Contains(deleted, "удалена: повторный скан") {
		t.Errorf("after delete:\n%s", deleted)
	}

	// 4. Back on the auditorium page, the smudged sheet is identified by
	// the barcode typed from the paper.
	var identified, afterFix string
	step("identify",
		chromedp.WaitVisible(chromedp.CSS("li.p-unreadable a")),
		chromedp.Click(chromedp.CSS("li.p-unreadable a")),
		chromedp.WaitVisible(chromedp.CSS("#identify-form")),
		chromedp.SendKeys(chromedp.CSS("#identify-barcode"), smudged.Barcode),
		typeKit(smudged.Kit),
		chromedp.Sleep(300*time.Millisecond),
		shot("3x-10-page-unreadable.png"),
		chromedp.Click(chromedp.CSS("#identify")),
		chromedp.WaitVisible(chromedp.CSS("#flash")),
		into(&identified, chromedp.Text(chromedp.CSS("main"))),
		shot("3x-11-page-identified.png"),
		chromedp.Click(chromedp.CSS("#aud-link")),
		chromedp.WaitVisible(chromedp.CSS("#aud-status")),
		into(&afterFix, chromedp.Text(chromedp.CSS("main"))),
		shot("3x-12-auditorium-fixed.png"),
	)
	if !strings.Contains(identified, "Лист опознан по штрихкоду "+smudged.Barcode) {
		t.Errorf("after identify:\n%s", identified)
	}
	if strings.Contains(afterFix, "лист отсканирован дважды") || strings.Contains(afterFix, "лист не опознан") {
		t.Errorf("the fixed problems are still listed:\n%s", afterFix)
	}

	// 5. The review queue: every value waiting for a person is confirmed
	// with Enter until the queue is empty.
	step("review", chromedp.Click(chromedp.CSS("#nav-review")), chromedp.WaitVisible(chromedp.CSS("#queue")))
	reviewed := 0
	var typedAll []string
	for ; reviewed < 20; reviewed++ {
		var waiting bool
		step("review queue", into(&waiting, chromedp.Evaluate[bool](`document.querySelector(".value-input") !== null`)))
		if !waiting {
			break
		}
		if reviewed == 0 {
			step("review shot", chromedp.Sleep(300*time.Millisecond), shot("3x-13-review-queue.png"))
		}
		// The value on the paper: the simulator's truth for the sheet the
		// page is a scan of (the deleted duplicate shifts the rest by one).
		var item string
		step("review item", into(&item, chromedp.Evaluate[string](`(function(){var li=document.querySelector("li.item");`+
			`return [li.id, li.querySelector("input[name=seq]").value, li.querySelector("input[name=field]").value].join("|")})()`)))
		parts := strings.Split(item, "|")
		seq, field := 0, parts[2]
		fmt.Sscan(parts[1], &seq)
		typed := paperValue(t, sheets, seq, field)
		typedAll = append(typedAll, fmt.Sprintf("страница %d, %s: «%s»", seq, field, typed))
		step("confirm "+parts[0], chromedp.SendKeys(chromedp.CSS(`[id="`+parts[0]+`"] .value-input`), typed+"\r"),
			chromedp.WaitNotPresent(chromedp.CSS(`[id="`+parts[0]+`"]`)),
			chromedp.WaitVisible(chromedp.CSS("#queue")))
	}
	var queue string
	step("review done",
		chromedp.Navigate(base+"/review"),
		chromedp.WaitVisible(chromedp.CSS("#queue-empty")),
		into(&queue, chromedp.Text(chromedp.CSS("main"))),
		shot("3x-14-review-empty.png"),
	)
	if reviewed == 0 || !strings.Contains(queue, "Очередь проверки пуста") {
		t.Errorf("review queue: %d values entered, then:\n%s", reviewed, queue)
	}
	t.Logf("values entered in the review queue: %s", strings.Join(typedAll, "; "))

	// 6. The head confirms the scanned ППЭ-13-02-МАШ, reached from the
	// board: highlighted fields are typed from the paper form.
	var formSeq int
	var waiting []string
	var confirmed string
	step("form1302 open",
		chromedp.Click(chromedp.CSS("#logout")),
		chromedp.WaitVisible(chromedp.CSS("#info")),
		signIn("head"),
		chromedp.Click(chromedp.CSS("#form1302-"+place.PPE)),
		chromedp.WaitVisible(chromedp.CSS("#form1302")),
		into(&formSeq, chromedp.Evaluate[int](`Number(document.querySelector("#form1302 input[name=seq]").value)`)),
		into(&waiting, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("input.uncertain")).map(i => i.name)`)),
	)
	for _, field := range waiting {
		step("form1302 "+field, chromedp.SetValue(chromedp.CSS(`[id="f-`+field+`"]`), paperValue(t, sheets, formSeq, field)))
	}
	step("form1302 confirm",
		chromedp.Sleep(300*time.Millisecond), // the row images
		chromedp.Click(chromedp.CSS("#confirm")),
		chromedp.WaitVisible(chromedp.CSS("#flash")),
		into(&confirmed, chromedp.Text(chromedp.CSS("main"))),
		shot("3x-15-form1302.png"),
		chromedp.Click(chromedp.CSS("#logout")),
		chromedp.WaitVisible(chromedp.CSS("#info")),
		signIn("oper"),
	)
	if !strings.Contains(confirmed, "Данные ППЭ-13-02-МАШ подтверждены") {
		t.Errorf("form1302 confirmation (fields typed from paper: %v):\n%s", waiting, confirmed)
	}
	if all, err := f.st.Forms1302(); err != nil || all[place.PPE].By != "head" {
		t.Errorf("stored ППЭ-13-02-МАШ: %+v, %v", all, err)
	}

	// 7. The auditorium is closed: with the form confirmed every count
	// agrees, so no reason is asked.
	var closed, audPage string
	step("close",
		toAuditorium,
		chromedp.WaitVisible(chromedp.CSS("#close-form")),
		into(&audPage, chromedp.Text(chromedp.CSS("main"))),
		chromedp.Click(chromedp.CSS("#close")),
		chromedp.WaitVisible(chromedp.CSS("#flash")),
		into(&closed, chromedp.Text(chromedp.CSS("#aud-status"))),
		shot("3x-16-auditorium-closed.png"),
	)
	if strings.Contains(audPage, "нет данных ППЭ-13-02-МАШ") || !strings.Contains(closed, "закрыта") {
		t.Errorf("close: %q\nauditorium page before:\n%s", closed, audPage)
	}

	// 8. The operator may see the ППЭ-15 page but not sign it.
	forged := fmt.Sprintf(`fetch(%q, {method: "POST", body: new URLSearchParams({csrf: document.querySelector("input[name=csrf]").value, agree: "yes"})}).then(r => r.status)`, "/signoff/"+place.PPE)
	var operSign string
	var operStatus int
	step("operator sign-off",
		chromedp.Click(chromedp.CSS(`nav a[href="/"]`)),
		chromedp.WaitVisible(chromedp.CSS("#signoff-"+place.PPE)),
		chromedp.Click(chromedp.CSS("#signoff-"+place.PPE)),
		chromedp.WaitVisible(chromedp.CSS("#no-sign")),
		into(&operSign, chromedp.Text(chromedp.CSS("main"))),
		into(&operStatus, chromedp.Evaluate[int](forged, chromedp.EvalAwaitPromise)),
		shot("3x-17-signoff-operator-refused.png"),
		chromedp.Click(chromedp.CSS("#logout")),
		chromedp.WaitVisible(chromedp.CSS("#info")),
	)
	if operStatus != 403 || !strings.Contains(operSign, "подписывает руководитель") {
		t.Errorf("operator sign-off: status %d\n%s", operStatus, operSign)
	}

	// 9. The head signs the protocol.
	var signed, board string
	step("head sign-off",
		signIn("head"),
		chromedp.Click(chromedp.CSS("#signoff-"+place.PPE)),
		chromedp.WaitVisible(chromedp.CSS("#sign-form")),
		chromedp.Click(chromedp.CSS("#print")),
		chromedp.WaitVisible(chromedp.CSS("#pdf")),
		shot("3x-18-signoff-head.png"),
		chromedp.Click(chromedp.CSS("#agree")),
		chromedp.Click(chromedp.CSS("#sign")),
		chromedp.WaitVisible(chromedp.CSS("#signed")),
		into(&signed, chromedp.Text(chromedp.CSS("#flash"))),
		shot("3x-19-signed.png"),
		chromedp.Click(chromedp.CSS(`nav a[href="/"]`)),
		chromedp.WaitVisible(chromedp.CSS(audCard)),
		into(&board, chromedp.Text(chromedp.CSS("main"))),
		shot("3x-20-board-end-of-day.png"),
	)
	// What the head sees of the delivery and the audit log.
	var delivery, auditLog string
	step("delivery and audit log",
		chromedp.Click(chromedp.CSS("#delivery-"+place.PPE)),
		chromedp.WaitVisible(chromedp.CSS("#packages")),
		into(&delivery, chromedp.Text(chromedp.CSS("main"))),
		shot("3x-21-delivery.png"),
		chromedp.Click(chromedp.CSS("#nav-audit")),
		chromedp.WaitVisible(chromedp.CSS("#entries")),
		into(&auditLog, chromedp.Text(chromedp.CSS("main"))),
		shot("3x-22-audit-log.png"),
	)
	if !strings.Contains(delivery, "аудитория "+place.Auditorium) || !strings.Contains(delivery, "пакет ППЭ") {
		t.Errorf("delivery page:\n%s", delivery)
	}
	if !strings.Contains(auditLog, "Журнал цел") || !strings.Contains(auditLog, "подписание протокола ППЭ-15") {
		t.Errorf("audit log page:\n%s", auditLog)
	}
	if !strings.Contains(signed, "подписан") {
		t.Errorf("head sign-off: %q", signed)
	}
	if !strings.Contains(board, "закрыта") || strings.Contains(board, "нет данных ППЭ-13-02-МАШ") {
		t.Errorf("board at the end of the day:\n%s", board)
	}

	// The store and the audit log agree with what the screens said.
	pages, err := f.st.Pages(place)
	if err != nil {
		t.Fatal(err)
	}
	active, gone := 0, 0
	for _, p := range pages {
		if p.Status == store.Deleted {
			gone++
		} else {
			active++
		}
	}
	if len(pages) != total || gone != 1 || active != e2eCount {
		t.Errorf("stored pages: %d, deleted %d, active %d; want %d, 1, %d", len(pages), gone, active, total, e2eCount)
	}
	log := f.auditText(t)
	for _, a := range []string{audit.ActionExamImport, audit.ActionProtocolSign} {
		if !strings.Contains(log, `"`+a+`"`) {
			t.Errorf("audit log lacks %s", a)
		}
	}
	t.Logf("exam day in the browser took %v", time.Since(started).Round(time.Millisecond))
}
