package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"giascan/station"
	"giascan/station/users"
)

// readinessDPI is the resolution of the readiness check, the one blanks
// are scanned at on exam day.
const readinessDPI = 300

// registerReadiness adds the readiness check of the scanning screen: the
// operator loads the calibration sheet into the chosen scanner, runs the
// check and gets its protocol, as `station readiness check` does.
func (s *Server) registerReadiness(in *echo.Group) {
	in.POST("/scan/readiness", s.readinessCheck, s.csrf, s.allow(users.Scan))
	in.GET("/scan/readiness/:file", s.readinessProtocol, s.allow(users.Scan))
}

// readinessSpec is the scanner to check for a device the screen offers.
// A simulated stack is a training scanner: the check loads the simulator
// with the calibration sheet instead, keeping only the scan quality. A
// simulator set up as a calibration sheet (sim:calibration,…) is kept.
func readinessSpec(spec string) string {
	adapter, arg, _ := strings.Cut(spec, ":")
	if adapter != "sim" || slices.Contains(strings.Split(arg, ","), "calibration") {
		return spec
	}
	keep := []string{"calibration"}
	for _, kv := range strings.Split(arg, ",") {
		if strings.HasPrefix(kv, "profile=") {
			keep = append(keep, kv)
		}
	}
	return "sim:" + strings.Join(keep, ",")
}

// criterionView is one line of the protocol on the screen.
type criterionView struct {
	Name    string `json:"name"`
	Value   string `json:"value"`
	Limit   string `json:"limit"`
	Pass    bool   `json:"pass"`
	Explain string `json:"explain,omitempty"`
}

func (s *Server) readinessCheck(c echo.Context) error {
	sess := sessionOf(c)
	spec := c.FormValue("device")
	offered := s.devices(c.Request().Context())
	if spec == "" {
		spec = offered[0].Spec
	}
	if !slices.ContainsFunc(offered, func(d deviceChoice) bool { return d.Spec == spec }) {
		return s.answer(c, http.StatusBadRequest, "Такого сканера нет в списке: выберите сканер из списка на странице.")
	}
	// The check takes the scanner seat: no scan may start on the device
	// meanwhile, and the station's stop ends the check too.
	d := s.desk
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return s.answer(c, http.StatusServiceUnavailable, "Станция останавливается: проверку сейчас не провести.")
	}
	if d.running {
		what := d.what
		d.mu.Unlock()
		return s.answer(c, http.StatusConflict, fmt.Sprintf("Сканер занят: %s. Дождитесь окончания сканирования или остановите его, затем проверьте сканер.", what))
	}
	ctx, cancel := context.WithCancel(c.Request().Context())
	done := make(chan struct{})
	d.running, d.cancel, d.done = true, cancel, done
	d.what = fmt.Sprintf("проверка готовности сканера (%s)", sess.login)
	d.mu.Unlock()
	defer s.finishScan(done)
	defer cancel()

	dev, err := station.OpenReadinessDevice(readinessSpec(spec))
	if err != nil {
		return s.answer(c, http.StatusBadRequest, "Сканер не открывается: "+err.Error()+". Проверьте, что он включён и подключён, и повторите проверку.")
	}
	if cl, ok := dev.(io.Closer); ok {
		defer cl.Close()
	}
	rep, err := s.cfg.App.CheckReadiness(ctx, sess.login, station.ReadinessCheck{Scanner: dev, DPI: readinessDPI, Time: s.now()})
	if station.IsInput(err) {
		return s.answer(c, http.StatusBadRequest, err.Error())
	}
	if err != nil {
		if ctx.Err() != nil {
			return s.answer(c, http.StatusServiceUnavailable, "Проверка прервана: станция останавливается.")
		}
		return s.answer(c, http.StatusUnprocessableEntity, "Калибровочный лист не отсканирован: "+err.Error()+". Вложите калибровочный лист в лоток лицом к стеклу и повторите проверку.")
	}
	res := rep.Result
	protocol := "/scan/readiness/" + filepath.Base(rep.Protocol)
	msg := "Сканер ГОТОВ к экзамену: все показатели в норме. Распечатайте протокол и подпишите его."
	if !res.Ready {
		msg = "Сканер НЕ ГОТОВ к экзамену: см. показатели, отмеченные красным, и что сделать. Устраните причину и повторите проверку."
	}
	if !strings.Contains(c.Request().Header.Get("Accept"), "application/json") {
		return s.showScan(c, http.StatusOK, "", msg+" Протокол: "+protocol)
	}
	out := struct {
		OK       bool            `json:"ok"`
		Message  string          `json:"message"`
		Ready    bool            `json:"ready"`
		Verdict  string          `json:"verdict"`
		Device   string          `json:"device"`
		Protocol string          `json:"protocol"`
		Criteria []criterionView `json:"criteria"`
	}{OK: true, Message: msg, Ready: res.Ready, Verdict: res.Verdict(), Device: rep.Info.Device, Protocol: protocol}
	for _, cr := range res.Criteria {
		out.Criteria = append(out.Criteria, criterionView{Name: cr.Name, Value: cr.Value, Limit: cr.Limit, Pass: cr.Pass, Explain: cr.Explain})
	}
	return c.JSON(http.StatusOK, out)
}

// readinessProtocol is a protocol the station keeps, to print and sign.
func (s *Server) readinessProtocol(c echo.Context) error {
	f, err := s.cfg.App.ReadinessProtocol(c.Param("file"))
	if errors.Is(err, os.ErrNotExist) {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	c.Response().Header().Set("Content-Disposition", fmt.Sprintf(`inline; filename="%s"`, c.Param("file")))
	return c.Stream(http.StatusOK, "application/pdf", f)
}

// trainerName names a simulated training stack printed for the exam (the
// simulator's keys auditorium=, jam=, double=, drop=) for people: whose
// stack it is and what happens on the way through the scanner.
func trainerName(arg string) string {
	var aud string
	var events []string
	for _, kv := range strings.Split(arg, ",") {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "auditorium":
			aud = v
		case "jam":
			events = append(events, "замятие")
		case "double":
			events = append(events, "двойная подача")
		case "drop":
			events = append(events, "потерянный лист")
		case "foreign":
			events = append(events, "чужой лист")
		case "dupscan":
			events = append(events, "повторный лист")
		}
	}
	if aud == "" {
		return ""
	}
	name := "Учебная пачка аудитории " + aud + " (имитатор сканера"
	if len(events) > 0 {
		name += ": " + strings.Join(events, ", ")
	}
	return name + ")"
}
