package web

import (
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
	needBrowser(t)
	f := newScanFixture(t)
	base := f.http.URL
	br := startBrowser(t, base, 60*time.Second)
	bctx, shot := br.ctx, br.shot
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
	// What to do with the jammed sheet: it was not scanned, so it goes
	// back into the feeder, and the scan goes on.
	if !strings.Contains(jam, "Замятие бумаги после страницы 3: извлеките застрявший лист") ||
		!strings.Contains(jam, "положите в лоток поверх остальных листов") || !strings.Contains(jam, "ещё не отсканирован") ||
		!strings.Contains(jam, "нажмите «Продолжить» (пробел)") {
		t.Errorf("jam message: %q", jam)
	}
	if !strings.Contains(empty, "Лоток сканера пуст") {
		t.Errorf("feeder-empty message: %q", empty)
	}
	if !strings.Contains(rows, "Бланк ответов №1") || !strings.Contains(state, "Сохранено за сеанс: 6") {
		t.Errorf("pages:\n%s\nstate: %s", rows, state)
	}
}
