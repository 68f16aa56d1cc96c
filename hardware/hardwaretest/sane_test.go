package hardwaretest_test

import (
	"context"
	"errors"
	"os"
	"testing"

	"giascan/hardware"
	"giascan/hardware/hardwaretest"
	"giascan/hardware/sane"
)

func TestMain(m *testing.M) {
	if path := os.Getenv(hardwaretest.FakeScanimageEnv); path != "" {
		os.Exit(hardwaretest.FakeScanimage(path, os.Args[1:]))
	}
	os.Exit(m.Run())
}

func TestSane(t *testing.T) {
	fakes := map[hardware.Scanner]*hardwaretest.FakeSANE{}
	hardwaretest.Run(t, func(t *testing.T, s hardwaretest.Stack) hardware.Scanner {
		fake := hardwaretest.NewFakeSANE(t, s)
		dev, err := fake.Open()
		if err != nil {
			t.Fatal(err)
		}
		fakes[dev] = fake
		return dev
	}, hardwaretest.Caps{Reopen: func(t *testing.T, gone hardware.Scanner) hardware.Scanner {
		fake := fakes[gone]
		if err := fake.Replug(); err != nil {
			t.Fatal(err)
		}
		dev, err := fake.Open()
		if err != nil {
			t.Fatal(err)
		}
		return dev
	}})
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

// A SANE device that dropped off the bus (the backend's I/O error) does
// not open while it is away, and opens with the rest of its stack once it
// is plugged in again.
func TestSaneUnpluggedDoesNotOpen(t *testing.T) {
	fake := hardwaretest.NewFakeSANE(t, hardwaretest.Stack{Pages: 3, GoneAfter: 1})
	dev, err := fake.Open()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	count := func(hardware.Page) error { n++; return nil }
	err = dev.Scan(context.Background(), hardware.Options{DPI: 50}, count)
	var f *hardware.Fault
	if !errors.As(err, &f) || f.Kind != hardware.DeviceGone || n != 1 {
		t.Fatalf("%d pages, %v; want 1 and the device gone", n, err)
	}
	if _, err := fake.Open(); err == nil {
		t.Fatal("the unplugged device opened")
	}
	if err := fake.Replug(); err != nil {
		t.Fatal(err)
	}
	var back *sane.Scanner
	if back, err = fake.Open(); err != nil {
		t.Fatalf("the replugged device: %v", err)
	}
	if err := back.Scan(context.Background(), hardware.Options{DPI: 50}, count); err != nil || n != 3 {
		t.Fatalf("%d pages in all, %v; want 3", n, err)
	}
}
