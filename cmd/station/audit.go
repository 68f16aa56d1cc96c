package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"giascan/station/audit"
)

func init() {
	register(&command{
		name:    "audit",
		summary: "check the audit log's chain (verify) or list its entries (show)",
		run:     runAudit,
	})
}

const auditUsage = `usage: station audit verify [--data DIR] [--head HASH]
       station audit show [--data DIR] [--json] [--last N] [--ppe P] [--auditorium A] [--actor LOGIN] [--action ACTION]`

func runAudit(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return badInput("want a subcommand: verify or show (see `station audit --help`)")
	}
	switch args[0] {
	case "verify":
		return runAuditVerify(e, args[1:])
	case "show":
		return runAuditShow(e, args[1:])
	case "-h", "--help", "-help", "help":
		fmt.Fprintln(e.stdout, auditUsage)
		return nil
	}
	return badInput("unknown subcommand %q: want verify or show", args[0])
}

// auditLogPath checks --data and that the folder holds an audit log. Both
// reading commands refuse to create anything: a missing log on a station
// that has worked is itself a finding, not an empty log.
func auditLogPath(dir string) (string, error) {
	if err := checkDataDir(dir); err != nil {
		return "", err
	}
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return "", badInput("--data %s: folder does not exist", dir)
	}
	path := filepath.Join(dir, audit.FileName)
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "", badInput("--data %s: no audit log (%s) in this folder", dir, audit.FileName)
	case err != nil:
		return "", badInput("--data %s: %v", dir, err)
	case fi.IsDir():
		return "", badInput("--data %s: %s is a folder, not an audit log", dir, audit.FileName)
	}
	return path, nil
}

// auditParse parses the flags of a subcommand that takes no arguments.
// It returns done when help was printed.
func auditParse(e *env, fs *flag.FlagSet, args []string) (done bool, err error) {
	pos, err := parseFlags(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(e.stdout, auditUsage)
		flagUsage(e.stdout, fs)
		return true, nil
	}
	if err != nil {
		return false, err
	}
	if len(pos) > 0 {
		return false, badInput("unexpected argument %q", pos[0])
	}
	return false, nil
}

// auditWarnings writes what verification found that does not break the
// chain, so the руководитель sees a clock set back or a recovered crash.
func auditWarnings(e *env, res audit.Result) {
	for _, w := range res.Warnings {
		fmt.Fprintf(e.stderr, "station audit: warning: %s\n", w)
	}
}

// auditBroken turns a broken chain into the command's one-line error.
func auditBroken(err error) error {
	var be *audit.BrokenError
	if errors.As(err, &be) {
		return fmt.Errorf("audit log broken at entry %d (line %d): %s", be.Seq, be.Line, be.Reason)
	}
	return err
}

func runAuditVerify(e *env, args []string) error {
	fs := newFlagSet("audit verify")
	data := addDataFlag(fs)
	head := fs.String("head", "", "also check that the log holds this entry `hash` (from a signed protocol; at least 12 leading hex digits)")
	if done, err := auditParse(e, fs, args); done || err != nil {
		return err
	}
	want := strings.ToLower(*head)
	if want != "" && (len(want) < 12 || len(want) > 64 || strings.Trim(want, "0123456789abcdef") != "") {
		return badInput("--head %q: want 12 to 64 hex digits of an entry hash", *head)
	}
	path, err := auditLogPath(*data)
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	defer f.Close()
	var anchor int64
	res, err := audit.Walk(f, func(en audit.Entry) error {
		if want != "" && anchor == 0 && strings.HasPrefix(en.Hash, want) {
			anchor = en.Seq
		}
		return nil
	})
	auditWarnings(e, res)
	if err != nil {
		return auditBroken(err)
	}
	if want != "" && anchor == 0 {
		return fmt.Errorf("audit log does not hold head %s: it was cut or rewritten after that entry (%d entries, head %s)", want, res.Entries, res.Head.Hash)
	}
	head64 := res.Head.Hash
	if res.Entries == 0 {
		head64 = audit.ZeroHash
	}
	fmt.Fprintf(e.stdout, "audit log ok: %d entries, head %s\n", res.Entries, head64)
	if anchor != 0 {
		fmt.Fprintf(e.stdout, "head %s is entry %d\n", want, anchor)
	}
	return nil
}

func runAuditShow(e *env, args []string) error {
	fs := newFlagSet("audit show")
	data := addDataFlag(fs)
	asJSON := fs.Bool("json", false, "print the entries as written in the log, one JSON line each")
	last := fs.String("last", "0", "show only the last `N` matching entries (0: all)")
	var f audit.Filter
	fs.StringVar(&f.PPE, "ppe", "", "only entries of this ППЭ")
	fs.StringVar(&f.Auditorium, "auditorium", "", "only entries of this auditorium")
	fs.StringVar(&f.Actor, "actor", "", "only entries by this `login` (station: the station itself)")
	fs.StringVar(&f.Action, "action", "", "only this `action` (e.g. page.delete; page. for every page action)")
	if done, err := auditParse(e, fs, args); done || err != nil {
		return err
	}
	n, err := strconv.Atoi(*last)
	if err != nil || n < 0 {
		return badInput("--last %q: want a whole number, 0 for all", *last)
	}
	if f.PPE != "" {
		if _, err := parsePPE(f.PPE); err != nil {
			return err
		}
	}
	if f.Auditorium != "" {
		if _, err := parseAuditorium(f.Auditorium); err != nil {
			return err
		}
	}
	f.Station = true // a recovered crash concerns every auditorium
	path, err := auditLogPath(*data)
	if err != nil {
		return err
	}
	file, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	defer file.Close()
	var shown []audit.Entry
	res, werr := audit.Walk(file, func(en audit.Entry) error {
		if f.Match(en) {
			shown = append(shown, en)
			if n > 0 && len(shown) > 2*n { // keep memory bounded on long logs
				shown = append(shown[:0], shown[len(shown)-n:]...)
			}
		}
		return nil
	})
	if werr != nil && !audit.IsBroken(werr) {
		return werr
	}
	if n > 0 && len(shown) > n {
		shown = shown[len(shown)-n:]
	}
	// The entries before a break are shown: the operator needs them to
	// see where the record went wrong.
	if *asJSON {
		var buf bytes.Buffer
		for _, en := range shown {
			buf.Write(en.Text())
			buf.WriteByte('\n')
		}
		if _, err := e.stdout.Write(buf.Bytes()); err != nil {
			return err
		}
	} else if err := auditTable(e.stdout, shown); err != nil {
		return err
	}
	auditWarnings(e, res)
	return auditBroken(werr)
}

// auditTable writes entries as a table for a person, times in the
// station's local time.
func auditTable(w io.Writer, entries []audit.Entry) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "№\tВремя\tКто\tДействие\tППЭ\tАуд.\tСессия\tЛист\tШтрихкод\tБыло → стало\tПричина")
	for _, en := range entries {
		name := audit.Label(en.Action)
		page := ""
		if en.Subject.Page > 0 {
			page = strconv.Itoa(en.Subject.Page)
		}
		change := ""
		if en.Before != nil || en.After != nil {
			change = auditDash(auditCell(string(en.Before), 40)) + " → " + auditDash(auditCell(string(en.After), 40))
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", en.Seq, en.Time.Local().Format("02.01.2006 15:04:05"),
			auditCell(en.Actor, 20), name, auditDash(en.Subject.PPE), auditDash(en.Subject.Auditorium), auditDash(en.Subject.Session),
			auditDash(page), auditDash(en.Subject.Barcode), auditDash(change), auditDash(auditCell(en.Reason, 60)))
	}
	return tw.Flush()
}

func auditDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// auditCell makes text fit one table cell: one line, at most max runes.
func auditCell(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ") // newlines and tabs would break the table
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max-1]) + "…"
}
