package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"giascan/station/layout"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"
)

// FileName is the name of the audit log in the station data folder.
const FileName = layout.AuditLog

// Errors that callers tell apart.
var (
	// ErrBusy means another process has the audit log open for appending.
	ErrBusy = errors.New("audit log is in use by another process")
	// ErrClosed means the Log was closed.
	ErrClosed = errors.New("audit log is closed")
)

// recoveredKeep bounds how much of a dropped unfinished line is quoted in
// the log.recovered entry: enough to read what the lost append was.
const recoveredKeep = 4096

// Log is an audit log open for appending. Its methods are safe for
// concurrent use. Only one Log per file may be open at a time, in any
// process.
type Log struct {
	path string
	now  func() time.Time // the clock; tests replace it

	mu   sync.Mutex
	f    *os.File // nil once closed
	size int64    // bytes of whole entries in the file
	head Head
	err  error // a failed write or fsync: the file's end is unknown
}

// ReserveName is a file of zeros the log keeps beside itself. When the
// disk fills, the log removes it and writes its entry in the space freed,
// so a change already made never goes unrecorded; Ready refuses further
// changes until the reserve can be made again.
const ReserveName = FileName + ".reserve"

// ReserveSize is the space the reserve holds: room for many entries.
const ReserveSize = 256 << 10

// ErrNoSpace refuses a change while the disk is too full to record it.
var ErrNoSpace = errors.New("на диске с папкой данных нет места для журнала аудита: освободите место (или подключите другой диск) и повторите; ничего не изменено")

// Open opens the audit log in the data folder dir for appending, creating
// the folder and the log when missing. It verifies the whole log first: a
// broken chain is an error that wraps the *BrokenError, and nothing is
// appended after it. An unfinished last line left by a crash is cut off
// and a log.recovered entry records what was dropped.
func Open(dir string) (*Log, error) {
	if err := makeDir(dir); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, FileName)
	_, err := os.Lstat(path)
	created := errors.Is(err, os.ErrNotExist)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	if created {
		// The new file's name must be durable too, or the first entries
		// could vanish with it after a power loss.
		if err := syncDir(dir); err != nil {
			f.Close()
			return nil, err
		}
	}
	if err := lockFile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("audit log %s: %w", path, err)
	}
	l := &Log{path: path, now: time.Now, f: f}
	res, err := Verify(f)
	if err != nil {
		f.Close()
		if IsBroken(err) {
			return nil, fmt.Errorf("audit log %s %w; refusing to append after a broken chain", path, err)
		}
		return nil, fmt.Errorf("audit log %s: %w", path, err)
	}
	l.head = res.Head
	if fi, err := f.Stat(); err == nil {
		l.size = fi.Size() - res.Partial
	}
	l.makeReserve() // without room for it, Ready says so before any change
	if res.Partial > 0 {
		if err := l.recover(res.Partial); err != nil {
			f.Close()
			return nil, fmt.Errorf("audit log %s: recover unfinished last line: %w", path, err)
		}
	}
	return l, nil
}

// makeDir creates the data folder when missing and makes its name durable.
func makeDir(dir string) error {
	fi, err := os.Stat(dir)
	if err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("station data folder %s: not a folder", dir)
		}
		return nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("station data folder: %w", err)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("station data folder: %w", err)
	}
	return syncDir(filepath.Dir(filepath.Clean(dir)))
}

// syncDir fsyncs a folder so the names created in it survive a power loss.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync folder: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync folder %s: %w", dir, err)
	}
	return nil
}

// recover cuts off the unfinished last line of n bytes and records it.
func (l *Log) recover(n int64) error {
	fi, err := l.f.Stat()
	if err != nil {
		return err
	}
	end := fi.Size() - n
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(l.f, end, n)); err != nil {
		return err
	}
	keep := make([]byte, min(n, recoveredKeep))
	if _, err := l.f.ReadAt(keep, end); err != nil {
		return err
	}
	dropped := struct {
		Bytes     int64  `json:"bytes"`
		Offset    int64  `json:"offset"`
		SHA256    string `json:"sha256"`
		Text      string `json:"text,omitempty"`      // the bytes, when they are UTF-8 text
		Base64    []byte `json:"base64,omitempty"`    // the bytes otherwise (power loss may leave zeros)
		Truncated bool   `json:"truncated,omitempty"` // only the first bytes are quoted
	}{Bytes: n, Offset: end, SHA256: hex.EncodeToString(h.Sum(nil)), Truncated: n > recoveredKeep}
	if utf8.Valid(keep) {
		dropped.Text = string(keep)
	} else {
		dropped.Base64 = keep
	}
	before, err := json.Marshal(dropped)
	if err != nil {
		return err
	}
	if err := l.f.Truncate(end); err != nil {
		return err
	}
	if err := l.f.Sync(); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	_, err = l.appendLocked(Event{
		Actor:  Station,
		Action: ActionLogRecovered,
		Before: before,
		Reason: fmt.Sprintf("dropped %d bytes of an unfinished entry at the end of the log (an append interrupted by a crash or power loss)", n),
	})
	return err
}

// Append writes one entry for ev and returns it once it is on disk. When
// Append fails after writing began, the Log refuses further appends: the
// end of the file is unknown until it is opened again.
func (l *Log) Append(ev Event) (Entry, error) {
	if err := ev.validate(); err != nil {
		return Entry{}, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.appendLocked(ev)
}

func (l *Log) appendLocked(ev Event) (Entry, error) {
	if l.f == nil {
		return Entry{}, ErrClosed
	}
	if l.err != nil {
		return Entry{}, fmt.Errorf("audit log %s: an earlier write failed (%v); open the log again", l.path, l.err)
	}
	prev := l.head.Hash
	if l.head.Seq == 0 {
		prev = ZeroHash
	}
	e := Entry{
		Seq: l.head.Seq + 1, Time: l.now(), Actor: ev.Actor, Action: ev.Action, Subject: ev.Subject,
		Before: ev.Before, After: ev.After, Reason: ev.Reason, Prev: prev,
	}
	if err := encode(&e); err != nil {
		return Entry{}, err
	}
	// One write of the whole line: with O_APPEND and the lock, a crash
	// leaves at most this line unfinished, at the end of the file.
	buf := make([]byte, 0, len(e.text)+1)
	buf = append(buf, e.text...)
	buf = append(buf, '\n')
	if _, err := l.f.Write(buf); err != nil {
		// A full disk: cut what was written of the line, give up the
		// reserve and write it again in the space freed.
		if !errors.Is(err, syscall.ENOSPC) || l.f.Truncate(l.size) != nil || !l.dropReserve() {
			l.err = err
			return Entry{}, fmt.Errorf("append audit entry %d: %w", e.Seq, err)
		}
		if _, err := l.f.Write(buf); err != nil {
			l.err = err
			return Entry{}, fmt.Errorf("append audit entry %d: %w", e.Seq, err)
		}
	}
	if err := l.f.Sync(); err != nil {
		l.err = err
		return Entry{}, fmt.Errorf("append audit entry %d: fsync: %w", e.Seq, err)
	}
	l.head = Head{Seq: e.Seq, Hash: e.Hash}
	l.size += int64(len(buf))
	return e, nil
}

func (l *Log) reservePath() string { return filepath.Join(filepath.Dir(l.path), ReserveName) }

// makeReserve writes the reserve when it is missing or short; it tells
// whether the reserve is in place.
func (l *Log) makeReserve() bool {
	p := l.reservePath()
	if fi, err := os.Stat(p); err == nil && fi.Size() >= ReserveSize {
		return true
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return false
	}
	_, err = f.Write(make([]byte, ReserveSize))
	if err == nil {
		err = f.Sync()
	}
	f.Close()
	if err != nil {
		os.Remove(p)
		return false
	}
	return true
}

// dropReserve frees the reserve's space; it tells whether there was one.
func (l *Log) dropReserve() bool {
	if os.Remove(l.reservePath()) != nil {
		return false
	}
	syncDir(filepath.Dir(l.path))
	return true
}

// Ready tells whether the log can record a change: its reserve is in
// place or can be made again. Callers ask before changing anything, so
// a change and its entry both land or neither does.
func (l *Log) Ready() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return ErrClosed
	}
	if l.err != nil {
		return fmt.Errorf("журнал аудита не пишется (%v): перезапустите станцию", l.err)
	}
	if !l.makeReserve() {
		return ErrNoSpace
	}
	return nil
}

// Head returns the last entry written.
func (l *Log) Head() Head {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.head
}

// Path returns the path of the log file.
func (l *Log) Path() string { return l.path }

// Close closes the log. Every entry Append returned is already on disk.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return ErrClosed
	}
	err := l.f.Close() // also drops the lock
	l.f = nil
	if err != nil {
		return fmt.Errorf("close audit log: %w", err)
	}
	return nil
}
