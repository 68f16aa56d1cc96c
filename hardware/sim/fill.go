package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"

	"giascan/forms"
)

// filled is what the people wrote on a page: the truth of marks and
// digits, and the printed extras of the page (the body of ППЭ-15).
type filled struct {
	marks  map[string]string
	digits map[string]string
	extra  []forms.Text
}

// body adds the printed extras of a page before it is rendered: the
// protocol lines of the signed ППЭ-15 copy, whose body is the station's.
func body(s Sheet, rng *rand.Rand) []forms.Text {
	if s.ID.Type != forms.TypePPE15 {
		return nil
	}
	id := s.ID
	date := id.Date[6:8] + "." + id.Date[4:6] + "." + id.Date[0:4]
	lines := []string{
		"Протокол проведения процедуры сканирования",
		fmt.Sprintf("Регион %s, ППЭ %s, экзамен %s (%s), дата %s", id.Region, id.PPE, id.Subject, forms.Subjects[id.Subject], date),
		fmt.Sprintf("Отсканировано бланков: %d, из них повторно: %d", 40+rng.IntN(400), rng.IntN(5)),
		fmt.Sprintf("Аудиторий: %d, ведомостей ППЭ-13-02-МАШ: 1", 1+rng.IntN(15)),
		fmt.Sprintf("Пакет %s-%s-%s, файлов: %d", id.Region, id.PPE, id.Date, 2+rng.IntN(30)),
		"Контрольная сумма пакета (SHA-256, начало): " + id.Manifest,
		fmt.Sprintf("Начало сканирования %02d:%02d, окончание %02d:%02d", 14+rng.IntN(2), rng.IntN(60), 16+rng.IntN(3), rng.IntN(60)),
		"Замечаний к качеству сканирования нет.",
		"Пакет передан в РЦОИ по защищённому каналу связи.",
	}
	n := 5 + rng.IntN(len(lines)-4)
	out := []forms.Text{{X: 105, Y: 50, Size: 12, Bold: true, Align: "center", Text: lines[0]}}
	for i, l := range lines[1:n] {
		out = append(out, forms.Text{X: 20, Y: 66 + 9*float64(i), Size: 9, Text: l})
	}
	return out
}

// fill writes on a page the way its people do, following the plan for
// everything that has to agree across pages.
func fill(s Sheet, t *forms.Template, w *writer) (filled, error) {
	f := filled{marks: map[string]string{}, digits: map[string]string{}}
	for _, b := range t.Boxes {
		f.marks[b.ID] = forms.MarkEmpty
	}
	for _, d := range t.DigitFields {
		f.digits[d.ID] = ""
	}
	var err error
	switch t.Type {
	case forms.TypeBO1:
		err = fillBO1(s, t, w, &f)
	case forms.TypeBO2Sheet1, forms.TypeBO2Sheet2, forms.TypeDBO2:
		fillAnswer(s, t, w)
	case forms.TypePPE1302:
		err = fillPPE1302(s, t, w, &f)
	case forms.TypePPE18:
		fillPPE18(t, w, &f)
	}
	if err != nil {
		return filled{}, err
	}
	// Signatures: nearly always there; the ГЭК member of ППЭ-15 signs
	// only when present.
	for _, z := range t.Zones {
		if z.Kind != forms.ZoneSignature {
			continue
		}
		p := 96
		if t.Type == forms.TypePPE15 && z.ID == "signature_gek" {
			p = 70
		}
		if w.rng.IntN(100) < p {
			w.signature(z.Rect)
		}
	}
	return f, nil
}

func (w *writer) chance(percent int) bool { return w.rng.IntN(100) < percent }

func digitsOf(w *writer, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + w.rng.IntN(10))
	}
	return string(b)
}

func boxesByGroup(t *forms.Template) (map[string][]forms.Box, []string) {
	groups := map[string][]forms.Box{}
	var names []string
	for _, b := range t.Boxes {
		if b.Group == "" {
			continue
		}
		if _, ok := groups[b.Group]; !ok {
			names = append(names, b.Group)
		}
		groups[b.Group] = append(groups[b.Group], b)
	}
	return groups, names
}

func (w *writer) markStyle() int {
	if w.chance(85) {
		return w.style
	}
	return w.rng.IntN(3)
}

func fillBO1(s Sheet, t *forms.Template, w *writer, f *filled) error {
	id := s.ID
	class := "11"
	if id.Level == 9 {
		class = "09"
	}
	values := map[string]string{
		"region":     id.Region,
		"school":     digitsOf(w, 6),
		"class":      class,
		"ppe":        id.PPE,
		"auditorium": id.Auditorium,
		"date":       id.Date[6:8] + id.Date[4:6] + id.Date[2:4],
		"subject":    id.Subject,
		"variant":    digitsOf(w, 4),
	}
	if w.chance(3) {
		values["variant"] = "" // forgotten
	}
	for _, fd := range t.DigitFields {
		v, ok := values[fd.ID]
		if !ok || v == "" {
			continue
		}
		if err := w.field(fd, v); err != nil {
			return err
		}
		f.digits[fd.ID] = v
	}
	for _, z := range t.Zones {
		if z.Kind != forms.ZoneText || (z.ID == "patronymic" && w.chance(5)) {
			continue
		}
		w.textLine(z.Rect)
	}

	groups, names := boxesByGroup(t)
	var tasks []string
	for _, g := range names {
		if g[0] == 't' {
			tasks = append(tasks, g)
		}
	}
	for _, g := range tasks {
		if !w.chance(90) {
			continue // left unanswered
		}
		opts := groups[g]
		picks := []int{w.rng.IntN(len(opts))}
		if w.chance(4) {
			picks = append(picks, (picks[0]+1+w.rng.IntN(len(opts)-1))%len(opts))
		}
		for _, i := range picks {
			w.mark(opts[i].Rect, w.markStyle())
			f.marks[opts[i].ID] = forms.MarkMarked
		}
	}
	// Replacement of wrong answers: some participants use a row or two.
	if w.chance(15) {
		used := map[int]bool{}
		for r := 1; r <= 1+w.rng.IntN(2); r++ {
			task := 1 + w.rng.IntN(20)
			if used[task] {
				continue
			}
			used[task] = true
			fd, ok := t.Field(fmt.Sprintf("r%d_task", r))
			opts := groups[fmt.Sprintf("r%d", r)]
			if !ok || len(opts) == 0 {
				break
			}
			v := fmt.Sprintf("%02d", task)
			if err := w.field(fd, v); err != nil {
				return err
			}
			f.digits[fd.ID] = v
			b := opts[w.rng.IntN(len(opts))]
			w.mark(b.Rect, w.markStyle())
			f.marks[b.ID] = forms.MarkMarked
		}
	}
	// The organiser's marks, as planned so that ППЭ-13-02-МАШ agrees.
	for _, b := range t.Boxes {
		if (b.ID == "removed" && s.removed) || (b.ID == "unfinished" && s.unfinished) {
			w.mark(b.Rect, markCross)
			f.marks[b.ID] = forms.MarkMarked
		}
	}
	w.slips(t, f)
	return nil
}

// slips adds what is not a mark: a stray dot or a border touch in an empty
// box, now and then.
func (w *writer) slips(t *forms.Template, f *filled) {
	var empty []forms.Box
	for _, b := range t.Boxes {
		if f.marks[b.ID] == forms.MarkEmpty {
			empty = append(empty, b)
		}
	}
	if len(empty) == 0 {
		return
	}
	if w.chance(30) {
		w.strayDot(empty[w.rng.IntN(len(empty))].Rect)
	}
	if w.chance(30) {
		w.borderTouch(empty[w.rng.IntN(len(empty))].Rect)
	}
}

func fillAnswer(s Sheet, t *forms.Template, w *writer) {
	empty := map[string]int{forms.TypeBO2Sheet1: 8, forms.TypeBO2Sheet2: 35, forms.TypeDBO2: 3}[t.Type]
	if w.chance(empty) {
		return
	}
	for _, z := range t.Zones {
		if z.Kind != forms.ZoneAnswer {
			continue
		}
		step := 8.0
		for _, r := range t.Rules {
			if r.Zone == z.ID {
				step = r.Step
			}
		}
		lines := 3 + w.rng.IntN(int(z.H/step)-2)
		if w.chance(40) {
			lines = int(z.H / step) // the whole sheet, on to the next one
		}
		w.answer(z.Rect, step, lines)
	}
}

// fillPPE1302 writes the header and one row per auditorium, numbers
// right-aligned as the form asks.
func fillPPE1302(s Sheet, t *forms.Template, w *writer, f *filled) error {
	id := s.ID
	set := func(fid, v string) error {
		fd, ok := t.Field(fid)
		if !ok {
			return fmt.Errorf("type %s has no field %s", t.Type, fid)
		}
		if err := w.field(fd, v); err != nil {
			return err
		}
		f.digits[fid] = v
		return nil
	}
	head := [][2]string{{"region", id.Region}, {"ppe", id.PPE}, {"subject", id.Subject},
		{"date", id.Date[6:8] + id.Date[4:6] + id.Date[2:4]}}
	for _, h := range head {
		if err := set(h[0], h[1]); err != nil {
			return err
		}
	}
	if len(s.rows) > 15 {
		return fmt.Errorf("%d auditoriums do not fit the 15 rows of ППЭ-13-02-МАШ", len(s.rows))
	}
	for i, r := range s.rows {
		n := func(v int) string { return strconv.Itoa(v) }
		cells := [][2]string{{"auditorium", r.auditorium}, {"listed", n(r.listed)}, {"present", n(r.present)},
			{"absent", n(r.absent)}, {"removed", n(r.removed)}, {"unfinished", n(r.unfinished)},
			{"bo1", n(r.bo1)}, {"bo2s1", n(r.bo2s1)}, {"bo2s2", n(r.bo2s2)}, {"dbo2", n(r.dbo2)},
			{"defective", n(r.defective)}}
		for _, c := range cells {
			if err := set(fmt.Sprintf("row%02d.%s", i+1, c[0]), c[1]); err != nil {
				return err
			}
		}
	}
	return nil
}

// fillPPE18 answers every statement of the observer's act with yes or no.
func fillPPE18(t *forms.Template, w *writer, f *filled) {
	groups, names := boxesByGroup(t)
	for _, g := range names {
		opts := groups[g]
		sort.Slice(opts, func(i, j int) bool { return opts[i].X < opts[j].X }) // yes left of no
		b := opts[0]
		if !w.chance(85) && len(opts) > 1 {
			b = opts[1]
		}
		w.mark(b.Rect, w.markStyle())
		f.marks[b.ID] = forms.MarkMarked
	}
	w.slips(t, f)
}

// truth builds the page's expected recognizer output from what was
// written and how the page lies in the scan.
func truth(s Sheet, t *forms.Template, f filled, pen *penLayer, rotation int, skew float64) forms.PageResult {
	res := forms.NewPageResult("", 1)
	res.Type = s.ID.Type
	res.Barcode = s.ID.Barcode
	res.Context = forms.ContextOf(s.ID)
	res.Rotation = rotation
	res.Skew = math.Round(skew*1000) / 1000
	res.Marks = f.marks
	res.Digits = f.digits
	multiple, noAnswer, noSignature := false, false, false
	groups, _ := boxesByGroup(t)
	for _, opts := range groups {
		n := 0
		for _, b := range opts {
			if f.marks[b.ID] == forms.MarkMarked {
				n++
			}
		}
		multiple = multiple || n > 1
	}
	for _, z := range t.Zones {
		ink := pen.coverage(z.Rect)
		res.Ink[z.ID] = math.Round(ink*1e4) / 1e4
		empty := ink == 0
		switch z.Kind {
		case forms.ZoneAnswer:
			noAnswer = noAnswer || empty
		case forms.ZoneSignature:
			noSignature = noSignature || empty
		}
	}
	if multiple {
		res.Flags = append(res.Flags, forms.FlagMultipleMarks)
	}
	if noAnswer {
		res.Flags = append(res.Flags, forms.FlagEmptyAnswerArea)
	}
	if noSignature {
		res.Flags = append(res.Flags, forms.FlagNoSignature)
	}
	return res
}
