package web

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"giascan/station"
	"giascan/station/ops"
	"giascan/station/packaging"
	"giascan/station/reconcile"
	"giascan/station/store"
	"giascan/station/users"
)

// kindNames are the Russian names of the report's problems.
var kindNames = map[string]string{
	reconcile.KindMissing:            "не хватает листа",
	reconcile.KindChainGap:           "пропуск в нумерации ДБО №2",
	reconcile.KindDuplicateScan:      "лист отсканирован дважды",
	reconcile.KindDuplicateBarcode:   "два листа с одним штрихкодом",
	reconcile.KindForeign:            "чужой лист (другой аудитории, ППЭ или экзамена)",
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
	Life       *station.AuditoriumLife
	CanReopen  bool
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
	// ConfirmClose asks once more before closing with problems left.
	ConfirmClose bool
	// Attach is the КЕГЭ answer files and oral-answer audio.
	Attach *attachView
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
		return nil, fmt.Errorf("отчёт о сверке не построен (%v): обратитесь к техническому специалисту станции", err)
	}
	a := ops.FindAuditorium(rep, place)
	if a == nil {
		return nil, echo.NewHTTPError(http.StatusNotFound)
	}
	v := &auditoriumView{Place: place, Status: a.Status, StatusName: statusNames[a.Status], Reason: a.Reason,
		CanClose: users.Can(role, users.CloseAud), CanFix: users.Can(role, users.Fix), Closed: a.Status == reconcile.StatusClosed,
		CanReopen: users.Can(role, users.Reopen)}
	if life, err := s.cfg.App.Life(); err == nil {
		for _, p := range life {
			for _, al := range p.Auditoriums {
				if p.PPE == place.PPE && al.Auditorium == place.Auditorium {
					al := al
					v.Life = &al
				}
			}
		}
	}
	for _, p := range ops.ProblemsOf(rep, place) {
		it := problemItem{Kind: p.Kind, Name: kindNames[p.Kind], Detail: p.Detail, Seq: p.Seq}
		if it.Name == "" {
			it.Name = p.Kind
		}
		if p.Seq > 0 {
			it.Link = pageURL(store.Ref{Place: place, Seq: p.Seq})
		}
		v.Problems = append(v.Problems, it)
	}
	v.Attach = s.buildAttach(place, role, v.Closed)
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
	if reason != "" && c.FormValue("confirmed") != "yes" {
		// Closing with problems left sends them to the РЦОИ: the person
		// sees the list once more and confirms.
		v, err := s.buildAuditorium(place, sessionOf(c).role)
		if err != nil {
			return err
		}
		if len(v.Problems) > 0 && !v.Closed {
			v.ReasonForm, v.ConfirmClose = reason, true
			d := s.data(c, "Аудитория "+place.Auditorium+" · ППЭ "+place.PPE)
			d.Data = v
			return s.render(c, http.StatusOK, "close", d)
		}
	}
	cl, err := s.cfg.App.CloseAuditorium(c.Request().Context(), sessionOf(c).login, place, reason)
	if err != nil {
		if station.IsInput(err) {
			return s.showAuditorium(c, place, http.StatusUnprocessableEntity, opMessage(err), reason)
		}
		return err
	}
	msg := "Аудитория " + place.Auditorium + " закрыта, пакет " + sealedName(cl) + " запечатан."
	if cl.SealErr == nil && cl.Sealed.Reused {
		msg = "Аудитория " + place.Auditorium + " закрыта; пакет " + sealedName(cl) + " уже был запечатан, его страницы не изменились."
	}
	if cl.SealErr != nil {
		msg = "Аудитория " + place.Auditorium + " закрыта; пакет пока не запечатан (" + opMessage(cl.SealErr) + "), станция запечатает его сама."
	}
	return c.Redirect(http.StatusSeeOther, withFlash(auditoriumURL(place), msg))
}

func sealedName(cl *station.Closed) string {
	if cl.Sealed == nil {
		return ""
	}
	return cl.Sealed.Manifest.Name()
}

// reopenAuditorium is the head opening a closed auditorium again.
func (s *Server) reopenAuditorium(c echo.Context) error {
	place := store.Place{PPE: c.FormValue("ppe"), Auditorium: c.FormValue("aud")}
	if !fourDigits.MatchString(place.PPE) || !fourDigits.MatchString(place.Auditorium) {
		return s.problem(c, http.StatusUnprocessableEntity, "Аудитория не указана",
			"В форме нет номера ППЭ или аудитории из 4 цифр: вернитесь к ходу экзамена и откройте аудиторию заново. Ничего не изменено.")
	}
	sess := sessionOf(c)
	reason := strings.TrimSpace(c.FormValue("reason"))
	if _, err := s.cfg.App.Reopen(sess.login, sess.role, place, reason); err != nil {
		if station.IsInput(err) {
			return s.showAuditorium(c, place, http.StatusUnprocessableEntity, opMessage(err), "")
		}
		return err
	}
	return c.Redirect(http.StatusSeeOther, withFlash(auditoriumURL(place),
		"Аудитория "+place.Auditorium+" открыта заново. После исправлений закройте её: запечатается новая версия пакета, и РЦОИ получит её взамен прежней."))
}

// ----- sign-off -----

type signoffView struct {
	Life    *station.PPELife
	Printed bool
	Signed  bool // the ППЭ-15 over the packages as they stand is signed
	PPE     string
	Auds    []audView
	Open    []string // auditoriums not yet closed
	CanSign bool
}

func (s *Server) buildSignoff(ppe string, role users.Role) (*signoffView, error) {
	rep, err := ops.Report(s.cfg.Store)
	if err != nil {
		return nil, fmt.Errorf("отчёт о сверке не построен (%v): обратитесь к техническому специалисту станции", err)
	}
	v := &signoffView{PPE: ppe, CanSign: users.Can(role, users.SignProtocol)}
	found := false
	for _, p := range rep.PPE {
		if p.Code != ppe {
			continue
		}
		found = true
		for _, a := range p.Auditoriums {
			v.Auds = append(v.Auds, audView{Number: a.Number, Status: a.Status, StatusName: statusNames[a.Status], Problems: len(ops.ProblemsOf(rep, store.Place{PPE: ppe, Auditorium: a.Number})), Reason: a.Reason})
			if a.Status != reconcile.StatusClosed {
				v.Open = append(v.Open, a.Number)
			}
		}
	}
	if !found {
		return nil, echo.NewHTTPError(http.StatusNotFound)
	}
	if life, err := s.cfg.App.Life(); err == nil {
		for _, p := range life {
			if p.PPE == ppe {
				p := p
				v.Life = &p
				v.Printed = p.PrintedAt != nil
				v.Signed = p.Signoff != nil
			}
		}
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

// signoffPDF shows the ППЭ-15 printed last over the packages as they
// stand. Looking at it spends nothing: printing is its own action.
func (s *Server) signoffPDF(c echo.Context) error {
	ppe := c.Param("ppe")
	if !fourDigits.MatchString(ppe) {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	pdf, _, err := s.cfg.App.PrintedProtocol(ppe)
	if err != nil {
		return s.problem(c, http.StatusConflict, "Протокол ППЭ-15 не сформирован",
			fmt.Sprintf("Протокол не сформирован: %v. Закройте все аудитории ППЭ, затем распечатайте протокол.", err))
	}
	if pdf == nil {
		return s.problem(c, http.StatusConflict, "Протокол ППЭ-15 не распечатан",
			"Протокол по пакетам в их нынешнем виде ещё не распечатан: нажмите «Распечатать протокол» на странице протокола.")
	}
	c.Response().Header().Set("Content-Disposition", `inline; filename="ppe15-`+ppe+`.pdf"`)
	return c.Blob(http.StatusOK, "application/pdf", pdf)
}

// printProtocol prints the ППЭ-15 over the packages as they stand: it
// takes a serial for the barcode and goes on record.
func (s *Server) printProtocol(c echo.Context) error {
	ppe := c.Param("ppe")
	if !fourDigits.MatchString(ppe) {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	if _, rec, err := s.cfg.App.PrintProtocol(sessionOf(c).login, ppe); err != nil {
		if station.IsInput(err) || errors.Is(err, packaging.ErrNotClosed) {
			return s.showSignoff(c, http.StatusConflict, opMessage(err))
		}
		return s.showSignoff(c, http.StatusConflict, "Протокол не сформирован: "+opMessage(err)+". Закройте все аудитории ППЭ и дождитесь, пока их пакеты запечатаются, затем повторите.")
	} else {
		return c.Redirect(http.StatusSeeOther, withFlash("/signoff/"+ppe, "Протокол ППЭ-15 распечатан (штрихкод "+rec.Barcode+"). Откройте его, проверьте и подпишите."))
	}
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
	sess := sessionOf(c)
	sg, first, err := s.cfg.App.SignProtocol(c.Request().Context(), sess.login, sess.role, ppe)
	if err != nil {
		if station.IsInput(err) {
			return s.showSignoff(c, http.StatusConflict, opMessage(err))
		}
		return err
	}
	msg := "Протокол ППЭ-15 ППЭ " + ppe + " подписан руководителем; запись внесена в журнал аудита, пакет ППЭ запечатан для отправки."
	if !first {
		msg = "Протокол ППЭ-15 ППЭ " + ppe + " уже подписан (" + sg.By + ", " + sg.At.In(s.cfg.Location).Format("02.01.2006 15:04") + "); подпись одна."
	}
	return c.Redirect(http.StatusSeeOther, withFlash("/signoff/"+ppe, msg))
}
