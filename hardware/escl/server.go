package escl

import (
	"bytes"
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "golang.org/x/image/tiff" // pages a SANE device wrote as TIFF can be converted

	"giascan/hardware"
)

// Root is the path under which Server answers, as eSCL devices do.
const Root = "/eSCL"

// errAbandoned ends a job whose client stopped asking for pages.
var errAbandoned = errors.New("the client stopped asking for pages")

// Server serves one scanner of any adapter as an eSCL scanner, so that a
// PC with a scanner and its vendor's driver can serve a station (or any
// eSCL client, such as SANE's airscan backend) over the network.
//
// A job runs one Scan of the scanner. Each page the scanner delivers is
// handed to the next GET NextDocument and counts as delivered only once
// it was written to the client; a page whose answer could not be written
// is refused, so the adapter keeps it. When the Scan ends, NextDocument
// answers 404 and ScannerStatus tells why: ScannerAdfEmpty for an empty
// feeder, the ADF state of a fault, or State Down for a device that went
// away. A device that went away stays Down until a client asks for a new
// job: then it is opened again with Reopen (it was replugged), and a job
// is refused with 409 and State Down while it is not back.
type Server struct {
	dev hardware.Device
	log *slog.Logger
	// Idle is how long a job waits for its client to ask for the next
	// page before it is cancelled; the page stays with the adapter.
	Idle time.Duration
	// Reopen opens the device afresh after it went away (hardware.Reopen
	// of its spec); nil leaves it gone for good.
	Reopen func(gone hardware.Scanner) (hardware.Scanner, error)

	reopening sync.Mutex // one reopen at a time, outside mu
	mu        sync.Mutex
	scanner   hardware.Scanner
	job       *job // the job running or the last one
	serial    int
	state     string // the scanner's State: Idle, Processing, Down
	adf       string // its AdfState
	closed    bool
	reopened  bool // scanner was opened by the server
}

// job is one Scan of the scanner on behalf of a client.
type job struct {
	id       int
	uuid     string
	path     string
	settings *Settings
	opts     hardware.Options
	started  time.Time
	cancel   context.CancelFunc
	offers   chan offer
	done     chan struct{} // closed when the Scan returned
	err      error         // the Scan's result, set before done closes
	images   int           // pages written to the client
	state    string        // Processing, Completed, Aborted, Canceled
}

// offer is a page waiting for a client, with where to say whether it got
// there.
type offer struct {
	page  hardware.Page
	taken chan error
}

// NewServer serves scanner. log may be nil.
func NewServer(scanner hardware.Scanner, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Server{scanner: scanner, dev: scanner.Device(), log: log, Idle: time.Minute, state: "Idle", adf: AdfLoaded}
}

// Close cancels the running job and waits for its Scan to return. The
// server answers 503 afterwards. A device the server reopened is its own
// and is closed; the one it was given stays the caller's.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	j := s.job
	s.mu.Unlock()
	if j != nil {
		j.cancel()
		<-j.done
	}
	s.reopening.Lock()
	defer s.reopening.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reopened {
		_ = hardware.Close(s.scanner)
	}
}

// replug opens the device again when it went away and no job runs. It
// returns an error when the device is not back.
func (s *Server) replug() error {
	s.reopening.Lock()
	defer s.reopening.Unlock()
	s.mu.Lock()
	down := s.state == "Down" && s.Reopen != nil && !s.closed && (s.job == nil || s.job.state != "Processing")
	old := s.scanner
	s.mu.Unlock()
	if !down {
		return nil
	}
	dev, err := s.Reopen(old)
	if err != nil {
		s.log.Warn("the scanner is not back", "err", err)
		return err
	}
	s.mu.Lock()
	s.scanner, s.reopened, s.state, s.adf = dev, true, "Idle", AdfLoaded
	s.mu.Unlock()
	s.log.Info("the scanner is back", "device", dev.Device().Name)
	return nil
}

// ServeHTTP answers the eSCL requests under Root.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, Root+"/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	switch {
	case rest == "ScannerCapabilities" && r.Method == http.MethodGet:
		s.capabilities(w)
	case rest == "ScannerStatus" && r.Method == http.MethodGet:
		s.status(w)
	case rest == "ScanJobs" && r.Method == http.MethodPost:
		s.startJob(w, r)
	case strings.HasPrefix(rest, "ScanJobs/"):
		id, what, _ := strings.Cut(strings.TrimPrefix(rest, "ScanJobs/"), "/")
		j := s.findJob(id)
		switch {
		case j == nil:
			http.Error(w, "no such job", http.StatusNotFound)
		case what == "NextDocument" && r.Method == http.MethodGet:
			s.nextDocument(w, r, j)
		case what == "" && r.Method == http.MethodDelete:
			s.deleteJob(w, j)
		default:
			http.Error(w, "not supported", http.StatusMethodNotAllowed)
		}
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) findJob(id string) *job {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.job != nil && strconv.Itoa(s.job.id) == id {
		return s.job
	}
	return nil
}

// formats are the document formats the server offers: whatever the
// scanner produces is converted to the one asked for.
var formats = []string{"image/png", "image/jpeg"}

// capabilities writes ScannerCapabilities from the scanner's Device.
func (s *Server) capabilities(w http.ResponseWriter) {
	caps := s.dev.Caps
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>`)
	fmt.Fprintf(&b, `<scan:ScannerCapabilities xmlns:scan="%s" xmlns:pwg="%s">`, nsScan, nsPWG)
	el(&b, "pwg:Version", "2.63")
	el(&b, "pwg:MakeAndModel", s.dev.Name)
	el(&b, "pwg:SerialNumber", s.dev.ID)
	el(&b, "scan:UUID", uuidOf(s.dev.ID))
	el(&b, "scan:AdminURI", "")
	el(&b, "scan:IconURI", "")
	input := func() {
		// A4 and Legal fit; units are 1/300 inch.
		el(&b, "scan:MinWidth", "16")
		el(&b, "scan:MaxWidth", "2550")
		el(&b, "scan:MinHeight", "16")
		el(&b, "scan:MaxHeight", "4200")
		el(&b, "scan:MaxScanRegions", "1")
		b.WriteString("<scan:SettingProfiles><scan:SettingProfile><scan:ColorModes>")
		modes := caps.Modes
		if len(modes) == 0 {
			modes = []string{"gray", "color"}
		}
		for _, m := range modes {
			if e := esclMode(m); e != "" {
				el(&b, "scan:ColorMode", e)
			}
		}
		b.WriteString("</scan:ColorModes><scan:DocumentFormats>")
		for _, f := range formats {
			el(&b, "pwg:DocumentFormat", f)
		}
		for _, f := range formats {
			el(&b, "scan:DocumentFormatExt", f)
		}
		b.WriteString("</scan:DocumentFormats><scan:SupportedResolutions><scan:DiscreteResolutions>")
		dpis := caps.DPIs
		if len(dpis) == 0 {
			dpis = []int{300}
		}
		for _, d := range dpis {
			b.WriteString("<scan:DiscreteResolution>")
			el(&b, "scan:XResolution", strconv.Itoa(d))
			el(&b, "scan:YResolution", strconv.Itoa(d))
			b.WriteString("</scan:DiscreteResolution>")
		}
		b.WriteString("</scan:DiscreteResolutions></scan:SupportedResolutions></scan:SettingProfile></scan:SettingProfiles>")
		b.WriteString("<scan:SupportedIntents><scan:Intent>Document</scan:Intent><scan:Intent>TextAndGraphic</scan:Intent></scan:SupportedIntents>")
	}
	if slices.Contains(caps.Sources, hardware.Flatbed) {
		b.WriteString("<scan:Platen><scan:PlatenInputCaps>")
		input()
		b.WriteString("</scan:PlatenInputCaps></scan:Platen>")
	}
	feeder := slices.Contains(caps.Sources, hardware.ADF)
	duplex := slices.Contains(caps.Sources, hardware.Duplex)
	if feeder || duplex {
		b.WriteString("<scan:Adf><scan:AdfSimplexInputCaps>")
		input()
		b.WriteString("</scan:AdfSimplexInputCaps>")
		if duplex {
			b.WriteString("<scan:AdfDuplexInputCaps>")
			input()
			b.WriteString("</scan:AdfDuplexInputCaps>")
		}
		b.WriteString("<scan:FeederCapacity>100</scan:FeederCapacity><scan:AdfOptions>")
		el(&b, "scan:AdfOption", "DetectPaperLoaded")
		if duplex {
			el(&b, "scan:AdfOption", "Duplex")
		}
		b.WriteString("</scan:AdfOptions></scan:Adf>")
	}
	b.WriteString("</scan:ScannerCapabilities>")
	writeXML(w, http.StatusOK, b.Bytes())
}

// status writes ScannerStatus with the running or last job.
func (s *Server) status(w http.ResponseWriter) {
	s.mu.Lock()
	state, adf, j := s.state, s.adf, s.job
	var info JobInfo
	if j != nil {
		info = JobInfo{JobURI: j.path, JobUUID: j.uuid, Age: int(time.Since(j.started).Seconds()),
			ImagesCompleted: j.images, JobState: j.state, Reasons: []string{reason(j)}}
	}
	s.mu.Unlock()
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>`)
	fmt.Fprintf(&b, `<scan:ScannerStatus xmlns:scan="%s" xmlns:pwg="%s">`, nsScan, nsPWG)
	el(&b, "pwg:Version", "2.63")
	el(&b, "pwg:State", state)
	el(&b, "scan:AdfState", adf)
	if j != nil {
		b.WriteString("<scan:Jobs><scan:JobInfo>")
		el(&b, "pwg:JobUri", info.JobURI)
		el(&b, "pwg:JobUuid", info.JobUUID)
		el(&b, "scan:Age", strconv.Itoa(info.Age))
		el(&b, "pwg:ImagesCompleted", strconv.Itoa(info.ImagesCompleted))
		el(&b, "pwg:ImagesToTransfer", "0")
		el(&b, "pwg:JobState", info.JobState)
		b.WriteString("<pwg:JobStateReasons>")
		el(&b, "pwg:JobStateReason", info.Reasons[0])
		b.WriteString("</pwg:JobStateReasons></scan:JobInfo></scan:Jobs>")
	}
	b.WriteString("</scan:ScannerStatus>")
	writeXML(w, http.StatusOK, b.Bytes())
}

func reason(j *job) string {
	switch j.state {
	case "Processing":
		return "JobScanning"
	case "Completed":
		return "JobCompletedSuccessfully"
	case "Canceled":
		return "JobCanceledByUser"
	}
	return "JobAborted"
}

// startJob checks the settings and starts a Scan.
func (s *Server) startJob(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return
	}
	st, err := ParseSettings(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	opts, err := s.options(st)
	if err != nil {
		http.Error(w, err.Error(), http.StatusConflict)
		return
	}
	if err := s.replug(); err != nil {
		http.Error(w, "the scanner is not connected: "+err.Error(), http.StatusConflict)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || (s.job != nil && s.job.state == "Processing") {
		w.Header().Set("Retry-After", "1")
		http.Error(w, "the scanner is busy", http.StatusServiceUnavailable)
		return
	}
	s.serial++
	ctx, cancel := context.WithCancel(context.Background())
	j := &job{id: s.serial, settings: st, opts: opts, started: time.Now(), cancel: cancel,
		offers: make(chan offer), done: make(chan struct{}), state: "Processing"}
	j.path = fmt.Sprintf("%s/ScanJobs/%d", Root, j.id)
	j.uuid = uuidOf(fmt.Sprintf("%s %d %d", s.dev.ID, j.id, j.started.UnixNano()))
	s.job, s.state, s.adf = j, "Processing", AdfLoaded
	go s.run(ctx, j, s.scanner) // owned by the job: cancel, Close and Idle end it
	s.log.Info("eSCL job started", "job", j.id, "source", opts.Source, "dpi", opts.DPI, "mode", opts.Mode, "client", r.RemoteAddr)
	w.Header().Set("Location", j.path)
	w.WriteHeader(http.StatusCreated)
}

// options maps a job's settings to the scanner's options.
func (s *Server) options(st *Settings) (hardware.Options, error) {
	var o hardware.Options
	switch {
	case st.InputSource == "Platen":
		o.Source = hardware.Flatbed
	case st.InputSource == "Feeder" && st.Duplex:
		o.Source = hardware.Duplex
	case st.InputSource == "Feeder" || st.InputSource == "":
		o.Source = hardware.ADF
	default:
		return o, fmt.Errorf("input source %q", st.InputSource)
	}
	if !slices.Contains(s.dev.Caps.Sources, o.Source) {
		return o, fmt.Errorf("the scanner has no %s source", o.Source)
	}
	o.DPI = st.XResolution
	if o.DPI != 0 && len(s.dev.Caps.DPIs) > 0 && !slices.Contains(s.dev.Caps.DPIs, o.DPI) {
		return o, fmt.Errorf("%d dpi is not offered", o.DPI)
	}
	if st.ColorMode != "" {
		o.Mode = stationMode(st.ColorMode)
		if o.Mode == "" || (len(s.dev.Caps.Modes) > 0 && !slices.Contains(s.dev.Caps.Modes, o.Mode)) {
			return o, fmt.Errorf("colour mode %q is not offered", st.ColorMode)
		}
		if len(s.dev.Caps.Modes) == 0 {
			o.Mode = ""
		}
	}
	if f := st.format(); f != "" && !slices.Contains(formats, f) {
		return o, fmt.Errorf("document format %q is not offered", f)
	}
	return o, nil
}

// run is a job's Scan; its end sets the scanner's state.
func (s *Server) run(ctx context.Context, j *job, scanner hardware.Scanner) {
	err := scanner.Scan(ctx, j.opts, func(p hardware.Page) error {
		taken := make(chan error, 1)
		idle := time.NewTimer(s.Idle)
		defer idle.Stop()
		select {
		case j.offers <- offer{p, taken}:
		case <-ctx.Done():
			return ctx.Err()
		case <-idle.C:
			return errAbandoned
		}
		return <-taken // the client has it: wait for the answer to be written
	})
	j.cancel()
	s.mu.Lock()
	j.err = err
	var f *hardware.Fault
	switch {
	case err == nil:
		j.state, s.state, s.adf = "Completed", "Idle", AdfEmpty
	case errors.As(err, &f) && f.Kind == hardware.DeviceGone:
		j.state, s.state, s.adf = "Aborted", "Down", AdfLoaded
	case errors.As(err, &f):
		j.state, s.state, s.adf = "Aborted", "Idle", adfState(f.Kind)
	case errors.Is(err, context.Canceled):
		j.state, s.state, s.adf = "Canceled", "Idle", AdfLoaded
	default:
		j.state, s.state, s.adf = "Aborted", "Idle", AdfLoaded
	}
	s.mu.Unlock()
	close(j.done)
	s.log.Info("eSCL job ended", "job", j.id, "pages", j.images, "state", j.state, "err", err)
}

// nextDocument hands the job's next page to the client, or answers 404
// once the job has ended.
func (s *Server) nextDocument(w http.ResponseWriter, r *http.Request, j *job) {
	select {
	case o := <-j.offers:
		data, mediaType, err := convert(o.page, j.settings.format())
		if err != nil {
			o.taken <- err
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", mediaType)
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		_, err = w.Write(data)
		if err == nil {
			err = http.NewResponseController(w).Flush()
		}
		if err == nil {
			s.mu.Lock()
			j.images++
			s.mu.Unlock()
		}
		o.taken <- err
	case <-j.done:
		s.mu.Lock()
		jerr, state := j.err, j.state
		s.mu.Unlock()
		var f *hardware.Fault
		if jerr != nil && state == "Aborted" && !errors.As(jerr, &f) {
			http.Error(w, jerr.Error(), http.StatusInternalServerError)
			return
		}
		http.Error(w, "no more pages", http.StatusNotFound)
	case <-r.Context().Done():
	}
}

// deleteJob cancels a job and waits for its Scan to return, so that the
// scanner is free when the answer comes.
func (s *Server) deleteJob(w http.ResponseWriter, j *job) {
	j.cancel()
	select {
	case <-j.done:
	case <-time.After(30 * time.Second):
		http.Error(w, "the scanner does not stop", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// convert gives a page in the media type asked for ("" for any), as it
// is when it already is.
func convert(p hardware.Page, want string) ([]byte, string, error) {
	have := mediaTypes[p.Format]
	if want == "" || want == have {
		return p.Data, have, nil
	}
	img, _, err := image.Decode(bytes.NewReader(p.Data))
	if err != nil {
		return nil, "", fmt.Errorf("page %d: converting %s to %s: %w", p.Seq, p.Format, want, err)
	}
	var b bytes.Buffer
	switch want {
	case "image/png":
		err = png.Encode(&b, img)
	case "image/jpeg":
		err = jpeg.Encode(&b, img, &jpeg.Options{Quality: 92})
	default:
		err = fmt.Errorf("format %s is not offered", want)
	}
	if err != nil {
		return nil, "", fmt.Errorf("page %d: %w", p.Seq, err)
	}
	return b.Bytes(), want, nil
}

func writeXML(w http.ResponseWriter, code int, b []byte) {
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

// uuidOf makes a stable UUID-shaped name from a string.
func uuidOf(s string) string {
	h := sha1.Sum([]byte(s))
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}
