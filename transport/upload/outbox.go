package upload

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.etcd.io/bbolt"

	"giascan/transport/receiver/receipt"
	"giascan/transport/seal"
	"giascan/transport/stationauth"
)

// Files of the outbox in the station's data directory.
const (
	OutboxDB = "outbox.db" // bbolt: one record per package version
	// OutboxDir holds the uploader's own copies of the sealed files. It is
	// apart from outbox/PPPP, where the packager seals packages, so that
	// neither side's listing sees the other's files.
	OutboxDir = "sending"
)

var bucket = []byte("items")

// State is where a package version is on its way to the РЦОИ.
type State string

// The states of an Item.
const (
	Queued    State = "queued"    // to send, or being sent
	Delivered State = "delivered" // the РЦОИ's receipt is verified and kept
	Refused   State = "refused"   // the РЦОИ refused it; resending will not help
)

// Item is one sealed package version in the outbox.
type Item struct {
	Package    string    `json:"package"`
	Version    int       `json:"version"`
	Station    string    `json:"station"`
	Manifest   string    `json:"manifest"`   // manifest hash, from the signed statement
	SHA256     string    `json:"sha256"`     // of the ciphertext
	Size       int64     `json:"size"`       // of the ciphertext
	Ciphertext string    `json:"ciphertext"` // path of the outbox copy
	Signature  string    `json:"signature"`  // path of the outbox copy
	State      State     `json:"state"`
	UploadURL  string    `json:"upload_url,omitempty"` // the tus upload, once created
	Offset     int64     `json:"offset"`               // bytes the РЦОИ confirmed holding
	BytesSent  int64     `json:"bytes_sent"`           // bytes put on the wire, all attempts
	Attempts   int       `json:"attempts"`
	LastError  string    `json:"last_error,omitempty"`
	Receipt    []byte    `json:"receipt,omitempty"` // the signed receipt file
	Enqueued   time.Time `json:"enqueued"`
	Delivered  time.Time `json:"delivered,omitzero"`
}

// Key names the item: package id and version, ordered by version.
func (it *Item) Key() string { return fmt.Sprintf("%s/%06d", it.Package, it.Version) }

// Outbox holds sealed packages until the РЦОИ's receipt for each is in.
// It is safe for concurrent use; one process opens it at a time.
type Outbox struct {
	db     *bbolt.DB
	dir    string
	notify chan struct{} // wakes the worker when something is enqueued
}

// OpenOutbox opens (creating) the outbox of a station data directory.
func OpenOutbox(dataDir string) (*Outbox, error) {
	if err := os.MkdirAll(filepath.Join(dataDir, OutboxDir), 0o700); err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	db, err := bbolt.Open(filepath.Join(dataDir, OutboxDB), 0o600, &bbolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("outbox %s: %w", filepath.Join(dataDir, OutboxDB), err)
	}
	if err := db.Update(func(tx *bbolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucket)
		return err
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("outbox: %w", err)
	}
	return &Outbox{db: db, dir: filepath.Join(dataDir, OutboxDir), notify: make(chan struct{}, 1)}, nil
}

// Close closes the outbox database.
func (o *Outbox) Close() error { return o.db.Close() }

// Enqueue puts a sealed package (its .tar.age and .sig) in the outbox. The
// outbox keeps its own copies, so the caller may move its files. Enqueuing
// the same version again is a no-op; a different ciphertext under a version
// already queued is refused: a new version needs a new number.
func (o *Outbox) Enqueue(ctx context.Context, ciphertextPath, sigPath string) (Item, error) {
	sig, err := os.ReadFile(sigPath)
	if err != nil {
		return Item{}, fmt.Errorf("enqueue: %w", err)
	}
	st, err := statement(sig)
	if err != nil {
		return Item{}, fmt.Errorf("enqueue %s: %w", sigPath, err)
	}
	it := Item{Package: st.Package, Version: st.Version, Station: st.Station, Manifest: st.Manifest,
		SHA256: st.Ciphertext, Size: st.Size, State: Queued, Enqueued: time.Now().UTC()}
	if prev, err := o.Item(it.Package, it.Version); err == nil {
		if prev.SHA256 == it.SHA256 {
			return prev, nil
		}
		return Item{}, fmt.Errorf("enqueue %s v%d: another package of that version is already in the outbox (%s)", it.Package, it.Version, prev.State)
	}
	base := filepath.Join(o.dir, fmt.Sprintf("%s-v%d", it.Package, it.Version))
	it.Ciphertext, it.Signature = base+seal.CiphertextExt, base+seal.SignatureExt
	// Copy and check: what is queued must be what was signed, or the РЦОИ
	// would refuse it after the whole upload.
	if err := copyChecked(ctx, ciphertextPath, it.Ciphertext, it.SHA256, it.Size); err != nil {
		return Item{}, fmt.Errorf("enqueue %s v%d: %w", it.Package, it.Version, err)
	}
	if err := writeSynced(it.Signature, sig); err != nil {
		return Item{}, fmt.Errorf("enqueue %s v%d: %w", it.Package, it.Version, err)
	}
	if err := o.put(&it); err != nil {
		return Item{}, err
	}
	select {
	case o.notify <- struct{}{}:
	default:
	}
	return it, nil
}

// statement reads the signed statement of the station's own signature file.
func statement(sig []byte) (*seal.Statement, error) {
	lines := strings.Split(string(sig), "\n")
	if len(lines) != 4 {
		return nil, errors.New("not a seal signature file")
	}
	var st seal.Statement
	if err := json.Unmarshal([]byte(lines[1]), &st); err != nil {
		return nil, fmt.Errorf("signature statement: %w", err)
	}
	if st.Package == "" || st.Version < 1 || st.Size <= 0 {
		return nil, errors.New("signature statement names no package")
	}
	return &st, nil
}

func copyChecked(ctx context.Context, src, dst, sum string, size int64) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := dst + ".new"
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, h), ctxReader{ctx, in})
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil && (n != size || hex.EncodeToString(h.Sum(nil)) != sum) {
		err = fmt.Errorf("%s is not the ciphertext its signature names (%d bytes, signed %d)", src, n, size)
	}
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func (o *Outbox) put(it *Item) error {
	data, err := json.Marshal(it)
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	if err := o.db.Update(func(tx *bbolt.Tx) error { return tx.Bucket(bucket).Put([]byte(it.Key()), data) }); err != nil {
		return fmt.Errorf("outbox %s v%d: %w", it.Package, it.Version, err)
	}
	return nil
}

// ErrNotFound means the outbox has no such package version.
var ErrNotFound = errors.New("not in the outbox")

// Item returns one package version of the outbox.
func (o *Outbox) Item(pkgID string, version int) (Item, error) {
	var it Item
	key := (&Item{Package: pkgID, Version: version}).Key()
	err := o.db.View(func(tx *bbolt.Tx) error {
		data := tx.Bucket(bucket).Get([]byte(key))
		if data == nil {
			return fmt.Errorf("%s v%d: %w", pkgID, version, ErrNotFound)
		}
		return json.Unmarshal(data, &it)
	})
	return it, err
}

// Items returns the whole outbox, by package then version.
func (o *Outbox) Items() ([]Item, error) {
	var out []Item
	err := o.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucket).ForEach(func(_, v []byte) error {
			var it Item
			if err := json.Unmarshal(v, &it); err != nil {
				return err
			}
			out = append(out, it)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	return out, nil
}

// Progress is reported while a package is sent, for a UI.
type Progress struct {
	Package string
	Version int
	Sent    int64 // bytes the РЦОИ holds, as far as the station knows
	Total   int64
}

// Uploader sends the outbox to one РЦОИ. Its zero durations take defaults.
type Uploader struct {
	Outbox      *Outbox
	Endpoint    string            // http(s)://host:port of the receiver
	ReceiverKey ed25519.PublicKey // the РЦОИ's receipt key
	HTTP        *http.Client      // nil: http.DefaultClient; see tlspin for trusting the РЦОИ's certificate
	// StationKey signs every request (transport/stationauth), as the
	// receiver requires. nil: the station key of the outbox's data folder.
	StationKey ed25519.PrivateKey
	ChunkSize  int64          // bytes per PATCH; 0: 1 MiB
	MinBackoff time.Duration  // first wait after a failure; 0: 1 s
	MaxBackoff time.Duration  // cap of the doubling waits; 0: 5 min
	Poll       time.Duration  // how often an idle worker looks again; 0: 1 min
	Progress   func(Progress) // optional; called from Run's goroutine

	mu sync.Mutex // one delivery at a time: an outbox has one worker
}

// Run sends queued packages until ctx is done, retrying failures with
// capped exponential backoff. It returns ctx's error. Refused packages are
// marked and left for the operator; nothing is ever deleted.
func (u *Uploader) Run(ctx context.Context) error {
	backoff := time.Duration(0)
	for {
		// A wake-up from before this look at the outbox is stale: it must
		// not cut the backoff short.
		select {
		case <-u.Outbox.notify:
		default:
		}
		it, ok, err := u.next()
		if err != nil {
			return err
		}
		var wait time.Duration
		switch {
		case !ok:
			wait = u.poll()
		default:
			err := u.Deliver(ctx, it.Package, it.Version)
			switch {
			case ctx.Err() != nil:
				return ctx.Err()
			case err == nil, errors.As(err, new(*RefusedError)):
				backoff = 0
				continue
			}
			backoff = min(max(2*backoff, u.minBackoff()), u.maxBackoff())
			wait = backoff
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-u.Outbox.notify:
			t.Stop()
		case <-t.C:
		}
	}
}

func (u *Uploader) minBackoff() time.Duration { return cmpOr(u.MinBackoff, time.Second) }
func (u *Uploader) maxBackoff() time.Duration { return cmpOr(u.MaxBackoff, 5*time.Minute) }
func (u *Uploader) poll() time.Duration       { return cmpOr(u.Poll, time.Minute) }

func cmpOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// next is the queued item to send: the one tried least, oldest first, so a
// package the РЦОИ keeps failing on does not hold up the others.
func (u *Uploader) next() (Item, bool, error) {
	items, err := u.Outbox.Items()
	if err != nil {
		return Item{}, false, err
	}
	var best *Item
	for i := range items {
		it := &items[i]
		if it.State == Queued && (best == nil || it.Attempts < best.Attempts) {
			best = it
		}
	}
	if best == nil {
		return Item{}, false, nil
	}
	return *best, true, nil
}

// Deliver makes one attempt to send a package version and fetch its
// receipt; the outbox records how far it got. A *RefusedError means the
// РЦОИ refused the package, and the item is marked Refused.
func (u *Uploader) Deliver(ctx context.Context, pkgID string, version int) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	it, err := u.Outbox.Item(pkgID, version)
	if err != nil {
		return err
	}
	if it.State != Queued {
		return nil
	}
	it.Attempts++
	err = u.deliver(ctx, &it)
	var ref *RefusedError
	switch {
	case err == nil:
		it.State, it.LastError, it.Delivered = Delivered, "", time.Now().UTC()
	case errors.As(err, &ref):
		it.State, it.LastError = Refused, ref.Reason
	default:
		it.LastError = err.Error()
	}
	if perr := u.Outbox.put(&it); perr != nil && err == nil {
		err = perr
	}
	if err != nil {
		return fmt.Errorf("deliver %s v%d: %w", it.Package, it.Version, err)
	}
	return nil
}

// signingClient is u.HTTP signing each request with the station's key.
func (u *Uploader) signingClient() *http.Client {
	key := u.StationKey
	if key == nil {
		// The outbox sits in the station's data folder, whose key sealed
		// the packages; without one, requests go unsigned and the
		// receiver says why it refuses them.
		key, _ = seal.LoadStationKey(seal.KeyDir(filepath.Dir(u.Outbox.dir)))
	}
	return SigningClient(u.HTTP, key)
}

// SigningClient returns a client that sends as hc does (nil:
// http.DefaultClient) and signs every request with the station's key; a
// nil key returns hc unchanged.
func SigningClient(hc *http.Client, key ed25519.PrivateKey) *http.Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	if key == nil {
		return hc
	}
	c := *hc
	c.Transport = &stationauth.Transport{Key: key, Base: hc.Transport}
	return &c
}

func (u *Uploader) deliver(ctx context.Context, it *Item) error {
	c, err := newTusClient(u.Endpoint, u.signingClient())
	if err != nil {
		return err
	}
	if it.UploadURL != "" {
		// An earlier attempt may have finished without hearing the answer.
		if ok, err := u.fetchReceipt(ctx, c, it); ok || err != nil {
			return err
		}
		off, err := c.offset(ctx, it.UploadURL)
		switch {
		case errors.Is(err, ErrGone):
			it.UploadURL, it.Offset = "", 0
		case err != nil:
			return err
		default:
			it.Offset = off
		}
	}
	if it.UploadURL == "" {
		sig, err := os.ReadFile(it.Signature)
		if err != nil {
			return fmt.Errorf("outbox copy: %w", err)
		}
		loc, err := c.create(ctx, it.Size, map[string]string{
			metaSignature: string(sig),
			"filename":    filepath.Base(it.Ciphertext),
		})
		if err != nil {
			return err
		}
		it.UploadURL, it.Offset = loc, 0
		if err := u.Outbox.put(it); err != nil {
			return err
		}
	}
	f, err := os.Open(it.Ciphertext)
	if err != nil {
		return fmt.Errorf("outbox copy: %w", err)
	}
	defer f.Close()
	u.report(it)
	chunk := cmpOr64(u.ChunkSize, 1<<20)
	finished := it.Offset == it.Size
	for it.Offset < it.Size {
		n := min(chunk, it.Size-it.Offset)
		body := &countReader{r: io.NewSectionReader(f, it.Offset, n)}
		off, receiptAt, err := c.patch(ctx, it.UploadURL, it.Offset, body, n)
		it.BytesSent += body.n
		if err != nil {
			if errors.Is(err, ErrGone) {
				it.UploadURL, it.Offset = "", 0
			}
			return err
		}
		if off <= it.Offset || off > it.Size {
			return fmt.Errorf("send at %d: the server answered offset %d", it.Offset, off)
		}
		it.Offset = off
		// Persist the offset so the UI of a restarted station shows it;
		// the server's HEAD stays the authority on resume.
		if err := u.Outbox.put(it); err != nil {
			return err
		}
		u.report(it)
		finished = receiptAt != "" || it.Offset == it.Size
	}
	if !finished {
		return errors.New("upload did not finish")
	}
	ok, err := u.fetchReceipt(ctx, c, it)
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("upload complete but the РЦОИ has no receipt yet")
	}
	return nil
}

// fetchReceipt fetches and verifies the receipt; ok is false if the
// РЦОИ has none yet.
func (u *Uploader) fetchReceipt(ctx context.Context, c *tusClient, it *Item) (bool, error) {
	data, err := c.receipt(ctx, it.Package, it.Version)
	if errors.Is(err, ErrGone) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	rc, err := receipt.Verify(data, u.ReceiverKey)
	if err != nil {
		return false, err
	}
	// The manifest hash, not the ciphertext, identifies the contents: a
	// package sealed again encrypts differently but is the same package.
	if rc.Package != it.Package || rc.Version != it.Version || rc.Manifest != it.Manifest {
		return false, fmt.Errorf("the РЦОИ's receipt is for %s v%d with manifest %s, not for this package (manifest %s)",
			rc.Package, rc.Version, rc.Manifest, it.Manifest)
	}
	it.Receipt = data
	it.Offset = it.Size
	u.report(it)
	return true, nil
}

func (u *Uploader) report(it *Item) {
	if u.Progress != nil {
		u.Progress(Progress{Package: it.Package, Version: it.Version, Sent: it.Offset, Total: it.Size})
	}
}

func cmpOr64(v, def int64) int64 {
	if v > 0 {
		return v
	}
	return def
}

// countReader counts what the HTTP client actually read for the wire.
type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
