// Package serials keeps the counters of a station's data folder:
// the counters that number printed pages and participant kits, and the
// record of what was printed.
package serials

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"giascan/station/layout"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// DBName is the file name of the station database inside the data folder.
const DBName = layout.SerialsDB

// MaxNumber is the largest serial or kit number: both are printed as
// exactly 10 digits.
const MaxNumber = 9_999_999_999

// lockTimeout bounds the wait for another process holding the database.
// Allocation takes milliseconds, so a longer wait means a stuck process,
// and the operator is better served by an error than by a hung command.
var lockTimeout = 3 * time.Second

// Errors that callers tell apart.
var (
	// ErrBusy means another process holds the station database.
	ErrBusy = errors.New("station database is in use by another process")
	// ErrExhausted means a counter cannot grant the numbers asked for.
	ErrExhausted = errors.New("numbers exhausted")
)

// Buckets and keys of the database. Counters hold the last number handed
// out (big-endian uint64); 0 is never handed out because kit 0000000000
// means "no kit" in the layout contract.
var (
	bucketCounters = []byte("counters")
	bucketJobs     = []byte("print_jobs")
	keySerial      = []byte("serial")
	keyKit         = []byte("kit")
)

// Range is an inclusive range of serials or kit numbers. The zero Range is
// empty.
type Range struct {
	First uint64 `json:"first,omitempty"`
	Last  uint64 `json:"last,omitempty"`
}

// Count is the number of numbers in the range.
func (r Range) Count() uint64 {
	if r.First == 0 || r.Last < r.First {
		return 0
	}
	return r.Last - r.First + 1
}

// Contains tells whether n is in the range.
func (r Range) Contains(n uint64) bool { return r.Count() > 0 && n >= r.First && n <= r.Last }

// At returns the i-th number of the range (0-based).
func (r Range) At(i int) uint64 { return r.First + uint64(i) }

// String writes the range as printed numbers, "0000000001–0000000045".
func (r Range) String() string {
	switch r.Count() {
	case 0:
		return "none"
	case 1:
		return fmt.Sprintf("%010d", r.First)
	}
	return fmt.Sprintf("%010d–%010d", r.First, r.Last)
}

// Statuses of a print job.
const (
	JobAllocated = "allocated" // numbers granted, output not (yet) written
	JobPrinted   = "printed"   // the output file was written
	JobFailed    = "failed"    // writing the output failed; the numbers stay used
)

// PrintJob is the audit record of one print command: what was printed for
// which exam, where to, and which serials and kit numbers it used.
type PrintJob struct {
	ID   uint64 `json:"id"`   // assigned by Allocate, increasing
	What string `json:"what"` // e.g. "kits", "dbo", "form 51"

	Level      int    `json:"level,omitempty"`
	Region     string `json:"region,omitempty"`
	PPE        string `json:"ppe,omitempty"`
	Auditorium string `json:"auditorium,omitempty"`
	Subject    string `json:"subject,omitempty"`
	Date       string `json:"date,omitempty"` // YYYYMMDD
	// Kit and FirstSheet name the kit and first sheet number of additional
	// sheets (ДБО №2), which belong to a kit printed earlier.
	Kit        string `json:"kit,omitempty"`
	FirstSheet int    `json:"first_sheet,omitempty"`

	Pages  int    `json:"pages"`
	Output string `json:"output,omitempty"`

	Serials Range `json:"serials"`
	Kits    Range `json:"kits"`

	Status    string    `json:"status"`
	Error     string    `json:"error,omitempty"`
	Allocated time.Time `json:"allocated"`
	Finished  time.Time `json:"finished,omitzero"`
}

// DBPath is the station database of a data folder.
func DBPath(dir string) string { return filepath.Join(dir, DBName) }

// open opens the database for one short transaction. It is never kept open:
// several station commands (print, scan, audit) run as separate processes
// on the same folder and take turns.
func open(dir string, readOnly bool) (*bolt.DB, error) {
	path := DBPath(dir)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout, ReadOnly: readOnly})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("%w: %s is locked for more than %s; wait for the other station command to finish", ErrBusy, path, lockTimeout)
	}
	if err != nil {
		return nil, fmt.Errorf("open station database %s: %w", path, err)
	}
	return db, nil
}

// Allocate grants a block of serials and a block of kit numbers for one print
// job and records the job, all in one transaction: either the numbers are
// used up and the job is on record, or nothing changed. Serials come from
// one counter for every page type, so no serial repeats within the data
// folder. The folder is created when missing.
//
// The returned job has its ID, ranges, status JobAllocated and allocation
// time set; the caller reports the outcome with Finish.
func Allocate(dir string, job PrintJob, serials, kits int) (PrintJob, error) {
	if serials < 0 || kits < 0 || serials+kits == 0 {
		return PrintJob{}, fmt.Errorf("allocate %d serials and %d kit numbers: nothing to do", serials, kits)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return PrintJob{}, fmt.Errorf("station data folder: %w", err)
	}
	db, err := open(dir, false)
	if err != nil {
		return PrintJob{}, err
	}
	defer db.Close()
	if job.Allocated.IsZero() {
		job.Allocated = time.Now()
	}
	job.Status = JobAllocated
	err = db.Update(func(tx *bolt.Tx) error {
		counters, err := tx.CreateBucketIfNotExists(bucketCounters)
		if err != nil {
			return err
		}
		jobs, err := tx.CreateBucketIfNotExists(bucketJobs)
		if err != nil {
			return err
		}
		if job.Serials, err = take(counters, keySerial, "serials", serials); err != nil {
			return err
		}
		if job.Kits, err = take(counters, keyKit, "kit numbers", kits); err != nil {
			return err
		}
		if job.ID, err = jobs.NextSequence(); err != nil {
			return err
		}
		return putJob(jobs, job)
	})
	if err != nil {
		return PrintJob{}, fmt.Errorf("allocate numbers in %s: %w", DBPath(dir), err)
	}
	return job, nil
}

// take advances a counter by n and returns the numbers granted.
func take(b *bolt.Bucket, key []byte, what string, n int) (Range, error) {
	if n == 0 {
		return Range{}, nil
	}
	var last uint64
	if v := b.Get(key); v != nil {
		if len(v) != 8 {
			return Range{}, fmt.Errorf("counter of %s is corrupt (%d bytes)", what, len(v))
		}
		last = binary.BigEndian.Uint64(v)
	}
	if last > MaxNumber || uint64(n) > MaxNumber-last {
		return Range{}, fmt.Errorf("%w: %d %s asked for, %d left of 10 digits", ErrExhausted, n, what, MaxNumber-min(last, MaxNumber))
	}
	r := Range{First: last + 1, Last: last + uint64(n)}
	if err := b.Put(key, binary.BigEndian.AppendUint64(nil, r.Last)); err != nil {
		return Range{}, err
	}
	return r, nil
}

func jobKey(id uint64) []byte { return binary.BigEndian.AppendUint64(nil, id) }

func putJob(b *bolt.Bucket, job PrintJob) error {
	v, err := json.Marshal(job)
	if err != nil {
		return fmt.Errorf("encode print job: %w", err)
	}
	return b.Put(jobKey(job.ID), v)
}

// Finish records the outcome of a print job: printed when printErr is nil,
// failed with its message otherwise. The numbers of a failed job are never
// handed out again: pages with them may exist half-printed.
func Finish(dir string, id uint64, printErr error) error {
	db, err := open(dir, false)
	if err != nil {
		return err
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		jobs := tx.Bucket(bucketJobs)
		if jobs == nil {
			return fmt.Errorf("print job %d is not on record", id)
		}
		v := jobs.Get(jobKey(id))
		if v == nil {
			return fmt.Errorf("print job %d is not on record", id)
		}
		var job PrintJob
		if err := json.Unmarshal(v, &job); err != nil {
			return fmt.Errorf("print job %d: %w", id, err)
		}
		job.Finished = time.Now()
		job.Status, job.Error = JobPrinted, ""
		if printErr != nil {
			job.Status, job.Error = JobFailed, printErr.Error()
		}
		return putJob(jobs, job)
	})
	if err != nil {
		return fmt.Errorf("record print job outcome in %s: %w", DBPath(dir), err)
	}
	return nil
}

// Jobs lists the recorded print jobs, oldest first. A data folder without
// a database has printed nothing.
func Jobs(dir string) ([]PrintJob, error) {
	if _, err := os.Stat(DBPath(dir)); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	db, err := open(dir, true)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	var out []PrintJob
	err = db.View(func(tx *bolt.Tx) error {
		jobs := tx.Bucket(bucketJobs)
		if jobs == nil {
			return nil
		}
		return jobs.ForEach(func(k, v []byte) error {
			var job PrintJob
			if err := json.Unmarshal(v, &job); err != nil {
				return fmt.Errorf("print job %x: %w", k, err)
			}
			out = append(out, job)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list print jobs in %s: %w", DBPath(dir), err)
	}
	return out, nil
}

// Counters returns the last serial and the last kit number handed out in a
// data folder (0 when none), for audits and for the operator.
func Counters(dir string) (lastSerial, lastKit uint64, err error) {
	if _, err := os.Stat(DBPath(dir)); errors.Is(err, os.ErrNotExist) {
		return 0, 0, nil
	}
	db, err := open(dir, true)
	if err != nil {
		return 0, 0, err
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketCounters)
		if b == nil {
			return nil
		}
		for _, c := range []struct {
			key []byte
			dst *uint64
		}{{keySerial, &lastSerial}, {keyKit, &lastKit}} {
			if v := b.Get(c.key); v != nil {
				if len(v) != 8 {
					return fmt.Errorf("counter %s is corrupt (%d bytes)", c.key, len(v))
				}
				*c.dst = binary.BigEndian.Uint64(v)
			}
		}
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("read counters in %s: %w", DBPath(dir), err)
	}
	return lastSerial, lastKit, nil
}
