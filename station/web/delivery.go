package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"giascan/station"
	"giascan/station/audit"
	"giascan/station/users"
)

// registerDelivery adds the settings of the РЦОИ and the keys, the
// delivery page of each ППЭ and the audit log.
func (s *Server) registerDelivery(in *echo.Group) {
	in.GET("/settings", s.settingsPage, s.allow(users.Deliver))
	in.POST("/settings/rcoi", s.setRCOI, s.csrf, s.allow(users.Deliver))
	in.POST("/settings/key", s.createKey, s.csrf, s.allow(users.Deliver))
	in.POST("/settings/recipients", s.importRecipients, s.csrf, s.allow(users.Deliver))
	in.POST("/settings/enrol", s.enrol, s.csrf, s.allow(users.Deliver))
	in.GET("/delivery/:ppe", s.deliveryPage, s.allow(users.ViewBoard))
	in.GET("/delivery/:ppe/status", s.deliveryStatus, s.allow(users.ViewBoard))
	in.POST("/delivery/:ppe/export", s.export, s.csrf, s.allow(users.Deliver))
	in.GET("/audit", s.auditPage, s.allow(users.ViewAuditLog))
}

type settingsView struct {
	RCOI       *station.RCOI
	Key        *station.KeyInfo
	Recipients []string
	URL, KeyIn string // what was typed, shown again after a refusal
}

func (s *Server) settingsPage(c echo.Context) error {
	return s.showSettings(c, http.StatusOK, "", "", "")
}

func (s *Server) showSettings(c echo.Context, status int, errMsg, url, key string) error {
	v := settingsView{URL: url, KeyIn: key, Recipients: s.cfg.App.Recipients()}
	if r, _, ok, err := s.cfg.App.RCOI(); err != nil {
		return err
	} else if ok {
		v.RCOI = &r
	}
	if k, ok, err := s.cfg.App.StationKey(); err != nil {
		return err
	} else if ok {
		v.Key = &k
	}
	d := s.data(c, "РЦОИ и ключи станции")
	d.Error, d.Data = errMsg, v
	return s.render(c, status, "settings", d)
}

func (s *Server) setRCOI(c echo.Context) error {
	url, key := strings.TrimSpace(c.FormValue("url")), strings.TrimSpace(c.FormValue("key"))
	if _, err := s.cfg.App.SetRCOI(sessionOf(c).login, url, key, c.FormValue("tls")); err != nil {
		if station.IsInput(err) {
			return s.showSettings(c, http.StatusUnprocessableEntity, opMessage(err), url, key)
		}
		return err
	}
	return c.Redirect(http.StatusSeeOther, withFlash("/settings", "Адрес и ключ РЦОИ сохранены: запечатанные пакеты отправляются сами."))
}

func (s *Server) createKey(c echo.Context) error {
	k, err := s.cfg.App.CreateStationKey(sessionOf(c).login)
	if err != nil {
		if station.IsInput(err) {
			return s.showSettings(c, http.StatusConflict, opMessage(err), "", "")
		}
		return err
	}
	return c.Redirect(http.StatusSeeOther, withFlash("/settings", "Ключ станции создан. Продиктуйте в РЦОИ его отпечаток: "+k.Fingerprint+"."))
}

func (s *Server) importRecipients(c echo.Context) error {
	fh, err := c.FormFile("recipients")
	if err != nil {
		return s.showSettings(c, http.StatusBadRequest, "Файл не выбран: выберите файл ключей шифрования, выданный РЦОИ. Ничего не изменено.", "", "")
	}
	if fh.Size > 64<<10 {
		return s.showSettings(c, http.StatusBadRequest, "Файл больше 64 КБ — это не файл ключей РЦОИ. Ничего не изменено.", "", "")
	}
	f, err := fh.Open()
	if err != nil {
		return err
	}
	defer f.Close()
	texts, err := s.cfg.App.ImportRecipients(sessionOf(c).login, f)
	if err != nil {
		if station.IsInput(err) {
			return s.showSettings(c, http.StatusUnprocessableEntity, opMessage(err), "", "")
		}
		return err
	}
	return c.Redirect(http.StatusSeeOther, withFlash("/settings", fmt.Sprintf("Ключи шифрования РЦОИ загружены: %d.", len(texts))))
}

// enrol redeems the РЦОИ's one-time invitation file: keys, address and
// exam come from the РЦОИ, and both fingerprints are shown to compare.
func (s *Server) enrol(c echo.Context) error {
	b, _, ok, err := readUpload(c, "invitation", 64<<10)
	switch {
	case !ok:
		return s.showSettings(c, http.StatusBadRequest, "Файл не выбран: выберите файл приглашения, выданный РЦОИ для этой станции. Ничего не изменено.", "", "")
	case errors.Is(err, errUploadTooBig):
		return s.showSettings(c, http.StatusBadRequest, "Файл больше 64 КБ — это не приглашение РЦОИ. Ничего не изменено.", "", "")
	case err != nil:
		return err
	}
	res, err := s.cfg.App.Enrol(c.Request().Context(), sessionOf(c).login, b)
	if err != nil {
		// A refused or unreachable РЦОИ is the person's to act on.
		return s.showSettings(c, http.StatusUnprocessableEntity, opMessage(err), "", "")
	}
	msg := fmt.Sprintf("Станция подключена к РЦОИ (ППЭ %s). Сверьте с РЦОИ по телефону: отпечаток ключа станции %s, отпечаток ключа квитанций РЦОИ %s.",
		res.PPE, res.StationFingerprint, res.ReceiptFingerprint)
	if res.Exam != nil {
		msg += " Экзамен получен от РЦОИ и импортирован."
	}
	return c.Redirect(http.StatusSeeOther, withFlash("/settings", msg))
}

type deliveryView struct {
	PPE       string
	Life      *station.PPELife
	Rows      []deliveryRow
	RCOI      *station.RCOI
	Total     int64
	Done      int64
	Media     []station.Medium
	CanExport bool
}

type deliveryRow struct {
	station.Delivery
	What     string
	State    string
	Progress int // percent
}

func (s *Server) deliveryPage(c echo.Context) error {
	return s.showDelivery(c, http.StatusOK, "")
}

func (s *Server) showDelivery(c echo.Context, status int, errMsg string) error {
	ppe := c.Param("ppe")
	if !fourDigits.MatchString(ppe) {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	v, err := s.buildDelivery(ppe)
	if err != nil {
		return err
	}
	v.CanExport = users.Can(sessionOf(c).role, users.Deliver)
	if v.CanExport {
		v.Media = s.cfg.App.Media()
	}
	d := s.data(c, "Доставка в РЦОИ · ППЭ "+ppe)
	d.Error, d.Data = errMsg, v
	return s.render(c, status, "delivery", d)
}

// deliveryStatusJSON is what the delivery page polls to show progress
// without reloading (a reload would lose what is typed in its forms).
type deliveryStatusJSON struct {
	State string           `json:"state"`
	Done  int64            `json:"done"`
	Total int64            `json:"total"`
	Rows  []deliveryRowSON `json:"rows"`
}

type deliveryRowSON struct {
	Name     string `json:"name"`
	State    string `json:"state"`
	Progress int    `json:"progress"`
	Sent     int64  `json:"sent"`
	Size     int64  `json:"size"`
	Attempts int    `json:"attempts"`
	Received string `json:"received"`
}

func (s *Server) deliveryStatus(c echo.Context) error {
	ppe := c.Param("ppe")
	if !fourDigits.MatchString(ppe) {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	v, err := s.buildDelivery(ppe)
	if err != nil {
		return err
	}
	out := deliveryStatusJSON{Done: v.Done, Total: v.Total, Rows: []deliveryRowSON{}}
	if v.Life != nil {
		out.State = v.Life.StateName
	}
	for _, r := range v.Rows {
		j := deliveryRowSON{Name: r.Name, State: r.State, Progress: r.Progress, Sent: r.Sent, Size: r.Size, Attempts: r.Attempts}
		if !r.Received.IsZero() {
			j.Received = r.Received.Local().Format("02.01.2006 15:04:05")
		}
		out.Rows = append(out.Rows, j)
	}
	return c.JSON(http.StatusOK, out)
}

// export writes the ППЭ's sealed packages to the chosen removable medium
// and reads them back.
func (s *Server) export(c echo.Context) error {
	ppe := c.Param("ppe")
	if !fourDigits.MatchString(ppe) {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	to := c.FormValue("medium")
	known := false
	for _, m := range s.cfg.App.Media() {
		known = known || m.Path == to
	}
	if !known {
		return s.showDelivery(c, http.StatusUnprocessableEntity, "Носитель не выбран или уже извлечён: вставьте флешку или диск, обновите страницу и выберите его. Ничего не записано.")
	}
	out, err := s.cfg.App.Export(sessionOf(c).login, ppe, to, nil)
	if err != nil {
		// A full, read-only or pulled-out medium: the sentence says what to do.
		return s.showDelivery(c, http.StatusUnprocessableEntity, opMessage(err))
	}
	return c.Redirect(http.StatusSeeOther, withFlash("/delivery/"+ppe, fmt.Sprintf(
		"На носитель записано файлов: %d (%s) в папку %s; записанное прочитано обратно и сверено по контрольным суммам.", len(out.Files), sizeRU(out.Bytes), out.Dir)))
}

// buildDelivery gathers what the delivery page of a ППЭ shows.
func (s *Server) buildDelivery(ppe string) (deliveryView, error) {
	list, err := s.cfg.App.Deliveries(ppe)
	if err != nil {
		return deliveryView{}, err
	}
	v := deliveryView{PPE: ppe}
	if r, _, ok, _ := s.cfg.App.RCOI(); ok {
		v.RCOI = &r
	}
	if life, err := s.cfg.App.Life(); err == nil {
		for i := range life {
			if life[i].PPE == ppe {
				v.Life = &life[i]
			}
		}
	}
	for _, d := range list {
		r := deliveryRow{Delivery: d, What: "пакет ППЭ (формы, протокол, журнал)"}
		if d.Auditorium != "" {
			r.What = "аудитория " + d.Auditorium
		}
		switch {
		case !d.Received.IsZero():
			r.State, r.Progress = "получен РЦОИ, квитанция проверена", 100
		case d.Refused:
			r.State = "отклонён РЦОИ: " + d.LastError
		case d.Queued:
			r.State = "отправляется"
			if d.Size > 0 {
				r.Progress = int(d.Sent * 100 / d.Size)
			}
			if d.LastError != "" {
				r.State += " (связь прерывалась, продолжится с места обрыва)"
			}
		case d.Superseded:
			r.State = "заменён новой версией"
		default:
			r.State = "ждёт отправки"
		}
		if !d.Superseded {
			v.Total += d.Size
			if !d.Received.IsZero() {
				v.Done += d.Size
			} else {
				v.Done += d.Sent
			}
		}
		v.Rows = append(v.Rows, r)
	}
	return v, nil
}

type auditView struct {
	Entries    []auditRow
	PPE, Aud   string
	Page       string
	Actor      string
	Checked    string
	Broken     string
	Shown, All int
}

type auditRow struct {
	Seq                    int
	Time, Actor, Label     string
	PPE, Aud, Page, Reason string
}

// auditPage shows the audit log with Russian labels, filtered, and checks
// its chain.
func (s *Server) auditPage(c echo.Context) error {
	f := audit.Filter{PPE: c.QueryParam("ppe"), Auditorium: c.QueryParam("aud"), Actor: c.QueryParam("actor")}
	if n, err := strconv.Atoi(c.QueryParam("page")); err == nil && n > 0 {
		f.Page = n
	}
	x, err := s.cfg.Log.Excerpt(f)
	if err != nil {
		return err
	}
	v := auditView{PPE: f.PPE, Aud: f.Auditorium, Actor: f.Actor}
	if f.Page > 0 {
		v.Page = strconv.Itoa(f.Page)
	}
	if res, err := audit.VerifyFile(s.cfg.App.Dir.AuditLog()); err != nil {
		v.Broken = err.Error()
		var be *audit.BrokenError
		if errors.As(err, &be) {
			v.Broken = "цепочка записей нарушена: " + err.Error()
		}
	} else {
		v.Checked = fmt.Sprintf("цепочка из %d записей проверена, последняя запись %s", res.Entries, shortHash(res.Head.Hash))
	}
	const limit = 500
	v.All = len(x.Entries)
	for i := len(x.Entries) - 1; i >= 0 && len(v.Entries) < limit; i-- {
		e := x.Entries[i]
		r := auditRow{Seq: int(e.Seq), Time: e.Time.In(s.cfg.Location).Format("02.01.2006 15:04:05"), Actor: e.Actor,
			Label: audit.Label(e.Action), PPE: e.Subject.PPE, Aud: e.Subject.Auditorium, Reason: e.Reason}
		if e.Subject.Page > 0 {
			r.Page = strconv.Itoa(e.Subject.Page)
		}
		v.Entries = append(v.Entries, r)
	}
	v.Shown = len(v.Entries)
	d := s.data(c, "Журнал аудита")
	d.Data = v
	return s.render(c, http.StatusOK, "audit", d)
}

func shortHash(h string) string {
	if len(h) > 16 {
		return h[:16]
	}
	return h
}
