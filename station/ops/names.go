package ops

import (
	"fmt"
	"regexp"
	"strconv"

	"giascan/forms"
)

// formColumnNames are the Russian headings of the ППЭ-13-02-МАШ row
// fields, by the field's name after "rowNN.".
var formColumnNames = map[string]string{
	"auditorium": "аудитория", "listed": "по списку", "present": "явились", "absent": "не явились",
	"removed": "удалены", "unfinished": "не закончили", "bo1": "БО №1", "bo2s1": "БО №2 лист 1",
	"bo2s2": "БО №2 лист 2", "dbo2": "ДБО №2", "defective": "испорченные ИК",
}

// ppe18Items are the statements of the ППЭ-18-МАШ, by their number 0–9.
var ppe18Items = []string{
	"экзамен начался в установленное время",
	"участникам проведён инструктаж",
	"материалы вскрыты при участниках",
	"видеонаблюдение работало",
	"участники с запрещёнными средствами",
	"посторонние лица в аудиториях",
	"организаторы покидали аудиторию",
	"участники выходили без сопровождения",
	"апелляции о нарушении порядка",
	"нарушения в протоколе",
}

var (
	reRow    = regexp.MustCompile(`^row(\d\d)\.([a-z0-9]+)$`)
	reTask   = regexp.MustCompile(`^t(\d\d)_(\d)$`)
	reRepl   = regexp.MustCompile(`^r(\d)_(\d)$`)
	reRTask  = regexp.MustCompile(`^r(\d)_task$`)
	reYesNo  = regexp.MustCompile(`^(yes|no)_(\d)$`)
	fixedIDs = map[string]string{
		"barcode": "Штрихкод", "context": "QR-код", "type": "Тип листа",
		"removed": "удалён с экзамена", "unfinished": "не закончил по уважительной причине",
	}
)

// FieldName is the Russian name of field id of a page of type typ, as a
// person reads it on the paper: «Код ППЭ», «строка 3: явились»,
// «задание 5, ответ 2». The template's own label wins where it has one;
// an id nothing names is returned as it is, so nothing is ever hidden.
func FieldName(typ, id string) string {
	if t, ok := forms.Builtin().Get(typ); ok {
		if f, ok := t.Field(id); ok && f.Label != "" {
			return f.Label
		}
		for _, b := range t.Boxes {
			if b.ID == id && b.Label != "" {
				return b.Label
			}
		}
	}
	if n, ok := fixedIDs[id]; ok {
		return n
	}
	num := func(s string) int { n, _ := strconv.Atoi(s); return n }
	if m := reRow.FindStringSubmatch(id); m != nil {
		if c, ok := formColumnNames[m[2]]; ok {
			return fmt.Sprintf("строка %d: %s", num(m[1]), c)
		}
	}
	if m := reTask.FindStringSubmatch(id); m != nil {
		return fmt.Sprintf("задание %d, ответ %s", num(m[1]), m[2])
	}
	if m := reRepl.FindStringSubmatch(id); m != nil {
		return fmt.Sprintf("замена ответа %s: ответ %s", m[1], m[2])
	}
	if m := reRTask.FindStringSubmatch(id); m != nil {
		return fmt.Sprintf("замена ответа %s: номер задания", m[1])
	}
	if m := reYesNo.FindStringSubmatch(id); m != nil {
		i := num(m[2])
		word := map[string]string{"yes": "да", "no": "нет"}[m[1]]
		if i < len(ppe18Items) {
			return fmt.Sprintf("пункт %d (%s): %s", i+1, ppe18Items[i], word)
		}
		return fmt.Sprintf("пункт %d: %s", i+1, word)
	}
	return id
}
