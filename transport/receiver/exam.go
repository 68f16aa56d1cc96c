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

	"giascan/station/exam"
	"giascan/transport/pkg"
	"giascan/transport/receiver/receipt"
)

// ExamFile is the exam file the РЦОИ imported, in the receiver's data
// folder. With it the receiver knows which packages each ППЭ owes and can
// say when a ППЭ is complete; stations fetch it at ExamPath.
const (
	ExamFile = "exam.json"
	ExamPath = "/exam.json"
)

// ImportExam checks an exam file and keeps it as the receiver's exam,
// replacing any earlier one.
func ImportExam(dir string, data []byte) (*exam.Exam, error) {
	e, err := exam.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("файл экзамена не принят: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("папка приёмника: %w", err)
	}
	path := filepath.Join(dir, ExamFile)
	tmp := path + ".new"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return nil, fmt.Errorf("файл экзамена не сохранён: %w", err)
	}
	// Rename so a reader never sees half a file.
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("файл экзамена не сохранён: %w", err)
	}
	return e, nil
}

// LoadExam returns the imported exam file and its bytes, or nil and no
// error when none was imported.
func LoadExam(dir string) (*exam.Exam, []byte, error) {
	data, err := os.ReadFile(filepath.Join(dir, ExamFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("файл экзамена не читается: %w", err)
	}
	e, err := exam.Parse(data)
	if err != nil {
		return nil, nil, fmt.Errorf("файл экзамена повреждён, импортируйте его снова: %w", err)
	}
	return e, data, nil
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

// ExpectedPackages lists the package ids a ППЭ of the exam owes: its
// auditoriums' in file order, then its closing set.
func ExpectedPackages(e *exam.Exam, ppe string) []Expected {
	p := e.FindPPE(ppe)
	if p == nil {
		return nil
	}
	ctx := pkg.Exam{Level: e.Level, Region: e.Region, PPE: ppe, Subject: e.Subject, Date: e.QRDate()}
	var out []Expected
	for _, a := range p.Auditoriums {
		ctx.Auditorium = a.Number
		out = append(out, Expected{Package: pkg.PackageID(ctx), Auditorium: a.Number})
	}
	ctx.Auditorium = ""
	return append(out, Expected{Package: pkg.PackageID(ctx)})
}

// progressOf compares what a ППЭ owes with what was accepted from it.
func progressOf(e *exam.Exam, ppe string, got []receipt.Receipt) *Progress {
	pr := &Progress{Expected: ExpectedPackages(e, ppe), Missing: []string{}}
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
	e, _, err := LoadExam(r.dir)
	if err != nil || e == nil {
		return err
	}
	for _, p := range e.PPE {
		if !slices.ContainsFunc(st.PPE, func(s PPEStatus) bool { return s.PPE == p.Code }) {
			st.PPE = append(st.PPE, PPEStatus{PPE: p.Code, Packages: []receipt.Receipt{}})
		}
	}
	slices.SortFunc(st.PPE, func(a, b PPEStatus) int { return strings.Compare(a.PPE, b.PPE) })
	for i := range st.PPE {
		if e.FindPPE(st.PPE[i].PPE) != nil {
			st.PPE[i].Progress = progressOf(e, st.PPE[i].PPE, st.PPE[i].Packages)
		}
	}
	return nil
}

// serveExam gives stations the exam file the РЦОИ imported.
func (r *Receiver) serveExam(w http.ResponseWriter, req *http.Request) {
	_, data, err := LoadExam(r.dir)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if data == nil {
		http.Error(w, "no exam imported", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(data)
}
