package receiver

import (
	"context"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/tus/tusd/v2/pkg/filestore"
	"github.com/tus/tusd/v2/pkg/handler"
)

// Limits bound what one station may hold open at the receiver, so that a
// station (or whoever stole its key) cannot fill the disk or the upload
// table. Zero fields take the defaults.
type Limits struct {
	// ActivePerStation is how many unfinished uploads a station may have.
	// A station sends one package at a time; the rest are slack for
	// uploads it abandoned.
	ActivePerStation int
	// DeclaredPerStation bounds the sum of the sizes a station's unfinished
	// uploads announce.
	DeclaredPerStation int64
	// UploadTTL is how long an unfinished upload may sit without a byte
	// arriving before it is removed. The station then starts it again.
	UploadTTL time.Duration
}

// Defaults of Limits.
const (
	DefaultActivePerStation   = 4
	DefaultDeclaredPerStation = 2 * MaxPackageSize
	DefaultUploadTTL          = 24 * time.Hour
)

func (l Limits) active() int {
	if l.ActivePerStation > 0 {
		return l.ActivePerStation
	}
	return DefaultActivePerStation
}

func (l Limits) declared() int64 {
	if l.DeclaredPerStation > 0 {
		return l.DeclaredPerStation
	}
	return DefaultDeclaredPerStation
}

func (l Limits) ttl() time.Duration {
	if l.UploadTTL > 0 {
		return l.UploadTTL
	}
	return DefaultUploadTTL
}

// pending is one unfinished upload as the receiver tracks it.
type pending struct {
	id      string
	key     string // the owning station's key, ed25519:…
	size    int64
	touched time.Time // last byte or creation
	writing int       // PATCHes in flight: never expired meanwhile

	// sum hashes the first hashed bytes of the upload as they arrive, so
	// the check at the end needs no second read of the file.
	sum    hash.Hash
	hashed int64
}

// door is the receiver's table of unfinished uploads, wrapped around the
// tus file store: it enforces the per-station limits when an upload is
// created and hashes each chunk as it is written.
type door struct {
	inner  filestore.FileStore
	dir    string
	limits Limits
	now    func() time.Time
	log    *slog.Logger

	mu sync.Mutex
	m  map[string]*pending
}

type ctxKey struct{}

// withStation marks a request context with the key of the station that
// signed the request.
func withStation(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, ctxKey{}, key)
}

func stationOf(ctx context.Context) string {
	k, _ := ctx.Value(ctxKey{}).(string)
	return k
}

func newDoor(dir string, limits Limits, now func() time.Time, log *slog.Logger) *door {
	return &door{inner: filestore.New(dir), dir: dir, limits: limits, now: now, log: log, m: map[string]*pending{}}
}

// load fills the table from the uploads on disk, for a restarted
// receiver, and removes the expired ones at once.
func (d *door) load() error {
	infos, err := filepath.Glob(filepath.Join(d.dir, "*.info"))
	if err != nil {
		return fmt.Errorf("uploads: %w", err)
	}
	for _, p := range infos {
		id := strings.TrimSuffix(filepath.Base(p), ".info")
		var up handler.FileInfo
		data, err := os.ReadFile(p)
		if err == nil {
			err = json.Unmarshal(data, &up)
		}
		touched := time.Time{}
		if fi, serr := os.Stat(filepath.Join(d.dir, id)); serr == nil {
			touched = fi.ModTime()
		} else if fi, serr := os.Stat(p); serr == nil {
			touched = fi.ModTime()
		}
		pe := &pending{id: id, size: up.Size, touched: touched, sum: sha256.New()}
		if err == nil {
			if hint, herr := statementHint([]byte(up.MetaData[MetaSignature])); herr == nil {
				pe.key = hint.Key
			}
		}
		d.mu.Lock()
		d.m[id] = pe
		d.mu.Unlock()
	}
	d.expire()
	return nil
}

// expire removes the unfinished uploads no byte reached for UploadTTL.
func (d *door) expire() {
	d.mu.Lock()
	defer d.mu.Unlock()
	cut := d.now().Add(-d.limits.ttl())
	for id, pe := range d.m {
		if pe.writing == 0 && pe.touched.Before(cut) {
			d.log.Info("unfinished upload expired", "id", id, "station", pe.key, "idle_since", pe.touched)
			d.removeLocked(id)
		}
	}
}

// run expires uploads until ctx is done.
func (d *door) run(ctx context.Context) {
	every := min(max(d.limits.ttl()/10, time.Second), 10*time.Minute)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			d.expire()
		}
	}
}

func (d *door) removeLocked(id string) {
	delete(d.m, id)
	os.Remove(filepath.Join(d.dir, id))
	os.Remove(filepath.Join(d.dir, id+".info"))
}

// remove forgets a finished upload and deletes its files.
func (d *door) remove(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.removeLocked(id)
}

// owner is the station key that created an unfinished upload, "" if the
// upload is unknown.
func (d *door) owner(id string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if pe := d.m[id]; pe != nil {
		return pe.key
	}
	return ""
}

// NewUpload creates an upload if its station is within its limits. The
// signature was checked before (PreUploadCreateCallback).
func (d *door) NewUpload(ctx context.Context, info handler.FileInfo) (handler.Upload, error) {
	hint, err := statementHint([]byte(info.MetaData[MetaSignature]))
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	n, declared := 0, info.Size
	for _, pe := range d.m {
		if pe.key == hint.Key {
			n++
			declared += pe.size
		}
	}
	if n >= d.limits.active() {
		return nil, handler.NewError("ERR_TOO_MANY_UPLOADS", fmt.Sprintf(
			"у станции уже %d незавершённых загрузок — это предел; дождитесь их окончания или истечения срока (%s)", n, d.limits.ttl()), http.StatusTooManyRequests)
	}
	if declared > d.limits.declared() {
		return nil, handler.NewError("ERR_TOO_MUCH_DECLARED", fmt.Sprintf(
			"незавершённые загрузки станции заявляют %d байт, предел %d; дождитесь окончания начатых", declared, d.limits.declared()), http.StatusTooManyRequests)
	}
	up, err := d.inner.NewUpload(ctx, info)
	if err != nil {
		return nil, err
	}
	fi, err := up.GetInfo(ctx)
	if err != nil {
		return nil, err
	}
	d.m[fi.ID] = &pending{id: fi.ID, key: hint.Key, size: info.Size, touched: d.now(), sum: sha256.New()}
	return &hashingUpload{Upload: up, d: d, id: fi.ID}, nil
}

// GetUpload returns an upload of the table; one expired or finished is
// not found, whatever is left on disk.
func (d *door) GetUpload(ctx context.Context, id string) (handler.Upload, error) {
	d.mu.Lock()
	_, ok := d.m[id]
	d.mu.Unlock()
	if !ok {
		return nil, handler.ErrNotFound
	}
	up, err := d.inner.GetUpload(ctx, id)
	if err != nil {
		return nil, err
	}
	return &hashingUpload{Upload: up, d: d, id: id}, nil
}

// hashingUpload hashes each chunk on its way to the file.
type hashingUpload struct {
	handler.Upload
	d  *door
	id string
}

// counter counts the bytes that passed into the hash.
type counter struct {
	r io.Reader
	h hash.Hash
	n int64
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	return n, err
}

func (u *hashingUpload) WriteChunk(ctx context.Context, offset int64, src io.Reader) (int64, error) {
	d := u.d
	d.mu.Lock()
	pe := d.m[u.id]
	if pe == nil {
		d.mu.Unlock()
		return 0, handler.ErrNotFound
	}
	pe.writing++
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		pe.writing--
		pe.touched = d.now()
		d.mu.Unlock()
	}()
	// tusd holds the upload's lock around WriteChunk, so pe.sum is ours.
	if pe.hashed != offset {
		if err := u.rehash(ctx, pe, offset); err != nil {
			return 0, err
		}
	}
	c := &counter{r: src, h: pe.sum}
	n, err := u.Upload.WriteChunk(ctx, offset, c)
	pe.hashed += c.n
	if c.n != n {
		pe.hashed = -1 // the hash saw bytes the file did not get: redo it from the file
	}
	return n, err
}

// rehash hashes the first n bytes of the file again: after a restart, or
// a write that failed half-way.
func (u *hashingUpload) rehash(ctx context.Context, pe *pending, n int64) error {
	f, err := os.Open(filepath.Join(u.d.dir, u.id))
	if err != nil {
		return fmt.Errorf("upload %s: %w", u.id, err)
	}
	defer f.Close()
	h := sha256.New()
	got, err := io.Copy(h, io.LimitReader(f, n))
	if err != nil {
		return fmt.Errorf("upload %s: %w", u.id, err)
	}
	if got != n {
		return fmt.Errorf("upload %s: %d bytes on disk, %d expected", u.id, got, n)
	}
	pe.sum, pe.hashed = h, n
	return nil
}

// sum returns the SHA-256 of a complete upload, hashing the file again
// only if the running hash does not cover it.
func (d *door) sum(ctx context.Context, up handler.FileInfo) (string, error) {
	d.mu.Lock()
	pe := d.m[up.ID]
	d.mu.Unlock()
	if pe == nil {
		pe = &pending{id: up.ID, size: up.Size, sum: sha256.New()}
	}
	if pe.hashed != up.Size {
		hu := &hashingUpload{d: d, id: up.ID}
		inner, err := d.inner.GetUpload(ctx, up.ID)
		if err != nil {
			return "", err
		}
		hu.Upload = inner
		if err := hu.rehash(ctx, pe, up.Size); err != nil {
			return "", err
		}
	}
	// Sum of a copy: the running state stays usable if the check is redone.
	state, err := pe.sum.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(state); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
