// Package packaging builds the packages a station sends to the РЦОИ from
// its store: one package per closed auditorium and one closing set per
// ППЭ, each sealed (encrypted to the РЦОИ and signed by the station) into
// the outbox of the data folder.
//
// Outbox layout, DATA/outbox/PPE/:
//
//	NAME.tar.age       ciphertext (transport/seal)
//	NAME.sig           station's signed statement
//	NAME.manifest.json the package's manifest.json, kept in the clear so
//	                   the station can tell what it sealed without keys
//
// NAME is the package id and version (pkg.Manifest.Name). A sealed version
// is never overwritten: a rebuild whose pages differ from the last sealed
// version gets the next version number; a rebuild with the same pages
// returns the sealed version as it is. The signature file is linked into
// place last, so a version without one is unfinished: readers ignore it,
// and the next build (or Recover, on start) removes its leftovers. A
// version whose manifest or ciphertext is not the one its signature names
// is damaged (ErrDamaged): it is not sent, and a build makes the next
// version.
//
// The ППЭ-15 protocol signs off the ППЭ summary manifest (see Summary):
// a JSON document listing, for every auditorium package of the ППЭ, its id,
// version and manifest hash. The QR key H of the printed protocol is the
// first 16 hex digits of the SHA-256 of that document's bytes.
package packaging

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"filippo.io/age"

	"giascan/atomicfile"
	"giascan/station/attach"
	"giascan/station/audit"
	"giascan/station/exam"
	"giascan/station/layout"
	"giascan/station/store"
	"giascan/transport/pkg"
	"giascan/transport/seal"
)

// OutboxDir is the folder of a ППЭ's sealed packages in a data folder.
func OutboxDir(data, ppe string) string { return layout.Dir(data).Outbox(ppe) }

// ManifestExt is the extension of the clear copy of a sealed manifest.
const ManifestExt = ".manifest.json"

// ErrNotClosed is wrapped when an auditorium is packaged before it is
// closed.
var ErrNotClosed = errors.New("аудитория не закрыта")

// Packager builds and seals packages from one store.
type Packager struct {
	Store   *store.Store
	Data    string  // data folder: keys, audit log, outbox
	Profile Profile // page images; Bilevel when empty
	// Station is the station id written into manifests; when empty it is
	// derived from the station's public key (StationID).
	Station string
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Sealed is one sealed package in the outbox.
type Sealed struct {
	Manifest     pkg.Manifest
	ManifestHash string
	Ciphertext   string // path
	Signature    string // path
	Size         int64  // ciphertext bytes
	// Reused is true when the build found the same pages already sealed
	// and made no new version.
	Reused bool
}

// StationID names a station by the fingerprint of its public key: unique,
// stable, and known to the РЦОИ, which registered that key.
func StationID(data string) (string, error) {
	pub, err := seal.LoadStationPublicKey(seal.KeyDir(data))
	if err != nil {
		return "", fmt.Errorf("ключ станции не создан: создайте его в настройках станции (%w)", err)
	}
	return "st-" + seal.Fingerprint(pub), nil
}

func (p *Packager) now() time.Time {
	if p.Now != nil {
		return p.Now().UTC()
	}
	return time.Now().UTC()
}

func (p *Packager) profile() Profile {
	if p.Profile == "" {
		return Bilevel
	}
	return p.Profile
}

// keys loads what sealing needs; refusing early, before any image work.
func (p *Packager) keys() (ed25519.PrivateKey, []age.Recipient, string, error) {
	dir := seal.KeyDir(p.Data)
	key, err := seal.LoadStationKey(dir)
	if err != nil {
		return nil, nil, "", fmt.Errorf("ключ станции не загружен: создайте его в настройках станции (%w)", err)
	}
	rcpt, _, err := seal.LoadRecipients(dir)
	if err != nil {
		return nil, nil, "", fmt.Errorf("ключи шифрования РЦОИ не загружены: загрузите файл ключей, выданный РЦОИ, в настройках станции (%w)", err)
	}
	id := p.Station
	if id == "" {
		id = "st-" + seal.Fingerprint(key.Public().(ed25519.PublicKey))
	}
	return key, rcpt, id, nil
}

// examContext turns the store's exam into a package's exam context.
func examContext(e *exam.Exam, ppe, auditorium string) pkg.Exam {
	return pkg.Exam{Level: e.Level, Region: e.Region, PPE: ppe, Auditorium: auditorium,
		Subject: e.Subject, Date: strings.ReplaceAll(e.Date, "-", "")}
}

// Auditorium builds and seals the package of a closed auditorium.
func (p *Packager) Auditorium(place store.Place) (*Sealed, error) {
	e, err := p.Store.Exam()
	if err != nil {
		return nil, err
	}
	closures, err := p.Store.Closures()
	if err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(closures, func(c store.Closure) bool { return c.Place == place }) {
		return nil, fmt.Errorf("%w: аудитория %s ППЭ %s ещё открыта; закройте её, и пакет запечатается", ErrNotClosed, place.Auditorium, place.PPE)
	}
	key, rcpt, station, err := p.keys()
	if err != nil {
		return nil, err
	}
	pages, err := p.Store.Pages(place)
	if err != nil {
		return nil, err
	}
	x, err := audit.ReadExcerpt(p.Data, audit.Filter{PPE: place.PPE, Auditorium: place.Auditorium, Station: true})
	if err != nil {
		return nil, fmt.Errorf("выписка журнала аудита не составлена: %w", err)
	}
	reviews := reviewsOf(x)
	ex := examContext(e, place.PPE, place.Auditorium)
	b, err := p.newBuilder(ex, station)
	if err != nil {
		return nil, err
	}
	for _, pg := range pages {
		if pg.Status != store.Active {
			continue
		}
		if err := p.addPage(b, pg, pg.Seq, reviews[pg.Seq]); err != nil {
			return nil, err
		}
	}
	if err := addJSON(b.AddAudit, "audit.json", x); err != nil {
		return nil, err
	}
	if err := p.addAttachments(b, place); err != nil {
		return nil, err
	}
	return p.seal(b, key, rcpt, station)
}

// addAttachments adds an auditorium's КЕГЭ answer files and oral-answer
// audio with their index (see station/attach and docs/package.md). The
// files stream from the data folder into the package.
func (p *Packager) addAttachments(b *pkg.Builder, place store.Place) error {
	dir := attach.FolderOf(p.Data, place.PPE, place.Auditorium)
	x, err := dir.Load()
	if err != nil || len(x.Files) == 0 {
		return err
	}
	idx := AttachmentIndex{Files: []AttachmentEntry{}}
	for _, f := range x.Files {
		if err := b.AddAttachmentFile(f.PackagePath(), dir.Path(f)); err != nil {
			return fmt.Errorf("файл %s комплекта %s аудитории %s не добавлен в пакет: %w; загрузите его заново", f.Original, f.Kit, place.Auditorium, err)
		}
		idx.Files = append(idx.Files, AttachmentEntry{File: f.PackagePath(), Kit: f.Kit, Kind: f.Kind, Size: f.Size, SHA256: f.SHA256, Seconds: f.Seconds})
	}
	return addJSON(b.AddAttachment, pkg.AttachmentIndex, idx)
}

// AttachmentIndex is attachments/index.json of an auditorium's package.
type AttachmentIndex struct {
	Files []AttachmentEntry `json:"files"`
}

// AttachmentEntry is one file of AttachmentIndex.
type AttachmentEntry struct {
	File   string `json:"file"` // its name in the package
	Kit    string `json:"kit"`
	Kind   string `json:"kind"` // kege or audio
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// Seconds is an audio file's duration.
	Seconds float64 `json:"duration_seconds,omitempty"`
}

// newBuilder starts a package with the next free version number.
func (p *Packager) newBuilder(ex pkg.Exam, station string) (*pkg.Builder, error) {
	id := pkg.PackageID(ex)
	last, err := Versions(p.Data, ex.PPE, id)
	if err != nil {
		return nil, err
	}
	v := 1
	if len(last) > 0 {
		v = last[len(last)-1] + 1
	}
	return pkg.NewBuilder(pkg.Manifest{Format: pkg.FormatVersion, Exam: ex, Station: station, ID: id, Version: v, Created: p.now()}), nil
}

// addPage re-encodes a stored page in the packager's profile and adds it
// with its record.
func (p *Packager) addPage(b *pkg.Builder, pg store.Page, seq int, reviewed []pkg.Review) error {
	data, err := p.Store.Image(pg)
	if err != nil {
		return fmt.Errorf("страница %d аудитории %s: %w", pg.Seq, pg.Auditorium, err)
	}
	prof := p.profile()
	img, err := Encode(data, pg.File, pg.DPI, prof)
	if err != nil {
		return fmt.Errorf("страница %d аудитории %s не перекодирована: %w; отсканируйте её заново", pg.Seq, pg.Auditorium, err)
	}
	rec := pkg.Page{Seq: seq, File: fmt.Sprintf("page-%04d%s", seq, prof.Ext()), Reviewed: reviewed}
	if r := pg.Result; r != nil {
		rec.Type, rec.Barcode, rec.Kit = r.Type, r.Barcode, r.Context.Kit
		if r.Context.Sheet != nil {
			rec.Sheet = *r.Context.Sheet
		}
		rec.Flags = slices.Clone(r.Flags)
		if rec.Recognition, err = json.Marshal(r); err != nil {
			return fmt.Errorf("страница %d: %w", pg.Seq, err)
		}
	}
	return b.AddPage(rec, bytes.NewReader(img))
}

// addJSON adds v as an indented JSON file.
func addJSON(add func(string, io.Reader) error, name string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return add(name, bytes.NewReader(append(data, '\n')))
}

// reviewsOf collects, by page seq, the values people confirmed or
// corrected, with who and when, from an auditorium's audit excerpt.
func reviewsOf(x *audit.Excerpt) map[int][]pkg.Review {
	out := map[int][]pkg.Review{}
	for _, e := range x.Entries {
		if e.Action != audit.ActionReviewConfirm && e.Action != audit.ActionReviewCorrect {
			continue
		}
		var v map[string]string
		if json.Unmarshal(e.After, &v) != nil || v["field"] == "" {
			continue
		}
		out[e.Subject.Page] = append(out[e.Subject.Page], pkg.Review{Field: v["field"], Value: v["value"], By: e.Actor, At: e.Time})
	}
	return out
}

// seal writes the package, seals it and links it into the outbox, unless
// the last sealed version has the same pages.
func (p *Packager) seal(b *pkg.Builder, key ed25519.PrivateKey, rcpt []age.Recipient, station string) (*Sealed, error) {
	m := b.Manifest()
	if prev, err := Latest(p.Data, m.Exam.PPE, m.ID); err != nil {
		return nil, err
	} else if prev != nil && samePages(prev.Manifest, m) {
		prev.Reused = true
		return prev, nil
	}
	dir := OutboxDir(p.Data, m.Exam.PPE)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("папка исходящих пакетов %s не создана: %w", dir, err)
	}
	// The tar goes through a temporary file, not memory: an auditorium's
	// audio may be gigabytes. Its name is atomicfile's temporary one, so a
	// crash leaves nothing that Recover does not remove.
	tmp, err := os.CreateTemp(dir, atomicfile.TempPrefix+"package-*.tar")
	if err != nil {
		return nil, fmt.Errorf("временный файл пакета не создан: %w; проверьте место на диске", err)
	}
	defer func() { tmp.Close(); os.Remove(tmp.Name()) }()
	hash, err := b.Write(tmp)
	if err != nil {
		return nil, fmt.Errorf("пакет не собран: %w", err)
	}
	size, err := tmp.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, fmt.Errorf("пакет не собран: %w", err)
	}
	rewind := func() error { _, err := tmp.Seek(0, io.SeekStart); return err }
	var mbuf bytes.Buffer
	{
		if err := rewind(); err != nil {
			return nil, fmt.Errorf("собранный пакет не читается: %w", err)
		}
		pk, err := pkg.Check(tmp, size)
		if err != nil {
			return nil, fmt.Errorf("собранный пакет не читается: %w", err)
		}
		mbuf.Write(pk.ManifestBytes)
	}
	if err := rewind(); err != nil {
		return nil, fmt.Errorf("собранный пакет не читается: %w", err)
	}
	base := filepath.Join(dir, m.Name())
	// This version number is past every signed one, so whatever lies under
	// it is what a build killed before signing left: nobody read it.
	if _, err := removeUnfinished(base); err != nil {
		return nil, err
	}
	// Ciphertext and manifest first, signature last: a reader takes a
	// package as sealed only once its .sig exists. The ciphertext is
	// encrypted straight into its file.
	var sig []byte
	err = atomicfile.WriteNew(base+seal.CiphertextExt, 0o640, func(w io.Writer) error {
		var err error
		sig, err = seal.Seal(w, tmp, rcpt, key, seal.Info{Station: station, Package: m.ID, Version: m.Version, ManifestHash: hash})
		return err
	})
	var ct os.FileInfo
	if err == nil {
		ct, err = os.Stat(base + seal.CiphertextExt)
	}
	if err != nil {
		return nil, fmt.Errorf("пакет %s не зашифрован и не записан в папку исходящих: %w; проверьте место на диске и соберите пакет заново", m.Name(), err)
	}
	ctSize := ct.Size()
	for _, f := range []struct {
		path string
		data []byte
	}{{base + ManifestExt, mbuf.Bytes()}, {base + seal.SignatureExt, sig}} {
		err := atomicfile.WriteNew(f.path, 0o640, func(w io.Writer) error { _, err := w.Write(f.data); return err })
		if err != nil {
			return nil, fmt.Errorf("пакет %s не записан в папку исходящих: %w; проверьте место на диске и соберите пакет заново", m.Name(), err)
		}
	}
	return &Sealed{Manifest: m, ManifestHash: hash, Ciphertext: base + seal.CiphertextExt, Signature: base + seal.SignatureExt, Size: ctSize}, nil
}

// samePages tells whether two manifests hold the same page images with
// the same records: then a rebuild adds nothing the РЦОИ lacks.
func samePages(a, b pkg.Manifest) bool {
	// A manifest read back lists no pages as [], one being built as nil.
	ja, _ := json.Marshal(append([]pkg.Page{}, a.Pages...))
	jb, _ := json.Marshal(append([]pkg.Page{}, b.Pages...))
	ka, _ := json.Marshal([][]pkg.File{append([]pkg.File{}, a.Attachments...), append([]pkg.File{}, a.Acts...)})
	kb, _ := json.Marshal([][]pkg.File{append([]pkg.File{}, b.Attachments...), append([]pkg.File{}, b.Acts...)})
	if !bytes.Equal(ja, jb) || !bytes.Equal(ka, kb) || len(a.Protocols) != len(b.Protocols) {
		return false
	}
	for i := range a.Protocols {
		// The summary and protocol files are content, the audit is not:
		// it grows with every command and would make every rebuild new.
		if a.Protocols[i] != b.Protocols[i] {
			return false
		}
	}
	// Acts are content too: a new or signed act makes a new version.
	return slices.Equal(a.Acts, b.Acts)
}

var reName = regexp.MustCompile(`^(.+)-v([0-9]+)` + regexp.QuoteMeta(seal.SignatureExt) + `$`)

// Versions lists the sealed versions of package id in a ППЭ's outbox,
// ascending. Only versions with a signature file count.
func Versions(data, ppe, id string) ([]int, error) {
	ents, err := os.ReadDir(OutboxDir(data, ppe))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("папка исходящих пакетов не читается: %w", err)
	}
	var out []int
	for _, e := range ents {
		m := reName.FindStringSubmatch(e.Name())
		if m == nil || m[1] != id {
			continue
		}
		if v, err := strconv.Atoi(m[2]); err == nil {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return out, nil
}

// Latest returns the newest sealed version of package id, or nil when
// there is none or the newest one is damaged (see ErrDamaged): a build
// then makes the next version rather than reuse it.
func Latest(data, ppe, id string) (*Sealed, error) {
	vs, err := Versions(data, ppe, id)
	if err != nil || len(vs) == 0 {
		return nil, err
	}
	s, err := load(data, ppe, fmt.Sprintf("%s-v%d", id, vs[len(vs)-1]))
	if errors.Is(err, ErrDamaged) {
		return nil, nil
	}
	return s, err
}

// ErrDamaged is wrapped when a sealed version's files do not match what
// its signature names: a ciphertext cut short by a crash or a failing
// disk, or a manifest that is not the one sealed. Such a version is not
// sent or exported; building the package again makes the next version.
var ErrDamaged = errors.New("пакет повреждён")

// load reads a sealed version and checks, cheaply, that its files are the
// ones its signature names: the manifest's hash and the ciphertext's size.
// Verify checks the ciphertext's bytes too.
func load(data, ppe, name string) (*Sealed, error) {
	base := filepath.Join(OutboxDir(data, ppe), name)
	s := &Sealed{Ciphertext: base + seal.CiphertextExt, Signature: base + seal.SignatureExt}
	sig, err := os.ReadFile(s.Signature)
	if err != nil {
		return nil, fmt.Errorf("подпись пакета %s не читается: %w", name, err)
	}
	st, err := statement(sig)
	if err != nil {
		return nil, damaged(name, "подпись испорчена")
	}
	mb, err := os.ReadFile(base + ManifestExt)
	if errors.Is(err, os.ErrNotExist) {
		return nil, damaged(name, "манифест пропал")
	}
	if err != nil {
		return nil, fmt.Errorf("манифест пакета %s не читается: %w", name, err)
	}
	s.ManifestHash = pkg.ManifestHash(mb)
	if err := json.Unmarshal(mb, &s.Manifest); err != nil || s.ManifestHash != st.Manifest || s.Manifest.Name() != name {
		return nil, damaged(name, "манифест не тот, что подписан")
	}
	fi, err := os.Stat(s.Ciphertext)
	if errors.Is(err, os.ErrNotExist) {
		return nil, damaged(name, "зашифрованный файл пропал")
	}
	if err != nil {
		return nil, fmt.Errorf("пакет %s: %w", name, err)
	}
	if s.Size = fi.Size(); s.Size != st.Size {
		return nil, damaged(name, fmt.Sprintf("зашифрованный файл занимает %d байт, а подписано %d", s.Size, st.Size))
	}
	return s, nil
}

// Verify checks a sealed version in full: its signature, by the key it
// names, over the manifest hash and over the ciphertext's SHA-256 and
// size. A mismatch wraps ErrDamaged.
func Verify(s *Sealed) error {
	name := s.Manifest.Name()
	sig, err := os.ReadFile(s.Signature)
	if err != nil {
		return fmt.Errorf("подпись пакета %s не читается: %w", name, err)
	}
	st, err := statement(sig)
	if err != nil {
		return damaged(name, "подпись испорчена")
	}
	key, err := seal.ParsePublicKey(st.Key)
	if err != nil {
		return damaged(name, "подпись испорчена")
	}
	f, err := os.Open(s.Ciphertext)
	if err != nil {
		return fmt.Errorf("пакет %s не читается: %w", name, err)
	}
	defer f.Close()
	_, err = seal.Verify(sig, f, key, seal.Info{Package: s.Manifest.ID, Version: s.Manifest.Version, ManifestHash: s.ManifestHash})
	if errors.Is(err, seal.ErrRefused) {
		return damaged(name, "зашифрованный файл или подпись не совпадают с подписанным")
	}
	if err != nil {
		return fmt.Errorf("пакет %s не проверен: %w", name, err)
	}
	return nil
}

// statement reads the signed statement of a signature file without
// checking the signature: enough to compare the files against it.
func statement(sig []byte) (*seal.Statement, error) {
	lines := strings.Split(string(sig), "\n")
	if len(lines) != 4 {
		return nil, errors.New("not a signature file")
	}
	var st seal.Statement
	if err := json.Unmarshal([]byte(lines[1]), &st); err != nil {
		return nil, err
	}
	return &st, nil
}

func damaged(name, why string) error {
	return fmt.Errorf("%w: %s — %s; соберите этот пакет заново: получится следующая версия", ErrDamaged, name, why)
}

// List returns the newest sealed version of every package of a ППЭ, by id.
// Unfinished versions (no signature) are not seen; a package whose newest
// version is damaged is left out until it is built again.
func List(data, ppe string) ([]*Sealed, error) {
	ents, err := os.ReadDir(OutboxDir(data, ppe))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("папка исходящих пакетов не читается: %w", err)
	}
	newest := map[string]int{}
	for _, e := range ents {
		if m := reName.FindStringSubmatch(e.Name()); m != nil {
			v, _ := strconv.Atoi(m[2])
			newest[m[1]] = max(newest[m[1]], v)
		}
	}
	ids := make([]string, 0, len(newest))
	for id := range newest {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var out []*Sealed
	for _, id := range ids {
		s, err := load(data, ppe, fmt.Sprintf("%s-v%d", id, newest[id]))
		if errors.Is(err, ErrDamaged) {
			// Not an older version in its place: the РЦОИ may hold the
			// newer one. Recover reports it; a build replaces it.
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// SHA256 returns the hex SHA-256 of data.
func SHA256(data []byte) string {
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}
