package receiver

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"encoding/json"
	"errors"
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

// hashState is the running hash of an upload in this receiver: the first
// hashed bytes of it, taken as they arrived, so the check at the end needs
// no second read. An upload resumed here after another receiver (or this
// one before a restart) took its start has no running hash (hashed < 0):
// it is hashed again, whole, when it completes.
type hashState struct {
	sum    hash.Hash
	hashed int64
}

// door is the receiver's entrance for uploads, wrapped around the tus
// store (files or S3): it enforces the per-station limits when an upload
// is created, keeps each upload to its owner, hashes each chunk as it is written and
// expires abandoned uploads. The table of unfinished uploads is the
// coordinator's, so receivers sharing it share the limits.
type door struct {
	inner  uploadStore
	dir    string // the file store's folder; "" for S3
	limits Limits
	now    func() time.Time
	log    *slog.Logger
	coord  Coordinator

	mu     sync.Mutex
	hashes map[string]*hashState
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

func newDoor(inner uploadStore, dir string, limits Limits, coord Coordinator, now func() time.Time, log *slog.Logger) *door {
	return &door{inner: inner, dir: dir, limits: limits, now: now, log: log, coord: coord, hashes: map[string]*hashState{}}
}

// load adds the uploads of the file store to the table, for a restarted
// receiver (whose table, in memory, is empty), and removes the expired
// ones. Uploads in S3 are in the shared table already.
func (d *door) load(ctx context.Context) error {
	if d.dir == "" {
		d.expire(ctx)
		return nil
	}
	infos, err := filepath.Glob(filepath.Join(d.dir, "*.info"))
	if err != nil {
		return fmt.Errorf("uploads: %w", err)
	}
	for _, p := range infos {
		id := strings.TrimSuffix(filepath.Base(p), ".info")
		if _, ok, err := d.coord.Upload(ctx, id); err != nil || ok {
			if err != nil {
				return err
			}
			continue
		}
		var up handler.FileInfo
		data, err := os.ReadFile(p)
		if err == nil {
			err = json.Unmarshal(data, &up)
		}
		pe := Pending{ID: id, Size: up.Size}
		if fi, serr := os.Stat(filepath.Join(d.dir, id)); serr == nil {
			pe.Touched = fi.ModTime()
		} else if fi, serr := os.Stat(p); serr == nil {
			pe.Touched = fi.ModTime()
		}
		if err == nil {
			if hint, herr := statementHint([]byte(up.MetaData[MetaSignature])); herr == nil {
				pe.Key = hint.Key
			}
		}
		if err := d.coord.AddUpload(ctx, pe, unlimited); err != nil {
			return err
		}
	}
	d.expire(ctx)
	return nil
}

// expire removes the unfinished uploads no byte reached for UploadTTL.
// One being written is locked and skipped.
func (d *door) expire(ctx context.Context) {
	cut := d.now().Add(-d.limits.ttl())
	ids, err := d.coord.Idle(ctx, cut)
	if err != nil {
		d.log.Error("expire uploads", "err", err)
		return
	}
	for _, id := range ids {
		lctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		unlock, err := d.coord.Lock(lctx, "upload/"+id)
		cancel()
		if err != nil {
			continue // being written: not idle
		}
		if pe, ok, err := d.coord.Upload(ctx, id); err == nil && ok && pe.Touched.Before(cut) {
			d.log.Info("unfinished upload expired", "id", id, "station", pe.Key, "idle_since", pe.Touched)
			d.remove(ctx, id)
		}
		unlock()
	}
	d.forgetHashes(ctx)
}

// forgetHashes drops the running hashes of uploads no longer in the table:
// finished or expired by another receiver sharing it.
func (d *door) forgetHashes(ctx context.Context) {
	d.mu.Lock()
	ids := make([]string, 0, len(d.hashes))
	for id := range d.hashes {
		ids = append(ids, id)
	}
	d.mu.Unlock()
	for _, id := range ids {
		if _, ok, err := d.coord.Upload(ctx, id); err == nil && !ok {
			d.mu.Lock()
			delete(d.hashes, id)
			d.mu.Unlock()
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
			d.expire(ctx)
		}
	}
}

// remove forgets an upload and deletes what the store holds of it.
func (d *door) remove(ctx context.Context, id string) {
	if err := d.coord.RemoveUpload(ctx, id); err != nil {
		d.log.Error("remove upload", "id", id, "err", err)
	}
	d.mu.Lock()
	delete(d.hashes, id)
	d.mu.Unlock()
	up, err := d.inner.GetUpload(ctx, id)
	if err == nil {
		err = d.inner.AsTerminatableUpload(up).Terminate(ctx)
	}
	if err != nil && !errors.Is(err, handler.ErrNotFound) && !errors.Is(err, os.ErrNotExist) {
		d.log.Error("remove upload", "id", id, "err", err)
	}
}

// owner is the station key that created an unfinished upload, "" if the
// upload is unknown.
func (d *door) owner(ctx context.Context, id string) (string, error) {
	pe, ok, err := d.coord.Upload(ctx, id)
	if err != nil || !ok {
		return "", err
	}
	return pe.Key, nil
}

// NewUpload creates an upload if its station is within its limits. The
// signature was checked before (PreUploadCreateCallback).
func (d *door) NewUpload(ctx context.Context, info handler.FileInfo) (handler.Upload, error) {
	hint, err := statementHint([]byte(info.MetaData[MetaSignature]))
	if err != nil {
		return nil, err
	}
	// The station's uploads are counted and the new one added under one
	// lock, so two receivers cannot both let the last one in.
	unlock, err := d.coord.Lock(ctx, "station/"+hint.Key)
	if err != nil {
		return nil, err
	}
	defer unlock()
	id, err := newUploadID()
	if err != nil {
		return nil, err
	}
	pe := Pending{ID: id, Key: hint.Key, Size: info.Size, Touched: d.now()}
	if err := d.coord.AddUpload(ctx, pe, d.limits); err != nil {
		var le *LimitError
		if errors.As(err, &le) {
			return nil, handler.NewError("ERR_STATION_LIMIT", le.Msg, http.StatusTooManyRequests)
		}
		return nil, err
	}
	info.ID = id
	up, err := d.inner.NewUpload(ctx, info)
	if err != nil {
		d.coord.RemoveUpload(ctx, id)
		return nil, err
	}
	// S3 names the upload after the multipart upload it began: the table
	// takes that name, still under the station's lock.
	created, err := up.GetInfo(ctx)
	if err == nil && created.ID != id {
		if err = d.coord.RemoveUpload(ctx, id); err == nil {
			pe.ID = created.ID
			err = d.coord.AddUpload(ctx, pe, unlimited)
		}
	}
	if err != nil {
		d.inner.AsTerminatableUpload(up).Terminate(context.WithoutCancel(ctx))
		d.coord.RemoveUpload(ctx, id)
		return nil, err
	}
	return &hashingUpload{Upload: up, d: d, id: created.ID}, nil
}

// GetUpload returns an upload of the table; one expired or finished is
// not found, whatever is left on disk.
func (d *door) GetUpload(ctx context.Context, id string) (handler.Upload, error) {
	if _, ok, err := d.coord.Upload(ctx, id); err != nil || !ok {
		if err != nil {
			return nil, err
		}
		return nil, handler.ErrNotFound
	}
	up, err := d.inner.GetUpload(ctx, id)
	if err != nil {
		return nil, err
	}
	return &hashingUpload{Upload: up, d: d, id: id}, nil
}

func (d *door) hashOf(id string) *hashState {
	d.mu.Lock()
	defer d.mu.Unlock()
	h := d.hashes[id]
	if h == nil {
		h = &hashState{sum: sha256.New()}
		d.hashes[id] = h
	}
	return h
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
	// tusd holds the upload's lock around WriteChunk, so the hash is ours.
	h := d.hashOf(u.id)
	if h.hashed != offset {
		h.hashed = -1 // begun elsewhere, or a write failed: hashed whole at the end
	}
	var n int64
	var err error
	if h.hashed < 0 {
		n, err = u.Upload.WriteChunk(ctx, offset, src)
	} else {
		c := &counter{r: src, h: h.sum}
		n, err = u.Upload.WriteChunk(ctx, offset, c)
		h.hashed += c.n
		if c.n != n {
			h.hashed = -1 // the hash saw bytes the store did not keep
		}
	}
	if terr := d.coord.Touch(context.WithoutCancel(ctx), u.id, d.now()); terr != nil && err == nil {
		err = terr
	}
	return n, err
}

// sum returns the SHA-256 of a complete upload: the running hash if it
// covers the upload, else a hash of the upload read again from the store.
func (d *door) sum(ctx context.Context, up handler.FileInfo) (string, error) {
	hs := d.hashOf(up.ID)
	if hs.hashed != up.Size {
		u, err := d.inner.GetUpload(ctx, up.ID)
		if err != nil {
			return "", err
		}
		rd, err := u.GetReader(ctx)
		if err != nil {
			return "", err
		}
		defer rd.Close()
		h := sha256.New()
		n, err := io.Copy(h, io.LimitReader(rd, up.Size+1))
		if err != nil {
			return "", err
		}
		if n != up.Size {
			return "", fmt.Errorf("%d bytes stored, %d expected", n, up.Size)
		}
		hs.sum, hs.hashed = h, n
	}
	// Sum of a copy: the running state stays usable if the check is redone.
	state, err := hs.sum.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(state); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// newUploadID is an upload's name: 128 random bits, so that an upload's
// URL cannot be guessed (though only its owner may use it anyway).
func newUploadID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}
