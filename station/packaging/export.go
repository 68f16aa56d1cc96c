package packaging

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"giascan/atomicfile"
)

// Medium is the removable medium an export writes to. OSMedium is the real
// one; tests inject a medium that fills up.
type Medium interface {
	MkdirAll(dir string) error
	Create(path string) (io.WriteCloser, error)
	Open(path string) (io.ReadCloser, error)
	Rename(from, to string) error
	Remove(path string) error
}

// OSMedium is a folder on a mounted file system.
type OSMedium struct{}

// MkdirAll creates dir and its parents.
func (OSMedium) MkdirAll(dir string) error { return os.MkdirAll(dir, 0o750) }

// Create creates or truncates a file; Close syncs it, so a write the
// medium could not take shows up before the checksums are read back.
func (OSMedium) Create(path string) (io.WriteCloser, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return nil, err
	}
	return syncCloser{f}, nil
}

type syncCloser struct{ *os.File }

func (s syncCloser) Close() error {
	err := s.File.Sync()
	if cerr := s.File.Close(); err == nil {
		err = cerr
	}
	return err
}

// Open opens a file for reading.
func (OSMedium) Open(path string) (io.ReadCloser, error) { return os.Open(path) }

// Rename renames a file.
func (OSMedium) Rename(from, to string) error { return os.Rename(from, to) }

// Remove removes a file.
func (OSMedium) Remove(path string) error { return os.Remove(path) }

// SumsName is the checksum file of an export, in sha256sum's format. It
// is removed before any file is replaced and written last, once every file
// was read back and matched, so a medium pulled out or a station killed
// halfway never holds checksums that do not verify.
const SumsName = "SHA256SUMS"

// legacySumsTemp is where exports used to stage SHA256SUMS; an export
// removes one a crash left behind.
const legacySumsTemp = "." + SumsName + ".tmp"

// Exported is the outcome of an export.
type Exported struct {
	Dir   string   // folder on the medium
	Files []string // names written, without SHA256SUMS
	Bytes int64
}

// Export writes the newest sealed version of every package of a ППЭ
// (ciphertext and signature, never the clear manifest) to folder
// giascan-PPE under to, then SHA256SUMS. It first removes what an export
// killed halfway left there and the old SHA256SUMS; each file is written
// under a temporary name and renamed into place; the files are read back
// and checked before SHA256SUMS is written. On any failure the files of
// this export are removed and the error says in Russian what to do.
func Export(data, ppe, to string, m Medium) (*Exported, error) {
	if m == nil {
		m = OSMedium{}
	}
	list, err := List(data, ppe)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("у ППЭ %s нет собранных пакетов: закройте аудитории, чтобы их пакеты запечатались, затем выгружайте", ppe)
	}
	if fi, err := os.Stat(to); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("носитель %s не найден: вставьте и смонтируйте его, укажите папку на нём", to)
	}
	out := &Exported{Dir: filepath.Join(to, "giascan-"+ppe)}
	if err := m.MkdirAll(out.Dir); err != nil {
		return nil, mediumErr(out.Dir, err)
	}
	mfs := mediumFS{m}
	if _, err := atomicfile.Clean(out.Dir, false); err != nil {
		return nil, mediumErr(out.Dir, err)
	}
	for _, name := range []string{legacySumsTemp, SumsName} {
		if err := m.Remove(filepath.Join(out.Dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, mediumErr(filepath.Join(out.Dir, name), err)
		}
	}
	if err := mfs.SyncDir(out.Dir); err != nil {
		return nil, mediumErr(out.Dir, err)
	}
	var written []string
	cleanup := func() {
		for _, p := range written {
			m.Remove(p)
		}
	}
	var sums strings.Builder
	for _, s := range list {
		for _, src := range []string{s.Ciphertext, s.Signature} {
			name := filepath.Base(src)
			dst := filepath.Join(out.Dir, name)
			sum, n, err := copyTo(mfs, src, dst)
			if err != nil {
				cleanup()
				return nil, err
			}
			written = append(written, dst)
			fmt.Fprintf(&sums, "%s  %s\n", sum, name)
			out.Files = append(out.Files, name)
			out.Bytes += n
		}
	}
	// Read back what the medium holds, not what the page cache says we
	// wrote: a bad stick fails here rather than at the РЦОИ.
	for _, line := range strings.Split(strings.TrimSpace(sums.String()), "\n") {
		want, name, _ := strings.Cut(line, "  ")
		got, err := hashOf(m, filepath.Join(out.Dir, name))
		if err != nil || got != want {
			cleanup()
			if err == nil {
				err = fmt.Errorf("контрольная сумма не совпала")
			}
			return nil, fmt.Errorf("файл %s на носителе прочитан с ошибкой (%v): носитель неисправен, возьмите другой", name, err)
		}
	}
	sumsPath := filepath.Join(out.Dir, SumsName)
	if err := atomicfile.WriteFS(mfs, sumsPath, 0o640, func(w io.Writer) error {
		_, err := io.WriteString(w, sums.String())
		return err
	}); err != nil {
		cleanup()
		return nil, mediumErr(sumsPath, err)
	}
	return out, nil
}

// copyTo copies a file to the medium under a temporary name and renames
// it into place, returning its SHA-256 and size.
func copyTo(mfs mediumFS, src, dst string) (string, int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", 0, fmt.Errorf("пакет %s не читается: %w; соберите его заново", filepath.Base(src), err)
	}
	defer in.Close()
	h := sha256.New()
	var n int64
	err = atomicfile.WriteFS(mfs, dst, 0o640, func(w io.Writer) error {
		var err error
		n, err = io.Copy(io.MultiWriter(w, h), in)
		return err
	})
	if err != nil {
		return "", 0, mediumErr(dst, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// mediumFS lets the one atomic writer write to a Medium.
type mediumFS struct{ m Medium }

func (f mediumFS) CreateTemp(dir, pattern string) (atomicfile.File, error) {
	name := filepath.Join(dir, strings.Replace(pattern, "*", strconv.FormatUint(rand.Uint64(), 36), 1))
	w, err := f.m.Create(name)
	if err != nil {
		return nil, err
	}
	return mediumFile{w, name}, nil
}

func (f mediumFS) Rename(from, to string) error { return f.m.Rename(from, to) }
func (f mediumFS) Remove(name string) error     { return f.m.Remove(name) }

// Link is not needed: files on a medium are replaced.
func (f mediumFS) Link(from, to string) error { return errors.ErrUnsupported }

// SyncDir syncs the folder where the file system can; on those that
// cannot, the files themselves were synced.
func (f mediumFS) SyncDir(dir string) error {
	if err := atomicfile.SyncDir(dir); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOTSUP) {
		return err
	}
	return nil
}

// mediumFile is a file a Medium created; its Close syncs it.
type mediumFile struct {
	io.WriteCloser
	name string
}

func (f mediumFile) Name() string { return f.name }

// Sync is done by Close, which the atomic writer calls next.
func (f mediumFile) Sync() error { return nil }

// Chmod does nothing: removable media rarely keep permissions, and Create
// made the file 0640 where they do.
func (f mediumFile) Chmod(os.FileMode) error { return nil }

func hashOf(m Medium, path string) (string, error) {
	r, err := m.Open(path)
	if err != nil {
		return "", err
	}
	defer r.Close()
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// mediumErr says in one Russian sentence what went wrong with the medium.
func mediumErr(path string, err error) error {
	switch {
	case errors.Is(err, syscall.ENOSPC):
		return fmt.Errorf("на носителе не хватает места для %s: освободите место или возьмите носитель побольше, затем повторите выгрузку", filepath.Base(path))
	case errors.Is(err, syscall.EROFS), errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("носитель защищён от записи (%s): снимите защиту или возьмите другой носитель, затем повторите выгрузку", filepath.Dir(path))
	}
	return fmt.Errorf("запись на носитель не удалась (%s: %v): проверьте носитель и повторите выгрузку", path, err)
}
