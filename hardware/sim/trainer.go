package sim

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"giascan/forms"
)

// Trainer prints a planned stack for the exam a station has imported, so
// that a training stack — with its jams, double feeds and lost sheets —
// belongs to that exam instead of a random one: the demo's browser and
// the tests of the scanning screen scan sheets their exam expects.
type Trainer struct {
	// Exam, when set, is the level, region, ППЭ, subject and date every
	// sheet carries.
	Exam *forms.Identity
	// Auditorium, when set, makes the stack one auditorium's: every
	// participant's sheets go to it, and the ППЭ's forms, which are not
	// part of an auditorium's stack, are left out.
	Auditorium string
	// Kit, when set, renumbers the participants' kits from this number
	// on, in stack order: the kits of the auditorium's seating plan.
	Kit uint64
}

// IsTrainerKey tells whether a sim spec key belongs to Trainer.
func IsTrainerKey(k string) bool {
	switch k {
	case "exam", "auditorium", "kit":
		return true
	}
	return false
}

// Set sets the part of the trainer a sim spec key names: exam=LEVEL-
// REGION-PPE-SUBJECT-YYYYMMDD (9-11-0101-02-20250527), auditorium=AAAA,
// kit=KKKKKKKKKK.
func (t *Trainer) Set(k, v string) error {
	digits := func(s string, n int) bool { return len(s) == n && strings.Trim(s, "0123456789") == "" }
	switch k {
	case "exam":
		p := strings.Split(v, "-")
		if len(p) != 5 {
			return fmt.Errorf("want LEVEL-REGION-PPE-SUBJECT-YYYYMMDD, e.g. 9-11-0101-02-20250527, not %q", v)
		}
		level, err := strconv.Atoi(p[0])
		id := forms.Identity{Level: level, Region: p[1], PPE: p[2], Subject: p[3], Date: p[4]}
		switch {
		case err != nil || (level != 9 && level != 11):
			return fmt.Errorf("level %q: want 9 or 11", p[0])
		case !digits(id.Region, 2), !digits(id.PPE, 4), !digits(id.Date, 8):
			return fmt.Errorf("%q: want a 2-digit region, a 4-digit ППЭ and a YYYYMMDD date", v)
		case forms.Subjects[id.Subject] == "":
			return fmt.Errorf("subject %q is unknown", id.Subject)
		}
		t.Exam = &id
	case "auditorium":
		if !digits(v, 4) || v == "0000" {
			return fmt.Errorf("want 4 digits, not 0000, not %q", v)
		}
		t.Auditorium = v
	case "kit":
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || len(v) != 10 || n == 0 {
			return fmt.Errorf("want a 10-digit kit number, not 0000000000, not %q", v)
		}
		t.Kit = n
	default:
		return errors.New("unknown key")
	}
	return nil
}

// Zero tells whether the trainer leaves the stack as planned.
func (t Trainer) Zero() bool { return t.Exam == nil && t.Auditorium == "" && t.Kit == 0 }

// Apply returns the planned stack sheets printed for the trainer's exam.
// Each sheet keeps its own random generator, so it is filled in and
// scanned as before; only what its codes say changes.
func (t Trainer) Apply(sheets []Sheet) ([]Sheet, error) {
	out := make([]Sheet, 0, len(sheets))
	kits := map[string]string{}
	for _, s := range sheets {
		id := s.ID
		if t.Auditorium != "" {
			if id.Auditorium == "0000" {
				continue // a ППЭ form
			}
			id.Auditorium = t.Auditorium
		}
		if e := t.Exam; e != nil {
			id.Level, id.Region, id.PPE, id.Subject, id.Date = e.Level, e.Region, e.PPE, e.Subject, e.Date
		}
		if t.Kit > 0 && id.Kit != forms.NoKit {
			k, ok := kits[id.Kit]
			if !ok {
				n := t.Kit + uint64(len(kits))
				if n > 9_999_999_999 {
					return nil, fmt.Errorf("trainer: kit numbers from %010d run past 9999999999", t.Kit)
				}
				k = fmt.Sprintf("%010d", n)
				kits[id.Kit] = k
			}
			id.Kit = k
		}
		if err := id.Validate(); err != nil {
			return nil, fmt.Errorf("trainer: sheet %d: %w", s.Index+1, err)
		}
		s.ID = id
		s.Index = len(out)
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, errors.New("trainer: the stack holds no participant's sheet")
	}
	return out, nil
}

// Marks returns the organiser's marks a БО №1 carries: the participant
// was removed from the exam, or did not finish for a good reason. A
// ППЭ-13-02-МАШ row of a training stack counts them.
func (s Sheet) Marks() (removed, unfinished bool) { return s.removed, s.unfinished }
