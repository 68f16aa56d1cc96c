package main

import (
	"context"
	"fmt"
	"os"
	"strconv"

	"giascan/atomicfile"
	"giascan/station/acts"
)

// The acts of a ППЭ (docs/acts.md) on the command line: the same use
// cases as the web interface's acts page.

func init() {
	register(&command{name: "acts", summary: "acts of a ППЭ: acceptance act, incident acts, list of removed and unfinished participants", run: runActs})
}

const actsUsage = `usage: station acts list --ppe P
       station acts incident --ppe P [--auditorium A] --kind wrong_kit|damaged_packaging|scanner_failure|power_cut|other --text TEXT
       station acts sign --ppe P --act N
       station acts acceptance --ppe P [--envelopes N] [--unused N] [--spoiled N] [--defective N] [--used-kim N] [--from NAME] [--note TEXT] [--out FILE.pdf]
       station acts match --ppe P --file SCAN
       station acts removed --ppe P [--out FILE.pdf]`

func runActs(ctx context.Context, e *env, args []string) error {
	verb, args, err := subcommand(e, actsUsage, args, "list", "incident", "sign", "acceptance", "match", "removed")
	if err != nil {
		return err
	}
	fs := newFlagSet("acts " + verb)
	data := addDataFlag(fs)
	ppeF := fs.String("ppe", "", "ППЭ code, 4 digits")
	aud := fs.String("auditorium", "", "auditorium of the incident (empty: the whole ППЭ)")
	kind := fs.String("kind", "", "incident kind: wrong_kit, damaged_packaging, scanner_failure, power_cut, other")
	text := fs.String("text", "", "what happened: when, what was found, what was done")
	actN := fs.Int("act", 0, "number of the incident act to sign")
	var rc acts.Received
	fs.IntVar(&rc.Envelopes, "envelopes", 0, "auditorium envelopes with answer blanks received")
	fs.IntVar(&rc.Unused, "unused", 0, "unused exam materials")
	fs.IntVar(&rc.Spoiled, "spoiled", 0, "spoiled exam materials")
	fs.IntVar(&rc.Defective, "defective", 0, "exam materials with printing defects")
	fs.IntVar(&rc.UsedKIM, "used-kim", 0, "used КИМ")
	fs.StringVar(&rc.From, "from", "", "who handed the materials over")
	fs.StringVar(&rc.Note, "note", "", "a note on the act")
	out := fs.String("out", "", "PDF file to write (default: NAME-PPE.pdf in the current folder)")
	file := fs.String("file", "", "scan of the signed acceptance act (image or PDF)")
	user := fs.String("user", osUser(), "your login, for the audit log")
	help, err := parseCommand(e, fs, actsUsage, args, data)
	if help || err != nil {
		return err
	}
	ppe, err := parsePPE(*ppeF)
	if err != nil {
		return err
	}
	switch verb {
	case "acceptance", "removed":
		if *out == "" {
			name := acts.NameAcceptance
			if verb == "removed" {
				name = acts.NameRemoved
			}
			*out = name + "-" + ppe + ".pdf"
		}
		if err := checkOutput("out", e.path(*out)); err != nil {
			return err
		}
	case "match":
		if err := requireFlag("file", *file); err != nil {
			return err
		}
	case "sign":
		if *actN < 1 {
			return badInput("укажите номер акта о нештатной ситуации, например 1 (station acts list --ppe %s покажет их)", ppe)
		}
	}
	st, done, err := e.openExamStation(*data)
	if err != nil {
		return err
	}
	defer done()
	role, err := st.RoleOf(*user)
	if err != nil {
		return err
	}
	writePDF := func(pdf []byte, what string) error {
		if err := atomicfile.WriteFile(e.path(*out), pdf, 0o644); err != nil {
			return fmt.Errorf("%s не записан: %w", what, err)
		}
		return nil
	}
	switch verb {
	case "list":
		a, err := st.PPEActs(ppe)
		if err != nil {
			return err
		}
		if a.Acceptance != nil {
			signed := "подписанная копия не сверена"
			if s := a.Acceptance.Signed; s != nil {
				signed = "подписанная копия сверена " + acts.Stamp(s.At) + " (" + s.By + ")"
			}
			fmt.Fprintf(e.stdout, "акт приёмки-передачи: %s, штрихкод %s, расхождений %d, %s\n", acts.Stamp(a.Acceptance.At), a.Acceptance.Barcode, len(a.Acceptance.Discrepancies), signed)
		} else {
			fmt.Fprintln(e.stdout, "акт приёмки-передачи: не составлен")
		}
		for _, in := range a.Incidents {
			where := "весь ППЭ"
			if in.Auditorium != "" {
				where = "аудитория " + in.Auditorium
			}
			signed := "не подписан"
			if s := in.Signed; s != nil {
				signed = "подписан " + s.By + " " + acts.Stamp(s.At)
			}
			fmt.Fprintf(e.stdout, "акт № %d: %s, %s, %s (%s): %s — %s\n", in.N, acts.Stamp(in.At), where, in.KindName, in.By, in.Text, signed)
		}
		if r := a.Removed; r != nil {
			fmt.Fprintf(e.stdout, "ведомость удалённых и не закончивших: %s, бланков с отметками %d, расхождений с ППЭ-13-02-МАШ %d\n", acts.Stamp(r.At), len(r.Rows), r.Mismatches())
		} else {
			fmt.Fprintln(e.stdout, "ведомость удалённых и не закончивших: не составлена")
		}
		return nil
	case "incident":
		in, err := st.FileIncident(ctx, *user, role, ppe, *aud, *kind, *text)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Акт № %d о нештатной ситуации (%s) ППЭ %s сохранён; подписывает руководитель: station acts sign --ppe %s --act %d\n", in.N, in.KindName, ppe, ppe, in.N)
		return nil
	case "sign":
		in, first, err := st.SignIncident(ctx, *user, role, ppe, *actN, "cli")
		if err != nil {
			return err
		}
		if !first {
			fmt.Fprintf(e.stdout, "Акт № %d уже подписан (%s, %s); подпись одна.\n", in.N, in.Signed.By, acts.Stamp(in.Signed.At))
			return nil
		}
		fmt.Fprintf(e.stdout, "Акт № %d ППЭ %s подписан (%s, %s).\n", in.N, ppe, in.Signed.By, acts.Stamp(in.Signed.At))
		return nil
	case "acceptance":
		a, pdf, err := st.MakeAcceptance(ctx, *user, role, ppe, rc)
		if err != nil {
			return err
		}
		if err := writePDF(pdf, "акт приёмки-передачи"); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Акт приёмки-передачи ППЭ %s: %s (штрихкод %s, расхождений %d).\n", ppe, e.path(*out), a.Barcode, len(a.Discrepancies))
		for _, d := range a.Discrepancies {
			fmt.Fprintln(e.stdout, "  • "+d)
		}
		fmt.Fprintf(e.stdout, "Распечатайте, подпишите и отсканируйте: station acts match --ppe %s --file СКАН\n", ppe)
		return nil
	case "match":
		scan, err := os.ReadFile(e.path(*file))
		if err != nil {
			return badInput("скан %s не читается: %v", *file, err)
		}
		a, err := st.MatchAcceptance(ctx, *user, ppe, scan, *file)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Подписанный акт приёмки-передачи ППЭ %s (штрихкод %s) сверен и сохранён; он уйдёт в РЦОИ с пакетом ППЭ.\n", ppe, a.Barcode)
		return nil
	case "removed":
		r, pdf, err := st.MakeRemoved(ctx, *user, role, ppe)
		if err != nil {
			return err
		}
		if err := writePDF(pdf, "ведомость"); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Ведомость удалённых и не закончивших ППЭ %s: %s (бланков с отметками %s, расхождений с ППЭ-13-02-МАШ %d).\n",
			ppe, e.path(*out), strconv.Itoa(len(r.Rows)), r.Mismatches())
		for _, c := range r.Checks {
			fmt.Fprintln(e.stdout, "  • "+c.Text)
		}
		return nil
	}
	return nil
}
