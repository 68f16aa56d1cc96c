package audit

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// ClockTolerance is how far an entry's time may lie before the previous
// entry's without a warning. Small steps back come from clock
// synchronisation; a larger one means the clock was set back, which the
// руководитель should see, but it does not make the record false, so it is
// a warning and not a broken entry.
const ClockTolerance = 5 * time.Second

// BrokenError names the first entry of a log that does not verify.
type BrokenError struct {
	// Seq is the seq the entry carries, or the seq expected at its line
	// when the line cannot be read.
	Seq int64
	// Line is the line number in the file, from 1.
	Line int
	// Reason says what is wrong, in one line.
	Reason string
}

// Error says where the log breaks and why, in one line.
func (e *BrokenError) Error() string {
	return fmt.Sprintf("broken at entry %d (line %d): %s", e.Seq, e.Line, e.Reason)
}

// Head is the last entry of a log: its seq and hash. The zero Head is an
// empty log.
type Head struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

// Warning is something Verify reports without failing: a clock step back
// or an unfinished last line.
type Warning struct {
	Seq  int64 // entry it concerns; 0 for the unfinished last line
	Line int
	Text string
}

// String says what the warning is about and where, in one line.
func (w Warning) String() string {
	if w.Seq == 0 {
		return fmt.Sprintf("line %d: %s", w.Line, w.Text)
	}
	return fmt.Sprintf("entry %d (line %d): %s", w.Seq, w.Line, w.Text)
}

// Result is what Verify found in the part of the log that verifies.
type Result struct {
	// Entries is the number of entries that verify.
	Entries int64
	// Head is the last entry that verifies.
	Head Head
	// Partial is the length in bytes of an unfinished last line (no "\n"),
	// left by an append that never returned; it is not an entry. Open cuts
	// it off.
	Partial int64
	// Warnings are in log order.
	Warnings []Warning
}

// Verify reads a whole log and checks its chain. It returns a *BrokenError
// for the first entry that does not verify, together with the Result of
// the entries before it; other errors are read errors.
func Verify(r io.Reader) (Result, error) {
	return Walk(r, nil)
}

// VerifyFile verifies the log file at path.
func VerifyFile(path string) (Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return Result{}, fmt.Errorf("audit log: %w", err)
	}
	defer f.Close()
	return Verify(f)
}

// Walk verifies a log like Verify and calls fn with each entry that
// verifies, in order. An error from fn stops the walk and is returned as
// is.
func Walk(r io.Reader, fn func(Entry) error) (Result, error) {
	var res Result
	br := bufio.NewReaderSize(r, 64<<10)
	prev := Head{Hash: ZeroHash}
	var prevTime time.Time
	var line []byte
	for lineNo := 1; ; lineNo++ {
		// Read one line, keeping at most MaxEntrySize+1 bytes of it so a
		// damaged file cannot exhaust memory, but counting all of them.
		line = line[:0]
		var n int64
		var err error
		for {
			var chunk []byte
			chunk, err = br.ReadSlice('\n')
			n += int64(len(chunk))
			if room := MaxEntrySize + 1 - len(line); room > 0 {
				line = append(line, chunk[:min(room, len(chunk))]...)
			}
			if err != bufio.ErrBufferFull {
				break
			}
		}
		if err == io.EOF {
			if n > 0 {
				res.Partial = n
				res.Warnings = append(res.Warnings, Warning{Line: lineNo,
					Text: fmt.Sprintf("unfinished last line of %d bytes without a newline (an append cut short; Open drops it)", n)})
			}
			return res, nil
		}
		if err != nil {
			return res, fmt.Errorf("read audit log at line %d: %w", lineNo, err)
		}
		want := prev.Seq + 1
		broken := func(seq int64, format string, a ...any) (Result, error) {
			return res, &BrokenError{Seq: seq, Line: lineNo, Reason: fmt.Sprintf(format, a...)}
		}
		if n > MaxEntrySize+1 {
			return broken(want, "line of %d bytes, longer than an entry may be", n)
		}
		body := line[:len(line)-1]
		if len(body) == 0 {
			return broken(want, "empty line")
		}
		e, perr := parseEntry(body)
		if perr != nil {
			return broken(want, "%v", perr)
		}
		if e.Seq != want {
			return broken(e.Seq, "seq %d where %d was expected (entries missing, inserted or out of order)", e.Seq, want)
		}
		if e.Prev != prev.Hash {
			if want == 1 {
				return broken(e.Seq, "prev %s of the first entry is not all zeros", short(e.Prev))
			}
			return broken(e.Seq, "prev %s is not the hash %s of entry %d", short(e.Prev), short(prev.Hash), prev.Seq)
		}
		if !prevTime.IsZero() && prevTime.Sub(e.Time) > ClockTolerance {
			res.Warnings = append(res.Warnings, Warning{Seq: e.Seq, Line: lineNo,
				Text: fmt.Sprintf("time %s is %v before the previous entry's (clock set back?)", e.Time.Format(TimeLayout), prevTime.Sub(e.Time))})
		}
		if fn != nil {
			if err := fn(e); err != nil {
				return res, err
			}
		}
		prev = Head{Seq: e.Seq, Hash: e.Hash}
		prevTime = e.Time
		res.Entries++
		res.Head = prev
	}
}

// IsBroken reports whether err says the log's chain is broken, as opposed
// to the log being unreadable.
func IsBroken(err error) bool {
	var be *BrokenError
	return errors.As(err, &be)
}
