package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"

	"giascan/hardware"
	"giascan/hardware/folder"
	"giascan/hardware/sim"
	"giascan/station/session"
	"giascan/station/store"
)

func init() {
	register(&command{
		name:    "scan",
		summary: "scan one auditorium's stack into the data folder: one JSON line per stored page",
		run:     runScan,
	})
}

const scanUsage = "usage: station scan [--data DIR] --ppe P --auditorium A --device sim|sim:ARGS|sane:NAME|folder:PATH [--source ADF|Duplex] [--dpi N] [--mode gray|color|lineart] [--workers N] [--on-fault ask|stop|continue]"

// scanArgs are the checked flags of a scan.
type scanArgs struct {
	data    string
	place   store.Place
	device  string
	opts    hardware.Options
	workers int
	onFault string
}

func parseScanArgs(e *env, args []string) (*scanArgs, error) {
	fs := newFlagSet("scan")
	data := addDataFlag(fs)
	ppe := fs.String("ppe", "", "ППЭ code, 4 digits")
	aud := fs.String("auditorium", "", "auditorium number, 4 digits")
	device := fs.String("device", "", "scanner: sim, sim:ARGS, sane:NAME or folder:PATH")
	source := fs.String("source", string(hardware.ADF), "paper source: ADF or Duplex")
	dpi := fs.String("dpi", "", "resolution in dpi (default: the device's)")
	mode := fs.String("mode", "", "scan mode: gray, color or lineart (default: the device's)")
	workers := fs.String("workers", "", "pages recognised in parallel (default: the number of CPUs)")
	onFault := fs.String("on-fault", "ask", "after a jam or other device event: ask (wait for Enter), stop, or continue at once")
	pos, err := parseFlags(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(e.stdout, scanUsage)
		flagUsage(e.stdout, fs)
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	if len(pos) > 0 {
		return nil, badInput("unexpected argument %q", pos[0])
	}
	a := &scanArgs{data: *data, onFault: *onFault, workers: runtime.NumCPU()}
	if err := checkDataDir(a.data); err != nil {
		return nil, err
	}
	if a.place.PPE, err = parsePPE(*ppe); err != nil {
		return nil, err
	}
	if a.place.Auditorium, err = parseAuditorium(*aud); err != nil {
		return nil, err
	}
	if a.device, err = checkDevice(e.deviceSpec(*device)); err != nil {
		return nil, err
	}
	switch hardware.Source(*source) {
	case hardware.ADF, hardware.Duplex:
		a.opts.Source = hardware.Source(*source)
	default:
		return nil, badInput("--source %q: want ADF (лицевые стороны) or Duplex (обе стороны)", *source)
	}
	if *dpi != "" {
		if a.opts.DPI, err = parseCount("dpi", *dpi, 1200); err != nil {
			return nil, err
		}
	}
	switch *mode {
	case "", sim.ModeGray, sim.ModeColor, sim.ModeLineart:
		a.opts.Mode = *mode
	default:
		return nil, badInput("--mode %q: want gray, color or lineart", *mode)
	}
	if *workers != "" {
		if a.workers, err = parseCount("workers", *workers, maxWorkers); err != nil {
			return nil, err
		}
	}
	switch a.onFault {
	case "ask", "stop", "continue":
	default:
		return nil, badInput("--on-fault %q: want ask, stop or continue", a.onFault)
	}
	return a, nil
}

// checkDevice checks a --device spec before anything is opened: a known
// adapter and, for a folder, a folder that exists.
func checkDevice(spec string) (string, error) {
	if spec == "" {
		return "", badInput("не указан сканер: добавьте --device sim, --device sane:ИМЯ или --device folder:ПАПКА")
	}
	name, arg, _ := strings.Cut(spec, ":")
	if !slices.Contains(hardware.Adapters(), name) {
		return "", badInput("--device %s: неизвестное устройство %q; укажите одно из: %s", spec, name, strings.Join(hardware.Adapters(), ", "))
	}
	if name == "folder" {
		cfg, err := folder.ParseArg(arg)
		if err != nil {
			return "", badInput("--device %s: %v", spec, err)
		}
		fi, err := os.Stat(cfg.Dir)
		if cfg.Dir == "" || err != nil || !fi.IsDir() {
			return "", badInput("--device %s: папки %q нет; укажите существующую папку со сканами", spec, cfg.Dir)
		}
	}
	return spec, nil
}

// deviceSpec resolves the folder of a folder: spec against the caller's
// working folder.
func (e *env) deviceSpec(spec string) string {
	if rest, ok := strings.CutPrefix(spec, "folder:"); ok {
		return "folder:" + e.path(rest)
	}
	return spec
}

// scanLine is the stdout line of a stored page.
type scanLine struct {
	Seq     int    `json:"seq"`
	SHA256  string `json:"sha256"`
	Barcode string `json:"barcode"`
}

func runScan(ctx context.Context, e *env, args []string) error {
	a, err := parseScanArgs(e, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	// Nothing is written until the exam and the place are known good: a
	// scan of the wrong auditorium must not leave a store behind.
	app, done, err := e.openExamStation(a.data)
	if err != nil {
		return err
	}
	defer done()
	st, log := app.Store, app.Log
	if err := session.CheckPlace(st, a.place); err != nil {
		return cliError(err, a)
	}
	rc, err := app.Recognizer()
	if err != nil {
		return err
	}

	p := &scanPrinter{e: e, onFault: a.onFault, done: make(chan struct{})}
	defer close(p.done)
	_, err = session.Run(ctx, session.Config{
		Store: st, Log: log, Place: a.place, Device: a.device, Options: a.opts,
		Workers: a.workers, Recognizer: rc, OnFault: p.resume, Notify: p.notify,
	})
	return cliError(err, a)
}

// cliError words a session's error for the command line.
func cliError(err error, a *scanArgs) error {
	var ie *session.InputError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, session.ErrInterrupted):
		return errors.New("сканирование прервано; сохранённые страницы на месте, запустите station scan снова, чтобы продолжить")
	case errors.Is(err, session.ErrRecognitionInterrupted):
		return errors.New("распознавание прервано; оно продолжится при следующем запуске station scan")
	case errors.Is(err, store.ErrNoExam):
		return badInput("%s (папка данных %s)", store.ErrNoExam, a.data)
	case errors.As(err, &ie):
		return badInput("%s", ie.Msg)
	}
	return err
}

// scanPrinter shows a session on the terminal: stored pages as JSON lines
// on stdout, everything else as sentences on stderr.
type scanPrinter struct {
	e       *env
	onFault string
	enter   chan error    // Enter presses on stdin, after a device event
	done    chan struct{} // closed when the run ends
}

func (p *scanPrinter) say(format string, args ...any) {
	fmt.Fprintf(p.e.stderr, format+"\n", args...)
}

// notify is called by the session one event at a time.
func (p *scanPrinter) notify(ev session.Event) error {
	switch ev.Kind {
	case session.PageStored:
		line, _ := json.Marshal(scanLine{Seq: ev.Page.Seq, SHA256: ev.Page.SHA256})
		if _, err := p.e.stdout.Write(append(line, '\n')); err != nil {
			return fmt.Errorf("вывод результатов: %w", err)
		}
	case session.PageRead:
	default:
		p.say("%s", ev.Text)
	}
	return nil
}

// resume waits for the operator after a device event, as --on-fault says.
func (p *scanPrinter) resume(ctx context.Context, f *hardware.Fault) error {
	stop := fmt.Errorf("сканирование остановлено после события «%s»; сохранённые страницы на месте, устраните причину и запустите station scan снова", f.Kind)
	switch p.onFault {
	case "continue":
		return nil
	case "stop":
		return stop
	}
	if p.e.stdin == nil {
		return stop
	}
	p.say("Нажмите Enter, чтобы продолжить сканирование (Ctrl+C — остановить).")
	if p.enter == nil {
		// One reader for the whole run, so that no typed line is lost to
		// a buffer. It ends when stdin does; a scan waits for it or for
		// ctx, whichever comes first.
		p.enter = make(chan error)
		go func() {
			br := bufio.NewReader(p.e.stdin)
			for {
				_, err := br.ReadString('\n')
				select {
				case p.enter <- err:
				case <-p.done:
					return
				}
				if err != nil {
					close(p.enter)
					return
				}
			}
		}()
	}
	select {
	case err, ok := <-p.enter:
		if !ok || err != nil {
			return stop
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
