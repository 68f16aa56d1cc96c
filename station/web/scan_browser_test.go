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

// TestBrowserOperatorScansWithAJam drives the scanning screen in headless
// Chromium: an operator starts a simulated stack with the keyboard, sees
// the pages arrive and the jam message, continues with Space and sees the
// feeder-empty message. Screenshots go to test-output/ui/1x-scan-*.png.
func TestBrowserOperatorScansWithAJam(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("browser test skipped: %s is absent (install Debian's chromium package: apt-get install chromium)", chromiumPath)
	}
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	f := newScanFixture(t)
	shots := filepath.Join(moduleRoot(t), "test-output", "ui")
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
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
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
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
	alertHas := func(text string) chromedp.Action[chromedp.Void] {
		var ok bool
		return into(&ok, chromedp.Poll[bool](`(function(){var a=document.getElementById("alert");return !a.hidden && a.textContent.includes(`+"`"+text+"`"+`)})()`,
			chromedp.WithPollingTimeout(30*time.Second)))
	}
	var keys, jam, empty, rows, state string
	err := chromedp.Do(bctx,
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.CSS("#login")),
		chromedp.SendKeys(chromedp.CSS("#login"), "oper"),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.Click(chromedp.CSS("#submit")),
		chromedp.WaitVisible(chromedp.CSS("#who")),
		chromedp.Navigate(base+"/scan"),
		chromedp.WaitVisible(chromedp.CSS("#scan-form")),
		chromedp.SetValue(chromedp.CSS("#device"), scanStack),
		into(&keys, chromedp.Text(chromedp.CSS("#keys"))),
		shot("11-scan-ready.png"),
		chromedp.KeyEvent("s"),
		chromedp.WaitVisible(chromedp.CSS("#page-3")),
		alertHas("Замятие бумаги"),
		chromedp.WaitEnabled(chromedp.CSS("#continue")),
		into(&jam, chromedp.Text(chromedp.CSS("#alert"))),
		shot("12-scan-jam.png"),
		chromedp.KeyEvent(" "),
		alertHas("Лоток сканера пуст"),
		into(&empty, chromedp.Text(chromedp.CSS("#alert"))),
		chromedp.WaitVisible(chromedp.CSS("#page-6")),
		into(new(bool), chromedp.Poll[bool](`document.getElementById("state").textContent.includes("завершено")`, chromedp.WithPollingTimeout(30*time.Second))),
		into(&rows, chromedp.Text(chromedp.CSS("#pages"))),
		into(&state, chromedp.Text(chromedp.CSS("#state"))),
		shot("13-scan-feeder-empty.png"),
	)
	if err != nil {
		t.Fatalf("browser: %v\naudit log:\n%s", err, f.auditText(t))
	}
	if !strings.Contains(keys, "Esc") || !strings.Contains(keys, "Пробел") {
		t.Errorf("shortcuts: %q", keys)
	}
	if !strings.Contains(jam, "Замятие бумаги после страницы 3: извлеките лист") {
		t.Errorf("jam message: %q", jam)
	}
	if !strings.Contains(empty, "Лоток сканера пуст") {
		t.Errorf("feeder-empty message: %q", empty)
	}
	if !strings.Contains(rows, "Бланк ответов №1") || !strings.Contains(state, "Сохранено за сеанс: 6") {
		t.Errorf("pages:\n%s\nstate: %s", rows, state)
	}
}
