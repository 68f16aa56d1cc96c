package web

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"giascan/hardware"
	"giascan/station"
	"giascan/station/users"
)

// The signed paper copy of ППЭ-15 comes back to the scanner: from the
// scanning screen the operator scans it, and the station matches it to
// the protocol printed for the ППЭ's packages; the head may instead load
// a scan made elsewhere on the ППЭ-15 page.

func (s *Server) registerProtocolScan(in *echo.Group) {
	in.POST("/scan/protocol", s.scanProtocol, s.csrf, s.allow(users.Scan))
	in.POST("/scan/acceptance", s.scanAcceptance, s.csrf, s.allow(users.Scan))
	in.POST("/signoff/:ppe/match", s.matchProtocolFile, s.csrf, s.allow(users.SignProtocol))
}

// protocolScanTimeout bounds one sheet's scan, so a silent device cannot
// hold the desk.
const protocolScanTimeout = 2 * time.Minute

func (s *Server) scanProtocol(c echo.Context) error {
	ppe := c.FormValue("ppe")
	if !fourDigits.MatchString(ppe) {
		return s.answer(c, http.StatusBadRequest, "Выберите ППЭ, чей подписанный протокол ППЭ-15 в лотке.")
	}
	return s.scanSheet(c, fmt.Sprintf("подписанный протокол ППЭ-15 ППЭ %s", ppe), func(ctx context.Context, sc hardware.Scanner, opts hardware.Options) (string, error) {
		m, first, err := s.cfg.App.ScanProtocol(ctx, sessionOf(c).login, ppe, sc, opts)
		if err != nil {
			return "", err
		}
		return protocolMatched(ppe, m.Barcode, first), nil
	})
}

// scanSheet takes the scanning desk for one signed sheet (what names it),
// opens the chosen scanner and runs scan, answering with its message.
func (s *Server) scanSheet(c echo.Context, what string, scan func(context.Context, hardware.Scanner, hardware.Options) (string, error)) error {
	sess := sessionOf(c)
	spec := c.FormValue("device")
	if !slices.ContainsFunc(s.devices(c.Request().Context()), func(d deviceChoice) bool { return d.Spec == spec }) {
		return s.answer(c, http.StatusBadRequest, "Такого сканера нет в списке: выберите сканер из списка на странице.")
	}
	d := s.desk
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return s.answer(c, http.StatusServiceUnavailable, "Станция останавливается: сканирование сейчас не начать.")
	}
	if d.running {
		busy := d.what
		d.mu.Unlock()
		return s.answer(c, http.StatusConflict, fmt.Sprintf("Сканирование уже идёт: %s. Дождитесь окончания или остановите его, затем отсканируйте %s.", busy, what))
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), protocolScanTimeout)
	defer cancel()
	done := make(chan struct{})
	d.running, d.cancel, d.done = true, cancel, done
	d.what = fmt.Sprintf("%s (%s)", what, sess.login)
	d.mu.Unlock()
	defer s.finishScan(done)

	sc, err := hardware.Open(spec)
	if err != nil {
		return s.answer(c, http.StatusUnprocessableEntity, "Сканер не открылся: проверьте, что он включён и подключён, и повторите. ("+err.Error()+")")
	}
	opts := s.cfg.ScanOptions
	opts.Source = hardware.ADF
	msg, err := scan(ctx, sc, opts)
	if err != nil {
		if station.IsInput(err) {
			return s.answer(c, http.StatusUnprocessableEntity, opMessage(err))
		}
		return err
	}
	return s.answer(c, http.StatusOK, msg)
}

func protocolMatched(ppe, barcode string, first bool) string {
	msg := fmt.Sprintf("Подписанный протокол ППЭ-15 ППЭ %s (штрихкод %s) сверен с пакетами и сохранён.", ppe, barcode)
	if first {
		return msg + " Протокол считается подписанным; пакет ППЭ запечатан и уйдёт в РЦОИ сам."
	}
	return msg + " Протокол уже был подписан; скан подписанной копии уйдёт в РЦОИ в новой версии пакета ППЭ."
}

// matchProtocolFile takes a scan of the signed copy made on another
// scanner, as an image or PDF file.
func (s *Server) matchProtocolFile(c echo.Context) error {
	ppe := c.Param("ppe")
	if !fourDigits.MatchString(ppe) {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	data, file, ok, err := readUpload(c, "scan", maxBodyBytes)
	switch {
	case !ok:
		return s.problem(c, http.StatusBadRequest, "Файл не выбран", "Выберите файл со сканом подписанного протокола ППЭ-15 (JPEG, PNG, TIFF или PDF) и повторите.")
	case err != nil:
		return err
	}
	m, first, err := s.cfg.App.MatchProtocol(c.Request().Context(), sessionOf(c).login, ppe, data, file)
	if err != nil {
		if station.IsInput(err) {
			return s.problem(c, http.StatusUnprocessableEntity, "Протокол не сверен", opMessage(err))
		}
		return err
	}
	return c.Redirect(http.StatusSeeOther, withFlash("/signoff/"+ppe, protocolMatched(ppe, m.Barcode, first)))
}

// scanAcceptance scans the signed acceptance act of a ППЭ from the
// scanning screen and matches it (Station.ScanAcceptance).
func (s *Server) scanAcceptance(c echo.Context) error {
	ppe := c.FormValue("ppe")
	if !fourDigits.MatchString(ppe) {
		return s.answer(c, http.StatusBadRequest, "Выберите ППЭ, чей подписанный акт приёмки-передачи в лотке.")
	}
	return s.scanSheet(c, fmt.Sprintf("подписанный акт приёмки-передачи ППЭ %s", ppe), func(ctx context.Context, sc hardware.Scanner, opts hardware.Options) (string, error) {
		a, err := s.cfg.App.ScanAcceptance(ctx, sessionOf(c).login, ppe, sc, opts)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("Подписанный акт приёмки-передачи ППЭ %s (штрихкод %s) сверен и сохранён; он уйдёт в РЦОИ с пакетом ППЭ.", ppe, a.Barcode), nil
	})
}
