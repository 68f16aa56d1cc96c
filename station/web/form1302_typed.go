package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"giascan/station/ops"
	"giascan/station/reconcile"
	"giascan/station/store"
	"giascan/station/users"
)

// When no ППЭ-13-02-МАШ was scanned (it came on paper only, or its scan is
// unreadable), the head types its rows from the paper form: one row per
// auditorium the exam plans for the ППЭ.

func (s *Server) registerForm1302Typed(in *echo.Group) {
	in.GET("/form1302/:ppe/typed", s.form1302TypedPage, s.allow(users.ConfirmForm))
	in.POST("/form1302/:ppe/typed", s.form1302Typed, s.csrf, s.allow(users.ConfirmForm))
}

// typedColumns are the counts of a row, in the paper form's order.
var typedColumns = []struct {
	ID, Name string
	field    func(*reconcile.Counts) *int
}{
	{"listed", "По списку", func(c *reconcile.Counts) *int { return &c.Listed }},
	{"present", "Явились", func(c *reconcile.Counts) *int { return &c.Present }},
	{"absent", "Не явились", func(c *reconcile.Counts) *int { return &c.Absent }},
	{"removed", "Удалены", func(c *reconcile.Counts) *int { return &c.Removed }},
	{"unfinished", "Не закончили", func(c *reconcile.Counts) *int { return &c.Unfinished }},
	{"bo1", "БО №1", func(c *reconcile.Counts) *int { return &c.BO1 }},
	{"bo2s1", "БО №2 л. 1", func(c *reconcile.Counts) *int { return &c.BO2S1 }},
	{"bo2s2", "БО №2 л. 2", func(c *reconcile.Counts) *int { return &c.BO2S2 }},
	{"dbo2", "ДБО №2", func(c *reconcile.Counts) *int { return &c.DBO2 }},
	{"defective", "Брак", func(c *reconcile.Counts) *int { return &c.Defective }},
}

type typedCell struct{ Name, Label, Value string }

type typedRow struct {
	Auditorium string
	Cells      []typedCell
}

type typedFormView struct {
	PPE     string
	Columns []string
	Rows    []typedRow
	Scanned bool // a scanned form exists: the other screen is the usual way
	Saved   *store.Form1302
}

func (s *Server) form1302TypedPage(c echo.Context) error {
	return s.showTypedForm(c, http.StatusOK, "", nil)
}

func (s *Server) showTypedForm(c echo.Context, status int, errMsg string, typed map[string]string) error {
	ppe := c.Param("ppe")
	if !fourDigits.MatchString(ppe) {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	ex, err := s.cfg.Store.Exam()
	if err != nil {
		return s.problem(c, http.StatusConflict, "Экзамен не импортирован", "Сначала импортируйте файл экзамена: строки формы — это аудитории из него.")
	}
	p := ex.FindPPE(ppe)
	if p == nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	v := typedFormView{PPE: ppe}
	if all, err := s.cfg.Store.Forms1302(); err == nil {
		if f, ok := all[ppe]; ok {
			v.Saved = &f
		}
	}
	if pages, err := s.formPages(ppe); err == nil && len(pages) > 0 {
		v.Scanned = true
	}
	for _, col := range typedColumns {
		v.Columns = append(v.Columns, col.Name)
	}
	for _, a := range p.Auditoriums {
		r := typedRow{Auditorium: a.Number}
		var saved reconcile.Counts
		if v.Saved != nil {
			saved = v.Saved.Rows[a.Number]
		}
		for _, col := range typedColumns {
			name := a.Number + "." + col.ID
			val := ""
			if v.Saved != nil {
				val = strconv.Itoa(*col.field(&saved))
			}
			if t, ok := typed[name]; ok {
				val = t
			}
			r.Cells = append(r.Cells, typedCell{Name: name, Label: "аудитория " + a.Number + ", " + strings.ToLower(col.Name), Value: val})
		}
		v.Rows = append(v.Rows, r)
	}
	d := s.data(c, "ППЭ-13-02-МАШ с бумаги · ППЭ "+ppe)
	d.Error, d.Data = errMsg, v
	return s.render(c, status, "form1302typed", d)
}

func (s *Server) form1302Typed(c echo.Context) error {
	ppe := c.Param("ppe")
	if !fourDigits.MatchString(ppe) {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	ex, err := s.cfg.Store.Exam()
	if err != nil {
		return s.problem(c, http.StatusConflict, "Экзамен не импортирован", "Сначала импортируйте файл экзамена.")
	}
	p := ex.FindPPE(ppe)
	if p == nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	typed := map[string]string{}
	rows := map[string]reconcile.Counts{}
	for _, a := range p.Auditoriums {
		var cnt reconcile.Counts
		for _, col := range typedColumns {
			name := a.Number + "." + col.ID
			raw := strings.TrimSpace(c.FormValue(name))
			typed[name] = raw
			if raw == "" {
				continue // an empty cell of the paper form is zero
			}
			n, err := strconv.Atoi(raw)
			if err != nil || n < 0 || n > 999 {
				return s.showTypedForm(c, http.StatusUnprocessableEntity,
					fmt.Sprintf("Аудитория %s, «%s»: %q — не число от 0 до 999. Введите число с бумажной формы. Ничего не сохранено.", a.Number, col.Name, raw), typed)
			}
			*col.field(&cnt) = n
		}
		rows[a.Number] = cnt
	}
	if _, err := s.ops().EnterForm1302(sessionOf(c).login, ppe, rows); err != nil {
		if ops.IsInput(err) {
			return s.showTypedForm(c, http.StatusUnprocessableEntity, opMessage(err), typed)
		}
		return err
	}
	return c.Redirect(http.StatusSeeOther, withFlash("/signoff/"+ppe, "Данные ППЭ-13-02-МАШ введены с бумажной формы и сохранены."))
}
