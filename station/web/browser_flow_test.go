package web

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"giascan/station/audit"
	"giascan/station/store"
)

// TestBrowserOperatorFixesClosesHeadSignsOff drives a headless Chromium
// through an auditorium's end of exam: the operator opens the review
// queue, deletes a planted duplicate scan from the page viewer, is told
// off for a 5-digit auditorium, confirms a value with Enter, closes the
// auditoriums and is refused the sign-off; the head then signs off.
// Screenshots go to test-output/ui/2x-*.png.
func TestBrowserOperatorFixesClosesHeadSignsOff(t *testing.T) {
	needBrowser(t)
	s := newScanned(t)
	base := s.http.URL
	br := startBrowser(t, base, 60*time.Second)
	bctx, shot := br.ctx, br.shot
	signIn := br.signIn
	aud := base + auditoriumURL(s.place)
	other := base + auditoriumURL(store.Place{PPE: s.place.PPE, Auditorium: "0099"})
	signoff := base + "/signoff/" + s.place.PPE
	forged := fmt.Sprintf(`fetch(%q, {method: "POST", body: new URLSearchParams({csrf: document.querySelector("input[name=csrf]").value, agree: "yes"})}).then(r => r.status)`, "/signoff/"+s.place.PPE)
	var queue, problems, deleted, moveErr, closeErr, closed, operSign, signed string
	var operStatus int
	err := chromedp.Do(bctx,
		signIn("oper"),
		chromedp.Navigate(base+"/review"),
		chromedp.WaitVisible(chromedp.CSS(".value-input")),
		chromedp.Sleep(300*time.Millisecond), // the crops' images
		into(&queue, chromedp.Text(chromedp.CSS("main"))),
		shot("2x-01-review-queue.png"),
		chromedp.Navigate(aud),
		chromedp.WaitVisible(chromedp.CSS("#problems")),
		into(&problems, chromedp.Text(chromedp.CSS("#problems"))),
		shot("2x-02-auditorium-problems.png"),
		chromedp.Click(chromedp.CSS("li.p-duplicate_scan a")),
		chromedp.WaitVisible(chromedp.CSS("#delete-form")),
		chromedp.Click(chromedp.CSS(`button.zoom[data-zoom="1.5"]`)),
		chromedp.Sleep(300*time.Millisecond),
		shot("2x-03-page-viewer-duplicate.png"),
		chromedp.SendKeys(chromedp.CSS("#delete-reason"), "повторный скан"),
		chromedp.Click(chromedp.CSS("#delete")),
		chromedp.WaitVisible(chromedp.CSS("#confirm-delete")),
		shot("2x-04-delete-confirm.png"),
		chromedp.Click(chromedp.CSS("#delete-yes")),
		chromedp.WaitVisible(chromedp.CSS("#flash")),
		into(&deleted, chromedp.Text(chromedp.CSS("main"))),
		shot("2x-05-duplicate-deleted.png"),
		chromedp.Navigate(base+pageURL(s.ref(2))),
		chromedp.WaitVisible(chromedp.CSS("#move-to")),
		chromedp.SendKeys(chromedp.CSS("#move-to"), "00991"),
		chromedp.Click(chromedp.CSS("#move")),
		chromedp.WaitVisible(chromedp.CSS("#error")),
		into(&moveErr, chromedp.Text(chromedp.CSS("#error"))),
		shot("2x-06-move-five-digits-refused.png"),
		chromedp.Navigate(base+"/review"),
		chromedp.WaitVisible(chromedp.CSS(".value-input")),
		chromedp.SendKeys(chromedp.CSS(".value-input"), "\r"),
		chromedp.WaitVisible(chromedp.CSS("#queue-empty")),
		shot("2x-07-review-confirmed.png"),
		chromedp.Navigate(aud),
		chromedp.WaitVisible(chromedp.CSS("#close-form")),
		chromedp.Click(chromedp.CSS("#close")),
		chromedp.WaitVisible(chromedp.CSS("#error")),
		into(&closeErr, chromedp.Text(chromedp.CSS("#error"))),
		shot("2x-08-close-needs-reason.png"),
		chromedp.SendKeys(chromedp.CSS("#close-reason"), "ППЭ-13-02-МАШ сдана на бумаге"),
		chromedp.Click(chromedp.CSS("#close")),
		chromedp.WaitVisible(chromedp.CSS("#confirm-close")),
		shot("2x-08b-close-with-problems-confirm.png"),
		chromedp.Click(chromedp.CSS("#close-yes")),
		chromedp.WaitVisible(chromedp.CSS("#flash")),
		into(&closed, chromedp.Text(chromedp.CSS("#aud-status"))),
		shot("2x-09-auditorium-closed.png"),
		chromedp.Navigate(other),
		chromedp.WaitVisible(chromedp.CSS("#close-form")),
		chromedp.SendKeys(chromedp.CSS("#close-reason"), "аудитория не работала"),
		chromedp.Click(chromedp.CSS("#close")),
		chromedp.WaitVisible(chromedp.CSS("#confirm-close")),
		chromedp.Click(chromedp.CSS("#close-yes")),
		chromedp.WaitVisible(chromedp.CSS("#flash")),
		chromedp.Navigate(signoff),
		chromedp.WaitVisible(chromedp.CSS("#no-sign")),
		into(&operSign, chromedp.Text(chromedp.CSS("main"))),
		into(&operStatus, chromedp.Evaluate[int](forged, chromedp.EvalAwaitPromise)),
		shot("2x-10-signoff-operator.png"),
		chromedp.Click(chromedp.CSS("#logout")),
		chromedp.WaitVisible(chromedp.CSS("#info")),
		signIn("head"),
		chromedp.Navigate(signoff),
		chromedp.WaitVisible(chromedp.CSS("#sign-form")),
		chromedp.Click(chromedp.CSS("#print")),
		chromedp.WaitVisible(chromedp.CSS("#pdf")),
		shot("2x-11-signoff-head.png"),
		chromedp.Click(chromedp.CSS("#agree")),
		chromedp.Click(chromedp.CSS("#sign")),
		chromedp.WaitVisible(chromedp.CSS("#signed")),
		into(&signed, chromedp.Text(chromedp.CSS("#flash"))),
		shot("2x-12-signed.png"),
	)
	if err != nil {
		t.Fatalf("browser: %v\naudit log:\n%s", err, s.auditText(t))
	}
	if !strings.Contains(queue, "«"+s.value+"»") {
		t.Errorf("queue does not show the value %q:\n%s", s.value, queue)
	}
	if !strings.Contains(problems, "лист отсканирован дважды") {
		t.Errorf("auditorium problems:\n%s", problems)
	}
	if !strings.Contains(deleted, fmt.Sprintf("Страница %d удалена", s.dup)) || s.page(t, s.dup).Status != store.Deleted {
		t.Errorf("after delete:\n%s", deleted)
	}
	if !strings.Contains(moveErr, "нужно ровно 4 цифры") || s.page(t, 2).Status != store.Active {
		t.Errorf("5-digit move: %q", moveErr)
	}
	if p := s.page(t, 1); p.Result.NeedsReview {
		t.Error("Enter did not confirm the review item")
	}
	if !strings.Contains(closeErr, "причину закрытия") || !strings.Contains(closed, "закрыта") {
		t.Errorf("close: %q then %q", closeErr, closed)
	}
	if operStatus != 403 || !strings.Contains(operSign, "подписывает руководитель") {
		t.Errorf("operator sign-off: status %d\n%s", operStatus, operSign)
	}
	if !strings.Contains(signed, "подписан") || !strings.Contains(s.auditText(t), `"`+audit.ActionProtocolSign+`"`) {
		t.Errorf("head sign-off: %q", signed)
	}
}
