package web

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"giascan/station/web/browsertest"
)

// moduleRoot finds the folder of go.mod above the test's folder.
func moduleRoot(t *testing.T) string { return browsertest.ModuleRoot(t) }

// needBrowser skips a browser test where it cannot run.
func needBrowser(t *testing.T) { browsertest.Need(t) }

// browser is one headless Chromium of a test, pointed at a server.
type browser struct {
	ctx   context.Context
	base  string // the server's URL
	shots string // where screenshots go: test-output/ui under the module root
	b     *browsertest.Browser
}

// startBrowser starts a headless Chromium, stopped when the test ends.
func startBrowser(t *testing.T, base string, timeout time.Duration) *browser {
	t.Helper()
	b := browsertest.Start(t, base, timeout)
	return &browser{ctx: b.Ctx, base: b.Base, shots: b.Shots, b: b}
}

// shot saves a full-page screenshot under test-output/ui.
func (b *browser) shot(name string) chromedp.Action[chromedp.Void] { return b.b.Shot(name) }

// signIn signs in through the sign-in page with the tests' password.
func (b *browser) signIn(login string) chromedp.Action[chromedp.Void] {
	return b.b.SignIn(login, testPassword)
}
