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
	"giascan/transport/receiver/receipt"
)

// ExamFile is the exam file the РЦОИ imported, kept as given so stations
// can fetch it at ExamPath; OwedFile is what it means to the receiver: the
// packages each ППЭ owes. The exam file's format belongs to the station
// side (station/exam), so the caller parses it and passes the owed list.
const (
	ExamFile = "exam.json"
	ExamPath = "/exam.json"
	OwedFile = "owed.json"
)

// Owed lists, per ППЭ code, the packages that ППЭ owes the РЦОИ.
type Owed map[string][]Expected

// ImportExam keeps an exam file and the packages it makes each ППЭ owe,
// replacing any earlier ones.
func ImportExam(dir string, examFile []byte, owed Owed) error {
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
	if err := writeFileAtomic(filepath.Join(dir, ExamFile), examFile); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, OwedFile), list)
}

func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".new"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("файл %s не сохранён: %w", filepath.Base(path), err)
	}
	// Rename so a reader never sees half a file.
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
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
}

// Progress says, for a ППЭ of the imported exam, which of its packages —
// one per auditorium and the closing set — have arrived.
type Progress struct {
	Expected []Expected `json:"expected"`
	Missing  []string   `json:"missing"` // package ids still to come
	Complete bool       `json:"complete"`
}

// progressOf compares what a ППЭ owes with what was accepted from it.
func progressOf(owed []Expected, got []receipt.Receipt) *Progress {
	pr := &Progress{Expected: slices.Clone(owed), Missing: []string{}}
	for i := range pr.Expected {
		x := &pr.Expected[i]
		for _, rc := range got {
			if rc.Package == x.Package && rc.Version >= x.Version {
				x.Arrived, x.Version, x.Received = true, rc.Version, rc.Received
			}
		}
		if !x.Arrived {
			pr.Missing = append(pr.Missing, x.Package)
		}
	}
	pr.Complete = len(pr.Expected) > 0 && len(pr.Missing) == 0
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
	for code := range owed {
		if !slices.ContainsFunc(st.PPE, func(s PPEStatus) bool { return s.PPE == code }) {
			st.PPE = append(st.PPE, PPEStatus{PPE: code, Packages: []receipt.Receipt{}})
		}
	}
	slices.SortFunc(st.PPE, func(a, b PPEStatus) int { return strings.Compare(a.PPE, b.PPE) })
	for i := range st.PPE {
		if list, ok := owed[st.PPE[i].PPE]; ok {
			st.PPE[i].Progress = progressOf(list, st.PPE[i].Packages)
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
