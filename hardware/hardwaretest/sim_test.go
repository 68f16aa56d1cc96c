package hardwaretest_test

import (
	"testing"

	"giascan/hardware"
	"giascan/hardware/hardwaretest"
)

func TestSim(t *testing.T) {
	hardwaretest.Run(t, func(t *testing.T, s hardwaretest.Stack) hardware.Scanner { return hardwaretest.OpenSim(t, s) },
		hardwaretest.Caps{Reopen: hardwaretest.Replug})
}
