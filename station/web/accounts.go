package web

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"giascan/station/audit"
	"giascan/station/users"
)

// registerAccounts adds the administrator's accounts page.
func (s *Server) registerAccounts(in *echo.Group) {
	in.GET("/users", s.usersPage, s.allow(users.ManageUsers))
	in.POST("/users/add", s.userAdd, s.csrf, s.allow(users.ManageUsers))
	in.POST("/users/password", s.userPassword, s.csrf, s.allow(users.ManageUsers))
	in.POST("/users/disable", s.userDisable, s.csrf, s.allow(users.ManageUsers))
	in.POST("/users/unlock", s.userUnlock, s.csrf, s.allow(users.ManageUsers))
}

type accountRow struct {
	users.User
	RoleName string
}

type accountsView struct {
	Users []accountRow
	Roles []roleChoice
	Login string // what was typed, shown again after a refusal
}

type roleChoice struct{ Key, Name string }

func (s *Server) usersPage(c echo.Context) error { return s.showUsers(c, http.StatusOK, "", "") }

func (s *Server) showUsers(c echo.Context, status int, errMsg, login string) error {
	list, err := s.cfg.Users.List()
	if err != nil {
		return err
	}
	v := accountsView{Login: login}
	for _, u := range list {
		v.Users = append(v.Users, accountRow{User: u, RoleName: u.Role.Name()})
	}
	for _, r := range users.Roles {
		v.Roles = append(v.Roles, roleChoice{Key: string(r), Name: r.Name()})
	}
	d := s.data(c, "Учётные записи")
	d.Error, d.Data = errMsg, v
	return s.render(c, status, "users", d)
}

// refusedUser shows a refusal of the accounts page.
func (s *Server) refusedUser(c echo.Context, err error, login string) error {
	if users.IsInput(err) {
		return s.showUsers(c, http.StatusUnprocessableEntity, opMessage(err), login)
	}
	return err
}

func (s *Server) userAdd(c echo.Context) error {
	login := strings.TrimSpace(c.FormValue("login"))
	pw := c.FormValue("password")
	if pw != c.FormValue("password2") {
		return s.showUsers(c, http.StatusUnprocessableEntity, "Пароли не совпадают: введите один и тот же пароль дважды. Ничего не изменено.", login)
	}
	u, err := s.cfg.Users.Add(login, users.Role(c.FormValue("role")), pw, s.now())
	if err != nil {
		return s.refusedUser(c, err, login)
	}
	if err := s.record(sessionOf(c).login, audit.ActionUserAdd, "", map[string]string{"login": u.Login, "role": string(u.Role)}); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, withFlash("/users", "Учётная запись "+u.Login+" добавлена ("+u.Role.Name()+")."))
}

func (s *Server) userPassword(c echo.Context) error {
	login := c.FormValue("login")
	pw := c.FormValue("password")
	if pw != c.FormValue("password2") {
		return s.showUsers(c, http.StatusUnprocessableEntity, "Пароли не совпадают: введите один и тот же пароль дважды. Ничего не изменено.", "")
	}
	if _, err := s.cfg.Users.SetPassword(login, pw); err != nil {
		return s.refusedUser(c, err, "")
	}
	s.byLogin.resetPrefix("login:" + login + "@")
	if err := s.record(sessionOf(c).login, audit.ActionUserPassword, "", map[string]string{"login": login}); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, withFlash("/users", "Пароль "+login+" сменён; сообщите его владельцу лично."))
}

func (s *Server) userDisable(c echo.Context) error {
	login := c.FormValue("login")
	disable := c.FormValue("disable") == "yes"
	if disable && login == sessionOf(c).login {
		return s.showUsers(c, http.StatusUnprocessableEntity, "Свою учётную запись отключить нельзя: попросите другого администратора. Ничего не изменено.", "")
	}
	if _, err := s.cfg.Users.SetDisabled(login, disable); err != nil {
		return s.refusedUser(c, err, "")
	}
	action, msg := audit.ActionUserEnable, "Учётная запись "+login+" снова действует."
	if disable {
		s.sessions.endUser(login)
		action, msg = audit.ActionUserDisable, "Учётная запись "+login+" отключена; её сеансы завершены."
	}
	if err := s.record(sessionOf(c).login, action, "", map[string]string{"login": login}); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, withFlash("/users", msg))
}

func (s *Server) userUnlock(c echo.Context) error {
	login := c.FormValue("login")
	n := s.byLogin.resetPrefix("login:" + login + "@")
	if err := s.record(sessionOf(c).login, audit.ActionUserUnlock, "", map[string]any{"login": login, "addresses": n}); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, withFlash("/users", "Вход для "+login+" разблокирован."))
}
