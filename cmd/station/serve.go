package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"

	"giascan/hardware"
	"giascan/station"
	"giascan/station/layout"
	"giascan/station/localapi"
	"giascan/station/web"
)

func init() {
	register(&command{
		name:    "serve",
		local:   true,
		summary: "run the web interface for operators and the head of the ППЭ/ППОИ (serve --listen 127.0.0.1:8080)",
		run:     runServe,
	})
}

const serveUsage = "usage: station serve [--data DIR] [--listen ADDR] [--tls-cert FILE --tls-key FILE] [--device SPEC ...] [--discover]"

// deviceList is a repeatable --device flag: every use adds one scanner
// the scanning screen offers besides the simulator.
type deviceList []string

// String joins the specs, for flag's defaults.
func (d *deviceList) String() string { return strings.Join(*d, " ") }

// Set adds one spec; runServe checks them all after parsing.
func (d *deviceList) Set(spec string) error {
	*d = append(*d, spec)
	return nil
}

func runServe(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("serve")
	data := addDataFlag(fs)
	listen := fs.String("listen", "127.0.0.1:8080", "`address` to listen on; keep it on the station or the local network")
	certFile := fs.String("tls-cert", "", "TLS certificate `file` (PEM); with --tls-key the interface is served over HTTPS and its cookies are Secure")
	keyFile := fs.String("tls-key", "", "TLS private key `file` (PEM) of --tls-cert")
	var devices deviceList
	fs.Var(&devices, "device", "scanner `spec` the scanning screen offers besides the simulator (see station scanners): sim:ARGS, sane:NAME, escl:URL, folder:PATH, twain:NAME; repeat for more")
	discover := fs.Bool("discover", false, "also offer every scanner the station finds (SANE, eSCL on the network, USB), looked up each time the scanning screen opens")
	pos, err := parseFlags(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(e.stdout, serveUsage)
		flagUsage(e.stdout, fs)
		return nil
	}
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return badInput("unexpected argument %q", pos[0])
	}
	for _, d := range devices {
		if _, err := checkDevice(d); err != nil {
			return err
		}
		hardware.Remember(d) // discovery checks and names it
	}
	if err := checkDataDir(*data); err != nil {
		return err
	}
	if _, _, err := net.SplitHostPort(*listen); err != nil {
		return badInput("--listen %q: want HOST:PORT, e.g. 127.0.0.1:8080", *listen)
	}
	if (*certFile == "") != (*keyFile == "") {
		return badInput("--tls-cert and --tls-key go together: give both or neither")
	}
	var tlsConfig *tls.Config
	if *certFile != "" {
		cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
		if err != nil {
			return badInput("--tls-cert/--tls-key: сертификат не загружен (%v); проверьте файлы", err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	app, err := station.Open(*data, station.Options{Logger: logger})
	if err != nil {
		return err
	}
	defer app.Close()
	// There is no default account: a folder with none gets a one-time
	// code, shown here, that creates the first administrator in the browser.
	setupCode, firstStart, err := app.Users.SetupCode()
	if err != nil {
		return err
	}
	// The local API: other station commands on this folder run here.
	api, err := localapi.Listen(string(app.Dir), layout.SocketFile)
	if err != nil {
		return err
	}
	srv, err := web.New(web.Config{App: app, TLS: tlsConfig != nil,
		Devices: devices, Discover: *discover, Logger: logger})
	if err != nil {
		api.Close()
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("адрес %s занят или недоступен (%v): укажите другой в --listen", *listen, err)
	}
	scheme := "http"
	if tlsConfig != nil {
		ln = tls.NewListener(ln, tlsConfig)
		scheme = "https"
	}
	fmt.Fprintf(e.stdout, "Веб-интерфейс станции: %s://%s/ (остановить — Ctrl+C)\n", scheme, ln.Addr())
	fmt.Fprintf(e.stdout, "Служба станции работает: команды station с --data %s выполняются через неё.\n", *data)
	if firstStart {
		fmt.Fprintf(e.stdout, "Первый запуск: учётных записей ещё нет. Откройте %s://%s/setup и введите код первого запуска %s\n(он же в файле %s), чтобы создать администратора.\n",
			scheme, ln.Addr(), setupCode, app.Users.SetupCodePath())
	}
	sv := &station.Supervisor{Logger: logger}
	var webErr error
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	app.Supervise(ctx, sv,
		station.Service{Name: "web", Run: func(ctx context.Context) error {
			webErr = srv.Serve(ctx, ln)
			if ctx.Err() == nil {
				stop() // the interface is the daemon's reason to live
			}
			return nil
		}},
		station.Service{Name: "local-api", Run: func(ctx context.Context) error {
			return localapi.Serve(ctx, api, func(ctx context.Context, req localapi.Request, stdin io.Reader, stdout, stderr io.Writer) int {
				return runForwarded(ctx, app, req, stdin, stdout, stderr)
			})
		}},
		station.Service{Name: "sealer", Run: app.RunSealer},
		station.Service{Name: "delivery", Run: app.RunDelivery},
	)
	fmt.Fprintln(e.stdout, "Веб-интерфейс остановлен.")
	return webErr
}

// runForwarded runs a command a caller sent over the local API, on the
// data folder the daemon holds.
func runForwarded(ctx context.Context, app *station.Station, req localapi.Request, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(req.Args) == 0 {
		return 2
	}
	if c, ok := commands[req.Args[0]]; !ok || c.local {
		fmt.Fprintf(stderr, "station: команда %q не выполняется через службу станции\n", req.Args[0])
		return 2
	}
	app.Logger().Info("command", "args", strings.Join(req.Args, " "))
	return run(ctx, &env{stdout: stdout, stderr: stderr, stdin: stdin, app: app, cwd: req.Cwd}, req.Args)
}
