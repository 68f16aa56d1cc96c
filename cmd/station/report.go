package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"giascan/station/ops"
	"giascan/station/reconcile"
	"giascan/station/store"
)

func init() {
	register(&command{
		name:    "report",
		summary: "reconcile the scans with the exam and the ППЭ-13-02-МАШ: problems per auditorium and what to do (--json: exam.md shape)",
		run:     runReport,
	})
}

const reportUsage = "usage: station report [--data DIR] [--json]"

func runReport(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("report")
	data := addDataFlag(fs)
	asJSON := fs.Bool("json", false, "print the report as one JSON object (exam.md)")
	if help, err := parseCommand(e, fs, reportUsage, args, data); help || err != nil {
		return err
	}
	if !store.Exists(*data) {
		return badInput("%s (папка данных %s)", store.ErrNoExam, *data)
	}
	st, done, err := e.openStation(*data)
	if err != nil {
		return err
	}
	defer done()
	rep, err := st.ReportWithLife()
	if ops.IsInput(err) {
		return badInput("%s (папка данных %s)", err, *data)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetEscapeHTML(false)
		return enc.Encode(rep)
	}
	return writeReport(e.stdout, rep)
}

var statusText = map[string]string{
	reconcile.StatusOpen:       "открыта, есть проблемы",
	reconcile.StatusReconciled: "сверена, проблем нет — можно закрывать",
	reconcile.StatusClosed:     "закрыта",
}

// writeReport prints the report for the operator, in Russian.
func writeReport(w io.Writer, rep *reconcile.Report) error {
	var b strings.Builder
	h := rep.Exam
	fmt.Fprintf(&b, "Экзамен: ГИА-%d, регион %s, предмет %s, дата %s\n", h.Level, h.Region, h.Subject, h.Date)
	open := 0
	for _, p := range rep.PPE {
		fmt.Fprintf(&b, "\nППЭ %s\n", p.Code)
		for _, a := range p.Auditoriums {
			if a.Status == reconcile.StatusOpen {
				open++
			}
			fmt.Fprintf(&b, "  Аудитория %s: %s\n", a.Number, statusText[a.Status])
			if a.Reason != "" {
				fmt.Fprintf(&b, "    Закрыта с проблемами, причина: %s\n", a.Reason)
			}
			s := a.Scanned
			if x := a.Expected; x != nil {
				fmt.Fprintf(&b, "    Отсканировано / по ППЭ-13-02-МАШ: БО №1 %d/%d, БО №2 лист 1 %d/%d, лист 2 %d/%d, ДБО №2 %d/%d; прочих страниц %d\n",
					s.BO1, x.BO1, s.BO2S1, x.BO2S1, s.BO2S2, x.BO2S2, s.DBO2, x.DBO2, s.Other)
			} else {
				fmt.Fprintf(&b, "    Отсканировано: БО №1 %d, БО №2 лист 1 %d, лист 2 %d, ДБО №2 %d; прочих страниц %d\n",
					s.BO1, s.BO2S1, s.BO2S2, s.DBO2, s.Other)
			}
			for _, pr := range a.Problems {
				fmt.Fprintf(&b, "    - %s\n", problemLine(pr))
			}
		}
	}
	if len(rep.Unassigned) > 0 {
		fmt.Fprintf(&b, "\nСтраницы не своего ППЭ или экзамена:\n")
		for _, pr := range rep.Unassigned {
			where := ""
			if pr.PPE != "" {
				where = fmt.Sprintf("ППЭ %s, аудитория %s, ", pr.PPE, pr.Auditorium)
			}
			fmt.Fprintf(&b, "  - %s%s\n", where, problemLine(pr))
		}
	}
	if open > 0 {
		fmt.Fprintf(&b, "\nОткрытых аудиторий с проблемами: %d. Исправления: station page, station review, station form1302; закрыть с причиной: station auditorium close --reason.\n", open)
	} else {
		fmt.Fprintf(&b, "\nПроблем, требующих исправления, нет.\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func problemLine(pr reconcile.Problem) string {
	var at []string
	if pr.Seq != 0 {
		at = append(at, fmt.Sprintf("стр. %d", pr.Seq))
	}
	if pr.File != "" {
		at = append(at, "файл "+pr.File)
	}
	prefix := "[" + pr.Kind + "]"
	if len(at) > 0 {
		prefix += " " + strings.Join(at, ", ") + ":"
	}
	return prefix + " " + pr.Detail
}
