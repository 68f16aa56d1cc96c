package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"giascan/station/audit"
	"giascan/station/users"
)

// The first start: while the data folder has no account, the sign-in page
// leads here, where the one-time code the daemon printed creates the
// first administrator, who then sets up everything else in the browser.

func (s *Server) registerSetup(e *echo.Echo) {
	e.GET("/setup", s.setupPage)
	e.POST("/setup", s.setup, s.loginCSRF)
}

// setupNeeded tells whether the station still waits for its first account.
func (s *Server) setupNeeded() (bool, error) {
	_, needed, err := s.cfg.Users.SetupCode()
	return needed, err
}

func (s *Server) setupPage(c echo.Context) error {
	needed, err := s.setupNeeded()
	if err != nil {
		return err
	}
	if !needed {
		return c.Redirect(http.StatusSeeOther, "/login")
	}
	return s.showSetup(c, http.StatusOK, "", "")
}

func (s *Server) showSetup(c echo.Context, status int, errMsg, login string) error {
	tok := s.loginToken(c)
	return s.render(c, status, "setup", pageData{
		Title: "Первый запуск", CSRF: tok, Error: errMsg,
		Data: map[string]string{"Login": login, "CodeFile": s.cfg.Users.SetupCodePath()},
	})
}

func (s *Server) setup(c echo.Context) error {
	now := s.now()
	ip := c.RealIP()
	login := strings.TrimSpace(c.FormValue("login"))
	// Wrong codes count against the address like wrong passwords do.
	if b, wait := s.byIP.blocked("ip:"+ip, now); b {
		mins := int(wait.Minutes() + 0.999)
		return s.showSetup(c, http.StatusTooManyRequests, "Слишком много неверных кодов с этого компьютера. Подождите "+strconv.Itoa(mins)+" мин. и попробуйте снова.", login)
	}
	if c.FormValue("password") != c.FormValue("password2") {
		return s.showSetup(c, http.StatusUnprocessableEntity, "Пароли не совпадают: введите один и тот же пароль дважды. Ничего не создано.", login)
	}
	u, err := s.cfg.Users.AddFirstAdmin(c.FormValue("code"), login, c.FormValue("password"), now)
	if users.IsInput(err) {
		if strings.Contains(err.Error(), "код первого запуска") {
			s.byIP.fail("ip:"+ip, now)
			if err := s.record(actorOf(login), audit.ActionSignInRefused, "неверный код первого запуска; адрес "+ip, nil); err != nil {
				return err
			}
		}
		return s.showSetup(c, http.StatusUnprocessableEntity, opMessage(err), login)
	}
	if err != nil {
		return err
	}
	if err := s.record(u.Login, audit.ActionUserAdd, "первый запуск станции; адрес "+ip, map[string]string{"login": u.Login, "role": string(u.Role)}); err != nil {
		return err
	}
	sess := s.sessions.start(u, now)
	if err := s.record(u.Login, audit.ActionSignIn, "адрес "+ip, map[string]string{"role": string(u.Role)}); err != nil {
		s.sessions.end(sess.id)
		return err
	}
	s.setCookie(c, loginCSRFCookie, "", -1)
	s.setCookie(c, sessionCookie, sess.id, 0)
	return c.Redirect(http.StatusSeeOther, withFlash("/users", "Администратор "+u.Login+" создан. Добавьте учётные записи руководителя и операторов, затем задайте ключи и адрес РЦОИ в настройках."))
}
