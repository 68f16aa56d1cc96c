package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"giascan/station/audit"
	"giascan/station/exam"
	"giascan/station/store"
)

func init() {
	register(&command{
		name:    "exam",
		summary: "import the exam file from the РЦОИ (exam import FILE)",
		run:     runExam,
	})
}

const examUsage = "usage: station exam import [--data DIR] FILE"

// actionExamImport is the audit action of an exam import.
const actionExamImport = "exam.import"

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
	raw, err := os.ReadFile(pos[0])
	if err != nil {
		return badInput("файл экзамена %s не читается: %v; проверьте путь к файлу", pos[0], unwrapPath(err))
	}
	ex, err := exam.Parse(raw)
	if err != nil {
		return badInput("файл экзамена %s отклонён целиком, ничего не записано: %s; исправьте файл (или запросите новый в РЦОИ) и импортируйте снова",
			pos[0], examProblems(err))
	}
	st, err := store.Open(*data)
	if err != nil {
		return err
	}
	defer st.Close()
	prev, _ := st.Exam()
	log, err := audit.Open(*data)
	if err != nil {
		return fmt.Errorf("журнал аудита: %w", err)
	}
	defer log.Close()
	if err := st.SetExam(ex); err != nil {
		return err
	}
	ev := audit.Event{Actor: audit.Station, Action: actionExamImport, After: examSummaryJSON(ex)}
	if prev != nil {
		ev.Before = examSummaryJSON(prev)
	}
	if _, err := log.Append(ev); err != nil {
		return fmt.Errorf("экзамен импортирован, но не записан в журнал аудита: %w", err)
	}
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

// examSummaryJSON is what the audit log keeps of an exam: its header and
// its ППЭ and auditoriums, without the kit lists.
func examSummaryJSON(ex *exam.Exam) json.RawMessage {
	type aud struct {
		PPE        string   `json:"ppe"`
		Auditorium []string `json:"auditoriums"`
	}
	s := struct {
		exam.Header
		PPE []aud `json:"ppe"`
	}{Header: ex.Header()}
	for _, p := range ex.PPE {
		a := aud{PPE: p.Code}
		for _, x := range p.Auditoriums {
			a.Auditorium = append(a.Auditorium, x.Number)
		}
		s.PPE = append(s.PPE, a)
	}
	data, _ := json.Marshal(s)
	return data
}
