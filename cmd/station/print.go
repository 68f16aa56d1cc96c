package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strconv"

	"giascan/atomicfile"
	"giascan/forms"
	"giascan/station/serials"
)

// Limits of one print job. A kit run covers at most one auditorium-sized
// batch many times over; more in one file only makes a reprint costlier.
const (
	maxKits       = 500
	maxDBOSheets  = 97 // sheets 3..99: L has at most two digits
	pdfCreator    = "giascan station"
	printCommands = "kits, dbo or form"
)

func init() {
	register(&command{
		name:    "print",
		summary: "print participant kits, additional answer sheets (ДБО №2) and ППЭ forms as PDF",
		run:     runPrint,
	})
}

func runPrint(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return badInput("what to print is missing: want %s", printCommands)
	}
	switch args[0] {
	case "kits":
		return printKits(ctx, e, args[1:])
	case "dbo":
		return printDBO(ctx, e, args[1:])
	case "form":
		return printForm(ctx, e, args[1:])
	case "help", "-h", "-help", "--help":
		fmt.Fprintln(e.stdout, `usage:
  station print kits --level 9|11 --region RR --ppe PPPP --auditorium AAAA --subject SS --date YYYY-MM-DD --count N --out FILE.pdf [--data DIR]
  station print dbo --kit KKKKKKKKKK --sheet N [--count M] --level … --region … --ppe … --auditorium … --subject … --date … --out FILE.pdf [--data DIR]
  station print form 51|53 --level … --region … --ppe … --subject … --date … --out FILE.pdf [--data DIR]`)
		return nil
	}
	return badInput("unknown thing to print %q: want %s", args[0], printCommands)
}

// printJob is a validated print request: the pages to number and compose,
// and where they go. Nothing in the data folder changes until run.
type printJob struct {
	what    string
	out     string
	data    string
	context forms.Identity // exam context shared by every page
	pages   []pageSpec     // in print order; page i gets the i-th serial
	kits    int            // kit numbers to allocate
	title   string
	// summary formats the one-line report from the allocated numbers.
	summary func(j serials.PrintJob) string
}

type pageSpec struct {
	tpl   *forms.Template
	sheet int
	// kitOf is the index of the allocated kit the page belongs to; -1 for
	// the kit number in printJob.context (ДБО №2, or none on forms).
	kitOf int
}

func helpOrError(e *env, fs *flag.FlagSet, err error) error {
	if errors.Is(err, flag.ErrHelp) {
		flagUsage(e.stdout, fs)
		return nil
	}
	return err
}

func printKits(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("print kits")
	exam := addExamFlags(fs, true)
	count := fs.String("count", "", fmt.Sprintf("number of participant kits, 1..%d", maxKits))
	out := fs.String("out", "", "output PDF `file`")
	data := addDataFlag(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return helpOrError(e, fs, err)
	}
	if len(pos) > 0 {
		return badInput("unexpected argument %q", pos[0])
	}
	id, err := exam.identity()
	if err != nil {
		return err
	}
	n, err := parseCount("count", *count, maxKits)
	if err != nil {
		return err
	}
	set := forms.Builtin()
	job := &printJob{what: "kits", out: e.path(*out), data: *data, context: id, kits: n}
	for i := range n {
		for _, pt := range []string{forms.TypeBO1, forms.TypeBO2Sheet1, forms.TypeBO2Sheet2} {
			tpl, err := pageTemplate(set, pt)
			if err != nil {
				return err
			}
			job.pages = append(job.pages, pageSpec{tpl: tpl, sheet: tpl.Sheet, kitOf: i})
		}
	}
	job.title = "Индивидуальные комплекты участников, " + contextTitle(id)
	job.summary = func(j serials.PrintJob) string {
		return fmt.Sprintf("printed %d kits %s (%d pages, serials %s) to %s", n, j.Kits, len(job.pages), j.Serials, job.out)
	}
	return job.run(ctx, e)
}

func printDBO(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("print dbo")
	kit := fs.String("kit", "", "kit number of the participant, 10 digits")
	sheet := fs.String("sheet", "", "sheet number of the first additional sheet, 3 or more")
	count := fs.String("count", "1", "number of consecutive additional sheets")
	exam := addExamFlags(fs, true)
	out := fs.String("out", "", "output PDF `file`")
	data := addDataFlag(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return helpOrError(e, fs, err)
	}
	if len(pos) > 0 {
		return badInput("unexpected argument %q", pos[0])
	}
	k, err := digitsFlag("kit", *kit, 10, "a kit number")
	if err != nil {
		return err
	}
	if k == forms.NoKit {
		return badInput("--kit %s: that number means \"no kit\"; give the participant's kit number from БО №1", k)
	}
	first, err := parseCount("sheet", *sheet, 99)
	if err != nil || first < 3 {
		return badInput("--sheet %q: want the number of the first additional sheet, 3..99 (sheets 1 and 2 are БО №2)", *sheet)
	}
	n, err := parseCount("count", *count, maxDBOSheets)
	if err != nil {
		return err
	}
	if first+n-1 > 99 {
		return badInput("--sheet %d with --count %d: sheet numbers go up to 99", first, n)
	}
	id, err := exam.identity()
	if err != nil {
		return err
	}
	id.Kit = k
	tpl, err := pageTemplate(forms.Builtin(), forms.TypeDBO2)
	if err != nil {
		return err
	}
	job := &printJob{what: "dbo", out: e.path(*out), data: *data, context: id}
	for i := range n {
		job.pages = append(job.pages, pageSpec{tpl: tpl, sheet: first + i, kitOf: -1})
	}
	job.title = fmt.Sprintf("Дополнительные бланки ответов №2, комплект %s, %s", k, contextTitle(id))
	job.summary = func(j serials.PrintJob) string {
		sheets := strconv.Itoa(first)
		if n > 1 {
			sheets += "–" + strconv.Itoa(first+n-1)
		}
		return fmt.Sprintf("printed ДБО №2 sheets %s of kit %s (%d pages, serials %s) to %s", sheets, k, n, j.Serials, job.out)
	}
	return job.run(ctx, e)
}

// printableForms are the ППЭ forms `print form` makes; ППЭ-15 is left to
// the protocol command because its QR signs a package manifest.
var printableForms = map[string]bool{forms.TypePPE1302: true, forms.TypePPE18: true}

func printForm(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("print form")
	exam := addExamFlags(fs, false)
	out := fs.String("out", "", "output PDF `file`")
	data := addDataFlag(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return helpOrError(e, fs, err)
	}
	switch {
	case len(pos) == 0:
		return badInput("form type is missing: want 51 (ППЭ-13-02-МАШ) or 53 (ППЭ-18-МАШ)")
	case len(pos) > 1:
		return badInput("unexpected argument %q", pos[1])
	case pos[0] == forms.TypePPE15:
		return badInput("form 55 (ППЭ-15) is printed by the protocol command, which signs the package manifest in its QR")
	case !printableForms[pos[0]]:
		return badInput("unknown form type %q: want 51 (ППЭ-13-02-МАШ) or 53 (ППЭ-18-МАШ)", pos[0])
	}
	id, err := exam.identity()
	if err != nil {
		return err
	}
	id.Auditorium, id.Kit = "0000", forms.NoKit
	tpl, err := pageTemplate(forms.Builtin(), pos[0])
	if err != nil {
		return err
	}
	job := &printJob{what: "form " + tpl.Type, out: e.path(*out), data: *data, context: id,
		pages: []pageSpec{{tpl: tpl, sheet: 0, kitOf: -1}}}
	job.title = tpl.Name + ", " + contextTitle(id)
	job.summary = func(j serials.PrintJob) string {
		return fmt.Sprintf("printed form %s %s (1 page, serial %s) to %s", tpl.Type, formShortName(tpl), j.Serials, job.out)
	}
	return job.run(ctx, e)
}

// formShortName is the form's code, the first word of its name.
func formShortName(t *forms.Template) string {
	for i, r := range t.Name {
		if r == ' ' {
			return t.Name[:i]
		}
	}
	return t.Name
}

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
func (j *printJob) identity(i int, alloc serials.PrintJob) (forms.Identity, error) {
	p := j.pages[i]
	id := j.context
	id.Type, id.Sheet = p.tpl.Type, p.sheet
	if p.kitOf >= 0 {
		id.Kit = fmt.Sprintf("%010d", alloc.Kits.At(p.kitOf))
	}
	var err error
	id.Barcode, err = forms.MakeBarcode(p.tpl.Type, alloc.Serials.At(i))
	return id, err
}

// run checks what is left to check, takes the numbers, composes the pages
// and writes the PDF. Everything a user can get wrong is refused before
// the numbers are taken: allocated numbers are never given back.
func (j *printJob) run(ctx context.Context, e *env) error {
	if err := checkOutput("out", j.out); err != nil {
		return err
	}
	if err := checkDataDir(j.data); err != nil {
		return err
	}
	for _, role := range []string{forms.FontRegular, forms.FontBold, forms.FontMono} {
		if _, err := forms.FontPath(role); err != nil {
			return err
		}
	}
	// A trial page with placeholder numbers catches a broken template
	// before any number is spent on it.
	for _, p := range j.pages[:min(len(j.pages), 3)] {
		trial := j.context
		trial.Type, trial.Sheet = p.tpl.Type, p.sheet
		if p.kitOf >= 0 {
			trial.Kit = "0000000001"
		}
		trial.Barcode, _ = forms.MakeBarcode(p.tpl.Type, 1)
		if _, err := forms.Compose(p.tpl, trial); err != nil {
			return fmt.Errorf("page type %s: %w", p.tpl.Type, err)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	out, err := filepath.Abs(j.out)
	if err != nil {
		return fmt.Errorf("output path: %w", err)
	}
	rec := serials.PrintJob{
		What: j.what, Level: j.context.Level, Region: j.context.Region, PPE: j.context.PPE,
		Auditorium: j.context.Auditorium, Subject: j.context.Subject, Date: j.context.Date,
		Pages: len(j.pages), Output: out,
	}
	if j.what == "dbo" {
		rec.Kit, rec.FirstSheet = j.context.Kit, j.pages[0].sheet
	}
	alloc, err := serials.Allocate(j.data, rec, len(j.pages), j.kits)
	if err != nil {
		return err
	}
	printErr := j.write(ctx, alloc)
	if err := serials.Finish(j.data, alloc.ID, printErr); err != nil {
		if printErr != nil {
			return fmt.Errorf("%w (and recording the failure: %v)", printErr, err)
		}
		return fmt.Errorf("%s is written, but the print job record is not updated: %w", j.out, err)
	}
	if printErr != nil {
		return printErr
	}
	fmt.Fprintln(e.stderr, j.summary(alloc))
	return nil
}

func (j *printJob) write(ctx context.Context, alloc serials.PrintJob) error {
	pages := make([]*forms.Drawing, len(j.pages))
	for i, p := range j.pages {
		if i%50 == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("interrupted: %w", err)
			}
		}
		id, err := j.identity(i, alloc)
		if err != nil {
			return err
		}
		if pages[i], err = forms.Compose(p.tpl, id); err != nil {
			return fmt.Errorf("page %d (%s): %w", i+1, id.Barcode, err)
		}
	}
	meta := forms.PDFMeta{Title: j.title, Creator: pdfCreator, Created: alloc.Allocated,
		Subject: "serials " + alloc.Serials.String()}
	if alloc.Kits.Count() > 0 {
		meta.Subject += ", kits " + alloc.Kits.String()
	}
	return writeFileAtomic(j.out, func(w io.Writer) error {
		return forms.WritePDF(w, pages, meta)
	})
}

// writeFileAtomic writes a file so that it either appears complete or not
// at all: a half-written PDF of numbered blanks must never reach the
// printer. Printed files are for sharing, so they are not private.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	return atomicfile.Write(path, 0o644, write)
}
