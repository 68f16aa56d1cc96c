package usb

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestIsScanner(t *testing.T) {
	for _, tc := range []struct {
		d    Device
		want bool
	}{
		{Device{Vendor: 0x04c5, Product: 0x132b, Class: 0xFF}, true},                // Fujitsu fi-series
		{Device{Vendor: 0x04a9, Classes: []uint8{0x07, 0xFF}}, true},                // Canon multifunction
		{Device{Vendor: 0x1234, Classes: []uint8{ClassImage}}, true},                // any imaging device
		{Device{Vendor: 0x1234, Class: 0xFF}, false},                                // unknown vendor's gadget
		{Device{Vendor: 0x03f0, Classes: []uint8{0x07}}, false},                     // HP printer only
		{Device{Vendor: 0x046d, Classes: []uint8{0x03}}, false},                     // a mouse
		{Device{Vendor: 0x29cc, Classes: []uint8{0x08, ClassVendorSpecific}}, true}, // Kodak Alaris
	} {
		if got := IsScanner(tc.d); got != tc.want {
			t.Errorf("%+v: %v, want %v", tc.d, got, tc.want)
		}
	}
	for _, v := range []uint16{0x04c5, 0x04a9, 0x04b8, 0x29cc, 0x040a, 0x04f9, 0x04da, 0x0638, 0x07b3, 0x03f0, 0x0924} {
		if _, ok := VendorName(v); !ok {
			t.Errorf("vendor %04x missing", v)
		}
	}
	d := Device{Vendor: 0x04c5, Product: 0x132b, Port: "1-2.3"}
	if d.ID() != "usb:04c5:132b@1-2.3" || !strings.Contains(d.Name(), "Fujitsu") {
		t.Errorf("%s, %s", d.ID(), d.Name())
	}
}

func TestDiff(t *testing.T) {
	a := Device{Vendor: 0x04c5, Port: "1-1", Address: 5, Class: 0xFF}
	b := Device{Vendor: 0x04b8, Port: "1-2", Address: 6, Class: 0xFF}
	aBack := a
	aBack.Address = 9
	ev := Diff([]Device{a, b}, []Device{b, aBack})
	if len(ev) != 2 || ev[0].Kind != Removed || ev[0].Device.Address != 5 || ev[1].Kind != Added || ev[1].Device.Address != 9 {
		t.Errorf("replug: %+v", ev)
	}
	if ev := Diff([]Device{a}, []Device{a}); len(ev) != 0 {
		t.Errorf("no change: %+v", ev)
	}
}

// fakeBus replays lists of devices, one per look, then keeps the last.
type fakeBus struct {
	mu    sync.Mutex
	looks [][]Device
	errs  []error
}

func (f *fakeBus) Enumerate(ctx context.Context) ([]Device, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	devs, err := f.looks[0], f.errs[0]
	if len(f.looks) > 1 {
		f.looks, f.errs = f.looks[1:], f.errs[1:]
	}
	return devs, err
}

func TestWatch(t *testing.T) {
	scanner := Device{Vendor: 0x04c5, Product: 1, Port: "1-1", Address: 3, Class: 0xFF}
	mouse := Device{Vendor: 0x046d, Port: "1-2", Address: 4, Classes: []uint8{3}}
	bus := &fakeBus{
		looks: [][]Device{{mouse}, {mouse, scanner}, nil, nil, {mouse}, {}},
		errs:  []error{nil, nil, ErrNoUSB, ErrNoUSB, nil, nil},
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var got []string
	for ev := range Watch(ctx, bus, time.Millisecond) {
		got = append(got, string(ev.Kind)+" "+ev.Device.Port)
		if ev.Kind == Failed && !errors.Is(ev.Err, ErrNoUSB) {
			t.Errorf("failed look: %v", ev.Err)
		}
		if len(got) == 3 {
			cancel()
		}
	}
	if want := "added 1-1|failed |removed 1-1"; strings.Join(got, "|") != want {
		t.Errorf("events %q, want %q", strings.Join(got, "|"), want)
	}
}

// The real bus: whatever is attached (in CI nothing, or no bus at all),
// listing must neither fail in another way nor hang nor panic.
func TestLibUSBEnumerates(t *testing.T) {
	done := make(chan struct{})
	var devs []Device
	var err error
	go func() {
		defer close(done)
		devs, err = Scanners(context.Background(), LibUSB{})
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("listing USB devices hangs")
	}
	if err != nil && !errors.Is(err, ErrNoUSB) {
		t.Fatalf("listing: %v", err)
	}
	t.Logf("%d scanners, err %v", len(devs), err)
}

func TestDiscoverer(t *testing.T) {
	bus := fixedBus{
		{Bus: 1, Address: 5, Port: "1-2", Vendor: 0x04c5, Product: 0x132b, Class: 0xFF},
		{Bus: 1, Address: 7, Port: "1-3", Vendor: 0x046d, Classes: []uint8{0x03}}, // a mouse
	}
	devs, err := Discoverer{Enumerator: bus}.Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(devs) != 1 || devs[0].ID != "usb:04c5:132b@1-2" || devs[0].Adapter != "usb" || devs[0].Spec != "" {
		t.Fatalf("devices %+v, want the Fujitsu only, without a spec", devs)
	}
	if !strings.Contains(devs[0].Note, "libusb:001:005") {
		t.Errorf("note %q does not name the SANE bus id", devs[0].Note)
	}
	none, err := Discoverer{Enumerator: noBus{}}.Discover(context.Background())
	if err != nil || len(none) != 0 {
		t.Errorf("without USB access: %v, %v; want no devices and no error", none, err)
	}
}

func TestMatchesSANE(t *testing.T) {
	d := Device{Bus: 1, Address: 5}
	for name, want := range map[string]bool{
		"fujitsu:libusb:001:005":  true,
		"epson2:libusb:001:005":   true,
		"fujitsu:libusb:001:0050": false,
		"fujitsu:libusb:002:005":  false,
		"test:0":                  false,
	} {
		if got := d.MatchesSANE(name); got != want {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}
}

type fixedBus []Device

func (b fixedBus) Enumerate(ctx context.Context) ([]Device, error) { return b, nil }

type noBus struct{}

func (noBus) Enumerate(ctx context.Context) ([]Device, error) {
	return nil, fmt.Errorf("%w: LIBUSB_ERROR_OTHER", ErrNoUSB)
}
