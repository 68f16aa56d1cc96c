package web

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"giascan/forms"
	"giascan/station/ops"
	"giascan/station/store"
	"giascan/station/users"
)

// registerForm1302 adds the head's screen that confirms the recognised
// ППЭ-13-02-МАШ of a ППЭ: the counts the board compares the scans with.
func (s *Server) registerForm1302(in *echo.Group) {
	in.GET("/form1302/:ppe", s.form1302Page, s.allow(users.ConfirmForm))
	in.POST("/form1302/:ppe", s.form1302Confirm, s.csrf, s.allow(users.ConfirmForm))
}

// formColumns are the table fields of a ППЭ-13-02-МАШ row, left to right,
// with their column headings.
var formColumns = []struct{ ID, Name string }{
	{"auditorium", "Аудитория"}, {"listed", "По списку"}, {"present", "Явились"}, {"absent", "Не явились"},
	{"removed", "Удалены"}, {"unfinished", "Не закончили"}, {"bo1", "БО №1"}, {"bo2s1", "БО №2 л. 1"},
	{"bo2s2", "БО №2 л. 2"}, {"dbo2", "ДБО №2"}, {"defective", "Брак"},
}

// formHeader are the header fields of the form.
var formHeader = []struct{ ID, Name string }{
	{"region", "Регион"}, {"ppe", "Код ППЭ"}, {"subject", "Предмет"}, {"date", "Дата (ДДММГГ)"},
}

type formCell struct {
	ID, Name, Value string
	Label           string // the field's full Russian name
	Cells           int
	Wait            bool
	// Left and Width place the input under its field in the row's image
	// strip, in percent of the strip's width.
	Left, Width string
}

type formRowView struct {
	Row      int
	Cells    []formCell
	Crop     forms.Rect
	Marks    []forms.Rect // the uncertain fields within the crop
	Geometry geometry
}

// ViewBox is the crop's SVG viewBox.
func (r formRowView) ViewBox() string {
	return fmt.Sprintf("%g %g %g %g", r.Crop.X, r.Crop.Y, r.Crop.W, r.Crop.H)
}

type formView struct {
	PPE     string
	Ref     store.Ref
	Rev     int
	URL     string
	Pages   []store.Ref // every scanned ППЭ-13-02-МАШ of the ППЭ
	Header  formRowView
	Rows    []formRowView
	Columns []string
	Wait    int // uncertain fields
	Notes   []string
	Saved   *store.Form1302
	SavedAt string
}

// formPages finds the scanned ППЭ-13-02-МАШ pages of a ППЭ, in scan order.
func (s *Server) formPages(ppe string) ([]store.Page, error) {
	places, err := s.cfg.Store.Places()
	if err != nil {
		return nil, err
	}
	var out []store.Page
	for _, pl := range places {
		if pl.PPE != ppe {
			continue
		}
		pages, err := s.cfg.Store.Pages(pl)
		if err != nil {
			return nil, err
		}
		for _, p := range pages {
			if p.Status == store.Active && p.Result != nil && p.Result.Type == forms.TypePPE1302 {
				out = append(out, p)
			}
		}
	}
	return out, nil
}

// pickForm chooses the page the screen shows: the one the request names
// (aud and seq), else the last scanned.
func pickForm(pages []store.Page, aud, seq string) (store.Page, bool) {
	if len(pages) == 0 {
		return store.Page{}, false
	}
	for _, p := range pages {
		if p.Ref.Auditorium == aud && strconv.Itoa(p.Ref.Seq) == seq {
			return p, true
		}
	}
	return pages[len(pages)-1], true
}

// buildForm lays out the recognised form of page p with the values of
// typed (field id → what the person entered) over what was read.
func (s *Server) buildForm(ppe string, pages []store.Page, p store.Page, typed map[string]string) (*formView, error) {
	v := &formView{PPE: ppe, Ref: p.Ref, Rev: p.Rev, URL: pageURL(p.Ref)}
	for _, c := range formColumns {
		v.Columns = append(v.Columns, c.Name)
	}
	for _, q := range pages {
		v.Pages = append(v.Pages, q.Ref)
	}
	f, err := s.ops().FormOf(p.Ref, nil)
	if err != nil {
		return nil, err
	}
	v.Notes = f.Notes
	wait := map[string]bool{}
	for _, id := range f.Uncertain {
		wait[id] = true
	}
	v.Wait = len(f.Uncertain)
	t := templateOf(p.Result)
	g := s.geometryOf(p)
	value := func(id string) string {
		if x, ok := typed[id]; ok {
			return x
		}
		return strings.Trim(p.Result.Digits[id], "?")
	}
	cellsOf := func(id string) int {
		if t != nil {
			if df, ok := t.Field(id); ok {
				return df.Cells
			}
		}
		return 4
	}
	crop := func(rv *formRowView, ids []string) {
		rv.Geometry = g
		rv.Crop = forms.Rect{W: g.W, H: g.H}
		if t == nil {
			return
		}
		var u forms.Rect
		for _, id := range ids {
			r, ok := fieldRect(t, id)
			if !ok {
				continue
			}
			if wait[id] {
				rv.Marks = append(rv.Marks, r)
			}
			if u.W == 0 {
				u = r
				continue
			}
			x1, y1 := max(u.X+u.W, r.X+r.W), max(u.Y+u.H, r.Y+r.H)
			u.X, u.Y = min(u.X, r.X), min(u.Y, r.Y)
			u.W, u.H = x1-u.X, y1-u.Y
		}
		if u.W > 0 {
			rv.Crop = forms.Rect{X: u.X - 3, Y: u.Y - 3, W: u.W + 6, H: u.H + 6}
		}
		for i := range rv.Cells {
			if r, ok := fieldRect(t, rv.Cells[i].ID); ok && rv.Crop.W > 0 {
				rv.Cells[i].Left = pct((r.X - rv.Crop.X) / rv.Crop.W)
				rv.Cells[i].Width = pct(r.W / rv.Crop.W)
			}
		}
	}
	var ids []string
	for _, h := range formHeader {
		v.Header.Cells = append(v.Header.Cells, formCell{ID: h.ID, Name: h.Name, Value: value(h.ID), Cells: cellsOf(h.ID), Wait: wait[h.ID]})
		ids = append(ids, h.ID)
	}
	crop(&v.Header, ids)
	for _, r := range f.Rows {
		rv := formRowView{Row: r.Row}
		ids = ids[:0]
		for _, c := range formColumns {
			id := fmt.Sprintf("row%02d.%s", r.Row, c.ID)
			rv.Cells = append(rv.Cells, formCell{ID: id, Name: c.Name, Label: ops.FieldName(forms.TypePPE1302, id), Value: value(id), Cells: cellsOf(id), Wait: wait[id]})
			ids = append(ids, id)
		}
		crop(&rv, ids)
		v.Rows = append(v.Rows, rv)
	}
	all, err := s.cfg.Store.Forms1302()
	if err != nil {
		return nil, err
	}
	if saved, ok := all[ppe]; ok {
		v.Saved = &saved
		v.SavedAt = saved.At.In(s.cfg.Location).Format("02.01.2006 15:04")
	}
	return v, nil
}

func (s *Server) form1302Page(c echo.Context) error {
	return s.showForm(c, http.StatusOK, "", nil)
}

// showForm renders the screen; typed keeps what the person entered when a
// confirmation is refused.
func (s *Server) showForm(c echo.Context, status int, errMsg string, typed map[string]string) error {
	ppe := c.Param("ppe")
	if !fourDigits.MatchString(ppe) {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	pages, err := s.formPages(ppe)
	if err != nil {
		return err
	}
	p, ok := pickForm(pages, c.QueryParam("aud"), c.QueryParam("seq"))
	if c.Request().Method == http.MethodPost {
		p, ok = pickForm(pages, c.FormValue("aud"), c.FormValue("seq"))
	}
	if !ok {
		// Nothing scanned to confirm: the values come from the paper form.
		return c.Redirect(http.StatusSeeOther, "/form1302/"+ppe+"/typed")
	}
	v, err := s.buildForm(ppe, pages, p, typed)
	if err != nil {
		if ops.IsInput(err) {
			return s.problem(c, http.StatusConflict, "Форма ППЭ-13-02-МАШ не прочитана", opMessage(err))
		}
		return err
	}
	d := s.data(c, "ППЭ-13-02-МАШ · ППЭ "+ppe)
	d.Error, d.Data = errMsg, v
	return s.render(c, status, "form1302", d)
}

// fieldName is a field id of the form as a person reads it, quoted.
func fieldName(id string) string {
	return "«" + ops.FieldName(forms.TypePPE1302, id) + "»"
}

// pct writes a fraction as a CSS percentage.
func pct(f float64) string { return strconv.FormatFloat(100*f, 'f', 3, 64) + "%" }

func (s *Server) form1302Confirm(c echo.Context) error {
	ppe := c.Param("ppe")
	if !fourDigits.MatchString(ppe) {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	aud, seqText := c.FormValue("aud"), c.FormValue("seq")
	seq, err := strconv.Atoi(seqText)
	if !fourDigits.MatchString(aud) || err != nil || seq < 1 {
		return s.showForm(c, http.StatusUnprocessableEntity, "В форме нет номера страницы: обновите страницу и повторите. Ничего не изменено.", nil)
	}
	ref := store.Ref{Place: store.Place{PPE: ppe, Auditorium: aud}, Seq: seq}
	if msg := s.stale(ref, c.FormValue("rev")); msg != "" {
		return s.showForm(c, http.StatusConflict, msg, nil)
	}
	p, err := s.cfg.Store.Page(ref)
	if err != nil {
		return err
	}
	if p.Result == nil || p.Result.Type != forms.TypePPE1302 {
		return s.showForm(c, http.StatusUnprocessableEntity, fmt.Sprintf("Страница %d аудитории %s — не форма ППЭ-13-02-МАШ. Ничего не изменено.", seq, aud), nil)
	}
	before, err := s.ops().FormOf(ref, nil)
	if err != nil {
		if ops.IsInput(err) {
			return s.showForm(c, http.StatusUnprocessableEntity, opMessage(err), nil)
		}
		return err
	}
	wait := map[string]bool{}
	for _, id := range before.Uncertain {
		wait[id] = true
	}
	// set holds what the person entered for uncertain fields and every
	// value that differs from what was read; typed keeps it all for a
	// refusal.
	set, typed := map[string]string{}, map[string]string{}
	var bad []string
	for _, id := range sortedKeys(p.Result.Digits) {
		raw, sent := c.Request().PostForm[id]
		if !sent || len(raw) == 0 {
			continue
		}
		x := strings.TrimSpace(raw[0])
		typed[id] = x
		if strings.Trim(x, "0123456789") != "" {
			bad = append(bad, fieldName(id)+" «"+x+"»")
			continue
		}
		switch {
		case wait[id] && x != "":
			set[id] = x
		case !wait[id] && x != p.Result.Digits[id]:
			set[id] = x
		}
	}
	if len(bad) > 0 {
		return s.showForm(c, http.StatusUnprocessableEntity,
			"Не цифры: "+strings.Join(bad, ", ")+". Введите числа с бумажной формы. Ничего не изменено.", typed)
	}
	after, err := s.ops().FormOf(ref, set)
	if err != nil {
		if ops.IsInput(err) {
			return s.showForm(c, http.StatusUnprocessableEntity, opMessage(err), typed)
		}
		return err
	}
	if len(after.Uncertain) > 0 {
		u := slices.Clone(after.Uncertain)
		slices.Sort(u)
		names := make([]string, len(u))
		for i, id := range u {
			names[i] = fieldName(id)
		}
		msg := "Не подтверждены поля: " + strings.Join(names, ", ") + ". Сверьте их с бумажной формой и введите значения в подсвеченные поля."
		if ex, err := s.cfg.Store.Exam(); err == nil {
			for _, id := range u {
				v, ok := set[id]
				if !ok {
					v = p.Result.Digits[id]
				}
				if why := ops.Foreign(ex, ref, forms.TypePPE1302, id, v); why != "" {
					msg += " " + sentence(why)
				}
			}
		}
		return s.showForm(c, http.StatusUnprocessableEntity, msg+" Ничего не изменено.", typed)
	}
	if _, err := s.ops().ConfirmForm1302(sessionOf(c).login, ref, set); err != nil {
		if ops.IsInput(err) {
			return s.showForm(c, http.StatusUnprocessableEntity, opMessage(err), typed)
		}
		return err
	}
	return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/form1302/%s?aud=%s&seq=%d&ok=%s", ppe, aud, seq, url.QueryEscape("Данные ППЭ-13-02-МАШ подтверждены.")))
}
