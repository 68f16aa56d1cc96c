package audit

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Filter selects entries for an excerpt or a listing. Empty fields match
// everything.
type Filter struct {
	PPE        string
	Auditorium string
	Session    string
	Actor      string
	// Page selects the entries about one page (with PPE and Auditorium,
	// the page of that stack; alone, that page number in any stack).
	Page int
	// Action matches exactly, or every action under it when it ends with
	// "." ("page." matches "page.delete").
	Action string
	// Station adds the entries whose subject has no ППЭ (log.recovered,
	// station-wide events) when PPE or Auditorium is set: the РЦОИ should
	// see that the log was recovered even in a one-auditorium excerpt.
	Station bool
}

// Match reports whether e is selected.
func (f Filter) Match(e Entry) bool {
	if f.Actor != "" && e.Actor != f.Actor {
		return false
	}
	if f.Action != "" && e.Action != f.Action && !(strings.HasSuffix(f.Action, ".") && strings.HasPrefix(e.Action, f.Action)) {
		return false
	}
	if f.Session != "" && e.Subject.Session != f.Session {
		return false
	}
	if f.Page != 0 && e.Subject.Page != f.Page {
		return false
	}
	if f.PPE == "" && f.Auditorium == "" {
		return true
	}
	if f.Station && e.Subject.PPE == "" && e.Subject.Auditorium == "" {
		return true
	}
	return (f.PPE == "" || e.Subject.PPE == f.PPE) && (f.Auditorium == "" || e.Subject.Auditorium == f.Auditorium)
}

// Excerpt is a selection of entries from a log that verified, with the
// head of the log when the excerpt was made. Its JSON form carries each
// entry's text exactly as written, so the receiver can check each entry's
// hash (Check) and, given the full log, that the entries are in it and the
// log reaches the head (CheckLog).
type Excerpt struct {
	Head    Head    `json:"head"`
	Entries []Entry `json:"entries"`
}

// Excerpt verifies the whole log and returns the entries f selects. It
// refuses a log whose chain is broken: an excerpt vouches for the log.
func (l *Log) Excerpt(f Filter) (*Excerpt, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil, ErrClosed
	}
	fi, err := l.f.Stat()
	if err != nil {
		return nil, fmt.Errorf("audit excerpt: %w", err)
	}
	// The lock holds appends off, so the file ends at l.head.
	return excerpt(io.NewSectionReader(l.f, 0, fi.Size()), f, l.path)
}

// ReadExcerpt makes an excerpt from the log in data folder dir without
// opening it for appending, so it works while the station runs. An
// unfinished last line (an append in progress) is left out.
func ReadExcerpt(dir string, f Filter) (*Excerpt, error) {
	path := filepath.Join(dir, FileName)
	file, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("audit excerpt: %w", err)
	}
	defer file.Close()
	return excerpt(file, f, path)
}

func excerpt(r io.Reader, f Filter, path string) (*Excerpt, error) {
	x := &Excerpt{Entries: []Entry{}}
	res, err := Walk(r, func(e Entry) error {
		if f.Match(e) {
			x.Entries = append(x.Entries, e)
		}
		return nil
	})
	if err != nil {
		if IsBroken(err) {
			return nil, fmt.Errorf("audit excerpt: log %s %w", path, err)
		}
		return nil, fmt.Errorf("audit excerpt: %w", err)
	}
	x.Head = res.Head
	return x, nil
}

// Check verifies the excerpt by itself: every entry's hash, seqs rising
// and not past the head, prev links between entries with consecutive
// seqs, and the head's hash when the head entry is included.
func (x *Excerpt) Check() error {
	var last Entry
	for i, e := range x.Entries {
		if e.text == nil {
			return fmt.Errorf("excerpt entry %d: no text to check", i+1)
		}
		got, err := parseEntry(e.text)
		if err != nil {
			return fmt.Errorf("excerpt entry %d (seq %d): %v", i+1, e.Seq, err)
		}
		switch {
		case got.Seq < 1 || got.Seq > x.Head.Seq:
			return fmt.Errorf("excerpt entry %d: seq %d is outside the log's 1..%d", i+1, got.Seq, x.Head.Seq)
		case i > 0 && got.Seq <= last.Seq:
			return fmt.Errorf("excerpt entry %d: seq %d does not follow %d", i+1, got.Seq, last.Seq)
		case i > 0 && got.Seq == last.Seq+1 && got.Prev != last.Hash:
			return fmt.Errorf("excerpt entry %d: seq %d does not chain to seq %d", i+1, got.Seq, last.Seq)
		case got.Seq == 1 && got.Prev != ZeroHash:
			return fmt.Errorf("excerpt entry %d: the first entry's prev is not all zeros", i+1)
		case got.Seq == x.Head.Seq && got.Hash != x.Head.Hash:
			return fmt.Errorf("excerpt entry %d: seq %d is the head but its hash is not the head's", i+1, got.Seq)
		}
		last = got
	}
	return nil
}

// CheckLog verifies a full log and checks that it holds every entry of
// the excerpt, byte for byte, and reaches the excerpt's head. The log may
// have grown since the excerpt was made.
func (x *Excerpt) CheckLog(r io.Reader) error {
	if err := x.Check(); err != nil {
		return err
	}
	i := 0
	errStop := errors.New("stop")
	res, err := Walk(r, func(e Entry) error {
		for i < len(x.Entries) && x.Entries[i].Seq == e.Seq {
			if x.Entries[i].Hash != e.Hash {
				return fmt.Errorf("excerpt entry seq %d differs from the log's", e.Seq)
			}
			i++
		}
		if e.Seq == x.Head.Seq {
			if e.Hash != x.Head.Hash {
				return fmt.Errorf("excerpt head seq %d differs from the log's entry %d", x.Head.Seq, e.Seq)
			}
			return errStop
		}
		return nil
	})
	switch {
	case errors.Is(err, errStop):
		return nil
	case err != nil:
		return err
	case res.Head.Seq < x.Head.Seq:
		return fmt.Errorf("log ends at entry %d, before the excerpt's head %d", res.Head.Seq, x.Head.Seq)
	}
	return nil // an empty excerpt of an empty log
}
