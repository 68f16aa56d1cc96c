package hardwaretest_test

import (
	"context"
	"net/http/httptest"
	"testing"

	"giascan/hardware"
	"giascan/hardware/escl"
	"giascan/hardware/hardwaretest"
)

// TestESCL runs the suite on the eSCL adapter talking over HTTP to the
// eSCL server serving a simulated feeder: both ends of the scan agent.
func TestESCL(t *testing.T) {
	hardwaretest.Run(t, func(t *testing.T, s hardwaretest.Stack) hardware.Scanner {
		return overESCL(t, hardwaretest.OpenSim(t, s))
	})
}

// TestESCLServingSANE runs the suite on the eSCL adapter against the eSCL
// server serving SANE's test device (with a finite feeder): a station
// scanning, over the network, a PC that drives its scanner through SANE.
func TestESCLServingSANE(t *testing.T) {
	hardwaretest.Run(t, func(t *testing.T, s hardwaretest.Stack) hardware.Scanner {
		return overESCL(t, hardwaretest.OpenFakeSANE(t, s))
	})
}

// overESCL serves a scanner with the eSCL server and opens the eSCL
// adapter on it.
func overESCL(t *testing.T, scanner hardware.Scanner) hardware.Scanner {
	srv := escl.NewServer(scanner, nil)
	web := httptest.NewServer(srv)
	t.Cleanup(func() {
		srv.Close()
		web.Close()
	})
	dev, err := escl.New(context.Background(), escl.Config{URL: web.URL + escl.Root})
	if err != nil {
		t.Fatal(err)
	}
	return dev
}
