package station

import (
	"context"
	"fmt"
	"time"

	"giascan/station/attach"
	"giascan/station/audit"
	"giascan/station/store"
)

// attachPlan returns what the exam plans for an auditorium, refusing a
// place the exam does not have.
func (s *Station) attachPlan(place store.Place) (attach.Plan, error) {
	ex, err := s.Store.Exam()
	if err != nil {
		return attach.Plan{}, err
	}
	a := ex.FindAuditorium(place.PPE, place.Auditorium)
	if a == nil {
		return attach.Plan{}, refuse("аудитория", "Аудитории %s ППЭ %s нет в файле экзамена: выберите аудиторию из списка.", place.Auditorium, place.PPE)
	}
	return attach.Plan{PPE: place.PPE, Auditorium: place.Auditorium, Kits: a.Kits}, nil
}

// ImportAttachments takes an auditorium's КЕГЭ answer files or oral-answer
// audio (kind attach.KEGE or attach.Audio) from a folder or a zip archive
// (attach.Open), checks them against the kits the exam plans for the
// auditorium, and keeps every good one: a bad file is reported in the
// result with a Russian sentence and costs nothing else. The import is
// refused while the auditorium is closed (its package is sealed; the head
// reopens it first) and is on record in the audit log.
func (s *Station) ImportAttachments(ctx context.Context, actor string, place store.Place, kind, from string) (*attach.Report, error) {
	if !attach.ValidKind(kind) {
		return nil, refuse("вид файлов", "Вид файлов %q не известен: выберите «файлы ответов КЕГЭ» или «аудиозаписи устных ответов».", kind)
	}
	plan, err := s.attachPlan(place)
	if err != nil {
		return nil, err
	}
	if err := s.checkOpenForFiles(place); err != nil {
		return nil, err
	}
	src, err := attach.Open(from)
	if err != nil {
		return nil, refuse("папка или архив", "%s", err)
	}
	defer src.Close()
	if len(src.Entries) == 0 {
		return nil, refuse("папка или архив", "В %s нет ни одного файла: укажите папку или архив с файлами участников.", from)
	}
	s.attachMu.Lock()
	defer s.attachMu.Unlock()
	dir := attach.FolderOf(string(s.Dir), place.PPE, place.Auditorium)
	// The copies run outside the lifecycle lock (they may take minutes);
	// the index switches to them under it, after checking the auditorium
	// is still open, so a closing never seals half an import.
	rep, err := dir.Stage(ctx, kind, plan, src, actor, time.Now())
	if err != nil {
		return nil, err
	}
	s.life.Lock()
	defer s.life.Unlock()
	if err := s.checkOpenForFiles(place); err != nil {
		return nil, err
	}
	x, err := dir.Load()
	if err != nil {
		return nil, err
	}
	attach.Merge(x, rep, plan)
	if err := dir.Save(x); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(rep.Imported))
	for _, f := range rep.Imported {
		names = append(names, f.Name)
	}
	problems := map[string]int{}
	for _, p := range rep.Problems {
		problems[p.Kind]++
	}
	after := map[string]any{"kind": kind, "imported": names, "problems": problems, "present": rep.Present, "planned": rep.Planned}
	if kind == attach.Audio {
		after["duration_seconds"] = rep.Seconds
	}
	if _, err := s.Log.Append(audit.Event{Actor: actor, Action: audit.ActionAttachImport,
		Subject: audit.Subject{PPE: place.PPE, Auditorium: place.Auditorium}, After: jsonOf(after)}); err != nil {
		return rep, fmt.Errorf("файлы приняты, но запись в журнал аудита не сделана: %w", err)
	}
	s.logger.Info("attachments imported", "place", place.String(), "kind", kind, "files", len(rep.Imported), "problems", len(rep.Problems))
	return rep, nil
}

// Attachments is what an auditorium holds of one kind, with the planned
// kits that have no file.
type Attachments struct {
	Kind    string           `json:"kind"`
	Name    string           `json:"name"` // the kind in Russian, as a heading
	Files   []attach.File    `json:"files"`
	Missing []attach.Problem `json:"missing"`
	Seconds float64          `json:"duration_seconds,omitempty"`
}

// Attachments lists an auditorium's attachments, kind by kind.
func (s *Station) Attachments(place store.Place) ([]Attachments, error) {
	plan, err := s.attachPlan(place)
	if err != nil {
		return nil, err
	}
	x, err := attach.FolderOf(string(s.Dir), place.PPE, place.Auditorium).Load()
	if err != nil {
		return nil, err
	}
	var out []Attachments
	for _, k := range attach.Kinds {
		a := Attachments{Kind: k, Name: attach.KindTitle(k), Files: x.Of(k)}
		// Not every exam has both kinds: the missing are told once a kind
		// has a file.
		if len(a.Files) > 0 {
			a.Missing = attach.Missing(x, k, plan)
		}
		for _, f := range a.Files {
			a.Seconds += f.Seconds
		}
		if a.Files == nil {
			a.Files = []attach.File{}
		}
		out = append(out, a)
	}
	return out, nil
}
