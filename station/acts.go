package station

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"giascan/forms"
	"giascan/hardware"
	"giascan/recognition/imagein"
	"giascan/station/acts"
	"giascan/station/audit"
	"giascan/station/exam"
	"giascan/station/packaging"
	"giascan/station/reconcile"
	"giascan/station/serials"
	"giascan/station/store"
	"giascan/station/users"
)

// The acts of a ППЭ (docs/acts.md): the acceptance act, incident acts
// and the list of removed and unfinished participants. Each is kept under
// acts/PPE/ and travels in the ППЭ's closing set; a change after the
// closing set was sealed seals a new version of it, as a signed ППЭ-15
// copy matched late does.

// maxIncidentText bounds an incident's text: a page of the act, not a file.
const maxIncidentText = 4000

// Acts is the folder of the station's acts.
func (s *Station) Acts() acts.Folder { return acts.Folder{Dir: s.Dir} }

// actsPPE checks that ppe is a ППЭ of the exam and returns the exam.
func (s *Station) actsPPE(ppe string) (*exam.Exam, *exam.PPE, error) {
	ex, err := s.Store.Exam()
	if err != nil {
		return nil, nil, refuse("экзамен", "экзамен не загружен: импортируйте файл экзамена, затем составляйте акты")
	}
	p := ex.FindPPE(ppe)
	if p == nil {
		var codes []string
		for _, x := range ex.PPE {
			codes = append(codes, x.Code)
		}
		return nil, nil, refuse("ППЭ", "ППЭ %q нет в файле экзамена: выберите один из ППЭ экзамена (%s)", ppe, strings.Join(codes, ", "))
	}
	return ex, p, nil
}

// ActsOf is what a ППЭ's acts page shows.
type ActsOf struct {
	PPE        string
	Acceptance *acts.Acceptance
	Incidents  []acts.Incident
	Removed    *acts.Removed
}

// PPEActs returns the acts of a ППЭ made so far.
func (s *Station) PPEActs(ppe string) (*ActsOf, error) {
	if _, _, err := s.actsPPE(ppe); err != nil {
		return nil, err
	}
	f := s.Acts()
	out := &ActsOf{PPE: ppe}
	var a acts.Acceptance
	if err := f.Load(ppe, acts.NameAcceptance, &a); err == nil {
		out.Acceptance = &a
	} else if !errors.Is(err, acts.ErrNone) {
		return nil, err
	}
	var r acts.Removed
	if err := f.Load(ppe, acts.NameRemoved, &r); err == nil {
		out.Removed = &r
	} else if !errors.Is(err, acts.ErrNone) {
		return nil, err
	}
	in, err := f.Incidents(ppe)
	if err != nil {
		return nil, err
	}
	out.Incidents = in
	return out, nil
}

// ActPDF returns the printed PDF of act name of a ППЭ.
func (s *Station) ActPDF(ppe, name string) ([]byte, error) {
	if _, _, err := s.actsPPE(ppe); err != nil {
		return nil, err
	}
	b, err := s.Acts().PDF(ppe, name)
	if errors.Is(err, acts.ErrNone) {
		return nil, refuse("акт", "акта %q у ППЭ %s нет: сначала составьте его", name, ppe)
	}
	return b, err
}

// FileIncident writes an incident act of a ППЭ (auditorium may be empty
// for the whole ППЭ): kind is one of acts.Kinds, text says what happened.
func (s *Station) FileIncident(ctx context.Context, actor string, role users.Role, ppe, auditorium, kind, text string) (acts.Incident, error) {
	var in acts.Incident
	if !users.Can(role, users.WriteActs) {
		return in, refuse("роль", "акт о нештатной ситуации составляет оператор или руководитель: ваша роль этого не позволяет")
	}
	ex, p, err := s.actsPPE(ppe)
	if err != nil {
		return in, err
	}
	auditorium = strings.TrimSpace(auditorium)
	if auditorium != "" && !slices.ContainsFunc(p.Auditoriums, func(a exam.Auditorium) bool { return a.Number == auditorium }) {
		return in, refuse("аудитория", "аудитории %q нет в ППЭ %s по файлу экзамена: выберите аудиторию из списка или оставьте поле пустым для всего ППЭ", auditorium, ppe)
	}
	name, ok := acts.KindName(kind)
	if !ok {
		return in, refuse("вид ситуации", "вид нештатной ситуации %q неизвестен: выберите один из списка (неверная комплектация, повреждение упаковки, отказ сканера, отключение электропитания, иное)", kind)
	}
	text = strings.TrimSpace(text)
	if text == "" {
		return in, refuse("обстоятельства", "не описаны обстоятельства: напишите, что произошло, когда и что сделано, и сохраните акт снова")
	}
	if utf8.RuneCountInString(text) > maxIncidentText {
		return in, refuse("обстоятельства", "описание длиннее %d знаков: сократите его до главного", maxIncidentText)
	}
	if err := ctx.Err(); err != nil {
		return in, err
	}
	s.actsMu.Lock()
	defer s.actsMu.Unlock()
	list, err := s.Acts().Incidents(ppe)
	if err != nil {
		return in, err
	}
	n := 1
	if len(list) > 0 {
		n = list[len(list)-1].N + 1
	}
	in = acts.Incident{Format: acts.Format, Name: acts.IncidentName(n), N: n, Exam: ex.Header(), PPE: ppe, Auditorium: auditorium,
		Kind: kind, KindName: name, Text: text, By: actor, At: time.Now().UTC()}
	if err := s.saveIncident(in); err != nil {
		return in, err
	}
	if _, err := s.Log.Append(audit.Event{Actor: actor, Action: audit.ActionActIncident, Subject: audit.Subject{PPE: ppe, Auditorium: auditorium},
		After: jsonOf(map[string]any{"act": in.Name, "kind": kind, "text": text})}); err != nil {
		return in, fmt.Errorf("акт сохранён, но журнал аудита не пишется: %w; обратитесь к техническому специалисту", err)
	}
	s.resealClosing(ctx, ppe)
	return in, nil
}

func (s *Station) saveIncident(in acts.Incident) error {
	pdf, err := acts.WritePDF(fmt.Sprintf("Акт № %d о нештатной ситуации, ППЭ %s", in.N, in.PPE), []*forms.Drawing{acts.IncidentDrawing(in)}, in.At)
	if err != nil {
		return err
	}
	return s.Acts().Save(in.PPE, in.Name, in, pdf)
}

// SignIncident records the head's signature of incident act n of a ППЭ,
// given via "web" or "cli". An act is signed once: signing again changes
// nothing and first is false.
func (s *Station) SignIncident(ctx context.Context, actor string, role users.Role, ppe string, n int, via string) (in acts.Incident, first bool, err error) {
	if !users.Can(role, users.SignActs) {
		return in, false, refuse("роль", "акт о нештатной ситуации подписывает руководитель: попросите его")
	}
	if _, _, err := s.actsPPE(ppe); err != nil {
		return in, false, err
	}
	s.actsMu.Lock()
	defer s.actsMu.Unlock()
	if err := s.Acts().Load(ppe, acts.IncidentName(n), &in); errors.Is(err, acts.ErrNone) {
		return in, false, refuse("номер акта", "акта № %d у ППЭ %s нет: выберите акт из списка", n, ppe)
	} else if err != nil {
		return in, false, err
	}
	if in.Signed != nil {
		return in, false, nil
	}
	in.Signed = &acts.Signature{By: actor, At: time.Now().UTC(), Via: via}
	if err := s.saveIncident(in); err != nil {
		return in, false, err
	}
	if _, err := s.Log.Append(audit.Event{Actor: actor, Action: audit.ActionActIncidentSign, Subject: audit.Subject{PPE: ppe, Auditorium: in.Auditorium},
		After: jsonOf(map[string]any{"act": in.Name, "signed_by": actor, "via": via})}); err != nil {
		return in, true, fmt.Errorf("подпись записана, но журнал аудита не пишется: %w; обратитесь к техническому специалисту", err)
	}
	s.resealClosing(ctx, ppe)
	return in, true, nil
}

// resealClosing seals a new version of a ППЭ's closing set when one is
// already sealed, so that a changed act reaches the РЦОИ; otherwise the
// acts go with the first closing set.
func (s *Station) resealClosing(ctx context.Context, ppe string) {
	list, err := packaging.List(string(s.Dir), ppe)
	if err != nil {
		s.logger.Warn("outbox not read after an act changed", "ppe", ppe, "err", err)
		return
	}
	if !slices.ContainsFunc(list, func(sl *packaging.Sealed) bool { return sl.Manifest.Exam.Auditorium == "" }) {
		return
	}
	if _, err := s.SealClosing(ctx, ppe, packaging.Bilevel); err != nil {
		s.logger.Warn("closing set not sealed again after an act changed", "ppe", ppe, "err", err)
	}
}

// MakeAcceptance makes and prints the acceptance act of a ППЭ: the
// counts scanned per auditorium and the counts rc entered by the person
// accepting, checked against the exam file and ППЭ-13-02-МАШ. Making it
// again replaces it (with a new barcode) and drops an earlier signed copy.
func (s *Station) MakeAcceptance(ctx context.Context, actor string, role users.Role, ppe string, rc acts.Received) (*acts.Acceptance, []byte, error) {
	if !users.Can(role, users.WriteActs) {
		return nil, nil, refuse("роль", "акт приёмки-передачи составляет сотрудник ППОИ или руководитель: ваша роль этого не позволяет")
	}
	ex, p, err := s.actsPPE(ppe)
	if err != nil {
		return nil, nil, err
	}
	for _, c := range []struct {
		name string
		v    int
	}{{"конвертов с бланками", rc.Envelopes}, {"неиспользованных ЭМ", rc.Unused}, {"испорченных ЭМ", rc.Spoiled},
		{"ЭМ с полиграфическими дефектами", rc.Defective}, {"использованных КИМ", rc.UsedKIM}} {
		if c.v < 0 || c.v > 100000 {
			return nil, nil, refuse(c.name, "число %s %d невозможно: впишите, сколько принято, от 0", c.name, c.v)
		}
	}
	rc.From, rc.Note = strings.TrimSpace(rc.From), strings.TrimSpace(rc.Note)
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	rep, err := s.Report()
	if err != nil {
		return nil, nil, err
	}
	a := &acts.Acceptance{Format: acts.Format, Name: acts.NameAcceptance, Exam: ex.Header(), PPE: ppe, Received: rc,
		Forms: map[string]int{"ППЭ-13-02-МАШ": 0, "ППЭ-18-МАШ": 0}, Discrepancies: []string{}, By: actor, At: time.Now().UTC()}
	if sum, err := s.Packager("").MakeSummary(ppe); err == nil {
		a.Station = sum.Station
	}
	if err := s.countAcceptance(a, p, rep); err != nil {
		return nil, nil, err
	}

	s.actsMu.Lock()
	defer s.actsMu.Unlock()
	job, err := serials.Allocate(string(s.Dir), serials.PrintJob{What: "form " + forms.TypeAcceptance, Level: ex.Level, Region: ex.Region, PPE: ppe,
		Auditorium: "0000", Subject: ex.Subject, Date: ex.QRDate(), Pages: 1}, 1, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("номер для штрихкода акта не выделен: %w", err)
	}
	pdf, err := s.acceptancePDF(a, job.Serials.First)
	if err == nil {
		err = s.Acts().Save(ppe, acts.NameAcceptance, a, pdf)
	}
	if ferr := serials.Finish(string(s.Dir), job.ID, err); err == nil && ferr != nil {
		err = ferr
	}
	if err != nil {
		return nil, nil, err
	}
	if _, err := s.Log.Append(audit.Event{Actor: actor, Action: audit.ActionActAcceptance, Subject: audit.Subject{PPE: ppe, Barcode: a.Barcode},
		After: jsonOf(map[string]any{"barcode": a.Barcode, "received": rc, "discrepancies": len(a.Discrepancies)})}); err != nil {
		return a, pdf, fmt.Errorf("акт сохранён, но журнал аудита не пишется: %w; обратитесь к техническому специалисту", err)
	}
	s.resealClosing(ctx, ppe)
	return a, pdf, nil
}

func (s *Station) acceptancePDF(a *acts.Acceptance, serial uint64) ([]byte, error) {
	bc, err := forms.MakeBarcode(forms.TypeAcceptance, serial)
	if err != nil {
		return nil, err
	}
	a.Barcode = bc
	t, ok := forms.Builtin().Get(forms.TypeAcceptance)
	if !ok {
		return nil, fmt.Errorf("шаблон акта приёмки-передачи (тип %s) не найден", forms.TypeAcceptance)
	}
	id := forms.Identity{Level: a.Exam.Level, Region: a.Exam.Region, PPE: a.PPE, Auditorium: "0000", Subject: a.Exam.Subject,
		Date: strings.ReplaceAll(a.Exam.Date, "-", ""), Type: forms.TypeAcceptance, Barcode: bc, Kit: forms.NoKit}
	d, err := acts.AcceptanceDrawing(t, id, *a)
	if err != nil {
		return nil, err
	}
	return acts.WritePDF("Акт приёмки-передачи ЭМ, ППЭ "+a.PPE, []*forms.Drawing{d}, a.At)
}

// countAcceptance fills the act's rows, forms and discrepancies from the
// exam plan, the store and the report.
func (s *Station) countAcceptance(a *acts.Acceptance, p *exam.PPE, rep *reconcile.Report) error {
	places, err := s.Store.Places()
	if err != nil {
		return err
	}
	scanned := map[string]bool{}
	for _, pl := range places {
		if pl.PPE != p.Code {
			continue
		}
		pages, err := s.Store.Pages(pl)
		if err != nil {
			return err
		}
		for _, pg := range pages {
			if pg.Status != store.Active {
				continue
			}
			scanned[pl.Auditorium] = true
			if pg.Result == nil {
				continue
			}
			switch pg.Result.Type {
			case forms.TypePPE1302:
				a.Forms["ППЭ-13-02-МАШ"]++
			case forms.TypePPE18:
				a.Forms["ППЭ-18-МАШ"]++
			}
		}
	}
	byNum := map[string]reconcile.Auditorium{}
	for _, rp := range rep.PPE {
		if rp.Code == p.Code {
			for _, au := range rp.Auditoriums {
				byNum[au.Number] = au
			}
		}
	}
	disc := func(format string, v ...any) { a.Discrepancies = append(a.Discrepancies, fmt.Sprintf(format, v...)) }
	planned := map[string]bool{}
	for _, pa := range p.Auditoriums {
		planned[pa.Number] = true
		au := byNum[pa.Number]
		row := acts.Row{Auditorium: pa.Number, Planned: true, Participants: -1, Scanned: scanned[pa.Number],
			BO1: au.Scanned.BO1, BO2S1: au.Scanned.BO2S1, BO2S2: au.Scanned.BO2S2, DBO2: au.Scanned.DBO2}
		if len(pa.Kits) > 0 {
			row.Participants = len(pa.Kits)
		}
		a.Auditoriums = append(a.Auditoriums, row)
		if !row.Scanned {
			disc("Аудитория %s есть в файле экзамена, но её бланки не отсканированы: конверт не получен или не вскрыт", pa.Number)
			continue
		}
		if row.Participants >= 0 && row.BO1 != row.Participants {
			absent := -1
			if au.Expected != nil {
				absent = au.Expected.Absent
			}
			if absent < 0 || row.BO1+absent != row.Participants {
				note := "ППЭ-13-02-МАШ не подтверждена"
				if absent >= 0 {
					note = fmt.Sprintf("не явились по ППЭ-13-02-МАШ: %d", absent)
				}
				disc("Аудитория %s: участников по плану %d, БО №1 отсканировано %d (%s)", pa.Number, row.Participants, row.BO1, note)
			}
		}
		for _, pb := range au.Problems {
			if pb.Kind == reconcile.KindCountMismatch {
				disc("Аудитория %s: %s", pa.Number, pb.Detail)
			}
		}
	}
	var extra []string
	for aud := range scanned {
		if !planned[aud] {
			extra = append(extra, aud)
		}
	}
	slices.Sort(extra)
	for _, aud := range extra {
		a.Auditoriums = append(a.Auditoriums, acts.Row{Auditorium: aud, Participants: -1, Scanned: true})
		disc("Аудитория %s отсканирована, но её нет в файле экзамена для ППЭ %s", aud, p.Code)
	}
	if n := len(p.Auditoriums); a.Received.Envelopes != n {
		disc("Принято конвертов с бланками: %d, а аудиторий в файле экзамена: %d", a.Received.Envelopes, n)
	}
	if a.Forms["ППЭ-13-02-МАШ"] == 0 {
		disc("Форма ППЭ-13-02-МАШ не отсканирована")
	}
	return nil
}

// MatchAcceptance matches the scan of the signed acceptance act to the act
// printed last for the ППЭ, keeps it as acceptance-signed.<ext> and
// records the signature.
func (s *Station) MatchAcceptance(ctx context.Context, actor, ppe string, scan []byte, name string) (*acts.Acceptance, error) {
	if _, _, err := s.actsPPE(ppe); err != nil {
		return nil, err
	}
	read, err := s.Reader()
	if err != nil {
		return nil, err
	}
	res := read(ctx, scan, name)
	s.actsMu.Lock()
	defer s.actsMu.Unlock()
	var a acts.Acceptance
	if err := s.Acts().Load(ppe, acts.NameAcceptance, &a); errors.Is(err, acts.ErrNone) {
		return nil, refuse("акт приёмки-передачи", "акт приёмки-передачи ППЭ %s ещё не составлен: составьте и распечатайте его, подпишите, затем сканируйте", ppe)
	} else if err != nil {
		return nil, err
	}
	switch {
	case res.Error != "" || res.Type != forms.TypeAcceptance:
		return nil, refuse("скан акта", "страница не распознана как акт приёмки-передачи (тип %q): положите подписанный акт лицевой стороной, как бланки, и отсканируйте его ещё раз", res.Type)
	case res.Context.PPE != ppe:
		return nil, refuse("скан акта", "это акт приёмки-передачи ППЭ %s, а не ППЭ %s: отсканируйте акт своего ППЭ", res.Context.PPE, ppe)
	case res.Barcode != a.Barcode:
		return nil, refuse("скан акта", "штрихкод %s не тот, что на последнем напечатанном акте (%s): отсканируйте последнюю распечатку", res.Barcode, a.Barcode)
	}
	file, err := s.Acts().SaveSigned(ppe, acts.NameAcceptance, filepath.Ext(name), scan)
	if err != nil {
		return nil, err
	}
	a.Signed = &acts.Signature{By: actor, At: time.Now().UTC(), Via: "scan", Scan: file}
	if err := s.Acts().Save(ppe, acts.NameAcceptance, a, nil); err != nil {
		return nil, err
	}
	if _, err := s.Log.Append(audit.Event{Actor: actor, Action: audit.ActionActAcceptanceMatch, Subject: audit.Subject{PPE: ppe, Barcode: a.Barcode},
		After: jsonOf(map[string]any{"barcode": a.Barcode, "scan": file})}); err != nil {
		return &a, fmt.Errorf("скан акта сохранён, но журнал аудита не пишется: %w; обратитесь к техническому специалисту", err)
	}
	s.resealClosing(ctx, ppe)
	return &a, nil
}

// ScanAcceptance scans the signed acceptance act — the first sheet in the
// scanner — and matches it like MatchAcceptance.
func (s *Station) ScanAcceptance(ctx context.Context, actor, ppe string, sc hardware.Scanner, opts hardware.Options) (*acts.Acceptance, error) {
	page, err := firstSheet(ctx, sc, opts, "подписанный акт приёмки-передачи")
	if err != nil {
		return nil, err
	}
	name := page.Name
	if name == "" {
		name = "acceptance." + page.Format
	}
	return s.MatchAcceptance(ctx, actor, ppe, page.Data, name)
}

// cropMargin is how far a crop reaches around a mark box, mm: left to the
// box's border, right over its printed label.
var cropMargin = struct{ left, right, up, down float64 }{8, 77, 4.5, 4.5}

// MakeRemoved makes and prints the list of БО №1 marked «удалён с
// экзамена» or «не закончил экзамен по уважительной причине» of a ППЭ,
// with a crop of each page around its mark, checked against the confirmed
// ППЭ-13-02-МАШ.
func (s *Station) MakeRemoved(ctx context.Context, actor string, role users.Role, ppe string) (*acts.Removed, []byte, error) {
	if !users.Can(role, users.WriteActs) {
		return nil, nil, refuse("роль", "ведомость удалённых и не закончивших участников составляет сотрудник ППОИ или руководитель: ваша роль этого не позволяет")
	}
	ex, p, err := s.actsPPE(ppe)
	if err != nil {
		return nil, nil, err
	}
	rep, err := s.Report()
	if err != nil {
		return nil, nil, err
	}
	r := &acts.Removed{Format: acts.Format, Name: acts.NameRemoved, Exam: ex.Header(), PPE: ppe, Rows: []acts.Marked{}, Checks: []acts.Check{},
		By: actor, At: time.Now().UTC()}
	crops := map[int][]byte{}
	t11, _ := forms.Builtin().Get(forms.TypeBO1)
	counts := map[string]map[string]int{}
	for _, pa := range p.Auditoriums {
		counts[pa.Number] = map[string]int{}
		pages, err := s.Store.Pages(store.Place{PPE: ppe, Auditorium: pa.Number})
		if err != nil {
			return nil, nil, err
		}
		seen := map[string]bool{}
		for _, pg := range pages {
			if err := ctx.Err(); err != nil {
				return nil, nil, err
			}
			res := pg.Result
			if pg.Status != store.Active || res == nil || res.Type != forms.TypeBO1 || res.Context.Auditorium != pa.Number {
				continue
			}
			if seen[res.Context.Kit] {
				continue // a sheet scanned twice is one sheet, as in the report
			}
			seen[res.Context.Kit] = true
			for _, mark := range []string{acts.MarkRemoved, acts.MarkUnfinished} {
				if res.Marks[mark] != forms.MarkMarked {
					continue
				}
				counts[pa.Number][mark]++
				row := acts.Marked{Auditorium: pa.Number, Kit: res.Context.Kit, Mark: mark, MarkName: acts.MarkName(mark), Page: pg.Seq, Barcode: res.Barcode}
				if t11 != nil {
					if b, ok := boxOf(t11, mark); ok {
						if c, err := s.cropAround(pg, b); err == nil {
							crops[len(r.Rows)] = c
							row.Crop = true
						} else {
							s.logger.Warn("mark crop not made", "page", pg.File, "err", err)
						}
					}
				}
				r.Rows = append(r.Rows, row)
			}
		}
	}
	byNum := map[string]reconcile.Auditorium{}
	for _, rp := range rep.PPE {
		if rp.Code == ppe {
			for _, au := range rp.Auditoriums {
				byNum[au.Number] = au
			}
		}
	}
	r.FormConfirmed = true
	for _, pa := range p.Auditoriums {
		exp := byNum[pa.Number].Expected
		if exp == nil {
			r.FormConfirmed = false
		}
		for _, mark := range []string{acts.MarkRemoved, acts.MarkUnfinished} {
			c := acts.Check{Auditorium: pa.Number, Mark: mark, Blanks: counts[pa.Number][mark]}
			what := "«удалён с экзамена»"
			if mark == acts.MarkUnfinished {
				what = "«не закончил экзамен»"
			}
			if exp == nil {
				if c.Blanks == 0 {
					continue
				}
				c.Text = fmt.Sprintf("Аудитория %s, отметка %s: на БО №1 — %d, сверить не с чем: ППЭ-13-02-МАШ не подтверждена", pa.Number, what, c.Blanks)
			} else {
				form := exp.Removed
				if mark == acts.MarkUnfinished {
					form = exp.Unfinished
				}
				c.Form = &form
				c.Agrees = form == c.Blanks
				c.Text = fmt.Sprintf("Аудитория %s, отметка %s: на БО №1 — %d, в ППЭ-13-02-МАШ — %d", pa.Number, what, c.Blanks, form)
				if !c.Agrees {
					c.Text += ": сверьте бланки с формой и актами об удалении, результат выверки передайте в РЦОИ"
				}
			}
			if c.Blanks == 0 && c.Form != nil && *c.Form == 0 {
				continue // nothing to check: no mark and none in the form
			}
			r.Checks = append(r.Checks, c)
		}
	}
	pdf, err := acts.WritePDF("Ведомость удалённых и не закончивших экзамен участников, ППЭ "+ppe, acts.RemovedDrawings(*r, crops), r.At)
	if err != nil {
		return nil, nil, err
	}
	s.actsMu.Lock()
	defer s.actsMu.Unlock()
	if err := s.Acts().Save(ppe, acts.NameRemoved, r, pdf); err != nil {
		return nil, nil, err
	}
	mismatches := r.Mismatches()
	if _, err := s.Log.Append(audit.Event{Actor: actor, Action: audit.ActionActRemoved, Subject: audit.Subject{PPE: ppe},
		After: jsonOf(map[string]any{"rows": len(r.Rows), "mismatches": mismatches})}); err != nil {
		return r, pdf, fmt.Errorf("ведомость сохранена, но журнал аудита не пишется: %w; обратитесь к техническому специалисту", err)
	}
	s.resealClosing(ctx, ppe)
	return r, pdf, nil
}

func boxOf(t *forms.Template, id string) (forms.Rect, bool) {
	for _, b := range t.Boxes {
		if b.ID == id {
			return b.Rect, true
		}
	}
	return forms.Rect{}, false
}

// cropAround cuts the page image around a template rectangle through the
// page's registration, upright, as a grey PNG.
func (s *Station) cropAround(pg store.Page, box forms.Rect) ([]byte, error) {
	rc, err := s.Recognizer()
	if err != nil {
		return nil, err
	}
	data, err := s.Store.Image(pg)
	if err != nil {
		return nil, err
	}
	reg, err := rc.Register(data, pg.File, pg.Result.Rotation)
	if err != nil {
		return nil, err
	}
	doc, err := imagein.FromBytes(data, pg.File, imagein.Limits{})
	if err != nil {
		return nil, err
	}
	defer doc.Close()
	m, _, err := doc.Page(0)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	src := image.NewGray(image.Rect(0, 0, m.Cols(), m.Rows()))
	switch ch, raw := m.Channels(), m.ToBytes(); ch {
	case 1:
		copy(src.Pix, raw)
	case 3, 4:
		for i := range src.Pix {
			px := raw[i*ch : i*ch+3]
			src.Pix[i] = uint8((int(px[0]) + int(px[1]) + int(px[2])) / 3)
		}
	default:
		return nil, fmt.Errorf("page image has %d channels", ch)
	}
	// Sample the upright crop at 8 px/mm through the registration.
	x0, y0 := box.X-cropMargin.left, box.Y-cropMargin.up
	w, h := box.W+cropMargin.left+cropMargin.right, box.H+cropMargin.up+cropMargin.down
	const k = 8.0
	out := image.NewGray(image.Rect(0, 0, int(w*k), int(h*k)))
	for j := 0; j < out.Rect.Dy(); j++ {
		for i := 0; i < out.Rect.Dx(); i++ {
			u, v := reg.Apply(x0+float64(i)/k, y0+float64(j)/k)
			px, py := int(u), int(v)
			g := uint8(255)
			if px >= 0 && py >= 0 && px < src.Rect.Dx() && py < src.Rect.Dy() {
				g = src.Pix[py*src.Stride+px]
			}
			out.Pix[j*out.Stride+i] = g
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, out); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
