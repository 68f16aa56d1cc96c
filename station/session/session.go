// Package session runs one scanning session of an auditorium: it opens the
// device, feeds the stack into the station's store with an audit entry per
// page, recognises pages beside the scanner and reports what happens as
// events. The command line (station scan) and the web interface drive the
// same Run.
package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"giascan/forms"
	"giascan/hardware"
	"giascan/recognition"
	"giascan/recognition/imagein"
	"giascan/scanner"
	"giascan/station/audit"
	"giascan/station/exam"
	"giascan/station/reconcile"
	"giascan/station/refusal"
	"giascan/station/store"

	"gocv.io/x/gocv"
)

// progressEvery is how often (in pages) a progress message is reported.
const progressEvery = 25

// Config is what one session works on. Store, Log, Place and Device are
// required; Run does not close Store or Log.
type Config struct {
	Store *store.Store
	Log   *audit.Log
	Place store.Place
	// Device is the scanner spec: sim, sim:ARGS, sane:NAME or folder:PATH.
	Device  string
	Options hardware.Options
	// Workers is how many pages are recognised in parallel; 0 means the
	// number of CPUs.
	Workers int
	// Recognizer reads the pages; nil builds the default one.
	Recognizer *recognition.Recognizer
	// OnFault decides after a device event: nil to go on, an error to end
	// the session with it. A nil OnFault ends the session at the first
	// event with a message saying to start again.
	OnFault func(ctx context.Context, f *hardware.Fault) error
	// Notify receives every event in order from one goroutine at a time;
	// an error it returns for a PageStored event ends the session. Nil
	// drops events.
	Notify func(Event) error
}

// EventKind says what an Event reports.
type EventKind string

// Session events.
const (
	Message     EventKind = "message"   // Text is a sentence for the operator
	PageStored  EventKind = "page"      // Page is durable and on record
	PageRead    EventKind = "read"      // Page was recognised; Page.Result is set
	Duplicate   EventKind = "duplicate" // the device fed a page already stored
	Misplaced   EventKind = "foreign"   // a page read belongs to another auditorium, ППЭ or exam, or repeats a barcode; Text says what to do
	DeviceFault EventKind = "fault"     // the device stopped; Fault and Text say why
	FeederEmpty EventKind = "empty"     // the stack is done
)

// Event is one thing a session reports.
type Event struct {
	Kind  EventKind
	Text  string          // Message, DeviceFault, Duplicate, FeederEmpty: what to tell the operator
	Page  store.Page      // PageStored, PageRead; Duplicate: Seq of the stored page
	Fault *hardware.Fault // DeviceFault
}

// Summary is what a finished session reports.
type Summary struct {
	Stored     int `json:"stored"`
	Duplicates int `json:"duplicates"`
	Faults     int `json:"faults"`
	Total      int `json:"total"`
	Recognised int `json:"recognised"`
	NoBarcode  int `json:"no_barcode"`
	Review     int `json:"needs_review"`
	Errors     int `json:"errors"`
}

// Errors of a session ended by its context.
var (
	ErrInterrupted            = errors.New("сканирование прервано; сохранённые страницы на месте, запустите сканирование снова, чтобы продолжить")
	ErrRecognitionInterrupted = errors.New("распознавание прервано; оно продолжится при следующем запуске сканирования")
)

// InputError is a refusal before anything was written: no exam, a place
// not in the exam, a device that does not open. Its text says what to fix.
type InputError = refusal.Error

func inputError(format string, a ...any) error { return refusal.New("", format, a...) }

// CheckDevice checks a device spec before anything is opened: a known
// adapter and, for a folder, a folder that exists.
func CheckDevice(spec string) error {
	if spec == "" {
		return inputError("не указан сканер: выберите сканер")
	}
	name, _, _ := strings.Cut(spec, ":")
	if !slices.Contains(hardware.Adapters(), name) {
		return inputError("сканер %s: неизвестное устройство %q; укажите одно из: %s", spec, name, strings.Join(hardware.Adapters(), ", "))
	}
	return nil
}

// CheckPlace tells whether the imported exam has the place; its error
// lists the places it has.
func CheckPlace(st *store.Store, place store.Place) error {
	ex, err := st.Exam()
	if errors.Is(err, store.ErrNoExam) {
		return inputError("%s", store.ErrNoExam)
	}
	if err != nil {
		return err
	}
	if ex.FindAuditorium(place.PPE, place.Auditorium) == nil {
		var known []string
		for _, p := range ex.PPE {
			for _, x := range p.Auditoriums {
				known = append(known, p.Code+"/"+x.Number)
			}
		}
		return inputError("ППЭ %s, аудитории %s нет в импортированном экзамене (есть: %s): проверьте ППЭ и аудиторию или импортируйте исправленный файл экзамена",
			place.PPE, place.Auditorium, strings.Join(known, ", "))
	}
	// A closed auditorium is refused before the feeder starts; the store
	// refuses each page again in case it is closed meanwhile.
	if err := st.CheckOpen(place); err != nil {
		var ce *store.ClosedError
		if errors.As(err, &ce) {
			return refusal.Of(ce)
		}
		return err
	}
	return nil
}

// Run checks the place, opens the device and scans the stack until the
// feeder is empty and every page is recognised, ctx is done, or OnFault
// ends it. Refusals before anything is written are *InputError.
func Run(ctx context.Context, cfg Config) (Summary, error) {
	if cfg.Store == nil || cfg.Log == nil {
		return Summary{}, errors.New("session: Store and Log are required")
	}
	// Nothing is written until the exam and the place are known good: a
	// scan of the wrong auditorium must not leave a session behind.
	if err := CheckPlace(cfg.Store, cfg.Place); err != nil {
		return Summary{}, err
	}
	if err := CheckDevice(cfg.Device); err != nil {
		return Summary{}, err
	}
	stored, err := cfg.Store.Pages(cfg.Place)
	if err != nil {
		return Summary{}, err
	}
	spec := deviceSpec(cfg.Device, len(stored))
	dev, err := hardware.Open(spec)
	if err != nil {
		return Summary{}, inputError("сканер %s не открывается: %v", cfg.Device, err)
	}
	if cfg.Recognizer == nil {
		if cfg.Recognizer, err = recognition.NewDefault(); err != nil {
			return Summary{}, err
		}
	}
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.NumCPU()
	}
	r := &run{cfg: cfg, dev: dev, spec: spec, start: time.Now()}
	defer func() { hardware.Close(r.dev) }()
	r.exam, _ = cfg.Store.Exam() // CheckPlace found it
	return r.run(ctx, len(stored))
}

// run is one session from start to summary.
type run struct {
	cfg   Config
	dev   hardware.Scanner // the device now: the one opened, or the one reopened after it went away
	spec  string           // what opened it, and opens it again
	start time.Time
	exam  *exam.Exam // the imported exam, to tell a misplaced sheet at once

	id      string
	pool    *scanner.Pool[store.Page]
	mu      sync.Mutex // serialises Notify
	newSeqs int
}

func (r *run) notify(ev Event) error {
	if r.cfg.Notify == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cfg.Notify(ev)
}

func (r *run) say(format string, args ...any) {
	r.notify(Event{Kind: Message, Text: fmt.Sprintf(format, args...)})
}

func (r *run) subject(page int) audit.Subject {
	return audit.Subject{PPE: r.cfg.Place.PPE, Auditorium: r.cfg.Place.Auditorium, Session: r.id, Page: page}
}

func jsonOf(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

func (r *run) run(ctx context.Context, already int) (Summary, error) {
	st, log, place, dev := r.cfg.Store, r.cfg.Log, r.cfg.Place, r.dev.Device()
	r.id = fmt.Sprintf("%s-%s-%s", time.Now().UTC().Format("20060102T150405.000"), place.PPE, place.Auditorium)

	// A session still on record was cut short (power loss, kill): say so
	// in the audit log before this one starts.
	prev, err := st.BeginSession(store.Session{ID: r.id, Place: place, Device: dev.ID, Started: r.start.UTC()})
	if err != nil {
		return Summary{}, err
	}
	if prev != nil {
		if _, err := log.Append(audit.Event{Actor: audit.Station, Action: audit.ActionSessionAbort,
			Subject: audit.Subject{PPE: prev.Place.PPE, Auditorium: prev.Place.Auditorium, Session: prev.ID},
			Reason:  "сеанс не завершён: станция была остановлена аварийно"}); err != nil {
			return Summary{}, err
		}
	}
	if rec := st.Recovery(); len(rec.TempsRemoved)+len(rec.Orphans)+len(rec.Damaged) > 0 {
		for _, o := range rec.Orphans {
			r.say("Найдено изображение без записи (сбой при сохранении), перенесено в %s; страница будет отсканирована снова", o)
		}
		for _, d := range rec.Damaged {
			r.say("ВНИМАНИЕ: %s; отсканируйте страницу заново", d)
		}
		if _, err := log.Append(audit.Event{Actor: audit.Station, Action: audit.ActionStoreRecover, After: jsonOf(rec)}); err != nil {
			return Summary{}, err
		}
	}
	if _, err := log.Append(audit.Event{Actor: audit.Station, Action: audit.ActionSessionStart, Subject: r.subject(0),
		After: jsonOf(map[string]any{"device": dev.ID, "source": r.cfg.Options.Source, "dpi": r.cfg.Options.DPI, "stored_before": already})}); err != nil {
		return Summary{}, err
	}
	r.say("Сканирование: ППЭ %s, аудитория %s, сканер %s. Уже сохранено страниц: %d.", place.PPE, place.Auditorium, dev.Name, already)

	// Recognition works beside the scanner; pages left unread by an
	// earlier run go first.
	r.pool = scanner.NewPool(ctx, r.cfg.Workers, r.recognize)
	defer r.pool.Stop()
	pending, err := st.Unrecognised()
	if err != nil {
		return Summary{}, err
	}
	for _, p := range pending {
		r.pool.Add(p)
	}
	if len(pending) > 0 {
		r.say("Распознаются заново страницы, не распознанные до остановки: %d", len(pending))
	}

	sess := scanner.New(r.dev, scanner.SinkFunc(r.store), r.cfg.Options, r.event)
	// The pages already stored are the start of the stack: the numbering
	// of faults and pages goes on from them, across reopens too.
	sess.NumberFrom(already)
	sess.ReopenWith(r.reopen)
	err = sess.Run(ctx, r.resume)
	stats := sess.Stats()
	if err != nil {
		reason := err.Error()
		var se *scanner.SinkError
		switch {
		case ctx.Err() != nil:
			err = ErrInterrupted
			reason = "остановлено оператором"
		case errors.As(err, &se):
			err = fmt.Errorf("страница после №%d не сохранена: %w", se.After, se.Err)
		}
		log.Append(audit.Event{Actor: audit.Station, Action: audit.ActionSessionAbort, Subject: r.subject(0),
			After: jsonOf(stats), Reason: reason})
		st.EndSession()
		return Summary{}, err
	}

	if _, left := r.pool.Progress(); left > 0 {
		r.say("Лоток пуст. Ждём окончания распознавания: осталось страниц %d…", left)
	}
	r.pool.Wait()
	if ctx.Err() != nil {
		st.EndSession()
		return Summary{}, ErrRecognitionInterrupted
	}
	sum, err := r.summary(stats)
	if err != nil {
		return Summary{}, err
	}
	if _, err := log.Append(audit.Event{Actor: audit.Station, Action: audit.ActionSessionEnd, Subject: r.subject(0), After: jsonOf(sum)}); err != nil {
		return sum, err
	}
	return sum, st.EndSession()
}

// store is the session's sink. A file of several pages (a multi-page TIFF
// or PDF from a watch folder) becomes one page each, in order: none of
// them may go unpackaged. Fed again after a crash, the pages already
// stored are recognised by their bytes.
func (r *run) store(ctx context.Context, p hardware.Page) (scanner.Stored, error) {
	parts := splitPages(p)
	first, err := r.storeOne(ctx, parts[0])
	if err != nil {
		return first, err
	}
	for _, part := range parts[1:] {
		if _, err := r.storeOne(ctx, part); err != nil {
			return first, err
		}
	}
	return first, nil
}

// splitPages returns the pages of a multi-page TIFF or PDF as lossless
// PNG images of their own, or the page itself. A file that does not
// decode stays whole: recognition flags it, and nothing is dropped.
func splitPages(p hardware.Page) []hardware.Page {
	if p.Format != "tiff" && p.Format != "pdf" {
		return []hardware.Page{p}
	}
	doc, err := imagein.FromBytes(p.Data, p.Name, imagein.Limits{})
	if err != nil {
		return []hardware.Page{p}
	}
	defer doc.Close()
	n := doc.Pages()
	if n <= 1 {
		return []hardware.Page{p}
	}
	out := make([]hardware.Page, 0, n)
	for i := 0; i < n; i++ {
		m, info, err := doc.Page(i)
		if err != nil {
			return []hardware.Page{p}
		}
		buf, err := gocv.IMEncode(gocv.PNGFileExt, m)
		m.Close()
		if err != nil {
			return []hardware.Page{p}
		}
		data := append([]byte(nil), buf.GetBytes()...)
		buf.Close()
		dpi := p.DPI
		if info.DPIX > 0 {
			dpi = int(info.DPIX + 0.5)
		}
		out = append(out, hardware.Page{Seq: p.Seq, Data: data, Format: "png", DPI: dpi, Side: p.Side,
			Name: fmt.Sprintf("%s#%d", p.Name, i+1)})
	}
	return out
}

// storeOne makes one page durable first, then puts it on record, then
// shows it.
func (r *run) storeOne(ctx context.Context, p hardware.Page) (scanner.Stored, error) {
	rec, dup, err := r.cfg.Store.Add(ctx, r.cfg.Place, p, r.dev.Device().ID)
	if err != nil {
		return scanner.Stored{}, err
	}
	st := scanner.Stored{Seq: rec.Seq, SHA256: rec.SHA256, Duplicate: dup}
	if dup {
		return st, nil
	}
	if _, err := r.cfg.Log.Append(audit.Event{Actor: audit.Station, Action: audit.ActionPageStore, Subject: r.subject(rec.Seq),
		After: jsonOf(map[string]any{"sha256": rec.SHA256, "file": rec.File, "source": rec.Source})}); err != nil {
		return st, fmt.Errorf("страница %d сохранена, но журнал аудита не пишется: %w", rec.Seq, err)
	}
	if err := r.notify(Event{Kind: PageStored, Page: rec}); err != nil {
		return st, err
	}
	r.newSeqs++
	n := r.newSeqs
	r.pool.Add(rec)
	if n%progressEvery == 0 {
		done, left := r.pool.Progress()
		r.say("Сохранено страниц за сеанс: %d (последняя №%d); распознано %d, в очереди %d", n, rec.Seq, done, left)
	}
	return st, nil
}

// event reports device events and repeated pages to the operator.
func (r *run) event(ev scanner.Event) {
	switch ev.Kind {
	case scanner.PageDuplicate:
		r.notify(Event{Kind: Duplicate, Page: store.Page{Ref: store.Ref{Place: r.cfg.Place, Seq: ev.Page.Seq}},
			Text: fmt.Sprintf("Лист %s уже сохранён как страница №%d: повторно не сохраняется", ev.Raw.Name, ev.Page.Seq)})
	case scanner.DeviceFault:
		r.notify(Event{Kind: DeviceFault, Fault: ev.Fault, Text: FaultMessage(ev.Fault)})
		rec := map[string]any{"kind": ev.Fault.Kind, "device": ev.Fault.Device, "after": ev.Fault.After}
		if ev.Fault.Detail != "" {
			rec["detail"] = ev.Fault.Detail
		}
		r.cfg.Log.Append(audit.Event{Actor: audit.Station, Action: audit.ActionDeviceFault, Subject: r.subject(0), After: jsonOf(rec)})
	case scanner.FeederEmpty:
		r.notify(Event{Kind: FeederEmpty, Text: "Лоток сканера пуст."})
	}
}

// FaultMessage says what happened and what the operator does about it.
func FaultMessage(f *hardware.Fault) string {
	switch f.Kind {
	case hardware.PaperJam:
		// The jammed sheet was not scanned: it goes back on top of the
		// stack, or it would be missing from the auditorium.
		return fmt.Sprintf("Замятие бумаги после страницы %d: извлеките застрявший лист из сканера, расправьте его и положите в лоток поверх остальных листов — он ещё не отсканирован; затем продолжите", f.After)
	case hardware.DoubleFeed:
		return fmt.Sprintf("Подача двух листов сразу после страницы %d: разделите листы, верните их в лоток и продолжите", f.After)
	case hardware.CoverOpen:
		return fmt.Sprintf("Открыта крышка сканера после страницы %d: закройте крышку и продолжите", f.After)
	case hardware.DeviceGone:
		msg := fmt.Sprintf("Сканер отключился после страницы %d: подключите его снова (кабель, питание, сеть) и продолжите; листы, оставшиеся в лотке, пойдут дальше", f.After)
		if f.Detail != "" {
			msg += " (" + f.Detail + ")"
		}
		return msg
	case hardware.Rejected:
		return fmt.Sprintf("Не принят %s: он пропущен, остальные идут дальше; проверьте его и при необходимости отсканируйте лист заново, затем продолжите", f.Detail)
	}
	return fmt.Sprintf("Сканер сообщил «%s» после страницы %d: устраните причину и продолжите", f.Kind, f.After)
}

// StopError is the error of a session ended after a device event.
func StopError(f *hardware.Fault) error {
	return fmt.Errorf("сканирование остановлено после события «%s»; сохранённые страницы на месте, устраните причину и запустите сканирование снова", f.Kind)
}

// reopen opens the device again once the operator plugged it in and went
// on, by the spec that opened it.
func (r *run) reopen(gone hardware.Scanner) (hardware.Scanner, error) {
	dev, err := hardware.Reopen(r.spec, gone)
	if err != nil {
		return nil, err
	}
	r.dev = dev
	r.say("Сканер подключён снова: сканирование продолжается со следующего листа.")
	return dev, nil
}

func (r *run) resume(ctx context.Context, f *hardware.Fault) error {
	if r.cfg.OnFault == nil {
		return StopError(f)
	}
	return r.cfg.OnFault(ctx, f)
}

// recognize reads one stored page and stores what was read with it.
func (r *run) recognize(ctx context.Context, p store.Page) {
	if ctx.Err() != nil {
		return
	}
	var res forms.PageResult
	if data, err := r.cfg.Store.Image(p); err != nil {
		res = forms.NewPageResult(p.File, 1)
		res.Error = err.Error()
	} else {
		res = r.cfg.Recognizer.Bytes(data, p.File)
	}
	if ctx.Err() != nil {
		return // cut short: the page is read again at the next start
	}
	if err := r.cfg.Store.SetResult(p.Ref, p.Rev, res); err != nil {
		r.say("Результат распознавания страницы %d не сохранён: %v", p.Seq, err)
		return
	}
	p.Result = &res
	r.notify(Event{Kind: PageRead, Page: p})
	if msg := r.misplaced(p); msg != "" {
		r.notify(Event{Kind: Misplaced, Page: p, Text: msg})
	}
}

// misplaced says, in the report's words, why a page just read does not
// belong in this stack: another exam, ППЭ or auditorium, or a barcode an
// earlier page of the auditorium carries. "" when it belongs.
func (r *run) misplaced(p store.Page) string {
	if r.exam == nil || p.Result == nil {
		return ""
	}
	rp := reconcile.Page{Seq: p.Seq, SHA256: p.SHA256, Result: *p.Result}
	if pr := reconcile.Misplaced(r.exam, r.cfg.Place.PPE, r.cfg.Place.Auditorium, rp); pr != nil {
		return fmt.Sprintf("Страница №%d: %s", p.Seq, pr.Detail)
	}
	if b := p.Result.Barcode; b != "" {
		pages, err := r.cfg.Store.Pages(r.cfg.Place)
		if err != nil {
			return ""
		}
		for _, q := range pages {
			if q.Seq != p.Seq && q.Status == store.Active && q.Result != nil && q.Result.Barcode == b {
				return fmt.Sprintf("Страница №%d несёт тот же штрихкод %s, что и страница №%d: это повторно поданный лист или два листа с одним штрихкодом; отложите лист и проверьте оба", p.Seq, b, q.Seq)
			}
		}
	}
	return ""
}

func (r *run) summary(stats scanner.Stats) (Summary, error) {
	pages, err := r.cfg.Store.Pages(r.cfg.Place)
	if err != nil {
		return Summary{}, err
	}
	s := Summary{Stored: stats.Stored, Duplicates: stats.Duplicates, Faults: stats.Faults}
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
		r.cfg.Place.PPE, r.cfg.Place.Auditorium, s.Stored, s.Total, s.Duplicates, s.Faults)
	r.say("Распознано: %d; без штрихкода: %d; требуют проверки: %d; не прочитаны: %d. Время: %s.",
		s.Recognised, s.NoBarcode, s.Review, s.Errors, time.Since(r.start).Round(time.Second))
	return s, nil
}

// deviceSpec is the spec that opens the scanner of a session. A simulated
// feeder is loaded with the sheets not yet stored, as an operator reloads
// the stack from the first page the station does not have (the
// simulator's resume option); other devices take the stack the operator
// put in, and pages fed again are recognised by their bytes (see
// store.Add).
func deviceSpec(spec string, stored int) string {
	name, arg, _ := strings.Cut(spec, ":")
	if name == "sim" && stored > 0 {
		if arg != "" {
			arg += ","
		}
		return "sim:" + arg + "resume=" + strconv.Itoa(stored)
	}
	return spec
}
