package web

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"giascan/forms"
	"giascan/station"
	"giascan/station/exam"
	"giascan/station/serials"
	"giascan/station/store"
	"giascan/station/users"
)

// registerPrint adds the printing page: numbered kits, ДБО №2, blank ППЭ
// forms and the calibration sheet as PDF downloads. Viewing the page
// prints nothing; each print is a POST, because it spends serials and kit
// numbers for good and is recorded in the audit log.
func (s *Server) registerPrint(in *echo.Group) {
	in.GET("/print", s.printPage, s.allow(users.Scan))
	in.GET("/print/calibration.pdf", s.calibrationPDF, s.allow(users.Scan))
	in.POST("/print/kits", s.printKits, s.csrf, s.allow(users.Scan))
	in.POST("/print/dbo", s.printDBO, s.csrf, s.allow(users.Scan))
	in.POST("/print/form", s.printForm, s.csrf, s.allow(users.Scan))
}

// printPlace is an auditorium the page offers, with its planned kits.
type printPlace struct {
	Value string // "PPE/AUD"
	Kits  int
}

// printJobView is one earlier print job, newest first.
type printJobView struct {
	When, What, Place, Serials, Kits, Status string
	Failed                                   bool
}

// printView is the printing page.
type printView struct {
	NoExam bool
	Exam   examView
	Places []printPlace
	PPE    []string
	Forms  []printFormChoice
	Jobs   []printJobView
	// Form keeps what was typed when a request is refused.
	Form map[string]string
}

type printFormChoice struct{ Type, Name string }

func (s *Server) printPage(c echo.Context) error {
	return s.showPrint(c, http.StatusOK, "", nil)
}

func (s *Server) showPrint(c echo.Context, status int, errMsg string, typed map[string]string) error {
	v := printView{Form: typed}
	ex, err := s.cfg.Store.Exam()
	switch {
	case errors.Is(err, store.ErrNoExam):
		v.NoExam = true
	case err != nil:
		return err
	default:
		v.Exam = viewExam(ex)
		for _, p := range ex.PPE {
			v.PPE = append(v.PPE, p.Code)
			for _, a := range p.Auditoriums {
				v.Places = append(v.Places, printPlace{Value: p.Code + "/" + a.Number, Kits: len(a.Kits)})
			}
		}
	}
	for _, t := range station.PrintableForms {
		v.Forms = append(v.Forms, printFormChoice{Type: t, Name: pageTypeNames[t]})
	}
	jobs, err := serials.Jobs(string(s.cfg.App.Dir))
	if err != nil {
		return err
	}
	for i := len(jobs) - 1; i >= 0 && len(v.Jobs) < 20; i-- {
		v.Jobs = append(v.Jobs, viewPrintJob(jobs[i]))
	}
	sess := sessionOf(c)
	return s.render(c, status, "print", pageData{Title: "Печать бланков", Session: &sess, Error: errMsg,
		CanImport: users.Can(sess.role, users.ImportExam), Data: v})
}

func viewPrintJob(j serials.PrintJob) printJobView {
	v := printJobView{When: j.Allocated.Local().Format("02.01.2006 15:04"), Serials: j.Serials.String(), Status: "напечатано"}
	switch {
	case j.What == station.PrintKits:
		v.What = fmt.Sprintf("комплекты: %d", j.Kits.Count())
		v.Kits = j.Kits.String()
	case j.What == station.PrintDBO:
		v.What = fmt.Sprintf("ДБО №2 комплекта %s, листы с %d: %d", j.Kit, j.FirstSheet, j.Pages)
	default:
		t, _ := strings.CutPrefix(j.What, "form ")
		v.What = pageTypeNames[t]
		if v.What == "" {
			v.What = j.What
		}
	}
	v.Place = "ППЭ " + j.PPE
	if j.Auditorium != "" && j.Auditorium != "0000" {
		v.Place += ", аудитория " + j.Auditorium
	}
	switch j.Status {
	case serials.JobFailed:
		v.Status, v.Failed = "не напечатано: "+j.Error+" (номера не используются повторно)", true
	case serials.JobAllocated:
		v.Status, v.Failed = "прервано (номера не используются повторно)", true
	}
	return v
}

// printContext is the exam context of a request: the imported exam and
// the ППЭ (and auditorium) chosen from it.
func (s *Server) printContext(c echo.Context, withAuditorium bool) (forms.Identity, *exam.Exam, string) {
	ex, err := s.cfg.Store.Exam()
	if err != nil {
		return forms.Identity{}, nil, "Экзамен не импортирован: печатать бланки не для чего. Попросите руководителя ППЭ или администратора импортировать файл экзамена."
	}
	id := forms.Identity{Level: ex.Level, Region: ex.Region, Subject: ex.Subject, Date: ex.QRDate()}
	if withAuditorium {
		ppe, aud, _ := strings.Cut(c.FormValue("place"), "/")
		if ex.FindAuditorium(ppe, aud) == nil {
			return id, ex, "Выберите ППЭ и аудиторию из списка экзамена."
		}
		id.PPE, id.Auditorium = ppe, aud
	} else {
		ppe := c.FormValue("ppe")
		if ex.FindPPE(ppe) == nil {
			return id, ex, "Выберите ППЭ из списка экзамена."
		}
		id.PPE = ppe
	}
	return id, ex, ""
}

// typedOf keeps the fields of a refused request to show them again.
func typedOf(c echo.Context, fields ...string) map[string]string {
	m := map[string]string{}
	for _, f := range fields {
		m[f] = c.FormValue(f)
	}
	return m
}

// wholeNumber reads a count typed on the page; -1 when it is not one.
func wholeNumber(s string) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return -1
	}
	return n
}

func (s *Server) printKits(c echo.Context) error {
	typed := typedOf(c, "place", "count")
	id, _, msg := s.printContext(c, true)
	if msg != "" {
		return s.showPrint(c, http.StatusBadRequest, msg, typed)
	}
	n := wholeNumber(typed["count"])
	if n < 0 {
		return s.showPrint(c, http.StatusUnprocessableEntity, fmt.Sprintf("Число комплектов: введите целое число от 1 до %d.", station.MaxPrintKits), typed)
	}
	return s.print(c, station.PrintRequest{What: station.PrintKits, Exam: id, Count: n}, typed)
}

func (s *Server) printDBO(c echo.Context) error {
	typed := typedOf(c, "place", "kit", "sheet", "count")
	id, ex, msg := s.printContext(c, true)
	if msg != "" {
		return s.showPrint(c, http.StatusBadRequest, msg, typed)
	}
	id.Kit = strings.TrimSpace(typed["kit"])
	// A kit the seating plan puts elsewhere is the wrong participant's.
	if ppe, aud, ok := ex.FindKit(id.Kit); ok && (ppe != id.PPE || aud != id.Auditorium) {
		return s.showPrint(c, http.StatusUnprocessableEntity, fmt.Sprintf("Комплект %s по плану рассадки — в ППЭ %s, аудитории %s, а не в аудитории %s: проверьте номер комплекта на бланке ответов №1 участника.", id.Kit, ppe, aud, id.Auditorium), typed)
	}
	first, n := wholeNumber(typed["sheet"]), wholeNumber(typed["count"])
	if first < 0 || n < 0 {
		return s.showPrint(c, http.StatusUnprocessableEntity, "Номер первого листа и число листов — целые числа: первый дополнительный лист участника имеет номер 3.", typed)
	}
	return s.print(c, station.PrintRequest{What: station.PrintDBO, Exam: id, FirstSheet: first, Count: n}, typed)
}

func (s *Server) printForm(c echo.Context) error {
	typed := typedOf(c, "ppe", "form")
	id, _, msg := s.printContext(c, false)
	if msg != "" {
		return s.showPrint(c, http.StatusBadRequest, msg, typed)
	}
	return s.print(c, station.PrintRequest{What: station.PrintForm, Exam: id, Form: typed["form"]}, typed)
}

// print runs the station's print use case and sends the PDF as a
// download; a refusal shows the page again with what was typed.
func (s *Server) print(c echo.Context, req station.PrintRequest, typed map[string]string) error {
	if err := station.PlanPrint(req); err != nil {
		if station.IsInput(err) {
			return s.showPrint(c, http.StatusUnprocessableEntity, err.Error()+".", typed)
		}
		return err
	}
	var buf bytes.Buffer
	p, err := s.cfg.App.Print(c.Request().Context(), sessionOf(c).login, req, func(write func(io.Writer) error) error {
		return write(&buf)
	})
	if station.IsInput(err) {
		return s.showPrint(c, http.StatusUnprocessableEntity, err.Error()+".", typed)
	}
	if err != nil {
		return err
	}
	c.Response().Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"`, p.File))
	return c.Blob(http.StatusOK, "application/pdf", buf.Bytes())
}

// calibrationPDF is the scanner calibration sheet, printed before the
// exam and scanned for the readiness check. It spends no numbers.
func (s *Server) calibrationPDF(c echo.Context) error {
	var buf bytes.Buffer
	if err := station.CalibrationPDF(&buf); err != nil {
		return err
	}
	c.Response().Header().Set("Content-Disposition", `attachment; filename="calibration.pdf"`)
	return c.Blob(http.StatusOK, "application/pdf", buf.Bytes())
}
