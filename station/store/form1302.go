package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"

	"giascan/station/reconcile"
)

// Buckets of the operator's decisions that belong to no single page.
var (
	bucketForms   = []byte("form1302") // ППЭ code → Form1302 JSON
	bucketClosure = []byte("closure")  // place key → Closure JSON
	bucketReopen  = []byte("reopen")   // place key → []Reopen JSON, oldest first
)

// Form1302 is the ППЭ-13-02-МАШ of a ППЭ as a person confirmed it: the
// counts reconciliation compares the scans against.
type Form1302 struct {
	PPE string `json:"ppe"`
	// Rows holds the counts by auditorium number.
	Rows map[string]reconcile.Counts `json:"rows"`
	// Source says where the values came from: "scan" (the recognised
	// form, page Page of auditorium Auditorium, with corrections) or
	// "typed" (entered by hand from the paper form).
	Source     string `json:"source"`
	Auditorium string `json:"auditorium,omitempty"`
	Page       int    `json:"page,omitempty"`
	// By is the login of the person who confirmed the values, At when.
	By string    `json:"by"`
	At time.Time `json:"at"`
}

// Closure is an auditorium packaged by an operator.
type Closure struct {
	Place  Place     `json:"place"`
	Reason string    `json:"reason,omitempty"` // why it was closed with problems left
	By     string    `json:"by"`
	At     time.Time `json:"at"`
}

// putJSON writes v under key of a top-level bucket, creating the bucket.
func (s *Store) putJSON(bucket, key []byte, v any, what string) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucket)
		if err != nil {
			return err
		}
		return b.Put(key, data)
	})
	return classify(what, err)
}

// eachJSON calls fn with every value of a top-level bucket, in key order.
func (s *Store) eachJSON(bucket []byte, fn func(k, v []byte) error) error {
	return s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		if b == nil {
			return nil
		}
		return b.ForEach(fn)
	})
}

// SetForm1302 records the confirmed ППЭ-13-02-МАШ values of a ППЭ,
// replacing values confirmed before.
func (s *Store) SetForm1302(f Form1302) error {
	if len(f.PPE) != 4 {
		return fmt.Errorf("ППЭ %q: нужен код из 4 цифр", f.PPE)
	}
	return s.putJSON(bucketForms, []byte(f.PPE), f, "записать подтверждённую форму ППЭ-13-02-МАШ ППЭ "+f.PPE)
}

// Forms1302 returns the confirmed ППЭ-13-02-МАШ values by ППЭ code.
func (s *Store) Forms1302() (map[string]Form1302, error) {
	out := map[string]Form1302{}
	err := s.eachJSON(bucketForms, func(k, v []byte) error {
		var f Form1302
		if err := json.Unmarshal(v, &f); err != nil {
			return fmt.Errorf("форма ППЭ-13-02-МАШ ППЭ %s: %w", k, err)
		}
		out[string(k)] = f
		return nil
	})
	return out, err
}

// Reopen is a closed auditorium opened again by the head of the ППЭ: the
// closing it undid stays on record here.
type Reopen struct {
	Closed Closure   `json:"closed"` // the closing undone
	Reason string    `json:"reason"`
	By     string    `json:"by"`
	At     time.Time `json:"at"`
}

// ClosedError refuses a change of the pages of a closed auditorium. Its
// text is the sentence the operator reads.
type ClosedError struct{ Closure Closure }

func (e *ClosedError) Error() string {
	c := e.Closure
	return fmt.Sprintf("аудитория %s ППЭ %s закрыта (%s, %s): листы в неё больше не принимаются и не меняются; "+
		"если лист относится к ней, отложите его и попросите руководителя ППЭ открыть аудиторию заново с указанием причины",
		c.Place.Auditorium, c.Place.PPE, c.By, c.At.Local().Format("02.01.2006 15:04"))
}

func isClosed(err error) bool {
	var ce *ClosedError
	return errors.As(err, &ce)
}

// openTx refuses, inside a transaction, a place that is closed. Every
// change of a place's pages calls it in the transaction that makes the
// change, so a closing and a change never interleave.
func openTx(tx *bolt.Tx, place Place) error {
	b := tx.Bucket(bucketClosure)
	if b == nil {
		return nil
	}
	v := b.Get(place.key())
	if v == nil {
		return nil
	}
	var c Closure
	if err := json.Unmarshal(v, &c); err != nil {
		return fmt.Errorf("закрытие аудитории %s: %w", place, err)
	}
	return &ClosedError{Closure: c}
}

// CheckOpen returns a *ClosedError when place is closed.
func (s *Store) CheckOpen(place Place) error {
	return s.db.View(func(tx *bolt.Tx) error { return openTx(tx, place) })
}

// SetClosure records an auditorium as closed (packaged). Closing a closed
// auditorium again is refused with its ClosedError.
func (s *Store) SetClosure(c Closure) error {
	if err := checkPlace(c.Place); err != nil {
		return err
	}
	data, err := json.Marshal(c)
	if err != nil {
		return err
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		if err := openTx(tx, c.Place); err != nil {
			return err
		}
		b, err := tx.CreateBucketIfNotExists(bucketClosure)
		if err != nil {
			return err
		}
		return b.Put(c.Place.key(), data)
	})
	if isClosed(err) {
		return err
	}
	return classify("записать закрытие аудитории "+c.Place.String(), err)
}

// ReopenClosure opens a closed auditorium again: its closing is removed
// and kept, with who, when and why, in the auditorium's reopen history.
func (s *Store) ReopenClosure(place Place, by, reason string, at time.Time) (Reopen, error) {
	var r Reopen
	err := s.db.Update(func(tx *bolt.Tx) error {
		cb := tx.Bucket(bucketClosure)
		var v []byte
		if cb != nil {
			v = cb.Get(place.key())
		}
		if v == nil {
			return ErrNotClosed
		}
		if err := json.Unmarshal(v, &r.Closed); err != nil {
			return err
		}
		r.By, r.Reason, r.At = by, reason, at.UTC()
		rb, err := tx.CreateBucketIfNotExists(bucketReopen)
		if err != nil {
			return err
		}
		var hist []Reopen
		if old := rb.Get(place.key()); old != nil {
			if err := json.Unmarshal(old, &hist); err != nil {
				return err
			}
		}
		data, err := json.Marshal(append(hist, r))
		if err != nil {
			return err
		}
		if err := rb.Put(place.key(), data); err != nil {
			return err
		}
		return cb.Delete(place.key())
	})
	if errors.Is(err, ErrNotClosed) {
		return r, err
	}
	return r, classify("открыть заново аудиторию "+place.String(), err)
}

// ErrNotClosed means an auditorium to reopen is not closed.
var ErrNotClosed = errors.New("аудитория не закрыта: открывать её заново не нужно")

// Reopens returns the reopen history of every place that has one.
func (s *Store) Reopens() (map[Place][]Reopen, error) {
	out := map[Place][]Reopen{}
	err := s.eachJSON(bucketReopen, func(k, v []byte) error {
		var hist []Reopen
		if err := json.Unmarshal(v, &hist); err != nil {
			return fmt.Errorf("история аудитории %s: %w", k, err)
		}
		if len(hist) > 0 {
			out[hist[0].Closed.Place] = hist
		}
		return nil
	})
	return out, err
}

// Closures returns the closed auditoriums in place order.
func (s *Store) Closures() ([]Closure, error) {
	var out []Closure
	err := s.eachJSON(bucketClosure, func(k, v []byte) error {
		var c Closure
		if err := json.Unmarshal(v, &c); err != nil {
			return fmt.Errorf("закрытие аудитории %s: %w", k, err)
		}
		out = append(out, c)
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Place.String() < out[j].Place.String() })
	return out, err
}

// bucketSignoff holds the sign-off of each ППЭ's ППЭ-15: ППЭ code →
// Signoff JSON.
var bucketSignoff = []byte("signoff")

// Signoff is a ППЭ-15 protocol signed off: by the head in the web
// interface, or by matching the scan of its signed paper copy. H is the
// key of the summary it signs, so a sign-off of packages since changed is
// told apart from one of the packages as they stand.
type Signoff struct {
	PPE     string    `json:"ppe"`
	H       string    `json:"h"`
	Barcode string    `json:"barcode,omitempty"`
	Via     string    `json:"via"` // "web" or "scan"
	By      string    `json:"by"`
	At      time.Time `json:"at"`
}

// SetSignoff records a sign-off. Signing the same summary again keeps the
// first signature: it returns the one on record and first false.
func (s *Store) SetSignoff(sg Signoff) (rec Signoff, first bool, err error) {
	err = s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketSignoff)
		if err != nil {
			return err
		}
		if v := b.Get([]byte(sg.PPE)); v != nil {
			if err := json.Unmarshal(v, &rec); err != nil {
				return err
			}
			if rec.H == sg.H {
				return nil
			}
		}
		data, err := json.Marshal(sg)
		if err != nil {
			return err
		}
		rec, first = sg, true
		return b.Put([]byte(sg.PPE), data)
	})
	return rec, first, classify("записать подпись протокола ППЭ-15 ППЭ "+sg.PPE, err)
}

// Signoffs returns the sign-offs on record by ППЭ code.
func (s *Store) Signoffs() (map[string]Signoff, error) {
	out := map[string]Signoff{}
	err := s.eachJSON(bucketSignoff, func(k, v []byte) error {
		var sg Signoff
		if err := json.Unmarshal(v, &sg); err != nil {
			return fmt.Errorf("подпись протокола ППЭ %s: %w", k, err)
		}
		out[string(k)] = sg
		return nil
	})
	return out, err
}

// bucketSealed holds, per place, the package version last sealed (or
// found sealed unchanged) and when: place key → Sealed JSON.
var bucketSealed = []byte("sealed")

// Sealed records that a closed auditorium's package is sealed.
type Sealed struct {
	Place   Place     `json:"place"`
	Version int       `json:"version"`
	At      time.Time `json:"at"`
}

// SetSealed records the package version a closed place's pages are
// sealed in.
func (s *Store) SetSealed(sl Sealed) error {
	if err := checkPlace(sl.Place); err != nil {
		return err
	}
	return s.putJSON(bucketSealed, sl.Place.key(), sl, "записать запечатывание пакета аудитории "+sl.Place.String())
}

// SealedPlaces returns the seal records by place.
func (s *Store) SealedPlaces() (map[Place]Sealed, error) {
	out := map[Place]Sealed{}
	err := s.eachJSON(bucketSealed, func(k, v []byte) error {
		var sl Sealed
		if err := json.Unmarshal(v, &sl); err != nil {
			return fmt.Errorf("запечатывание %s: %w", k, err)
		}
		out[sl.Place] = sl
		return nil
	})
	return out, err
}
