package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"giascan/atomicfile"
	"giascan/forms"
	"giascan/hardware/sim"
	"giascan/station"
	"giascan/station/audit"
	"giascan/station/ops"
	"giascan/station/reconcile"
	"giascan/station/store"
	"giascan/station/users"

	"filippo.io/age"
)

func init() {
	register(&command{
		name:    "demo",
		local:   true,
		summary: "show the station at work with no hardware: import a demo exam, print its blanks, scan an auditorium with the simulated ADF, reconcile",
		run:     runDemo,
	})
}

// typeNames are the Russian short names of the page types, as operators say them.
var typeNames = map[string]string{
	forms.TypeBO1:       "БО №1",
	forms.TypeBO2Sheet1: "БО №2 лист 1",
	forms.TypeBO2Sheet2: "БО №2 лист 2",
	forms.TypeDBO2:      "ДБО №2",
	forms.TypePPE1302:   "ППЭ-13-02-МАШ",
	forms.TypePPE18:     "ППЭ-18-МАШ",
	forms.TypePPE15:     "ППЭ-15",
}

// demoMarker marks a data folder the demo made, so that a re-run may
// start it afresh without ever wiping a real station's data.
const demoMarker = ".station-demo"

func runDemo(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("demo")
	data := addDataFlag(fs)
	seed := fs.String("seed", "2025", "seed of the simulated stack")
	profile := fs.String("profile", "real", "scan quality: clean, real or hard")
	serve := fs.String("serve", "", "after the demo, serve the web interface on this `address` (e.g. 127.0.0.1:8080) until interrupted")
	if _, err := parseFlags(fs, args); err != nil {
		return helpOrError(e, fs, err)
	}
	s, err := strconv.ParseInt(*seed, 10, 64)
	if err != nil {
		return badInput("--seed %q is not a whole number", *seed)
	}
	prof, err := sim.ParseProfile(*profile)
	if err != nil {
		return badInput("--profile: %v", err)
	}
	sheets, n := demoStack(s)
	if n == 0 {
		return badInput("--seed %d: the simulated stack has no single-auditorium start; try another seed", s)
	}
	if err := freshDemoFolder(*data); err != nil {
		return err
	}
	first := sheets[0].ID
	out := e.stdout
	fmt.Fprintf(out, "Станция сканирования — демонстрация без оборудования\nДанные станции: %s\n\n", *data)

	// The browser's training stack: a second auditorium of the same ППЭ,
	// left for the newcomer to scan.
	tr, err := demoTrainer(s, prof, sheets)
	if err != nil {
		return err
	}

	// 1. The exam file, as the РЦОИ would send it, imported whole.
	examFile := filepath.Join(*data, "exam.json")
	if err := writeDemoExam(examFile, sheets, tr.auditorium, tr.kits); err != nil {
		return err
	}
	quiet := &env{stdout: io.Discard, stderr: io.Discard, stdin: e.stdin}
	if err := runExam(ctx, quiet, []string{"import", "--data", *data, examFile}); err != nil {
		return fmt.Errorf("import the demo exam: %w", err)
	}
	fmt.Fprintf(out, "1. Импортирован экзамен (%s): %s, %s.%s.%s, ППЭ %s, аудитории %s и %s\n", examFile, forms.Subjects[first.Subject],
		first.Date[6:8], first.Date[4:6], first.Date[0:4], first.PPE, first.Auditorium, tr.auditorium)

	// The station's key, and a training РЦОИ's encryption key kept beside
	// the data, so that closing seals a package the newcomer can open.
	fp, rcoiKey, err := demoKeys(*data)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "   Ключ станции создан (отпечаток %s); пакеты шифруются для учебного РЦОИ, его ключ: %s\n", fp, rcoiKey)

	// 2. Printed blanks of the auditorium.
	kitsPDF, formPDF := filepath.Join(*data, "print", "kits.pdf"), filepath.Join(*data, "print", "ppe-13-02-mash.pdf")
	if err := os.MkdirAll(filepath.Dir(kitsPDF), 0o755); err != nil {
		return fmt.Errorf("demo print folder: %w", err)
	}
	if err := printDemoBlanks(ctx, e, *data, first, kitsPDF, formPDF); err != nil {
		return err
	}
	fmt.Fprintf(out, "2. Напечатаны комплекты бланков: %s\n   и форма ППЭ-13-02-МАШ: %s\n\n", kitsPDF, formPDF)

	// 3. The auditorium's stack through the simulated ADF, with a jam, a
	// double feed and one лист 2 lost on the way to the scanner.
	drop := 0
	for i, sh := range sheets {
		if sh.ID.Type == forms.TypeBO2Sheet2 && i > n/2 {
			drop = i + 1
			break
		}
	}
	device := fmt.Sprintf("sim:seed=%d,count=%d,profile=%s,jam=%d,double=%d", s, n, prof, n/3, 2*n/3)
	if drop > 0 {
		device += fmt.Sprintf(",drop=%d", drop)
	}
	fmt.Fprintf(out, "3. Сканирование аудитории %s: симулятор сканера с автоподатчиком, %d листов в лотке\n", first.Auditorium, n)
	scanEnv := &env{stdout: io.Discard, stderr: &indent{w: out}, stdin: e.stdin}
	if err := runScan(ctx, scanEnv, []string{"--data", *data, "--ppe", first.PPE, "--auditorium", first.Auditorium,
		"--device", device, "--on-fault", "continue"}); err != nil {
		return fmt.Errorf("demo scan: %w", err)
	}
	place := store.Place{PPE: first.PPE, Auditorium: first.Auditorium}
	o, _, closeOps, err := openOps(e, *data, false)
	if err != nil {
		return err
	}
	pages, err := o.St.Pages(place)
	if err != nil {
		closeOps()
		return err
	}
	fmt.Fprintln(out)
	form := 0
	for _, p := range pages {
		fmt.Fprintln(out, "   "+demoPageLine(p))
		if p.Result != nil && p.Result.Type == forms.TypePPE1302 {
			form = p.Seq
		}
	}

	// 4. The head confirms ППЭ-13-02-МАШ from its scan when every digit
	// was read with certainty; otherwise a person types the doubtful ones.
	fmt.Fprintln(out)
	if form > 0 {
		ref := store.Ref{Place: place, Seq: form}
		typed := demoHeaderFields(o, ref, first)
		confirmed, err := o.ConfirmForm1302("demo", ref, typed)
		if err == nil {
			// The paper form lists every auditorium of the ППЭ; the
			// simulated scan was drawn before the training one was added.
			rows := maps.Clone(confirmed.Rows)
			rows[tr.auditorium] = tr.row
			_, err = o.EnterForm1302("demo", place.PPE, rows)
		}
		switch {
		case err == nil && len(typed) > 0:
			fmt.Fprintf(out, "4. ППЭ-13-02-МАШ (страница %d): руководитель сверил с бумажной формой сомнительные поля %v и подтвердил значения; строку учебной аудитории %s он вписал с бумажной формы.\n", form, sortedKeys(typed), tr.auditorium)
		case err == nil:
			fmt.Fprintf(out, "4. Все цифры ППЭ-13-02-МАШ (страница %d) прочитаны уверенно; значения подтверждены, строка учебной аудитории %s вписана с бумажной формы.\n", form, tr.auditorium)
		case ops.IsInput(err):
			fmt.Fprintf(out, "4. ППЭ-13-02-МАШ (страница %d) ждёт руководителя: %v.\n   Команда: bin/station form1302 confirm --data %s --ppe %s --auditorium %s --page %d --set ПОЛЕ=ЧИСЛО …\n",
				form, err, *data, place.PPE, place.Auditorium, form)
		default:
			closeOps()
			return err
		}
	}
	closeOps()

	// 5. The reconciliation report, as `station report` prints it.
	fmt.Fprintln(out, "\n5. Сверка (station report):")
	if err := runReport(ctx, &env{stdout: &indent{w: out}, stderr: e.stderr}, []string{"--data", *data}); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nЧто дальше — в браузере, под учётной записью нужной роли:\n")
	fmt.Fprintf(out, "  • оператор: «Сканирование», аудитория %s/%s, сканер «%s» — пачка этого экзамена с замятием, двойной подачей и потерянным листом;\n",
		first.PPE, tr.auditorium, tr.name)
	fmt.Fprintf(out, "    затем страница аудитории (проблемы и исправления), «Проверка» (значения для проверки), закрытие аудитории;\n")
	fmt.Fprintf(out, "  • руководитель: «Печать» (комплекты, ДБО, формы), ППЭ-13-02-МАШ, протокол ППЭ-15 — просмотр и подпись, «Журнал»;\n")
	fmt.Fprintf(out, "  • администратор: «Учётные записи», «РЦОИ и ключи»; доставка пакетов — страница ППЭ «Доставка в РЦОИ».\n")
	fmt.Fprintf(out, "Для администраторов и скриптов то же есть в командной строке:\n")
	fmt.Fprintf(out, "  • напечатанные комплекты: %s; сканы — в %s (распознать заново: bin/station recognize %s)\n", kitsPDF, filepath.Join(*data, "pages"), filepath.Join(*data, "pages"))
	fmt.Fprintf(out, "  • bin/station page --help, bin/station review --help, bin/station auditorium close --data %s --ppe %s --auditorium %s --reason «…»\n", *data, place.PPE, place.Auditorium)
	fmt.Fprintf(out, "  • журнал: bin/station audit show --data %s; проверка цепочки: bin/station audit verify --data %s\n", *data, *data)
	fmt.Fprintf(out, "  • свой тестовый набор сканов с эталоном: bin/station testscan --out /tmp/corpus --count 100 --seed 7 --profile hard\n")
	if *serve == "" {
		return nil
	}
	return serveDemo(ctx, e, *data, *serve, tr.spec)
}

// demoKeys makes the station's key and a training РЦОИ's age identity,
// whose recipient the station encrypts to. It returns the station key's
// fingerprint and the identity's file.
func demoKeys(data string) (string, string, error) {
	app, err := station.Open(data, station.Options{Logger: quietLogger})
	if err != nil {
		return "", "", err
	}
	defer app.Close()
	k, err := app.CreateStationKey(audit.Station)
	if err != nil {
		return "", "", fmt.Errorf("demo station key: %w", err)
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return "", "", err
	}
	file := filepath.Join(data, "demo-rcoi", "identity.txt")
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return "", "", err
	}
	if err := atomicfile.WriteFile(file, []byte(id.String()+"\n"), 0o600); err != nil {
		return "", "", err
	}
	if _, err := app.ImportRecipients(audit.Station, strings.NewReader(id.Recipient().String()+"\n")); err != nil {
		return "", "", err
	}
	return k.Fingerprint, file, nil
}

// serveDemo creates one account per role with a fresh random password —
// the station has no default password — and serves the web interface.
func serveDemo(ctx context.Context, e *env, data, addr, trainer string) error {
	db := users.Open(data)
	fmt.Fprintf(e.stdout, "\nВеб-интерфейс станции: http://%s/  (остановить: Ctrl+C)\nДемонстрационные учётные записи (пароли созданы случайно для этого запуска):\n", addr)
	for _, role := range users.Roles {
		pw, err := randomPassword()
		if err != nil {
			return err
		}
		login := "demo-" + string(role)
		if _, err := db.Add(login, role, pw, time.Now()); err != nil {
			return fmt.Errorf("demo account %s: %w", login, err)
		}
		fmt.Fprintf(e.stdout, "  %-16s %s  (%s)\n", login, pw, role)
	}
	return runServe(ctx, e, []string{"--data", data, "--listen", addr, "--device", trainer})
}

// randomPassword makes a 14-character password from an alphabet without
// look-alike characters, so it can be typed from the terminal.
func randomPassword() (string, error) {
	const alphabet = "abcdefghjkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXY346789"
	b := make([]byte, 14)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random password: %w", err)
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b), nil
}

// demoHeaderFields plays the head of the ППЭ checking the doubtful header
// fields of ППЭ-13-02-МАШ against the paper: in the demo the paper says
// what the exam says. Doubtful table cells are left for a person.
func demoHeaderFields(o *ops.Ops, ref store.Ref, id forms.Identity) map[string]string {
	f, err := o.FormOf(ref, nil)
	if err != nil {
		return nil
	}
	paper := map[string]string{"region": id.Region, "ppe": id.PPE, "subject": id.Subject,
		"date": id.Date[6:8] + id.Date[4:6] + id.Date[2:4]}
	typed := map[string]string{}
	for _, field := range f.Uncertain {
		v, ok := paper[field]
		if !ok {
			return nil
		}
		typed[field] = v
	}
	return typed
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// freshDemoFolder empties a data folder the demo made before, and refuses
// a folder with other content: a real station's data is never wiped.
func freshDemoFolder(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return badInput("--data %s: %v", dir, err)
	case len(entries) == 0:
	default:
		if _, err := os.Stat(filepath.Join(dir, demoMarker)); err != nil {
			return badInput("--data %s: папка не пуста и создана не демонстрацией; укажите пустую или новую папку", dir)
		}
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("clear the previous demo: %w", err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return badInput("--data %s: %v", dir, err)
	}
	return os.WriteFile(filepath.Join(dir, demoMarker), []byte("made by `station demo`, which may replace this folder\n"), 0o644)
}

// demoStack picks the longest simulated stack (up to 36 sheets) that holds
// exactly one auditorium and the ППЭ forms, so one scan covers it all.
func demoStack(seed int64) ([]sim.Sheet, int) {
	var best []sim.Sheet
	for n := 10; n <= 36; n++ {
		sheets, err := sim.Plan(seed, n)
		if err != nil {
			break
		}
		auds := map[string]bool{}
		for _, sh := range sheets {
			if sh.ID.Auditorium != "0000" {
				auds[sh.ID.Auditorium] = true
			}
			if sh.ID.PPE != sheets[0].ID.PPE {
				auds["other ППЭ"] = true
			}
		}
		if len(auds) == 1 {
			best = sheets
		}
	}
	return best, len(best)
}

// demoPageLine is one stored page as the operator sees it.
func demoPageLine(p store.Page) string {
	if p.Result == nil {
		return fmt.Sprintf("стр. %3d  ещё не распознана", p.Seq)
	}
	r := p.Result
	kind := typeNames[r.Type]
	if kind == "" {
		kind = "не опознана"
	}
	kit := ""
	if r.Context.Kit != "" && r.Context.Kit != forms.NoKit {
		kit = "ИК " + r.Context.Kit
	}
	verdict := "✓"
	switch {
	case r.Error != "":
		verdict = "не прочитана: " + r.Error
	case r.NeedsReview:
		verdict = fmt.Sprintf("на проверку: %v", r.Review)
	}
	return fmt.Sprintf("стр. %3d  %-14s %-13s %-13s %s", p.Seq, kind, r.Barcode, kit, verdict)
}

// indent prefixes every line written through it, to set a command's
// output inside the demo's own.
type indent struct {
	w   io.Writer
	mid bool
}

func (in *indent) Write(p []byte) (int, error) {
	for _, line := range bytes.SplitAfter(p, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		if !in.mid {
			if _, err := io.WriteString(in.w, "   "); err != nil {
				return 0, err
			}
		}
		if _, err := in.w.Write(line); err != nil {
			return 0, err
		}
		in.mid = line[len(line)-1] != '\n'
	}
	return len(p), nil
}

// writeDemoExam writes the exam file (exam.md) of the simulated stack's
// first ППЭ: its auditoriums and the kits planned for them, and the
// training auditorium with its kits.
func writeDemoExam(path string, sheets []sim.Sheet, trainerAud string, trainerKits []string) error {
	type aud struct {
		Number string   `json:"number"`
		Kits   []string `json:"kits,omitempty"`
	}
	type ppe struct {
		Code        string `json:"code"`
		Auditoriums []aud  `json:"auditoriums"`
	}
	first := sheets[0].ID
	exam := struct {
		Level   int    `json:"level"`
		Subject string `json:"subject"`
		Date    string `json:"date"`
		Region  string `json:"region"`
		PPE     []ppe  `json:"ppe"`
	}{Level: first.Level, Subject: first.Subject, Region: first.Region,
		Date: first.Date[0:4] + "-" + first.Date[4:6] + "-" + first.Date[6:8]}
	p := ppe{Code: first.PPE}
	index := map[string]int{}
	for _, s := range sheets {
		id := s.ID
		if id.PPE != first.PPE || id.Auditorium == "0000" {
			continue
		}
		i, ok := index[id.Auditorium]
		if !ok {
			i = len(p.Auditoriums)
			index[id.Auditorium] = i
			p.Auditoriums = append(p.Auditoriums, aud{Number: id.Auditorium})
		}
		if id.Type == forms.TypeBO1 {
			p.Auditoriums[i].Kits = append(p.Auditoriums[i].Kits, id.Kit)
		}
	}
	p.Auditoriums = append(p.Auditoriums, aud{Number: trainerAud, Kits: trainerKits})
	exam.PPE = []ppe{p}
	b, err := json.MarshalIndent(exam, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(filepath.Dir(path), filepath.Base(path), append(b, '\n'))
}

// printDemoBlanks prints kits for the demo auditorium and a blank
// ППЭ-13-02-МАШ with the station's own print command.
func printDemoBlanks(ctx context.Context, e *env, data string, id forms.Identity, kits, form string) error {
	date := id.Date[0:4] + "-" + id.Date[4:6] + "-" + id.Date[6:8]
	common := []string{"--data", data, "--level", strconv.Itoa(id.Level), "--region", id.Region,
		"--ppe", id.PPE, "--subject", id.Subject, "--date", date}
	quiet := &env{stdout: io.Discard, stderr: io.Discard, stdin: e.stdin}
	if err := runPrint(ctx, quiet, append([]string{"kits", "--auditorium", id.Auditorium, "--count", "3", "--out", kits}, common...)); err != nil {
		return fmt.Errorf("print demo kits: %w", err)
	}
	if err := runPrint(ctx, quiet, append([]string{"form", "51", "--out", form}, common...)); err != nil {
		return fmt.Errorf("print demo form: %w", err)
	}
	return nil
}

// demoTraining is the browser's training stack of the demo.
type demoTraining struct {
	spec       string // the scanner spec the scanning screen offers
	name       string // as the screen names it
	auditorium string
	kits       []string         // its seating plan
	row        reconcile.Counts // its row of the paper ППЭ-13-02-МАШ
}

// demoTrainer makes the browser's training stack: one auditorium of five
// participants of the demo's ППЭ, printed for the demo exam with kit
// numbers following the demo stack's, fed with a paper jam, a double feed
// and one лист 2 lost on the way to the scanner. Every page belongs to
// the demo exam, so what the newcomer sees flagged is what was planted.
func demoTrainer(seed int64, prof sim.Profile, sheets []sim.Sheet) (demoTraining, error) {
	first := sheets[0].ID
	num, _ := strconv.Atoi(first.Auditorium)
	tr := demoTraining{auditorium: fmt.Sprintf("%04d", num%60+1)}
	var lastKit uint64
	for _, sh := range sheets {
		if k, err := strconv.ParseUint(sh.ID.Kit, 10, 64); err == nil && k > lastKit {
			lastKit = k
		}
	}
	base := fmt.Sprintf("seed=%d,shape=1x5,profile=%s,exam=%d-%s-%s-%s-%s,auditorium=%s,kit=%010d",
		seed+1, prof, first.Level, first.Region, first.PPE, first.Subject, first.Date, tr.auditorium, lastKit+1)
	stack, err := sim.Open(base)
	if err != nil {
		return tr, fmt.Errorf("demo training stack: %w", err)
	}
	planned := stack.Sheets()
	drop := 0
	for i, sh := range planned {
		switch sh.ID.Type {
		case forms.TypeBO1:
			tr.kits = append(tr.kits, sh.ID.Kit)
			tr.row.BO1++
			removed, unfinished := sh.Marks()
			if removed {
				tr.row.Removed++
			}
			if unfinished {
				tr.row.Unfinished++
			}
		case forms.TypeBO2Sheet1:
			tr.row.BO2S1++
		case forms.TypeBO2Sheet2:
			tr.row.BO2S2++
		case forms.TypeDBO2:
			tr.row.DBO2++
		}
		if drop == 0 && sh.ID.Type == forms.TypeBO2Sheet2 && i > len(planned)/2 {
			drop = i + 1
		}
	}
	if drop == 0 {
		return tr, fmt.Errorf("demo training stack %s: no лист 2 to lose", base)
	}
	tr.row.Listed, tr.row.Present = len(tr.kits), len(tr.kits)
	tr.spec = fmt.Sprintf("sim:%s,jam=%d,double=%d,drop=%d", base, len(planned)/4, len(planned)/2, drop)
	tr.name = trainerLabel(tr.auditorium)
	return tr, nil
}

// trainerLabel is how the scanning screen names the demo's training
// stack (see the web interface's names of simulated stacks).
func trainerLabel(aud string) string {
	return "Учебная пачка аудитории " + aud + " (имитатор сканера: замятие, двойная подача, потерянный лист)"
}
