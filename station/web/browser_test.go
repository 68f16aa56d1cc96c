package web

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's chromium package; `make deps` installs it.
const chromiumPath = "/usr/bin/chromium"

// moduleRoot finds the folder of go.mod above the test's folder.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			t.Fatal("go.mod not found above the test folder")
		}
		dir = up
	}
}

// TestBrowserHeadImportsOperatorRefused drives a real headless Chromium
// through the screens a head and an operator see, and saves a screenshot
// of each under test-output/ui/ for people to look at.
func TestBrowserHeadImportsOperatorRefused(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("browser test skipped: %s is absent (install Debian's chromium package: apt-get install chromium)", chromiumPath)
	}
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	f := newFixture(t)
	shots := filepath.Join(moduleRoot(t), "test-output", "ui")
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(t.TempDir(), "exam.json")
	bad := filepath.Join(t.TempDir(), "exam-bad.json")
	os.WriteFile(good, []byte(examFile), 0o644)
	os.WriteFile(bad, []byte(strings.Replace(strings.Replace(examFile, `"number": "0014"`, `"number": 14`, 1), `"subject": "02"`, `"subject": "99"`, 1)), 0o644)

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		// Russian browser chrome, as on a station: the file picker's
		// own words show in the screenshots.
		chromedp.Flag("lang", "ru"),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()

	base := f.http.URL
	shot := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			png, err := chromedp.FullScreenshot(100)(ctx, t)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(shots, name), png, 0o644)
		})
	}
	signIn := func(login string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(
			chromedp.Navigate(base+"/login"),
			chromedp.WaitVisible(chromedp.CSS("#login")),
			chromedp.SendKeys(chromedp.CSS("#login"), login),
			chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
			chromedp.Click(chromedp.CSS("#submit")),
			chromedp.WaitVisible(chromedp.CSS("#who")),
		)
	}
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

// into runs an action that returns a value and stores the value in dst,
// so value-returning steps fit in one list of steps.
func into[T any](dst *T, a chromedp.Action[T]) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		v, err := a(ctx, t)
		*dst = v
		return chromedp.Void{}, err
	}
}
