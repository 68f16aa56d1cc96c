package receiver

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"encoding/json"
	"giascan/atomicfile"
	"giascan/transport/receiver/receipt"
)

// ExamFile is the exam file the РЦОИ imported, kept as given so stations
// can fetch it at ExamPath; OwedFile is what it means to the receiver: the
// packages each ППЭ owes. The exam file's format belongs to the station
// side (station/exam), so the caller parses it and passes the owed list.
const (
	ExamFile     = "exam.json"
	ExamPath     = "/exam.json"
	OwedFile     = "owed.json"
	ScheduleFile = "schedule.json"
)

// DeliveryWindow is how long after the end of the exam a ППЭ has to
// deliver its packages.
const DeliveryWindow = time.Hour

// Schedule is when the imported exam ends, and so when its packages are due.
type Schedule struct {
	Ends     time.Time `json:"ends,omitzero"`
	Deadline time.Time `json:"deadline,omitzero"` // Ends + DeliveryWindow
}

// Owed lists, per ППЭ code, the packages that ППЭ owes the РЦОИ.
type Owed map[string][]Expected

// ImportExam keeps an exam file and the packages it makes each ППЭ owe,
// replacing any earlier ones, with no deadline.
func ImportExam(dir string, examFile []byte, owed Owed) error {
	return ImportExamEnding(dir, examFile, owed, time.Time{})
}

// ImportExamEnding is ImportExam for an exam that ends at ends (zero:
// unknown): its packages are due DeliveryWindow later.
func ImportExamEnding(dir string, examFile []byte, owed Owed, ends time.Time) error {
	if len(owed) == 0 {
		return errors.New("файл экзамена не принят: в нём нет ни одного ППЭ")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("папка приёмника: %w", err)
	}
	list, err := json.MarshalIndent(owed, "", "  ")
	if err != nil {
		return err
	}
	sched := Schedule{}
	if !ends.IsZero() {
		sched = Schedule{Ends: ends, Deadline: ends.Add(DeliveryWindow)}
	}
	schedJSON, err := json.Marshal(sched)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, ExamFile), examFile); err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, ScheduleFile), schedJSON); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, OwedFile), list)
}

// LoadSchedule returns the imported exam's schedule; zero if unknown.
func LoadSchedule(dir string) (Schedule, error) {
	var s Schedule
	data, err := os.ReadFile(filepath.Join(dir, ScheduleFile))
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err == nil {
		err = json.Unmarshal(data, &s)
	}
	if err != nil {
		return s, fmt.Errorf("срок сдачи пакетов не читается, импортируйте экзамен снова: %w", err)
	}
	return s, nil
}

func writeFileAtomic(path string, data []byte) error {
	if err := atomicfile.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("файл %s не сохранён: %w", filepath.Base(path), err)
	}
	return nil
}

// LoadOwed returns the packages each ППЭ owes, or nil and no error when
// no exam was imported.
func LoadOwed(dir string) (Owed, error) {
	data, err := os.ReadFile(filepath.Join(dir, OwedFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("список ожидаемых пакетов не читается: %w", err)
	}
	var owed Owed
	if err := json.Unmarshal(data, &owed); err != nil {
		return nil, fmt.Errorf("список ожидаемых пакетов повреждён, импортируйте экзамен снова: %w", err)
	}
	return owed, nil
}

// Expected is one package a ППЭ owes the РЦОИ, and whether it arrived.
type Expected struct {
	Package    string    `json:"package"`
	Auditorium string    `json:"auditorium,omitempty"` // "" for the closing set
	Arrived    bool      `json:"arrived"`
	Version    int       `json:"version,omitempty"` // newest accepted
	Received   time.Time `json:"received,omitzero"`
	Superseded []int     `json:"superseded,omitempty"` // older accepted versions, replaced by Version
	// Late: arrived after the deadline, or still missing past it.
	Late bool `json:"late,omitempty"`
}

// Progress says, for a ППЭ of the imported exam, which of its packages —
// one per auditorium and the closing set — have arrived.
type Progress struct {
	Expected []Expected `json:"expected"`
	Missing  []string   `json:"missing"` // package ids still to come
	Complete bool       `json:"complete"`
	// Late: past the deadline with packages missing.
	Late bool `json:"late,omitempty"`
}

// progressOf compares what a ППЭ owes with what was accepted from it, by
// the deadline (zero: none) as of now.
func progressOf(owed []Expected, got []receipt.Receipt, deadline, now time.Time) *Progress {
	pr := &Progress{Expected: slices.Clone(owed), Missing: []string{}}
	overdue := !deadline.IsZero() && now.After(deadline)
	for i := range pr.Expected {
		x := &pr.Expected[i]
		x.Superseded = nil
		for _, rc := range got {
			if rc.Package != x.Package {
				continue
			}
			if rc.Version > x.Version {
				if x.Arrived {
					x.Superseded = append(x.Superseded, x.Version)
				}
				x.Arrived, x.Version, x.Received = true, rc.Version, rc.Received
			} else {
				x.Superseded = append(x.Superseded, rc.Version)
			}
		}
		slices.Sort(x.Superseded)
		switch {
		case !x.Arrived:
			pr.Missing = append(pr.Missing, x.Package)
			x.Late = overdue
		default:
			// The first version is what counts as on time: a later fix
			// does not make a delivered package late.
			first := x.Received
			for _, rc := range got {
				if rc.Package == x.Package && rc.Received.Before(first) {
					first = rc.Received
				}
			}
			x.Late = !deadline.IsZero() && first.After(deadline)
		}
	}
	pr.Complete = len(pr.Expected) > 0 && len(pr.Missing) == 0
	pr.Late = overdue && !pr.Complete
	return pr
}

// addProgress adds the exam's progress to a status: every ППЭ of the exam
// appears, even one that has sent nothing yet, since that is what the
// РЦОИ must chase.
func (r *Receiver) addProgress(st *Status) error {
	owed, err := LoadOwed(r.dir)
	if err != nil || owed == nil {
		return err
	}
	sched, err := LoadSchedule(r.dir)
	if err != nil {
		return err
	}
	st.Schedule = sched
	for code := range owed {
		if !slices.ContainsFunc(st.PPE, func(s PPEStatus) bool { return s.PPE == code }) {
			st.PPE = append(st.PPE, PPEStatus{PPE: code, Packages: []receipt.Receipt{}})
		}
	}
	slices.SortFunc(st.PPE, func(a, b PPEStatus) int { return strings.Compare(a.PPE, b.PPE) })
	for i := range st.PPE {
		if list, ok := owed[st.PPE[i].PPE]; ok {
			st.PPE[i].Progress = progressOf(list, st.PPE[i].Packages, sched.Deadline, st.Now)
		}
	}
	return nil
}

// serveExam gives stations the exam file the РЦОИ imported.
func (r *Receiver) serveExam(w http.ResponseWriter, req *http.Request) {
	if _, ok := r.who(w, req); !ok {
		return
	}
	data, err := os.ReadFile(filepath.Join(r.dir, ExamFile))
	if errors.Is(err, fs.ErrNotExist) {
		http.Error(w, "no exam imported", http.StatusNotFound)
		return
	}
	if err != nil {
		http.Error(w, "exam file unreadable", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(data)
}
