//go:build !unix

package station

// freeBytes is unknown where there is no statfs.
func freeBytes(string) int64 { return -1 }
