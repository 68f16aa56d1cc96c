// Package browsertest starts the headless Chromium that the browser tests
// of the station drive, so that every such test, in whatever package,
// launches it the same way and keeps its screenshots in one place.
package browsertest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// ChromiumPath is Debian's chromium package; `make deps` installs it.
const ChromiumPath = "/usr/bin/chromium"

// ModuleRoot finds the folder of go.mod above the test's folder.
func ModuleRoot(t testing.TB) string {
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

// Need skips a browser test where it cannot run.
func Need(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(ChromiumPath); err != nil {
		t.Skipf("browser test skipped: %s is absent (install Debian's chromium package: apt-get install chromium)", ChromiumPath)
	}
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
}

// Browser is one headless Chromium of a test, pointed at a server.
type Browser struct {
	Ctx   context.Context
	Base  string // the server's URL
	Shots string // where screenshots go: test-output/ui under the module root
}

// Start starts a headless Chromium, stopped when the test ends. The flags
// keep it off the network: this machine has none.
func Start(t testing.TB, base string, timeout time.Duration) *Browser {
	t.Helper()
	shots := filepath.Join(ModuleRoot(t), "test-output", "ui")
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(ChromiumPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		// The scanning screen beeps on device events without a click first.
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		// Russian browser chrome, as on a station: the file picker's
		// own words show in the screenshots.
		chromedp.Flag("lang", "ru"),
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelBrowser(); cancelAlloc(); cancel() })
	// The first run starts the browser and ties it to the context it is
	// given: start it here, so that steps may run under shorter contexts.
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return &Browser{Ctx: bctx, Base: base, Shots: shots}
}

// Shot saves a full-page screenshot under test-output/ui.
func (b *Browser) Shot(name string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		png, err := chromedp.FullScreenshot(100)(ctx, t)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(b.Shots, name), png, 0o644)
	})
}

// SignIn signs in through the sign-in page.
func (b *Browser) SignIn(login, password string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Navigate(b.Base+"/login"),
		chromedp.WaitVisible(chromedp.CSS("#login")),
		chromedp.SendKeys(chromedp.CSS("#login"), login),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS("#submit")),
		chromedp.WaitVisible(chromedp.CSS("#who")),
	)
}

// Into runs an action that returns a value and stores the value in dst,
// so value-returning steps fit in one list of steps.
func Into[T any](dst *T, a chromedp.Action[T]) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		v, err := a(ctx, t)
		*dst = v
		return chromedp.Void{}, err
	}
}

// Downloads lets the page save downloads into dir, where WaitFile finds
// them.
func Downloads(dir string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
			Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir})
		return err
	})
}

// WaitFile waits for a finished download of that name in dir (Downloads):
// it is there and longer than a stub.
func WaitFile(dir, name string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		path := filepath.Join(dir, name)
		for range 300 {
			if fi, err := os.Stat(path); err == nil && fi.Size() > 1000 {
				return nil
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
		entries, _ := os.ReadDir(dir)
		return fmt.Errorf("download %s did not arrive; the folder holds %v", name, entries)
	})
}
