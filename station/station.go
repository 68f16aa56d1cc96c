// Package station is the application of a scanning station: one Station
// owns a data folder — the store, the audit log, the accounts and the
// outbox — and its methods are the station's use cases. The command line
// and the web interface are front ends over them, so a flow is written
// once, and the lifecycle of an auditorium and a ППЭ (open → closed →
// sealed → sent → acknowledged) is enforced here and in the store, never
// in a handler.
package station

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"giascan/atomicfile"
	"giascan/forms"
	"giascan/recognition"
	"giascan/station/audit"
	"giascan/station/layout"
	"giascan/station/ops"
	"giascan/station/packaging"
	"giascan/station/refusal"
	"giascan/station/store"
	"giascan/station/users"
	"giascan/transport/upload"
)

// Station is an open data folder. Its methods are safe for concurrent use
// by the daemon's services, the web interface and forwarded commands.
type Station struct {
	Dir   layout.Dir
	Store *store.Store
	Log   *audit.Log
	Users *users.DB

	logger *slog.Logger

	// attachMu serialises imports of attachments: an import's commit
	// removes the files its index does not name, which would take the
	// files another import has copied but not yet committed.
	attachMu sync.Mutex

	// life serialises lifecycle changes (close, reopen, seal, sign) so
	// that two of them on one auditorium or ППЭ never interleave.
	life sync.Mutex
	// actsMu serialises changes to the acts folder (numbering, signing).
	actsMu sync.Mutex

	readOnce sync.Once
	rc       *recognition.Recognizer
	reader   ops.Reader
	readErr  error

	chMu    sync.Mutex
	changed chan struct{} // closed and replaced at every lifecycle change

	supMu sync.Mutex
	sup   *Supervisor // the daemon's, when the station runs as one

	outMu   sync.Mutex
	outbox  *upload.Outbox // opened on first use
	sending sync.Mutex     // held by the one uploader of the outbox
}

// Options tune Open.
type Options struct {
	// Logger receives what the station does; slog.Default when nil.
	Logger *slog.Logger
}

// Open opens the data folder dir, creating it when missing, and recovers
// from a crash: the store checks its pages, temporary files are removed.
func Open(dir string, opt Options) (*Station, error) {
	lg := opt.Logger
	if lg == nil {
		lg = slog.Default()
	}
	st, err := store.Open(dir)
	if err != nil {
		return nil, err
	}
	log, err := audit.Open(dir)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("журнал аудита не открывается: %w; обратитесь к техническому специалисту", err)
	}
	s := &Station{Dir: layout.Dir(dir), Store: st, Log: log, Users: users.Open(dir), logger: lg,
		changed: make(chan struct{}, 1)}
	if err := s.cleanTemps(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// cleanTemps removes what a crash left half-written outside the store:
// temporary files, and packages whose sealing did not finish. Damaged
// sealed packages are reported, not removed.
func (s *Station) cleanTemps() error {
	rep, err := packaging.Recover(string(s.Dir))
	if err != nil {
		return err
	}
	for _, p := range rep.Removed {
		s.logger.Info("removed a file left by a crash", "path", p)
	}
	for _, d := range rep.Damaged {
		s.logger.Error("damaged sealed package", "err", d)
	}
	// Uploads the web interface was streaming to disk when it stopped.
	ups, _ := filepath.Glob(filepath.Join(s.Dir.Sub(layout.AttachDir), UploadPrefix+"*"))
	for _, u := range ups {
		if err := os.RemoveAll(u); err == nil {
			s.logger.Info("removed an upload left by a crash", "path", u)
		}
	}
	for _, dir := range []string{string(s.Dir), s.Dir.Keys(), s.Dir.Sub(layout.ReceiptDir), s.Dir.Sub(layout.AttachDir)} {
		removed, err := atomicfile.Clean(dir, dir != string(s.Dir))
		if err != nil {
			return err
		}
		for _, p := range removed {
			s.logger.Info("removed a temporary file left by a crash", "path", p)
		}
	}
	return nil
}

// UploadPrefix starts the name of a folder under the data folder's
// attachments/ where the web interface streams uploaded files before
// they are imported; one left by a crash is removed on Open.
const UploadPrefix = atomicfile.TempPrefix + "upload-"

// Supervise runs the daemon's services under sv until ctx ends; their
// states show in the metrics.
func (s *Station) Supervise(ctx context.Context, sv *Supervisor, services ...Service) {
	s.supMu.Lock()
	s.sup = sv
	s.supMu.Unlock()
	sv.Run(ctx, services...)
}

// Services returns the daemon's services and their states; none when the
// station does not run as a daemon.
func (s *Station) Services() []ServiceState {
	s.supMu.Lock()
	sv := s.sup
	s.supMu.Unlock()
	if sv == nil {
		return nil
	}
	return sv.States()
}

// Close closes the data folder.
func (s *Station) Close() error {
	err := s.Log.Close()
	s.outMu.Lock()
	if s.outbox != nil {
		if oerr := s.outbox.Close(); err == nil {
			err = oerr
		}
		s.outbox = nil
	}
	s.outMu.Unlock()
	if serr := s.Store.Close(); err == nil {
		err = serr
	}
	return err
}

// Logger is the station's structured log.
func (s *Station) Logger() *slog.Logger { return s.logger }

// Changed returns a channel closed at the next lifecycle change: a
// closing, a seal, a signature, the РЦОИ set. Every service waiting on it
// wakes; they wait on it instead of polling.
func (s *Station) Changed() <-chan struct{} {
	s.chMu.Lock()
	defer s.chMu.Unlock()
	return s.changed
}

func (s *Station) notify() {
	s.chMu.Lock()
	defer s.chMu.Unlock()
	close(s.changed)
	s.changed = make(chan struct{})
}

// Recognizer is the station's page recognizer, built once and shared by
// scans and corrections; it is safe for concurrent use.
func (s *Station) Recognizer() (*recognition.Recognizer, error) {
	if _, err := s.Reader(); err != nil {
		return nil, err
	}
	return s.rc, nil
}

// Reader is the station's recognizer of single page images, built once.
func (s *Station) Reader() (ops.Reader, error) {
	s.readOnce.Do(func() {
		rc, err := recognition.NewDefault()
		if err != nil {
			s.readErr = fmt.Errorf("распознавание не запускается: %w", err)
			return
		}
		s.rc = rc
		s.reader = func(ctx context.Context, data []byte, file string) forms.PageResult {
			return rc.Bytes(data, file)
		}
	})
	return s.reader, s.readErr
}

// Ops returns the corrections of the station. With recognize, new images
// (rescan, replace, insert) are recognised at once.
func (s *Station) Ops(recognize bool) (*ops.Ops, error) {
	o := ops.New(s.Store, s.Log, nil)
	if recognize {
		r, err := s.Reader()
		if err != nil {
			return nil, err
		}
		o.Read = r
	}
	return o, nil
}

// Packager returns the station's packager with a page profile.
func (s *Station) Packager(profile packaging.Profile) *packaging.Packager {
	return &packaging.Packager{Store: s.Store, Data: string(s.Dir), Profile: profile}
}

// IsInput tells whether err refuses the input of a use case: nothing was
// changed and its text says what to do.
func IsInput(err error) bool { return refusal.Is(err) || ops.IsInput(err) }

// InputError is a use case refused for its input (refusal.Error).
type InputError = refusal.Error

func refuse(field, format string, a ...any) error { return refusal.New(field, format, a...) }

func jsonOf(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
