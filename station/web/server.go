// Package web is the station's local web interface for the people of a
// ППЭ or ППОИ: sign-in, the exam board and the exam import. Pages are
// rendered on the server in Russian; templates and assets are embedded, so
// the station needs no internet. Every state-changing request carries a
// CSRF token and every action is checked against the role matrix of
// package users on the server.
package web

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"giascan/hardware"
	"giascan/station"
	"giascan/station/audit"
	"giascan/station/store"
	"giascan/station/users"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Config is what a server works on. Store, Log and Users are required;
// the server does not close them.
type Config struct {
	// App is the station the interface is a front end of; required.
	App *station.Station
	// Store, Log and Users are App's, filled in by New.
	Store *store.Store
	Log   *audit.Log
	Users *users.DB
	// Logger receives what the interface does and every failed request;
	// the station's logger when nil.
	Logger *slog.Logger
	// TLS marks cookies Secure; set it when the server is behind TLS.
	TLS bool
	// Now is the clock; nil means time.Now. Tests move it.
	Now func() time.Time
	// Location is the station's time zone for the exam's end time; nil
	// means time.Local.
	Location *time.Location
	// IdleTimeout ends a session left untouched this long (default 30 min);
	// MaxSession ends any session this long after sign-in (default 12 h).
	IdleTimeout, MaxSession time.Duration
	// LoginFailures and IPFailures are the failed sign-ins allowed per
	// login and per address within FailureWindow (defaults 5, 20, 15 min).
	LoginFailures, IPFailures int
	FailureWindow             time.Duration
	// Devices are scanner specs the scanning screen offers besides the
	// simulator.
	Devices []string
	// Discover makes the scanning screen also offer every scanner the
	// adapters find: SANE's, eSCL ones on the network, USB ones (a
	// look-up of up to 5 s).
	Discover bool
	// ScanOptions are the resolution and mode of web scans (zero: the
	// device's); the screen chooses the source.
	ScanOptions hardware.Options
	// ScanWorkers is how many pages are recognised in parallel (0: the
	// number of CPUs).
	ScanWorkers int
}

// Server is the web interface of one data folder.
type Server struct {
	cfg      Config
	logger   *slog.Logger
	live     *liveDevices // nil without discovery
	echo     *echo.Echo
	pages    map[string]*template.Template
	sessions *sessions
	byLogin  *limiter
	byIP     *limiter
	desk     *scanDesk
	regs     registrations // where each page's template lies on its image
}

// New makes the server and its routes.
func New(cfg Config) (*Server, error) {
	if cfg.App == nil {
		return nil, errors.New("web: App is required")
	}
	cfg.Store, cfg.Log = cfg.App.Store, cfg.App.Log
	if cfg.Logger == nil {
		cfg.Logger = cfg.App.Logger()
	}
	if cfg.Users == nil {
		cfg.Users = cfg.App.Users
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = 30 * time.Minute
	}
	if cfg.MaxSession == 0 {
		cfg.MaxSession = 12 * time.Hour
	}
	if cfg.LoginFailures == 0 {
		cfg.LoginFailures = 5
	}
	if cfg.IPFailures == 0 {
		cfg.IPFailures = 20
	}
	if cfg.FailureWindow == 0 {
		cfg.FailureWindow = 15 * time.Minute
	}
	pages, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:      cfg,
		logger:   cfg.Logger,
		pages:    pages,
		sessions: newSessions(cfg.IdleTimeout, cfg.MaxSession),
		byLogin:  newLimiter(cfg.LoginFailures, cfg.FailureWindow),
		byIP:     newLimiter(cfg.IPFailures, cfg.FailureWindow),
		desk:     newScanDesk(),
	}
	if cfg.Discover {
		s.live = watchDevices() // stopped by Close
	}
	s.echo = s.routes()
	return s, nil
}

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.echo }

// Serve answers requests on ln until ctx is done, then stops accepting,
// lets requests in flight finish (up to 10 s) and returns.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.echo,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		WriteTimeout:      time.Minute,
		IdleTimeout:       2 * time.Minute,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }() // owned here: Serve waits for it below
	select {
	case err := <-errc:
		s.Close()
		return fmt.Errorf("веб-сервер остановился: %w", err)
	case <-ctx.Done():
	}
	s.Close() // a running scan stops first; its pages stay stored
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	if e := <-errc; e != nil && !errors.Is(e, http.ErrServerClosed) && err == nil {
		err = e
	}
	return err
}

func (s *Server) now() time.Time { return s.cfg.Now() }

func (s *Server) routes() *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	// The station is reached directly on the local network: trust the
	// peer address only, never a header a client can forge, or the
	// per-address sign-in limit could be dodged.
	e.IPExtractor = echo.ExtractIPDirect()
	e.HTTPErrorHandler = s.errorPage
	e.Use(s.secureHeaders)
	// Bounds every body before a form is parsed: an exam file is far
	// smaller, and a huge upload must not fill the disk with temp files.
	// Files of an auditorium (audio) are the one exception: that route
	// streams its body to the data folder with its own bound.
	e.Use(bodyLimit(maxBodyBytes, attachPath))

	e.GET("/static/*", echo.WrapHandler(http.FileServer(http.FS(staticFS))))
	// Metrics for Prometheus: counts and times only, nothing about a
	// participant, so a monitoring system may read them without a login.
	reg := prometheus.NewRegistry()
	reg.MustRegister(s.cfg.App.Collector(), collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
	e.GET("/login", s.loginPage)
	e.POST("/login", s.login, s.loginCSRF)
	s.registerSetup(e)

	in := e.Group("", s.signedIn)
	in.POST("/logout", s.logout, s.csrf)
	in.GET("/", s.board, s.allow(users.ViewBoard))
	in.GET("/exam/import", s.importPage, s.allow(users.ImportExam))
	// The CSRF check runs before the role check: a forged request is
	// refused as forged whoever's cookie it rides on.
	in.POST("/exam/import", s.importExam, s.csrf, s.allow(users.ImportExam))
	s.registerReview(in)
	s.registerForm1302(in)
	s.registerForm1302Typed(in)
	s.registerScan(in)
	s.registerProtocolScan(in)
	s.registerActs(in)
	s.registerPrint(in)
	s.registerReadiness(in)
	s.registerBoard(in)
	s.registerDelivery(in)
	s.registerAccounts(in)
	s.registerAttach(in)
	return e
}

// secureHeaders keeps pages out of frames and caches and forbids anything
// not served by the station itself.
func (s *Server) secureHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; form-action 'self'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		return next(c)
	}
}

// bodyLimit cuts request bodies at n bytes, except on the paths skip,
// whose handlers bound their bodies themselves.
func bodyLimit(n int64, skip ...string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if slices.Contains(skip, r.URL.Path) {
				return next(c)
			}
			if r.ContentLength > n {
				return echo.NewHTTPError(http.StatusRequestEntityTooLarge)
			}
			r.Body = http.MaxBytesReader(c.Response(), r.Body, n)
			return next(c)
		}
	}
}
