package packaging

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
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
// appears only once every file was read back and matched, so a medium
// pulled out halfway never looks complete.
const SumsName = "SHA256SUMS"

// Exported is the outcome of an export.
type Exported struct {
	Dir   string   // folder on the medium
	Files []string // names written, without SHA256SUMS
	Bytes int64
}

// Export writes the newest sealed version of every package of a ППЭ
// (ciphertext and signature, never the clear manifest) to folder
// giascan-PPE under to, then SHA256SUMS. Files are read back and checked
// before SHA256SUMS is renamed into place; on any failure the files of
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
		return nil, fmt.Errorf("у ППЭ %s нет собранных пакетов: соберите их (station package build), затем выгружайте", ppe)
	}
	if fi, err := os.Stat(to); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("носитель %s не найден: вставьте и смонтируйте его, укажите папку на нём (--to)", to)
	}
	out := &Exported{Dir: filepath.Join(to, "giascan-"+ppe)}
	if err := m.MkdirAll(out.Dir); err != nil {
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
			written = append(written, dst)
			sum, n, err := copyTo(m, src, dst)
			if err != nil {
				cleanup()
				return nil, err
			}
			fmt.Fprintf(&sums, "%s  %s\n", sum, name)
			out.Files = append(out.Files, name)
			out.Bytes += n
		}
	}
	tmp := filepath.Join(out.Dir, "."+SumsName+".tmp")
	written = append(written, tmp)
	if err := writeAll(m, tmp, []byte(sums.String())); err != nil {
		cleanup()
		return nil, err
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
	if err := m.Rename(tmp, filepath.Join(out.Dir, SumsName)); err != nil {
		cleanup()
		return nil, mediumErr(out.Dir, err)
	}
	return out, nil
}

// copyTo copies a file to the medium, returning its SHA-256 and size.
func copyTo(m Medium, src, dst string) (string, int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", 0, fmt.Errorf("пакет %s не читается: %w; соберите его заново", filepath.Base(src), err)
	}
	defer in.Close()
	w, err := m.Create(dst)
	if err != nil {
		return "", 0, mediumErr(dst, err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), in)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", 0, mediumErr(dst, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

func writeAll(m Medium, path string, data []byte) error {
	w, err := m.Create(path)
	if err != nil {
		return mediumErr(path, err)
	}
	_, err = w.Write(data)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return mediumErr(path, err)
	}
	return nil
}

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
