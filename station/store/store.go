// Package store keeps the station's durable scan state in its data folder:
// the imported exam and every scanned page, per ППЭ and auditorium, with
// its image, where it came from and, once ready, what was recognised on it.
//
// # Layout of the data folder
//
//	DIR/store.db                      bbolt index: exam, page records, scan session
//	DIR/pages/PPE/AUD/000123.jpg      image of page 123 of an auditorium as scanned
//	DIR/pages/PPE/AUD/000123-r1.jpg   the same page rescanned in place (revision 1)
//	DIR/orphans/                      images found without a record after a crash
//
// store.db is a file of its own, apart from station.db, because a scan keeps
// it open (and locked) for its whole run while `station print` opens
// station.db for each short transaction.
//
// # Durability
//
// A page is written in this order: image bytes to a temporary file in the
// auditorium's folder, fsync, rename to its final name, fsync of the folder,
// then its record is committed to store.db (bbolt fsyncs on commit). Only a
// page with a committed record exists for the rest of the station: it is
// counted, shown and printed. A crash anywhere before the commit leaves at
// most a temporary file or an image without a record; Open removes the
// first and moves the second to DIR/orphans, so neither is ever shown. A
// record whose image is missing or no longer matches its SHA-256 is never
// dropped: Open reports it as damage.
package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"giascan/atomicfile"
	"giascan/forms"
	"giascan/hardware"
	"giascan/station/exam"
	"giascan/station/layout"
)

// Names inside the data folder.
const (
	DBName     = layout.StoreDB
	PagesDir   = layout.PagesDir
	OrphansDir = layout.OrphansDir
	tempPrefix = atomicfile.TempPrefix
)

// lockTimeout bounds the wait for another process holding store.db: a
// scan holds it for its whole run, so waiting longer would only hang.
var lockTimeout = 2 * time.Second

// Status of a page record.
type Status string

// Page statuses.
const (
	Active   Status = "active"   // the page counts
	Deleted  Status = "deleted"  // removed by an operator; kept for the record
	Replaced Status = "replaced" // an earlier image of a page scanned again in place
)

// Place names an auditorium of a ППЭ.
type Place struct {
	PPE        string `json:"ppe"`
	Auditorium string `json:"auditorium"`
}

func (p Place) String() string { return p.PPE + "/" + p.Auditorium }

// key is the place's bucket name.
func (p Place) key() []byte { return []byte(p.PPE + "/" + p.Auditorium) }

// Ref names one page: its place and its sequence number there.
type Ref struct {
	Place
	Seq int `json:"seq"`
}

func (r Ref) String() string { return fmt.Sprintf("%s/%d", r.Place, r.Seq) }

// Version is one image of a page: the current one, or one it replaced.
type Version struct {
	SHA256 string    `json:"sha256"`
	File   string    `json:"file"` // relative to the data folder, with forward slashes
	Format string    `json:"format"`
	DPI    int       `json:"dpi"`
	Side   string    `json:"side,omitempty"`
	Time   time.Time `json:"time"`
	Device string    `json:"device"`
	Source string    `json:"source,omitempty"` // the file name the device suggested
	Status Status    `json:"status"`
}

// Page is the record of one scanned page.
type Page struct {
	Ref
	Version
	// Rev counts rescans in place: 0 for the first scan.
	Rev int `json:"rev"`
	// History holds the earlier images of a page scanned again, oldest
	// first, each with status Replaced.
	History []Version `json:"history,omitempty"`
	// Result is what the recognizer read on the current image; nil until
	// it is ready.
	Result *forms.PageResult `json:"result,omitempty"`
	// Reason is the operator's reason for a deletion.
	Reason string `json:"reason,omitempty"`
}

// Damage is a record whose image cannot be trusted any more.
type Damage struct {
	Ref
	File    string
	Problem string // in Russian, for the operator
}

func (d Damage) String() string {
	return fmt.Sprintf("страница %d аудитории %s ППЭ %s (%s): %s", d.Seq, d.Auditorium, d.PPE, d.File, d.Problem)
}

// Recovery is what Open found and did.
type Recovery struct {
	TempsRemoved []string // temporary files of writes that never finished
	Orphans      []string // images without a record, moved to DIR/orphans (new paths)
	Damaged      []Damage // records whose image is missing or changed
}

// Store is the open scan store of a data folder. Its methods are safe for
// concurrent use. One process at a time holds a store.
type Store struct {
	dir string
	db  *bolt.DB
	fs  fileSystem

	addMu sync.Mutex // serialises writes of images so sequence numbers follow feeding order

	mu       sync.Mutex
	recovery Recovery
}

// Buckets of store.db.
var (
	bucketMeta   = []byte("meta")
	bucketPlaces = []byte("places") // one nested bucket per place, holding bucketPages and bucketSHA
	bucketPages  = []byte("pages")  // seq (big-endian uint32) → Page JSON
	bucketSHA    = []byte("sha")    // sha256 hex of the current image of an active page → seq
	keyExam      = []byte("exam")
	keySession   = []byte("session")
)

// Exists tells whether dir holds a store, without creating anything.
func Exists(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, DBName))
	return err == nil
}

// Open opens the store of data folder dir, creating the folder and the
// store when missing, and recovers from a crash: see the package comment.
// What it found is in Recovery.
func Open(dir string) (*Store, error) {
	return open(dir, osFS{})
}

func open(dir string, fsys fileSystem) (*Store, error) {
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return nil, fmt.Errorf("папка данных %s — это файл, а не папка: укажите папку данных", dir)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, classify("папка данных "+dir, err)
	}
	path := filepath.Join(dir, DBName)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("%w (%s)", ErrBusy, path)
	}
	if err != nil {
		return nil, classify("открыть "+path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketMeta, bucketPlaces} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, classify("подготовить "+path, err)
	}
	s := &Store{dir: dir, db: db, fs: fsys}
	if err := s.recover(); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the store. Everything a method reported as done is on disk.
func (s *Store) Close() error {
	s.addMu.Lock()
	defer s.addMu.Unlock()
	return s.db.Close()
}

// Dir returns the data folder.
func (s *Store) Dir() string { return s.dir }

// Recovery returns what Open found after a crash.
func (s *Store) Recovery() Recovery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.recovery
}

// Path returns the absolute-or-relative path of a file named in a record.
func (s *Store) Path(file string) string { return filepath.Join(s.dir, filepath.FromSlash(file)) }

// SetExam stores the exam, replacing one imported before. The exam is
// checked by the rules of its file first.
func (s *Store) SetExam(e *exam.Exam) error {
	if err := e.Validate(); err != nil {
		return err
	}
	data, err := e.Marshal()
	if err != nil {
		return err
	}
	err = s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keyExam, data) })
	return classify("записать экзамен", err)
}

// Exam returns the imported exam, or ErrNoExam.
func (s *Store) Exam() (*exam.Exam, error) {
	var data []byte
	s.db.View(func(tx *bolt.Tx) error {
		data = bytes.Clone(tx.Bucket(bucketMeta).Get(keyExam))
		return nil
	})
	if data == nil {
		return nil, ErrNoExam
	}
	e, err := exam.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("импортированный экзамен повреждён, импортируйте файл экзамена заново: %w", err)
	}
	return e, nil
}

// Session is a scan session on record while it runs, so that a session cut
// short by a crash is known at the next start.
type Session struct {
	ID      string    `json:"id"`
	Place   Place     `json:"place"`
	Device  string    `json:"device"`
	Started time.Time `json:"started"`
}

// BeginSession records s as the running session and returns the one that
// was on record before (a session that never ended), if any.
func (s *Store) BeginSession(sess Session) (prev *Session, err error) {
	data, err := json.Marshal(sess)
	if err != nil {
		return nil, err
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		if old := m.Get(keySession); old != nil {
			var p Session
			if json.Unmarshal(old, &p) == nil {
				prev = &p
			}
		}
		return m.Put(keySession, data)
	})
	return prev, classify("записать начало сеанса", err)
}

// EndSession clears the running session.
func (s *Store) EndSession() error {
	err := s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Delete(keySession) })
	return classify("записать конец сеанса", err)
}

func seqKey(seq int) []byte {
	var k [4]byte
	binary.BigEndian.PutUint32(k[:], uint32(seq))
	return k[:]
}

// extOf is the file name ending of an image format.
func extOf(format string) string {
	switch strings.ToLower(format) {
	case "jpeg", "jpg":
		return "jpg"
	case "tiff", "tif":
		return "tif"
	case "png":
		return "png"
	case "pdf":
		return "pdf"
	}
	return "img"
}

// fileName is the image file of a page revision, relative to the data
// folder with forward slashes.
func fileName(r Ref, rev int, format string) string {
	name := fmt.Sprintf("%06d.%s", r.Seq, extOf(format))
	if rev > 0 {
		name = fmt.Sprintf("%06d-r%d.%s", r.Seq, rev, extOf(format))
	}
	return strings.Join([]string{PagesDir, r.PPE, r.Auditorium, name}, "/")
}

// checkPlace refuses a place whose codes could escape the pages folder.
func checkPlace(p Place) error {
	ok := func(s string) bool { return len(s) == 4 && strings.Trim(s, "0123456789") == "" }
	if !ok(p.PPE) || !ok(p.Auditorium) {
		return fmt.Errorf("ППЭ %q, аудитория %q: нужны коды из 4 цифр", p.PPE, p.Auditorium)
	}
	return nil
}

// Add stores a newly scanned page of a place as its next page and returns
// its record once the page is durable. A page whose image is byte for byte
// that of an active page of the place (the same stack fed again after a
// crash, the same file imported twice) is not stored again: Add returns
// that page's record and dup true.
func (s *Store) Add(ctx context.Context, place Place, p hardware.Page, device string) (rec Page, dup bool, err error) {
	if err := checkPlace(place); err != nil {
		return Page{}, false, err
	}
	if len(p.Data) == 0 {
		return Page{}, false, errors.New("устройство передало пустую страницу")
	}
	sum := sha256.Sum256(p.Data)
	sha := hex.EncodeToString(sum[:])
	s.addMu.Lock()
	defer s.addMu.Unlock()
	if err := ctx.Err(); err != nil {
		return Page{}, false, err
	}
	next := 1
	err = s.db.View(func(tx *bolt.Tx) error {
		if err := openTx(tx, place); err != nil {
			return err
		}
		b := tx.Bucket(bucketPlaces).Bucket(place.key())
		if b == nil {
			return nil
		}
		if v := b.Bucket(bucketSHA).Get([]byte(sha)); v != nil {
			dup = true
			return json.Unmarshal(b.Bucket(bucketPages).Get(v), &rec)
		}
		if k, _ := b.Bucket(bucketPages).Cursor().Last(); k != nil {
			next = int(binary.BigEndian.Uint32(k)) + 1
		}
		return nil
	})
	if err != nil || dup {
		return rec, dup, err
	}
	ref := Ref{Place: place, Seq: next}
	rec = Page{Ref: ref, Version: Version{
		SHA256: sha, File: fileName(ref, 0, p.Format), Format: p.Format, DPI: p.DPI, Side: p.Side,
		Time: time.Now().UTC(), Device: device, Source: p.Name, Status: Active,
	}}
	if err := s.writeImage(rec.File, p.Data); err != nil {
		return Page{}, false, err
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		// Checked again in the transaction that adds the page: a closing
		// committed while the image was written wins, and the page is
		// not stored.
		if err := openTx(tx, place); err != nil {
			return err
		}
		b, err := placeBucket(tx, place)
		if err != nil {
			return err
		}
		return putPage(b, rec, "")
	})
	if err != nil {
		s.unwrite(rec.File)
		if isClosed(err) {
			return Page{}, false, err
		}
		return Page{}, false, classify(fmt.Sprintf("записать страницу %d", ref.Seq), err)
	}
	return rec, false, nil
}

// Replace stores a new image of page ref in place (a rescan): the page
// keeps its sequence number, the old image stays on disk and in History,
// and the recognition result is cleared until the new image is read.
func (s *Store) Replace(ctx context.Context, ref Ref, p hardware.Page, device string) (Page, error) {
	if len(p.Data) == 0 {
		return Page{}, errors.New("устройство передало пустую страницу")
	}
	s.addMu.Lock()
	defer s.addMu.Unlock()
	if err := ctx.Err(); err != nil {
		return Page{}, err
	}
	if err := s.db.View(func(tx *bolt.Tx) error { return openTx(tx, ref.Place) }); err != nil {
		return Page{}, err
	}
	old, err := s.Page(ref)
	if err != nil {
		return Page{}, err
	}
	if old.Status != Active {
		return Page{}, fmt.Errorf("страница %d удалена: её нельзя пересканировать", ref.Seq)
	}
	sum := sha256.Sum256(p.Data)
	rec := old
	prev := old.Version
	prev.Status = Replaced
	rec.History = append(append([]Version(nil), old.History...), prev)
	rec.Rev = old.Rev + 1
	rec.Result = nil
	rec.Version = Version{
		SHA256: hex.EncodeToString(sum[:]), File: fileName(ref, rec.Rev, p.Format), Format: p.Format,
		DPI: p.DPI, Side: p.Side, Time: time.Now().UTC(), Device: device, Source: p.Name, Status: Active,
	}
	if err := s.writeImage(rec.File, p.Data); err != nil {
		return Page{}, err
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		if err := openTx(tx, ref.Place); err != nil {
			return err
		}
		b, err := placeBucket(tx, ref.Place)
		if err != nil {
			return err
		}
		return putPage(b, rec, old.SHA256)
	})
	if err != nil {
		s.unwrite(rec.File)
		if isClosed(err) {
			return Page{}, err
		}
		return Page{}, classify(fmt.Sprintf("записать новое изображение страницы %d", ref.Seq), err)
	}
	return rec, nil
}

// Delete marks a page deleted with the operator's reason; its image and
// record stay for the record but it no longer counts.
func (s *Store) Delete(ref Ref, reason string) (Page, error) {
	s.addMu.Lock()
	defer s.addMu.Unlock()
	var rec Page
	err := s.db.Update(func(tx *bolt.Tx) error {
		if err := openTx(tx, ref.Place); err != nil {
			return err
		}
		b := tx.Bucket(bucketPlaces).Bucket(ref.key())
		if b == nil {
			return ErrNotFound
		}
		v := b.Bucket(bucketPages).Get(seqKey(ref.Seq))
		if v == nil {
			return ErrNotFound
		}
		if err := json.Unmarshal(v, &rec); err != nil {
			return err
		}
		old := rec.SHA256
		rec.Status, rec.Reason = Deleted, reason
		return putPage(b, rec, old)
	})
	return rec, err
}

// SetResult stores the recognition result of revision rev of a page. A
// result for an image that was replaced meanwhile is dropped: it reads a
// sheet that is no longer the page's.
func (s *Store) SetResult(ref Ref, rev int, res forms.PageResult) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		if err := openTx(tx, ref.Place); err != nil {
			return err
		}
		b := tx.Bucket(bucketPlaces).Bucket(ref.key())
		if b == nil {
			return ErrNotFound
		}
		v := b.Bucket(bucketPages).Get(seqKey(ref.Seq))
		if v == nil {
			return ErrNotFound
		}
		var rec Page
		if err := json.Unmarshal(v, &rec); err != nil {
			return err
		}
		if rec.Rev != rev {
			return nil
		}
		rec.Result = &res
		return putPage(b, rec, rec.SHA256)
	})
	return classify(fmt.Sprintf("записать результат распознавания страницы %d", ref.Seq), err)
}

func placeBucket(tx *bolt.Tx, place Place) (*bolt.Bucket, error) {
	b, err := tx.Bucket(bucketPlaces).CreateBucketIfNotExists(place.key())
	if err != nil {
		return nil, err
	}
	for _, name := range [][]byte{bucketPages, bucketSHA} {
		if _, err := b.CreateBucketIfNotExists(name); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// putPage writes a record and keeps the SHA-256 index of active pages in
// step; oldSHA is the image the record had before, "" for a new page.
func putPage(b *bolt.Bucket, rec Page, oldSHA string) error {
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	idx := b.Bucket(bucketSHA)
	if oldSHA != "" && (oldSHA != rec.SHA256 || rec.Status != Active) {
		if err := idx.Delete([]byte(oldSHA)); err != nil {
			return err
		}
	}
	if rec.Status == Active {
		if err := idx.Put([]byte(rec.SHA256), seqKey(rec.Seq)); err != nil {
			return err
		}
	}
	return b.Bucket(bucketPages).Put(seqKey(rec.Seq), data)
}

// writeImage makes an image durable under its final name: temporary file,
// fsync, rename, fsync of the folder. On failure nothing is left behind.
func (s *Store) writeImage(file string, data []byte) error {
	path := s.Path(file)
	dir := filepath.Dir(path)
	if err := s.fs.MkdirAll(dir); err != nil {
		return classify("папка "+dir, err)
	}
	f, err := s.fs.CreateTemp(dir, tempPrefix+"*")
	if err != nil {
		return classify("временный файл в "+dir, err)
	}
	tmp := f.Name()
	fail := func(what string, err error) error {
		f.Close()
		s.fs.Remove(tmp)
		return classify(what+" "+path, err)
	}
	if _, err := f.Write(data); err != nil {
		return fail("записать", err)
	}
	if err := f.Sync(); err != nil {
		return fail("сбросить на диск", err)
	}
	if err := f.Close(); err != nil {
		s.fs.Remove(tmp)
		return classify("закрыть "+tmp, err)
	}
	if err := s.fs.Rename(tmp, path); err != nil {
		s.fs.Remove(tmp)
		return classify("переименовать в "+path, err)
	}
	if err := s.fs.SyncDir(dir); err != nil {
		s.unwrite(file)
		return classify("сбросить на диск папку "+dir, err)
	}
	return nil
}

// unwrite removes an image whose record could not be committed. If even
// that fails, the next Open moves it to the orphans.
func (s *Store) unwrite(file string) {
	path := s.Path(file)
	if s.fs.Remove(path) == nil {
		s.fs.SyncDir(filepath.Dir(path))
	}
}

// Page returns the record of one page.
func (s *Store) Page(ref Ref) (Page, error) {
	var rec Page
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketPlaces).Bucket(ref.key())
		if b == nil {
			return ErrNotFound
		}
		v := b.Bucket(bucketPages).Get(seqKey(ref.Seq))
		if v == nil {
			return ErrNotFound
		}
		return json.Unmarshal(v, &rec)
	})
	if errors.Is(err, ErrNotFound) {
		return rec, fmt.Errorf("%w: %s", ErrNotFound, ref)
	}
	return rec, err
}

// Pages returns every page record of a place in sequence order, deleted
// ones included (see Status).
func (s *Store) Pages(place Place) ([]Page, error) {
	var out []Page
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketPlaces).Bucket(place.key())
		if b == nil {
			return nil
		}
		return b.Bucket(bucketPages).ForEach(func(_, v []byte) error {
			var p Page
			if err := json.Unmarshal(v, &p); err != nil {
				return err
			}
			out = append(out, p)
			return nil
		})
	})
	return out, err
}

// Places lists the places that hold pages, in order.
func (s *Store) Places() ([]Place, error) {
	var out []Place
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketPlaces).ForEach(func(k, _ []byte) error {
			ppe, aud, _ := strings.Cut(string(k), "/")
			out = append(out, Place{PPE: ppe, Auditorium: aud})
			return nil
		})
	})
	return out, err
}

// Unrecognised lists the active pages of every place that have no
// recognition result yet, in place and sequence order: after a restart
// they are read again.
func (s *Store) Unrecognised() ([]Page, error) {
	var out []Page
	err := s.eachActive(func(p Page) {
		if p.Result == nil {
			out = append(out, p)
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// eachActive calls fn for every active page, in place and sequence order.
func (s *Store) eachActive(fn func(Page)) error {
	places, err := s.Places()
	if err != nil {
		return err
	}
	for _, pl := range places {
		pages, err := s.Pages(pl)
		if err != nil {
			return err
		}
		for _, p := range pages {
			if p.Status == Active {
				fn(p)
			}
		}
	}
	return nil
}

// ErrDamaged means an image no longer matches its record.
var ErrDamaged = errors.New("изображение страницы повреждено или заменено вне станции: отсканируйте страницу заново")

// Image reads the current image of a page and checks it against the
// SHA-256 on record.
func (s *Store) Image(p Page) ([]byte, error) {
	data, err := os.ReadFile(s.Path(p.File))
	if err != nil {
		return nil, fmt.Errorf("%w (%s: %v)", ErrDamaged, p.File, err)
	}
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) != p.SHA256 {
		return nil, fmt.Errorf("%w (%s: SHA-256 не совпадает)", ErrDamaged, p.File)
	}
	return data, nil
}

// recover cleans up after a crash; see the package comment.
func (s *Store) recover() error {
	known := map[string]bool{}
	var records []Page
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketPlaces).ForEach(func(k, _ []byte) error {
			b := tx.Bucket(bucketPlaces).Bucket(k)
			return b.Bucket(bucketPages).ForEach(func(_, v []byte) error {
				var p Page
				if err := json.Unmarshal(v, &p); err != nil {
					return fmt.Errorf("запись страницы %s: %w", k, err)
				}
				known[p.File] = true
				for _, h := range p.History {
					known[h.File] = true
				}
				records = append(records, p)
				return nil
			})
		})
	})
	if err != nil {
		return fmt.Errorf("хранилище %s повреждено: %w", s.dir, err)
	}
	var rec Recovery
	root := filepath.Join(s.dir, PagesDir)
	var found []string
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, os.ErrNotExist) && path == root {
				return filepath.SkipDir
			}
			return err
		}
		if !d.IsDir() {
			found = append(found, path)
		}
		return nil
	})
	if err != nil {
		return classify("просмотреть "+root, err)
	}
	for _, path := range found {
		rel, _ := filepath.Rel(s.dir, path)
		rel = filepath.ToSlash(rel)
		switch {
		case strings.HasPrefix(filepath.Base(path), tempPrefix):
			if err := os.Remove(path); err != nil {
				return classify("удалить недописанный файл "+path, err)
			}
			rec.TempsRemoved = append(rec.TempsRemoved, rel)
		case !known[rel]:
			to, err := s.moveOrphan(rel)
			if err != nil {
				return err
			}
			rec.Orphans = append(rec.Orphans, to)
		}
	}
	for _, p := range records {
		if p.Status != Active {
			continue
		}
		if _, err := s.Image(p); err != nil {
			problem := "изображение изменено (SHA-256 не совпадает)"
			if _, serr := os.Stat(s.Path(p.File)); serr != nil {
				problem = "файл изображения отсутствует"
			}
			rec.Damaged = append(rec.Damaged, Damage{Ref: p.Ref, File: p.File, Problem: problem})
		}
	}
	if len(rec.TempsRemoved)+len(rec.Orphans) > 0 {
		dirs := map[string]bool{}
		for _, path := range found {
			dirs[filepath.Dir(path)] = true
		}
		for d := range dirs {
			if err := s.fs.SyncDir(d); err != nil && !errors.Is(err, os.ErrNotExist) {
				return classify("сбросить на диск папку "+d, err)
			}
		}
	}
	s.recovery = rec
	return nil
}

// moveOrphan moves an image without a record to DIR/orphans under a name
// that keeps where it was found, and returns the new path.
func (s *Store) moveOrphan(rel string) (string, error) {
	dst := filepath.Join(s.dir, OrphansDir)
	if err := os.MkdirAll(dst, 0o750); err != nil {
		return "", classify("папка "+dst, err)
	}
	base := strings.ReplaceAll(strings.TrimPrefix(rel, PagesDir+"/"), "/", "-")
	to := filepath.Join(dst, base)
	for i := 1; ; i++ {
		if _, err := os.Lstat(to); errors.Is(err, os.ErrNotExist) {
			break
		}
		to = filepath.Join(dst, strconv.Itoa(i)+"-"+base)
	}
	if err := os.Rename(s.Path(rel), to); err != nil {
		return "", classify("перенести "+rel+" в "+dst, err)
	}
	if err := s.fs.SyncDir(dst); err != nil {
		return "", classify("сбросить на диск папку "+dst, err)
	}
	out, _ := filepath.Rel(s.dir, to)
	return filepath.ToSlash(out), nil
}

// Damaged checks every active page's image against its record now.
func (s *Store) Damaged() ([]Damage, error) {
	var out []Damage
	err := s.eachActive(func(p Page) {
		if _, err := s.Image(p); err != nil {
			out = append(out, Damage{Ref: p.Ref, File: p.File, Problem: err.Error()})
		}
	})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Ref.String() < out[j].Ref.String() })
	return out, nil
}

// EachActive calls fn with every active page of every place.
func (s *Store) EachActive(fn func(Page)) error { return s.eachActive(fn) }
