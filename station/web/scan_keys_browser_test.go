package web

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"giascan/station/store"
)

// TestBrowserScansWithTheKeyboardAlone runs a scan in headless Chromium
// with keys only — no click anywhere: sign-in typed and sent with Enter,
// Tab to the scanner list, an arrow to choose the stack, S to start, Space
// to go on after a jam, Esc to stop at the next device event. Screenshots:
// test-output/ui/5x-keys-*.png.
func TestBrowserScansWithTheKeyboardAlone(t *testing.T) {
	needBrowser(t)
	// The second stack jams after sheet 2 and has its cover opened after
	// sheet 4, where the operator stops.
	keysStack := examStack + ",jam=2,cover=4"
	f := newScanFixtureOf(t, scanStack)
	f.srv.cfg.Devices = append(f.srv.cfg.Devices, keysStack)
	br := startBrowser(t, f.http.URL, 90*time.Second)
	active := func(dst *string) chromedp.Action[chromedp.Void] {
		return into(dst, chromedp.Evaluate[string](`document.activeElement ? document.activeElement.id : ""`))
	}
	waitText := func(id, text string) chromedp.Action[chromedp.Void] {
		return into(new(bool), chromedp.Poll[bool](fmt.Sprintf(`(function(){var e=document.getElementById(%q);return !!e && !e.hidden && e.textContent.includes(%q)})()`, id, text),
			chromedp.WithPollingTimeout(30*time.Second)))
	}
	// tabTo presses Tab until the element id has the focus.
	tabTo := func(id string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			var at string
			for range 40 {
				if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.Tab), active(&at)); err != nil {
					return err
				}
				if at == id {
					return nil
				}
			}
			return fmt.Errorf("Tab never reached #%s (last #%s)", id, at)
		})
	}
	var chosen, jam, cover, state, focus string
	err := chromedp.Do(br.ctx,
		chromedp.Navigate(f.http.URL+"/login"),
		chromedp.WaitVisible(chromedp.CSS("#login")),
		chromedp.Focus(chromedp.CSS("#login")),
		chromedp.KeyEvent("oper"+kb.Tab+testPassword+kb.Enter),
		chromedp.WaitVisible(chromedp.CSS("#who")),
		chromedp.Navigate(f.http.URL+"/scan"),
		chromedp.WaitVisible(chromedp.CSS("#scan-form")),
		tabTo("device"),
		chromedp.KeyEvent(kb.ArrowDown),
		into(&chosen, chromedp.Evaluate[string](`document.getElementById("device").value`)),
		br.shot("51-keys-device-chosen.png"),
		chromedp.KeyEvent("s"),
		waitText("alert", "Замятие бумаги после страницы 2"),
		into(new(bool), chromedp.Poll[bool](`!document.getElementById("continue").disabled`, chromedp.WithPollingTimeout(10*time.Second))),
		into(&jam, chromedp.Text(chromedp.CSS("#alert"))),
		active(&focus),
		br.shot("52-keys-jam.png"),
		chromedp.KeyEvent(" "),
		waitText("alert", "Открыта крышка сканера"),
		into(&cover, chromedp.Text(chromedp.CSS("#alert"))),
		chromedp.KeyEvent(kb.Escape),
		waitText("state", "остановлено"),
		into(&state, chromedp.Text(chromedp.CSS("#state"))),
		br.shot("53-keys-stopped.png"),
	)
	if err != nil {
		t.Fatalf("browser: %v\naudit log:\n%s", err, f.auditText(t))
	}
	if chosen != keysStack {
		t.Fatalf("the arrow chose %q, want %q", chosen, keysStack)
	}
	if focus == "device" {
		t.Errorf("the scanner list kept the focus after S: Space would open it instead of continuing")
	}
	if !strings.Contains(jam, "нажмите «Продолжить» (пробел)") || !strings.Contains(cover, "закройте крышку") {
		t.Errorf("device events: %q, %q", jam, cover)
	}
	if !strings.Contains(state, "Сохранённые страницы на месте") {
		t.Errorf("state after Esc: %q", state)
	}
	// Sheets 1–4 were fed: two before the jam, two after Space.
	pages, err := f.st.Pages(store.Place{PPE: "0101", Auditorium: "0012"})
	if err != nil || len(pages) != 4 {
		t.Errorf("%d pages stored (%v), want 4", len(pages), err)
	}
	log := f.auditText(t)
	for _, want := range []string{`"scan.start"`, `"scan.stop"`, keysStack} {
		if !strings.Contains(log, want) {
			t.Errorf("audit log lacks %s", want)
		}
	}
}
