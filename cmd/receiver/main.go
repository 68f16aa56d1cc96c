// Command receiver is the РЦОИ side of package transport: it holds the
// РЦОИ's keys, the register of trusted stations, and serves the upload
// endpoint stations send their sealed packages to.
package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"giascan/station/refusal"
	"giascan/station/users"
	"giascan/transport/receiver"
	"giascan/transport/receiver/pgstate"
	"giascan/transport/seal"
	"giascan/transport/tlspin"
)

// env is what a command may touch of the process, so tests can run
// commands in-process with their own streams.
type env struct {
	stdout io.Writer
	stderr io.Writer
	stdin  io.Reader
	// ready, when set, receives the address `serve` listens on.
	ready func(addr string)
}

// badInput refuses what the user typed: exit status 2, one line. It is the
// project's one refusal type (station/refusal), as in the station's
// command; on the command line it may name a flag.
func badInput(format string, a ...any) error { return refusal.New("", format, a...) }

const usageText = `usage: receiver keys init --data RDIR
       receiver station add --data RDIR --ppe PPE --pubkey ed25519:…
       receiver station enrol --data RDIR --ppe PPE --url https://host:port [--out FILE] [--valid 168h]
       receiver station list --data RDIR
       receiver exam import --data RDIR FILE
       receiver user add --data RDIR --login LOGIN   (password on standard input)
       receiver serve --data RDIR [--listen 127.0.0.1:8443] [--store file://DIR | s3://BUCKET/PREFIX?endpoint=HOST:PORT]
                      [--uploads s3://BUCKET/PREFIX?endpoint=HOST:PORT]
                      [--tls-cert FILE --tls-key FILE | --host NAME] [--plain-http]
                      [--postgres postgres://…]   (receivers sharing RDIR behind one address)
       receiver status --data RDIR [--json]
       receiver documents --data RDIR [--store URL] [--json]
       receiver documents get --data RDIR [--store URL] --package ID [--version N] --name NAME --out FILE`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, &env{stdout: os.Stdout, stderr: os.Stderr, stdin: os.Stdin}, os.Args[1:])
	stop()
	os.Exit(code)
}

// run executes one command line and returns the exit status.
func run(ctx context.Context, e *env, args []string) int {
	err := dispatch(ctx, e, args)
	if err == nil {
		return 0
	}
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(e.stdout, usageText)
		return 0
	}
	fmt.Fprintf(e.stderr, "receiver: %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
	if refusal.Is(err) {
		return 2
	}
	return 1
}

func dispatch(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return badInput("want a command\n%s", usageText)
	}
	switch cmd := strings.Join(args[:min(2, len(args))], " "); {
	case args[0] == "help" || args[0] == "-h" || args[0] == "--help":
		return flag.ErrHelp
	case cmd == "keys init":
		return keysInit(e, args[2:])
	case cmd == "station add":
		return stationAdd(e, args[2:])
	case cmd == "station enrol":
		return stationEnrol(e, args[2:])
	case cmd == "station list":
		return stationList(e, args[2:])
	case cmd == "user add":
		return userAdd(e, args[2:])
	case cmd == "exam import":
		return examImport(e, args[2:])
	case args[0] == "serve":
		return serve(ctx, e, args[1:])
	case args[0] == "status":
		return status(ctx, e, args[1:])
	case args[0] == "documents":
		return documents(ctx, e, args[1:])
	}
	return badInput("unknown command %q (see `receiver help`)", strings.Join(args, " "))
}

// parse parses flags; positional arguments are bad input. --data is
// required by every command.
func parse(fs *flag.FlagSet, args []string, data *string) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return badInput("%v", err)
	}
	if fs.NArg() > 0 {
		return badInput("unexpected argument %q", fs.Arg(0))
	}
	if *data == "" {
		return badInput("--data RDIR is required")
	}
	if fi, err := os.Stat(*data); err == nil && !fi.IsDir() {
		return badInput("--data %s: is not a folder", *data)
	}
	return nil
}

func keysInit(e *env, args []string) error {
	fs := flag.NewFlagSet("keys init", flag.ContinueOnError)
	data := fs.String("data", "", "receiver data `folder`")
	if err := parse(fs, args, data); err != nil {
		return err
	}
	if err := os.MkdirAll(*data, 0o700); err != nil {
		return err
	}
	k, err := receiver.InitKeys(*data)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "age recipient (give to stations: station keys rcoi import):\n%s\nreceipt key (stations check receipts with it):\n%s\n",
		k.Identity.Recipient(), seal.FormatPublicKey(k.ReceiptPublic()))
	return nil
}

func stationAdd(e *env, args []string) error {
	fs := flag.NewFlagSet("station add", flag.ContinueOnError)
	data := fs.String("data", "", "receiver data `folder`")
	ppe := fs.String("ppe", "", "the station's ППЭ, 4 digits")
	pub := fs.String("pubkey", "", "the station's public key, ed25519:… (station keys show)")
	if err := parse(fs, args, data); err != nil {
		return err
	}
	if _, err := receiver.LoadKeys(*data); err != nil {
		return err
	}
	st, err := receiver.AddStation(*data, *ppe, *pub)
	if err != nil {
		return badInput("%v", err)
	}
	fmt.Fprintf(e.stdout, "station %s registered for ППЭ %s (fingerprint %s)\n", st.Key, st.PPE, fingerprint(st.Key))
	return nil
}

func fingerprint(key string) string {
	pub, err := seal.ParsePublicKey(key)
	if err != nil {
		return "?"
	}
	return seal.Fingerprint(pub)
}

func serve(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	data := fs.String("data", "", "receiver data `folder`")
	listen := fs.String("listen", "127.0.0.1:8443", "`address` to listen on")
	store := fs.String("store", "", "store `URL` of accepted packages: file://DIR (default RDIR/store) or s3://BUCKET/PREFIX?endpoint=HOST:PORT (keys in AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)")
	certFile := fs.String("tls-cert", "", "TLS certificate `PEM` (default: the receiver's own, made in RDIR/tls)")
	keyFile := fs.String("tls-key", "", "TLS key `PEM` of --tls-cert")
	host := fs.String("host", "", "the `name` stations reach the receiver by, put in its own certificate")
	plain := fs.Bool("plain-http", false, "serve plain HTTP, for a TLS proxy in front")
	pgURL := fs.String("postgres", "", "PostgreSQL `URL` of the state shared with other receivers on the same data folder")
	uploads := fs.String("uploads", "", "where unfinished uploads are kept: s3://BUCKET/PREFIX?endpoint=HOST:PORT, shared by receivers behind one address (default RDIR/uploads)")
	if err := parse(fs, args, data); err != nil {
		return err
	}
	if *uploads != "" && *pgURL == "" {
		// The table of unfinished uploads is what finds them again in the
		// bucket after a restart; in memory it would forget them.
		return badInput("незавершённые загрузки в S3 (--uploads) требуют общей базы PostgreSQL (--postgres)")
	}
	r, err := receiver.Open(*data, *store)
	if err != nil {
		return err
	}
	r.Uploads = *uploads
	staff := users.Open(*data)
	r.People = people{staff}
	if list, err := staff.List(); err == nil && len(list) == 0 {
		fmt.Fprintln(e.stdout, "учётных записей сотрудников нет: табло приёма закрыто для всех; создайте запись командой receiver user add")
	}
	if *pgURL != "" {
		db, err := pgstate.Open(ctx, *pgURL)
		if err != nil {
			return err
		}
		defer db.Close()
		r.Share(db)
	}
	log := slog.New(slog.NewTextHandler(e.stderr, nil))
	var tlsCfg *tls.Config
	if !*plain {
		cert, err := receiver.LoadTLS(*data, *certFile, *keyFile, *host)
		if err != nil {
			return err
		}
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		fmt.Fprintf(e.stdout, "отпечаток сертификата TLS приёмника (станции сверяют его): %s\n", tlspin.Fingerprint(cert.Leaf))
	}
	h, err := r.Handler(ctx, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second, TLSConfig: tlsCfg,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	log.Info("serving", "addr", ln.Addr().String(), "recipient", r.Recipient(), "receipt_key", seal.FormatPublicKey(r.ReceiptKey()))
	if e.ready != nil {
		e.ready(ln.Addr().String())
	}
	done := make(chan error, 1)
	go func() {
		if tlsCfg != nil {
			done <- srv.ServeTLS(ln, "", "")
		} else {
			done <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	// Let running uploads write what they received; tus resumes the rest.
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	<-done
	return nil
}

func status(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	data := fs.String("data", "", "receiver data `folder`")
	asJSON := fs.Bool("json", false, "print JSON")
	store := fs.String("store", "", "store `URL` (default file://RDIR/store)")
	if err := parse(fs, args, data); err != nil {
		return err
	}
	r, err := receiver.Open(*data, *store)
	if err != nil {
		return err
	}
	st, err := r.Status(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	if !st.Deadline.IsZero() {
		fmt.Fprintf(e.stdout, "deadline %s (exam ends %s)\n", st.Deadline.Local().Format("2006-01-02 15:04"), st.Ends.Local().Format("15:04"))
	}
	for _, p := range st.PPE {
		fmt.Fprintf(e.stdout, "ППЭ %s: %d station(s), %d package version(s)", p.PPE, p.Stations, len(p.Packages))
		if p.Progress != nil {
			switch {
			case p.Complete:
				fmt.Fprint(e.stdout, ", all delivered")
			case p.Late:
				fmt.Fprintf(e.stdout, ", LATE: %d of %d missing", len(p.Missing), len(p.Expected))
			default:
				fmt.Fprintf(e.stdout, ", %d of %d missing", len(p.Missing), len(p.Expected))
			}
		}
		if p.Incidents != nil {
			fmt.Fprintf(e.stdout, ", %d incident act(s) in the closing set", *p.Incidents)
		}
		fmt.Fprintln(e.stdout)
		for _, rc := range p.Packages {
			fmt.Fprintf(e.stdout, "  %s v%d  %s  %s  %d bytes\n", rc.Package, rc.Version, rc.Received.Format(time.RFC3339), rc.Manifest[:12], rc.Size)
		}
		if p.Progress != nil {
			for _, id := range p.Missing {
				fmt.Fprintf(e.stdout, "  %s missing\n", id)
			}
		}
	}
	fmt.Fprintf(e.stdout, "refused uploads: %d\n", st.Rejects)
	return nil
}
