package hardwaretest_test

import (
	"testing"

	"giascan/hardware"
	"giascan/hardware/hardwaretest"
)

// TestESCL runs the suite on the eSCL adapter talking over HTTP to the
// eSCL server serving a simulated feeder: both ends of the scan agent.
// Unplugged, the feeder stays down on the agent's side until the station
// opens the scanner again and starts a job: the agent then reopens it.
func TestESCL(t *testing.T) {
	hardwaretest.Run(t, func(t *testing.T, s hardwaretest.Stack) hardware.Scanner {
		return overESCL(t, hardwaretest.OpenSim(t, s), hardwaretest.ReplugSpec)
	}, hardwaretest.Caps{Reopen: hardwaretest.Replug})
}

// TestESCLServingSANE runs the suite on the eSCL adapter against the eSCL
// server serving SANE's test device (with a finite feeder): a station
// scanning, over the network, a PC that drives its scanner through SANE.
// The device dropping off the bus is replugged on the agent's side when
// the next job comes.
func TestESCLServingSANE(t *testing.T) {
	hardwaretest.Run(t, func(t *testing.T, s hardwaretest.Stack) hardware.Scanner {
		fake := hardwaretest.NewFakeSANE(t, s)
		dev, err := fake.Open()
		if err != nil {
			t.Fatal(err)
		}
		return overESCL(t, dev, func(hardware.Scanner) (hardware.Scanner, error) {
			if err := fake.Replug(); err != nil {
				return nil, err
			}
			return fake.Open()
		})
	}, hardwaretest.Caps{Reopen: hardwaretest.Replug})
}

// overESCL serves a scanner with the eSCL server and opens the eSCL
// adapter on it.
func overESCL(t *testing.T, scanner hardware.Scanner, reopen func(hardware.Scanner) (hardware.Scanner, error)) hardware.Scanner {
	dev, err := hardware.Open(hardwaretest.ServeESCL(t, scanner, reopen))
	if err != nil {
		t.Fatal(err)
	}
	return dev
}
