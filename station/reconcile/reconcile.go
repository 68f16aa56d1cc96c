package reconcile

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"giascan/forms"
	"giascan/station/exam"
)

// Page is one scanned page as the station keeps it.
type Page struct {
	// Seq is the page's scan sequence number within its auditorium: 1, 2, …
	// in the order pages were fed.
	Seq int
	// File is where the page came from, when it came from a file.
	File string
	// SHA256 is the hex digest of the stored image. Equal digests mean the
	// same file was fed twice; different digests say nothing, since two
	// scans of one sheet never give the same bytes.
	SHA256 string
	// Result is the recognised page, with any values a person confirmed
	// already applied (and NeedsReview cleared once all are confirmed).
	Result forms.PageResult
	// Fingerprint is an optional perceptual hash of the page image, 16 hex
	// digits (64 bits, e.g. a difference hash of the deskewed page). When
	// both pages of a pair carry one, it alone decides whether they show
	// the same sheet; see sameContent.
	Fingerprint string
}

// Scan is what was scanned for one auditorium, and whether the operator
// closed (packaged) it.
type Scan struct {
	PPE    string // ППЭ code
	Number string // auditorium number
	Pages  []Page
	Closed bool
	Reason string // the operator's reason for closing with problems left
}

// Input is everything a report is made from.
type Input struct {
	Exam *exam.Exam
	// Expected holds the confirmed ППЭ-13-02-МАШ counts: ППЭ code →
	// auditorium number → counts. A ППЭ is absent until its form is
	// confirmed or entered by hand.
	Expected map[string]map[string]Counts
	// Scans lists the auditoriums scanned so far, in any order. Planned
	// auditoriums not listed are reported as nothing scanned yet.
	Scans []Scan
}

// Reconcile makes the report of exam.md. It is deterministic: the same
// input gives the same report, byte for byte once encoded.
func Reconcile(in Input) (*Report, error) {
	if in.Exam == nil {
		return nil, errors.New("reconcile: no exam")
	}
	r := &reconciler{in: in, aud: map[audKey]*audState{}}
	if err := r.collect(); err != nil {
		return nil, err
	}
	r.duplicates()
	rep := &Report{Exam: in.Exam.Header(), PPE: []PPE{}, Unassigned: r.unassigned}
	for _, p := range in.Exam.PPE {
		pr := PPE{Code: p.Code, Auditoriums: []Auditorium{}}
		for i := range p.Auditoriums {
			pr.Auditoriums = append(pr.Auditoriums, r.auditorium(p.Code, &p.Auditoriums[i]))
		}
		rep.PPE = append(rep.PPE, pr)
	}
	sort.SliceStable(rep.Unassigned, func(i, j int) bool {
		a, b := rep.Unassigned[i], rep.Unassigned[j]
		if a.PPE != b.PPE {
			return a.PPE < b.PPE
		}
		if a.Auditorium != b.Auditorium {
			return a.Auditorium < b.Auditorium
		}
		return less(a, b)
	})
	if rep.Unassigned == nil {
		rep.Unassigned = []Problem{}
	}
	return rep, nil
}

type audKey struct{ ppe, number string }

// pageClass says what a page is to the auditorium it was scanned in.
type pageClass int

const (
	classUnreadable pageClass = iota // not identified
	classForeign                     // belongs elsewhere
	classForm                        // a ППЭ form or other page of the ППЭ
	classBlank                       // an answer blank of this auditorium
)

type pageState struct {
	page  Page
	audit audKey
	class pageClass
	// dup is set on a page that repeats an earlier scan of the same sheet;
	// such a page is not counted.
	dup bool
}

type audState struct {
	key      audKey
	scan     *Scan
	pages    []*pageState
	problems []Problem
}

type reconciler struct {
	in         Input
	aud        map[audKey]*audState
	order      []*pageState // every identified page of a planned auditorium, for duplicate search
	unassigned []Problem
}

// collect classifies every page and records the problems that concern a
// page on its own.
func (r *reconciler) collect() error {
	scans := append([]Scan(nil), r.in.Scans...)
	sort.SliceStable(scans, func(i, j int) bool {
		if scans[i].PPE != scans[j].PPE {
			return scans[i].PPE < scans[j].PPE
		}
		return scans[i].Number < scans[j].Number
	})
	for i := range scans {
		s := &scans[i]
		k := audKey{s.PPE, s.Number}
		if _, dup := r.aud[k]; dup {
			return fmt.Errorf("reconcile: auditorium %s of ППЭ %s is given twice", s.Number, s.PPE)
		}
		st := &audState{key: k, scan: s}
		r.aud[k] = st
		planned := r.in.Exam.FindAuditorium(s.PPE, s.Number) != nil
		pages := append([]Page(nil), s.Pages...)
		sort.SliceStable(pages, func(i, j int) bool { return pages[i].Seq < pages[j].Seq })
		for _, p := range pages {
			ps := &pageState{page: p, audit: k}
			prob, class := r.classify(k, p)
			ps.class = class
			if !planned {
				// The station was told an auditorium the exam does not
				// plan: nothing scanned there can be reconciled.
				if prob == nil {
					prob = &Problem{Kind: KindForeign, Detail: fmt.Sprintf(
						"Аудитории %s нет в плане ППЭ %s: проверьте номер аудитории и отсканируйте пачку в нужной аудитории", s.Number, s.PPE)}
					pageProblem(prob, p)
				}
				prob.PPE, prob.Auditorium = s.PPE, s.Number
				r.unassigned = append(r.unassigned, *prob)
				continue
			}
			st.pages = append(st.pages, ps)
			if prob != nil {
				if prob.Kind == KindForeign && prob.MoveTo == "" {
					prob.PPE, prob.Auditorium = s.PPE, s.Number
					r.unassigned = append(r.unassigned, *prob)
				} else {
					st.problems = append(st.problems, *prob)
				}
			}
			if class == classBlank || class == classForm {
				r.order = append(r.order, ps)
				if p.Result.NeedsReview {
					st.problems = append(st.problems, reviewProblem(p))
				}
			}
		}
	}
	return nil
}

// classify tells what a page scanned in auditorium k is, with the problem
// it raises on its own, if any.
func (r *reconciler) classify(k audKey, p Page) (*Problem, pageClass) {
	res := p.Result
	c := res.Context
	var why string
	switch {
	case res.Error != "":
		why = "изображение не читается (" + res.Error + ")"
	case res.Barcode == "" || res.Type == "":
		why = "штрихкод не прочитан"
	case c.Date == "" || c.PPE == "" || c.Auditorium == "" || c.Kit == "" || c.Sheet == nil:
		why = "QR-код не прочитан"
	case !consistent(res.Type, *c.Sheet):
		why = fmt.Sprintf("тип бланка %s и номер листа %d в QR-коде противоречат друг другу", res.Type, *c.Sheet)
	}
	if why != "" {
		pr := &Problem{Kind: KindUnreadable, Barcode: res.Barcode, Detail: fmt.Sprintf(
			"Страница не опознана: %s. Проверьте лист, отсканируйте его ещё раз или введите данные вручную", why)}
		pageProblem(pr, p)
		return pr, classUnreadable
	}
	e := r.in.Exam
	what := sheetName(res.Type, *c.Sheet, c.Kit)
	foreign := func(detail string) (*Problem, pageClass) {
		pr := &Problem{Kind: KindForeign, Barcode: res.Barcode, Detail: detail}
		sheetOf(pr, res)
		pageProblem(pr, p)
		return pr, classForeign
	}
	if !e.SameExam(c) {
		return foreign(fmt.Sprintf("%s относится к другому экзамену (%s): отложите его отдельно, сообщите руководителю ППЭ и удалите этот скан",
			capital(what), otherExam(e, c)))
	}
	if c.PPE != k.ppe {
		where := "ППЭ " + c.PPE
		if e.FindAuditorium(c.PPE, c.Auditorium) != nil {
			where += " (аудитория " + c.Auditorium + ")"
		}
		return foreign(fmt.Sprintf("%s относится к %s, а не к ППЭ %s: отложите его отдельно, сообщите руководителю ППЭ и удалите этот скан",
			capital(what), where, k.ppe))
	}
	if c.Auditorium == "0000" && !isBlank(res.Type) {
		return nil, classForm // ППЭ-wide forms may travel with any auditorium's stack
	}
	if c.Auditorium != k.number {
		if e.FindAuditorium(c.PPE, c.Auditorium) == nil {
			return foreign(fmt.Sprintf("%s относится к аудитории %s, которой нет в плане ППЭ %s: отложите его отдельно, сообщите руководителю ППЭ и удалите этот скан",
				capital(what), c.Auditorium, c.PPE))
		}
		pr, class := foreign(fmt.Sprintf("%s относится к аудитории %s этого ППЭ: переложите бланк в пачку аудитории %s, отсканируйте его там, а этот скан удалите",
			capital(what), c.Auditorium, c.Auditorium))
		pr.MoveTo = c.Auditorium
		return pr, class
	}
	if !isBlank(res.Type) {
		return nil, classForm
	}
	return nil, classBlank
}

// duplicates finds barcodes carried by more than one scanned page. Pages
// of one barcode are grouped into sheets by content: the first scan of a
// sheet counts, later scans are duplicate_scan; two or more sheets are a
// duplicate_barcode incident, reported on the first scan of each sheet.
func (r *reconciler) duplicates() {
	byBarcode := map[string][]*pageState{}
	var barcodes []string
	for _, ps := range r.order {
		b := ps.page.Result.Barcode
		if _, seen := byBarcode[b]; !seen {
			barcodes = append(barcodes, b)
		}
		byBarcode[b] = append(byBarcode[b], ps)
	}
	for _, b := range barcodes {
		group := byBarcode[b]
		if len(group) < 2 {
			continue
		}
		var sheets [][]*pageState
	page:
		for _, ps := range group {
			for i, sh := range sheets {
				if sameContent(sh[0].page, ps.page) {
					sheets[i] = append(sheets[i], ps)
					ps.dup = true
					first := sh[0]
					pr := Problem{Kind: KindDuplicateScan, Barcode: b, Detail: fmt.Sprintf(
						"Лист со штрихкодом %s отсканирован повторно (это повтор: %s): удалите этот скан",
						b, scanRef(first, ps.audit))}
					pageProblem(&pr, ps.page)
					sheetOf(&pr, ps.page.Result)
					r.aud[ps.audit].problems = append(r.aud[ps.audit].problems, pr)
					continue page
				}
			}
			sheets = append(sheets, []*pageState{ps})
		}
		if len(sheets) < 2 {
			continue
		}
		for i, sh := range sheets {
			first := sh[0]
			var others []string
			for j, o := range sheets {
				if j != i {
					others = append(others, scanRef(o[0], first.audit))
				}
			}
			pr := Problem{Kind: KindDuplicateBarcode, Barcode: b, Detail: fmt.Sprintf(
				"Штрихкод %s стоит на разных листах (этот скан и %s): это нештатная ситуация — отложите эти листы, составьте акт и сообщите в РЦОИ",
				b, strings.Join(others, " и "))}
			pageProblem(&pr, first.page)
			sheetOf(&pr, first.page.Result)
			r.aud[first.audit].problems = append(r.aud[first.audit].problems, pr)
		}
	}
}

// auditorium makes the report of one planned auditorium.
func (r *reconciler) auditorium(ppe string, plan *exam.Auditorium) Auditorium {
	k := audKey{ppe, plan.Number}
	st := r.aud[k]
	if st == nil {
		st = &audState{key: k}
	}
	out := Auditorium{Number: plan.Number, Status: StatusOpen}
	probs := append([]Problem(nil), st.problems...)

	// Count sheets and collect each kit's sheets from the first scan of
	// every sheet.
	type kitInfo struct {
		sheets map[int]bool
		seqs   []int
	}
	kits := map[string]*kitInfo{}
	var removed, unfinished []string
	for _, ps := range st.pages {
		if ps.dup || ps.class == classForeign {
			continue // a repeat scan adds no sheet; a foreign page is counted where it belongs
		}
		res := ps.page.Result
		if ps.class != classBlank {
			out.Scanned.Other++
			continue
		}
		switch res.Type {
		case forms.TypeBO1:
			out.Scanned.BO1++
			if res.Marks["removed"] == forms.MarkMarked {
				removed = append(removed, res.Context.Kit)
			}
			if res.Marks["unfinished"] == forms.MarkMarked {
				unfinished = append(unfinished, res.Context.Kit)
			}
		case forms.TypeBO2Sheet1:
			out.Scanned.BO2S1++
		case forms.TypeBO2Sheet2:
			out.Scanned.BO2S2++
		case forms.TypeDBO2:
			out.Scanned.DBO2++
		}
		kit := res.Context.Kit
		if kit == forms.NoKit {
			continue
		}
		ki := kits[kit]
		if ki == nil {
			ki = &kitInfo{sheets: map[int]bool{}}
			kits[kit] = ki
		}
		ki.sheets[*res.Context.Sheet] = true
		ki.seqs = append(ki.seqs, ps.page.Seq)
	}
	kitList := make([]string, 0, len(kits))
	for kit := range kits {
		kitList = append(kitList, kit)
	}
	sort.Strings(kitList)
	for _, kit := range kitList {
		ki := kits[kit]
		if plan.PlansKits() && !plan.HasKit(kit) {
			where := "его нет в плане экзамена"
			if p, a, ok := r.in.Exam.FindKit(kit); ok {
				where = "он запланирован в аудитории " + a
				if p != ppe {
					where += " ППЭ " + p
				}
			}
			probs = append(probs, Problem{Kind: KindUnknownKit, Kit: kit, Detail: fmt.Sprintf(
				"Комплекта %s нет в плане аудитории %s (%s; сканы %s): проверьте, из этой ли аудитории бланки, и сообщите руководителю ППЭ",
				kit, plan.Number, where, seqList(ki.seqs))})
		}
		for s := 0; s <= 2; s++ {
			if !ki.sheets[s] {
				probs = append(probs, Problem{Kind: KindMissing, Kit: kit, Sheet: intp(s), Detail: fmt.Sprintf(
					"%s не отсканирован: найдите бланк и отсканируйте его", capital(sheetName(blankType(s), s, kit)))})
			}
		}
		last := 0
		for s := range ki.sheets {
			last = max(last, s)
		}
		for s := 3; s < last; s++ {
			if !ki.sheets[s] {
				probs = append(probs, Problem{Kind: KindChainGap, Kit: kit, Sheet: intp(s), Detail: fmt.Sprintf(
					"ДБО №2 лист %d комплекта %s не отсканирован, а лист %d есть: найдите лист %d и отсканируйте его",
					s, kit, last, s)})
			}
		}
	}

	// Against the confirmed ППЭ-13-02-МАШ.
	if form, ok := r.in.Expected[ppe]; !ok {
		probs = append(probs, Problem{Kind: KindFormMissing, Detail: fmt.Sprintf(
			"Данные ППЭ-13-02-МАШ для ППЭ %s не подтверждены: отсканируйте форму и подтвердите значения или введите их вручную", ppe)})
	} else if row, ok := form[plan.Number]; !ok {
		probs = append(probs, Problem{Kind: KindFormMissing, Detail: fmt.Sprintf(
			"В ППЭ-13-02-МАШ нет строки аудитории %s: проверьте форму и введите значения вручную (нули, если аудитория не использовалась)", plan.Number)})
	} else {
		out.Expected = &row
		for _, c := range []struct {
			blank, name string
			want, have  int
		}{
			{BlankBO1, "БО №1", row.BO1, out.Scanned.BO1},
			{BlankBO2S1, "БО №2 лист 1", row.BO2S1, out.Scanned.BO2S1},
			{BlankBO2S2, "БО №2 лист 2", row.BO2S2, out.Scanned.BO2S2},
			{BlankDBO2, "ДБО №2", row.DBO2, out.Scanned.DBO2},
		} {
			if c.want == c.have {
				continue
			}
			todo := "найдите недостающие бланки и отсканируйте их"
			if c.have > c.want {
				todo = "проверьте, нет ли в пачке чужих бланков, и сверьте форму ППЭ-13-02-МАШ"
			}
			probs = append(probs, Problem{Kind: KindCountMismatch, Blank: c.blank, Detail: fmt.Sprintf(
				"%s: по ППЭ-13-02-МАШ %d, отсканировано %d: %s", c.name, c.want, c.have, todo)})
		}
		if len(removed) != row.Removed {
			probs = append(probs, Problem{Kind: KindRemovedMismatch, Detail: fmt.Sprintf(
				"Отметка «Удалён с экзамена» стоит на %d БО №1%s, а в ППЭ-13-02-МАШ удалено %d: сверьте бланки с формой и актами об удалении, результат выверки передайте в РЦОИ",
				len(removed), kitsNote(removed), row.Removed)})
		}
		if len(unfinished) != row.Unfinished {
			probs = append(probs, Problem{Kind: KindUnfinishedMismatch, Detail: fmt.Sprintf(
				"Отметка «Не закончил экзамен по уважительной причине» стоит на %d БО №1%s, а в ППЭ-13-02-МАШ таких участников %d: сверьте бланки с формой и актами, результат выверки передайте в РЦОИ",
				len(unfinished), kitsNote(unfinished), row.Unfinished)})
		}
	}

	sort.SliceStable(probs, func(i, j int) bool { return less(probs[i], probs[j]) })
	if probs == nil {
		probs = []Problem{}
	}
	out.Problems = probs
	switch {
	case st.scan != nil && st.scan.Closed:
		out.Status, out.Reason = StatusClosed, st.scan.Reason
	case len(probs) == 0:
		out.Status = StatusReconciled
	}
	return out
}

// less orders problems of one list: by kind, then page, kit and sheet.
func less(a, b Problem) bool {
	if a.Kind != b.Kind {
		ra, oka := kindRank[a.Kind]
		rb, okb := kindRank[b.Kind]
		if oka && okb {
			return ra < rb
		}
		return a.Kind < b.Kind
	}
	if a.Seq != b.Seq {
		return a.Seq < b.Seq
	}
	if a.Kit != b.Kit {
		return a.Kit < b.Kit
	}
	sa, sb := -1, -1
	if a.Sheet != nil {
		sa = *a.Sheet
	}
	if b.Sheet != nil {
		sb = *b.Sheet
	}
	if sa != sb {
		return sa < sb
	}
	if a.Blank != b.Blank {
		return a.Blank < b.Blank
	}
	if a.Barcode != b.Barcode {
		return a.Barcode < b.Barcode
	}
	return a.Detail < b.Detail
}

func reviewProblem(p Page) Problem {
	res := p.Result
	fields := append([]string(nil), res.Review...)
	sort.Strings(fields)
	what := "значения"
	if len(fields) > 0 {
		what = "значения полей " + strings.Join(fields, ", ")
	}
	pr := Problem{Kind: KindNeedsReview, Barcode: res.Barcode, Detail: fmt.Sprintf(
		"Распознанные %s не точны: сверьте их с изображением и подтвердите", what)}
	if res.Context.Kit != "" && res.Context.Kit != forms.NoKit {
		pr.Kit = res.Context.Kit
	}
	pageProblem(&pr, p)
	return pr
}

// sheetOf names the participant's kit and sheet a problem is about, for
// answer blanks (ППЭ forms belong to no kit).
func sheetOf(pr *Problem, r forms.PageResult) {
	if !isBlank(r.Type) || r.Context.Sheet == nil || r.Context.Kit == forms.NoKit {
		return
	}
	pr.Kit, pr.Sheet = r.Context.Kit, intp(*r.Context.Sheet)
}

// pageProblem ties a problem to one page.
func pageProblem(pr *Problem, p Page) {
	pr.Seq, pr.File = p.Seq, p.File
}

func isBlank(t string) bool {
	switch t {
	case forms.TypeBO1, forms.TypeBO2Sheet1, forms.TypeBO2Sheet2, forms.TypeDBO2:
		return true
	}
	return false
}

// consistent checks the page type against the sheet number L of the QR.
func consistent(t string, sheet int) bool {
	switch t {
	case forms.TypeBO1:
		return sheet == 0
	case forms.TypeBO2Sheet1:
		return sheet == 1
	case forms.TypeBO2Sheet2:
		return sheet == 2
	case forms.TypeDBO2:
		return sheet >= 3 && sheet <= maxSheet
	}
	return sheet >= 0 && sheet <= maxSheet
}

// maxSheet is the largest L the QR contract allows (1–2 digits); a larger
// one would also make the gap search run for ever.
const maxSheet = 99

func blankType(sheet int) string {
	switch sheet {
	case 0:
		return forms.TypeBO1
	case 1:
		return forms.TypeBO2Sheet1
	case 2:
		return forms.TypeBO2Sheet2
	}
	return forms.TypeDBO2
}

// sheetName names a page in Russian for a detail text.
func sheetName(t string, sheet int, kit string) string {
	var s string
	switch t {
	case forms.TypeBO1:
		s = "БО №1"
	case forms.TypeBO2Sheet1:
		s = "лист 1 БО №2"
	case forms.TypeBO2Sheet2:
		s = "лист 2 БО №2"
	case forms.TypeDBO2:
		s = fmt.Sprintf("ДБО №2 лист %d", sheet)
	case forms.TypePPE1302:
		return "форма ППЭ-13-02-МАШ"
	case forms.TypePPE18:
		return "форма ППЭ-18-МАШ"
	case forms.TypePPE15:
		return "протокол ППЭ-15"
	case forms.TypeAcceptance:
		return "акт приёмки-передачи"
	default:
		return "лист типа " + t
	}
	if kit != "" && kit != forms.NoKit {
		s += " комплекта " + kit
	}
	return s
}

func capital(s string) string {
	for i, r := range s {
		return strings.ToUpper(string(r)) + s[i+len(string(r)):]
	}
	return s
}

// otherExam says how a page's exam differs from this one.
func otherExam(e *exam.Exam, c forms.Context) string {
	var d []string
	if c.Level != e.Level {
		d = append(d, fmt.Sprintf("уровень %d", c.Level))
	}
	if c.Region != e.Region {
		d = append(d, "регион "+c.Region)
	}
	if c.Subject != e.Subject {
		name := forms.Subjects[c.Subject]
		if name == "" {
			name = c.Subject
		}
		d = append(d, "предмет "+name)
	}
	if c.Date != e.QRDate() {
		date := c.Date
		if len(date) == 8 {
			date = date[6:] + "." + date[4:6] + "." + date[:4]
		}
		d = append(d, "дата "+date)
	}
	return strings.Join(d, ", ")
}

func scanRef(ps *pageState, from audKey) string {
	s := "скан " + strconv.Itoa(ps.page.Seq)
	if ps.audit != from {
		s += " аудитории " + ps.audit.number
		if ps.audit.ppe != from.ppe {
			s += " ППЭ " + ps.audit.ppe
		}
	}
	return s
}

func seqList(seqs []int) string {
	s := append([]int(nil), seqs...)
	sort.Ints(s)
	parts := make([]string, len(s))
	for i, n := range s {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, ", ")
}

func kitsNote(kits []string) string {
	if len(kits) == 0 {
		return ""
	}
	k := append([]string(nil), kits...)
	sort.Strings(k)
	return " (комплекты " + strings.Join(k, ", ") + ")"
}

func intp(n int) *int { return &n }

// Misplaced tells, for one page just read in auditorium aud of ППЭ ppe,
// whether it belongs elsewhere: another exam, ППЭ or auditorium. It is
// the report's own judgement (KindForeign), made the moment the page is
// read so that the operator hears of it while the sheet is at hand; nil
// for a page of this auditorium or one not identified yet.
func Misplaced(e *exam.Exam, ppe, aud string, p Page) *Problem {
	r := &reconciler{in: Input{Exam: e}}
	pr, class := r.classify(audKey{ppe, aud}, p)
	if class != classForeign {
		return nil
	}
	return pr
}
