package web

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"giascan/station"
	"giascan/station/acts"
	"giascan/station/users"
)

// The acts of a ППЭ (docs/acts.md): the operator writes incident acts from
// any auditorium or ППЭ page, the head signs them; the acceptance act and
// the list of removed and unfinished participants are made and printed
// here, and the signed acceptance act is loaded back. Every handler is a
// thin front end over the station's methods.

func (s *Server) registerActs(in *echo.Group) {
	in.GET("/acts/:ppe", s.actsPage, s.allow(users.ViewBoard))
	in.GET("/acts/:ppe/:file", s.actPDF, s.allow(users.ViewBoard))
	in.POST("/acts/:ppe/incident", s.fileIncident, s.csrf, s.allow(users.WriteActs))
	in.POST("/acts/:ppe/incident/:n/sign", s.signIncident, s.csrf, s.allow(users.SignActs))
	in.POST("/acts/:ppe/acceptance", s.makeAcceptance, s.csrf, s.allow(users.WriteActs))
	in.POST("/acts/:ppe/acceptance/match", s.matchAcceptance, s.csrf, s.allow(users.WriteActs))
	in.POST("/acts/:ppe/removed", s.makeRemoved, s.csrf, s.allow(users.WriteActs))
}

// actsView is what the acts page shows.
type actsView struct {
	*station.ActsOf
	Kinds       []acts.Kind
	Auditoriums []string
	CanWrite    bool
	CanSign     bool
	// Form holds what was typed when a form was refused, so nothing is
	// lost.
	Form map[string]string
}

// KindSelected tells whether kind k is the one typed last.
func (v actsView) KindSelected(k string) bool { return v.Form["kind"] == k }

func (s *Server) actsPage(c echo.Context) error {
	form := map[string]string{"auditorium": c.QueryParam("auditorium")}
	return s.showActs(c, http.StatusOK, "", form)
}

func (s *Server) showActs(c echo.Context, status int, errMsg string, form map[string]string) error {
	ppe := c.Param("ppe")
	if !fourDigits.MatchString(ppe) {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	a, err := s.cfg.App.PPEActs(ppe)
	if err != nil {
		if station.IsInput(err) {
			return s.problem(c, http.StatusNotFound, "Акты ППЭ "+ppe, opMessage(err))
		}
		return err
	}
	sess := sessionOf(c)
	v := actsView{ActsOf: a, Kinds: acts.Kinds, CanWrite: users.Can(sess.role, users.WriteActs), CanSign: users.Can(sess.role, users.SignActs), Form: form}
	if ex, err := s.cfg.Store.Exam(); err == nil {
		if p := ex.FindPPE(ppe); p != nil {
			for _, au := range p.Auditoriums {
				v.Auditoriums = append(v.Auditoriums, au.Number)
			}
		}
	}
	if v.Form == nil {
		v.Form = map[string]string{}
	}
	if a.Acceptance != nil && v.Form["envelopes"] == "" {
		// The counts entered last, so making the act again starts from them.
		rc := a.Acceptance.Received
		for k, n := range map[string]int{"envelopes": rc.Envelopes, "unused": rc.Unused, "spoiled": rc.Spoiled, "defective": rc.Defective, "used_kim": rc.UsedKIM} {
			v.Form[k] = strconv.Itoa(n)
		}
		v.Form["from"], v.Form["note"] = rc.From, rc.Note
	}
	d := s.data(c, "Акты ППЭ "+ppe)
	d.Error, d.Data = errMsg, v
	return s.render(c, status, "acts", d)
}

var reActPDF = regexp.MustCompile(`^(acceptance|removed-unfinished|incident-[1-9][0-9]*)\.pdf$`)

// actPDF shows a printed act; looking at it changes nothing.
func (s *Server) actPDF(c echo.Context) error {
	ppe, file := c.Param("ppe"), c.Param("file")
	if !fourDigits.MatchString(ppe) || !reActPDF.MatchString(file) {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	pdf, err := s.cfg.App.ActPDF(ppe, strings.TrimSuffix(file, ".pdf"))
	if err != nil {
		if station.IsInput(err) {
			return s.problem(c, http.StatusNotFound, "Акта нет", opMessage(err))
		}
		return err
	}
	c.Response().Header().Set("Content-Disposition", `inline; filename="`+ppe+"-"+file+`"`)
	return c.Blob(http.StatusOK, "application/pdf", pdf)
}

func (s *Server) fileIncident(c echo.Context) error {
	ppe := c.Param("ppe")
	sess := sessionOf(c)
	form := map[string]string{"auditorium": c.FormValue("auditorium"), "kind": c.FormValue("kind"), "text": c.FormValue("text")}
	in, err := s.cfg.App.FileIncident(c.Request().Context(), sess.login, sess.role, ppe, form["auditorium"], form["kind"], form["text"])
	if err != nil {
		if station.IsInput(err) {
			return s.showActs(c, http.StatusUnprocessableEntity, opMessage(err), form)
		}
		return err
	}
	return c.Redirect(http.StatusSeeOther, withFlash("/acts/"+ppe, fmt.Sprintf(
		"Акт № %d о нештатной ситуации (%s) сохранён и записан в журнал аудита. Распечатайте его и передайте руководителю на подпись.", in.N, in.KindName)))
}

func (s *Server) signIncident(c echo.Context) error {
	ppe := c.Param("ppe")
	n, err := strconv.Atoi(c.Param("n"))
	if err != nil || n < 1 {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	sess := sessionOf(c)
	in, first, err := s.cfg.App.SignIncident(c.Request().Context(), sess.login, sess.role, ppe, n, "web")
	if err != nil {
		if station.IsInput(err) {
			return s.showActs(c, http.StatusUnprocessableEntity, opMessage(err), nil)
		}
		return err
	}
	at := fmtTime(&in.Signed.At)
	msg := fmt.Sprintf("Акт № %d подписан руководителем (%s, %s); запись внесена в журнал аудита.", n, in.Signed.By, at)
	if !first {
		msg = fmt.Sprintf("Акт № %d уже подписан (%s, %s); подпись одна.", n, in.Signed.By, at)
	}
	return c.Redirect(http.StatusSeeOther, withFlash("/acts/"+ppe, msg))
}

// count reads a count typed into the acceptance form: empty is 0.
func count(c echo.Context, key, name string) (int, error) {
	v := strings.TrimSpace(c.FormValue(key))
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("в поле «%s» не число: впишите количество цифрами, например 0 или 12", name)
	}
	return n, nil
}

func (s *Server) makeAcceptance(c echo.Context) error {
	ppe := c.Param("ppe")
	form := map[string]string{}
	for _, k := range []string{"envelopes", "unused", "spoiled", "defective", "used_kim", "from", "note"} {
		form[k] = c.FormValue(k)
	}
	var rc acts.Received
	for _, f := range []struct {
		key, name string
		to        *int
	}{{"envelopes", "Конвертов с бланками", &rc.Envelopes}, {"unused", "Неиспользованные ЭМ", &rc.Unused}, {"spoiled", "Испорченные ЭМ", &rc.Spoiled},
		{"defective", "ЭМ с полиграфическими дефектами", &rc.Defective}, {"used_kim", "Использованные КИМ", &rc.UsedKIM}} {
		n, err := count(c, f.key, f.name)
		if err != nil {
			return s.showActs(c, http.StatusUnprocessableEntity, opMessage(err), form)
		}
		*f.to = n
	}
	rc.From, rc.Note = form["from"], form["note"]
	sess := sessionOf(c)
	a, _, err := s.cfg.App.MakeAcceptance(c.Request().Context(), sess.login, sess.role, ppe, rc)
	if err != nil {
		if station.IsInput(err) {
			return s.showActs(c, http.StatusUnprocessableEntity, opMessage(err), form)
		}
		return err
	}
	msg := fmt.Sprintf("Акт приёмки-передачи составлен (штрихкод %s). Откройте PDF, распечатайте, подпишите и загрузите скан подписанной копии.", a.Barcode)
	if n := len(a.Discrepancies); n > 0 {
		msg += fmt.Sprintf(" Расхождений: %d — они перечислены в акте.", n)
	}
	return c.Redirect(http.StatusSeeOther, withFlash("/acts/"+ppe, msg))
}

func (s *Server) matchAcceptance(c echo.Context) error {
	ppe := c.Param("ppe")
	data, file, ok, err := readUpload(c, "scan", maxBodyBytes)
	switch {
	case !ok:
		return s.showActs(c, http.StatusBadRequest, "Файл не выбран: выберите файл со сканом подписанного акта приёмки-передачи (JPEG, PNG, TIFF или PDF) и повторите. Ничего не изменено.", nil)
	case err != nil:
		return err
	}
	a, err := s.cfg.App.MatchAcceptance(c.Request().Context(), sessionOf(c).login, ppe, data, file)
	if err != nil {
		if station.IsInput(err) || errors.Is(err, acts.ErrNone) {
			return s.showActs(c, http.StatusUnprocessableEntity, opMessage(err), nil)
		}
		return err
	}
	return c.Redirect(http.StatusSeeOther, withFlash("/acts/"+ppe, fmt.Sprintf(
		"Скан подписанного акта приёмки-передачи (штрихкод %s) сверен и сохранён; он уйдёт в РЦОИ с пакетом ППЭ.", a.Barcode)))
}

func (s *Server) makeRemoved(c echo.Context) error {
	ppe := c.Param("ppe")
	sess := sessionOf(c)
	r, _, err := s.cfg.App.MakeRemoved(c.Request().Context(), sess.login, sess.role, ppe)
	if err != nil {
		if station.IsInput(err) {
			return s.showActs(c, http.StatusUnprocessableEntity, opMessage(err), nil)
		}
		return err
	}
	bad := r.Mismatches()
	msg := fmt.Sprintf("Ведомость составлена: бланков с отметками %d.", len(r.Rows))
	switch {
	case !r.FormConfirmed:
		msg += " ППЭ-13-02-МАШ не подтверждена: выверка не проведена — подтвердите форму и составьте ведомость заново."
	case bad > 0:
		msg += fmt.Sprintf(" Расхождений с ППЭ-13-02-МАШ: %d — сверьте бланки с формой.", bad)
	default:
		msg += " С ППЭ-13-02-МАШ сходится."
	}
	return c.Redirect(http.StatusSeeOther, withFlash("/acts/"+ppe, msg+" Откройте PDF и передайте руководителю."))
}
