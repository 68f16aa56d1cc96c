package imagein

import "fmt"

// recoverTo turns a panic in pure-Go parsing code (pdfcpu, x/image/ccitt)
// on hostile input into an ErrCorrupt error for that file or page, so one
// bad scan never stops a batch. It must be deferred directly.
func recoverTo(err *error, what string) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%w: %s: %v", ErrCorrupt, what, r)
	}
}
