package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"giascan/forms"
	"giascan/hardware"
	"giascan/hardware/sim"
	"giascan/recognition"
	"giascan/recognition/imagein"
	"giascan/scanner"
	"giascan/station/audit"
	"giascan/station/store"
)

func init() {
	register(&command{
		name:    "scan",
		summary: "scan one auditorium's stack into the data folder: one JSON line per stored page",
		run:     runScan,
	})
}

const scanUsage = "usage: station scan [--data DIR] --ppe P --auditorium A --device sim|sim:ARGS|sane:NAME|folder:PATH [--source ADF|Duplex] [--dpi N] [--mode gray|color|lineart] [--workers N] [--on-fault ask|stop|continue]"

// Audit actions of a scan session besides those audit names.
const (
	actionPageStore    = "page.store"      // a scanned page became durable
	actionDeviceFault  = "device.fault"    // the scanner reported an event
	actionStoreRecover = "store.recovered" // Open cleaned up after a crash or found damage
)

// progressEvery is how often (in pages) progress goes to stderr.
const progressEvery = 25

// scanArgs are the checked flags of a scan.
type scanArgs struct {
	data    string
	place   store.Place
	device  string
	opts    hardware.Options
	workers int
	onFault string
}

func parseScanArgs(e *env, args []string) (*scanArgs, error) {
	fs := newFlagSet("scan")
	data := addDataFlag(fs)
	ppe := fs.String("ppe", "", "ППЭ code, 4 digits")
	aud := fs.String("auditorium", "", "auditorium number, 4 digits")
	device := fs.String("device", "", "scanner: sim, sim:ARGS, sane:NAME or folder:PATH")
	source := fs.String("source", string(hardware.ADF), "paper source: ADF or Duplex")
	dpi := fs.String("dpi", "", "resolution in dpi (default: the device's)")
	mode := fs.String("mode", "", "scan mode: gray, color or lineart (default: the device's)")
	workers := fs.String("workers", "", "pages recognised in parallel (default: the number of CPUs)")
	onFault := fs.String("on-fault", "ask", "after a jam or other device event: ask (wait for Enter), stop, or continue at once")
	pos, err := parseFlags(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(e.stdout, scanUsage)
		flagUsage(e.stdout, fs)
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	if len(pos) > 0 {
		return nil, badInput("unexpected argument %q", pos[0])
	}
	a := &scanArgs{data: *data, onFault: *onFault, workers: runtime.NumCPU()}
	if err := checkDataDir(a.data); err != nil {
		return nil, err
	}
	if a.place.PPE, err = parsePPE(*ppe); err != nil {
		return nil, err
	}
	if a.place.Auditorium, err = parseAuditorium(*aud); err != nil {
		return nil, err
	}
	if a.device, err = checkDevice(*device); err != nil {
		return nil, err
	}
	switch hardware.Source(*source) {
	case hardware.ADF, hardware.Duplex:
		a.opts.Source = hardware.Source(*source)
	default:
		return nil, badInput("--source %q: want ADF (лицевые стороны) or Duplex (обе стороны)", *source)
	}
	if *dpi != "" {
		if a.opts.DPI, err = parseCount("dpi", *dpi, 1200); err != nil {
			return nil, err
		}
	}
	switch *mode {
	case "", sim.ModeGray, sim.ModeColor, sim.ModeLineart:
		a.opts.Mode = *mode
	default:
		return nil, badInput("--mode %q: want gray, color or lineart", *mode)
	}
	if *workers != "" {
		if a.workers, err = parseCount("workers", *workers, maxWorkers); err != nil {
			return nil, err
		}
	}
	switch a.onFault {
	case "ask", "stop", "continue":
	default:
		return nil, badInput("--on-fault %q: want ask, stop or continue", a.onFault)
	}
	return a, nil
}

// checkDevice checks a --device spec before anything is opened: a known
// adapter and, for a folder, a folder that exists.
func checkDevice(spec string) (string, error) {
	if spec == "" {
		return "", badInput("не указан сканер: добавьте --device sim, --device sane:ИМЯ или --device folder:ПАПКА")
	}
	name, arg, _ := strings.Cut(spec, ":")
	if !slices.Contains(hardware.Adapters(), name) {
		return "", badInput("--device %s: неизвестное устройство %q; укажите одно из: %s", spec, name, strings.Join(hardware.Adapters(), ", "))
	}
	if name == "folder" {
		fi, err := os.Stat(arg)
		if arg == "" || err != nil || !fi.IsDir() {
			return "", badInput("--device %s: папки %q нет; укажите существующую папку со сканами", spec, arg)
		}
	}
	return spec, nil
}

// scanLine is the stdout line of a stored page.
type scanLine struct {
	Seq     int    `json:"seq"`
	SHA256  string `json:"sha256"`
	Barcode string `json:"barcode"`
}

func runScan(ctx context.Context, e *env, args []string) error {
	a, err := parseScanArgs(e, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	// Nothing is written until the exam and the place are known good: a
	// scan of the wrong auditorium must not leave a store behind.
	if !store.Exists(a.data) {
		return badInput("%s (папка данных %s)", store.ErrNoExam, a.data)
	}
	st, err := store.Open(a.data)
	if err != nil {
		return err
	}
	defer st.Close()
	ex, err := st.Exam()
	if errors.Is(err, store.ErrNoExam) {
		return badInput("%s (папка данных %s)", store.ErrNoExam, a.data)
	}
	if err != nil {
		return err
	}
	if ex.FindAuditorium(a.place.PPE, a.place.Auditorium) == nil {
		var known []string
		for _, p := range ex.PPE {
			for _, x := range p.Auditoriums {
				known = append(known, p.Code+"/"+x.Number)
			}
		}
		return badInput("ППЭ %s, аудитории %s нет в импортированном экзамене (есть: %s): проверьте --ppe и --auditorium или импортируйте исправленный файл экзамена",
			a.place.PPE, a.place.Auditorium, strings.Join(known, ", "))
	}
	stored, err := st.Pages(a.place)
	if err != nil {
		return err
	}
	dev, err := openDevice(a.device, len(stored), a.opts.Source)
	if err != nil {
		return badInput("--device %s: %v", a.device, err)
	}
	rc, err := newRecognizer()
	if err != nil {
		return err
	}
	log, err := audit.Open(a.data)
	if err != nil {
		return fmt.Errorf("журнал аудита не открывается: %w; обратитесь к техническому специалисту", err)
	}
	defer log.Close()

	r := &scanRun{e: e, a: a, st: st, log: log, rc: rc, dev: dev, start: time.Now()}
	return r.run(ctx, len(stored))
}

// scanRun is one `station scan` from start to summary.
type scanRun struct {
	e     *env
	a     *scanArgs
	st    *store.Store
	log   *audit.Log
	rc    *recognition.Recognizer
	dev   hardware.Scanner
	start time.Time

	session string
	pool    *scanner.Pool[store.Page]
	outMu   sync.Mutex
	newSeqs int
	enter   chan error    // Enter presses on stdin, after a device event
	done    chan struct{} // closed when the run ends
}

func (r *scanRun) say(format string, args ...any) {
	r.outMu.Lock()
	defer r.outMu.Unlock()
	fmt.Fprintf(r.e.stderr, format+"\n", args...)
}

func (r *scanRun) subject(page int) audit.Subject {
	return audit.Subject{PPE: r.a.place.PPE, Auditorium: r.a.place.Auditorium, Session: r.session, Page: page}
}

func jsonOf(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

func (r *scanRun) run(ctx context.Context, already int) error {
	place, dev := r.a.place, r.dev.Device()
	r.done = make(chan struct{})
	defer close(r.done)
	r.session = fmt.Sprintf("%s-%s-%s", time.Now().UTC().Format("20060102T150405.000"), place.PPE, place.Auditorium)

	// A session still on record was cut short (power loss, kill): say so
	// in the audit log before this one starts.
	prev, err := r.st.BeginSession(store.Session{ID: r.session, Place: place, Device: dev.ID, Started: r.start.UTC()})
	if err != nil {
		return err
	}
	if prev != nil {
		if _, err := r.log.Append(audit.Event{Actor: audit.Station, Action: audit.ActionSessionAbort,
			Subject: audit.Subject{PPE: prev.Place.PPE, Auditorium: prev.Place.Auditorium, Session: prev.ID},
			Reason:  "сеанс не завершён: станция была остановлена аварийно"}); err != nil {
			return err
		}
	}
	if rec := r.st.Recovery(); len(rec.TempsRemoved)+len(rec.Orphans)+len(rec.Damaged) > 0 {
		for _, o := range rec.Orphans {
			r.say("Найдено изображение без записи (сбой при сохранении), перенесено в %s; страница будет отсканирована снова", o)
		}
		for _, d := range rec.Damaged {
			r.say("ВНИМАНИЕ: %s; отсканируйте страницу заново", d)
		}
		if _, err := r.log.Append(audit.Event{Actor: audit.Station, Action: actionStoreRecover, After: jsonOf(rec)}); err != nil {
			return err
		}
	}
	if _, err := r.log.Append(audit.Event{Actor: audit.Station, Action: audit.ActionSessionStart, Subject: r.subject(0),
		After: jsonOf(map[string]any{"device": dev.ID, "source": r.a.opts.Source, "dpi": r.a.opts.DPI, "stored_before": already})}); err != nil {
		return err
	}
	r.say("Сканирование: ППЭ %s, аудитория %s, сканер %s. Уже сохранено страниц: %d.", place.PPE, place.Auditorium, dev.Name, already)

	// Recognition works beside the scanner; pages left unread by an
	// earlier run go first.
	r.pool = scanner.NewPool(ctx, r.a.workers, r.recognize)
	defer r.pool.Stop()
	pending, err := r.st.Unrecognised()
	if err != nil {
		return err
	}
	for _, p := range pending {
		r.pool.Add(p)
	}
	if len(pending) > 0 {
		r.say("Распознаются заново страницы, не распознанные до остановки: %d", len(pending))
	}

	sess := scanner.New(r.dev, scanner.SinkFunc(r.store), r.a.opts, r.event)
	err = sess.Run(ctx, r.resume)
	stats := sess.Stats()
	if err != nil {
		reason := err.Error()
		var se *scanner.SinkError
		switch {
		case ctx.Err() != nil:
			err = fmt.Errorf("сканирование прервано; сохранённые страницы на месте, запустите station scan снова, чтобы продолжить")
			reason = "остановлено оператором"
		case errors.As(err, &se):
			err = fmt.Errorf("страница после №%d не сохранена: %w", se.After, se.Err)
		}
		r.log.Append(audit.Event{Actor: audit.Station, Action: audit.ActionSessionAbort, Subject: r.subject(0),
			After: jsonOf(stats), Reason: reason})
		r.st.EndSession()
		return err
	}

	if _, left := r.pool.Progress(); left > 0 {
		r.say("Лоток пуст. Ждём окончания распознавания: осталось страниц %d…", left)
	}
	r.pool.Wait()
	if ctx.Err() != nil {
		r.st.EndSession()
		return fmt.Errorf("распознавание прервано; оно продолжится при следующем запуске station scan")
	}
	sum, err := r.summary(stats)
	if err != nil {
		return err
	}
	if _, err := r.log.Append(audit.Event{Actor: audit.Station, Action: audit.ActionSessionEnd, Subject: r.subject(0), After: jsonOf(sum)}); err != nil {
		return err
	}
	return r.st.EndSession()
}

// store is the session's sink: durable first, then on record, then shown.
func (r *scanRun) store(ctx context.Context, p hardware.Page) (scanner.Stored, error) {
	rec, dup, err := r.st.Add(ctx, r.a.place, p, r.dev.Device().ID)
	if err != nil {
		return scanner.Stored{}, err
	}
	st := scanner.Stored{Seq: rec.Seq, SHA256: rec.SHA256, Duplicate: dup}
	if dup {
		return st, nil
	}
	if _, err := r.log.Append(audit.Event{Actor: audit.Station, Action: actionPageStore, Subject: r.subject(rec.Seq),
		After: jsonOf(map[string]any{"sha256": rec.SHA256, "file": rec.File, "source": rec.Source})}); err != nil {
		return st, fmt.Errorf("страница %d сохранена, но журнал аудита не пишется: %w", rec.Seq, err)
	}
	line, _ := json.Marshal(scanLine{Seq: rec.Seq, SHA256: rec.SHA256})
	r.outMu.Lock()
	_, werr := r.e.stdout.Write(append(line, '\n'))
	r.newSeqs++
	n := r.newSeqs
	r.outMu.Unlock()
	if werr != nil {
		return st, fmt.Errorf("вывод результатов: %w", werr)
	}
	r.pool.Add(rec)
	if n%progressEvery == 0 {
		done, left := r.pool.Progress()
		r.say("Сохранено страниц за сеанс: %d (последняя №%d); распознано %d, в очереди %d", n, rec.Seq, done, left)
	}
	return st, nil
}

// event reports device events and repeated pages to the operator.
func (r *scanRun) event(ev scanner.Event) {
	switch ev.Kind {
	case scanner.PageDuplicate:
		r.say("Лист %s уже сохранён как страница №%d: повторно не сохраняется", ev.Raw.Name, ev.Page.Seq)
	case scanner.DeviceFault:
		r.say("%s", faultMessage(ev.Fault))
		r.log.Append(audit.Event{Actor: audit.Station, Action: actionDeviceFault, Subject: r.subject(0),
			After: jsonOf(map[string]any{"kind": ev.Fault.Kind, "device": ev.Fault.Device, "after": ev.Fault.After})})
	case scanner.FeederEmpty:
		r.say("Лоток сканера пуст.")
	}
}

// faultMessage says what happened and what the operator does about it.
func faultMessage(f *hardware.Fault) string {
	switch f.Kind {
	case hardware.PaperJam:
		return fmt.Sprintf("Замятие бумаги после страницы %d: извлеките лист из сканера и продолжите", f.After)
	case hardware.DoubleFeed:
		return fmt.Sprintf("Подача двух листов сразу после страницы %d: разделите листы, верните их в лоток и продолжите", f.After)
	case hardware.CoverOpen:
		return fmt.Sprintf("Открыта крышка сканера после страницы %d: закройте крышку и продолжите", f.After)
	case hardware.DeviceGone:
		return fmt.Sprintf("Сканер отключился после страницы %d: проверьте кабель и питание, затем продолжите", f.After)
	}
	return fmt.Sprintf("Сканер сообщил «%s» после страницы %d: устраните причину и продолжите", f.Kind, f.After)
}

// resume waits for the operator after a device event, as --on-fault says.
func (r *scanRun) resume(ctx context.Context, f *hardware.Fault) error {
	stop := fmt.Errorf("сканирование остановлено после события «%s»; сохранённые страницы на месте, устраните причину и запустите station scan снова", f.Kind)
	switch r.a.onFault {
	case "continue":
		return nil
	case "stop":
		return stop
	}
	if r.e.stdin == nil {
		return stop
	}
	r.say("Нажмите Enter, чтобы продолжить сканирование (Ctrl+C — остановить).")
	if r.enter == nil {
		// One reader for the whole run, so that no typed line is lost to
		// a buffer. It ends when stdin does; a scan waits for it or for
		// ctx, whichever comes first.
		r.enter = make(chan error)
		go func() {
			br := bufio.NewReader(r.e.stdin)
			for {
				_, err := br.ReadString('\n')
				select {
				case r.enter <- err:
				case <-r.done:
					return
				}
				if err != nil {
					close(r.enter)
					return
				}
			}
		}()
	}
	select {
	case err, ok := <-r.enter:
		if !ok || err != nil {
			return stop
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// recognize reads one stored page and stores what was read with it.
func (r *scanRun) recognize(ctx context.Context, p store.Page) {
	if ctx.Err() != nil {
		return
	}
	start := time.Now()
	res := forms.NewPageResult(p.File, 1)
	data, err := r.st.Image(p)
	if err == nil {
		var doc *imagein.Document
		doc, err = imagein.FromBytes(data, p.File, imagein.Limits{})
		if err == nil {
			m, _, perr := doc.Page(0)
			if perr == nil {
				res = r.rc.Page(m)
				m.Close()
				res.File, res.Page = p.File, 1
			}
			err = perr
			doc.Close()
		}
	}
	if err != nil {
		res.Error = err.Error()
	}
	res.Ms = float64(time.Since(start).Microseconds()) / 1000
	if ctx.Err() != nil {
		return // cut short: the page is read again at the next start
	}
	if err := r.st.SetResult(p.Ref, p.Rev, res); err != nil {
		r.say("Результат распознавания страницы %d не сохранён: %v", p.Seq, err)
	}
}

// scanSummary is what a finished session reports.
type scanSummary struct {
	Stored     int `json:"stored"`
	Duplicates int `json:"duplicates"`
	Faults     int `json:"faults"`
	Total      int `json:"total"`
	Recognised int `json:"recognised"`
	NoBarcode  int `json:"no_barcode"`
	Review     int `json:"needs_review"`
	Errors     int `json:"errors"`
}

func (r *scanRun) summary(stats scanner.Stats) (scanSummary, error) {
	pages, err := r.st.Pages(r.a.place)
	if err != nil {
		return scanSummary{}, err
	}
	s := scanSummary{Stored: stats.Stored, Duplicates: stats.Duplicates, Faults: stats.Faults}
	for _, p := range pages {
		if p.Status != store.Active {
			continue
		}
		s.Total++
		if p.Result == nil {
			continue
		}
		s.Recognised++
		switch {
		case p.Result.Error != "":
			s.Errors++
		case p.Result.Barcode == "":
			s.NoBarcode++
		}
		if p.Result.NeedsReview {
			s.Review++
		}
	}
	r.say("Итог: ППЭ %s, аудитория %s. Сохранено за сеанс: %d, всего в аудитории: %d; повторно поданных листов: %d; событий сканера: %d.",
		r.a.place.PPE, r.a.place.Auditorium, s.Stored, s.Total, s.Duplicates, s.Faults)
	r.say("Распознано: %d; без штрихкода: %d; требуют проверки: %d; не прочитаны: %d. Время: %s.",
		s.Recognised, s.NoBarcode, s.Review, s.Errors, time.Since(r.start).Round(time.Second))
	return s, nil
}

// openDevice opens the scanner of a --device spec. A simulated feeder is
// loaded with the sheets not yet stored, as an operator reloads the stack
// from the first page the station does not have; other devices take the
// stack the operator put in, and pages fed again are recognised by their
// bytes (see store.Add).
func openDevice(spec string, stored int, source hardware.Source) (hardware.Scanner, error) {
	name, arg, _ := strings.Cut(spec, ":")
	if name == "sim" && stored > 0 {
		return openSimTail(arg, stored, source)
	}
	return hardware.Open(spec)
}

// simTail is the simulated feeder's stack without its first pages. The
// simulator's own feeder always starts at the first sheet, so a restarted
// scan would render every stored page again just to find it was stored;
// this feeder renders only what is left. Device events are not simulated
// on a resumed stack.
type simTail struct {
	dev       hardware.Device
	sheets    []sim.Sheet
	set       sim.Settings
	pos       int
	backDue   bool
	delivered int
}

func openSimTail(arg string, stored int, source hardware.Source) (hardware.Scanner, error) {
	full, err := sim.Open(arg) // checks the spec and names the device
	if err != nil {
		return nil, err
	}
	profile := sim.Real
	for _, kv := range strings.Split(arg, ",") {
		if v, ok := strings.CutPrefix(kv, "profile="); ok {
			profile = sim.Profile(v)
		}
	}
	t := &simTail{dev: full.Device(), sheets: full.Sheets(), set: sim.Settings{Profile: profile}, delivered: stored}
	if source == hardware.Duplex {
		t.pos, t.backDue = stored/2, stored%2 == 1
	} else {
		t.pos = stored
	}
	return t, nil
}

// Device describes the simulated scanner.
func (t *simTail) Device() hardware.Device { return t.dev }

// Scan feeds the rest of the stack; see hardware.Scanner.
func (t *simTail) Scan(ctx context.Context, opts hardware.Options, deliver func(hardware.Page) error) error {
	duplex := opts.Source == hardware.Duplex
	set := t.set
	set.DPI, set.Mode = opts.DPI, opts.Mode
	for t.pos < len(t.sheets) {
		if err := ctx.Err(); err != nil {
			return err
		}
		var (
			sc  sim.Scan
			err error
		)
		side := hardware.Front
		if t.backDue {
			side = hardware.Back
			sc, err = sim.RenderBack(t.sheets[t.pos], set)
		} else {
			sc, err = sim.Render(t.sheets[t.pos], set)
		}
		if err != nil {
			return fmt.Errorf("sim: %w", err)
		}
		seq := t.delivered + 1
		page := hardware.Page{Seq: seq, Data: sc.Data, Format: sc.Format, DPI: sc.DPI, Side: side,
			Name: fmt.Sprintf("%04d.%s", seq, sc.Ext)}
		if err := deliver(page); err != nil {
			return err
		}
		t.delivered++
		if duplex && !t.backDue {
			t.backDue = true
		} else {
			t.backDue = false
			t.pos++
		}
	}
	return nil
}
