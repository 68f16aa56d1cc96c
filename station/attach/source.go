package attach

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Entry is one file offered for import.
type Entry struct {
	// Name is the file's name as given (inside the archive or folder).
	Name string
	// Size is the size the folder or archive states; the copy checks it.
	Size int64
	open func() (io.ReadCloser, error)
}

// Source is the files of one import: a folder's files, or a zip archive's.
type Source struct {
	Entries []Entry
	close   func() error
}

// Close releases the archive, if the source is one.
func (s *Source) Close() error {
	if s.close == nil {
		return nil
	}
	return s.close()
}

// IsArchive tells whether a file offered for import is an archive of a
// set of files rather than one participant's file: a .zip whose name does
// not start with a kit number.
func IsArchive(name string) bool {
	return strings.EqualFold(filepath.Ext(name), ".zip") && KitOf(name) == ""
}

// Open opens what an import reads: a folder (its files, in subfolders
// too) or a zip archive. Only the archive's directory is read here; each
// file streams when it is copied.
func Open(from string) (*Source, error) {
	fi, err := os.Stat(from)
	if err != nil {
		return nil, fmt.Errorf("папка или архив %s не открывается: %w", from, err)
	}
	if !fi.IsDir() {
		return openZip(from)
	}
	src := &Source{}
	err = filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == from {
				return err
			}
			// An unreadable subfolder is reported as a file, the rest go on.
			src.Entries = append(src.Entries, Entry{Name: rel(from, p), Size: -1, open: func() (io.ReadCloser, error) { return nil, err }})
			return fs.SkipDir
		}
		if d.IsDir() || !d.Type().IsRegular() {
			return nil
		}
		var size int64 = -1
		if info, err := d.Info(); err == nil {
			size = info.Size()
		}
		src.Entries = append(src.Entries, Entry{Name: rel(from, p), Size: size, open: func() (io.ReadCloser, error) { return os.Open(p) }})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("папка %s не читается: %w", from, err)
	}
	slices.SortFunc(src.Entries, func(a, b Entry) int { return strings.Compare(a.Name, b.Name) })
	return src, nil
}

func rel(root, p string) string {
	if r, err := filepath.Rel(root, p); err == nil {
		return filepath.ToSlash(r)
	}
	return filepath.Base(p)
}

func openZip(from string) (*Source, error) {
	zr, err := zip.OpenReader(from)
	if errors.Is(err, zip.ErrFormat) {
		return nil, fmt.Errorf("%s — не папка и не архив zip: укажите папку с файлами или архив zip", filepath.Base(from))
	}
	if err != nil {
		return nil, fmt.Errorf("архив %s не открывается: %w", filepath.Base(from), err)
	}
	src := &Source{close: zr.Close}
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		size := int64(f.UncompressedSize64)
		if f.UncompressedSize64 > 1<<62 {
			size = 1 << 62
		}
		src.Entries = append(src.Entries, Entry{Name: f.Name, Size: size, open: f.Open})
	}
	return src, nil
}
