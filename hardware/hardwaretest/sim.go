package hardwaretest

import (
	"context"
	"testing"

	"giascan/hardware"
	"giascan/hardware/sim"
)

// OpenSim loads a simulated feeder with s: the device behind the suite's
// runs of servers and transports (the eSCL server, the USB pipe).
func OpenSim(t *testing.T, s Stack) *sim.ADF {
	t.Helper()
	// The simulator plans at least one page; an empty feeder is one whose
	// only page was scanned already.
	a, err := sim.New(3, max(s.Pages, 1), sim.Settings{Profile: sim.Clean}, sim.Faults{GoneAfter: s.GoneAfter})
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
