package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"giascan/hardware"
	"giascan/station"
	"giascan/station/ops"
	"giascan/station/store"
	"giascan/station/users"
)

// The page viewer's corrections of one sheet: scan it again, replace it
// with a new scan or an image file, insert a sheet before or after it,
// recognise it again, and undo a review. Each calls the station's use
// case, as the command line does; the audit entry is written there.

// oneSheetTimeout bounds a one-sheet scan started from the browser.
const oneSheetTimeout = 2 * time.Minute

func (s *Server) registerPageFix(in *echo.Group) {
	in.POST("/page/:ppe/:aud/:seq/rescan", s.pageRescan, s.csrf, s.allow(users.Fix))
	in.POST("/page/:ppe/:aud/:seq/replace", s.pageReplace, s.csrf, s.allow(users.Fix))
	in.POST("/page/:ppe/:aud/:seq/insert", s.pageInsert, s.csrf, s.allow(users.Fix))
	in.POST("/page/:ppe/:aud/:seq/recognize", s.pageRecognize, s.csrf, s.allow(users.Fix))
	in.POST("/page/:ppe/:aud/:seq/undo", s.pageUndo, s.csrf, s.allow(users.Fix))
}

// fixFailed shows the page again with a refusal, or fails the request.
func (s *Server) fixFailed(c echo.Context, ref store.Ref, err error) error {
	if station.IsInput(err) {
		return s.showPage(c, ref, http.StatusUnprocessableEntity, opMessage(err), nil)
	}
	return err
}

// pageDevice reads the scanner the form chose, refusing one not offered.
func (s *Server) pageDevice(c echo.Context) (string, string) {
	spec := c.FormValue("device")
	if spec == "" {
		return "", "Не выбран сканер: выберите сканер, в лоток которого положен лист. Ничего не изменено."
	}
	if !slices.ContainsFunc(s.devices(c.Request().Context()), func(d deviceChoice) bool { return d.Spec == spec }) {
		return "", "Такого сканера нет в списке: выберите сканер из списка на странице. Ничего не изменено."
	}
	return spec, ""
}

// takeDesk holds the station's scanner seat for a one-sheet scan, so a
// stack cannot start on the scanner meanwhile, and «Остановить» on the
// scanning screen (or the server's Close) cancels it. It refuses while a
// stack is being scanned.
func (s *Server) takeDesk(c echo.Context, what string) (context.Context, func(), string) {
	d := s.desk
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, nil, "Станция останавливается: сканирование сейчас не начать. Ничего не изменено."
	}
	if d.running {
		return nil, nil, fmt.Sprintf("Сейчас идёт сканирование: %s. Дождитесь его окончания, затем отсканируйте лист. Ничего не изменено.", d.what)
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), oneSheetTimeout)
	done := make(chan struct{})
	d.running, d.cancel, d.done, d.fault, d.faultOpen = true, cancel, done, nil, false
	d.what = fmt.Sprintf("%s (%s)", what, sessionOf(c).login)
	return ctx, func() { cancel(); s.finishScan(done) }, ""
}

// uploaded reads the image file of field name; ok is false when none
// was chosen.
func uploaded(c echo.Context, name string) (hardware.Page, bool, error) {
	data, file, ok, err := readUpload(c, name, maxBodyBytes)
	if !ok || err != nil {
		return hardware.Page{}, ok, err
	}
	img, err := ops.ImageData(data, file)
	return img, true, err
}

// errUploadTooBig is readUpload's refusal of a file over its limit.
var errUploadTooBig = errors.New("загруженный файл больше допустимого")

// readUpload reads the file of form field name whole, up to limit bytes;
// ok is false when no file was chosen. file is its cleaned name.
func readUpload(c echo.Context, name string, limit int64) (data []byte, file string, ok bool, err error) {
	fh, err := c.FormFile(name)
	if err != nil {
		return nil, "", false, nil
	}
	file = cleanName(fh.Filename)
	if fh.Size > limit {
		return nil, file, true, fmt.Errorf("%w (%d байт, предел %d)", errUploadTooBig, fh.Size, limit)
	}
	f, err := fh.Open()
	if err != nil {
		return nil, file, true, fmt.Errorf("загруженный файл не открывается: %w", err)
	}
	defer f.Close()
	data, err = io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, file, true, fmt.Errorf("загруженный файл не читается: %w", err)
	}
	if int64(len(data)) > limit {
		return nil, file, true, fmt.Errorf("%w (предел %d байт)", errUploadTooBig, limit)
	}
	return data, file, true, nil
}

// pageSummary says what a corrected page now is.
func pageSummary(p store.Page) string {
	if p.Result == nil {
		return fmt.Sprintf("страница %d", p.Seq)
	}
	what := "тип листа не определён"
	if t := templateOf(p.Result); t != nil {
		what = t.Name
	}
	if p.Result.Barcode != "" {
		what += ", штрихкод " + p.Result.Barcode
	}
	if p.Result.NeedsReview {
		what += fmt.Sprintf("; на проверке значений: %d", len(p.Result.Review))
	}
	return fmt.Sprintf("страница %d (%s)", p.Seq, what)
}

func (s *Server) pageRescan(c echo.Context) error {
	ref, err := refParam(c)
	if err != nil {
		return err
	}
	if msg := s.stale(ref, c.FormValue("rev")); msg != "" {
		return s.showPage(c, ref, http.StatusConflict, msg, nil)
	}
	spec, msg := s.pageDevice(c)
	if msg != "" {
		return s.showPage(c, ref, http.StatusUnprocessableEntity, msg, nil)
	}
	ctx, release, msg := s.takeDesk(c, fmt.Sprintf("пересканирование страницы %d аудитории %s ППЭ %s", ref.Seq, ref.Auditorium, ref.PPE))
	if msg != "" {
		return s.showPage(c, ref, http.StatusConflict, msg, nil)
	}
	p, err := s.cfg.App.RescanPage(ctx, sessionOf(c).login, ref, spec, s.cfg.ScanOptions)
	release()
	if err != nil {
		return s.fixFailed(c, ref, err)
	}
	return c.Redirect(http.StatusSeeOther, withFlash(pageURL(ref), "Лист отсканирован заново: "+pageSummary(p)+". Прежнее изображение сохранено в истории страницы и в журнале аудита."))
}

func (s *Server) pageReplace(c echo.Context) error {
	ref, err := refParam(c)
	if err != nil {
		return err
	}
	if msg := s.stale(ref, c.FormValue("rev")); msg != "" {
		return s.showPage(c, ref, http.StatusConflict, msg, nil)
	}
	img, ok, err := uploaded(c, "image")
	if !ok {
		return s.showPage(c, ref, http.StatusUnprocessableEntity, "Файл не выбран: выберите файл изображения листа (JPEG, PNG, TIFF или PDF). Ничего не изменено.", nil)
	}
	if err != nil {
		return s.fixFailed(c, ref, err)
	}
	p, err := s.cfg.App.ReplacePage(c.Request().Context(), sessionOf(c).login, ref, img, strings.TrimSpace(c.FormValue("reason")))
	if err != nil {
		return s.fixFailed(c, ref, err)
	}
	return c.Redirect(http.StatusSeeOther, withFlash(pageURL(ref), "Изображение листа заменено файлом "+img.Name+": "+pageSummary(p)+". Прежнее изображение сохранено в истории страницы и в журнале аудита."))
}

func (s *Server) pageInsert(c echo.Context) error {
	ref, err := refParam(c)
	if err != nil {
		return err
	}
	if msg := s.stale(ref, c.FormValue("rev")); msg != "" {
		return s.showPage(c, ref, http.StatusConflict, msg, nil)
	}
	pos := ops.Position{After: ref.Seq}
	where := fmt.Sprintf("после страницы %d", ref.Seq)
	if c.FormValue("where") == "before" {
		pos = ops.Position{Before: ref.Seq}
		where = fmt.Sprintf("перед страницей %d", ref.Seq)
	}
	reason := strings.TrimSpace(c.FormValue("reason"))
	login := sessionOf(c).login
	var p store.Page
	if c.FormValue("source") == "file" {
		img, ok, err := uploaded(c, "image")
		if !ok {
			return s.showPage(c, ref, http.StatusUnprocessableEntity, "Файл не выбран: выберите файл изображения листа или нажмите «Вставить со сканера». Ничего не изменено.", nil)
		}
		if err != nil {
			return s.fixFailed(c, ref, err)
		}
		if p, err = s.cfg.App.InsertPage(c.Request().Context(), login, ref.Place, img, pos, reason); err != nil {
			return s.fixFailed(c, ref, err)
		}
	} else {
		spec, msg := s.pageDevice(c)
		if msg != "" {
			return s.showPage(c, ref, http.StatusUnprocessableEntity, msg, nil)
		}
		ctx, release, msg := s.takeDesk(c, fmt.Sprintf("вставка листа в аудиторию %s ППЭ %s", ref.Auditorium, ref.PPE))
		if msg != "" {
			return s.showPage(c, ref, http.StatusConflict, msg, nil)
		}
		p, err = s.cfg.App.InsertScanned(ctx, login, ref.Place, spec, s.cfg.ScanOptions, pos, reason)
		release()
		if err != nil {
			return s.fixFailed(c, ref, err)
		}
	}
	return c.Redirect(http.StatusSeeOther, withFlash(pageURL(p.Ref), fmt.Sprintf("Лист вставлен %s: это %s.", where, pageSummary(p))))
}

func (s *Server) pageRecognize(c echo.Context) error {
	ref, err := refParam(c)
	if err != nil {
		return err
	}
	if msg := s.stale(ref, c.FormValue("rev")); msg != "" {
		return s.showPage(c, ref, http.StatusConflict, msg, nil)
	}
	p, err := s.cfg.App.RecognizeAgain(c.Request().Context(), sessionOf(c).login, ref)
	if err != nil {
		return s.fixFailed(c, ref, err)
	}
	return c.Redirect(http.StatusSeeOther, withFlash(pageURL(ref), "Лист распознан заново: "+pageSummary(p)+"."))
}

func (s *Server) pageUndo(c echo.Context) error {
	ref, err := refParam(c)
	if err != nil {
		return err
	}
	if msg := s.stale(ref, c.FormValue("rev")); msg != "" {
		return s.showPage(c, ref, http.StatusConflict, msg, nil)
	}
	seq, err := strconv.ParseInt(c.FormValue("entry"), 10, 64)
	if err != nil || seq < 1 {
		return s.showPage(c, ref, http.StatusUnprocessableEntity, "В форме нет номера исправления: обновите страницу и повторите. Ничего не изменено.", nil)
	}
	p, err := s.cfg.App.UndoReview(sessionOf(c).login, ref, seq)
	if err != nil {
		return s.fixFailed(c, ref, err)
	}
	msg := "Исправление отменено: прежнее значение восстановлено."
	if p.Result != nil && p.Result.NeedsReview {
		msg += " Значение снова ждёт проверки."
	}
	return c.Redirect(http.StatusSeeOther, withFlash(pageURL(ref), msg))
}
