package hardwaretest

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"

	"giascan/hardware"
	"giascan/hardware/escl"
	"giascan/hardware/sim"
)

// OpenSim loads a simulated feeder with s: the device behind the suite's
// runs of servers and transports (the eSCL server, the USB pipe). It is
// opened by spec, so that ReplugSpec opens it again after an unplug.
func OpenSim(t *testing.T, s Stack) *sim.ADF {
	t.Helper()
	// The simulator plans at least one page; an empty feeder is one whose
	// only page was scanned already.
	a, err := sim.Open(fmt.Sprintf("seed=3,count=%d,profile=clean,gone=%d", max(s.Pages, 1), s.GoneAfter))
	if err != nil {
		t.Fatal(err)
	}
	if s.Pages == 0 {
		drop := func(hardware.Page) error { return nil }
		if err := a.Scan(context.Background(), hardware.Options{}, drop); err != nil {
			t.Fatal(err)
		}
	}
	return a
}

// ReplugSpec opens a device that went away again by the spec it was
// opened with (hardware.Reopen): what an eSCL server serving it is given
// as its Reopen.
func ReplugSpec(gone hardware.Scanner) (hardware.Scanner, error) {
	spec := gone.Device().Spec
	if spec == "" {
		return nil, fmt.Errorf("%s was not opened by spec and cannot be opened again", gone.Device().ID)
	}
	return hardware.Reopen(spec, gone)
}

// Replug is Caps.Reopen for a device opened by spec.
func Replug(t *testing.T, gone hardware.Scanner) hardware.Scanner {
	t.Helper()
	s, err := ReplugSpec(gone)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// ServeESCL serves dev with the eSCL server, as the scan agent does, until
// t ends, reopening it with reopen after an unplug (ReplugSpec for a device
// opened by spec), and returns the spec that opens it from a station:
// escl:URL.
func ServeESCL(t *testing.T, dev hardware.Scanner, reopen func(hardware.Scanner) (hardware.Scanner, error)) string {
	t.Helper()
	srv := escl.NewServer(dev, nil)
	srv.Reopen = reopen
	web := httptest.NewServer(srv)
	t.Cleanup(func() {
		srv.Close()
		web.Close()
	})
	return "escl:" + web.URL + escl.Root
}
