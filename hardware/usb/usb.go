// Package usb finds document scanners on the USB bus and reports when one
// is plugged in or pulled out, so the station can tell the operator which
// device to pick and that the one in use went away. It only looks at
// device descriptors (no device is opened, so no permissions are needed);
// scanning itself goes through an adapter such as sane.
//
// A machine without USB access (a container, CI) gives an error matching
// ErrNoUSB, which callers may treat as "no scanners".
package usb

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/gousb"
)

// ErrNoUSB is matched (errors.Is) by the error of a machine whose USB bus
// cannot be read at all.
var ErrNoUSB = errors.New("usb: no access to the USB bus")

// Device is a USB device as its descriptor shows it.
type Device struct {
	Bus     int
	Address int    // changes when the device is plugged in again
	Port    string // physical path, e.g. "1-2.3": stable while it stays in that socket
	Vendor  uint16
	Product uint16
	Class   uint8   // device class; 0 means the interfaces say
	Classes []uint8 // classes of the interfaces, in order
	IPPUSB  bool    // has an IPP-over-USB interface (class 7/1/4): eSCL works without a driver
}

// ID names the device stably while it stays in its socket:
// "usb:VVVV:PPPP@PORT".
func (d Device) ID() string {
	return fmt.Sprintf("usb:%04x:%04x@%s", d.Vendor, d.Product, d.Port)
}

// Name is the device for people: its maker when known and its IDs.
func (d Device) Name() string {
	if v, ok := VendorName(d.Vendor); ok {
		return fmt.Sprintf("%s scanner %04x:%04x (USB %s)", v, d.Vendor, d.Product, d.Port)
	}
	return fmt.Sprintf("Scanner %04x:%04x (USB %s)", d.Vendor, d.Product, d.Port)
}

// key tells plugging sessions apart: the same device back in the same
// socket gets a new address.
func (d Device) key() string { return d.ID() + "#" + strconv.Itoa(d.Address) }

// USB classes a scanner shows.
const (
	ClassImage          = 0x06 // still imaging: PTP and some scanners
	ClassVendorSpecific = 0xFF // most document scanners
)

// vendors are makers of document scanners whose devices mostly use a
// vendor-specific class.
var vendors = map[uint16]string{
	0x04c5: "Fujitsu/PFU",
	0x04a9: "Canon",
	0x04b8: "Epson",
	0x29cc: "Kodak Alaris",
	0x040a: "Kodak",
	0x04f9: "Brother",
	0x04da: "Panasonic",
	0x0638: "Avision",
	0x07b3: "Plustek",
	0x03f0: "HP",
	0x0924: "Xerox",
}

// VendorName is the maker of a known document-scanner vendor ID.
func VendorName(vendor uint16) (string, bool) {
	n, ok := vendors[vendor]
	return n, ok
}

// IsScanner says whether a device looks like a scanner: an imaging class,
// or a vendor-specific one from a known scanner maker, or IPP over USB. Printers of the
// same makers have a printer-class interface next to their vendor one;
// they are kept, as multifunction devices scan too.
func IsScanner(d Device) bool {
	if d.IPPUSB {
		return true // IPP over USB: its eSCL capabilities say whether it scans
	}
	classes := append([]uint8{d.Class}, d.Classes...)
	if slices.Contains(classes, ClassImage) {
		return true
	}
	_, known := vendors[d.Vendor]
	return known && slices.Contains(classes, ClassVendorSpecific)
}

// Enumerator lists the devices on the bus.
type Enumerator interface {
	Enumerate(ctx context.Context) ([]Device, error)
}

// LibUSB enumerates through libusb.
type LibUSB struct{}

// Enumerate lists every device libusb sees. Without USB access it returns
// an error matching ErrNoUSB.
func (LibUSB) Enumerate(ctx context.Context) (devs []Device, err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// gousb panics when libusb cannot initialise (no /dev/bus/usb, no
	// udev); that is a machine without USB, not a station failure.
	defer func() {
		if r := recover(); r != nil {
			devs, err = nil, fmt.Errorf("%w: %v", ErrNoUSB, r)
		}
	}()
	c := gousb.NewContext()
	defer c.Close()
	_, err = c.OpenDevices(func(d *gousb.DeviceDesc) bool {
		devs = append(devs, fromDesc(d))
		return false // descriptors are enough; opening needs permissions
	})
	if err != nil {
		return devs, fmt.Errorf("%w: %v", ErrNoUSB, err)
	}
	return devs, nil
}

func fromDesc(d *gousb.DeviceDesc) Device {
	port := strconv.Itoa(d.Bus)
	for i, p := range d.Path {
		sep := "."
		if i == 0 {
			sep = "-"
		}
		port += sep + strconv.Itoa(p)
	}
	out := Device{Bus: d.Bus, Address: d.Address, Port: port,
		Vendor: uint16(d.Vendor), Product: uint16(d.Product), Class: uint8(d.Class)}
	// The first configuration is the one a device starts in.
	nums := make([]int, 0, len(d.Configs))
	for n := range d.Configs {
		nums = append(nums, n)
	}
	slices.Sort(nums)
	if len(nums) > 0 {
		for _, intf := range d.Configs[nums[0]].Interfaces {
			for _, alt := range intf.AltSettings {
				out.Classes = append(out.Classes, uint8(alt.Class))
			}
		}
	}
	_, out.IPPUSB = findIPPUSB(d)
	return out
}

// Scanners lists the attached devices that look like scanners, ordered by
// port. Without USB access the list is empty and the error matches
// ErrNoUSB.
func Scanners(ctx context.Context, e Enumerator) ([]Device, error) {
	if e == nil {
		e = LibUSB{}
	}
	all, err := e.Enumerate(ctx)
	var out []Device
	for _, d := range all {
		if IsScanner(d) {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b Device) int { return strings.Compare(a.key(), b.key()) })
	return out, err
}

// EventKind says what happened on the bus.
type EventKind string

// Bus events.
const (
	Added   EventKind = "added"
	Removed EventKind = "removed"
	Failed  EventKind = "failed" // the bus could not be read; Err says why
)

// Event is a scanner that appeared or went away, or a failed look.
type Event struct {
	Kind   EventKind
	Device Device
	Err    error // Failed
}

// Diff lists what changed from one list of scanners to the next: removed
// devices first, then added ones, each in port order. A device plugged in
// again (new address) is removed and added.
func Diff(before, after []Device) []Event {
	was := map[string]bool{}
	for _, d := range before {
		was[d.key()] = true
	}
	is := map[string]bool{}
	for _, d := range after {
		is[d.key()] = true
	}
	var out []Event
	byKey := func(a, b Event) int { return strings.Compare(a.Device.key(), b.Device.key()) }
	for _, d := range before {
		if !is[d.key()] {
			out = append(out, Event{Kind: Removed, Device: d})
		}
	}
	slices.SortFunc(out, byKey)
	n := len(out)
	for _, d := range after {
		if !was[d.key()] {
			out = append(out, Event{Kind: Added, Device: d})
		}
	}
	slices.SortFunc(out[n:], byKey)
	return out
}

// Watch polls the bus every interval (default 1s) and reports scanners
// being plugged in and pulled out; the scanners present at the start come
// as Added. A failed look is reported once as Failed (until a look
// succeeds again) and the last known list is kept. The polling goroutine
// belongs to ctx: it stops, and the channel closes, when ctx ends.
func Watch(ctx context.Context, e Enumerator, interval time.Duration) <-chan Event {
	if e == nil {
		e = LibUSB{}
	}
	if interval <= 0 {
		interval = time.Second
	}
	ch := make(chan Event)
	go func() {
		defer close(ch)
		var known []Device
		failing := false
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			now, err := Scanners(ctx, e)
			var events []Event
			switch {
			case ctx.Err() != nil:
				return
			case err != nil:
				if !failing {
					events = []Event{{Kind: Failed, Err: err}}
				}
				failing = true
			default:
				failing = false
				events = Diff(known, now)
				known = now
			}
			for _, ev := range events {
				select {
				case ch <- ev:
				case <-ctx.Done():
					return
				}
			}
			select {
			case <-tick.C:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch
}
