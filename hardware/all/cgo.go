//go:build cgo

package all

import (
	_ "giascan/hardware/sim" // the simulated feeder
	_ "giascan/hardware/usb" // USB scanners: discovery, plug and unplug
)
