package hardwaretest_test

import (
	"context"
	"testing"

	"giascan/hardware"
	"giascan/hardware/hardwaretest"
	"giascan/hardware/sim"
)

func TestSim(t *testing.T) {
	hardwaretest.Run(t, func(t *testing.T, s hardwaretest.Stack) hardware.Scanner { return openSim(t, s) })
}

// openSim loads a simulated feeder with s.
func openSim(t *testing.T, s hardwaretest.Stack) *sim.ADF {
	t.Helper()
	// The simulator plans at least one page; an empty feeder is one whose
	// only page was scanned already.
	count := max(s.Pages, 1)
	a, err := sim.New(3, count, sim.Settings{Profile: sim.Clean}, sim.Faults{GoneAfter: s.GoneAfter})
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
