package web

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"giascan/hardware"
)

// plugged is what the test's pretend USB bus holds; its discoverer is
// registered once for the package's tests.
var plugged atomic.Bool

func init() {
	hardware.RegisterDiscoverer("webtest", hardware.DiscoverFunc(func(ctx context.Context) ([]hardware.Device, error) {
		if !plugged.Load() {
			return nil, nil
		}
		return []hardware.Device{{ID: "usb-1", Name: "Сканер Тест-300 (USB)", Adapter: "webtest", Spec: "webtest:1"}}, nil
	}), 50*time.Millisecond)
}

// With discovery on, a scanner plugged in appears among the scanners the
// screen offers, under its name, and disappears when unplugged.
func TestScanningScreenFollowsPlugAndUnplug(t *testing.T) {
	f := newScanFixture(t)
	srv, err := New(Config{App: f.app, Discover: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	f.srv = srv
	f.http.Config.Handler = srv.Handler()
	op := f.client(t)
	op.mustSignIn("oper")
	offered := func() string { return op.get("/scan/devices").body }
	waitFor := func(want bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for strings.Contains(offered(), "Тест-300") != want {
			if time.Now().After(deadline) {
				t.Fatalf("after 5 s the scanners offered are %s; want the test scanner: %v", offered(), want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if r := op.get("/scan/devices"); r.code != http.StatusOK {
		t.Fatalf("/scan/devices: %d", r.code)
	}
	waitFor(false)
	plugged.Store(true)
	waitFor(true)
	if !strings.Contains(op.get("/scan").body, `value="webtest:1"`) {
		t.Error("the scanning screen does not offer the plugged scanner")
	}
	plugged.Store(false)
	waitFor(false)
}
