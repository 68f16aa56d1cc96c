// Package atomicfile is the station's one way of writing a file so that it
// appears complete under its name or not at all: a temporary file in the
// same folder, written, fsync'd, renamed over the name, and the folder
// fsync'd so the rename survives a power loss. A crash leaves at most a
// temporary file, which Clean removes on the next start.
package atomicfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// TempPrefix starts the name of every temporary file this package makes,
// so that Clean can tell them from real files.
const TempPrefix = ".tmp-"

// File is an open temporary file.
type File interface {
	io.Writer
	Sync() error
	Close() error
	Name() string
	Chmod(mode os.FileMode) error
}

// FS is what a write does to the disk. Tests pass one that fails the way a
// full or read-only disk does.
type FS interface {
	CreateTemp(dir, pattern string) (File, error)
	Rename(from, to string) error
	// Link gives from the new name to, failing if to exists.
	Link(from, to string) error
	Remove(name string) error
	SyncDir(dir string) error
}

// OS is the real disk.
var OS FS = osFS{}

type osFS struct{}

func (osFS) CreateTemp(dir, pattern string) (File, error) { return os.CreateTemp(dir, pattern) }
func (osFS) Rename(from, to string) error                 { return os.Rename(from, to) }
func (osFS) Link(from, to string) error                   { return os.Link(from, to) }
func (osFS) Remove(name string) error                     { return os.Remove(name) }
func (osFS) SyncDir(dir string) error                     { return SyncDir(dir) }

// SyncDir fsyncs a folder so that names created in it or renamed into it
// survive a power loss.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Write writes path through write, atomically, with permissions perm.
func Write(path string, perm os.FileMode, write func(io.Writer) error) error {
	return WriteFS(OS, path, perm, write)
}

// WriteFile writes data to path atomically, with permissions perm.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	return Write(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteFS is Write on a given disk. On any failure before the rename
// nothing is left behind and the old file, if any, is untouched. A failure
// to sync the folder after the rename is reported: the new file is in
// place but may not survive a power loss, and the caller decides whether
// to undo it.
func WriteFS(fsys FS, path string, perm os.FileMode, write func(io.Writer) error) error {
	return writeFS(fsys, path, perm, write, func(tmp string) error {
		if err := fsys.Rename(tmp, path); err != nil {
			return fmt.Errorf("переименование в %s: %w", path, err)
		}
		return nil
	})
}

// WriteNew writes path atomically, like Write, but never replaces a file:
// when path exists it fails with an error that wraps fs.ErrExist and
// leaves that file as it was. It is for files that, once written, must
// never change, such as a sealed package.
func WriteNew(path string, perm os.FileMode, write func(io.Writer) error) error {
	return WriteNewFS(OS, path, perm, write)
}

// WriteNewFS is WriteNew on a given disk. The temporary file is linked
// into place rather than renamed, since a link refuses an existing name.
func WriteNewFS(fsys FS, path string, perm os.FileMode, write func(io.Writer) error) error {
	return writeFS(fsys, path, perm, write, func(tmp string) error {
		if err := fsys.Link(tmp, path); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("%s уже существует и не заменяется: %w", path, err)
			}
			return fmt.Errorf("запись %s: %w", path, err)
		}
		// The temporary name is now a second name of the file; a crash
		// before this removal leaves only a temporary for Clean.
		fsys.Remove(tmp)
		return nil
	})
}

// writeFS writes a temporary file next to path and hands it to place,
// which puts it under path and consumes the temporary name.
func writeFS(fsys FS, path string, perm os.FileMode, write func(io.Writer) error, place func(tmp string) error) (err error) {
	dir := filepath.Dir(path)
	f, err := fsys.CreateTemp(dir, TempPrefix+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("временный файл для %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil && tmp != "" {
			f.Close()
			fsys.Remove(tmp)
		}
	}()
	bw := bufio.NewWriterSize(f, 256<<10)
	if err = write(bw); err != nil {
		return fmt.Errorf("запись %s: %w", path, err)
	}
	if err = bw.Flush(); err != nil {
		return fmt.Errorf("запись %s: %w", path, err)
	}
	if err = f.Chmod(perm); err != nil {
		return fmt.Errorf("права %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("сброс на диск %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("запись %s: %w", path, err)
	}
	if err = place(tmp); err != nil {
		return err
	}
	tmp = ""
	if err := fsys.SyncDir(dir); err != nil {
		return fmt.Errorf("сброс на диск папки %s: %w", dir, err)
	}
	return nil
}

// IsTemp tells whether a file name is one of this package's temporary
// files.
func IsTemp(name string) bool { return strings.HasPrefix(filepath.Base(name), TempPrefix) }

// Clean removes the temporary files a crash left in dir and, with
// recursive, in its subfolders. It returns the paths it removed. Only the
// process that owns dir may call it: another's write in progress would go.
func Clean(dir string, recursive bool) ([]string, error) { return CleanOlder(dir, recursive, 0) }

// CleanOlder is Clean for a folder that other processes may be writing
// to: it removes only temporaries not modified for age.
func CleanOlder(dir string, recursive bool, age time.Duration) ([]string, error) {
	var removed []string
	walk := func(path string, d os.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			if path != dir && !recursive {
				return filepath.SkipDir
			}
			return nil
		}
		if IsTemp(d.Name()) {
			if age > 0 {
				if fi, err := d.Info(); err != nil || time.Since(fi.ModTime()) < age {
					return nil
				}
			}
			if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
			removed = append(removed, path)
		}
		return nil
	}
	if err := filepath.WalkDir(dir, walk); err != nil {
		return removed, fmt.Errorf("очистка временных файлов в %s: %w", dir, err)
	}
	return removed, nil
}
