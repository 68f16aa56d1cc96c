package hardwaretest_test

import (
	"context"
	"errors"
	"os"
	"testing"

	"giascan/hardware"
	"giascan/hardware/hardwaretest"
)

func TestMain(m *testing.M) {
	if path := os.Getenv(hardwaretest.FakeScanimageEnv); path != "" {
		os.Exit(hardwaretest.FakeScanimage(path, os.Args[1:]))
	}
	os.Exit(m.Run())
}

func TestSane(t *testing.T) {
	hardwaretest.Run(t, func(t *testing.T, s hardwaretest.Stack) hardware.Scanner {
		return hardwaretest.OpenFakeSANE(t, s)
	})
}

// The fake feeder itself: a stack of 3 gives 3 pages, then none.
func TestFakeStack(t *testing.T) {
	dev := hardwaretest.OpenFakeSANE(t, hardwaretest.Stack{Pages: 3})
	for i, want := range []int{3, 0} {
		n := 0
		err := dev.Scan(context.Background(), hardware.Options{DPI: 50}, func(hardware.Page) error { n++; return nil })
		if err != nil && !errors.Is(err, context.Canceled) || n != want {
			t.Fatalf("run %d: %d pages, %v", i+1, n, err)
		}
	}
}
