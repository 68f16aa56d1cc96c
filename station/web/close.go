package web

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"giascan/station/ops"
	"giascan/station/packaging"
	"giascan/station/reconcile"
	"giascan/station/store"
	"giascan/station/users"
)

// ActionProtocolSign is the audit action of a head signing off a ППЭ's
// ППЭ-15 protocol in the web interface.
const ActionProtocolSign = "protocol.sign"

// kindNames are the Russian names of the report's problems.
var kindNames = map[string]string{
	reconcile.KindMissing:            "не хватает листа",
	reconcile.KindChainGap:           "пропуск в нумерации ДБО №2",
	reconcile.KindDuplicateScan:      "лист отсканирован дважды",
	reconcile.KindDuplicateBarcode:   "два листа с одним штрихкодом",
	reconcile.KindForeign:            "лист другой аудитории или ППЭ",
	reconcile.KindUnknownKit:         "комплект не из плана аудитории",
	reconcile.KindUnreadable:         "лист не опознан",
	reconcile.KindCountMismatch:      "число бланков не совпадает с ППЭ-13-02-МАШ",
	reconcile.KindRemovedMismatch:    "отметка «удалён» не совпадает с ППЭ-13-02-МАШ",
	reconcile.KindUnfinishedMismatch: "отметка «не закончил» не совпадает с ППЭ-13-02-МАШ",
	reconcile.KindNeedsReview:        "значения ждут проверки",
	reconcile.KindFormMissing:        "ППЭ-13-02-МАШ не подтверждена",
}

func auditoriumURL(p store.Place) string { return "/auditorium/" + p.PPE + "/" + p.Auditorium }

type problemItem struct {
	Kind, Name, Detail, Link string
	Seq                      int
}

type auditoriumView struct {
	Place      store.Place
	Status     string
	StatusName string
	Reason     string
	Problems   []problemItem
	Pages      []pageRow
	CanClose   bool
	CanFix     bool
	Closed     bool
	ReasonForm string
}

type pageRow struct {
	Seq    int
	URL    string
	Type   string
	Review bool
	Active bool
	Reason string
}

func (s *Server) buildAuditorium(place store.Place, role users.Role) (*auditoriumView, error) {
	rep, err := ops.Report(s.cfg.Store)
	if err != nil {
		return nil, fmt.Errorf("отчёт о сверке не построен (%v): проверьте папку данных командой station report", err)
	}
	a := ops.FindAuditorium(rep, place)
	if a == nil {
		return nil, echo.NewHTTPError(http.StatusNotFound)
	}
	v := &auditoriumView{Place: place, Status: a.Status, StatusName: statusNames[a.Status], Reason: a.Reason,
		CanClose: users.Can(role, users.CloseAud), CanFix: users.Can(role, users.Fix), Closed: a.Status == reconcile.StatusClosed}
	for _, p := range a.Problems {
		it := problemItem{Kind: p.Kind, Name: kindNames[p.Kind], Detail: p.Detail, Seq: p.Seq}
		if it.Name == "" {
			it.Name = p.Kind
		}
		if p.Seq > 0 {
			it.Link = pageURL(store.Ref{Place: place, Seq: p.Seq})
		}
		v.Problems = append(v.Problems, it)
	}
	pages, err := s.cfg.Store.Pages(place)
	if err != nil {
		return nil, err
	}
	for _, p := range pages {
		r := pageRow{Seq: p.Seq, URL: pageURL(p.Ref), Active: p.Status == store.Active, Reason: p.Reason, Type: "не распознана"}
		if t := templateOf(p.Result); t != nil {
			r.Type = t.Name
		} else if p.Result != nil && p.Result.Error == "" && p.Result.Type == "" {
			r.Type = "не опознана"
		}
		r.Review = p.Result != nil && p.Result.NeedsReview
		v.Pages = append(v.Pages, r)
	}
	return v, nil
}

func (s *Server) auditoriumPage(c echo.Context) error {
	place := store.Place{PPE: c.Param("ppe"), Auditorium: c.Param("aud")}
	if !fourDigits.MatchString(place.PPE) || !fourDigits.MatchString(place.Auditorium) {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	return s.showAuditorium(c, place, http.StatusOK, "", "")
}

func (s *Server) showAuditorium(c echo.Context, place store.Place, status int, errMsg, reason string) error {
	v, err := s.buildAuditorium(place, sessionOf(c).role)
	if err != nil {
		return err
	}
	v.ReasonForm = reason
	d := s.data(c, "Аудитория "+place.Auditorium+" · ППЭ "+place.PPE)
	d.Error, d.Data = errMsg, v
	return s.render(c, status, "close", d)
}

func (s *Server) closeAuditorium(c echo.Context) error {
	place := store.Place{PPE: c.FormValue("ppe"), Auditorium: c.FormValue("aud")}
	if !fourDigits.MatchString(place.PPE) || !fourDigits.MatchString(place.Auditorium) {
		return s.problem(c, http.StatusUnprocessableEntity, "Аудитория не указана",
			"В форме нет номера ППЭ или аудитории из 4 цифр: вернитесь к ходу экзамена и откройте аудиторию заново. Ничего не изменено.")
	}
	reason := strings.TrimSpace(c.FormValue("reason"))
	if _, err := s.ops().Close(sessionOf(c).login, place, reason); err != nil {
		if ops.IsInput(err) {
			return s.showAuditorium(c, place, http.StatusUnprocessableEntity, opMessage(err), reason)
		}
		return err
	}
	return c.Redirect(http.StatusSeeOther, withFlash(auditoriumURL(place), "Аудитория "+place.Auditorium+" закрыта."))
}

// ----- sign-off -----

type signoffView struct {
	PPE     string
	Auds    []audView
	Open    []string // auditoriums not yet closed
	CanSign bool
	Signed  string
}

func (s *Server) buildSignoff(ppe string, role users.Role) (*signoffView, error) {
	rep, err := ops.Report(s.cfg.Store)
	if err != nil {
		return nil, fmt.Errorf("отчёт о сверке не построен (%v): проверьте папку данных командой station report", err)
	}
	v := &signoffView{PPE: ppe, CanSign: users.Can(role, users.SignProtocol)}
	found := false
	for _, p := range rep.PPE {
		if p.Code != ppe {
			continue
		}
		found = true
		for _, a := range p.Auditoriums {
			v.Auds = append(v.Auds, audView{Number: a.Number, Status: a.Status, StatusName: statusNames[a.Status], Problems: len(a.Problems), Reason: a.Reason})
			if a.Status != reconcile.StatusClosed {
				v.Open = append(v.Open, a.Number)
			}
		}
	}
	if !found {
		return nil, echo.NewHTTPError(http.StatusNotFound)
	}
	return v, nil
}

func (s *Server) signoffPage(c echo.Context) error {
	return s.showSignoff(c, http.StatusOK, "")
}

func (s *Server) showSignoff(c echo.Context, status int, errMsg string) error {
	ppe := c.Param("ppe")
	if !fourDigits.MatchString(ppe) {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	v, err := s.buildSignoff(ppe, sessionOf(c).role)
	if err != nil {
		return err
	}
	d := s.data(c, "Протокол ППЭ-15 · ППЭ "+ppe)
	d.Error, d.Data = errMsg, v
	return s.render(c, status, "signoff", d)
}

// signoffPDF prints the ППЭ-15 over the ППЭ's summary, as `station
// protocol print` does, for the head to look at and print.
func (s *Server) signoffPDF(c echo.Context) error {
	ppe := c.Param("ppe")
	if !fourDigits.MatchString(ppe) {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	rep, err := ops.Report(s.cfg.Store)
	if err != nil {
		return err
	}
	p := &packaging.Packager{Store: s.cfg.Store, Data: s.cfg.Store.Dir(), Profile: packaging.Bilevel}
	pdf, _, err := p.PrintProtocol(ppe, rep)
	if err != nil {
		return s.problem(c, http.StatusConflict, "Протокол ППЭ-15 не сформирован",
			fmt.Sprintf("Протокол не сформирован: %v. Закройте и упакуйте все аудитории ППЭ, затем повторите.", err))
	}
	c.Response().Header().Set("Content-Disposition", `inline; filename="ppe15-`+ppe+`.pdf"`)
	return c.Blob(http.StatusOK, "application/pdf", pdf)
}

func (s *Server) signoff(c echo.Context) error {
	ppe := c.Param("ppe")
	if !fourDigits.MatchString(ppe) {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	v, err := s.buildSignoff(ppe, sessionOf(c).role)
	if err != nil {
		return err
	}
	if len(v.Open) > 0 {
		return s.showSignoff(c, http.StatusConflict,
			fmt.Sprintf("Не закрыты аудитории: %s. Закройте их, затем подпишите протокол. Ничего не изменено.", strings.Join(v.Open, ", ")))
	}
	if c.FormValue("agree") != "yes" {
		return s.showSignoff(c, http.StatusUnprocessableEntity,
			"Отметьте «Сведения протокола проверены», затем нажмите «Подписать». Ничего не изменено.")
	}
	auds := make([]string, 0, len(v.Auds))
	for _, a := range v.Auds {
		auds = append(auds, a.Number)
	}
	if err := s.record(sessionOf(c).login, ActionProtocolSign, "", map[string]any{"ppe": ppe, "auditoriums": auds}); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, withFlash("/signoff/"+ppe, "Протокол ППЭ-15 ППЭ "+ppe+" подписан руководителем; запись внесена в журнал аудита."))
}
