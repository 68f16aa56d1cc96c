//go:build !unix

package audit

import "os"

// lockFile does nothing where flock is not available: the station runs
// one process per data folder there.
func lockFile(f *os.File) error { return nil }
