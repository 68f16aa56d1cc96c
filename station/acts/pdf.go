package acts

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"giascan/forms"
	"giascan/station/exam"
)

// The acts are printed with the forms' PDF writer: vector text in the
// station's fonts. Only the acceptance act carries the contract's header
// (page type 56), because only its signed copy is scanned back; the
// others are read by people.

// ExamLine names the exam for an act's first line, e.g. "ОГЭ, Математика,
// 27.05.2025".
func ExamLine(h exam.Header) string {
	kind := "ЕГЭ"
	if h.Level == 9 {
		kind = "ОГЭ"
	}
	name := forms.Subjects[h.Subject]
	if name == "" {
		name = "предмет " + h.Subject
	}
	date := h.Date
	if p := strings.Split(date, "-"); len(p) == 3 {
		date = p[2] + "." + p[1] + "." + p[0]
	}
	return fmt.Sprintf("%s, %s, %s", kind, name, date)
}

// Stamp writes a time for people at the ППЭ, in the station's time zone.
func Stamp(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.Local().Format("02.01.2006 15:04")
}

// page is a drawing with a running baseline.
type page struct {
	d *forms.Drawing
	y float64
}

func (p *page) text(x float64, s string, size float64, bold bool) {
	p.d.Text(forms.Text{X: x, Y: p.y, Size: size, Bold: bold, Text: s}, 1)
}

func (p *page) line(s string, size float64, bold bool, step float64) {
	p.text(15, s, size, bold)
	p.y += step
}

// para writes free text wrapped at about n characters a line, up to the
// bottom; it returns false when the text did not fit.
func (p *page) para(s string, size float64, n int, bottom float64) bool {
	for _, l := range wrap(s, n) {
		if p.y > bottom {
			p.text(15, "… (продолжение — в файле акта)", size, false)
			p.y += size * 0.5
			return false
		}
		p.text(15, l, size, false)
		p.y += size * 0.5
	}
	return true
}

// wrap splits text into lines of at most n characters at spaces, keeping
// the writer's own line breaks.
func wrap(s string, n int) []string {
	var out []string
	for _, par := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		words := strings.Fields(par)
		if len(words) == 0 {
			out = append(out, "")
			continue
		}
		cur := ""
		for _, w := range words {
			for len([]rune(w)) > n {
				if cur != "" {
					out = append(out, cur)
					cur = ""
				}
				r := []rune(w)
				out = append(out, string(r[:n]))
				w = string(r[n:])
			}
			switch {
			case cur == "":
				cur = w
			case len([]rune(cur))+1+len([]rune(w)) <= n:
				cur += " " + w
			default:
				out = append(out, cur)
				cur = w
			}
		}
		out = append(out, cur)
	}
	return out
}

func a4() *page { return &page{d: &forms.Drawing{Width: 210, Height: 297}, y: 20} }

// signatures draws signature lines with the role under each.
func (p *page) signatures(y float64, roles ...string) {
	for _, r := range roles {
		p.d.Text(forms.Text{X: 15, Y: y, Size: 8, Text: r}, 1)
		p.d.Line(110, y, 195, y, 0.2, 1)
		p.d.Text(forms.Text{X: 110, Y: y + 3.5, Size: 6, Text: "подпись / ФИО / дата"}, 0.6)
		y += 14
	}
}

// IncidentDrawing is the printed page of an incident act.
func IncidentDrawing(in Incident) *forms.Drawing {
	p := a4()
	p.d.Text(forms.Text{X: 105, Y: p.y, Size: 12, Bold: true, Align: "center", Text: fmt.Sprintf("АКТ № %d о нештатной ситуации", in.N)}, 1)
	p.y += 6
	p.d.Text(forms.Text{X: 105, Y: p.y, Size: 8, Align: "center", Text: "при приёмке и обработке экзаменационных материалов в ППОИ (п. 4.3 порядка)"}, 1)
	p.y += 10
	p.line(ExamLine(in.Exam), 9, true, 5)
	where := "ППЭ " + in.PPE
	if in.Auditorium != "" {
		where += ", аудитория " + in.Auditorium
	}
	p.line(fmt.Sprintf("Регион %s, %s", in.Exam.Region, where), 9, false, 5)
	p.line("Составлен: "+Stamp(in.At)+", составил: "+in.By, 9, false, 8)
	p.line("Вид нештатной ситуации: "+in.KindName, 10, true, 8)
	p.line("Обстоятельства:", 9, true, 5)
	p.para(in.Text, 9, 95, 215)
	p.y = 232
	if s := in.Signed; s != nil {
		p.line(fmt.Sprintf("Подписан руководителем на станции: %s, %s", s.By, Stamp(s.At)), 8, true, 6)
	} else {
		p.line("На станции руководителем ещё не подписан.", 8, false, 6)
	}
	p.signatures(250, "Сотрудник ППОИ, составивший акт", "Руководитель ППОИ (визирует)")
	p.d.Text(forms.Text{X: 15, Y: 287, Size: 6, Text: fmt.Sprintf("%s · ППЭ %s · %s", in.Name, in.PPE, Stamp(in.At))}, 0.6)
	return p.d
}

// AcceptanceDrawing is the printed page of the acceptance act: the
// header of page type 56 for identity id, the counts and the
// discrepancies, and the signature zones of the template.
func AcceptanceDrawing(t *forms.Template, id forms.Identity, a Acceptance) (*forms.Drawing, error) {
	if t.Type != forms.TypeAcceptance || id.Type != forms.TypeAcceptance {
		return nil, fmt.Errorf("акт приёмки-передачи: шаблон типа %s, страница типа %s, нужен тип %s", t.Type, id.Type, forms.TypeAcceptance)
	}
	d, err := forms.Compose(t, id)
	if err != nil {
		return nil, fmt.Errorf("акт приёмки-передачи: %w", err)
	}
	p := &page{d: d, y: 44}
	p.line(ExamLine(a.Exam), 9, true, 5)
	st := ""
	if a.Station != "" {
		st = ", станция " + a.Station
	}
	p.line(fmt.Sprintf("Регион %s, ППЭ %s%s · составлен %s, принял %s", a.Exam.Region, a.PPE, st, Stamp(a.At), a.By), 8, false, 4.5)
	if a.Received.From != "" {
		p.line("Передал: "+a.Received.From, 8, false, 4.5)
	}
	p.y += 2
	p.line("1. Материалы, подлежащие автоматизированной обработке", 9, true, 5)
	cols := []float64{15, 38, 68, 90, 112, 134, 156}
	heads := []string{"Аудитория", "Участников (план)", "БО №1", "БО №2 л.1", "БО №2 л.2", "ДБО №2", "Бланки"}
	for i, h := range heads {
		p.text(cols[i]+1, h, 7, true)
	}
	p.y += 1.5
	d.Line(15, p.y, 195, p.y, 0.2, 1)
	p.y += 4
	var tot [4]int
	for i, r := range a.Auditoriums {
		if p.y > 150 {
			p.line(fmt.Sprintf("… и ещё аудиторий: %d (см. файл акта)", len(a.Auditoriums)-i), 7, false, 4)
			break
		}
		part := "—"
		if r.Participants >= 0 {
			part = fmt.Sprint(r.Participants)
		}
		if !r.Planned {
			part = "нет в плане"
		}
		env := "отсканированы"
		if !r.Scanned {
			env = "нет сканов"
		}
		vals := []string{r.Auditorium, part, fmt.Sprint(r.BO1), fmt.Sprint(r.BO2S1), fmt.Sprint(r.BO2S2), fmt.Sprint(r.DBO2), env}
		for k, v := range vals {
			p.text(cols[k]+1, v, 8, false)
		}
		tot[0] += r.BO1
		tot[1] += r.BO2S1
		tot[2] += r.BO2S2
		tot[3] += r.DBO2
		p.y += 4.3
	}
	d.Line(15, p.y-3, 195, p.y-3, 0.2, 1)
	p.y += 0.5
	p.text(cols[0]+1, "Итого", 8, true)
	for k := 0; k < 4; k++ {
		p.text(cols[k+2]+1, fmt.Sprint(tot[k]), 8, true)
	}
	p.y += 6
	p.line(fmt.Sprintf("Конвертов с бланками аудиторий принято: %d (по плану аудиторий: %d)", a.Received.Envelopes, planned(a.Auditoriums)), 8, false, 4.5)
	p.line(fmt.Sprintf("Формы ППЭ: ППЭ-13-02-МАШ — %d, ППЭ-18-МАШ — %d", a.Forms["ППЭ-13-02-МАШ"], a.Forms["ППЭ-18-МАШ"]), 8, false, 7)
	p.line("2. Материалы, не подлежащие автоматизированной обработке", 9, true, 5)
	rc := a.Received
	p.line(fmt.Sprintf("неиспользованные ЭМ — %d; испорченные ЭМ — %d; ЭМ с полиграфическими дефектами — %d; использованные КИМ — %d",
		rc.Unused, rc.Spoiled, rc.Defective, rc.UsedKIM), 8, false, 7)
	p.line("3. Расхождения с файлом экзамена и формой ППЭ-13-02-МАШ", 9, true, 5)
	if len(a.Discrepancies) == 0 {
		p.line("нет", 8, false, 4.5)
	}
	for i, s := range a.Discrepancies {
		if p.y > 222 {
			p.line(fmt.Sprintf("… и ещё %d (см. файл акта)", len(a.Discrepancies)-i), 7, false, 4)
			break
		}
		for _, l := range wrap("• "+s, 110) {
			p.line(l, 7, false, 3.6)
		}
	}
	if rc.Note != "" && p.y < 222 {
		p.y += 1
		p.line("Примечание: "+clip(rc.Note, 100), 7, false, 4)
	}
	d.Text(forms.Text{X: 15, Y: 285, Size: 6, Text: "Штрихкод " + a.Barcode + " · подписанную копию отсканируйте на станции: она будет сверена и уйдёт в РЦОИ с пакетом ППЭ"}, 0.6)
	return d, nil
}

func planned(rows []Row) int {
	n := 0
	for _, r := range rows {
		if r.Planned {
			n++
		}
	}
	return n
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// cropW and cropH are the size of a mark's crop on the list, mm.
const cropW, cropH = 90.0, 14.0

// RemovedDrawings are the pages of the list of removed and unfinished
// participants; crops maps a row's index to a PNG of its page around the
// mark.
func RemovedDrawings(r Removed, crops map[int][]byte) []*forms.Drawing {
	var pages []*forms.Drawing
	p := a4()
	head := func() {
		p.d.Text(forms.Text{X: 105, Y: p.y, Size: 11, Bold: true, Align: "center", Text: "Ведомость бланков ответов №1 с отметками"}, 1)
		p.y += 5
		p.d.Text(forms.Text{X: 105, Y: p.y, Size: 9, Align: "center", Text: "«Удалён с экзамена» и «Не закончил экзамен по уважительной причине» (п. 3.6 порядка)"}, 1)
		p.y += 8
		p.line(ExamLine(r.Exam)+" · ППЭ "+r.PPE+" · составлена "+Stamp(r.At)+", "+r.By, 8, false, 7)
	}
	head()
	p.line("Выверка с формой ППЭ-13-02-МАШ", 9, true, 5)
	if !r.FormConfirmed {
		p.line("ППЭ-13-02-МАШ не подтверждена: выверка не проведена. Подтвердите форму на станции и составьте ведомость заново.", 7.5, true, 4.5)
	}
	for _, c := range r.Checks {
		mark := "✓"
		switch {
		case c.Form == nil:
			mark = "—"
		case !c.Agrees:
			mark = "РАСХОЖДЕНИЕ:"
		}
		for i, l := range wrap(c.Text, 88) {
			if i == 0 {
				l = mark + " " + l
			}
			p.line(l, 7.5, !c.Agrees && i == 0, 3.8)
		}
	}
	if len(r.Checks) == 0 && r.FormConfirmed {
		p.line("отметок нет ни на бланках, ни в форме: сходится", 8, false, 4)
	}
	p.y += 3
	p.line(fmt.Sprintf("Бланки с отметками: %d", len(r.Rows)), 9, true, 5)
	if len(r.Rows) == 0 {
		p.line("ни на одном БО №1 нет отметки «удалён» или «не закончил»", 8, false, 4)
	}
	for i, m := range r.Rows {
		if p.y+cropH+8 > 270 {
			pages = append(pages, p.d)
			p = a4()
			head()
		}
		p.line(fmt.Sprintf("%d. Аудитория %s · комплект %s · %s · скан №%d, штрихкод %s", i+1, m.Auditorium, m.Kit, m.MarkName, m.Page, m.Barcode), 8, false, 1.5)
		if png, ok := crops[i]; ok {
			p.d.Image(forms.Rect{X: 20, Y: p.y, W: cropW, H: cropH}, png)
			for _, l := range [][4]float64{{20, p.y, 20 + cropW, p.y}, {20, p.y + cropH, 20 + cropW, p.y + cropH}, {20, p.y, 20, p.y + cropH}, {20 + cropW, p.y, 20 + cropW, p.y + cropH}} {
				p.d.Line(l[0], l[1], l[2], l[3], 0.15, 0.6)
			}
			p.y += cropH + 5
		} else {
			p.y += 3
			p.line("   (изображения отметки нет: страница не совмещается с шаблоном)", 7, false, 4)
		}
	}
	p.signatures(max(p.y+6, 258), "Руководитель ППОИ")
	pages = append(pages, p.d)
	return pages
}

// WritePDF writes act pages as a PDF.
func WritePDF(title string, pages []*forms.Drawing, at time.Time) ([]byte, error) {
	var buf bytes.Buffer
	if err := forms.WritePDF(&buf, pages, forms.PDFMeta{Title: title, Creator: "giascan station", Created: at}); err != nil {
		return nil, fmt.Errorf("акт не напечатан: %w", err)
	}
	return buf.Bytes(), nil
}
