package main

// Every scanner adapter the station can drive registers itself with the
// hardware package, with its discovery; the commands open devices only by
// spec (sim:…, sane:…, escl:…, folder:…, twain:…).
import _ "giascan/hardware/all"
