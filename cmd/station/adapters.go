package main

// Every scanner adapter the station can drive registers itself with the
// hardware package; the commands open devices only by spec (sim:…,
// sane:…, folder:…).
import (
	_ "giascan/hardware/folder"
	_ "giascan/hardware/sane"
	_ "giascan/hardware/sim"
)
