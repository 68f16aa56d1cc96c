package reconcile

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"giascan/forms"
	"giascan/station/exam"
)

// FormRows is the number of table rows of the ППЭ-13-02-МАШ (blanks.md 4.3).
const FormRows = 15

// formFields are the table fields of a row, left to right, with their cell
// counts (blanks.md 4.3).
var formFields = []struct {
	name  string
	cells int
}{
	{"auditorium", 4}, {"listed", 3}, {"present", 3}, {"absent", 3}, {"removed", 2},
	{"unfinished", 2}, {"bo1", 3}, {"bo2s1", 3}, {"bo2s2", 3}, {"dbo2", 3}, {"defective", 2},
}

// FormRow is one used row of a recognised ППЭ-13-02-МАШ.
type FormRow struct {
	Row        int    // 1..15, as in the field ids rowNN.*
	Auditorium string // 4 digits; "" when it could not be read
	Counts     Counts
	// Uncertain lists the field ids (e.g. "row03.present") a person must
	// confirm against the image before the counts are used.
	Uncertain []string
}

// Form is a recognised ППЭ-13-02-МАШ, before a person confirms it.
type Form struct {
	Region, PPE, Subject string // header digits as read
	Date                 string // header date as read, DDMMYY
	Rows                 []FormRow
	// Uncertain lists every field id a person must confirm: header fields
	// and row fields alike.
	Uncertain []string
	// Notes are Russian sentences on values that contradict each other or
	// the exam; they point a person at what to look at.
	Notes []string
}

// ReadForm reads a recognised ППЭ-13-02-МАШ page (type 51) into its rows.
// A row whose cells are all empty is unused and left out. A field is
// uncertain when the recognizer names it in review, reports a cell as
// unreadable ('?'), or did not report it at all; its value is then 0 until
// a person confirms it.
func ReadForm(r forms.PageResult) (*Form, error) {
	if r.Type != forms.TypePPE1302 {
		return nil, fmt.Errorf("reconcile: page type %q is not a ППЭ-13-02-МАШ (%s)", r.Type, forms.TypePPE1302)
	}
	review := uncertain(r)
	f := &Form{}
	header := func(id string, n int) string {
		v, ok := r.Digits[id]
		if !ok || review[id] || len(v) != n || strings.Trim(v, "0123456789") != "" {
			f.Uncertain = append(f.Uncertain, id)
		}
		return v
	}
	f.Region = header("region", 2)
	f.PPE = header("ppe", 4)
	f.Subject = header("subject", 2)
	f.Date = header("date", 6)
	for row := 1; row <= FormRows; row++ {
		fr := FormRow{Row: row}
		used := false
		vals := make([]int, len(formFields))
		for i, fld := range formFields {
			id := fmt.Sprintf("row%02d.%s", row, fld.name)
			v, ok := r.Digits[id]
			if v != "" || review[id] {
				used = true
			}
			n, err := strconv.Atoi(v)
			switch {
			case !ok || review[id] || strings.Contains(v, "?") || len(v) > fld.cells:
				fr.Uncertain = append(fr.Uncertain, id)
			case v == "":
				// An empty field is zero: organisers leave zero counts
				// blank. A used row cannot lack its auditorium, though.
				if fld.name == "auditorium" {
					fr.Uncertain = append(fr.Uncertain, id)
				}
			case err != nil:
				fr.Uncertain = append(fr.Uncertain, id)
			default:
				vals[i] = n
				if fld.name == "auditorium" {
					// Numbers are written right-aligned: "12" is 0012.
					fr.Auditorium = fmt.Sprintf("%04d", n)
				}
			}
		}
		if !used {
			continue
		}
		if fr.Auditorium == "0000" {
			fr.Auditorium = ""
			fr.Uncertain = appendOnce(fr.Uncertain, fmt.Sprintf("row%02d.auditorium", row))
		}
		fr.Counts = Counts{Listed: vals[1], Present: vals[2], Absent: vals[3], Removed: vals[4],
			Unfinished: vals[5], BO1: vals[6], BO2S1: vals[7], BO2S2: vals[8], DBO2: vals[9], Defective: vals[10]}
		f.Rows = append(f.Rows, fr)
		f.Uncertain = append(f.Uncertain, fr.Uncertain...)
	}
	f.checkRows()
	return f, nil
}

// checkRows notes what a person should look at even where every digit was
// read with certainty: the form's own arithmetic and repeated auditoriums.
func (f *Form) checkRows() {
	seen := map[string]int{}
	for _, r := range f.Rows {
		c := r.Counts
		if len(r.Uncertain) == 0 && c.Present+c.Absent != c.Listed {
			f.Notes = append(f.Notes, fmt.Sprintf(
				"Строка %d (аудитория %s): явились %d и не явились %d не дают %d по списку — сверьте с бумажной формой",
				r.Row, r.Auditorium, c.Present, c.Absent, c.Listed))
		}
		if r.Auditorium == "" {
			continue
		}
		if first, dup := seen[r.Auditorium]; dup {
			f.Notes = append(f.Notes, fmt.Sprintf("Аудитория %s записана в строках %d и %d — сверьте с бумажной формой",
				r.Auditorium, first, r.Row))
		} else {
			seen[r.Auditorium] = r.Row
		}
	}
}

// CheckExam notes where the form's header or rows disagree with the exam
// and returns the notes (also appended to f.Notes). Uncertain header
// fields are not compared: a person confirms them first.
func (f *Form) CheckExam(e *exam.Exam) []string {
	unc := map[string]bool{}
	for _, id := range f.Uncertain {
		unc[id] = true
	}
	var notes []string
	if !unc["region"] && f.Region != e.Region {
		notes = append(notes, fmt.Sprintf("Регион в форме %s, а у экзамена %s", f.Region, e.Region))
	}
	if !unc["subject"] && f.Subject != e.Subject {
		notes = append(notes, fmt.Sprintf("Предмет в форме %s, а у экзамена %s", f.Subject, e.Subject))
	}
	if d := e.QRDate(); !unc["date"] && f.Date != d[6:8]+d[4:6]+d[2:4] {
		notes = append(notes, fmt.Sprintf("Дата в форме %s, а у экзамена %s", f.Date, e.Date))
	}
	p := e.FindPPE(f.PPE)
	if !unc["ppe"] && p == nil {
		notes = append(notes, fmt.Sprintf("ППЭ %s нет в плане экзамена", f.PPE))
	}
	if p != nil {
		for _, r := range f.Rows {
			if r.Auditorium != "" && e.FindAuditorium(p.Code, r.Auditorium) == nil {
				notes = append(notes, fmt.Sprintf("Аудитории %s (строка %d) нет в плане ППЭ %s", r.Auditorium, r.Row, p.Code))
			}
		}
	}
	f.Notes = append(f.Notes, notes...)
	return notes
}

// Expected returns the counts by auditorium number, for Input.Expected once
// a person has confirmed them. Rows without an auditorium are left out; of
// repeated auditoriums the first row wins (Notes already names them).
func (f *Form) Expected() map[string]Counts {
	m := map[string]Counts{}
	for _, r := range f.Rows {
		if _, dup := m[r.Auditorium]; r.Auditorium == "" || dup {
			continue
		}
		m[r.Auditorium] = r.Counts
	}
	return m
}

// Certain reports whether nothing on the form waits for a person.
func (f *Form) Certain() bool { return len(f.Uncertain) == 0 && len(f.Notes) == 0 }

func appendOnce(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}
