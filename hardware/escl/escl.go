// Package escl is the scanner adapter "escl": a network or IPP-over-USB
// scanner that speaks eSCL (Mopria's scanning protocol, "AirScan"), driven
// over HTTP in pure Go, with no driver on the station.
//
// The spec is "escl:URL" with the URL of the scanner's eSCL root, e.g.
// "escl:http://192.168.1.20:80/eSCL", and optional settings after commas:
// format=png|jpeg (what the pages are asked for in; default png, which
// loses nothing).
//
// A scan is one job: POST ScanJobs with the source (Platen, or Feeder and
// Duplex), then GET NextDocument until the device answers 404, which ends
// the job. Why it ended comes from ScannerStatus: an empty feeder is the
// end of the stack (nil); the ADF's jam, mispick, open hatch and double
// feed are the matching *hardware.Fault; a scanner that is down (State
// Down), cannot be reached (connection refused, reset or timed out), or
// no longer knows the job it was running (404 on the job while its status
// lists other jobs: it restarted) is a DeviceGone. A gone scanner stays
// gone until it is opened again (see hardware.Scanner). A cancelled Scan
// deletes its job.
//
// A page the device sent cannot be taken back, so a page the receiver
// refused, or one that arrived while the Scan was being cancelled, is kept
// and delivered first by the next Scan with its number: nothing is lost
// and nothing repeats.
package escl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"giascan/hardware"
)

func init() {
	hardware.Register("escl", func(arg string) (hardware.Scanner, error) { return Open(arg) })
}

// Timeouts of the adapter.
const (
	// OpenTimeout bounds the capability query of Open.
	OpenTimeout = 10 * time.Second
	// CancelGrace is how long a cancelled Scan still waits for a page the
	// device is sending, so that the page is kept rather than lost.
	CancelGrace = 2 * time.Second
	// busyRetries and busyPause: a device answering 503 is warming up or
	// finishing a job; it is asked again this often, this far apart.
	busyRetries = 30
	busyPause   = time.Second
)

// Config says how to reach an eSCL scanner.
type Config struct {
	URL    string // the eSCL root, e.g. http://host:port/eSCL
	Format string // png (default) or jpeg
	// Client makes the requests; nil uses a client of the adapter's own,
	// whose idle connections are closed after every Scan.
	Client *http.Client
	// Close, when set, lets go of what Client's transport holds (a
	// claimed USB interface); Scanner.Close calls it once.
	Close func() error
}

// Scanner is an eSCL scanner. It implements hardware.Scanner.
type Scanner struct {
	cfg  Config
	base *url.URL
	http *http.Client
	caps *Capabilities
	dev  hardware.Device
	mu   sync.Mutex
	held hardware.Held // scanned, numbered, not yet accepted
	next int           // Seq of the next page received
	gone hardware.Gone
	shut sync.Once
}

// Open opens a scanner from a spec argument; see the package comment.
func Open(arg string) (*Scanner, error) {
	fields := strings.Split(arg, ",")
	cfg := Config{URL: fields[0]}
	for _, f := range fields[1:] {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "format":
			cfg.Format = v
		default:
			return nil, fmt.Errorf("escl: неизвестная настройка %q (есть только format=png или format=jpeg)", f)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), OpenTimeout)
	defer cancel()
	return New(ctx, cfg)
}

// New opens a scanner: it reads the device's capabilities, which also
// proves it is there.
func New(ctx context.Context, cfg Config) (*Scanner, error) {
	base, err := url.Parse(strings.TrimSuffix(cfg.URL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("escl: адрес сканера %q не похож на http://АДРЕС:ПОРТ/eSCL", cfg.URL)
	}
	switch cfg.Format {
	case "":
		cfg.Format = "png"
	case "png", "jpeg":
	default:
		return nil, fmt.Errorf("escl: формат %q не поддерживается: укажите png или jpeg", cfg.Format)
	}
	s := &Scanner{cfg: cfg, base: base, http: cfg.Client, next: 1}
	if s.http == nil {
		s.http = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	defer s.http.CloseIdleConnections()
	body, code, _, err := s.do(ctx, http.MethodGet, "ScannerCapabilities", nil)
	if err == nil && code != http.StatusOK {
		err = fmt.Errorf("HTTP %d", code)
	}
	if err != nil {
		return nil, fmt.Errorf("escl: сканер %s не отвечает на запрос возможностей (проверьте адрес, сеть и что сканер включён): %w", cfg.URL, err)
	}
	if s.caps, err = ParseCapabilities(body); err != nil {
		return nil, fmt.Errorf("escl %s: %w", cfg.URL, err)
	}
	name := s.caps.MakeAndModel
	if name == "" {
		name = "eSCL scanner"
	}
	s.dev = hardware.Device{ID: "escl:" + base.String(), Name: name + " (" + base.Host + ")", Adapter: "escl",
		Spec: "escl:" + base.String(), Caps: s.caps.station()}
	return s, nil
}

// Device describes the scanner.
func (s *Scanner) Device() hardware.Device { return s.dev }

// Close lets go of the scanner: its connections and, for a USB scanner,
// the interface it claimed.
func (s *Scanner) Close() error {
	var err error
	s.shut.Do(func() {
		s.http.CloseIdleConnections()
		if s.cfg.Close != nil {
			err = s.cfg.Close()
		}
	})
	return err
}

// Capabilities returns what the device said it can do.
func (s *Scanner) Capabilities() *Capabilities { return s.caps }

// Scan runs one job; see hardware.Scanner and the package comment.
func (s *Scanner) Scan(ctx context.Context, opts hardware.Options, deliver func(hardware.Page) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.gone.Err(); err != nil {
		return err
	}
	defer s.http.CloseIdleConnections() // no connection to the device outlives a run
	return s.gone.Keep(s.scan(ctx, opts, deliver))
}

func (s *Scanner) scan(ctx context.Context, opts hardware.Options, deliver func(hardware.Page) error) error {
	if deliver == nil {
		return errors.New("escl: scan without a receiver for the pages")
	}
	settings, err := s.settings(opts)
	if err != nil {
		return err
	}
	if err := s.held.Deliver(ctx, deliver); err != nil {
		return err
	}
	job, err := s.start(ctx, settings)
	if err != nil || job == "" {
		return err
	}
	side := 0
	for {
		if err := ctx.Err(); err != nil {
			s.cancel(job)
			return err
		}
		page, code, detail, err := s.nextDocument(ctx, job, settings)
		switch {
		case err != nil:
			if ctx.Err() != nil {
				s.cancel(job)
				return ctx.Err()
			}
			return s.fault(hardware.DeviceGone)
		case code == http.StatusOK:
			page.Side = hardware.Front
			if settings.Duplex && side%2 == 1 {
				page.Side = hardware.Back
			}
			side++
			if ctx.Err() != nil {
				s.held.Keep(page) // arrived during the cancel: keep it
				s.cancel(job)
				return ctx.Err()
			}
			if err := deliver(page); err != nil {
				s.held.Keep(page)
				s.cancel(job)
				return err
			}
		case code == http.StatusServiceUnavailable:
			if err := sleep(ctx, busyPause); err != nil {
				s.cancel(job)
				return err
			}
		case code == http.StatusNotFound || code == http.StatusGone:
			return s.ended(ctx, job)
		default:
			s.cancel(job)
			if f := s.statusFault(ctx); f != nil {
				return f
			}
			if code < 0 {
				return fmt.Errorf("escl %s: NextDocument: %s", s.cfg.URL, detail)
			}
			return fmt.Errorf("escl %s: NextDocument: HTTP %d: %s", s.cfg.URL, code, detail)
		}
	}
}

// settings builds the job for opts, checked against the capabilities.
func (s *Scanner) settings(opts hardware.Options) (*Settings, error) {
	src := opts.Source
	if src == "" {
		src = hardware.ADF
	}
	if !slices.Contains(s.dev.Caps.Sources, src) {
		return nil, fmt.Errorf("escl %s: источника %s у сканера нет (есть %v)", s.cfg.URL, src, s.dev.Caps.Sources)
	}
	st := &Settings{Version: "2.6", Intent: "Document", InputSource: "Feeder", Duplex: src == hardware.Duplex,
		DocumentFormat: mediaTypes[s.cfg.Format], XResolution: opts.DPI}
	if src == hardware.Flatbed {
		st.InputSource = "Platen"
	}
	if opts.DPI != 0 && len(s.dev.Caps.DPIs) > 0 && !slices.Contains(s.dev.Caps.DPIs, opts.DPI) {
		return nil, fmt.Errorf("escl %s: разрешения %d dpi у сканера нет (есть %v)", s.cfg.URL, opts.DPI, s.dev.Caps.DPIs)
	}
	if st.XResolution == 0 {
		st.XResolution = 300 // what recognition wants, when the device has it
		if len(s.dev.Caps.DPIs) > 0 && !slices.Contains(s.dev.Caps.DPIs, 300) {
			st.XResolution = s.dev.Caps.DPIs[len(s.dev.Caps.DPIs)-1]
		}
	}
	mode := opts.Mode
	if mode == "" {
		mode = "gray"
	}
	if slices.Contains(s.dev.Caps.Modes, mode) {
		st.ColorMode = esclMode(mode)
	} else if opts.Mode != "" {
		return nil, fmt.Errorf("escl %s: режима %s у сканера нет (есть %v)", s.cfg.URL, opts.Mode, s.dev.Caps.Modes)
	}
	return st, nil
}

// start posts the job and returns its URL path; "" with a nil error when
// the feeder is empty.
func (s *Scanner) start(ctx context.Context, st *Settings) (string, error) {
	for try := 0; ; try++ {
		_, code, hdr, err := s.do(ctx, http.MethodPost, "ScanJobs", st.Marshal())
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return "", ctx.Err()
			}
			return "", s.fault(hardware.DeviceGone)
		case code == http.StatusCreated:
			loc := hdr.Get("Location")
			if loc == "" {
				return "", fmt.Errorf("escl %s: ScanJobs: the device named no job", s.cfg.URL)
			}
			u, err := url.Parse(loc)
			if err != nil {
				return "", fmt.Errorf("escl %s: ScanJobs: job %q: %w", s.cfg.URL, loc, err)
			}
			// The device's idea of its own host name is not trusted; the
			// path is what names the job.
			return u.Path, nil
		case code == http.StatusServiceUnavailable && try < busyRetries:
			if err := sleep(ctx, busyPause); err != nil {
				return "", err
			}
		default:
			// Devices refuse a job on an empty or jammed feeder with 409
			// or 503; the status says which.
			st, serr := s.status(ctx)
			if serr == nil {
				if f := st.Fault(); f != "" {
					return "", s.fault(f)
				}
				if st.AdfState == AdfEmpty {
					return "", nil
				}
			}
			return "", fmt.Errorf("escl %s: ScanJobs: HTTP %d", s.cfg.URL, code)
		}
	}
}

// nextDocument asks for the job's next page. A cancel of ctx lets a page
// that is coming arrive for CancelGrace before the request is dropped.
// A non-200 answer's text comes back as detail; err is a failed request.
func (s *Scanner) nextDocument(ctx context.Context, job string, st *Settings) (p hardware.Page, code int, detail string, err error) {
	rctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	// Runs only once ctx is cancelled, and ends with the request at the
	// latest.
	defer context.AfterFunc(ctx, func() { _ = sleep(rctx, CancelGrace); stop() })()
	body, code, hdr, err := s.do(rctx, http.MethodGet, strings.TrimSuffix(job, "/")+"/NextDocument", nil)
	if err != nil {
		return hardware.Page{}, 0, "", err
	}
	if code != http.StatusOK {
		return hardware.Page{}, code, strings.TrimSpace(string(body[:min(len(body), 200)])), nil
	}
	format := formatOf(hdr.Get("Content-Type"))
	if format == "" {
		format = sniff(body)
	}
	if format == "" {
		// Not an image: no page, and the run stops so that the operator
		// rescans that sheet.
		return hardware.Page{}, -1, fmt.Sprintf("a page of unknown type %q (%d bytes)", hdr.Get("Content-Type"), len(body)), nil
	}
	p = hardware.Page{Seq: s.next, Data: body, Format: format, DPI: st.XResolution,
		Name: fmt.Sprintf("%04d.%s", s.next, strings.Replace(format, "jpeg", "jpg", 1))}
	s.next++
	return p, code, "", nil
}

// ended says why a job that has no more pages ended. A device that lists
// jobs but not this one has restarted since it took the job (it was
// switched off or unplugged meanwhile): the rest of the stack was not
// scanned, and that is a DeviceGone, not an empty feeder. A device that
// lists no jobs at all cannot tell, and its ADF state is believed.
func (s *Scanner) ended(ctx context.Context, job string) error {
	st, err := s.status(ctx)
	if f := s.faultIn(ctx, st, err); f != nil || err != nil {
		return f
	}
	if len(st.Jobs) > 0 && !st.lists(job) {
		return s.fault(hardware.DeviceGone)
	}
	return nil
}

// statusFault is the device event the scanner's status reports, nil for
// none or when the status cannot be read.
func (s *Scanner) statusFault(ctx context.Context) error {
	st, err := s.status(ctx)
	return s.faultIn(ctx, st, err)
}

// faultIn is the device event a status read reports: a scanner that
// cannot be reached is gone.
func (s *Scanner) faultIn(ctx context.Context, st *Status, err error) error {
	if err != nil {
		if ctx.Err() == nil && isNetErr(err) {
			return s.fault(hardware.DeviceGone)
		}
		return nil
	}
	if f := st.Fault(); f != "" {
		return s.fault(f)
	}
	return nil
}

// Status reads the scanner's status.
func (s *Scanner) Status(ctx context.Context) (*Status, error) { return s.status(ctx) }

func (s *Scanner) status(ctx context.Context) (*Status, error) {
	body, code, _, err := s.do(ctx, http.MethodGet, "ScannerStatus", nil)
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("escl %s: ScannerStatus: HTTP %d", s.cfg.URL, code)
	}
	return ParseStatus(body)
}

// cancel deletes a job; the device may have ended it already.
func (s *Scanner) cancel(job string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _, _, _ = s.do(ctx, http.MethodDelete, job, nil)
}

func (s *Scanner) fault(kind hardware.FaultKind) error {
	return &hardware.Fault{Kind: kind, Device: s.dev.ID, After: s.next - 1 - s.held.Len()}
}

// do makes a request to a path relative to the eSCL root (or an absolute
// path) and reads the whole answer.
func (s *Scanner) do(ctx context.Context, method, path string, body []byte) ([]byte, int, http.Header, error) {
	u := *s.base
	if strings.HasPrefix(path, "/") {
		u.Path = path
	} else {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/" + path
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "text/xml")
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return nil, 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<30))
	if err != nil {
		return nil, 0, nil, err
	}
	return data, resp.StatusCode, resp.Header, nil
}

func isNetErr(err error) bool {
	var ne net.Error
	var ue *url.Error
	return errors.As(err, &ne) || errors.As(err, &ue)
}

// sniff recognises a page's format by its first bytes.
func sniff(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("\x89PNG")):
		return "png"
	case bytes.HasPrefix(b, []byte("\xff\xd8")):
		return "jpeg"
	case bytes.HasPrefix(b, []byte("II*\x00")), bytes.HasPrefix(b, []byte("MM\x00*")):
		return "tiff"
	case bytes.HasPrefix(b, []byte("%PDF")):
		return "pdf"
	}
	return ""
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
