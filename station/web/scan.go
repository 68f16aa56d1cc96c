package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"giascan/forms"
	"giascan/hardware"
	"giascan/recognition"
	"giascan/station/audit"
	"giascan/station/ops"
	"giascan/station/reconcile"
	scansession "giascan/station/session"
	"giascan/station/store"
	"giascan/station/users"
)

// registerScan adds the scanning screen. A scan runs package session, as
// station scan does; the server owns its goroutine and stops it on Close.
func (s *Server) registerScan(in *echo.Group) {
	in.GET("/scan", s.scanPage, s.allow(users.Scan))
	in.GET("/scan/events", s.scanEvents, s.allow(users.Scan))
	in.GET("/scan/devices", s.scanDevices, s.allow(users.Scan))
	in.GET("/scan/progress", s.scanProgress, s.allow(users.Scan))
	in.GET("/scan/calibration.pdf", s.calibrationPDF, s.allow(users.Scan))
	in.POST("/scan/start", s.scanStart, s.csrf, s.allow(users.Scan))
	in.POST("/scan/continue", s.scanContinue, s.csrf, s.allow(users.Scan))
	in.POST("/scan/stop", s.scanStop, s.csrf, s.allow(users.Scan))
}

// pageTypeNames are the Russian names of the page types.
var pageTypeNames = map[string]string{
	forms.TypeBO1:        "Бланк ответов №1",
	forms.TypeBO2Sheet1:  "Бланк ответов №2, лист 1",
	forms.TypeBO2Sheet2:  "Бланк ответов №2, лист 2",
	forms.TypeDBO2:       "Доп. бланк ответов №2",
	forms.TypePPE1302:    "ППЭ-13-02-МАШ",
	forms.TypePPE18:      "ППЭ-18-МАШ",
	forms.TypePPE15:      "ППЭ-15",
	forms.TypeAcceptance: "акт приёмки-передачи",
}

// flagNames are the Russian names of the recognizer's page flags.
var flagNames = map[string]string{
	forms.FlagNoBarcode:         "штрихкод не прочитан",
	forms.FlagNoQR:              "QR-код не прочитан",
	forms.FlagBarcodeQRMismatch: "штрихкод и QR-код расходятся",
	forms.FlagBadCheckDigit:     "неверная контрольная цифра",
	forms.FlagUnknownType:       "тип листа не определён",
	forms.FlagBlankPage:         "пустой лист",
	forms.FlagAnchorMissing:     "не найдены метки листа",
	forms.FlagLowResolution:     "низкое разрешение",
	forms.FlagTooDark:           "слишком тёмный",
	forms.FlagTooLight:          "слишком светлый",
	forms.FlagSkewExceeded:      "сильный перекос",
	forms.FlagMultipleMarks:     "несколько отметок",
	forms.FlagAmbiguousMark:     "неясная отметка",
	forms.FlagUnreadableDigit:   "неразборчивая цифра",
	forms.FlagEmptyAnswerArea:   "пустое поле ответов",
	forms.FlagNoSignature:       "нет подписи",
	forms.FlagBarcodeFromDigits: "штрихкод прочитан по цифрам под ним",
}

// scanEvent is one line of the scanning screen's event stream.
type scanEvent struct {
	ID      int      `json:"id"`
	Kind    string   `json:"kind"` // start, page, read, duplicate, fault, empty, message, resumed, end
	Text    string   `json:"text,omitempty"`
	Seq     int      `json:"seq,omitempty"`
	Type    string   `json:"type,omitempty"`
	Barcode string   `json:"barcode,omitempty"`
	Kit     string   `json:"kit,omitempty"`
	Flags   []string `json:"flags,omitempty"`
	Image   string   `json:"image,omitempty"`
	Failed  bool     `json:"failed,omitempty"` // end: the scan did not finish
}

// scanDesk is the station's one scanner seat: at most one scan at a time.
// Its events are kept for the current scan, so a screen opened or
// reloaded mid-scan shows everything from the start.
type scanDesk struct {
	mu      sync.Mutex
	running bool
	what    string // "ППЭ 0101, аудитория 0012 (oper)" of the running scan
	// spec, place and source of the running or last scan: a screen opened
	// or reloaded shows them chosen, not the first entries of its lists.
	spec, place string
	source      hardware.Source
	cancel      context.CancelFunc
	done        chan struct{} // closed when the running scan's goroutine ends
	fault       chan struct{} // closed by «Продолжить» after a device event
	// faultOpen tells whether fault still waits for «Продолжить».
	faultOpen bool
	gen       int // counts scans, so a reconnecting screen knows its ids
	events    []scanEvent
	changed   chan struct{} // closed and replaced on every new event
	closed    bool
	rc        *recognition.Recognizer
}

func newScanDesk() *scanDesk { return &scanDesk{changed: make(chan struct{})} }

// add appends an event and wakes the streams.
func (d *scanDesk) add(ev scanEvent) {
	d.mu.Lock()
	defer d.mu.Unlock()
	ev.ID = len(d.events)
	d.events = append(d.events, ev)
	close(d.changed)
	d.changed = make(chan struct{})
}

// since returns the events from i on, the scan's number and a channel
// closed at the next event.
func (d *scanDesk) since(i int) ([]scanEvent, int, <-chan struct{}) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if i > len(d.events) {
		i = len(d.events)
	}
	return slices.Clone(d.events[i:]), d.gen, d.changed
}

// stop cancels the running scan, if any, and waits for it to end.
func (d *scanDesk) stop() bool {
	d.mu.Lock()
	cancel, done := d.cancel, d.done
	d.mu.Unlock()
	if cancel == nil {
		return false
	}
	cancel()
	<-done
	return true
}

// Close stops a running scan and waits for it; later starts are refused.
// The server does not close its Store or Log, so call Close before them.
func (s *Server) Close() {
	s.desk.mu.Lock()
	s.desk.closed = true
	close(s.desk.changed) // wakes the streams, which then end
	s.desk.changed = make(chan struct{})
	s.desk.mu.Unlock()
	s.desk.stop()
	s.live.stop()
}

// deviceChoice is one scanner the screen offers.
type deviceChoice struct {
	Spec string
	Name string
}

// devices lists the scanners offered: the simulator, the server's
// configured devices and, with discovery on, every scanner the adapters
// see now (SANE, eSCL on the network, USB), by their human names.
func (s *Server) devices(ctx context.Context) []deviceChoice {
	// A station set up with its own training stack (the demo's, printed
	// for its exam) offers that one instead of a random exam's.
	var out []deviceChoice
	if !slices.ContainsFunc(s.cfg.Devices, func(d string) bool { return d == "sim" || strings.HasPrefix(d, "sim:") }) {
		out = append(out, deviceChoice{Spec: "sim", Name: "Имитатор сканера (учебный)"})
	}
	seen := map[string]bool{"sim": true}
	found := s.live.list()
	for _, d := range s.cfg.Devices {
		name := specName(d)
		for _, f := range found {
			if f.Spec == d && f.Name != "" {
				name = f.Name // a configured device found again gets its name
			}
		}
		out = append(out, deviceChoice{Spec: d, Name: name})
		seen[d] = true
	}
	for _, d := range found {
		if seen[d.Spec] || d.Adapter == "sim" {
			continue
		}
		seen[d.Spec] = true
		out = append(out, deviceChoice{Spec: d.Spec, Name: d.Name})
	}
	return out
}

// specName names a configured scanner for people until discovery finds
// its own name: what kind of device it is and where.
func specName(spec string) string {
	adapter, arg, _ := strings.Cut(spec, ":")
	switch adapter {
	case "sim":
		if arg == "" {
			return "Имитатор сканера (учебный)"
		}
		if name := trainerName(arg); name != "" {
			return name
		}
		return "Имитатор сканера (учебный, " + arg + ")"
	case "folder":
		dir, _, _ := strings.Cut(arg, ",")
		return "Папка со сканами " + dir
	case "escl":
		return "Сетевой сканер " + arg
	case "sane":
		return "Сканер " + arg
	case "twain":
		return "Сканер TWAIN " + arg
	case "ippusb":
		return "USB-сканер " + arg
	}
	return spec
}

// scanView is the scanning screen.
type scanView struct {
	Places  []string // "PPE/AUD"
	PPEs    []string // for the signed ППЭ-15
	Devices []deviceChoice
	Running string
	NoExam  bool
	// Spec, Place and Source are of the running or last scan, shown chosen.
	Spec, Place, Source string
}

func (s *Server) scanPage(c echo.Context) error {
	return s.showScan(c, http.StatusOK, "", "")
}

func (s *Server) showScan(c echo.Context, status int, errMsg, info string) error {
	v := scanView{Devices: s.devices(c.Request().Context())}
	ex, err := s.cfg.Store.Exam()
	switch {
	case errors.Is(err, store.ErrNoExam):
		v.NoExam = true
	case err != nil:
		return err
	default:
		for _, p := range ex.PPE {
			v.PPEs = append(v.PPEs, p.Code)
			for _, a := range p.Auditoriums {
				v.Places = append(v.Places, p.Code+"/"+a.Number)
			}
		}
	}
	s.desk.mu.Lock()
	if s.desk.running {
		v.Running = s.desk.what
	}
	v.Spec, v.Place, v.Source = s.desk.spec, s.desk.place, string(s.desk.source)
	s.desk.mu.Unlock()
	if v.Spec != "" && !slices.ContainsFunc(v.Devices, func(d deviceChoice) bool { return d.Spec == v.Spec }) && v.Running != "" {
		// The running scanner left discovery (unplugged mid-scan): it is
		// still the one at work, so it stays shown.
		v.Devices = append([]deviceChoice{{Spec: v.Spec, Name: v.Spec}}, v.Devices...)
	}
	sess := sessionOf(c)
	return s.render(c, status, "scan", pageData{Title: "Сканирование", Session: &sess, Error: errMsg, Info: info,
		CanImport: users.Can(sess.role, users.ImportExam), Data: v})
}

// answer replies to a scanning-screen action: JSON for the screen's
// script, the page with the message otherwise.
func (s *Server) answer(c echo.Context, status int, msg string) error {
	if strings.Contains(c.Request().Header.Get("Accept"), "application/json") {
		return c.JSON(status, map[string]any{"ok": status < 300, "message": msg})
	}
	if status < 300 {
		return s.showScan(c, status, "", msg)
	}
	return s.showScan(c, status, msg, "")
}

func (s *Server) scanStart(c echo.Context) error {
	sess := sessionOf(c)
	ppe, aud, _ := strings.Cut(c.FormValue("place"), "/")
	place := store.Place{PPE: ppe, Auditorium: aud}
	if !fourDigits.MatchString(ppe) || !fourDigits.MatchString(aud) {
		return s.answer(c, http.StatusBadRequest, "Выберите ППЭ и аудиторию из списка экзамена.")
	}
	if err := scansession.CheckPlace(s.cfg.Store, place); err != nil {
		var ie *scansession.InputError
		if errors.As(err, &ie) {
			return s.answer(c, http.StatusBadRequest, opMessage(err))
		}
		return err
	}
	spec := c.FormValue("device")
	offered := s.devices(c.Request().Context())
	if spec == "" {
		spec = offered[0].Spec
	}
	if !slices.ContainsFunc(offered, func(d deviceChoice) bool { return d.Spec == spec }) {
		return s.answer(c, http.StatusBadRequest, "Такого сканера нет в списке: выберите сканер из списка на странице.")
	}
	opts := s.cfg.ScanOptions
	switch src := hardware.Source(c.FormValue("source")); src {
	case "", hardware.ADF:
		opts.Source = hardware.ADF
	case hardware.Duplex:
		opts.Source = hardware.Duplex
	default:
		return s.answer(c, http.StatusBadRequest, "Подача бумаги: выберите ADF (лицевые стороны) или Duplex (обе стороны).")
	}

	d := s.desk
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return s.answer(c, http.StatusServiceUnavailable, "Станция останавливается: сканирование сейчас не начать.")
	}
	if d.running {
		what := d.what
		d.mu.Unlock()
		return s.answer(c, http.StatusConflict, fmt.Sprintf("Сканирование уже идёт: %s. Дождитесь окончания или остановите его, затем начните новое.", what))
	}
	if d.rc == nil {
		rc, err := s.cfg.App.Recognizer()
		if err != nil {
			d.mu.Unlock()
			return err
		}
		d.rc = rc
	}
	ctx, cancel := context.WithCancel(context.Background())
	d.running, d.cancel, d.done, d.fault, d.faultOpen = true, cancel, make(chan struct{}), nil, false
	d.what = fmt.Sprintf("ППЭ %s, аудитория %s (%s)", ppe, aud, sess.login)
	d.spec, d.place, d.source = spec, ppe+"/"+aud, opts.Source
	d.gen++
	d.events = nil
	rc, done := d.rc, d.done
	d.mu.Unlock()

	if err := s.record(sess.login, audit.ActionScanStart, "", map[string]any{"ppe": ppe, "auditorium": aud, "device": spec, "source": opts.Source}); err != nil {
		cancel()
		s.finishScan(done)
		return err
	}
	s.desk.add(scanEvent{Kind: "start", Text: fmt.Sprintf("Начато сканирование: ППЭ %s, аудитория %s.", ppe, aud)})
	cfg := scansession.Config{
		Store: s.cfg.Store, Log: s.cfg.Log, Place: place, Device: spec, Options: opts,
		Workers: s.cfg.ScanWorkers, Recognizer: rc, OnFault: s.waitContinue, Notify: s.scanNotify,
	}
	go func() { // owned by the desk: stop and Close cancel it and wait for done
		defer s.finishScan(done)
		defer cancel()
		sum, err := scansession.Run(ctx, cfg)
		ev := endEvent(sum, err)
		if err == nil {
			ev.Text += s.stillMissing(cfg.Place)
		}
		s.desk.add(ev)
	}()
	return s.answer(c, http.StatusAccepted, "Сканирование начато.")
}

// stillMissing says which sheets the auditorium still lacks by the
// report, so the operator looks for them while the stack is at hand.
func (s *Server) stillMissing(place store.Place) string {
	rep, err := ops.Report(s.cfg.Store)
	if err != nil {
		return ""
	}
	a := ops.FindAuditorium(rep, place)
	if a == nil {
		return ""
	}
	var missing []string
	for _, p := range a.Problems {
		if p.Kind == reconcile.KindMissing || p.Kind == reconcile.KindChainGap {
			missing = append(missing, p.Detail)
		}
	}
	switch {
	case len(missing) == 0:
		return " Недостающих листов нет."
	case len(missing) > 5:
		return fmt.Sprintf(" Не хватает листов: %d, первые: %s", len(missing), strings.Join(missing[:5], "; "))
	}
	return " Не хватает: " + strings.Join(missing, "; ")
}

// finishScan marks the desk free and closes done.
func (s *Server) finishScan(done chan struct{}) {
	d := s.desk
	d.mu.Lock()
	d.running, d.cancel, d.fault, d.faultOpen = false, nil, nil, false
	d.mu.Unlock()
	close(done)
}

func endEvent(sum scansession.Summary, err error) scanEvent {
	switch {
	case err == nil:
		return scanEvent{Kind: "end", Text: fmt.Sprintf("Сканирование завершено. Сохранено за сеанс: %d, всего в аудитории: %d; распознано: %d; требуют проверки: %d.",
			sum.Stored, sum.Total, sum.Recognised, sum.Review)}
	case errors.Is(err, scansession.ErrInterrupted), errors.Is(err, scansession.ErrRecognitionInterrupted):
		return scanEvent{Kind: "end", Failed: true, Text: "Сканирование остановлено. Сохранённые страницы на месте; чтобы продолжить, вложите оставшиеся листы и нажмите «Начать»."}
	}
	return scanEvent{Kind: "end", Failed: true, Text: opMessage(err)}
}

// scanNotify turns a session's events into the screen's.
func (s *Server) scanNotify(ev scansession.Event) error {
	switch ev.Kind {
	case scansession.PageStored:
		s.desk.add(pageEvent("page", ev.Page))
	case scansession.PageRead:
		s.desk.add(pageEvent("read", ev.Page))
	case scansession.DeviceFault:
		// Ready for «Продолжить» before the screen hears of the event.
		s.desk.mu.Lock()
		s.desk.fault, s.desk.faultOpen = make(chan struct{}), true
		s.desk.mu.Unlock()
		text := ev.Text
		if t, ok := strings.CutSuffix(text, "продолжите"); ok {
			text = t + "нажмите «Продолжить» (пробел)."
		}
		s.desk.add(scanEvent{Kind: "fault", Text: text})
	case scansession.FeederEmpty:
		s.desk.add(scanEvent{Kind: "empty", Text: "Лоток сканера пуст: все листы пачки отсканированы. Если листы остались, вложите их и нажмите «Начать» снова."})
	case scansession.Duplicate:
		s.desk.add(scanEvent{Kind: "duplicate", Seq: ev.Page.Seq, Text: ev.Text})
	case scansession.Misplaced:
		s.desk.add(scanEvent{Kind: "foreign", Seq: ev.Page.Seq, Text: ev.Text})
	default:
		s.desk.add(scanEvent{Kind: "message", Text: ev.Text})
	}
	return nil
}

func pageEvent(kind string, p store.Page) scanEvent {
	ev := scanEvent{Kind: kind, Seq: p.Seq,
		Image: fmt.Sprintf("/page/%s/%s/%d/image", p.PPE, p.Auditorium, p.Seq)}
	if r := p.Result; r != nil {
		ev.Type = pageTypeNames[r.Type]
		if ev.Type == "" && r.Type != "" {
			ev.Type = "тип " + r.Type
		}
		if ev.Type == "" {
			ev.Type = "не определён"
		}
		ev.Barcode = r.Barcode
		if r.Context.Kit != forms.NoKit { // a ППЭ form's kit is all zeros: no one's
			ev.Kit = r.Context.Kit
		}
		for _, f := range r.Flags {
			if n, ok := flagNames[f]; ok {
				f = n
			}
			ev.Flags = append(ev.Flags, f)
		}
		if r.Error != "" {
			ev.Flags = append(ev.Flags, "лист не прочитан")
		}
		if r.NeedsReview {
			ev.Flags = append(ev.Flags, "нужна проверка")
		}
	}
	return ev
}

// waitContinue holds the session after a device event until the operator
// presses «Продолжить» or stops the scan.
func (s *Server) waitContinue(ctx context.Context, f *hardware.Fault) error {
	s.desk.mu.Lock()
	if s.desk.fault == nil { // not announced: wait all the same
		s.desk.fault, s.desk.faultOpen = make(chan struct{}), true
	}
	ch := s.desk.fault
	s.desk.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Server) scanContinue(c echo.Context) error {
	d := s.desk
	d.mu.Lock()
	// The channel is closed, not dropped: a fault answered before the
	// session began to wait finds it closed and goes on at once.
	ch, open := d.fault, d.faultOpen
	d.faultOpen = false
	d.mu.Unlock()
	if !open {
		return s.answer(c, http.StatusConflict, "Продолжать нечего: сканер не ждёт оператора.")
	}
	close(ch)
	d.add(scanEvent{Kind: "resumed", Text: "Сканирование продолжается."})
	return s.answer(c, http.StatusOK, "Сканирование продолжается.")
}

func (s *Server) scanStop(c echo.Context) error {
	sess := sessionOf(c)
	s.desk.mu.Lock()
	running := s.desk.running
	s.desk.mu.Unlock()
	if !running {
		return s.answer(c, http.StatusConflict, "Сканирование не идёт: останавливать нечего.")
	}
	if err := s.record(sess.login, audit.ActionScanStop, "остановлено оператором", nil); err != nil {
		return err
	}
	s.desk.stop()
	return s.answer(c, http.StatusOK, "Сканирование остановлено. Сохранённые страницы на месте.")
}

// scanEvents streams the desk's events as server-sent events until the
// screen goes away or the server closes. Event ids are "scan.index", so a
// reconnecting screen gets only what it missed.
func (s *Server) scanEvents(c echo.Context) error {
	w := startSSE(c)

	next, gen := 0, -1
	if g, i, ok := strings.Cut(c.Request().Header.Get("Last-Event-ID"), "."); ok {
		gen, _ = strconv.Atoi(g)
		next, _ = strconv.Atoi(i)
		next++
	}
	ctx := c.Request().Context()
	ping := time.NewTicker(15 * time.Second)
	defer ping.Stop()
	for {
		evs, g, changed := s.desk.since(next)
		if g != gen {
			// Another scan began since this screen last heard.
			gen, next = g, 0
			evs, _, changed = s.desk.since(0)
		}
		for _, ev := range evs {
			b, _ := json.Marshal(ev)
			if _, err := fmt.Fprintf(w, "id: %d.%d\ndata: %s\n\n", gen, ev.ID, b); err != nil {
				return nil
			}
			next = ev.ID + 1
		}
		w.Flush()
		if s.desk.isClosed() {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		case <-ping.C:
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil {
				return nil
			}
		}
	}
}
