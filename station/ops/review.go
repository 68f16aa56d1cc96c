package ops

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"giascan/forms"
	"giascan/station/audit"
	"giascan/station/reconcile"
	"giascan/station/refusal"
	"giascan/station/store"
)

// cloneResult copies a result deep enough to change it safely.
func cloneResult(r *forms.PageResult) forms.PageResult {
	if r == nil {
		return forms.NewPageResult("", 1)
	}
	c := *r
	c.Marks, c.Digits, c.Ink = maps.Clone(r.Marks), maps.Clone(r.Digits), maps.Clone(r.Ink)
	c.Flags, c.Review = slices.Clone(r.Flags), slices.Clone(r.Review)
	if c.Marks == nil {
		c.Marks = map[string]string{}
	}
	if c.Digits == nil {
		c.Digits = map[string]string{}
	}
	if r.Context.Sheet != nil {
		n := *r.Context.Sheet
		c.Context.Sheet = &n
	}
	return c
}

// identity is what an audit entry shows of a page's identity.
func identity(r *forms.PageResult) map[string]any {
	if r == nil {
		return map[string]any{"recognised": false}
	}
	return map[string]any{"barcode": r.Barcode, "type": r.Type, "context": r.Context, "error": r.Error}
}

// Identify gives an unreadable page the identity a person read off the
// paper: its barcode (the type is the barcode's first two digits) and,
// for answer blanks, the participant's kit and, for a ДБО №2, the sheet
// number. The rest of the context is the exam's and the auditorium's the
// page was scanned in.
func (o *Ops) Identify(actor string, ref store.Ref, barcode, kit string, sheet int) (store.Page, error) {
	if err := o.begin(actor); err != nil {
		return store.Page{}, err
	}
	if err := forms.CheckBarcode(barcode); err != nil {
		if errors.Is(err, forms.ErrCheckDigit) {
			return store.Page{}, refuse("штрихкод %s: неверная контрольная цифра; сверьте все 13 цифр с листом и введите заново", barcode)
		}
		return store.Page{}, refuse("штрихкод %q: нужно ровно 13 цифр, как напечатано под штрихкодом", barcode)
	}
	typ := barcode[:2]
	if _, ok := forms.Builtin().Get(typ); !ok {
		return store.Page{}, refuse("штрихкод %s начинается с %s — такого типа листа нет: сверьте цифры с листом", barcode, typ)
	}
	p, err := o.activePage(ref)
	if err != nil {
		return store.Page{}, err
	}
	e, err := o.examOf()
	if err != nil {
		return store.Page{}, err
	}
	blank := typ == forms.TypeBO1 || typ == forms.TypeBO2Sheet1 || typ == forms.TypeBO2Sheet2 || typ == forms.TypeDBO2
	ctx := forms.Context{Level: e.Level, Region: e.Region, PPE: ref.PPE, Auditorium: ref.Auditorium,
		Subject: e.Subject, Date: e.QRDate(), Kit: forms.NoKit}
	switch {
	case blank:
		if len(kit) != 10 || strings.Trim(kit, "0123456789") != "" || kit == forms.NoKit {
			return store.Page{}, refuse("для бланка участника нужен номер комплекта из 10 цифр, как в QR-коде и на БО №1")
		}
		ctx.Kit = kit
		switch typ {
		case forms.TypeBO1:
			sheet = 0
		case forms.TypeBO2Sheet1:
			sheet = 1
		case forms.TypeBO2Sheet2:
			sheet = 2
		default:
			if sheet < 3 || sheet > 99 {
				return store.Page{}, refuse("для ДБО №2 нужен номер листа от 3: он напечатан в заголовке листа")
			}
		}
	default:
		if kit != "" && kit != forms.NoKit {
			return store.Page{}, refuse("лист типа %s — форма ППЭ, у неё нет комплекта: не указывайте номер комплекта", typ)
		}
		ctx.Auditorium, sheet = "0000", 0
	}
	ctx.Sheet = &sheet
	res := cloneResult(p.Result)
	res.Error, res.Barcode, res.Type, res.Context = "", barcode, typ, ctx
	res.Flags = slices.DeleteFunc(res.Flags, func(f string) bool {
		return f == forms.FlagNoBarcode || f == forms.FlagNoQR || f == forms.FlagBadCheckDigit || f == forms.FlagBarcodeQRMismatch ||
			f == forms.FlagBarcodeFromDigits
	})
	// The person read the identity off the paper: it no longer waits.
	res.Review = slices.DeleteFunc(res.Review, func(f string) bool { return f == "barcode" || f == "context" || f == "type" })
	res.NeedsReview = len(res.Review) > 0
	if err := o.St.SetResult(ref, p.Rev, res); err != nil {
		return store.Page{}, err
	}
	before := identity(p.Result)
	p.Result = &res
	return p, o.record(actor, audit.ActionPageIdentify, subjectOf(p), before, identity(&res), "")
}

// Review confirms (value "") or corrects the recognised value of field on
// page ref. A digit field takes digits; a mark box takes marked or empty.
// Once no field waits for a person, the page no longer needs review.
func (o *Ops) Review(actor string, ref store.Ref, field, value string) (store.Page, error) {
	if err := o.begin(actor); err != nil {
		return store.Page{}, err
	}
	p, err := o.activePage(ref)
	if err != nil {
		return store.Page{}, err
	}
	if p.Result == nil {
		return store.Page{}, refuse("страница %d ещё не распознана: дождитесь распознавания и повторите", ref.Seq)
	}
	res := cloneResult(p.Result)
	old, isDigit := res.Digits[field]
	oldMark, isMark := res.Marks[field]
	if !isDigit && !isMark {
		known := slices.Sorted(maps.Keys(res.Digits))
		known = append(known, slices.Sorted(maps.Keys(res.Marks))...)
		if len(known) > 8 {
			known = append(known[:8], "…")
		}
		return store.Page{}, refuse("на странице %d нет поля %q: укажите поле из результата распознавания (%s)", ref.Seq, field, strings.Join(known, ", "))
	}
	waiting := slices.Contains(res.Review, field)
	action := audit.ActionReviewCorrect
	var before, after reviewState
	switch {
	case value == "":
		if isDigit {
			// Confirming another exam's value as read is refused
			// whether or not it waits: say why first.
			if err := o.checkForeign(ref, res, field, old); err != nil {
				return store.Page{}, err
			}
		}
		if !waiting {
			return store.Page{}, refuse("поле «%s» страницы %d не ждёт проверки: чтобы изменить значение, укажите новое", FieldName(res.Type, field), ref.Seq)
		}
		if isDigit && strings.Contains(old, "?") {
			return store.Page{}, refuse("поле «%s» прочитано не полностью (%q): введите значение с листа", FieldName(res.Type, field), old)
		}
		if isMark && oldMark == forms.MarkAmbiguous {
			return store.Page{}, refuse("отметка «%s» не ясна: укажите, стоит ли она на листе (да или нет)", FieldName(res.Type, field))
		}
		action = audit.ActionReviewConfirm
		before = valueOf(field, old, oldMark, isDigit)
		after = before
	case isDigit:
		if strings.Trim(value, "0123456789") != "" {
			return store.Page{}, refuse("поле «%s»: значение %q — не цифры; введите цифры, как они написаны на листе", FieldName(res.Type, field), value)
		}
		res.Digits[field] = value
		before, after = valueOf(field, old, "", true), valueOf(field, value, "", true)
	default:
		if value != forms.MarkMarked && value != forms.MarkEmpty {
			return store.Page{}, refuse("отметка «%s»: значение %q не подходит; укажите, стоит ли отметка (да или нет)", FieldName(res.Type, field), value)
		}
		res.Marks[field] = value
		before, after = valueOf(field, "", oldMark, false), valueOf(field, "", value, false)
	}
	// A value that is not this exam's is never confirmed: it stays
	// waiting, and the refusal names the field.
	if isDigit {
		if err := o.checkForeign(ref, res, field, res.Digits[field]); err != nil {
			return store.Page{}, err
		}
	}
	before.Review, before.Rev = waiting, p.Rev
	after.Rev = p.Rev
	res.Review = slices.DeleteFunc(res.Review, func(f string) bool { return f == field })
	res.NeedsReview = len(res.Review) > 0
	if err := o.St.SetResult(ref, p.Rev, res); err != nil {
		return store.Page{}, err
	}
	p.Result = &res
	return p, o.record(actor, action, subjectOf(p), before, after, "")
}

// reviewState is what an audit entry of a review shows of the field: its
// value, whether it waited for a person and the page's image revision,
// which is what an undo restores and checks.
type reviewState struct {
	Field  string `json:"field"`
	Value  string `json:"value"`
	Review bool   `json:"review"`
	Rev    int    `json:"rev"`
	Undoes int64  `json:"undoes,omitempty"` // the entry an undo takes back
}

func valueOf(field, digits, mark string, isDigit bool) reviewState {
	if isDigit {
		return reviewState{Field: field, Value: digits}
	}
	return reviewState{Field: field, Value: mark}
}

// FormOf reads the recognised ППЭ-13-02-МАШ on page ref with the values
// of set (field id → digits) written over what was read.
func (o *Ops) FormOf(ref store.Ref, set map[string]string) (*reconcile.Form, error) {
	p, err := o.St.Page(ref)
	if errors.Is(err, store.ErrNotFound) {
		return nil, refuse("в аудитории %s ППЭ %s нет страницы %d: проверьте номер по отчёту", ref.Auditorium, ref.PPE, ref.Seq)
	}
	if err != nil {
		return nil, err
	}
	if p.Status != store.Active || p.Result == nil || p.Result.Type != forms.TypePPE1302 {
		return nil, refuse("страница %d аудитории %s — не распознанная форма ППЭ-13-02-МАШ: укажите страницу формы или введите значения вручную с бумажной формы", ref.Seq, ref.Auditorium)
	}
	res := cloneResult(p.Result)
	for id, v := range set {
		if _, ok := res.Digits[id]; !ok {
			return nil, refuse("в форме ППЭ-13-02-МАШ нет поля %q: введите значения в поля формы на странице", id)
		}
		if strings.Trim(v, "0123456789") != "" {
			return nil, refuse("поле «%s»: значение %q — не цифры; введите число с бумажной формы", FieldName(res.Type, id), v)
		}
		res.Digits[id] = v
		res.Review = slices.DeleteFunc(res.Review, func(f string) bool { return f == id })
	}
	f, err := reconcile.ReadForm(res)
	if err != nil {
		return nil, err
	}
	// A code, date or auditorium that is not this exam's stays uncertain
	// until the person enters the value of the paper.
	e, err := o.examOf()
	if err != nil {
		return nil, err
	}
	foreign := foreignFields(e, ref, &res)
	for _, id := range slices.Sorted(maps.Keys(foreign)) {
		if !slices.Contains(f.Uncertain, id) {
			f.Uncertain = append(f.Uncertain, id)
		}
		f.Notes = append(f.Notes, upperFirst(foreign[id]))
	}
	return f, nil
}

// upperFirst starts a sentence with a capital letter.
func upperFirst(s string) string {
	r := []rune(s)
	if len(r) == 0 {
		return s
	}
	return strings.ToUpper(string(r[:1])) + string(r[1:])
}

// ConfirmForm1302 records the ППЭ-13-02-МАШ values of the ППЭ of page ref
// from the recognised form with the person's corrections set. It refuses
// while any field is uncertain, naming the fields to enter.
func (o *Ops) ConfirmForm1302(actor string, ref store.Ref, set map[string]string) (store.Form1302, error) {
	if err := o.begin(actor); err != nil {
		return store.Form1302{}, err
	}
	f, err := o.FormOf(ref, set)
	if err != nil {
		return store.Form1302{}, err
	}
	if len(f.Uncertain) > 0 {
		u := slices.Clone(f.Uncertain)
		sort.Strings(u)
		// The ids are what the command line's --set takes; the web
		// interface names the fields itself before it gets here.
		msg := fmt.Sprintf("значения полей %s не подтверждены: сверьте их с бумажной формой и введите", strings.Join(u, ", "))
		if len(f.Notes) > 0 {
			msg += " (" + strings.Join(f.Notes, "; ") + ")"
		}
		return store.Form1302{}, refuse("%s", msg)
	}
	rows := f.Expected()
	if len(rows) == 0 {
		return store.Form1302{}, refuse("в форме ППЭ-13-02-МАШ не прочитано ни одной строки аудитории: введите значения вручную с бумажной формы")
	}
	saved, err := o.saveForm(actor, store.Form1302{PPE: ref.PPE, Rows: rows, Source: "scan", Auditorium: ref.Auditorium, Page: ref.Seq})
	if err != nil {
		return saved, err
	}
	// The person has now confirmed every digit of the form: the page no
	// longer waits for review of them.
	p, err := o.St.Page(ref)
	if err != nil {
		return saved, err
	}
	res := cloneResult(p.Result)
	for id, v := range set {
		res.Digits[id] = v
	}
	res.Review = slices.DeleteFunc(res.Review, func(f string) bool { _, digit := res.Digits[f]; return digit })
	res.NeedsReview = len(res.Review) > 0
	return saved, o.St.SetResult(ref, p.Rev, res)
}

// EnterForm1302 records ППЭ-13-02-МАШ values typed from the paper form.
func (o *Ops) EnterForm1302(actor, ppe string, rows map[string]reconcile.Counts) (store.Form1302, error) {
	if err := o.begin(actor); err != nil {
		return store.Form1302{}, err
	}
	e, err := o.examOf()
	if err != nil {
		return store.Form1302{}, err
	}
	if e.FindPPE(ppe) == nil {
		return store.Form1302{}, refuse("ППЭ %s нет в импортированном экзамене: проверьте код ППЭ", ppe)
	}
	if len(rows) == 0 {
		return store.Form1302{}, refuse("не введено ни одной строки: введите строку каждой аудитории формы")
	}
	for aud, c := range rows {
		if e.FindAuditorium(ppe, aud) == nil {
			return store.Form1302{}, refuse("аудитории %s нет в плане ППЭ %s: проверьте номер в строке формы", aud, ppe)
		}
		if c.Present+c.Absent != c.Listed {
			return store.Form1302{}, refuse("аудитория %s: явились %d и не явились %d не дают %d по списку — сверьте с бумажной формой", aud, c.Present, c.Absent, c.Listed)
		}
	}
	return o.saveForm(actor, store.Form1302{PPE: ppe, Rows: rows, Source: "typed"})
}

func (o *Ops) saveForm(actor string, f store.Form1302) (store.Form1302, error) {
	f.By, f.At = actor, time.Now().UTC()
	all, err := o.St.Forms1302()
	if err != nil {
		return f, err
	}
	var before any
	if old, ok := all[f.PPE]; ok {
		before = old
	}
	if err := o.St.SetForm1302(f); err != nil {
		return f, err
	}
	return f, o.record(actor, audit.ActionForm1302, audit.Subject{PPE: f.PPE}, before, f, "")
}

// Close closes (packages) an auditorium. With problems left a reason is
// required; it goes into the report beside the problems.
func (o *Ops) Close(actor string, place store.Place, reason string) (store.Closure, error) {
	if err := o.begin(actor); err != nil {
		return store.Closure{}, err
	}
	if err := o.checkOpen(place); err != nil {
		return store.Closure{}, err
	}
	rep, err := o.Report()
	if err != nil {
		return store.Closure{}, err
	}
	a := FindAuditorium(rep, place)
	if a == nil {
		return store.Closure{}, refuse("аудитории %s ППЭ %s нет в отчёте: проверьте код ППЭ и номер аудитории", place.Auditorium, place.PPE)
	}
	reason = strings.TrimSpace(reason)
	problems := ProblemsOf(rep, place)
	if len(problems) > 0 && reason == "" {
		return store.Closure{}, refuse("в аудитории %s осталось проблем: %d (они в отчёте о сверке): исправьте их или укажите причину закрытия", place.Auditorium, len(problems))
	}
	c := store.Closure{Place: place, Reason: reason, By: actor, At: time.Now().UTC()}
	if err := o.St.SetClosure(c); err != nil {
		return c, err
	}
	kinds := make([]string, 0, len(problems))
	for _, p := range problems {
		kinds = append(kinds, p.Kind)
	}
	return c, o.record(actor, audit.ActionAuditoriumClose, audit.Subject{PPE: place.PPE, Auditorium: place.Auditorium},
		map[string]any{"status": a.Status, "problems": kinds}, map[string]any{"status": reconcile.StatusClosed}, reason)
}

// ProblemsOf lists what stands in the way of closing an auditorium: its
// own problems and those of pages scanned in it that belong to another
// ППЭ or exam (the report keeps these apart, as unassigned), which must
// not leave in its package unnoticed either.
func ProblemsOf(rep *reconcile.Report, place store.Place) []reconcile.Problem {
	var out []reconcile.Problem
	for _, p := range rep.Unassigned {
		if p.PPE == place.PPE && p.Auditorium == place.Auditorium {
			out = append(out, p)
		}
	}
	if a := FindAuditorium(rep, place); a != nil {
		out = append(out, a.Problems...)
	}
	return out
}

// FindAuditorium returns the report of one auditorium, or nil.
func FindAuditorium(rep *reconcile.Report, place store.Place) *reconcile.Auditorium {
	for i := range rep.PPE {
		if rep.PPE[i].Code != place.PPE {
			continue
		}
		for j := range rep.PPE[i].Auditoriums {
			if rep.PPE[i].Auditoriums[j].Number == place.Auditorium {
				return &rep.PPE[i].Auditoriums[j]
			}
		}
	}
	return nil
}

// Input gathers the report's input from the store: the exam, the
// confirmed ППЭ-13-02-МАШ values, every auditorium's active pages and
// which auditoriums are closed.
func Input(st *store.Store) (reconcile.Input, error) {
	e, err := st.Exam()
	if errors.Is(err, store.ErrNoExam) {
		return reconcile.Input{}, refusal.Of(err)
	}
	if err != nil {
		return reconcile.Input{}, err
	}
	in := reconcile.Input{Exam: e, Expected: map[string]map[string]reconcile.Counts{}}
	fs, err := st.Forms1302()
	if err != nil {
		return in, err
	}
	for code, f := range fs {
		in.Expected[code] = f.Rows
	}
	scans := map[store.Place]*reconcile.Scan{}
	var order []store.Place
	get := func(pl store.Place) *reconcile.Scan {
		if s := scans[pl]; s != nil {
			return s
		}
		s := &reconcile.Scan{PPE: pl.PPE, Number: pl.Auditorium}
		scans[pl] = s
		order = append(order, pl)
		return s
	}
	places, err := st.Places()
	if err != nil {
		return in, err
	}
	for _, pl := range places {
		pages, err := st.Pages(pl)
		if err != nil {
			return in, err
		}
		s := get(pl)
		for _, p := range pages {
			if p.Status != store.Active {
				continue
			}
			rp := reconcile.Page{Seq: p.Seq, SHA256: p.SHA256}
			if p.Device == "file" || strings.HasPrefix(p.Device, "folder") {
				rp.File = p.Source
			}
			if p.Result != nil {
				rp.Result = *p.Result
			} else {
				rp.Result = forms.NewPageResult(p.File, 1)
				rp.Result.Error = "страница ещё не распознана"
			}
			s.Pages = append(s.Pages, rp)
		}
	}
	closed, err := st.Closures()
	if err != nil {
		return in, err
	}
	for _, c := range closed {
		s := get(c.Place)
		s.Closed, s.Reason = true, c.Reason
	}
	for _, pl := range order {
		in.Scans = append(in.Scans, *scans[pl])
	}
	return in, nil
}

// Report makes the report of exam.md from the store.
func (o *Ops) Report() (*reconcile.Report, error) { return Report(o.St) }

// Report makes the report of exam.md from a store.
func Report(st *store.Store) (*reconcile.Report, error) {
	in, err := Input(st)
	if err != nil {
		return nil, err
	}
	rep, err := reconcile.Reconcile(in)
	if err != nil {
		return nil, fmt.Errorf("отчёт не составлен: %w", err)
	}
	return rep, nil
}

// ParseCounts reads one typed row of the ППЭ-13-02-МАШ: ten numbers
// separated by commas, in the form's order (listed, present, absent,
// removed, unfinished, bo1, bo2s1, bo2s2, dbo2, defective).
func ParseCounts(s string) (reconcile.Counts, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 10 {
		return reconcile.Counts{}, refuse("строка формы %q: нужно 10 чисел через запятую (по списку, явились, не явились, удалены, не закончили, БО №1, БО №2 лист 1, лист 2, ДБО №2, испорченные ИК)", s)
	}
	n := make([]int, 10)
	for i, p := range parts {
		v, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || v < 0 || v > 999 {
			return reconcile.Counts{}, refuse("строка формы %q: %q — не число от 0 до 999", s, p)
		}
		n[i] = v
	}
	return reconcile.Counts{Listed: n[0], Present: n[1], Absent: n[2], Removed: n[3], Unfinished: n[4],
		BO1: n[5], BO2S1: n[6], BO2S2: n[7], DBO2: n[8], Defective: n[9]}, nil
}
