// Command station runs the scanning station of a ППЭ or ППОИ: it prints
// exam kits, drives the scanner, recognises the blanks, reconciles them with
// the ППЭ forms and sends the packages to the РЦОИ.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"giascan/station"
	"giascan/station/layout"
	"giascan/station/localapi"
	"giascan/station/refusal"
	"giascan/station/store"
)

// command is one subcommand of station. Each lives in its own file and
// registers itself in init.
type command struct {
	name    string
	summary string // one line, shown by `station help`
	run     func(ctx context.Context, env *env, args []string) error
	// local commands never go through a running daemon: the daemon
	// itself, and commands that touch no data folder.
	local bool
}

// env is what a command may touch of the process, so tests can run
// commands in-process with their own streams.
type env struct {
	stdout io.Writer
	stderr io.Writer
	stdin  io.Reader
	// app is the data folder the daemon holds, when the command runs
	// inside the daemon on behalf of a caller; cwd is then the caller's
	// working folder, against which relative paths are resolved.
	app *station.Station
	cwd string
}

// path resolves a path the user gave against their working folder.
func (e *env) path(p string) string {
	if p == "" || e.cwd == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(e.cwd, p)
}

// openStation opens the data folder, or borrows the daemon's when the
// command runs inside it. done releases it.
func (e *env) openStation(data string) (*station.Station, func(), error) {
	if e.app != nil {
		if abs, err := filepath.Abs(e.path(data)); err == nil && abs == string(e.app.Dir) {
			return e.app, func() {}, nil
		}
	}
	st, err := station.Open(data, station.Options{Logger: quietLogger})
	if err != nil {
		return nil, nil, err
	}
	return st, func() { st.Close() }, nil
}

// openExamStation is openStation for commands that need an exam already
// imported: on a folder without one it refuses and creates nothing.
func (e *env) openExamStation(data string) (*station.Station, func(), error) {
	if e.app == nil && !store.Exists(data) {
		return nil, nil, badInput("%s (папка данных %s)", store.ErrNoExam, data)
	}
	return e.openStation(data)
}

// quietLogger drops the station's structured log in one-shot commands:
// what they do is in their output and in the audit log.
var quietLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

var commands = map[string]*command{}

func register(c *command) {
	if _, dup := commands[c.name]; dup {
		panic("command registered twice: " + c.name)
	}
	commands[c.name] = c
}

// badInput refuses what the user typed: exit status 2, one line. It is the
// station's one refusal type; on the command line it may name a flag.
func badInput(format string, a ...any) error { return refusal.New("", format, a...) }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, &env{stdout: os.Stdout, stderr: os.Stderr, stdin: os.Stdin}, os.Args[1:])
	stop()
	os.Exit(code)
}

// run executes one command line and returns the exit status.
func run(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(e.stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(e.stderr, "station: unknown command %q (see `station help`)\n", args[0])
		return 2
	}
	if !c.local && e.app == nil {
		if code, ok := forward(ctx, e, c, args); ok {
			return code
		}
	}
	err := c.run(ctx, e, args[1:])
	if err == nil {
		return 0
	}
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	fmt.Fprintf(e.stderr, "station %s: %s\n", c.name, msg)
	if station.IsInput(err) {
		return 2
	}
	return 1
}

// forward runs a command on the daemon that holds its data folder; ok is
// false when no daemon answers and the command is to run here.
func forward(ctx context.Context, e *env, c *command, args []string) (int, bool) {
	data, rest := dataArg(args[1:])
	abs, err := filepath.Abs(data)
	if err != nil {
		return 0, false
	}
	cwd, _ := os.Getwd()
	req := localapi.Request{Args: append([]string{c.name}, append(rest, "--data", abs)...), Cwd: cwd}
	var stdin io.Reader
	if f, ok := e.stdin.(*os.File); !ok || !isTerminal(f) {
		stdin = e.stdin
	}
	code, err := localapi.Call(ctx, abs, layout.SocketFile, req, stdin, e.stdout, e.stderr)
	if errors.Is(err, localapi.ErrNoDaemon) {
		return 0, false
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "station %s: %s\n", c.name, err)
		return 1, true
	}
	return code, true
}

// dataArg takes the data folder out of a command's arguments: its --data
// value, or the default one.
func dataArg(args []string) (string, []string) {
	data := defaultDataDir()
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--data" || a == "-data":
			if i+1 < len(args) {
				data = args[i+1]
				i++
			}
		case strings.HasPrefix(a, "--data="), strings.HasPrefix(a, "-data="):
			_, data, _ = strings.Cut(a, "=")
		default:
			rest = append(rest, a)
		}
	}
	return data, rest
}

// isTerminal tells whether f is a terminal, whose input a forwarded
// command must not swallow.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: station COMMAND [options]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
}
