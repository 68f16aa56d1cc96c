// Package all links every scanner adapter of the station into a binary:
// importing it for its side effects registers each adapter and its
// discovery with the hardware registry.
//
//	import _ "giascan/hardware/all"
package all

import (
	_ "giascan/hardware/escl"   // eSCL network and IPP-USB scanners
	_ "giascan/hardware/folder" // watched folder
	_ "giascan/hardware/sane"   // SANE devices through scanimage
	_ "giascan/hardware/sim"    // the simulated feeder
	_ "giascan/hardware/usb"    // USB scanners: discovery, plug and unplug
)
