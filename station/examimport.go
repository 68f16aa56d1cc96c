package station

import (
	"encoding/json"
	"fmt"
	"reflect"

	"giascan/station/audit"
	"giascan/station/exam"
	"giascan/station/users"
)

// Imported is the outcome of an exam import.
type Imported struct {
	Exam *exam.Exam
	Prev *exam.Exam // the exam it replaced, nil for the first
}

// ImportExam makes an exam file, parsed and validated as a whole
// (exam.Parse), the station's exam. source names the file for the audit
// log. Once pages are stored, replacing the exam by a different one could
// make them foreign, so it needs a reason: the head's confirmation.
func (s *Station) ImportExam(actor string, ex *exam.Exam, source, reason string) (*Imported, error) {
	s.life.Lock()
	defer s.life.Unlock()
	prev, _ := s.Store.Exam()
	if prev != nil && !reflect.DeepEqual(prev, ex) {
		places, err := s.Store.Places()
		if err != nil {
			return nil, err
		}
		if len(places) > 0 {
			// A login of the station that is not the head's may not swap
			// the exam under scanned pages; a script's actor with no
			// account is an administrator's and only needs the reason.
			u, found, err := s.Users.Find(actor)
			if err != nil {
				return nil, fmt.Errorf("учётная запись %q не прочитана: %w", actor, err)
			}
			if found && !users.Can(u.Role, users.ReplaceExam) {
				return nil, refuse("причина замены экзамена", "на станции уже есть отсканированные страницы этого экзамена: заменить экзамен может только руководитель ППЭ, указав причину замены")
			}
			if reason == "" {
				return nil, refuse("причина замены экзамена", "на станции уже есть отсканированные страницы этого экзамена: замена экзамена может сделать их чужими; если её подтверждает руководитель ППЭ, укажите причину замены")
			}
		}
	}
	if err := s.Store.SetExam(ex); err != nil {
		return nil, err
	}
	ev := audit.Event{Actor: actor, Action: audit.ActionExamImport, After: ExamSummary(ex), Reason: joinReason(source, reason)}
	if prev != nil {
		ev.Before = ExamSummary(prev)
	}
	if _, err := s.Log.Append(ev); err != nil {
		return nil, fmt.Errorf("экзамен импортирован, но не записан в журнал аудита: %w; обратитесь к техническому специалисту", err)
	}
	s.notify()
	return &Imported{Exam: ex, Prev: prev}, nil
}

func joinReason(source, reason string) string {
	switch {
	case source == "":
		return reason
	case reason == "":
		return "файл " + source
	}
	return "файл " + source + ": " + reason
}

// ExamSummary is what the audit log keeps of an exam: its header and its
// ППЭ and auditoriums, without the kit lists, which would swell the log
// and say nothing more.
func ExamSummary(ex *exam.Exam) json.RawMessage {
	type aud struct {
		PPE         string   `json:"ppe"`
		Auditoriums []string `json:"auditoriums"`
	}
	out := struct {
		exam.Header
		PPE []aud `json:"ppe"`
	}{Header: ex.Header()}
	for _, p := range ex.PPE {
		a := aud{PPE: p.Code}
		for _, x := range p.Auditoriums {
			a.Auditoriums = append(a.Auditoriums, x.Number)
		}
		out.PPE = append(out.PPE, a)
	}
	b, _ := json.Marshal(out)
	return b
}
