package usb

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"giascan/hardware"
)

// DiscoverEvery is how often the station looks at the bus: reading
// descriptors is cheap, and an operator who plugs a scanner in expects to
// see it at once.
const DiscoverEvery = time.Second

func init() {
	hardware.RegisterDiscoverer("usb", Discoverer{}, DiscoverEvery)
}

// Discoverer lists the USB scanners for hardware.Discover and
// hardware.Watch. A device with IPP over USB is opened as ippusb:ID, with
// no driver; another is scanned through the SANE device its Note names.
type Discoverer struct {
	Enumerator Enumerator // nil: libusb
}

// Discover lists the scanners on the bus. A machine without USB access
// has none: that is not an error here, as a station may well use only
// network scanners.
func (d Discoverer) Discover(ctx context.Context) ([]hardware.Device, error) {
	found, err := Scanners(ctx, d.Enumerator)
	if errors.Is(err, ErrNoUSB) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := make([]hardware.Device, 0, len(found))
	for _, u := range found {
		d := hardware.Device{ID: u.ID(), Name: u.Name(), Adapter: "usb",
			Note: fmt.Sprintf("Сканер подключён к USB (порт %s). Сканируйте через SANE: его устройство SANE содержит «%s».", u.Port, u.SANEBusID())}
		if u.IPPUSB {
			d.Spec = "ippusb:" + strings.TrimPrefix(u.ID(), "usb:")
			d.Note = fmt.Sprintf("Сканер подключён к USB (порт %s) и понимает IPP over USB: драйвер не нужен.", u.Port)
		}
		out = append(out, d)
	}
	return out, nil
}

// SANEBusID is how SANE's USB backends name the device's place on the
// bus inside their device names, e.g. "libusb:001:005" in
// "fujitsu:libusb:001:005".
func (d Device) SANEBusID() string { return fmt.Sprintf("libusb:%03d:%03d", d.Bus, d.Address) }

// MatchesSANE tells whether a SANE device name (as scanimage -L prints
// it) is this USB device.
func (d Device) MatchesSANE(saneDevice string) bool {
	id := d.SANEBusID()
	for i := 0; i+len(id) <= len(saneDevice); i++ {
		if saneDevice[i:i+len(id)] == id && (i+len(id) == len(saneDevice) || saneDevice[i+len(id)] == ':') {
			return true
		}
	}
	return false
}
