// Package sane is the scanner adapter "sane": it drives a SANE device
// through scanimage (Debian's sane-utils) in ADF batch mode.
//
// scanimage runs as a child process in its own process group, writing one
// file per page into a private temporary folder and printing each file's
// name once the page is complete (--batch-print). Running the vendor
// backend in another process is the point: a backend that crashes or
// hangs takes scanimage down, never the station. A crash becomes a
// *hardware.Fault of kind DeviceGone.
//
// The spec is "sane:DEVICE" with optional settings after commas, e.g.
// "sane:fujitsu:fi-7160:12345,format=tiff" or
// "sane:test,--test-picture=Grid". Settings: format=png|tiff|pnm (pnm
// pages are converted to PNG), grace=DURATION, and any argument starting
// with "-", passed to scanimage as is (backend options such as geometry).
//
// scanimage's end is mapped to events by its messages: "Document feeder
// out of documents" is the feeder running empty (nil); "jammed" a
// PaperJam; "cover is open" a CoverOpen; an I/O error
// (SANE_STATUS_IO_ERROR, what a backend reports when its device is
// unplugged mid-scan), a device that cannot be opened or is not found, or
// a crash a DeviceGone. A gone device stays gone until it is opened again
// (see hardware.Scanner): New asks scanimage for its options, which fails
// while it is still away.
//
// A real feeder does not take back a sheet it scanned, so pages that were
// scanned but not accepted (the receiver refused one, or the scan was
// cancelled while scanimage had finished more pages) are kept and
// delivered first by the next Scan, with their numbers: nothing is lost and
// nothing repeats.
package sane

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"giascan/hardware"
)

func init() {
	hardware.Register("sane", func(arg string) (hardware.Scanner, error) { return Open(arg) })
	hardware.RegisterDiscoverer("sane", hardware.DiscoverFunc(func(ctx context.Context) ([]hardware.Device, error) {
		devs, err := List(ctx, Config{})
		if runtime.GOOS == "windows" && errors.Is(err, exec.ErrNotFound) {
			return nil, nil // SANE is rare on Windows: its absence is no news
		}
		return devs, err
	}), DiscoverEvery)
}

// DiscoverEvery is how often the station looks for SANE devices again:
// scanimage -L probes every backend, network ones included, which takes
// seconds.
const DiscoverEvery = 20 * time.Second

// OpenTimeout bounds the capability query of Open, which has no context.
const OpenTimeout = 30 * time.Second

// Config says how to reach a SANE device.
type Config struct {
	Device  string        // SANE device name as scanimage -L prints it, e.g. "test" or "fujitsu:fi-7160:12345"
	Command string        // scanimage binary; default "scanimage"
	Format  string        // file format scanimage writes: png (default), tiff or pnm (converted to PNG)
	Extra   []string      // more scanimage arguments, e.g. backend options
	Env     []string      // more environment for scanimage, e.g. SANE_CONFIG_DIR=…
	Grace   time.Duration // how long scanimage may take to stop when asked before it is killed; default 3s
}

func (c *Config) defaults() error {
	if c.Device == "" {
		return errors.New("sane: no device given (sane:DEVICE; see scanimage -L)")
	}
	if c.Command == "" {
		c.Command = "scanimage"
	}
	switch c.Format {
	case "":
		c.Format = "png"
	case "png", "tiff", "pnm":
	default:
		return fmt.Errorf("sane: format %q: want png, tiff or pnm", c.Format)
	}
	if c.Grace <= 0 {
		c.Grace = 3 * time.Second
	}
	return nil
}

func (c *Config) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, c.Command, args...)
	cmd.Env = append(os.Environ(), c.Env...)
	// Its own process group, so that stopping it reaches the backend's
	// helpers too and a signal to the station's group does not.
	ownGroup(cmd)
	cmd.Cancel = func() error { return kill(cmd) }
	cmd.WaitDelay = c.Grace
	return cmd
}

// Scanner is a SANE device driven through scanimage. It implements
// hardware.Scanner.
type Scanner struct {
	cfg  Config
	dev  hardware.Device
	opt  Options // the device's options as scanimage -A reported them
	mu   sync.Mutex
	held hardware.Held // scanned, numbered, not yet accepted
	next int           // Seq of the next page scanned
	gone hardware.Gone
}

// Open opens a device from a spec argument; see the package comment.
func Open(arg string) (*Scanner, error) {
	fields := strings.Split(arg, ",")
	cfg := Config{Device: fields[0]}
	for _, f := range fields[1:] {
		if strings.HasPrefix(f, "-") {
			cfg.Extra = append(cfg.Extra, f)
			continue
		}
		k, v, _ := strings.Cut(f, "=")
		var err error
		switch k {
		case "format":
			cfg.Format = v
		case "grace":
			cfg.Grace, err = time.ParseDuration(v)
		default:
			err = errors.New("unknown setting")
		}
		if err != nil {
			return nil, fmt.Errorf("sane: %s: %w", f, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), OpenTimeout)
	defer cancel()
	s, err := New(ctx, cfg)
	if err != nil {
		return nil, err
	}
	s.dev.Spec = "sane:" + arg
	return s, nil
}

// New opens a device: it asks scanimage for the device's options, which
// also proves the device is there.
func New(ctx context.Context, cfg Config) (*Scanner, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	opt, err := Query(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &Scanner{cfg: cfg, opt: opt, next: 1, dev: hardware.Device{
		ID: "sane:" + cfg.Device, Name: "SANE " + cfg.Device, Adapter: "sane", Caps: opt.Caps(),
	}}, nil
}

// Device describes the scanner.
func (s *Scanner) Device() hardware.Device { return s.dev }

// Scan feeds the stack through scanimage; see hardware.Scanner and the
// package comment.
func (s *Scanner) Scan(ctx context.Context, opts hardware.Options, deliver func(hardware.Page) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.gone.Err(); err != nil {
		return err
	}
	return s.gone.Keep(s.scan(ctx, opts, deliver))
}

func (s *Scanner) scan(ctx context.Context, opts hardware.Options, deliver func(hardware.Page) error) error {
	if deliver == nil {
		return errors.New("sane: scan without a receiver for the pages")
	}
	args, dpi, err := s.args(opts)
	if err != nil {
		return err
	}
	// Pages scanned by an earlier run go first: their sheets are out.
	if err := s.held.Deliver(ctx, deliver); err != nil {
		return err
	}
	return s.run(ctx, args, dpi, deliver)
}

// args builds scanimage's arguments for opts, without the batch ones, and
// the resolution pages will have.
func (s *Scanner) args(opts hardware.Options) ([]string, int, error) {
	args := []string{"-d", s.cfg.Device}
	source := opts.Source
	if source == "" {
		source = hardware.ADF
	}
	if len(s.opt.Sources) > 0 {
		name := s.opt.source(source)
		if name == "" {
			return nil, 0, fmt.Errorf("sane %s: no %s source among %q", s.cfg.Device, source, s.opt.Sources)
		}
		args = append(args, "--source", name)
	}
	dpi := opts.DPI
	if dpi == 0 {
		dpi = s.opt.DefaultDPI
	}
	if opts.DPI != 0 {
		if !s.opt.acceptsDPI(opts.DPI) {
			return nil, 0, fmt.Errorf("sane %s: %d dpi is not offered (%s)", s.cfg.Device, opts.DPI, s.opt.Resolution)
		}
		args = append(args, "--resolution", strconv.Itoa(opts.DPI))
	}
	mode := opts.Mode
	if mode == "" && len(s.opt.Modes) > 0 {
		mode = "gray" // what recognition wants; the device default may be colour
	}
	if mode != "" && len(s.opt.Modes) > 0 {
		name := s.opt.mode(mode)
		if name == "" {
			if opts.Mode != "" {
				return nil, 0, fmt.Errorf("sane %s: no %s mode among %q", s.cfg.Device, mode, s.opt.Modes)
			}
		} else {
			args = append(args, "--mode", name)
		}
	}
	return append(args, s.cfg.Extra...), dpi, nil
}

// messages scanimage prints and what they mean. Faults are checked first:
// a jam reported at the end of a batch is still a jam.
var (
	msgJam     = regexp.MustCompile(`(?i)jammed`)
	msgCover   = regexp.MustCompile(`(?i)cover is open`)
	msgGone    = regexp.MustCompile(`(?i)error during device i/o|open of device .* failed|no sane devices found|device .* not found`)
	msgNoDocs  = regexp.MustCompile(`(?i)out of documents`)
	msgBatchUp = regexp.MustCompile(`(?i)batch terminated`)
)

// run starts scanimage once and delivers the pages it prints.
func (s *Scanner) run(ctx context.Context, args []string, dpi int, deliver func(hardware.Page) error) error {
	dir, err := os.MkdirTemp("", "giascan-sane-")
	if err != nil {
		return fmt.Errorf("sane %s: %w", s.cfg.Device, err)
	}
	defer os.RemoveAll(dir)
	ext := s.cfg.Format
	args = append(args,
		"--batch="+filepath.Join(dir, "p%04d."+ext),
		"--batch-start="+strconv.Itoa(s.next), "--batch-print", "--format="+s.cfg.Format)

	// scanimage is not tied to ctx: on cancel it is asked to stop (SIGTERM
	// makes it cancel the scan and eject) and killed only after Grace.
	cmd := s.cfg.command(context.Background(), args...)
	errs := &stderrLog{ended: make(chan struct{})}
	cmd.Stderr = errs
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("sane %s: %w", s.cfg.Device, err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("sane %s: starting %s: %w", s.cfg.Device, s.cfg.Command, err)
	}

	names := make(chan string)
	readDone := make(chan struct{})
	go func() { // owned by run: it ends at scanimage's EOF, which run waits for
		defer close(readDone)
		defer close(names)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if line := strings.TrimSpace(sc.Text()); line != "" {
				names <- line
			}
		}
	}()

	var (
		stopped  error // why run asked scanimage to stop
		killed   bool  // run killed it (stop took too long, or it hung)
		killer   *time.Timer
		hung     <-chan time.Time
		endedSig = errs.ended
	)
	stop := func(why error) {
		if stopped != nil {
			return
		}
		stopped = why
		_ = askToStop(cmd)
		killer = time.AfterFunc(s.cfg.Grace, func() { _ = kill(cmd) })
	}
	done := ctx.Done()
loop:
	for {
		select {
		case name, ok := <-names:
			if !ok {
				break loop
			}
			page, err := s.page(name, dpi)
			if err != nil {
				stop(err)
				continue
			}
			if stopped != nil {
				s.held.Keep(page) // the sheet is out: keep it
				continue
			}
			if err := deliver(page); err != nil {
				s.held.Keep(page)
				stop(err)
				continue
			}
		case <-done:
			done = nil
			stop(ctx.Err())
		case <-endedSig:
			// scanimage said the batch is over; some backends then hang in
			// their close routine, so it gets Grace to exit.
			endedSig = nil
			hung = time.After(s.cfg.Grace)
		case <-hung:
			hung = nil
			killed = true
			_ = kill(cmd)
		}
	}
	<-readDone
	werr := cmd.Wait()
	if killer != nil {
		killer.Stop()
	}
	if stopped != nil {
		return stopped
	}
	return s.outcome(werr, killed, errs.String())
}

// page reads the file scanimage reported and numbers it.
func (s *Scanner) page(path string, dpi int) (hardware.Page, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return hardware.Page{}, fmt.Errorf("sane %s: page file: %w", s.cfg.Device, err)
	}
	_ = os.Remove(path) // the temp folder goes anyway; free the space early
	format := s.cfg.Format
	if format == "pnm" {
		if data, err = PNMToPNG(data); err != nil {
			return hardware.Page{}, fmt.Errorf("sane %s: %s: %w", s.cfg.Device, filepath.Base(path), err)
		}
		format = "png"
	}
	p := hardware.Page{Seq: s.next, Data: data, Format: format, DPI: dpi, Side: hardware.Front,
		Name: fmt.Sprintf("%04d.%s", s.next, format)}
	s.next++
	return p, nil
}

// outcome maps how scanimage ended to Scan's result.
func (s *Scanner) outcome(werr error, killed bool, stderr string) error {
	fault := func(kind hardware.FaultKind) error {
		return &hardware.Fault{Kind: kind, Device: s.dev.ID, After: s.next - 1 - s.held.Len()}
	}
	switch {
	case msgJam.MatchString(stderr):
		return fault(hardware.PaperJam)
	case msgCover.MatchString(stderr):
		return fault(hardware.CoverOpen)
	case msgGone.MatchString(stderr):
		return fault(hardware.DeviceGone)
	case msgNoDocs.MatchString(stderr):
		return nil
	case killed && msgBatchUp.MatchString(stderr):
		return nil // hung on its way out after a complete batch
	case werr == nil:
		return nil
	}
	var ee *exec.ExitError
	if errors.As(werr, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return fault(hardware.DeviceGone) // the backend crashed or was killed
		}
	}
	return fmt.Errorf("sane %s: scanimage: %w: %s", s.cfg.Device, werr, lastLines(stderr, 3))
}

// stderrLog keeps scanimage's messages and says when the batch ended.
type stderrLog struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	ended chan struct{}
	once  sync.Once
}

func (l *stderrLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buf.Len() < 1<<20 { // scanimage is chatty per page; keep a bound
		l.buf.Write(p)
	}
	if msgBatchUp.Match(l.buf.Bytes()[max(0, l.buf.Len()-len(p)-64):]) {
		l.once.Do(func() { close(l.ended) })
	}
	return len(p), nil
}

func (l *stderrLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "; ")
}

// List finds the devices scanimage sees (scanimage -L), without their
// capabilities; New queries those. It is the adapter's Discoverer.
func List(ctx context.Context, cfg Config) ([]hardware.Device, error) {
	if cfg.Command == "" {
		cfg.Command = "scanimage"
	}
	cmd := cfg.command(ctx, "-f", "%d\t%v\t%m\t%t%n")
	out, err := cmd.Output()
	if errors.Is(err, exec.ErrNotFound) {
		return nil, fmt.Errorf("SANE не установлен (нет программы %s): установите пакет sane-utils: %w", cfg.Command, err)
	}
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return nil, fmt.Errorf("sane: listing devices: %w: %s", err, lastLines(string(ee.Stderr), 3))
		}
		return nil, fmt.Errorf("sane: listing devices: %w", err)
	}
	var devs []hardware.Device
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Split(line, "\t")
		if len(f) < 4 || f[0] == "" {
			continue
		}
		devs = append(devs, hardware.Device{ID: "sane:" + f[0], Adapter: "sane", Spec: "sane:" + f[0],
			Name: strings.TrimSpace(f[1] + " " + f[2] + " (" + f[3] + ")")})
	}
	return devs, nil
}

// Options are the scan settings a device offers, as scanimage -A prints
// them.
type Options struct {
	Sources    []string // SANE source names, e.g. "Flatbed", "ADF Duplex"
	Modes      []string // SANE mode names, e.g. "Gray", "Color"
	Resolution string   // as printed, e.g. "50..600dpi (in steps of 1)" or "150|300|600dpi"
	DPIs       []int    // listed resolutions, or common ones within a range
	MinDPI     int
	MaxDPI     int
	DefaultDPI int
}

// Query asks scanimage for a device's options (scanimage -A -d DEVICE).
func Query(ctx context.Context, cfg Config) (Options, error) {
	if err := cfg.defaults(); err != nil {
		return Options{}, err
	}
	out, err := cfg.command(ctx, "-A", "-d", cfg.Device).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return Options{}, fmt.Errorf("sane %s: %w: %s", cfg.Device, err, lastLines(string(ee.Stderr), 3))
		}
		return Options{}, fmt.Errorf("sane %s: %w", cfg.Device, err)
	}
	return ParseOptions(string(out)), nil
}

var optLine = regexp.MustCompile(`^\s+--(source|mode|resolution) (.*?)(?: \[([^\]]*)\])?$`)

// commonDPIs are the resolutions offered from a range.
var commonDPIs = []int{100, 150, 200, 240, 300, 400, 600, 1200}

// ParseOptions reads the output of scanimage -A.
func ParseOptions(out string) Options {
	var o Options
	for _, line := range strings.Split(out, "\n") {
		m := optLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		val, def := m[2], m[3]
		switch m[1] {
		case "source":
			o.Sources = strings.Split(val, "|")
		case "mode":
			o.Modes = strings.Split(val, "|")
		case "resolution":
			o.Resolution = val
			spec, _, _ := strings.Cut(val, " ")
			spec = strings.TrimSuffix(spec, "dpi")
			if lo, hi, ok := strings.Cut(spec, ".."); ok {
				o.MinDPI, _ = strconv.Atoi(lo)
				o.MaxDPI, _ = strconv.Atoi(hi)
				for _, d := range commonDPIs {
					if d >= o.MinDPI && d <= o.MaxDPI {
						o.DPIs = append(o.DPIs, d)
					}
				}
			} else {
				for _, v := range strings.Split(spec, "|") {
					if d, err := strconv.Atoi(v); err == nil {
						o.DPIs = append(o.DPIs, d)
					}
				}
			}
			def = strings.TrimSuffix(def, "dpi")
			if d, err := strconv.ParseFloat(def, 64); err == nil {
				o.DefaultDPI = int(d + 0.5)
			}
		}
	}
	return o
}

// Caps maps the options to the station's terms.
func (o Options) Caps() hardware.Capabilities {
	var c hardware.Capabilities
	for _, src := range []hardware.Source{hardware.Flatbed, hardware.ADF, hardware.Duplex} {
		if o.source(src) != "" {
			c.Sources = append(c.Sources, src)
		}
	}
	if len(o.Sources) == 0 {
		c.Sources = []hardware.Source{hardware.ADF} // no choice offered: take it as a feeder
	}
	c.DPIs = slices.Clone(o.DPIs)
	for _, m := range []string{"gray", "color", "lineart"} {
		if o.mode(m) != "" {
			c.Modes = append(c.Modes, m)
		}
	}
	return c
}

// source picks the SANE source name for a station source; backends name
// them differently ("ADF", "ADF Front", "Automatic Document Feeder").
func (o Options) source(s hardware.Source) string {
	for _, name := range o.Sources {
		low := strings.ToLower(name)
		feeder := strings.Contains(low, "adf") || strings.Contains(low, "feeder")
		duplex := strings.Contains(low, "duplex")
		switch {
		case s == hardware.Flatbed && strings.Contains(low, "flatbed"),
			s == hardware.ADF && feeder && !duplex && !strings.Contains(low, "back"),
			s == hardware.Duplex && duplex:
			return name
		}
	}
	return ""
}

// mode picks the SANE mode name for a station mode.
func (o Options) mode(m string) string {
	words := map[string][]string{
		"gray":    {"gray", "grey"},
		"color":   {"color", "colour"},
		"lineart": {"lineart", "binary", "black & white", "halftone"},
	}[m]
	for _, name := range o.Modes {
		low := strings.ToLower(name)
		for _, w := range words {
			if strings.Contains(low, w) {
				return name
			}
		}
	}
	return ""
}

func (o Options) acceptsDPI(d int) bool {
	if o.Resolution == "" {
		return true // the device did not say; let scanimage judge
	}
	if o.MaxDPI > 0 {
		return d >= o.MinDPI && d <= o.MaxDPI
	}
	return slices.Contains(o.DPIs, d)
}
