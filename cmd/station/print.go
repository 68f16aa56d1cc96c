package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"

	"giascan/atomicfile"
	"giascan/forms"
	"giascan/station"
	"giascan/station/audit"
	"giascan/station/serials"
)

const (
	pdfCreator    = station.PDFCreator
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

// printJob is a print request of the command line: the use case's
// request, where the PDF goes and the line that reports it.
type printJob struct {
	req  station.PrintRequest
	out  string
	data string
	// summary formats the one-line report from the allocated numbers.
	summary func(j serials.PrintJob) string
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
	count := fs.String("count", "", fmt.Sprintf("number of participant kits, 1..%d", station.MaxPrintKits))
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
	n, err := parseCount("count", *count, station.MaxPrintKits)
	if err != nil {
		return err
	}
	job := &printJob{out: e.path(*out), data: *data, req: station.PrintRequest{What: station.PrintKits, Exam: id, Count: n}}
	job.summary = func(j serials.PrintJob) string {
		return fmt.Sprintf("printed %d kits %s (%d pages, serials %s) to %s", n, j.Kits, j.Pages, j.Serials, job.out)
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
	n, err := parseCount("count", *count, station.MaxDBOSheets)
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
	job := &printJob{out: e.path(*out), data: *data,
		req: station.PrintRequest{What: station.PrintDBO, Exam: id, Count: n, FirstSheet: first}}
	job.summary = func(j serials.PrintJob) string {
		sheets := strconv.Itoa(first)
		if n > 1 {
			sheets += "–" + strconv.Itoa(first+n-1)
		}
		return fmt.Sprintf("printed ДБО №2 sheets %s of kit %s (%d pages, serials %s) to %s", sheets, k, n, j.Serials, job.out)
	}
	return job.run(ctx, e)
}

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
	case !slices.Contains(station.PrintableForms, pos[0]):
		return badInput("unknown form type %q: want 51 (ППЭ-13-02-МАШ) or 53 (ППЭ-18-МАШ)", pos[0])
	}
	id, err := exam.identity()
	if err != nil {
		return err
	}
	tpl, ok := forms.Builtin().Get(pos[0])
	if !ok {
		return fmt.Errorf("no template for page type %s", pos[0])
	}
	job := &printJob{out: e.path(*out), data: *data, req: station.PrintRequest{What: station.PrintForm, Exam: id, Form: pos[0]}}
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

// run checks what is left to check and prints through the station's use
// case. Everything a user can get wrong is refused before the numbers are
// taken: allocated numbers are never given back.
func (j *printJob) run(ctx context.Context, e *env) error {
	if err := checkOutput("out", j.out); err != nil {
		return err
	}
	if err := checkDataDir(j.data); err != nil {
		return err
	}
	if err := station.PlanPrint(j.req); err != nil {
		return err
	}
	out, err := filepath.Abs(j.out)
	if err != nil {
		return fmt.Errorf("output path: %w", err)
	}
	j.req.Output = out
	app, done, err := e.openStation(j.data)
	if err != nil {
		return err
	}
	defer done()
	p, err := app.Print(ctx, audit.Station, j.req, func(write func(io.Writer) error) error {
		return writeFileAtomic(j.out, write)
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stderr, j.summary(p.Job))
	return nil
}

// writeFileAtomic writes a file so that it either appears complete or not
// at all: a half-written PDF of numbered blanks must never reach the
// printer. Printed files are for sharing, so they are not private.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	return atomicfile.Write(path, 0o644, write)
}
