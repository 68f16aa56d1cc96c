package usb

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/google/gousb"

	"giascan/hardware"
	"giascan/hardware/escl"
)

func init() {
	hardware.Register("ippusb", func(arg string) (hardware.Scanner, error) { return OpenIPPUSB(arg) })
}

// The interface of IPP over USB.
const (
	classPrinter    = 7
	subclassPrinter = 1
	protocolIPPUSB  = 4
)

// ippUSB is where the IPP-over-USB interface of a device is.
type ippUSB struct {
	config, intf, alt int
	in, out           int // bulk endpoint numbers
}

// findIPPUSB finds the first IPP-over-USB interface with a bulk pair.
func findIPPUSB(d *gousb.DeviceDesc) (ippUSB, bool) {
	nums := make([]int, 0, len(d.Configs))
	for n := range d.Configs {
		nums = append(nums, n)
	}
	slices.Sort(nums)
	for _, n := range nums {
		for _, intf := range d.Configs[n].Interfaces {
			for _, alt := range intf.AltSettings {
				if alt.Class != classPrinter || alt.SubClass != subclassPrinter || alt.Protocol != protocolIPPUSB {
					continue
				}
				found := ippUSB{config: n, intf: intf.Number, alt: alt.Alternate, in: -1, out: -1}
				for _, ep := range alt.Endpoints {
					if ep.TransferType != gousb.TransferTypeBulk {
						continue
					}
					if ep.Direction == gousb.EndpointDirectionIn {
						found.in = ep.Number
					} else {
						found.out = ep.Number
					}
				}
				if found.in >= 0 && found.out >= 0 {
					return found, true
				}
			}
		}
	}
	return ippUSB{}, false
}

// OpenIPPUSB opens a scanner that speaks eSCL over IPP-over-USB, with no
// driver: the spec argument is the USB device's ID without "usb:", e.g.
// "04f9:0468@1-2" (discovery lists it as ippusb:…). The device stays
// claimed until the scanner is closed; an unplugged one is opened again
// by its spec once it is back (see hardware.Scanner).
func OpenIPPUSB(arg string) (*escl.Scanner, error) {
	vid, pid, port, err := parseID(arg)
	if err != nil {
		return nil, err
	}
	uctx := gousb.NewContext()
	var where ippUSB
	devs, err := uctx.OpenDevices(func(d *gousb.DeviceDesc) bool {
		if uint16(d.Vendor) != vid || uint16(d.Product) != pid || fromDesc(d).Port != port {
			return false
		}
		var ok bool
		where, ok = findIPPUSB(d)
		return ok
	})
	if len(devs) == 0 {
		uctx.Close()
		if err == nil {
			err = errors.New("not plugged in, or without an IPP-over-USB interface")
		}
		return nil, fmt.Errorf("ippusb %s: сканер не найден на USB: %w", arg, err)
	}
	for _, d := range devs[1:] {
		d.Close()
	}
	dev := devs[0]
	fail := func(err error) (*escl.Scanner, error) {
		dev.Close()
		uctx.Close()
		return nil, fmt.Errorf("ippusb %s: %w (нужны права на устройство USB: правило udev или запуск от root)", arg, err)
	}
	_ = dev.SetAutoDetach(true) // the kernel's usblp may hold the interface
	cfg, err := dev.Config(where.config)
	if err != nil {
		return fail(err)
	}
	intf, err := cfg.Interface(where.intf, where.alt)
	if err != nil {
		cfg.Close()
		return fail(err)
	}
	release := func() error {
		intf.Close()
		cfg.Close()
		err := dev.Close()
		uctx.Close()
		return err
	}
	in, err := intf.InEndpoint(where.in)
	if err != nil {
		release()
		return nil, fmt.Errorf("ippusb %s: %w", arg, err)
	}
	out, err := intf.OutEndpoint(where.out)
	if err != nil {
		release()
		return nil, fmt.Errorf("ippusb %s: %w", arg, err)
	}
	client := &http.Client{Transport: NewBulkTransport(struct {
		*gousb.InEndpoint
		*gousb.OutEndpoint
	}{in, out})}
	ctx, cancel := context.WithTimeout(context.Background(), escl.OpenTimeout)
	defer cancel()
	s, err := escl.New(ctx, escl.Config{URL: "http://localhost/eSCL", Client: client, Close: release})
	if err != nil {
		release()
		return nil, err
	}
	return s, nil
}

// parseID reads "VVVV:PPPP@PORT".
func parseID(arg string) (vid, pid uint16, port string, err error) {
	ids, port, ok := strings.Cut(strings.TrimPrefix(arg, "usb:"), "@")
	v, p, ok2 := strings.Cut(ids, ":")
	vv, err1 := strconv.ParseUint(v, 16, 16)
	pp, err2 := strconv.ParseUint(p, 16, 16)
	if !ok || !ok2 || err1 != nil || err2 != nil || port == "" {
		return 0, 0, "", fmt.Errorf("ippusb: %q не похоже на VVVV:PPPP@ПОРТ (выберите сканер из списка найденных)", arg)
	}
	return uint16(vv), uint16(pp), port, nil
}
