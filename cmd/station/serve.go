package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net"
	"strings"

	"giascan/station/audit"
	"giascan/station/store"
	"giascan/station/users"
	"giascan/station/web"
)

func init() {
	register(&command{
		name:    "serve",
		summary: "run the web interface for operators and the head of the ППЭ/ППОИ (serve --listen 127.0.0.1:8080)",
		run:     runServe,
	})
}

const serveUsage = "usage: station serve [--data DIR] [--listen ADDR] [--tls-cert FILE --tls-key FILE] [--device sim:ARGS|sane:NAME|folder:PATH ...] [--discover-sane]"

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
	fs.Var(&devices, "device", "scanner `spec` the scanning screen offers besides the simulator: sim:ARGS, sane:NAME or folder:PATH; repeat for more")
	discover := fs.Bool("discover-sane", false, "also offer the scanners SANE (scanimage) finds on this computer, looked up each time the scanning screen opens")
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
	db := users.Open(*data)
	list, err := db.List()
	if err != nil {
		return err
	}
	if len(list) == 0 {
		// There is no default account: without one nobody could sign in.
		return badInput("в папке данных %s нет пользователей: сначала добавьте их командой station user add --data %s --login ЛОГИН --role head", *data, *data)
	}
	// The server holds the store and the audit log for as long as it runs:
	// both are locked exclusively, so other commands wait for it to stop.
	st, err := store.Open(*data)
	if err != nil {
		return err
	}
	defer st.Close()
	log, err := audit.Open(*data)
	if err != nil {
		return fmt.Errorf("журнал аудита: %w", err)
	}
	defer log.Close()
	srv, err := web.New(web.Config{Store: st, Log: log, Users: db, TLS: tlsConfig != nil,
		Devices: devices, DiscoverSANE: *discover})
	if err != nil {
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
	err = srv.Serve(ctx, ln)
	fmt.Fprintln(e.stdout, "Веб-интерфейс остановлен.")
	return err
}
