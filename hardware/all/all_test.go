package all_test

import (
	"slices"
	"testing"

	"giascan/hardware"
	_ "giascan/hardware/all"
)

func TestEveryAdapterIsLinked(t *testing.T) {
	for _, name := range []string{"escl", "folder", "sane", "sim"} {
		if !slices.Contains(hardware.Adapters(), name) {
			t.Errorf("adapter %s is not registered (have %v)", name, hardware.Adapters())
		}
	}
	for _, name := range []string{"sane", "sim", "usb"} {
		if !slices.Contains(hardware.Discoverers(), name) {
			t.Errorf("discovery of %s is not registered (have %v)", name, hardware.Discoverers())
		}
	}
}
