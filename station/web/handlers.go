package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"giascan/station"
	"giascan/station/audit"
	"giascan/station/exam"
	"giascan/station/store"
	"giascan/station/users"
)

const (
	sessionCookie    = "station_session"
	loginCSRFCookie  = "station_login_csrf"
	ctxSession       = "session"
	maxExamFileBytes = 4 << 20
	// maxBodyBytes bounds every request body but the auditorium's files;
	// the error page tells it as «до 5 МБ».
	maxBodyBytes = maxExamFileBytes + 1<<20
)

// Messages the sign-in page shows for ?m=… after a redirect.
var loginMessages = map[string]string{
	"expired": "Сеанс завершён: он истёк или сервер перезапускался. Войдите снова.",
	"out":     "Вы вышли из системы.",
	"signin":  "Войдите, чтобы продолжить.",
}

// record appends an audit entry. A refusal to write is itself an error the
// person must see: the audit log is a legal record.
func (s *Server) record(actor, action, reason string, after any) error {
	ev := audit.Event{Actor: actor, Action: action, Reason: reason}
	if after != nil {
		b, err := json.Marshal(after)
		if err != nil {
			return fmt.Errorf("web: audit %s: %w", action, err)
		}
		ev.After = b
	}
	if _, err := s.cfg.Log.Append(ev); err != nil {
		return fmt.Errorf("журнал аудита не записан (%v): остановите работу и обратитесь к администратору станции", err)
	}
	return nil
}

// actorOf names a person trying to sign in for the audit log: the login
// they typed when it has a login's shape, so a hostile form cannot put
// arbitrary text in the record.
func actorOf(login string) string {
	if users.CheckLogin(login) == nil {
		return login
	}
	return "-"
}

func (s *Server) setCookie(c echo.Context, name, value string, maxAge int) {
	c.SetCookie(&http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   s.cfg.TLS,
		SameSite: http.SameSiteStrictMode,
	})
}

// signedIn lets through requests of a live session and sends everyone
// else to the sign-in page, saying why when a session ended.
func (s *Server) signedIn(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ck, err := c.Cookie(sessionCookie)
		if err != nil || ck.Value == "" {
			return c.Redirect(http.StatusSeeOther, "/login")
		}
		sess, res := s.sessions.get(ck.Value, s.now())
		if res != found {
			s.setCookie(c, sessionCookie, "", -1)
			return c.Redirect(http.StatusSeeOther, "/login?m=expired")
		}
		c.Set(ctxSession, sess)
		return next(c)
	}
}

func sessionOf(c echo.Context) session {
	s, _ := c.Get(ctxSession).(session)
	return s
}

// csrf refuses a state-changing request without the session's token.
func (s *Server) csrf(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		sess := sessionOf(c)
		if !tokenEqual(formToken(c), sess.csrf) {
			return s.refuseCSRF(c, sess.login)
		}
		return next(c)
	}
}

// loginCSRF guards the sign-in form with a token tied to a cookie, so
// another site cannot sign a browser in under the wrong account.
func (s *Server) loginCSRF(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ck, err := c.Cookie(loginCSRFCookie)
		if err != nil || !tokenEqual(formToken(c), ck.Value) {
			return s.refuseCSRF(c, actorOf(strings.TrimSpace(c.FormValue("login"))))
		}
		return next(c)
	}
}

func formToken(c echo.Context) string {
	// FormValue parses multipart bodies too; the size is bounded by the
	// body limit of the handler's route (see importExam).
	return c.FormValue("csrf")
}

func (s *Server) refuseCSRF(c echo.Context, actor string) error {
	if actor == "" {
		actor = "-"
	}
	if err := s.record(actor, audit.ActionCSRFRefused, c.Request().Method+" "+c.Request().URL.Path, nil); err != nil {
		return err
	}
	return s.problem(c, http.StatusForbidden, "Запрос отклонён",
		"Запрос пришёл без действительного ключа формы (CSRF), поэтому ничего не изменено. Обновите страницу и повторите действие; если это повторяется, сообщите администратору станции.")
}

// allow refuses people whose role lacks permission p.
func (s *Server) allow(p users.Permission) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			sess := sessionOf(c)
			if users.Can(sess.role, p) {
				return next(c)
			}
			if err := s.record(sess.login, audit.ActionAccessRefused, string(p)+": "+c.Request().Method+" "+c.Request().URL.Path, nil); err != nil {
				return err
			}
			return s.problem(c, http.StatusForbidden, "Недостаточно прав",
				fmt.Sprintf("Роль «%s» не позволяет это действие (%s). Его выполняет: %s. Обратитесь к руководителю ППЭ или администратору станции.",
					sess.role.Name(), permissionNames[p], rolesWith(p)))
		}
	}
}

func rolesWith(p users.Permission) string {
	var names []string
	for _, r := range users.Matrix()[p] {
		names = append(names, r.Name())
	}
	if len(names) == 0 {
		return "никто"
	}
	return strings.Join(names, ", ")
}

var permissionNames = map[users.Permission]string{
	users.ViewBoard:    "просмотр хода экзамена",
	users.ImportExam:   "импорт файла экзамена",
	users.Scan:         "сканирование",
	users.Fix:          "исправления и верификация",
	users.CloseAud:     "закрытие аудитории",
	users.SignProtocol: "подписание протокола",
	users.ConfirmForm:  "подтверждение ППЭ-13-02-МАШ",
	users.ManageUsers:  "управление пользователями",
	users.ViewAuditLog: "просмотр журнала аудита",
}

func (s *Server) loginPage(c echo.Context) error {
	if needed, err := s.setupNeeded(); err != nil {
		return err
	} else if needed {
		return c.Redirect(http.StatusSeeOther, "/setup")
	}
	return s.showLogin(c, http.StatusOK, "", loginMessages[c.QueryParam("m")], "")
}

// loginToken is the CSRF token of the forms shown before signing in.
func (s *Server) loginToken(c echo.Context) string {
	// Keep a token the browser already holds: two sign-in pages open at
	// once (or a page the browser loaded twice) must both stay valid.
	tok := ""
	if ck, err := c.Cookie(loginCSRFCookie); err == nil && len(ck.Value) == 43 {
		tok = ck.Value
	} else {
		tok = randomToken()
	}
	s.setCookie(c, loginCSRFCookie, tok, 3600)
	return tok
}

func (s *Server) showLogin(c echo.Context, status int, errMsg, info, login string) error {
	tok := s.loginToken(c)
	return s.render(c, status, "login", pageData{
		Title: "Вход", CSRF: tok, Error: errMsg, Info: info,
		Data: map[string]string{"Login": login},
	})
}

func (s *Server) login(c echo.Context) error {
	now := s.now()
	login := strings.TrimSpace(c.FormValue("login"))
	password := c.FormValue("password")
	ip := c.RealIP()
	actor := actorOf(login)
	if b, wait := s.byIP.blocked("ip:"+ip, now); b {
		return s.tooMany(c, actor, "адрес "+ip, wait, login)
	}
	// Failures count per login and address: a stranger guessing from
	// another computer must not lock the head out on exam day.
	loginKey := "login:" + login + "@" + ip
	if b, wait := s.byLogin.blocked(loginKey, now); b {
		return s.tooMany(c, actor, "логин", wait, login)
	}
	u, ok, err := s.cfg.Users.Authenticate(login, password)
	if err != nil {
		return err
	}
	if !ok {
		s.byIP.fail("ip:"+ip, now)
		s.byLogin.fail(loginKey, now)
		if err := s.record(actor, audit.ActionSignInRefused, "неверный логин или пароль; адрес "+ip, nil); err != nil {
			return err
		}
		return s.showLogin(c, http.StatusUnauthorized, "Неверный логин или пароль. Проверьте раскладку клавиатуры и Caps Lock и попробуйте снова.", "", login)
	}
	s.byLogin.reset(loginKey)
	sess := s.sessions.start(u, now)
	if err := s.record(u.Login, audit.ActionSignIn, "адрес "+ip, map[string]string{"role": string(u.Role)}); err != nil {
		s.sessions.end(sess.id)
		return err
	}
	s.setCookie(c, loginCSRFCookie, "", -1)
	s.setCookie(c, sessionCookie, sess.id, 0)
	return c.Redirect(http.StatusSeeOther, "/")
}

func (s *Server) tooMany(c echo.Context, actor, what string, wait time.Duration, login string) error {
	if err := s.record(actor, audit.ActionSignInRefused, "слишком много неудачных попыток: "+what, nil); err != nil {
		return err
	}
	mins := int(wait.Minutes() + 0.999)
	return s.showLogin(c, http.StatusTooManyRequests,
		fmt.Sprintf("Слишком много неудачных попыток входа. Подождите %d мин. и попробуйте снова или обратитесь к администратору станции.", mins), "", login)
}

func (s *Server) logout(c echo.Context) error {
	sess := sessionOf(c)
	s.sessions.end(sess.id)
	s.setCookie(c, sessionCookie, "", -1)
	if err := s.record(sess.login, audit.ActionSignOut, "", nil); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/login?m=out")
}

func (s *Server) board(c echo.Context) error {
	sess := sessionOf(c)
	b, err := s.buildBoard()
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "board", pageData{
		Title: "Ход экзамена", Session: &sess, Flash: s.sessions.takeFlash(sess.id), Data: liveBoard{b, s.now().UnixMilli()},
		CanImport: users.Can(sess.role, users.ImportExam),
	})
}

// importView is what the import page shows.
type importView struct {
	Current  *examView
	Problems []problemView
	File     string
}

func (s *Server) importPage(c echo.Context) error {
	return s.showImport(c, http.StatusOK, importView{})
}

func (s *Server) showImport(c echo.Context, status int, v importView) error {
	sess := sessionOf(c)
	if ex, err := s.cfg.Store.Exam(); err == nil {
		ev := viewExam(ex)
		v.Current = &ev
	}
	return s.render(c, status, "import", pageData{Title: "Импорт экзамена", Session: &sess, Data: v,
		CanImport: true})
}

func (s *Server) importExam(c echo.Context) error {
	sess := sessionOf(c)
	fh, err := c.FormFile("exam")
	if err != nil {
		return s.showImport(c, http.StatusBadRequest, importView{Problems: []problemView{{Msg: "Файл не выбран: выберите файл экзамена, полученный из РЦОИ."}}})
	}
	if fh.Size > maxExamFileBytes {
		return s.showImport(c, http.StatusBadRequest, importView{File: fh.Filename, Problems: []problemView{{Msg: "Файл больше 4 МБ — это не файл экзамена. Выберите файл, полученный из РЦОИ."}}})
	}
	f, err := fh.Open()
	if err != nil {
		return fmt.Errorf("загруженный файл не открывается: %w", err)
	}
	raw, err := io.ReadAll(io.LimitReader(f, maxExamFileBytes+1))
	f.Close()
	if err != nil {
		return fmt.Errorf("загруженный файл не читается: %w", err)
	}
	parsed, err := exam.Parse(raw)
	if err != nil {
		return s.showImport(c, http.StatusUnprocessableEntity, importView{File: fh.Filename, Problems: translateProblems(err)})
	}
	imp, err := s.cfg.App.ImportExam(sess.login, parsed, cleanName(fh.Filename), strings.TrimSpace(c.FormValue("reason")))
	if station.IsInput(err) {
		return s.showImport(c, http.StatusConflict, importView{File: fh.Filename, Problems: []problemView{{Msg: err.Error()}}})
	}
	if err != nil {
		return err
	}
	prev := imp.Prev
	msg := "Экзамен импортирован."
	if prev != nil {
		msg = "Экзамен импортирован и заменил прежний."
	}
	s.sessions.setFlash(sess.id, msg)
	return c.Redirect(http.StatusSeeOther, "/")
}

// cleanName keeps a browser-supplied file name printable and short.
func cleanName(name string) string {
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, name)
	if r := []rune(name); len(r) > 80 {
		name = string(r[:80]) + "…"
	}
	return name
}

// errorPage shows any error as a Russian page; internal errors keep their
// text, which the station writes as a sentence saying what to do.
func (s *Server) errorPage(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var he *echo.HTTPError
	status := http.StatusInternalServerError
	title := "Ошибка станции"
	msg := err.Error()
	if errors.As(err, &he) {
		status = he.Code
		switch status {
		case http.StatusNotFound:
			title, msg = "Страница не найдена", "Такой страницы нет. Вернитесь на главную."
		case http.StatusMethodNotAllowed:
			title, msg = "Действие недоступно", "Так обратиться к этой странице нельзя. Вернитесь на главную."
		case http.StatusRequestEntityTooLarge:
			title, msg = "Слишком большой запрос", "Файл слишком велик: станция принимает файлы до 5 МБ. Выберите файл меньше — для листа подойдёт JPEG или PNG."
		default:
			title, msg = "Ошибка запроса", http.StatusText(status)
		}
	} else if errors.Is(err, store.ErrNoExam) {
		status, title, msg = http.StatusConflict, "Экзамен не импортирован", err.Error()
	} else if station.IsInput(err) {
		status, title = http.StatusUnprocessableEntity, "Действие не выполнено"
	}
	if status >= 500 {
		s.logger.Error("request failed", "method", c.Request().Method, "path", c.Request().URL.Path, "status", status, "err", err)
	}
	if rerr := s.problem(c, status, title, msg); rerr != nil {
		s.logger.Error("error page not shown", "err", rerr)
	}
}

// problem shows a page that says what went wrong and what to do.
func (s *Server) problem(c echo.Context, status int, title, msg string) error {
	sess, ok := c.Get(ctxSession).(session)
	d := pageData{Title: title, Error: msg}
	if ok {
		d.Session = &sess
	}
	return s.render(c, status, "problem", d)
}
