package store

import (
	"encoding/json"
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

// SetClosure records an auditorium as closed (packaged).
func (s *Store) SetClosure(c Closure) error {
	if err := checkPlace(c.Place); err != nil {
		return err
	}
	return s.putJSON(bucketClosure, c.Place.key(), c, "записать закрытие аудитории "+c.Place.String())
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
