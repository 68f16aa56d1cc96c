// Package folder is the scanner adapter "folder": it imports the image
// files that a scanner's own software drops into a folder, for devices the
// station cannot drive itself (or drives only through the vendor's tool).
//
// The spec is "folder:PATH" with optional settings after commas, e.g.
// "folder:/srv/scans,settle=5s,watch". Files (.jpg .jpeg .png .tif .tiff
// .pdf) are delivered in name order, each once. Hidden files and the temp
// files scanning tools write before renaming (.tmp, .part, ~…) are ignored.
//
// A file is taken when it is complete: its size and modification time did
// not change over two polls and, for JPEG and PNG, it ends with the
// format's end marker (PDF: %%EOF). A file that stays unchanged for the
// settle time without an end marker is taken anyway, so one damaged file
// cannot stall the batch; recognition flags it for review.
//
// What was delivered is remembered by name, size and modification time in
// a state file, by default ".giascan-delivered.json" inside the folder, so
// a restarted station does not import a file again, while a new file that
// reuses an old name is imported. The record is written after the receiver
// accepted the page: a crash in between imports that file once more, which
// the station's store recognises by its bytes.
//
// Scan returns nil once the folder had nothing new to deliver for the settle
// time (default 2s): the "feeder" is empty. Opened with "watch", Scan keeps
// watching the folder until its context ends and then returns ctx.Err().
// A folder that disappears during a Scan (an unplugged drive, a lost
// network share) is a *hardware.Fault of kind DeviceGone, and like any
// device that went away it stays gone until it is closed and opened again
// (see hardware.Scanner). Close saves the record of what was delivered
// while the folder was away, once it is back, so the folder opened again
// picks up where it stopped and numbers on from there.
package folder

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"giascan/hardware"
)

func init() {
	hardware.Register("folder", func(arg string) (hardware.Scanner, error) { return Open(arg) })
}

// StateFile is the default name of the delivery record inside the folder.
const StateFile = ".giascan-delivered.json"

// Config configures a watched folder.
type Config struct {
	Dir    string        // the folder the scanner software writes to
	Settle time.Duration // quiet time after which Scan reports the feeder empty; default 2s
	Poll   time.Duration // how often the folder is listed; default 250ms
	Watch  bool          // keep watching until the context ends instead of returning when quiet
	State  string        // delivery record; default Dir/StateFile
	DPI    int           // resolution to report when a file does not say; 0 = unknown
	// MaxSize is the largest file taken as a page; a larger one is
	// reported and passed over, never read. Default DefaultMaxSize.
	MaxSize int64
}

// DefaultMaxSize bounds a page file: a 600 dpi colour A4 page is well
// under it, a misplaced video or archive is not.
const DefaultMaxSize = 100 << 20

// Folder is a watched folder. It implements hardware.Scanner.
type Folder struct {
	cfg Config
	dev hardware.Device

	mu        sync.Mutex
	done      map[key]bool // files delivered, by identity
	record    []key        // the same, in delivery order, as the state file holds it
	unsaved   bool         // record has entries the state file lacks
	delivered int
	gone      hardware.Gone
}

// key identifies one version of a file: a new file under an old name is a
// new page.
type key struct {
	Name  string `json:"name"`
	Size  int64  `json:"size"`
	MTime int64  `json:"mtime_ns"`
}

// Open opens a folder from a spec argument: PATH followed by optional
// comma-separated settings settle=DURATION, poll=DURATION, watch,
// state=FILE and dpi=N.
func Open(arg string) (*Folder, error) {
	cfg, err := ParseArg(arg)
	if err != nil {
		return nil, err
	}
	f, err := New(cfg)
	if err != nil {
		return nil, err
	}
	f.dev.Spec = "folder:" + arg
	return f, nil
}

// ParseArg reads a spec argument into a Config without opening anything,
// so that callers can check the folder first.
func ParseArg(arg string) (Config, error) {
	var cfg Config
	fields := strings.Split(arg, ",")
	// Settings are peeled off the end so that a path may hold commas.
peel:
	for len(fields) > 1 {
		last := fields[len(fields)-1]
		k, v, _ := strings.Cut(last, "=")
		var err error
		switch k {
		case "settle":
			cfg.Settle, err = time.ParseDuration(v)
		case "poll":
			cfg.Poll, err = time.ParseDuration(v)
		case "watch":
			cfg.Watch = v == "" || v == "true" || v == "1"
		case "state":
			cfg.State = v
		case "dpi":
			cfg.DPI, err = strconv.Atoi(v)
		case "maxsize":
			cfg.MaxSize, err = strconv.ParseInt(v, 10, 64)
		default:
			break peel
		}
		if err != nil {
			return cfg, fmt.Errorf("folder: %s: %w", last, err)
		}
		fields = fields[:len(fields)-1]
	}
	cfg.Dir = strings.Join(fields, ",")
	return cfg, nil
}

// New opens a watched folder. The folder must exist.
func New(cfg Config) (*Folder, error) {
	if cfg.Dir == "" {
		return nil, errors.New("folder: no folder given (folder:PATH)")
	}
	abs, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("folder %s: %w", cfg.Dir, err)
	}
	cfg.Dir = abs
	st, err := os.Stat(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("folder %s: %w", cfg.Dir, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("folder %s: not a folder", cfg.Dir)
	}
	if cfg.Settle <= 0 {
		cfg.Settle = 2 * time.Second
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 250 * time.Millisecond
	}
	if cfg.State == "" {
		cfg.State = filepath.Join(cfg.Dir, StateFile)
	}
	f := &Folder{
		cfg: cfg,
		dev: hardware.Device{ID: "folder:" + cfg.Dir, Name: "Папка со сканами " + cfg.Dir, Adapter: "folder",
			Caps: hardware.Capabilities{Sources: []hardware.Source{hardware.ADF}}},
		done: map[key]bool{},
	}
	if err := f.load(); err != nil {
		return nil, err
	}
	return f, nil
}

// Device describes the folder.
func (f *Folder) Device() hardware.Device { return f.dev }

// Close saves the record of delivered files, which a folder that went
// away could not; it fails while the folder is still away.
func (f *Folder) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.save(); err != nil {
		return fmt.Errorf("folder %s: recording delivered files: %w", f.cfg.Dir, err)
	}
	return nil
}

// load reads the delivery record; a missing one means nothing was
// delivered yet.
func (f *Folder) load() error {
	b, err := os.ReadFile(f.cfg.State)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("folder %s: delivery record: %w", f.cfg.Dir, err)
	}
	if err := json.Unmarshal(b, &f.record); err != nil {
		return fmt.Errorf("folder %s: delivery record %s: %w", f.cfg.Dir, f.cfg.State, err)
	}
	for _, k := range f.record {
		f.done[k] = true
	}
	f.delivered = len(f.record)
	return nil
}

// save writes the delivery record atomically (temp file and rename), so a
// crash never leaves half a record.
func (f *Folder) save() error {
	if !f.unsaved {
		return nil
	}
	b, err := json.Marshal(f.record)
	if err != nil {
		return err
	}
	tmp := f.cfg.State + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, f.cfg.State); err != nil {
		return err
	}
	f.unsaved = false
	return nil
}

// seen is the state of a candidate file at the last poll.
type seen struct {
	key
	since time.Time // when it was first seen with this size and time
}

// Scan delivers the complete files not delivered before, in name order;
// see the package comment for when it returns.
func (f *Folder) Scan(ctx context.Context, opts hardware.Options, deliver func(hardware.Page) error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.gone.Err(); err != nil {
		return err
	}
	return f.gone.Keep(f.scan(ctx, opts, deliver))
}

func (f *Folder) scan(ctx context.Context, opts hardware.Options, deliver func(hardware.Page) error) error {
	if deliver == nil {
		return errors.New("folder: scan without a receiver for the pages")
	}
	if opts.Source != "" && opts.Source != hardware.ADF {
		return fmt.Errorf("folder: source %q: a folder is read like a feeder (ADF)", opts.Source)
	}
	last := map[string]seen{} // previous poll's view of each candidate
	quietSince := time.Now()
	tick := time.NewTicker(f.cfg.Poll)
	defer tick.Stop()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if _, err := os.Stat(f.cfg.Dir); err != nil {
			return &hardware.Fault{Kind: hardware.DeviceGone, Device: f.dev.ID, After: f.delivered}
		}
		if err := f.save(); err != nil {
			return fmt.Errorf("folder %s: recording delivered files: %w", f.cfg.Dir, err)
		}
		cands, err := f.candidates()
		if err != nil {
			if _, serr := os.Stat(f.cfg.Dir); serr != nil {
				return &hardware.Fault{Kind: hardware.DeviceGone, Device: f.dev.ID, After: f.delivered}
			}
			return fmt.Errorf("folder %s: %w", f.cfg.Dir, err)
		}
		now := time.Now()
		next := map[string]seen{}
		for _, k := range cands {
			s := seen{key: k, since: now}
			if prev, ok := last[k.Name]; ok && prev.key == k {
				s.since = prev.since
			}
			next[k.Name] = s
		}
		last = next
		// Deliver the complete files in name order; stop at the first
		// one still being written so that order holds.
		for _, k := range cands {
			s := last[k.Name]
			if s.since.Equal(now) {
				quietSince = now // new or still changing
				break
			}
			settled := now.Sub(s.since) >= f.cfg.Settle
			if why := f.reject(k); why != "" {
				if !settled {
					quietSince = now
					break // it may still be being written
				}
				// Flagged once and passed over for good: the files after
				// it go on.
				f.done[k] = true
				f.record = append(f.record, k)
				f.unsaved = true
				if err := f.save(); err != nil {
					return fmt.Errorf("folder %s: recording delivered files: %w", f.cfg.Dir, err)
				}
				return &hardware.Fault{Kind: hardware.Rejected, Device: f.dev.ID, After: f.delivered,
					Detail: fmt.Sprintf("файл %s %s", k.Name, why)}
			}
			page, ok, err := f.read(k, settled)
			if err != nil {
				if _, serr := os.Stat(f.cfg.Dir); serr != nil {
					return &hardware.Fault{Kind: hardware.DeviceGone, Device: f.dev.ID, After: f.delivered}
				}
				if errors.Is(err, fs.ErrNotExist) {
					continue // taken away meanwhile: it was never a page
				}
				return fmt.Errorf("folder %s: %w", f.cfg.Dir, err)
			}
			if !ok {
				quietSince = now
				break
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := deliver(page); err != nil {
				return err
			}
			f.delivered++
			f.done[k] = true
			f.record = append(f.record, k)
			f.unsaved = true
			quietSince = time.Now()
			// A lost folder shows at the next poll as DeviceGone; the
			// record is kept in memory and saved by Close once it is back.
			if _, err := os.Stat(f.cfg.Dir); err == nil {
				if err := f.save(); err != nil {
					return fmt.Errorf("folder %s: recording delivered files: %w", f.cfg.Dir, err)
				}
			}
		}
		if !f.cfg.Watch && time.Since(quietSince) >= f.cfg.Settle {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// candidates lists the image files not yet delivered, in name order.
func (f *Folder) candidates() ([]key, error) {
	ents, err := os.ReadDir(f.cfg.Dir)
	if err != nil {
		return nil, err
	}
	var out []key
	for _, e := range ents {
		if !e.Type().IsRegular() || Ignored(e.Name()) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // removed since the listing
		}
		k := key{Name: e.Name(), Size: info.Size(), MTime: info.ModTime().UnixNano()}
		if !f.done[k] {
			out = append(out, k)
		}
	}
	slices.SortFunc(out, func(a, b key) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Ignored says whether a file name is not a page: hidden and temp files,
// and formats the station does not read.
func Ignored(name string) bool {
	low := strings.ToLower(name)
	if strings.HasPrefix(low, ".") || strings.HasPrefix(low, "~") || strings.HasSuffix(low, "~") {
		return true
	}
	return format(low) == ""
}

// format is the page format of a file name, "" when it is not a page.
func format(name string) string {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".jpg", ".jpeg":
		return "jpeg"
	case ".png":
		return "png"
	case ".tif", ".tiff":
		return "tiff"
	case ".pdf":
		return "pdf"
	}
	return ""
}

// reject says why a file cannot be a page, "" when it may be one.
func (f *Folder) reject(k key) string {
	maxSize := f.cfg.MaxSize
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	switch {
	case k.Size == 0:
		return "пустой (0 байт)"
	case k.Size > maxSize:
		return fmt.Sprintf("слишком велик для скана страницы (%d МБ, наибольший — %d МБ)", k.Size>>20, maxSize>>20)
	}
	return ""
}

// read loads a file as a page. ok is false when the file is not complete
// yet; settled takes it anyway, as a file that stopped changing.
func (f *Folder) read(k key, settled bool) (p hardware.Page, ok bool, err error) {
	path := filepath.Join(f.cfg.Dir, k.Name)
	fh, err := os.Open(path)
	if err != nil {
		return p, false, err
	}
	defer fh.Close()
	data, err := io.ReadAll(fh)
	if err != nil {
		return p, false, fmt.Errorf("%s: %w", k.Name, err)
	}
	if int64(len(data)) != k.Size {
		return p, false, nil // grew since the listing
	}
	form := format(k.Name)
	if !settled && !Complete(form, data) {
		return p, false, nil
	}
	dpi := Density(form, data)
	if dpi == 0 {
		dpi = f.cfg.DPI
	}
	return hardware.Page{Seq: f.delivered + 1, Data: data, Format: form, DPI: dpi, Side: hardware.Front, Name: k.Name}, true, nil
}

// Complete says whether data ends as a whole file of the format does.
// Formats without a cheap end check (TIFF) count as complete.
func Complete(format string, data []byte) bool {
	switch format {
	case "jpeg":
		// Some writers pad after the EOI marker.
		d := bytes.TrimRight(data, "\x00")
		return len(d) >= 4 && d[0] == 0xFF && d[1] == 0xD8 && bytes.HasSuffix(d, []byte{0xFF, 0xD9})
	case "png":
		return len(data) >= 20 && bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")) &&
			bytes.HasSuffix(data, []byte("IEND\xaeB`\x82"))
	case "pdf":
		tail := data[max(0, len(data)-1024):]
		return bytes.HasPrefix(data, []byte("%PDF")) && bytes.Contains(tail, []byte("%%EOF"))
	}
	return len(data) > 0
}

// Density reads the resolution a JPEG (JFIF) or PNG (pHYs) file states,
// 0 when it states none.
func Density(format string, data []byte) int {
	switch format {
	case "jpeg":
		// SOI, then APP0 "JFIF\0" version(2) units(1) Xdensity(2) Ydensity(2).
		if len(data) >= 18 && data[2] == 0xFF && data[3] == 0xE0 && string(data[6:11]) == "JFIF\x00" {
			x := int(binary.BigEndian.Uint16(data[14:16]))
			switch data[13] {
			case 1: // dots per inch
				return x
			case 2: // dots per cm
				return (x*254 + 50) / 100
			}
		}
	case "png":
		// Chunks after the 8-byte signature: length, type, data, CRC.
		for i := 8; i+12 <= len(data); {
			n := int(binary.BigEndian.Uint32(data[i:]))
			typ := string(data[i+4 : i+8])
			if typ == "pHYs" && n == 9 && i+8+9 <= len(data) && data[i+16] == 1 {
				ppm := float64(binary.BigEndian.Uint32(data[i+8:]))
				return int(ppm*0.0254 + 0.5)
			}
			if typ == "IDAT" || n < 0 || n > len(data) {
				break // pHYs must come before the image data
			}
			i += 12 + n
		}
	}
	return 0
}
