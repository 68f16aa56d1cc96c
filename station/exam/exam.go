// Package exam holds the exam a station works on: the exam file of
// exam.md (normally sent by the РЦОИ before the exam), checked as a whole,
// and the lookups the scanning and reconciliation code need.
package exam

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"giascan/forms"
)

// Exam is one exam of one region on one day: level, subject, date and the
// ППЭ with their auditoriums as the exam file lists them.
type Exam struct {
	Level   int    `json:"level"`   // 9 or 11
	Subject string `json:"subject"` // 2 digits, a key of forms.Subjects
	Date    string `json:"date"`    // YYYY-MM-DD
	Region  string `json:"region"`  // 2 digits
	// Ends is the local end time of the exam, HH:MM, when known. A ППЭ ТОМ
	// must upload its scans within an hour of it.
	Ends string `json:"ends,omitempty"`
	PPE  []PPE  `json:"ppe"`
}

// PPE is one exam venue and its auditoriums, in file order.
type PPE struct {
	Code        string       `json:"code"` // 4 digits
	Auditoriums []Auditorium `json:"auditoriums"`
}

// Auditorium is one auditorium of a ППЭ and, optionally, the kit numbers
// planned for its participants.
type Auditorium struct {
	Number string   `json:"number"`         // 4 digits, never 0000
	Kits   []string `json:"kits,omitempty"` // 10 digits each
}

// Header is the exam's identity as the report of exam.md shows it.
type Header struct {
	Level   int    `json:"level"`
	Subject string `json:"subject"`
	Date    string `json:"date"`
	Region  string `json:"region"`
}

// Header returns the exam's identity for the report.
func (e *Exam) Header() Header {
	return Header{Level: e.Level, Subject: e.Subject, Date: e.Date, Region: e.Region}
}

// QRDate returns the exam date as the QR code writes it (YYYYMMDD).
func (e *Exam) QRDate() string { return strings.ReplaceAll(e.Date, "-", "") }

// Context returns the QR context every page of this exam carries: level,
// region, subject and date. ППЭ, auditorium, kit and sheet are left empty.
func (e *Exam) Context() forms.Context {
	return forms.Context{Level: e.Level, Region: e.Region, Subject: e.Subject, Date: e.QRDate()}
}

// SameExam reports whether a page's QR context names this exam (level,
// region, subject and date all equal). An empty context never does.
func (e *Exam) SameExam(c forms.Context) bool {
	return c.Level == e.Level && c.Region == e.Region && c.Subject == e.Subject && c.Date == e.QRDate()
}

// FindPPE returns the ППЭ with the given code, or nil.
func (e *Exam) FindPPE(code string) *PPE {
	for i := range e.PPE {
		if e.PPE[i].Code == code {
			return &e.PPE[i]
		}
	}
	return nil
}

// FindAuditorium returns auditorium number of ППЭ ppe, or nil when the exam
// does not plan it.
func (e *Exam) FindAuditorium(ppe, number string) *Auditorium {
	p := e.FindPPE(ppe)
	if p == nil {
		return nil
	}
	for i := range p.Auditoriums {
		if p.Auditoriums[i].Number == number {
			return &p.Auditoriums[i]
		}
	}
	return nil
}

// FindKit returns the ППЭ code and auditorium number a kit is planned for;
// ok is false when no auditorium plans it.
func (e *Exam) FindKit(kit string) (ppe, auditorium string, ok bool) {
	for _, p := range e.PPE {
		for _, a := range p.Auditoriums {
			for _, k := range a.Kits {
				if k == kit {
					return p.Code, a.Number, true
				}
			}
		}
	}
	return "", "", false
}

// PlansKits reports whether the exam file lists kits for this auditorium;
// only then can a page's kit be called unknown.
func (a *Auditorium) PlansKits() bool { return len(a.Kits) > 0 }

// HasKit reports whether kit is planned for the auditorium.
func (a *Auditorium) HasKit(kit string) bool {
	for _, k := range a.Kits {
		if k == kit {
			return true
		}
	}
	return false
}

// EndsAt returns the end of the exam in loc (the station's local time);
// ok is false when the exam file gives no end time.
func (e *Exam) EndsAt(loc *time.Location) (t time.Time, ok bool) {
	if e.Ends == "" {
		return time.Time{}, false
	}
	t, err := time.ParseInLocation("2006-01-02 15:04", e.Date+" "+e.Ends, loc)
	if err != nil {
		return time.Time{}, false // Parse and Validate refuse such values
	}
	return t, true
}

// Validate checks an exam built in code by the same rules as Parse, so that
// an exam is never stored in a shape its own file could not have.
func (e *Exam) Validate() error {
	data, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("exam: encode for validation: %w", err)
	}
	_, err = Parse(data)
	return err
}

// Marshal returns the exam file of the exam, indented, as Parse reads it.
func (e *Exam) Marshal() ([]byte, error) {
	data, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("exam: encode: %w", err)
	}
	return append(data, '\n'), nil
}
