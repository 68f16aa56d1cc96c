package serials

import (
	"encoding/binary"
	"errors"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestAllocateContinuesAcrossRuns(t *testing.T) {
	dir := t.TempDir()
	a, err := Allocate(dir, PrintJob{What: "kits", Pages: 45}, 45, 15)
	if err != nil {
		t.Fatal(err)
	}
	if a.Serials != (Range{1, 45}) || a.Kits != (Range{1, 15}) || a.ID != 1 || a.Status != JobAllocated {
		t.Fatalf("first job: %+v", a)
	}
	// Another page type, another "run": the same serial counter.
	b, err := Allocate(dir, PrintJob{What: "form 51", Pages: 1}, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if b.Serials != (Range{46, 46}) || b.Kits.Count() != 0 || b.ID != 2 {
		t.Fatalf("second job: %+v", b)
	}
	c, err := Allocate(dir, PrintJob{What: "kits"}, 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	if c.Serials != (Range{47, 49}) || c.Kits != (Range{16, 16}) {
		t.Fatalf("third job: %+v", c)
	}
	s, k, err := Counters(dir)
	if err != nil || s != 49 || k != 16 {
		t.Fatalf("counters %d %d %v, want 49 16", s, k, err)
	}
}

func TestAllocateConcurrentBlocksAreDisjoint(t *testing.T) {
	dir := t.TempDir()
	const workers, each = 8, 5
	var wg sync.WaitGroup
	got := make([]PrintJob, workers)
	errs := make([]error, workers)
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = Allocate(dir, PrintJob{What: "kits"}, 3*each, each)
		}()
	}
	wg.Wait()
	seenSerial := map[uint64]bool{}
	seenKit := map[uint64]bool{}
	for i, j := range got {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		for n := j.Serials.First; n <= j.Serials.Last; n++ {
			if seenSerial[n] {
				t.Fatalf("serial %d handed out twice", n)
			}
			seenSerial[n] = true
		}
		for n := j.Kits.First; n <= j.Kits.Last; n++ {
			if seenKit[n] {
				t.Fatalf("kit %d handed out twice", n)
			}
			seenKit[n] = true
		}
	}
	if len(seenSerial) != workers*3*each || len(seenKit) != workers*each {
		t.Fatalf("%d serials, %d kits", len(seenSerial), len(seenKit))
	}
}

func setCounter(t *testing.T, dir string, key []byte, v uint64) {
	t.Helper()
	db, err := bolt.Open(DBPath(dir), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketCounters)
		if err != nil {
			return err
		}
		return b.Put(key, binary.BigEndian.AppendUint64(nil, v))
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestAllocateRefusesWhenExhausted(t *testing.T) {
	dir := t.TempDir()
	setCounter(t, dir, keySerial, MaxNumber-10)
	if _, err := Allocate(dir, PrintJob{What: "kits"}, 12, 4); !errors.Is(err, ErrExhausted) {
		t.Fatalf("12 serials with 10 left: %v, want ErrExhausted", err)
	}
	// The failed transaction changed nothing: no job, same counters.
	if jobs, err := Jobs(dir); err != nil || len(jobs) != 0 {
		t.Fatalf("jobs after refusal: %v %v", jobs, err)
	}
	if s, k, _ := Counters(dir); s != MaxNumber-10 || k != 0 {
		t.Fatalf("counters after refusal: %d %d", s, k)
	}
	j, err := Allocate(dir, PrintJob{What: "dbo"}, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	if j.Serials.Last != MaxNumber || j.Serials.String() != "9999999990–9999999999" {
		t.Fatalf("last block %v", j.Serials)
	}
	if _, err := Allocate(dir, PrintJob{What: "dbo"}, 1, 0); !errors.Is(err, ErrExhausted) {
		t.Fatalf("after the last serial: %v, want ErrExhausted", err)
	}

	setCounter(t, dir, keyKit, MaxNumber)
	if _, err := Allocate(dir, PrintJob{What: "kits"}, 0, 1); !errors.Is(err, ErrExhausted) {
		t.Fatalf("kits after the last: %v, want ErrExhausted", err)
	}
}

func TestAllocateFailsFastWhenLocked(t *testing.T) {
	dir := t.TempDir()
	if _, err := Allocate(dir, PrintJob{What: "kits"}, 3, 1); err != nil {
		t.Fatal(err)
	}
	old := lockTimeout
	lockTimeout = 200 * time.Millisecond
	defer func() { lockTimeout = old }()
	// flock is per open file, so a second handle in this process stands in
	// for another station process.
	db, err := bolt.Open(DBPath(dir), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	start := time.Now()
	_, err = Allocate(dir, PrintJob{What: "kits"}, 3, 1)
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("locked database: %v, want ErrBusy", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("waited %s for the lock", time.Since(start))
	}
	if _, err := Jobs(dir); !errors.Is(err, ErrBusy) {
		t.Fatalf("listing a locked database: %v, want ErrBusy", err)
	}
}

func TestJobsRecordOutcome(t *testing.T) {
	dir := t.TempDir()
	if jobs, err := Jobs(dir); err != nil || jobs != nil {
		t.Fatalf("empty folder: %v %v", jobs, err)
	}
	at := time.Date(2025, 5, 20, 9, 30, 0, 0, time.UTC)
	a, err := Allocate(dir, PrintJob{What: "kits", Level: 9, Region: "11", PPE: "0101", Auditorium: "0012",
		Subject: "02", Date: "20250527", Pages: 6, Output: "/tmp/kits.pdf", Allocated: at}, 6, 2)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Allocate(dir, PrintJob{What: "dbo", Kit: "0000000001", FirstSheet: 3, Pages: 1}, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := Finish(dir, a.ID, nil); err != nil {
		t.Fatal(err)
	}
	if err := Finish(dir, b.ID, errors.New("disk full")); err != nil {
		t.Fatal(err)
	}
	if err := Finish(dir, 99, nil); err == nil {
		t.Error("finishing an unknown job: want an error")
	}
	jobs, err := Jobs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 2 {
		t.Fatalf("%d jobs, want 2", len(jobs))
	}
	j := jobs[0]
	if j.ID != a.ID || j.What != "kits" || j.Status != JobPrinted || j.Serials != (Range{1, 6}) ||
		j.Kits != (Range{1, 2}) || !j.Allocated.Equal(at) || j.Finished.IsZero() || j.Region != "11" || j.Output != "/tmp/kits.pdf" {
		t.Errorf("job 1: %+v", j)
	}
	j = jobs[1]
	if j.Status != JobFailed || j.Error != "disk full" || j.Kit != "0000000001" || j.FirstSheet != 3 || j.Serials != (Range{7, 7}) {
		t.Errorf("job 2: %+v", j)
	}
}

func TestAllocateRefusesNothing(t *testing.T) {
	if _, err := Allocate(t.TempDir(), PrintJob{}, 0, 0); err == nil {
		t.Error("zero numbers: want an error")
	}
	if _, err := Allocate(t.TempDir(), PrintJob{}, -1, 2); err == nil {
		t.Error("negative count: want an error")
	}
}

func TestRange(t *testing.T) {
	if (Range{}).Count() != 0 || (Range{}).String() != "none" || (Range{}).Contains(0) {
		t.Error("zero range is not empty")
	}
	r := Range{5, 7}
	if r.Count() != 3 || !r.Contains(5) || !r.Contains(7) || r.Contains(8) || r.At(2) != 7 {
		t.Errorf("range %v", r)
	}
	if (Range{12, 12}).String() != "0000000012" {
		t.Errorf("single %s", Range{12, 12})
	}
}
