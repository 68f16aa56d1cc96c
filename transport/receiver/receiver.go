// Package receiver is the РЦОИ side of package transport: it takes sealed
// packages uploaded by stations over tus, checks them — station signature
// first, then decryption, then every file hash and the ППЭ — stores the
// accepted ones and answers each with a signed receipt.
package receiver

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"filippo.io/age"

	"giascan/transport/pkg"
	"giascan/transport/receiver/receipt"
	"giascan/transport/seal"
)

// MaxPackageSize bounds a package, sealed or opened: an auditorium's scans
// are tens of megabytes; this leaves room without letting one upload fill
// the disk.
const MaxPackageSize = 2 << 30

// ErrRefused marks a package the receiver will not accept; the message
// says why and is what the rejects log records.
var ErrRefused = errors.New("пакет отклонён")

// Receiver accepts packages into its data directory. Its methods are safe
// for concurrent use.
type Receiver struct {
	dir   string
	keys  *Keys
	store Blob
	now   func() time.Time

	// Limits bound each station's unfinished uploads; set before Handler.
	Limits Limits
	// People checks the accounts of the РЦОИ's staff for the board and
	// status; nil lets no one in.
	People People
	// Uploads is where unfinished uploads are kept: "" for the data
	// folder, or s3://BUCKET/PREFIX?endpoint=HOST:PORT for a bucket that
	// receivers behind one address share. Set before Handler.
	Uploads string
	// RejectsMax is the size at which the rejects log is rotated; 0 takes
	// DefaultRejectsMax.
	RejectsMax int64

	coord  Coordinator
	people peopleCache
}

// Open opens the receiver on its data directory. storeURL "" means
// file://DIR/store.
func Open(dir, storeURL string) (*Receiver, error) {
	keys, err := LoadKeys(dir)
	if err != nil {
		return nil, err
	}
	if storeURL == "" {
		abs, err := filepath.Abs(filepath.Join(dir, DefaultStore))
		if err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		storeURL = "file://" + filepath.ToSlash(abs)
	}
	store, err := OpenBlob(storeURL)
	if err != nil {
		return nil, err
	}
	return &Receiver{dir: dir, keys: keys, store: store, now: time.Now, coord: NewMemoryCoordinator()}, nil
}

// Share makes the receiver keep its shared state in c, to run beside other
// receivers on the same data folder and store. Call it before Handler.
func (r *Receiver) Share(c Coordinator) { r.coord = c }

// Recipient is the age recipient stations encrypt packages to.
func (r *Receiver) Recipient() string { return r.keys.Identity.Recipient().String() }

// ReceiptKey is the public key stations verify receipts with.
func (r *Receiver) ReceiptKey() ed25519.PublicKey { return r.keys.ReceiptPublic() }

// statementHint reads the signed statement of a signature file without
// checking it: only to find which registered key to check it with.
func statementHint(sig []byte) (*seal.Statement, error) {
	lines := strings.Split(string(sig), "\n")
	if len(lines) != 4 {
		return nil, refused("это не файл подписи пакета: отправьте пакет вместе с его файлом .sig")
	}
	var st seal.Statement
	if err := json.Unmarshal([]byte(lines[1]), &st); err != nil {
		return nil, refused("заявление подписи не читается (%v): соберите пакет заново", err)
	}
	return &st, nil
}

// station finds the registered station whose key signed sig.
func (r *Receiver) station(sig []byte) (*seal.Statement, Station, ed25519.PublicKey, error) {
	hint, err := statementHint(sig)
	if err != nil {
		return nil, Station{}, nil, err
	}
	stations, err := LoadStations(r.dir)
	if err != nil {
		return nil, Station{}, nil, err
	}
	for _, s := range stations {
		if s.Key == hint.Key {
			pub, err := seal.ParsePublicKey(s.Key)
			if err != nil {
				return nil, Station{}, nil, fmt.Errorf("%s: %w", StationsFile, err)
			}
			return hint, s, pub, nil
		}
	}
	return nil, Station{}, nil, refused("%s v%d подписан ключом %s, который не зарегистрирован ни для одного ППЭ: зарегистрируйте станцию в РЦОИ (приглашение или receiver station add)", hint.Package, hint.Version, hint.Key)
}

// verifyStatement checks the signature file with the key of the
// registered station it names, without the ciphertext.
func (r *Receiver) verifyStatement(sig []byte) (*seal.Statement, Station, error) {
	_, station, pub, err := r.station(sig)
	if err != nil {
		return nil, Station{}, err
	}
	st, err := seal.VerifyStatement(sig, pub)
	if err != nil {
		if errors.Is(err, seal.ErrRefused) {
			return nil, Station{}, refused("%v", err)
		}
		return nil, Station{}, err
	}
	return st, station, nil
}

// CheckUpload is the check made before a station starts sending: the
// signature file verifies with the key of a registered station and the
// announced size is the signed one. The ciphertext is checked as it
// arrives against the signed hash, and in full in Accept.
func (r *Receiver) CheckUpload(sig []byte, size int64) error {
	st, _, err := r.verifyStatement(sig)
	if err != nil {
		return err
	}
	if st.Size != size {
		return refused("%s v%d: передано %d байт, а подписано %d: отправьте пакет заново", st.Package, st.Version, size, st.Size)
	}
	return nil
}

// Accepted is the outcome of Accept.
type Accepted struct {
	Receipt  receipt.Receipt
	File     []byte // the signed receipt file
	Repeated bool   // the same package and version had already been accepted
}

var rePackageID = regexp.MustCompile(`^[0-9A-Za-z-]{1,64}$`)

// Source opens the ciphertext of a package from its start, as often as
// acceptance needs it: the package is read as it streams, never held
// whole, so a receiver's memory does not grow with the packages it takes.
type Source func(ctx context.Context) (io.ReadCloser, error)

// BytesSource is the Source of a ciphertext in memory.
func BytesSource(b []byte) Source {
	return func(context.Context) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
}

// Accept checks a sealed package and stores it. Refusals wrap ErrRefused;
// other errors are the receiver's own trouble (disk, keys) and say nothing
// about the package.
func (r *Receiver) Accept(ctx context.Context, sig, ciphertext []byte) (*Accepted, error) {
	return r.AcceptFrom(ctx, sig, BytesSource(ciphertext))
}

// AcceptFrom is Accept of a ciphertext read from src, in passes that each
// stream it: the signed hash, then decryption and the package's checks,
// then the copy into the store.
func (r *Receiver) AcceptFrom(ctx context.Context, sig []byte, src Source) (*Accepted, error) {
	// The signature is checked before decrypting: the receiver spends no
	// work on, and exposes no decryption to, packages no station vouches for.
	_, station, pub, err := r.station(sig)
	if err != nil {
		return nil, err
	}
	rd, err := src(ctx)
	if err != nil {
		return nil, err
	}
	st, err := seal.Verify(sig, rd, pub, seal.Info{})
	rd.Close()
	if err != nil {
		if errors.Is(err, seal.ErrRefused) {
			return nil, refused("%v", err)
		}
		return nil, err
	}
	return r.accept(ctx, sig, st, station, src)
}

// hashReader hashes what is read through it. It keeps the source's own
// read error apart, so the store failing is not taken for a bad package.
type hashReader struct {
	r   io.Reader
	h   hash.Hash
	n   int64
	err error
}

func newHashReader(r io.Reader) *hashReader { return &hashReader{r: r, h: sha256.New()} }

func (h *hashReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.h.Write(p[:n])
	h.n += int64(n)
	if err != nil && err != io.EOF {
		h.err = err
	}
	return n, err
}

// matches tells whether what was read is the signed ciphertext.
func (h *hashReader) matches(st *seal.Statement) bool {
	return h.n == st.Size && hex.EncodeToString(h.h.Sum(nil)) == st.Ciphertext
}

// accept checks and stores a package whose signature st was verified
// against its ciphertext's hash. The later passes hash the ciphertext
// again, so a source that changed in between is caught, not stored.
func (r *Receiver) accept(ctx context.Context, sig []byte, st *seal.Statement, station Station, src Source) (*Accepted, error) {
	rd, err := src(ctx)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	ct := newHashReader(io.LimitReader(rd, st.Size+1))
	dec, err := age.Decrypt(ct, r.keys.Identity)
	if ct.err != nil {
		return nil, fmt.Errorf("%s v%d: read ciphertext: %w", st.Package, st.Version, ct.err)
	}
	if err != nil {
		return nil, refused("%s v%d не расшифровывается ключом РЦОИ (%v): проверьте, что станция шифрует ключами этого РЦОИ, и соберите пакет заново", st.Package, st.Version, err)
	}
	p, err := pkg.Check(dec, MaxPackageSize)
	if err == nil {
		// The rest of the plaintext (the tar's padding): age authenticates
		// the last chunk only when it is read.
		_, err = io.Copy(io.Discard, io.LimitReader(dec, MaxPackageSize))
	}
	if ct.err != nil {
		return nil, fmt.Errorf("%s v%d: read ciphertext: %w", st.Package, st.Version, ct.err)
	}
	if err != nil {
		return nil, refused("%s v%d повреждён (%v): соберите пакет заново", st.Package, st.Version, err)
	}
	if _, err := io.Copy(io.Discard, ct); err != nil {
		return nil, fmt.Errorf("%s v%d: read ciphertext: %w", st.Package, st.Version, err)
	}
	if !ct.matches(st) {
		return nil, fmt.Errorf("%s v%d: the ciphertext changed while it was checked", st.Package, st.Version)
	}
	m := &p.Manifest
	switch {
	case m.Exam.PPE != station.PPE:
		return nil, refused("%s v%d — пакет ППЭ %s, а подписавшая его станция зарегистрирована для ППЭ %s: проверьте экзамен и регистрацию станции", st.Package, st.Version, m.Exam.PPE, station.PPE)
	case m.ID != st.Package || m.Version != st.Version || m.Station != st.Station:
		return nil, refused("the manifest is %s v%d of station %s, the signature is for %s v%d of station %s", m.ID, m.Version, m.Station, st.Package, st.Version, st.Station)
	case p.Hash() != st.Manifest:
		return nil, refused("%s v%d: manifest hash %s, the signature is for %s", st.Package, st.Version, p.Hash(), st.Manifest)
	case !rePackageID.MatchString(m.ID):
		return nil, refused("имя пакета %q не по формату: соберите пакет заново", m.ID)
	}
	rc := receipt.Receipt{
		PPE: station.PPE, Station: m.Station, Package: m.ID, Version: m.Version,
		Manifest: p.Hash(), Ciphertext: st.Ciphertext, Size: st.Size,
	}

	// One acceptance of a package at a time, across every receiver sharing
	// the store: the version check and the store must not race.
	unlock, err := r.coord.Lock(ctx, "package/"+station.PPE+"/"+m.ID)
	if err != nil {
		return nil, err
	}
	defer unlock()
	versions, err := r.versions(ctx, station.PPE, m.ID)
	if err != nil {
		return nil, err
	}
	highest := 0
	for v, prev := range versions {
		if v == m.Version && prev.Manifest == rc.Manifest {
			// The station did not get (or lost) the receipt: answer the
			// same one, so a resend never makes a second acceptance.
			file, err := r.store.Get(ctx, key(station.PPE, m.ID, v, "receipt"))
			if err != nil {
				return nil, err
			}
			return &Accepted{Receipt: prev, File: file, Repeated: true}, nil
		}
		highest = max(highest, v)
	}
	if m.Version <= highest {
		return nil, refused("%s v%d: версия %d уже принята с другим содержимым; повторная отправка должна иметь версию выше %d",
			m.ID, m.Version, m.Version, highest)
	}
	rc.Received = r.now().UTC().Truncate(time.Millisecond)
	file, err := receipt.Sign(rc, r.keys.ReceiptKey)
	if err != nil {
		return nil, err
	}
	rc.Receiver = seal.FormatPublicKey(r.ReceiptKey())
	// The receipt is written last: it is what marks the version accepted,
	// so a crash in between leaves files that count for nothing.
	if err := r.storeCiphertext(ctx, key(station.PPE, m.ID, m.Version, "tar.age"), st, src); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{"sig", sig}, {"manifest.json", p.ManifestBytes}, {"receipt", file}} {
		if err := r.store.Put(ctx, key(station.PPE, m.ID, m.Version, f.name), bytes.NewReader(f.data), int64(len(f.data))); err != nil {
			return nil, err
		}
	}
	return &Accepted{Receipt: rc, File: file}, nil
}

// storeCiphertext copies the ciphertext from src into the store under k,
// hashing it on the way: a copy that is not the checked ciphertext is
// an error before the receipt is written, so it counts for nothing.
func (r *Receiver) storeCiphertext(ctx context.Context, k string, st *seal.Statement, src Source) error {
	rd, err := src(ctx)
	if err != nil {
		return err
	}
	defer rd.Close()
	ct := newHashReader(io.LimitReader(rd, st.Size))
	if err := r.store.Put(ctx, k, ct, st.Size); err != nil {
		return err
	}
	if !ct.matches(st) {
		return fmt.Errorf("store %s: the ciphertext changed while it was stored", k)
	}
	return nil
}

// key is where a file of an accepted version lives: ppe/package/vN/name.
func key(ppe, id string, version int, name string) string {
	return fmt.Sprintf("%s/%s/v%d/%s", ppe, id, version, name)
}

// versions returns the accepted versions of a package.
func (r *Receiver) versions(ctx context.Context, ppe, id string) (map[int]receipt.Receipt, error) {
	keys, err := r.store.List(ctx, ppe+"/"+id+"/")
	if err != nil {
		return nil, err
	}
	out := map[int]receipt.Receipt{}
	for _, k := range keys {
		rc, err := r.readReceipt(ctx, k)
		if err != nil {
			return nil, err
		}
		if rc != nil {
			out[rc.Version] = *rc
		}
	}
	return out, nil
}

// readReceipt reads the receipt under k, or nil if k is not a receipt.
func (r *Receiver) readReceipt(ctx context.Context, k string) (*receipt.Receipt, error) {
	if !strings.HasSuffix(k, "/receipt") {
		return nil, nil
	}
	data, err := r.store.Get(ctx, k)
	if err != nil {
		return nil, err
	}
	rc, err := receipt.Verify(data, r.ReceiptKey())
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", k, err)
	}
	return rc, nil
}

// Receipt returns the signed receipt file of an accepted package version,
// or an error wrapping fs.ErrNotExist.
func (r *Receiver) Receipt(ctx context.Context, id string, version int) ([]byte, error) {
	// A package id names its ППЭ (level-region-ППЭ-…, see pkg.PackageID),
	// which is where the store keeps it.
	parts := strings.Split(id, "-")
	if !rePackageID.MatchString(id) || len(parts) < 3 {
		return nil, fmt.Errorf("package %q: %w", id, fs.ErrNotExist)
	}
	data, err := r.store.Get(ctx, key(parts[2], id, version, "receipt"))
	if err != nil {
		return nil, fmt.Errorf("receipt for %s v%d: %w", id, version, err)
	}
	return data, nil
}

// Reject is one line of the rejects log.
type Reject struct {
	Time    time.Time `json:"time"`
	Package string    `json:"package,omitempty"` // as the station claimed it, unverified
	Version int       `json:"version,omitempty"`
	Key     string    `json:"key,omitempty"` // the key the signature names, unverified
	Remote  string    `json:"remote,omitempty"`
	Reason  string    `json:"reason"`
}

// LogReject appends a refusal to the rejects log.
func (r *Receiver) LogReject(sig []byte, remote string, reason error) error {
	rj := Reject{Time: r.now().UTC(), Remote: remote, Reason: reason.Error()}
	if hint, err := statementHint(sig); err == nil {
		rj.Package, rj.Version, rj.Key = hint.Package, hint.Version, hint.Key
	}
	line, err := json.Marshal(rj)
	if err != nil {
		return fmt.Errorf("rejects log: %w", err)
	}
	// The log is shared by the receivers on this data folder: one writer
	// at a time, so two never rotate it at once.
	unlock, err := r.coord.Lock(context.Background(), "rejects")
	if err != nil {
		return fmt.Errorf("rejects log: %w", err)
	}
	defer unlock()
	path := filepath.Join(r.dir, RejectsFile)
	// Rotate: the log and one older generation, so a flood of refusals
	// keeps the latest ones and never fills the disk.
	limit := r.RejectsMax
	if limit <= 0 {
		limit = DefaultRejectsMax
	}
	if fi, err := os.Stat(path); err == nil && fi.Size()+int64(len(line))+1 > limit {
		if err := os.Rename(path, path+".1"); err != nil {
			return fmt.Errorf("rejects log: %w", err)
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("rejects log: %w", err)
	}
	_, err = f.Write(append(line, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("rejects log: %w", err)
	}
	return nil
}

// DefaultRejectsMax is the size at which the rejects log is rotated. With
// the one older generation kept, the log takes at most twice this.
const DefaultRejectsMax = 4 << 20

// Rejects reads the rejects log, the older generation first.
func Rejects(dir string) ([]Reject, error) {
	var data []byte
	for _, name := range []string{RejectsFile + ".1", RejectsFile} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("rejects log: %w", err)
		}
		data = append(data, b...)
	}
	var out []Reject
	for line := range strings.SplitSeq(strings.TrimSpace(string(data)), "\n") {
		if line == "" {
			continue
		}
		var rj Reject
		if err := json.Unmarshal([]byte(line), &rj); err != nil {
			return nil, fmt.Errorf("rejects log: %w", err)
		}
		out = append(out, rj)
	}
	return out, nil
}

// PPEStatus is what arrived from one ППЭ.
type PPEStatus struct {
	PPE      string            `json:"ppe"`
	Stations int               `json:"stations"` // registered keys
	Packages []receipt.Receipt `json:"packages"` // accepted versions, by package then version
	// Incidents is the number of incident acts (acts/incident-N.json) in
	// the ППЭ's newest closing set; nil before a closing set arrives.
	Incidents *int `json:"incidents,omitempty"`
	*Progress      // what is still missing, once the exam file is imported
}

// Status is the board of the РЦОИ: per ППЭ what arrived, and the refusals.
type Status struct {
	Now      time.Time   `json:"now"`
	Schedule             // when the packages are due, once an exam is imported
	PPE      []PPEStatus `json:"ppe"`
	Rejects  int         `json:"rejects"`
	// Recent are the latest refusals, newest first.
	Recent []Reject `json:"recent_rejects,omitempty"`
}

// recentRejects is how many refusals the status shows.
const recentRejects = 5

// Status reports what has been accepted, per ППЭ.
func (r *Receiver) Status(ctx context.Context) (*Status, error) {
	stations, err := LoadStations(r.dir)
	if err != nil {
		return nil, err
	}
	byPPE := map[string]*PPEStatus{}
	var order []string
	get := func(ppe string) *PPEStatus {
		if byPPE[ppe] == nil {
			byPPE[ppe] = &PPEStatus{PPE: ppe, Packages: []receipt.Receipt{}}
			order = append(order, ppe)
		}
		return byPPE[ppe]
	}
	for _, s := range stations {
		get(s.PPE).Stations++
	}
	keys, err := r.store.List(ctx, "")
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		rc, err := r.readReceipt(ctx, k)
		if err != nil {
			return nil, err
		}
		if rc != nil {
			ps := get(rc.PPE)
			ps.Packages = append(ps.Packages, *rc)
		}
	}
	rcs, err := r.latest(ctx)
	if err != nil {
		return nil, err
	}
	inc, err := r.incidents(ctx, rcs)
	if err != nil {
		return nil, err
	}
	for ppe, n := range inc {
		n := n
		get(ppe).Incidents = &n
	}
	st := &Status{Now: r.now().UTC()}
	slicesSortStrings(order)
	for _, ppe := range order {
		ps := byPPE[ppe]
		sortReceipts(ps.Packages)
		st.PPE = append(st.PPE, *ps)
	}
	rj, err := Rejects(r.dir)
	if err != nil {
		return nil, err
	}
	st.Rejects = len(rj)
	for i := len(rj) - 1; i >= 0 && len(st.Recent) < recentRejects; i-- {
		st.Recent = append(st.Recent, rj[i])
	}
	return st, r.addProgress(st)
}

func refused(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrRefused, fmt.Sprintf(format, a...))
}

func slicesSortStrings(s []string) { slices.Sort(s) }

func sortReceipts(rs []receipt.Receipt) {
	slices.SortFunc(rs, func(a, b receipt.Receipt) int {
		if c := strings.Compare(a.Package, b.Package); c != 0 {
			return c
		}
		return a.Version - b.Version
	})
}
