package receiver_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"giascan/transport/receiver"
)

// chromiumPath is Debian's chromium package; `make deps` installs it.
const chromiumPath = "/usr/bin/chromium"

// startBrowser starts a headless Chromium that sends the staff account's
// credentials with every request, stopped when the test ends; screenshots
// go to test-output/ui under the module root.
func startBrowser(t *testing.T) (context.Context, string) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("browser test skipped: %s is absent (apt-get install chromium)", chromiumPath)
	}
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	shots, err := filepath.Abs(filepath.Join("..", "..", "test-output", "ui"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromiumPath), chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("no-first-run", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 800), chromedp.Flag("lang", "ru"))
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelBrowser(); cancelAlloc(); cancel() })
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(staffLogin+":"+staffPassword))
	if err := chromedp.Do(bctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, tg, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Authorization": auth}})
		return err
	})); err != nil {
		t.Fatal(err)
	}
	return bctx, shots
}

func screenshot(path string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		png, err := chromedp.FullScreenshot(100)(ctx, t)
		if err != nil {
			return err
		}
		return os.WriteFile(path, png, 0o644)
	})
}

// The board an hour after the deadline: ППЭ 1234 delivered (its package in
// a second version), ППЭ 4321 has not and shows red; when 4321's package
// arrives the open page changes by itself.
func TestBoardShowsLateInRedAndUpdatesLive(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t)
	other := f.addStation(t, "4321")
	ends := time.Now().Add(-2 * time.Hour)
	owed := receiver.Owed{
		"1234": {{Package: "9-50-1234-0007-01-20250601", Auditorium: "0007"}},
		"4321": {{Package: "9-50-4321-0007-01-20250601", Auditorium: "0007"}},
	}
	if err := receiver.ImportExamEnding(f.rdir, []byte(testExam), owed, ends); err != nil {
		t.Fatal(err)
	}
	for v := 1; v <= 2; v++ {
		tarball, m, hash := build(t, "1234", v, image(t, 1000))
		ct, sig := f.sealTar(t, tarball, f.station, m, hash)
		if _, err := f.rcv.Accept(ctx, sig, ct); err != nil {
			t.Fatal(err)
		}
	}
	forged := statementFor(other, "4321", 1, 100, strings.Repeat("00", 32))
	if err := f.rcv.LogReject(forged, "192.0.2.7:40000", fmt.Errorf("%w: signature does not verify", receiver.ErrRefused)); err != nil {
		t.Fatal(err)
	}
	base := f.serve(t, ctx)
	bctx, shots := startBrowser(t)

	cell := func(ppe, sel string) string {
		return `document.querySelector('tr[data-ppe="` + ppe + `"] ` + sel + `')`
	}
	var lateBG, doneBG, late, v2, rejects string
	if err := chromedp.Do(bctx,
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS("#board")),
		into(&lateBG, chromedp.Evaluate[string](`getComputedStyle(`+cell("4321", "td.ppe")+`).backgroundColor`)),
		into(&doneBG, chromedp.Evaluate[string](`getComputedStyle(`+cell("1234", "td.ppe")+`).backgroundColor`)),
		into(&late, chromedp.Text(chromedp.CSS(`tr[data-ppe="4321"]`))),
		into(&v2, chromedp.Text(chromedp.CSS(`tr[data-ppe="1234"]`))),
		into(&rejects, chromedp.Text(chromedp.CSS(`#rejects`))),
		screenshot(filepath.Join(shots, "rcoi-board-late.png")),
	); err != nil {
		t.Fatal(err)
	}
	if lateBG != "rgb(211, 47, 47)" || doneBG == lateBG {
		t.Errorf("late ППЭ background %s, delivered ППЭ %s", lateBG, doneBG)
	}
	if !strings.Contains(late, "опаздывает") || !strings.Contains(late, "срок прошёл") {
		t.Errorf("late ППЭ row: %q", late)
	}
	if !strings.Contains(rejects, "9-50-4321-0007-01-20250601 v1") || !strings.Contains(rejects, "192.0.2.7:40000") || !strings.Contains(rejects, "does not verify") {
		t.Errorf("recent refusals: %q", rejects)
	}
	if !strings.Contains(v2, "v2 (заменил v1)") || !strings.Contains(v2, "все пакеты приняты") {
		t.Errorf("delivered ППЭ row: %q", v2)
	}

	// The late package arrives; the open page shows it without a reload.
	tarball, m, hash := build(t, "4321", 1, image(t, 1000))
	ct, sig := f.sealTar(t, tarball, other, m, hash)
	if _, err := f.rcv.Accept(ctx, sig, ct); err != nil {
		t.Fatal(err)
	}
	var arrived, lateCount string
	if err := chromedp.Do(bctx,
		into(new(bool), chromedp.Poll[bool](cell("4321", "td.arrived-late")+` !== null`, chromedp.WithPollingTimeout(15*time.Second))),
		into(&arrived, chromedp.Text(chromedp.CSS(`tr[data-ppe="4321"]`))),
		into(&lateCount, chromedp.Text(chromedp.CSS("#late"))),
		screenshot(filepath.Join(shots, "rcoi-board-updated.png")),
	); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(arrived, "принят с опозданием") || lateCount != "0" {
		t.Errorf("after the late package: row %q, late count %q", arrived, lateCount)
	}
}

func into[T any](dst *T, a chromedp.Action[T]) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		v, err := a(ctx, t)
		*dst = v
		return chromedp.Void{}, err
	}
}
