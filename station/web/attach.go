package web

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/labstack/echo/v4"

	"giascan/station"
	"giascan/station/attach"
	"giascan/station/layout"
	"giascan/station/store"
	"giascan/station/users"
)

// attachPath is where the auditorium page posts files; it is the one
// route whose body may be large, so the global body limit skips it.
const attachPath = "/auditorium/attachments"

// maxAttachBody bounds one upload of files: a whole auditorium of oral
// answers. Each file is bounded by attach.MaxFileSize in the import.
const maxAttachBody = 16 << 30

func (s *Server) registerAttach(in *echo.Group) {
	// The CSRF token is checked inside: the body is read as a stream, part
	// by part, and the token is its first part.
	in.POST(attachPath, s.importAttachments, s.allow(users.Fix))
}

// attachView is the attachments part of the auditorium page.
type attachView struct {
	Kinds  []station.Attachments
	Report *attach.Report
	CanAdd bool
}

func durationClock(secs float64) string { return attach.Clock(secs) }

// importAttachments streams the uploaded files to a folder of the data
// folder, one part at a time (never the whole body in memory, nor in the
// system's temporary folder), then imports them with
// Station.ImportAttachments and shows the page with the check's result.
func (s *Server) importAttachments(c echo.Context) error {
	sess := sessionOf(c)
	req := c.Request()
	req.Body = http.MaxBytesReader(c.Response(), req.Body, maxAttachBody)
	mr, err := req.MultipartReader()
	if err != nil {
		return s.problem(c, http.StatusBadRequest, "Файлы не получены", "Форма отправлена не как загрузка файлов: откройте страницу аудитории заново и выберите файлы. Ничего не изменено.")
	}
	fields := map[string]string{}
	// The token comes first, so nothing is written for a forged request.
	part, err := mr.NextPart()
	if err != nil || part.FormName() != "csrf" {
		return s.refuseCSRF(c, sess.login)
	}
	tok, _ := io.ReadAll(io.LimitReader(part, 256))
	if !tokenEqual(string(tok), sess.csrf) {
		return s.refuseCSRF(c, sess.login)
	}
	root := s.cfg.App.Dir.Sub(layout.AttachDir)
	if err := os.MkdirAll(root, 0o750); err != nil {
		return err
	}
	dir, err := os.MkdirTemp(root, station.UploadPrefix)
	if err != nil {
		return fmt.Errorf("папка для загрузки не создана: %w", err)
	}
	defer os.RemoveAll(dir)
	var names []string
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return s.problem(c, http.StatusBadRequest, "Загрузка прервалась", "Файлы пришли не полностью ("+err.Error()+"): выберите их и загрузите снова. Ничего не изменено.")
		}
		if part.FileName() == "" {
			v, _ := io.ReadAll(io.LimitReader(part, 1024))
			fields[part.FormName()] = strings.TrimSpace(string(v))
			continue
		}
		name := filepath.Base(filepath.FromSlash(part.FileName()))
		if name == "." || name == string(filepath.Separator) || strings.HasPrefix(name, ".") {
			name = "_" + strings.TrimPrefix(name, ".")
		}
		if err := saveUploaded(filepath.Join(dir, name), part); err != nil {
			return s.problem(c, http.StatusBadRequest, "Загрузка прервалась", "Файл "+name+" пришёл не полностью ("+err.Error()+"): выберите файлы и загрузите их снова. Ничего не изменено.")
		}
		names = append(names, name)
	}
	place := store.Place{PPE: fields["ppe"], Auditorium: fields["aud"]}
	if !fourDigits.MatchString(place.PPE) || !fourDigits.MatchString(place.Auditorium) {
		return s.problem(c, http.StatusUnprocessableEntity, "Аудитория не указана",
			"В форме нет номера ППЭ или аудитории из 4 цифр: вернитесь к ходу экзамена и откройте аудиторию заново. Ничего не изменено.")
	}
	if len(names) == 0 {
		return s.showAuditoriumWith(c, place, http.StatusUnprocessableEntity, "Файлы не выбраны: выберите файлы участников или архив zip и нажмите «Загрузить». Ничего не изменено.", nil)
	}
	from := dir
	if len(names) == 1 && attach.IsArchive(names[0]) {
		from = filepath.Join(dir, names[0])
	}
	rep, err := s.cfg.App.ImportAttachments(req.Context(), sess.login, place, fields["kind"], from)
	if err != nil {
		if station.IsInput(err) {
			return s.showAuditoriumWith(c, place, http.StatusUnprocessableEntity, opMessage(err), nil)
		}
		return err
	}
	return s.showAuditoriumWith(c, place, http.StatusOK, "", rep)
}

// saveUploaded writes one uploaded file. Past the import's cap the rest
// is counted, not written, and the file is given its real length as a
// sparse file: the import then refuses it by its size, unread.
func saveUploaded(path string, r io.Reader) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if err != nil {
		return err
	}
	n, err := io.Copy(f, io.LimitReader(r, attach.MaxFileSize+1))
	if err == nil && n > attach.MaxFileSize {
		var rest int64
		rest, err = io.Copy(io.Discard, r)
		if err == nil {
			err = f.Truncate(n + rest)
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// showAuditoriumWith shows the auditorium page with an import's result.
func (s *Server) showAuditoriumWith(c echo.Context, place store.Place, status int, errMsg string, rep *attach.Report) error {
	v, err := s.buildAuditorium(place, sessionOf(c).role)
	if err != nil {
		return err
	}
	if v.Attach != nil {
		v.Attach.Report = rep
	}
	d := s.data(c, "Аудитория "+place.Auditorium+" · ППЭ "+place.PPE)
	d.Error, d.Data = errMsg, v
	return s.render(c, status, "close", d)
}

// buildAttach is the attachments part of an auditorium's page.
func (s *Server) buildAttach(place store.Place, role users.Role, closed bool) *attachView {
	kinds, err := s.cfg.App.Attachments(place)
	if err != nil {
		return nil
	}
	return &attachView{Kinds: kinds, CanAdd: users.Can(role, users.Fix) && !closed}
}
