package ops

import (
	"fmt"
	"strings"

	"giascan/forms"
	"giascan/station/exam"
	"giascan/station/store"
)

// examDate is the exam's date as the digit fields carry it: DDMMYY.
func examDate(e *exam.Exam) string {
	d := e.QRDate() // YYYYMMDD
	if len(d) != 8 {
		return ""
	}
	return d[6:8] + d[4:6] + d[2:4]
}

// padAuditorium reads an auditorium number as written: right-aligned, so
// "12" is 0012.
func padAuditorium(v string) string {
	if len(v) < 4 && v != "" && strings.Trim(v, "0123456789") == "" {
		return strings.Repeat("0", 4-len(v)) + v
	}
	return v
}

// Foreign says why value, written in field id of a page of type typ
// scanned at ref, does not belong to exam e: a ППЭ code, an auditorium,
// a subject, a region or a date that is not this exam's (or not the
// place's the page was scanned in). It returns "" when the value fits, is
// empty or unreadable, or the field names nothing of the exam. The
// sentence names the field in Russian and says what to do.
func Foreign(e *exam.Exam, ref store.Ref, typ, id, value string) string {
	if e == nil || value == "" || strings.Trim(value, "0123456789") != "" {
		return ""
	}
	name := "«" + FieldName(typ, id) + "»"
	// What to do when the paper does say so: a sheet of another ППЭ or
	// exam leaves the stack; one of another auditorium moves there.
	foreign := "если на листе действительно так, лист чужой: удалите страницу с причиной «чужой лист» и передайте лист руководителю ППЭ"
	elsewhere := "если на листе действительно так, перенесите страницу в аудиторию с листа"
	if typ == forms.TypePPE1302 {
		foreign = "если на бумажной форме действительно так, это форма другого ППЭ или экзамена: отложите её и сообщите руководителю ППЭ"
	}
	switch {
	case id == "ppe":
		if value != ref.PPE {
			return fmt.Sprintf("поле %s: %s — не код этого ППЭ (%s); сверьте с листом и введите код ППЭ с листа; %s", name, value, ref.PPE, foreign)
		}
	case id == "subject":
		if value != e.Subject {
			return fmt.Sprintf("поле %s: %s — не предмет этого экзамена (%s); сверьте с листом; %s", name, value, e.Subject, foreign)
		}
	case id == "region":
		if value != e.Region {
			return fmt.Sprintf("поле %s: %s — не код региона этого экзамена (%s); сверьте с листом; %s", name, value, e.Region, foreign)
		}
	case id == "date":
		if want := examDate(e); want != "" && value != want {
			return fmt.Sprintf("поле %s: %s — не дата этого экзамена (%s); сверьте с листом; %s", name, value, want, foreign)
		}
	case id == "auditorium" && typ == forms.TypeBO1:
		if a := padAuditorium(value); a != ref.Auditorium {
			if e.FindAuditorium(ref.PPE, a) == nil {
				return fmt.Sprintf("поле %s: аудитории %s нет в плане ППЭ %s; сверьте с листом; %s", name, a, ref.PPE, foreign)
			}
			return fmt.Sprintf("поле %s: %s — не эта аудитория (%s); сверьте с листом; %s", name, a, ref.Auditorium, elsewhere)
		}
	case strings.HasPrefix(id, "row") && strings.HasSuffix(id, ".auditorium"):
		a := padAuditorium(value)
		if a == "0000" {
			return ""
		}
		if e.FindAuditorium(ref.PPE, a) == nil {
			return fmt.Sprintf("поле %s: аудитории %s нет в плане ППЭ %s; сверьте номер с бумажной формой", name, a, ref.PPE)
		}
	}
	return ""
}

// foreignFields returns, for the fields of res that name the exam, the
// sentences of those whose values are not this exam's, by field id.
func foreignFields(e *exam.Exam, ref store.Ref, res *forms.PageResult) map[string]string {
	out := map[string]string{}
	if e == nil || res == nil {
		return out
	}
	for id, v := range res.Digits {
		if msg := Foreign(e, ref, res.Type, id, strings.Trim(v, "?")); msg != "" && !strings.Contains(v, "?") {
			out[id] = msg
		}
	}
	return out
}

// ForeignFields says which values of page p are not those of exam e,
// with the sentence for each, by field id; for screens.
func ForeignFields(e *exam.Exam, p store.Page) map[string]string {
	return foreignFields(e, p.Ref, p.Result)
}

// checkForeign refuses value in field of the result res of page ref when
// it is not the imported exam's (see Foreign).
func (o *Ops) checkForeign(ref store.Ref, res forms.PageResult, field, value string) error {
	e, err := o.examOf()
	if err != nil {
		return err
	}
	if msg := Foreign(e, ref, res.Type, field, value); msg != "" {
		return refuse("%s", msg)
	}
	return nil
}
