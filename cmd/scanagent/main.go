// Command scanagent serves a scanner of this PC as an eSCL network
// scanner: a PC with a scanner and its vendor's driver (SANE on Linux,
// TWAIN on Windows) serves a station, or any eSCL client, over the LAN.
//
//	scanagent --device SPEC [--listen :8090] [--idle 1m] [--announce=false]
//	scanagent --list
//
// SPEC is any adapter's spec (sane:DEVICE, twain:SOURCE on Windows, sim,
// folder:PATH…); --list prints the devices this PC finds, with their
// specs. The agent announces the scanner by DNS-SD (_uscan._tcp), so
// stations list it by themselves; or the station scans with --device
// escl:http://THIS-PC:8090/eSCL. A scanner unplugged from this PC shows as
// down until a station asks for the next job after it was plugged in
// again: the agent then opens SPEC afresh.
package main

import (
	"context"
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

	"giascan/hardware"
	_ "giascan/hardware/all"
	"giascan/hardware/escl"
)

// env is what the command may touch of the process, so tests can run it
// in-process with their own streams.
type env struct {
	stdout io.Writer
	stderr io.Writer
	ready  func(addr string) // when set, receives the address the agent listens on
}

// usageError is bad input from the user: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func badInput(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

const usageText = `usage: scanagent --device SPEC [--listen ADDR] [--idle DURATION] [--announce=false]
       scanagent --list`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, &env{stdout: os.Stdout, stderr: os.Stderr}, os.Args[1:])
	stop()
	os.Exit(code)
}

// run executes the command line and returns the exit status.
func run(ctx context.Context, e *env, args []string) int {
	err := agent(ctx, e, args)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprintln(e.stdout, usageText)
		return 0
	}
	fmt.Fprintf(e.stderr, "scanagent: %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
	var ue *usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

func agent(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("scanagent", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	device := fs.String("device", "", "the scanner to serve, as an adapter spec")
	listen := fs.String("listen", ":8090", "address to serve eSCL on")
	idle := fs.Duration("idle", time.Minute, "how long a job waits for its client")
	list := fs.Bool("list", false, "list the scanners this PC finds")
	announce := fs.Bool("announce", true, "announce the scanner on the LAN by DNS-SD")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return badInput("%v\n%s", err, usageText)
	}
	if fs.NArg() > 0 {
		return badInput("лишний аргумент %q\n%s", fs.Arg(0), usageText)
	}
	if *list {
		return listDevices(ctx, e)
	}
	if *device == "" {
		return badInput("не указан сканер, который нужно предоставить в сеть: укажите его описание, например sane:fujitsu:fi-7160:123 (список: scanagent --list)")
	}
	if *idle <= 0 {
		return badInput("время ожидания клиента должно быть больше нуля, а не %s", *idle)
	}
	log := slog.New(slog.NewTextHandler(e.stderr, nil))
	dev, err := hardware.Open(*device)
	if err != nil {
		return fmt.Errorf("сканер %s не открывается: %w", *device, err)
	}
	defer hardware.Close(dev)
	srv := escl.NewServer(dev, log)
	srv.Idle = *idle
	srv.Reopen = func(gone hardware.Scanner) (hardware.Scanner, error) { return hardware.Reopen(*device, gone) }
	defer srv.Close()

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("адрес %s занят или недоступен: %w", *listen, err)
	}
	web := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- web.Serve(ln) }() // owned by agent: Shutdown ends it
	d := dev.Device()
	log.Info("serving the scanner over eSCL", "device", d.Name, "url", "http://"+ln.Addr().String()+escl.Root)
	if e.ready != nil {
		e.ready(ln.Addr().String())
	}
	actx, stopAnnouncing := context.WithCancel(ctx)
	announced := make(chan struct{})
	go func() { // owned by agent: stopAnnouncing ends it
		defer close(announced)
		if !*announce {
			return
		}
		a := escl.NewAnnouncement(d, escl.PortOf(ln.Addr().String()))
		if tcp, ok := ln.Addr().(*net.TCPAddr); ok && !tcp.IP.IsUnspecified() {
			a.Addrs = []net.IP{tcp.IP} // listening on one address: give that one
		}
		err := escl.Announce(actx, a)
		if err != nil && actx.Err() == nil {
			log.Warn("the scanner is not announced on the LAN; stations need its address", "err", err)
		}
	}()
	defer func() { stopAnnouncing(); <-announced }()
	select {
	case <-ctx.Done():
	case err := <-served:
		return fmt.Errorf("eSCL server: %w", err)
	}
	srv.Close() // ends a running job first, so its client gets its answer
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := web.Shutdown(sctx); err != nil {
		return fmt.Errorf("eSCL server: %w", err)
	}
	<-served
	return nil
}

// listDevices prints what discovery finds, one device a line: its spec,
// then its name.
func listDevices(ctx context.Context, e *env) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	devs, err := hardware.Discover(ctx)
	for _, d := range devs {
		spec := d.Spec
		if spec == "" {
			spec = "-"
		}
		fmt.Fprintf(e.stdout, "%s\t%s\n", spec, d.Name)
		if d.Note != "" {
			fmt.Fprintf(e.stdout, "\t%s\n", d.Note)
		}
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "scanagent: не все сканеры удалось найти: %s\n", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	return nil
}
