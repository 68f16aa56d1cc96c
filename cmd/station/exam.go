package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"giascan/station/exam"
)

func init() {
	register(&command{
		name:    "exam",
		summary: "import the exam file from the РЦОИ (exam import FILE)",
		run:     runExam,
	})
}

const examUsage = "usage: station exam import [--data DIR] [--user LOGIN] [--reason TEXT] FILE"

func runExam(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return badInput("want a subcommand: import (see `station exam --help`)")
	}
	switch args[0] {
	case "import":
		return runExamImport(e, args[1:])
	case "-h", "--help", "-help", "help":
		fmt.Fprintln(e.stdout, examUsage)
		return nil
	}
	return badInput("unknown subcommand %q: want import", args[0])
}

// runExamImport checks the whole exam file before anything is written:
// a file with any fault is refused with the path of the first bad value,
// and the data folder stays as it was.
func runExamImport(e *env, args []string) error {
	fs := newFlagSet("exam import")
	data := addDataFlag(fs)
	user := fs.String("user", osUser(), "your login, for the audit log")
	reason := fs.String("reason", "", "why the exam is replaced once pages are scanned (the head's confirmation)")
	pos, err := parseFlags(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(e.stdout, examUsage)
		flagUsage(e.stdout, fs)
		return nil
	}
	if err != nil {
		return err
	}
	switch {
	case len(pos) == 0:
		return badInput("no FILE given: name the exam file from the РЦОИ")
	case len(pos) > 1:
		return badInput("unexpected argument %q: give one exam FILE", pos[1])
	}
	if err := checkDataDir(*data); err != nil {
		return err
	}
	raw, err := os.ReadFile(e.path(pos[0]))
	if err != nil {
		return badInput("файл экзамена %s не читается: %v; проверьте путь к файлу", pos[0], unwrapPath(err))
	}
	parsed, err := exam.Parse(raw)
	if err != nil {
		return badInput("файл экзамена %s отклонён целиком, ничего не записано: %s; исправьте файл (или запросите новый в РЦОИ) и импортируйте снова",
			pos[0], examProblems(err))
	}
	st, done, err := e.openStation(*data)
	if err != nil {
		return err
	}
	defer done()
	imp, err := st.ImportExam(*user, parsed, filepath.Base(pos[0]), *reason)
	if err != nil {
		return err
	}
	ex, prev := imp.Exam, imp.Prev
	auds := 0
	for _, p := range ex.PPE {
		auds += len(p.Auditoriums)
	}
	verb := "импортирован"
	if prev != nil {
		verb = "импортирован (заменил прежний)"
	}
	fmt.Fprintf(e.stdout, "Экзамен %s: уровень %d, предмет %s, дата %s, регион %s; ППЭ: %d, аудиторий: %d\n",
		verb, ex.Level, ex.Subject, ex.Date, ex.Region, len(ex.PPE), auds)
	return nil
}

// examProblems writes the problems of a refused exam file on one line.
func examProblems(err error) string {
	var inv *exam.InvalidError
	if !errors.As(err, &inv) {
		return err.Error()
	}
	parts := make([]string, len(inv.Problems))
	for i, p := range inv.Problems {
		parts[i] = p.String()
	}
	return strings.Join(parts, "; ")
}
