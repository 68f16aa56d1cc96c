// Package all links every scanner adapter of the station into a binary:
// importing it for its side effects registers each adapter and its
// discovery with the hardware registry.
//
//	import _ "giascan/hardware/all"
//
// The simulator (OpenCV) and USB discovery (libusb) need cgo; a binary
// built without it, such as the scan agent cross-compiled for Windows,
// has the other adapters.
package all

import (
	_ "giascan/hardware/escl"   // eSCL network and IPP-USB scanners
	_ "giascan/hardware/folder" // watched folder
	_ "giascan/hardware/sane"   // SANE devices through scanimage
	_ "giascan/hardware/twain"  // TWAIN data sources (Windows)
)
