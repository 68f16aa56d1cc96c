package station

import (
	"context"
	"fmt"
	"io"
	"strings"

	"giascan/forms"
	"giascan/station/audit"
	"giascan/station/serials"
)

// What a print request prints.
const (
	PrintKits = "kits" // participant kits: БО №1 and БО №2 листы 1 and 2
	PrintDBO  = "dbo"  // additional answer sheets ДБО №2 of one kit
	PrintForm = "form" // a blank ППЭ form: ППЭ-13-02-МАШ or ППЭ-18-МАШ
)

// Limits of one print job. A kit run covers at most one auditorium-sized
// batch many times over; more in one file only makes a reprint costlier.
const (
	MaxPrintKits = 500
	MaxDBOSheets = 97 // sheets 3..99: the sheet number has two digits
)

// PDFCreator names the station in the PDFs it writes.
const PDFCreator = "giascan station"

// PrintableForms are the ППЭ forms printed blank; ППЭ-15 is printed over
// a package's manifest, which its QR signs.
var PrintableForms = []string{forms.TypePPE1302, forms.TypePPE18}

// PrintRequest is one print job as a person asks for it.
type PrintRequest struct {
	What string // PrintKits, PrintDBO or PrintForm
	// Exam is the exam context on every page: level, region, ППЭ, subject
	// and date; the auditorium for kits and ДБО; the kit for ДБО.
	Exam forms.Identity
	// Count is the number of kits, or of consecutive ДБО sheets.
	Count int
	// FirstSheet is the sheet number of the first ДБО, 3 or more.
	FirstSheet int
	// Form is the form's page type for PrintForm (51 or 53).
	Form string
	// Output names where the PDF goes, for the print record; empty for a
	// download.
	Output string
}

// Printed is a finished print job.
type Printed struct {
	Job   serials.PrintJob // its record: the serials and kit numbers used
	Pages int
	Title string // the PDF's title
	// File is a name for the PDF, for a download.
	File string
}

// printPlan is a validated print request: the pages to number and compose.
type printPlan struct {
	req     PrintRequest
	context forms.Identity
	pages   []printPage // in print order; page i gets the i-th serial
	kits    int         // kit numbers to allocate
	title   string
	what    string // the record's name of the job: kits, dbo, form 51
	file    string
}

type printPage struct {
	tpl   *forms.Template
	sheet int
	// kitOf is the index of the allocated kit the page belongs to; -1 for
	// the kit number of the context (ДБО №2, or none on forms).
	kitOf int
}

// PlanPrint checks a print request without printing it: the refusal says
// what to change, and nothing is spent.
func PlanPrint(req PrintRequest) error {
	_, err := planPrint(req)
	return err
}

func planPrint(req PrintRequest) (*printPlan, error) {
	id := req.Exam
	id.Type, id.Sheet, id.Barcode, id.Manifest = "", 0, "", ""
	set := forms.Builtin()
	p := &printPlan{req: req}
	switch req.What {
	case PrintKits:
		id.Kit = ""
		if err := checkExamContext(id, true); err != nil {
			return nil, err
		}
		if req.Count < 1 || req.Count > MaxPrintKits {
			return nil, refuse("число комплектов", "число комплектов — от 1 до %d, а не %d", MaxPrintKits, req.Count)
		}
		for i := range req.Count {
			for _, pt := range []string{forms.TypeBO1, forms.TypeBO2Sheet1, forms.TypeBO2Sheet2} {
				tpl, err := pageTemplate(set, pt)
				if err != nil {
					return nil, err
				}
				p.pages = append(p.pages, printPage{tpl: tpl, sheet: tpl.Sheet, kitOf: i})
			}
		}
		p.kits, p.what = req.Count, PrintKits
		p.title = "Индивидуальные комплекты участников, " + contextTitle(id)
		p.file = fmt.Sprintf("komplekty-%s-%s-%d.pdf", id.PPE, id.Auditorium, req.Count)
	case PrintDBO:
		if err := checkExamContext(id, true); err != nil {
			return nil, err
		}
		if len(id.Kit) != 10 || strings.Trim(id.Kit, "0123456789") != "" {
			return nil, refuse("номер комплекта", "номер комплекта участника — 10 цифр с его бланка ответов №1, а не %q", id.Kit)
		}
		if id.Kit == forms.NoKit {
			return nil, refuse("номер комплекта", "номер комплекта %s означает «без комплекта»: укажите номер комплекта участника с его бланка ответов №1", id.Kit)
		}
		if req.FirstSheet < 3 || req.FirstSheet > 99 {
			return nil, refuse("номер листа", "номер первого дополнительного листа — от 3 до 99 (листы 1 и 2 — бланк ответов №2), а не %d", req.FirstSheet)
		}
		if req.Count < 1 || req.Count > MaxDBOSheets {
			return nil, refuse("число листов", "число дополнительных листов — от 1 до %d, а не %d", MaxDBOSheets, req.Count)
		}
		if req.FirstSheet+req.Count-1 > 99 {
			return nil, refuse("число листов", "листы с %d по %d: номера листов идут только до 99", req.FirstSheet, req.FirstSheet+req.Count-1)
		}
		tpl, err := pageTemplate(set, forms.TypeDBO2)
		if err != nil {
			return nil, err
		}
		for i := range req.Count {
			p.pages = append(p.pages, printPage{tpl: tpl, sheet: req.FirstSheet + i, kitOf: -1})
		}
		p.what = PrintDBO
		p.title = fmt.Sprintf("Дополнительные бланки ответов №2, комплект %s, %s", id.Kit, contextTitle(id))
		p.file = fmt.Sprintf("dbo-%s-list-%d.pdf", id.Kit, req.FirstSheet)
	case PrintForm:
		if req.Form == forms.TypePPE15 {
			return nil, refuse("форма", "протокол ППЭ-15 печатается со страницы протокола ППЭ: его QR-код подписывает пакет")
		}
		known := false
		for _, f := range PrintableForms {
			known = known || f == req.Form
		}
		if !known {
			return nil, refuse("форма", "форма %q не печатается: выберите ППЭ-13-02-МАШ или ППЭ-18-МАШ", req.Form)
		}
		id.Auditorium, id.Kit = "0000", forms.NoKit
		if err := checkExamContext(id, false); err != nil {
			return nil, err
		}
		tpl, err := pageTemplate(set, req.Form)
		if err != nil {
			return nil, err
		}
		p.pages = []printPage{{tpl: tpl, sheet: 0, kitOf: -1}}
		p.what = "form " + tpl.Type
		p.title = tpl.Name + ", " + contextTitle(id)
		p.file = fmt.Sprintf("%s-%s.pdf", formFiles[req.Form], id.PPE)
	default:
		return nil, refuse("что печатать", "неизвестно, что печатать (%q): комплекты, дополнительные бланки или форму ППЭ", req.What)
	}
	p.context = id
	return p, nil
}

// checkExamContext checks the exam context printed on every page: the
// page is refused by the recognizer later if any of it is wrong.
func checkExamContext(id forms.Identity, withAuditorium bool) error {
	digits := func(s string, n int) bool { return len(s) == n && strings.Trim(s, "0123456789") == "" }
	switch {
	case id.Level != 9 && id.Level != 11:
		return refuse("уровень", "уровень экзамена — ГИА-9 или ГИА-11, а не %d", id.Level)
	case !digits(id.Region, 2):
		return refuse("регион", "код региона — 2 цифры, а не %q", id.Region)
	case !digits(id.PPE, 4):
		return refuse("ППЭ", "код ППЭ — 4 цифры, а не %q", id.PPE)
	case withAuditorium && (!digits(id.Auditorium, 4) || id.Auditorium == "0000"):
		return refuse("аудитория", "номер аудитории — 4 цифры, а не %q", id.Auditorium)
	case forms.Subjects[id.Subject] == "":
		return refuse("предмет", "предмет %q неизвестен: выберите предмет из списка", id.Subject)
	case !digits(id.Date, 8):
		return refuse("дата", "дата экзамена %q не дата", id.Date)
	}
	return nil
}

// formFiles name the PDFs of the blank forms in Latin letters, which
// every browser and file system keeps.
var formFiles = map[string]string{forms.TypePPE1302: "ppe-13-02-mash", forms.TypePPE18: "ppe-18-mash"}

func pageTemplate(set *forms.Set, pageType string) (*forms.Template, error) {
	t, ok := set.Get(pageType)
	if !ok {
		return nil, fmt.Errorf("no template for page type %s", pageType)
	}
	return t, nil
}

// contextTitle describes the exam context for the PDF title.
func contextTitle(id forms.Identity) string {
	s := fmt.Sprintf("ГИА-%d, регион %s, ППЭ %s", id.Level, id.Region, id.PPE)
	if id.Auditorium != "0000" {
		s += ", аудитория " + id.Auditorium
	}
	return s + fmt.Sprintf(", %s, %s.%s.%s", forms.Subjects[id.Subject], id.Date[6:8], id.Date[4:6], id.Date[0:4])
}

// identity is the identity of page i once the numbers are allocated.
func (p *printPlan) identity(i int, alloc serials.PrintJob) (forms.Identity, error) {
	pg := p.pages[i]
	id := p.context
	id.Type, id.Sheet = pg.tpl.Type, pg.sheet
	if pg.kitOf >= 0 {
		id.Kit = fmt.Sprintf("%010d", alloc.Kits.At(pg.kitOf))
	}
	var err error
	id.Barcode, err = forms.MakeBarcode(pg.tpl.Type, alloc.Serials.At(i))
	return id, err
}

// Print numbers and composes the pages of req and hands the PDF to
// output, which writes it where it goes (a file, written whole or not at
// all, or a download). Everything a person can get wrong is refused
// before the numbers are taken: allocated numbers are never given back,
// and the job's record in the data folder says whether its PDF was
// written. The job is in the audit log under actor.
func (s *Station) Print(ctx context.Context, actor string, req PrintRequest, output func(write func(io.Writer) error) error) (*Printed, error) {
	p, err := planPrint(req)
	if err != nil {
		return nil, err
	}
	for _, role := range []string{forms.FontRegular, forms.FontBold, forms.FontMono} {
		if _, err := forms.FontPath(role); err != nil {
			return nil, err
		}
	}
	// A trial page with placeholder numbers catches a broken template
	// before any number is spent on it.
	for _, pg := range p.pages[:min(len(p.pages), 3)] {
		trial := p.context
		trial.Type, trial.Sheet = pg.tpl.Type, pg.sheet
		if pg.kitOf >= 0 {
			trial.Kit = "0000000001"
		}
		trial.Barcode, _ = forms.MakeBarcode(pg.tpl.Type, 1)
		if _, err := forms.Compose(pg.tpl, trial); err != nil {
			return nil, fmt.Errorf("page type %s: %w", pg.tpl.Type, err)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rec := serials.PrintJob{
		What: p.what, Level: p.context.Level, Region: p.context.Region, PPE: p.context.PPE,
		Auditorium: p.context.Auditorium, Subject: p.context.Subject, Date: p.context.Date,
		Pages: len(p.pages), Output: req.Output,
	}
	if req.What == PrintDBO {
		rec.Kit, rec.FirstSheet = p.context.Kit, req.FirstSheet
	}
	dir := string(s.Dir)
	alloc, err := serials.Allocate(dir, rec, len(p.pages), p.kits)
	if err != nil {
		return nil, err
	}
	printErr := output(func(w io.Writer) error { return p.write(ctx, w, alloc) })
	if err := serials.Finish(dir, alloc.ID, printErr); err != nil {
		if printErr != nil {
			return nil, fmt.Errorf("%w (and recording the failure: %v)", printErr, err)
		}
		return nil, fmt.Errorf("the PDF is written, but the print job record is not updated: %w", err)
	}
	if printErr != nil {
		return nil, printErr
	}
	alloc.Status = serials.JobPrinted
	after := map[string]any{"what": p.what, "pages": len(p.pages), "serials": alloc.Serials.String(), "job": alloc.ID}
	subject := audit.Subject{PPE: p.context.PPE}
	if p.context.Auditorium != "0000" {
		subject.Auditorium = p.context.Auditorium
	}
	if alloc.Kits.Count() > 0 {
		after["kits"] = alloc.Kits.String()
	}
	if req.What == PrintDBO {
		after["kit"], after["first_sheet"] = p.context.Kit, req.FirstSheet
	}
	if req.Output != "" {
		after["output"] = req.Output
	}
	if _, err := s.Log.Append(audit.Event{Actor: actor, Action: audit.ActionPrint, Subject: subject, After: jsonOf(after)}); err != nil {
		return nil, fmt.Errorf("бланки напечатаны, но журнал аудита не пишется: %w; обратитесь к техническому специалисту", err)
	}
	return &Printed{Job: alloc, Pages: len(p.pages), Title: p.title, File: p.file}, nil
}

func (p *printPlan) write(ctx context.Context, w io.Writer, alloc serials.PrintJob) error {
	pages := make([]*forms.Drawing, len(p.pages))
	for i, pg := range p.pages {
		if i%50 == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("interrupted: %w", err)
			}
		}
		id, err := p.identity(i, alloc)
		if err != nil {
			return err
		}
		if pages[i], err = forms.Compose(pg.tpl, id); err != nil {
			return fmt.Errorf("page %d (%s): %w", i+1, id.Barcode, err)
		}
	}
	meta := forms.PDFMeta{Title: p.title, Creator: PDFCreator, Created: alloc.Allocated,
		Subject: "serials " + alloc.Serials.String()}
	if alloc.Kits.Count() > 0 {
		meta.Subject += ", kits " + alloc.Kits.String()
	}
	return forms.WritePDF(w, pages, meta)
}

// CalibrationPDF writes the scanner calibration sheet, printed before
// the exam and scanned for the readiness check. It is the same for every
// station and spends no numbers.
func CalibrationPDF(w io.Writer) error {
	d, err := forms.ComposeCalibration()
	if err != nil {
		return err
	}
	return forms.WritePDF(w, []*forms.Drawing{d}, forms.PDFMeta{Title: "Калибровочный лист сканера", Creator: PDFCreator})
}
