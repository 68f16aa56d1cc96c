package web

import (
	"giascan/station/web/browsertest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserHeadImportsOperatorRefused drives a real headless Chromium
// through the screens a head and an operator see, and saves a screenshot
// of each under test-output/ui/ for people to look at.
func TestBrowserHeadImportsOperatorRefused(t *testing.T) {
	needBrowser(t)
	f := newFixture(t)
	base := f.http.URL
	br := startBrowser(t, base, 60*time.Second)
	bctx, shot := br.ctx, br.shot
	signIn := br.signIn
	good := filepath.Join(t.TempDir(), "exam.json")
	bad := filepath.Join(t.TempDir(), "exam-bad.json")
	os.WriteFile(good, []byte(examFile), 0o644)
	os.WriteFile(bad, []byte(strings.Replace(strings.Replace(examFile, `"number": "0014"`, `"number": 14`, 1), `"subject": "02"`, `"subject": "99"`, 1)), 0o644)
	var emptyBoard, refused, board, who string
	err := chromedp.Do(bctx,
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.CSS("#login-form")),
		shot("01-sign-in.png"),
		signIn("head"),
		into(&emptyBoard, chromedp.Text(chromedp.CSS("main"))),
		shot("02-board-no-exam-head.png"),
		chromedp.Click(chromedp.CSS("#import-link")),
		chromedp.WaitVisible(chromedp.CSS("#import-form")),
		shot("03-exam-import-head.png"),
		chromedp.SetUploadFiles(chromedp.CSS("#exam-file"), []string{bad}),
		chromedp.Click(chromedp.CSS("#import")),
		chromedp.WaitVisible(chromedp.CSS("#problems")),
		into(&refused, chromedp.Text(chromedp.CSS("#problems"))),
		shot("04-exam-import-refused-file.png"),
		chromedp.SetUploadFiles(chromedp.CSS("#exam-file"), []string{good}),
		chromedp.Click(chromedp.CSS("#import")),
		chromedp.WaitVisible(chromedp.CSS("#ppe-0101")),
		into(&board, chromedp.Text(chromedp.CSS("main"))),
		shot("05-board-head.png"),
		chromedp.Click(chromedp.CSS("#logout")),
		chromedp.WaitVisible(chromedp.CSS("#info")),
		signIn("oper"),
		into(&who, chromedp.Text(chromedp.CSS("#who"))),
		shot("06-board-operator.png"),
		chromedp.Navigate(base+"/exam/import"),
		chromedp.WaitVisible(chromedp.CSS("#error")),
		into(&refused, chromedp.Text(chromedp.CSS("main"))),
		shot("07-exam-import-operator-refused.png"),
	)
	if err != nil {
		t.Fatalf("browser: %v\naudit log:\n%s", err, f.auditText(t))
	}
	if !strings.Contains(emptyBoard, "Экзамен не импортирован") {
		t.Errorf("board before import:\n%s", emptyBoard)
	}
	for _, want := range []string{"ППЭ 0101", "ППЭ 0202", "Аудитория 0012", "Аудитория 0014", "Аудитория 0001", "БО №1", "открытых проблем"} {
		if !strings.Contains(board, want) {
			t.Errorf("board after import lacks %q:\n%s", want, board)
		}
	}
	if !strings.Contains(who, "оператор") {
		t.Errorf("operator's header: %q", who)
	}
	if !strings.Contains(refused, "Недостаточно прав") {
		t.Errorf("operator on the import page:\n%s", refused)
	}
	if _, err := f.st.Exam(); err != nil {
		t.Errorf("the head's import did not reach the store: %v", err)
	}
}

// into is browsertest.Into, short for the many steps that read a value.
func into[T any](dst *T, a chromedp.Action[T]) chromedp.Action[chromedp.Void] {
	return browsertest.Into(dst, a)
}
