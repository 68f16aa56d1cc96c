package web

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"gocv.io/x/gocv"

	"giascan/forms"
	"giascan/recognition/imagein"
	"giascan/station"
	"giascan/station/audit"
	"giascan/station/ops"
	"giascan/station/store"
	"giascan/station/users"
)

// registerReview adds the operator's screens: the review queue, the page
// viewer with its corrections, closing an auditorium and the ППЭ-15
// sign-off. Every correction goes through package ops, as on the command
// line; the CSRF check runs before the role check, as elsewhere.
func (s *Server) registerReview(in *echo.Group) {
	in.GET("/review", s.reviewQueue, s.allow(users.Fix))
	in.POST("/review", s.reviewField, s.csrf, s.allow(users.Fix))
	in.GET("/page/:ppe/:aud/:seq", s.pageViewer, s.allow(users.Fix))
	in.GET("/page/:ppe/:aud/:seq/image", s.pageImage, s.allow(users.Fix))
	in.POST("/page/:ppe/:aud/:seq/delete", s.pageDelete, s.csrf, s.allow(users.Fix))
	in.POST("/page/:ppe/:aud/:seq/move", s.pageMove, s.csrf, s.allow(users.Fix))
	in.POST("/page/:ppe/:aud/:seq/identify", s.pageIdentify, s.csrf, s.allow(users.Fix))
	s.registerPageFix(in)
	in.GET("/auditorium/:ppe/:aud", s.auditoriumPage, s.allow(users.ViewBoard))
	in.POST("/auditorium/close", s.closeAuditorium, s.csrf, s.allow(users.CloseAud))
	in.POST("/auditorium/reopen", s.reopenAuditorium, s.csrf, s.allow(users.Reopen))
	in.GET("/signoff/:ppe", s.signoffPage, s.allow(users.ViewBoard))
	in.GET("/signoff/:ppe/ppe15.pdf", s.signoffPDF, s.allow(users.SignProtocol))
	in.POST("/signoff/:ppe", s.signoff, s.csrf, s.allow(users.SignProtocol))
	in.POST("/signoff/:ppe/print", s.printProtocol, s.csrf, s.allow(users.SignProtocol))
}

func (s *Server) ops() *ops.Ops { return ops.New(s.cfg.Store, s.cfg.Log, nil) }

var fourDigits = regexp.MustCompile(`^[0-9]{4}$`)

// opMessage turns a refusal into a sentence for the web page.
func opMessage(err error) string {
	return sentence(err.Error()) + " Ничего не изменено."
}

// sentence starts msg with a capital letter and ends it with a full stop.
func sentence(msg string) string {
	if r := []rune(msg); len(r) > 0 {
		msg = strings.ToUpper(string(r[0])) + string(r[1:])
	}
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return msg
}

// refParam reads the page a URL names, refusing malformed numbers.
func refParam(c echo.Context) (store.Ref, error) {
	ppe, aud := c.Param("ppe"), c.Param("aud")
	seq, err := strconv.Atoi(c.Param("seq"))
	if !fourDigits.MatchString(ppe) || !fourDigits.MatchString(aud) || err != nil || seq < 1 {
		return store.Ref{}, echo.NewHTTPError(http.StatusNotFound)
	}
	return store.Ref{Place: store.Place{PPE: ppe, Auditorium: aud}, Seq: seq}, nil
}

// formRef reads the page a form names.
func formRef(c echo.Context) (store.Ref, bool) {
	ppe, aud := c.FormValue("ppe"), c.FormValue("aud")
	seq, err := strconv.Atoi(c.FormValue("seq"))
	if !fourDigits.MatchString(ppe) || !fourDigits.MatchString(aud) || err != nil || seq < 1 {
		return store.Ref{}, false
	}
	return store.Ref{Place: store.Place{PPE: ppe, Auditorium: aud}, Seq: seq}, true
}

func pageURL(r store.Ref) string {
	return fmt.Sprintf("/page/%s/%s/%d", r.PPE, r.Auditorium, r.Seq)
}

// withFlash adds a message for the next page to a redirect target.
func withFlash(path, msg string) string {
	return path + "?ok=" + url.QueryEscape(msg)
}

// flashOf is the message a redirect carried, bounded so a link cannot
// put a long text on the page.
func flashOf(c echo.Context) string {
	m := c.QueryParam("ok")
	if r := []rune(m); len(r) > 200 {
		m = string(r[:200])
	}
	return m
}

func (s *Server) data(c echo.Context, title string) pageData {
	sess := sessionOf(c)
	return pageData{Title: title, Session: &sess, Flash: flashOf(c), CanImport: users.Can(sess.role, users.ImportExam)}
}

// ----- geometry -----

// shape is one outlined region of a page in template millimetres.
type shape struct {
	X, Y, W, H float64
	Class      string // svg class: ok, wait, marked, code
	Title      string
	ID         string // the field (and cell) it outlines, for tests and styles
}

func templateOf(r *forms.PageResult) *forms.Template {
	if r == nil || r.Type == "" {
		return nil
	}
	t, _ := forms.Builtin().Get(r.Type)
	return t
}

// fieldRect is where field id lies on template t.
func fieldRect(t *forms.Template, id string) (forms.Rect, bool) {
	if f, ok := t.Field(id); ok {
		return f.Bounds(), true
	}
	for _, b := range t.Boxes {
		if b.ID == id {
			return b.Rect, true
		}
	}
	switch id {
	case "barcode", "type":
		b := t.Barcode
		w := 0.0
		if mods, err := forms.Code128Modules(strings.Repeat("0", b.Digits)); err == nil {
			w = float64(len(mods)) * b.Module
		}
		h := b.H
		if b.TextY1 > b.Y+h {
			h = b.TextY1 - b.Y
		}
		return forms.Rect{X: b.X - 1, Y: b.Y - 1, W: w + 2, H: h + 2}, true
	case "context":
		return t.QR.Box(), true
	}
	return forms.Rect{}, false
}

// ----- review queue -----

type reviewItem struct {
	Ref      store.Ref
	URL      string
	Rev      int
	Field    string
	Label    string
	Value    string
	Digit    bool
	Geometry geometry
	Crop     forms.Rect // the viewBox of the crop
	Box      forms.Rect
	Hint     string
	PageOnly bool // fixed on the page's own screen, not in the queue
}

// ViewBox is the crop's SVG viewBox.
func (r reviewItem) ViewBox() string {
	return fmt.Sprintf("%g %g %g %g", r.Crop.X, r.Crop.Y, r.Crop.W, r.Crop.H)
}

type reviewView struct {
	Items []reviewItem
	Pages int
}

// labelOf is the Russian name of field id of a page read as r.
func labelOf(r *forms.PageResult, id string) string {
	typ := ""
	if r != nil {
		typ = r.Type
	}
	return ops.FieldName(typ, id)
}

func (s *Server) buildQueue() (reviewView, error) {
	var v reviewView
	ex, _ := s.cfg.Store.Exam() // without an exam nothing is foreign
	places, err := s.cfg.Store.Places()
	if err != nil {
		return v, err
	}
	for _, pl := range places {
		pages, err := s.cfg.Store.Pages(pl)
		if err != nil {
			return v, err
		}
		for _, p := range pages {
			if p.Status != store.Active || p.Result == nil {
				continue
			}
			fields := p.Result.Review
			// A code or date of another exam read as certain on a sheet
			// whose QR code says it is this ППЭ's is worth a look too; a
			// sheet whose QR code is foreign is a problem of its own.
			var foreign map[string]string
			if p.Result.Context.PPE == p.PPE {
				foreign = ops.ForeignFields(ex, p)
				for _, f := range sortedKeys(foreign) {
					if !slices.Contains(fields, f) {
						fields = append(slices.Clip(fields), f)
					}
				}
			}
			if len(fields) == 0 {
				continue
			}
			v.Pages++
			t := templateOf(p.Result)
			g := s.geometryOf(p)
			for _, f := range fields {
				it := reviewItem{Ref: p.Ref, URL: pageURL(p.Ref), Rev: p.Rev, Field: f, Label: labelOf(p.Result, f), Geometry: g}
				if d, ok := p.Result.Digits[f]; ok {
					it.Value, it.Digit = d, true
					it.Hint = "Введите цифры с листа; если прочитано верно — просто Enter"
					if strings.Contains(d, "?") {
						it.Hint = "Цифры прочитаны не полностью: введите их с листа и нажмите Enter"
					}
				} else if m, ok := p.Result.Marks[f]; ok {
					it.Value = markNames[m]
					it.Hint = "Enter — подтвердить; или введите «да» (отметка стоит) / «нет» (пусто)"
				} else {
					it.Hint, it.PageOnly = "Это поле правится на странице листа: откройте её.", true
					if n := barcodeDigitsNote(p.Result); n != "" && (f == "barcode" || f == "type") {
						it.Value, it.Hint = p.Result.BarcodeDigits, n+" Опознайте лист на его странице."
					}
				}
				if why := foreign[f]; why != "" {
					it.Hint = sentence(why) + " Введите значение с листа и нажмите Enter."
				}
				it.Crop = forms.Rect{W: g.W, H: g.H}
				if t != nil {
					if r, ok := fieldRect(t, f); ok {
						it.Box = r
						it.Crop = forms.Rect{X: r.X - 8, Y: r.Y - 6, W: r.W + 16, H: r.H + 12}
					}
				}
				v.Items = append(v.Items, it)
			}
		}
	}
	return v, nil
}

// barcodeDigitsNote says, for the person checking a page whose bars did
// not read, what the digits printed under them read as and why they did
// not stand in for the bars; "" when they were not read.
func barcodeDigitsNote(r *forms.PageResult) string {
	if r == nil || r.BarcodeDigits == "" {
		return ""
	}
	d := r.BarcodeDigits
	switch {
	case slices.Contains(r.Flags, forms.FlagBarcodeFromDigits):
		return "Штрихкод прочитан по цифрам под ним: " + d + ", они сходятся с QR-кодом."
	case strings.Contains(d, "?"):
		return "Штрихкод не прочитан; цифры под ним прочитаны не все: " + d + " (? — не разобрана). Сверьте их с листом."
	case slices.Contains(r.Flags, forms.FlagBadCheckDigit):
		return "Штрихкод не прочитан; цифры под ним прочитаны как " + d + ", но контрольная цифра не сходится. Сверьте их с листом."
	case slices.Contains(r.Flags, forms.FlagBarcodeQRMismatch):
		return "Штрихкод не прочитан; цифры под ним (" + d + ") не совпадают со штрихкодом в QR-коде. Сверьте их с листом."
	}
	return "Штрихкод не прочитан; цифры под ним прочитаны как " + d + ". Сверьте их с листом."
}

var markNames = map[string]string{
	forms.MarkMarked:    "отметка стоит",
	forms.MarkEmpty:     "пусто",
	forms.MarkAmbiguous: "неясно",
}

func (s *Server) reviewQueue(c echo.Context) error {
	return s.showQueue(c, http.StatusOK, "")
}

func (s *Server) showQueue(c echo.Context, status int, errMsg string) error {
	v, err := s.buildQueue()
	if err != nil {
		return err
	}
	d := s.data(c, "Проверка значений")
	d.Error, d.Data = errMsg, v
	return s.render(c, status, "review", d)
}

// stale refuses an action on a page that changed since the person saw
// it: replaced by someone else or deleted.
func (s *Server) stale(ref store.Ref, rev string) string {
	p, err := s.cfg.Store.Page(ref)
	if err != nil {
		return fmt.Sprintf("Страницы %d аудитории %s нет: обновите страницу и проверьте список.", ref.Seq, ref.Auditorium)
	}
	if p.Status != store.Active {
		return fmt.Sprintf("Страница %d аудитории %s только что удалена другим пользователем (%s): действие не выполнено, ничего не изменено. Обновите список.", ref.Seq, ref.Auditorium, p.Reason)
	}
	if rev != "" && rev != strconv.Itoa(p.Rev) {
		return fmt.Sprintf("Страница %d аудитории %s только что заменена новым изображением: действие не выполнено, ничего не изменено. Проверьте новое изображение.", ref.Seq, ref.Auditorium)
	}
	return ""
}

func (s *Server) reviewField(c echo.Context) error {
	ref, ok := formRef(c)
	if !ok {
		return s.showQueue(c, http.StatusUnprocessableEntity, "В форме нет номера страницы: обновите страницу и повторите.")
	}
	if msg := s.stale(ref, c.FormValue("rev")); msg != "" {
		return s.showQueue(c, http.StatusConflict, msg)
	}
	field := c.FormValue("field")
	value := strings.TrimSpace(c.FormValue("value"))
	switch strings.ToLower(value) {
	case "да", "+":
		value = forms.MarkMarked
	case "нет", "-":
		value = forms.MarkEmpty
	}
	p, err := s.cfg.App.ReviewField(sessionOf(c).login, ref, field, value)
	if err != nil {
		if station.IsInput(err) {
			return s.showQueue(c, http.StatusUnprocessableEntity, opMessage(err))
		}
		return err
	}
	what := "подтверждено"
	if value != "" {
		what = "исправлено на «" + markNames[value] + "»"
		if markNames[value] == "" {
			what = "исправлено на «" + value + "»"
		}
	}
	return c.Redirect(http.StatusSeeOther, withFlash("/review", fmt.Sprintf("Страница %d аудитории %s, поле «%s»: %s. Отменить можно на странице листа.",
		ref.Seq, ref.Auditorium, labelOf(p.Result, field), what)))
}

// ----- page viewer -----

type pageView struct {
	Page     store.Page
	Ref      store.Ref
	URL      string
	Geometry geometry
	Shapes   []shape
	Type     string
	Barcode  string
	// BarcodeNote says what the digits under the bars read as, when the
	// bars did not read.
	BarcodeNote string
	BarcodeWait bool // the barcode waits for a person
	Context     string
	Digits      []kv
	Marks       []kv
	Hidden      int // digit fields left empty and not waiting, shown on request
	Flags       []string
	Review      []string
	Active      bool
	Closed      string // why the auditorium takes no corrections, "" when open
	Error       string
	Others      []string // the other auditoriums of the ППЭ, for moving
	Form        map[string]string
	Confirm     bool // the deletion waits for confirmation
	Devices     []deviceChoice
	Device      string // the scanner offered first: the last scan's
	Fixes       []fixView
	Foreign     []string // values that are not this exam's
}

// fixView is one review of the page that can be undone.
type fixView struct {
	Seq                  int64
	Label, Before, After string
	Who, At              string
	Confirm              bool
}

type kv struct {
	Key, Label, Value string
	Wait              bool
	Empty             bool // an empty field, hidden unless asked for
	Foreign           bool // not this exam's value
}

// contextText is the QR context of a page as a person reads it; the kit
// of a ППЭ form (all zeros) and the auditorium 0000 of a ППЭ-wide form
// are no one's, so they are not shown.
func contextText(c forms.Context) string {
	var parts []string
	if c.PPE != "" {
		parts = append(parts, "ППЭ "+c.PPE)
	}
	switch c.Auditorium {
	case "":
	case "0000":
		parts = append(parts, "форма всего ППЭ")
	default:
		parts = append(parts, "аудитория "+c.Auditorium)
	}
	if c.Subject != "" {
		name := forms.Subjects[c.Subject]
		if name == "" {
			name = "предмет " + c.Subject
		}
		parts = append(parts, name)
	}
	if len(c.Date) == 8 {
		parts = append(parts, c.Date[6:8]+"."+c.Date[4:6]+"."+c.Date[:4])
	}
	if c.Kit != "" && c.Kit != forms.NoKit {
		parts = append(parts, "комплект "+c.Kit)
		if c.Sheet != nil && *c.Sheet > 0 {
			parts = append(parts, fmt.Sprintf("лист %d", *c.Sheet))
		}
	}
	return strings.Join(parts, ", ")
}

func (s *Server) buildPage(ref store.Ref) (*pageView, error) {
	p, err := s.cfg.Store.Page(ref)
	if errors.Is(err, store.ErrNotFound) {
		return nil, echo.NewHTTPError(http.StatusNotFound)
	}
	if err != nil {
		return nil, err
	}
	v := &pageView{Page: p, Ref: ref, URL: pageURL(ref), Geometry: s.geometryOf(p), Active: p.Status == store.Active, Form: map[string]string{}}
	if ex, err := s.cfg.Store.Exam(); err == nil {
		if pp := ex.FindPPE(ref.PPE); pp != nil {
			for _, a := range pp.Auditoriums {
				if a.Number != ref.Auditorium {
					v.Others = append(v.Others, a.Number)
				}
			}
		}
	}
	var ce *store.ClosedError
	if err := s.cfg.Store.CheckOpen(ref.Place); errors.As(err, &ce) {
		v.Closed = opMessage(err)
	} else if err != nil {
		return nil, err
	}
	if v.Active && v.Closed == "" {
		fixes, err := s.cfg.App.Corrections(ref)
		if err != nil {
			return nil, err
		}
		for i := len(fixes) - 1; i >= 0; i-- {
			f := fixes[i]
			if f.Rev != p.Rev {
				continue
			}
			fv := fixView{Seq: f.Seq, Label: labelOf(p.Result, f.Field), Before: valueName(f.Before), After: valueName(f.After),
				Who: f.Actor, At: f.At.In(s.cfg.Location).Format("02.01.2006 15:04"), Confirm: f.Action == audit.ActionReviewConfirm}
			v.Fixes = append(v.Fixes, fv)
		}
	}
	r := p.Result
	if r == nil {
		v.Error = "Страница ещё не распознана: нажмите «Распознать заново»."
		return v, nil
	}
	v.Type, v.Barcode, v.Error = r.Type, r.Barcode, r.Error
	v.BarcodeNote, v.BarcodeWait = barcodeDigitsNote(r), slices.Contains(r.Review, "barcode")
	if t := templateOf(r); t != nil {
		v.Type = t.Name + " (" + r.Type + ")"
	}
	v.Context = contextText(r.Context)
	v.Flags, v.Review = r.Flags, r.Review
	t := templateOf(r)
	wait := func(id string) bool { return slices.Contains(r.Review, id) }
	ex, _ := s.cfg.Store.Exam() // without an exam nothing is foreign
	foreign := ops.ForeignFields(ex, p)
	for _, id := range sortedKeys(foreign) {
		v.Foreign = append(v.Foreign, sentence(foreign[id]))
	}
	for _, id := range fieldOrder(t, r.Digits) {
		d := kv{Key: id, Label: labelOf(r, id), Value: r.Digits[id], Wait: wait(id), Foreign: foreign[id] != ""}
		if d.Value == "" && !d.Wait {
			d.Empty = true
			v.Hidden++
		}
		v.Digits = append(v.Digits, d)
	}
	for _, id := range fieldOrder(t, r.Marks) {
		if r.Marks[id] == forms.MarkEmpty && !wait(id) {
			continue
		}
		v.Marks = append(v.Marks, kv{Key: id, Label: labelOf(r, id), Value: markNames[r.Marks[id]], Wait: wait(id)})
	}
	if t == nil {
		return v, nil
	}
	state := func(id string, ok bool) string {
		switch {
		case wait(id) || foreign[id] != "":
			return "wait"
		case !ok:
			return "bad"
		}
		return "ok"
	}
	bc, _ := fieldRect(t, "barcode")
	v.Shapes = append(v.Shapes, shape{bc.X, bc.Y, bc.W, bc.H, state("barcode", r.Barcode != ""), "штрихкод " + r.Barcode, "barcode"})
	q := t.QR.Box()
	v.Shapes = append(v.Shapes, shape{q.X, q.Y, q.W, q.H, state("context", r.Context.PPE != ""), "QR-код", "context"})
	for _, f := range t.DigitFields {
		val := r.Digits[f.ID]
		if val == "" && !wait(f.ID) {
			continue // an empty cell needs no outline: 150 of them hide the page
		}
		cls := state(f.ID, !strings.Contains(val, "?"))
		for i := 0; i < f.Cells; i++ {
			c := f.Cell(i)
			ch := ""
			if i < len([]rune(val)) {
				ch = string([]rune(val)[i])
			}
			v.Shapes = append(v.Shapes, shape{c.X, c.Y, c.W, c.H, cls, labelOf(r, f.ID) + ": " + ch, fmt.Sprintf("%s/%d", f.ID, i)})
		}
	}
	for _, b := range t.Boxes {
		m := r.Marks[b.ID]
		cls := "ok"
		switch {
		case wait(b.ID) || m == forms.MarkAmbiguous:
			cls = "wait"
		case m == forms.MarkMarked:
			cls = "marked"
		}
		v.Shapes = append(v.Shapes, shape{b.X, b.Y, b.W, b.H, cls, labelOf(r, b.ID) + ": " + markNames[m], b.ID})
	}
	return v, nil
}

// valueName is a recognised value as a person reads it.
func valueName(v string) string {
	if n, ok := markNames[v]; ok {
		return n
	}
	if v == "" {
		return "пусто"
	}
	return v
}

// fieldOrder lists the ids of m in the template's order (as on the
// paper), then any others sorted.
func fieldOrder[V any](t *forms.Template, m map[string]V) []string {
	var out []string
	seen := map[string]bool{}
	if t != nil {
		// Digit fields as they are read on paper: line by line, left to
		// right (a ППЭ-13-02-МАШ row by row, not column by column).
		fields := slices.Clone(t.DigitFields)
		slices.SortStableFunc(fields, func(a, b forms.DigitField) int {
			if ya, yb := math.Round(a.Y), math.Round(b.Y); ya != yb {
				return cmp.Compare(ya, yb)
			}
			return cmp.Compare(a.X, b.X)
		})
		for _, f := range fields {
			if _, ok := m[f.ID]; ok {
				out, seen[f.ID] = append(out, f.ID), true
			}
		}
		for _, b := range t.Boxes {
			if _, ok := m[b.ID]; ok && !seen[b.ID] {
				out, seen[b.ID] = append(out, b.ID), true
			}
		}
	}
	for _, k := range sortedKeys(m) {
		if !seen[k] {
			out = append(out, k)
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func (s *Server) pageViewer(c echo.Context) error {
	ref, err := refParam(c)
	if err != nil {
		return err
	}
	return s.showPage(c, ref, http.StatusOK, "", nil)
}

func (s *Server) showPage(c echo.Context, ref store.Ref, status int, errMsg string, tweak func(*pageView)) error {
	v, err := s.buildPage(ref)
	if err != nil {
		return err
	}
	v.Devices = s.devices(c.Request().Context())
	s.desk.mu.Lock()
	v.Device = s.desk.spec
	s.desk.mu.Unlock()
	if tweak != nil {
		tweak(v)
	}
	d := s.data(c, fmt.Sprintf("Страница %d · аудитория %s · ППЭ %s", ref.Seq, ref.Auditorium, ref.PPE))
	d.Error, d.Data = errMsg, v
	return s.render(c, status, "page", d)
}

// pageImage serves the page's current image: JPEG and PNG as stored,
// anything else (TIFF, PDF) decoded and sent as PNG.
func (s *Server) pageImage(c echo.Context) error {
	ref, err := refParam(c)
	if err != nil {
		return err
	}
	p, err := s.cfg.Store.Page(ref)
	if errors.Is(err, store.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	if err != nil {
		return err
	}
	data, err := s.cfg.Store.Image(p)
	if err != nil {
		return err
	}
	switch strings.ToLower(p.Format) {
	case "jpeg", "jpg":
		return c.Blob(http.StatusOK, "image/jpeg", data)
	case "png":
		return c.Blob(http.StatusOK, "image/png", data)
	}
	doc, err := imagein.FromBytes(data, p.File, imagein.Limits{})
	if err != nil {
		return fmt.Errorf("изображение страницы %d не открывается: %w", ref.Seq, err)
	}
	defer doc.Close()
	m, _, err := doc.Page(0)
	if err != nil {
		return fmt.Errorf("изображение страницы %d не открывается: %w", ref.Seq, err)
	}
	defer m.Close()
	buf, err := gocv.IMEncode(gocv.PNGFileExt, m)
	if err != nil {
		return err
	}
	defer buf.Close()
	return c.Blob(http.StatusOK, "image/png", buf.GetBytes())
}

func (s *Server) pageDelete(c echo.Context) error {
	ref, err := refParam(c)
	if err != nil {
		return err
	}
	reason := strings.TrimSpace(c.FormValue("reason"))
	if msg := s.stale(ref, c.FormValue("rev")); msg != "" {
		return s.showPage(c, ref, http.StatusConflict, msg, nil)
	}
	if reason == "" {
		return s.showPage(c, ref, http.StatusUnprocessableEntity, "Не указана причина удаления: впишите её, например «повторный скан», и нажмите «Удалить». Ничего не изменено.", nil)
	}
	if c.FormValue("confirmed") != "yes" {
		return s.showPage(c, ref, http.StatusOK, "", func(v *pageView) {
			v.Confirm = true
			v.Form["reason"] = reason
		})
	}
	if _, err := s.ops().Delete(sessionOf(c).login, ref, reason); err != nil {
		if ops.IsInput(err) {
			return s.showPage(c, ref, http.StatusUnprocessableEntity, opMessage(err), nil)
		}
		return err
	}
	return c.Redirect(http.StatusSeeOther, withFlash(auditoriumURL(ref.Place), fmt.Sprintf("Страница %d удалена: %s.", ref.Seq, reason)))
}

func (s *Server) pageMove(c echo.Context) error {
	ref, err := refParam(c)
	if err != nil {
		return err
	}
	to := strings.TrimSpace(c.FormValue("to"))
	keep := func(v *pageView) { v.Form["to"] = to; v.Form["move_reason"] = c.FormValue("reason") }
	if msg := s.stale(ref, c.FormValue("rev")); msg != "" {
		return s.showPage(c, ref, http.StatusConflict, msg, keep)
	}
	if !fourDigits.MatchString(to) {
		return s.showPage(c, ref, http.StatusUnprocessableEntity,
			fmt.Sprintf("Номер аудитории «%s» неверен: нужно ровно 4 цифры, например 0012. Ничего не изменено.", to), keep)
	}
	rec, err := s.ops().Move(c.Request().Context(), sessionOf(c).login, ref, to, strings.TrimSpace(c.FormValue("reason")))
	if err != nil {
		if ops.IsInput(err) {
			return s.showPage(c, ref, http.StatusUnprocessableEntity, opMessage(err), keep)
		}
		return err
	}
	return c.Redirect(http.StatusSeeOther, withFlash(pageURL(rec.Ref), fmt.Sprintf("Страница перенесена из аудитории %s в аудиторию %s (страница %d).", ref.Auditorium, to, rec.Seq)))
}

func (s *Server) pageIdentify(c echo.Context) error {
	ref, err := refParam(c)
	if err != nil {
		return err
	}
	barcode := strings.TrimSpace(c.FormValue("barcode"))
	kit := strings.TrimSpace(c.FormValue("kit"))
	keep := func(v *pageView) {
		v.Form["barcode"], v.Form["kit"], v.Form["sheet"] = barcode, kit, c.FormValue("sheet")
	}
	if msg := s.stale(ref, c.FormValue("rev")); msg != "" {
		return s.showPage(c, ref, http.StatusConflict, msg, keep)
	}
	sheet := 0
	if sh := strings.TrimSpace(c.FormValue("sheet")); sh != "" {
		if sheet, err = strconv.Atoi(sh); err != nil {
			return s.showPage(c, ref, http.StatusUnprocessableEntity, "Номер листа — не число: введите номер из заголовка листа, например 3. Ничего не изменено.", keep)
		}
	}
	if _, err := s.ops().Identify(sessionOf(c).login, ref, barcode, kit, sheet); err != nil {
		if ops.IsInput(err) {
			return s.showPage(c, ref, http.StatusUnprocessableEntity, opMessage(err), keep)
		}
		return err
	}
	return c.Redirect(http.StatusSeeOther, withFlash(pageURL(ref), "Лист опознан по штрихкоду "+barcode+"."))
}
