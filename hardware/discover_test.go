package hardware

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// bus is a fake adapter's set of attached devices, changed by the test.
type bus struct {
	mu   sync.Mutex
	devs []Device
	err  error
}

func (b *bus) set(err error, ids ...string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.err = err
	b.devs = nil
	for _, id := range ids {
		b.devs = append(b.devs, Device{ID: id, Name: "Scanner " + id, Spec: "fakebus:" + id})
	}
}

func (b *bus) Discover(ctx context.Context) ([]Device, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Device(nil), b.devs...), b.err
}

var (
	plugged = &bus{}
	broken  = DiscoverFunc(func(ctx context.Context) ([]Device, error) {
		return nil, errors.New("scanimage: not installed")
	})
)

func init() {
	RegisterDiscoverer("fakebus", plugged, 10*time.Millisecond)
	RegisterDiscoverer("fakebroken", broken, 0)
}

func TestDiscoverKeepsOtherAdaptersWhenOneFails(t *testing.T) {
	plugged.set(nil, "b", "a")
	devs, err := Discover(context.Background())
	var de *DiscoverError
	if !errors.As(err, &de) || de.Adapter != "fakebroken" {
		t.Fatalf("error %v, want a *DiscoverError of fakebroken", err)
	}
	var got []string
	for _, d := range devs {
		if d.Adapter == "fakebus" {
			got = append(got, d.ID+"="+d.Spec)
		}
	}
	if len(got) != 2 || got[0] != "a=fakebus:a" || got[1] != "b=fakebus:b" {
		t.Errorf("devices %v, want a and b in name order with their specs and adapter", got)
	}
	if names := Discoverers(); len(names) < 2 || names[0] != "fakebroken" {
		t.Errorf("Discoverers() = %v", names)
	}
}

func TestWatchReportsPlugAndUnplug(t *testing.T) {
	plugged.set(nil, "a")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := Watch(ctx)
	held := map[string][]Event{} // events of the other adapter, kept for later
	next := func(adapter string) Event {
		t.Helper()
		if q := held[adapter]; len(q) > 0 {
			held[adapter] = q[1:]
			return q[0]
		}
		timeout := time.After(5 * time.Second)
		for {
			select {
			case ev, ok := <-events:
				if !ok {
					t.Fatal("Watch closed its channel early")
				}
				if ev.Adapter == adapter {
					return ev
				}
				held[ev.Adapter] = append(held[ev.Adapter], ev)
			case <-timeout:
				t.Fatalf("no %s event within 5s", adapter)
			}
		}
	}
	if ev := next("fakebroken"); ev.Kind != Failed || ev.Err == nil {
		t.Errorf("broken adapter: %+v, want Failed with its error", ev)
	}
	if ev := next("fakebus"); ev.Kind != Added || ev.Device.ID != "a" {
		t.Fatalf("first event %+v, want a added", ev)
	}
	plugged.set(nil, "a", "b")
	if ev := next("fakebus"); ev.Kind != Added || ev.Device.ID != "b" {
		t.Fatalf("after plugging b: %+v", ev)
	}
	plugged.set(errors.New("bus unreadable"))
	if ev := next("fakebus"); ev.Kind != Failed {
		t.Fatalf("after the bus failed: %+v", ev)
	}
	plugged.set(nil, "b")
	if ev := next("fakebus"); ev.Kind != Removed || ev.Device.ID != "a" {
		t.Fatalf("after unplugging a: %+v, want a removed (b kept through the failure)", ev)
	}
	cancel()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-events:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("the channel stays open after ctx ended")
		}
	}
}

func TestDiffDevices(t *testing.T) {
	d := func(id string) Device { return Device{Adapter: "x", ID: id} }
	ev := DiffDevices([]Device{d("1"), d("2")}, []Device{d("2"), d("3")})
	if len(ev) != 2 || ev[0].Kind != Removed || ev[0].Device.ID != "1" || ev[1].Kind != Added || ev[1].Device.ID != "3" {
		t.Errorf("diff %+v", ev)
	}
}
