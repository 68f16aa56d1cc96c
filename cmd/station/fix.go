package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/user"
	"sort"
	"strconv"
	"strings"

	"giascan/hardware"
	"giascan/station"
	"giascan/station/ops"
	"giascan/station/reconcile"
	"giascan/station/store"
)

// The corrections an operator makes after `station report`. Each is a
// function of station/ops, which the web interface calls too; these
// commands only read flags and print the outcome.

func init() {
	register(&command{name: "page", summary: "correct a scanned page: rescan, replace, insert, delete, move, identify, recognize", run: runPage})
	register(&command{name: "review", summary: "confirm or correct a recognised value awaiting review, or undo that", run: runReview})
	register(&command{name: "form1302", summary: "confirm the ППЭ-13-02-МАШ values of a ППЭ, from its scan or typed in", run: runForm1302})
	register(&command{name: "auditorium", summary: "close an auditorium (with a reason when problems are left)", run: runAuditorium})
}

const (
	pageUsage = `usage: station page rescan   --ppe P --auditorium A --page N --device SPEC [--user LOGIN]
       station page replace  --ppe P --auditorium A --page N --file IMAGE [--reason TEXT]
       station page insert   --ppe P --auditorium A --file IMAGE [--after N] [--reason TEXT]
       station page delete   --ppe P --auditorium A --page N --reason TEXT
       station page move     --ppe P --auditorium A --page N --to AUD [--reason TEXT]
       station page identify --ppe P --auditorium A --page N --barcode 13DIGITS [--kit K] [--sheet L]
       station page recognize --ppe P --auditorium A --page N`
	reviewUsage     = "usage: station review confirm|correct|undo --ppe P --auditorium A --page N --field ID [--value V] [--user LOGIN]"
	form1302Usage   = "usage: station form1302 confirm --ppe P (--auditorium A --page N [--set FIELD=N]… | --row AUD=listed,present,absent,removed,unfinished,bo1,bo2s1,bo2s2,dbo2,defective …) [--user LOGIN]"
	auditoriumUsage = "usage: station auditorium close|reopen --ppe P --auditorium A [--reason TEXT] [--user LOGIN]"
)

// osUser is the login of the person at the station, the default --user.
func osUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return os.Getenv("USER")
}

// listFlag collects a repeated flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, " ") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// fixFlags are the flags every correction shares.
type fixFlags struct {
	fs                   *flag.FlagSet
	data, user, ppe, aud *string
	page                 *string
	reason               *string
}

func newFixFlags(name string) *fixFlags {
	fs := newFlagSet(name)
	return &fixFlags{fs: fs, data: addDataFlag(fs),
		user:   fs.String("user", osUser(), "login of the person making the correction (default: the OS user)"),
		ppe:    fs.String("ppe", "", "ППЭ code, 4 digits"),
		aud:    fs.String("auditorium", "", "auditorium number, 4 digits"),
		page:   fs.String("page", "", "page number (seq) in the auditorium, as in station report"),
		reason: fs.String("reason", "", "reason, for the audit log"),
	}
}

// parsePlace is parse for commands about one auditorium: the auditorium
// is required.
func (f *fixFlags) parsePlace(e *env, usage string, args []string) (store.Ref, error) {
	ref, err := f.parse(e, usage, args, false)
	if err == nil && ref.Auditorium == "" {
		_, err = parseAuditorium("")
	}
	return ref, err
}

// parse parses args after the subcommand word and checks the shared flags.
func (f *fixFlags) parse(e *env, usage string, args []string, needPage bool) (store.Ref, error) {
	pos, err := parseFlags(f.fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(e.stdout, usage)
		flagUsage(e.stdout, f.fs)
		return store.Ref{}, err
	}
	if err != nil {
		return store.Ref{}, err
	}
	if len(pos) > 0 {
		return store.Ref{}, badInput("unexpected argument %q", pos[0])
	}
	if err := checkDataDir(*f.data); err != nil {
		return store.Ref{}, err
	}
	if strings.TrimSpace(*f.user) == "" {
		return store.Ref{}, badInput("не указан оператор: укажите свой логин (--user)")
	}
	var ref store.Ref
	if ref.PPE, err = parsePPE(*f.ppe); err != nil {
		return ref, err
	}
	if f.aud != nil && (*f.aud != "" || needPage) {
		if ref.Auditorium, err = parseAuditorium(*f.aud); err != nil {
			return ref, err
		}
	}
	if needPage {
		if ref.Seq, err = parseCount("page", *f.page, 999999); err != nil {
			return ref, err
		}
	}
	return ref, nil
}

// openOps opens the data folder (or borrows the daemon's) for
// corrections; with recognize, new images are recognised at once.
func openOps(e *env, data string, recognize bool) (*ops.Ops, *station.Station, func(), error) {
	st, done, err := e.openExamStation(data)
	if err != nil {
		return nil, nil, nil, err
	}
	o, err := st.Ops(recognize)
	if err != nil {
		done()
		return nil, nil, nil, err
	}
	return o, st, done, nil
}

// opErr turns a refusal of ops into bad input (exit status 2).
func opErr(err error) error {
	if ops.IsInput(err) {
		return badInput("%s", err)
	}
	return err
}

func pageSummary(p store.Page) string {
	s := fmt.Sprintf("страница %d аудитории %s ППЭ %s", p.Seq, p.Auditorium, p.PPE)
	if p.Result != nil && p.Result.Barcode != "" {
		s += ", штрихкод " + p.Result.Barcode
	}
	return s
}

func runPage(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintln(e.stderr, pageUsage)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return nil
		}
		return badInput("укажите действие: rescan, replace, insert, delete, move, identify или recognize")
	}
	verb, args := args[0], args[1:]
	f := newFixFlags("page " + verb)
	var device, file, to, barcode, kit, sheet, after *string
	switch verb {
	case "rescan":
		device = f.fs.String("device", "", "scanner with the sheet in its tray: sim:ARGS, sane:NAME")
	case "replace", "insert":
		file = f.fs.String("file", "", "image file of the page")
		if verb == "insert" {
			after = f.fs.String("after", "", "the page the sheet lay after in the stack (default: appended)")
		}
	case "delete", "recognize":
	case "move":
		to = f.fs.String("to", "", "auditorium of the same ППЭ to move the page to")
	case "identify":
		barcode = f.fs.String("barcode", "", "the 13 digits printed under the barcode")
		kit = f.fs.String("kit", "", "participant's kit number, 10 digits (answer blanks)")
		sheet = f.fs.String("sheet", "", "sheet number of a ДБО №2 (3, 4, …)")
	default:
		return badInput("неизвестное действие %q: укажите rescan, replace, insert, delete, move, identify или recognize", verb)
	}
	ref, err := f.parse(e, pageUsage, args, verb != "insert")
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if verb == "insert" && ref.Auditorium == "" {
		if ref.Auditorium, err = parseAuditorium(*f.aud); err != nil {
			return err
		}
	}
	// Everything the operator typed is checked before the store opens.
	var img hardware.Page
	if file != nil {
		if err := requireFlag("file", *file); err != nil {
			return err
		}
		if img, err = ops.ImageFile(e.path(*file)); err != nil {
			return opErr(err)
		}
	}
	afterSeq := 0
	if after != nil && *after != "" {
		if afterSeq, err = parseCount("after", *after, 999999); err != nil {
			return err
		}
	}
	if to != nil {
		if *to, err = parseAuditorium(*to); err != nil {
			return badInput("%s", strings.Replace(err.Error(), "--auditorium", "--to", 1))
		}
	}
	sheetNo := 0
	if sheet != nil && *sheet != "" {
		if sheetNo, err = strconv.Atoi(*sheet); err != nil || sheetNo < 3 || sheetNo > 99 {
			return badInput("--sheet %q: номер листа ДБО №2 — число от 3 до 99", *sheet)
		}
	}
	if device != nil {
		if *device, err = checkDevice(e.deviceSpec(*device)); err != nil {
			return err
		}
	}
	if barcode != nil {
		if err := requireFlag("barcode", *barcode); err != nil {
			return err
		}
	}
	o, st, done, err := openOps(e, *f.data, false)
	if err != nil {
		return err
	}
	defer done()
	var p store.Page
	switch verb {
	case "rescan":
		p, err = st.RescanPage(ctx, *f.user, ref, *device, hardware.Options{Source: hardware.ADF})
	case "replace":
		p, err = st.ReplacePage(ctx, *f.user, ref, img, *f.reason)
	case "insert":
		p, err = st.InsertPage(ctx, *f.user, ref.Place, img, ops.Position{After: afterSeq}, *f.reason)
	case "recognize":
		p, err = st.RecognizeAgain(ctx, *f.user, ref)
	case "delete":
		p, err = o.Delete(*f.user, ref, *f.reason)
	case "move":
		p, err = o.Move(ctx, *f.user, ref, *to, *f.reason)
	case "identify":
		p, err = o.Identify(*f.user, ref, *barcode, *kit, sheetNo)
	}
	if err != nil {
		return opErr(err)
	}
	msg := map[string]string{
		"rescan": "Пересканирована", "replace": "Заменена", "insert": "Добавлена", "delete": "Удалена",
		"move": "Перенесена, теперь", "identify": "Опознана", "recognize": "Распознана заново",
	}[verb]
	fmt.Fprintf(e.stdout, "%s %s. Проверьте отчёт: station report\n", msg, pageSummary(p))
	return nil
}

func runReview(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || (args[0] != "confirm" && args[0] != "correct" && args[0] != "undo") {
		fmt.Fprintln(e.stderr, reviewUsage)
		return badInput("укажите действие: confirm (подтвердить прочитанное), correct (исправить) или undo (отменить последнее подтверждение или исправление поля)")
	}
	verb, args := args[0], args[1:]
	f := newFixFlags("review " + verb)
	field := f.fs.String("field", "", "field id of the page result (e.g. variant, removed, row03.present)")
	value := f.fs.String("value", "", "the value on the paper: digits, or marked/empty for a box")
	ref, err := f.parse(e, reviewUsage, args, true)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := requireFlag("field", *field); err != nil {
		return err
	}
	if verb == "undo" {
		if *value != "" {
			return badInput("--value не нужен для отмены: отменяется последнее подтверждение или исправление поля")
		}
		_, st, done, err := openOps(e, *f.data, false)
		if err != nil {
			return err
		}
		defer done()
		fixes, err := st.Corrections(ref)
		if err != nil {
			return err
		}
		var last *ops.Correction
		for i := range fixes {
			if fixes[i].Field == *field {
				last = &fixes[i]
			}
		}
		if last == nil {
			return badInput("у поля %s страницы %d нет подтверждений или исправлений, которые можно отменить", *field, ref.Seq)
		}
		p, err := st.UndoReview(*f.user, ref, last.Seq)
		if err != nil {
			return opErr(err)
		}
		fmt.Fprintf(e.stdout, "Поле %s: отменено «%s» (%s), восстановлено «%s» (%s).\n", *field, last.After, last.Actor, last.Before, pageSummary(p))
		return nil
	}
	switch {
	case verb == "correct" && *value == "":
		return badInput("missing --value: укажите значение с листа")
	case verb == "confirm" && *value != "":
		return badInput("--value не нужен для подтверждения; чтобы исправить значение, используйте station review correct")
	}
	_, st, done, err := openOps(e, *f.data, false)
	if err != nil {
		return err
	}
	defer done()
	p, err := st.ReviewField(*f.user, ref, *field, *value)
	if err != nil {
		return opErr(err)
	}
	left := "значений на проверке больше нет"
	if p.Result.NeedsReview {
		left = "ещё на проверке: " + strings.Join(p.Result.Review, ", ")
	}
	fmt.Fprintf(e.stdout, "Поле %s: %s записано (%s; %s).\n", *field, map[string]string{"confirm": "подтверждение", "correct": "исправление"}[verb], pageSummary(p), left)
	return nil
}

func runForm1302(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] != "confirm" {
		fmt.Fprintln(e.stderr, form1302Usage)
		return badInput("укажите действие confirm")
	}
	f := newFixFlags("form1302 confirm")
	var sets, rows listFlag
	f.fs.Var(&sets, "set", "`FIELD=N`: the value of a form field on paper (repeat for each field to confirm or correct)")
	f.fs.Var(&rows, "row", "`AUD=listed,present,absent,removed,unfinished,bo1,bo2s1,bo2s2,dbo2,defective`: a typed row (repeat per auditorium)")
	ref, err := f.parse(e, form1302Usage, args[1:], false)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	fromScan := *f.page != ""
	if fromScan == (len(rows) > 0) {
		return badInput("укажите либо страницу распознанной формы (--auditorium и --page), либо строки формы (--row), но не то и другое")
	}
	set := map[string]string{}
	for _, s := range sets {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return badInput("--set %q: нужно ПОЛЕ=ЧИСЛО, например row03.present=14", s)
		}
		set[k] = v
	}
	typed := map[string]reconcile.Counts{}
	for _, r := range rows {
		aud, vals, ok := strings.Cut(r, "=")
		if !ok {
			return badInput("--row %q: нужно АУДИТОРИЯ=10 чисел через запятую", r)
		}
		if aud, err = parseAuditorium(aud); err != nil {
			return badInput("--row %q: номер аудитории — 4 цифры", r)
		}
		c, err := ops.ParseCounts(vals)
		if err != nil {
			return opErr(err)
		}
		typed[aud] = c
	}
	if fromScan {
		if ref.Auditorium == "" {
			return badInput("missing --auditorium: укажите аудиторию, в пачке которой отсканирована форма")
		}
		if ref.Seq, err = parseCount("page", *f.page, 999999); err != nil {
			return err
		}
	} else if len(sets) > 0 {
		return badInput("--set относится к распознанной форме: укажите --page или уберите --set")
	}
	o, _, done, err := openOps(e, *f.data, false)
	if err != nil {
		return err
	}
	defer done()
	var form store.Form1302
	if fromScan {
		form, err = o.ConfirmForm1302(*f.user, ref, set)
	} else {
		form, err = o.EnterForm1302(*f.user, ref.PPE, typed)
	}
	if err != nil {
		return opErr(err)
	}
	auds := make([]string, 0, len(form.Rows))
	for a := range form.Rows {
		auds = append(auds, a)
	}
	sort.Strings(auds)
	fmt.Fprintf(e.stdout, "Значения ППЭ-13-02-МАШ для ППЭ %s подтверждены (%s), аудитории: %s. Проверьте отчёт: station report\n",
		form.PPE, form.By, strings.Join(auds, ", "))
	return nil
}

func runAuditorium(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || (args[0] != "close" && args[0] != "reopen") {
		fmt.Fprintln(e.stderr, auditoriumUsage)
		return badInput("укажите действие close или reopen")
	}
	verb := args[0]
	f := newFixFlags("auditorium " + verb)
	ref, err := f.parsePlace(e, auditoriumUsage, args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	_, st, done, err := openOps(e, *f.data, false)
	if err != nil {
		return err
	}
	defer done()
	if verb == "reopen" {
		role, err := st.RoleOf(*f.user)
		if err != nil {
			return err
		}
		r, err := st.Reopen(*f.user, role, ref.Place, *f.reason)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Аудитория %s ППЭ %s открыта заново (закрыта была %s, %s); причина записана: %s. После исправлений закройте её снова: соберётся новая версия пакета.\n",
			ref.Auditorium, ref.PPE, r.Closed.By, r.Closed.At.Local().Format("02.01.2006 15:04"), r.Reason)
		return nil
	}
	cl, err := st.CloseAuditorium(ctx, *f.user, ref.Place, *f.reason)
	if err != nil {
		return opErr(err)
	}
	c := cl.Closure
	if c.Reason != "" {
		fmt.Fprintf(e.stdout, "Аудитория %s ППЭ %s закрыта с проблемами; причина записана: %s\n", c.Place.Auditorium, c.Place.PPE, c.Reason)
	} else {
		fmt.Fprintf(e.stdout, "Аудитория %s ППЭ %s закрыта: проблем нет.\n", c.Place.Auditorium, c.Place.PPE)
	}
	switch {
	case cl.SealErr != nil:
		fmt.Fprintf(e.stdout, "Пакет аудитории пока не запечатан: %v. Станция запечатает его сама, когда причина будет устранена.\n", cl.SealErr)
	case cl.Sealed.Reused:
		fmt.Fprintf(e.stdout, "Пакет %s уже запечатан, его страницы не изменились.\n", cl.Sealed.Manifest.Name())
	default:
		fmt.Fprintf(e.stdout, "Пакет %s запечатан: %d стр., %d байт.\n", cl.Sealed.Manifest.Name(), len(cl.Sealed.Manifest.Pages), cl.Sealed.Size)
	}
	return nil
}
