package store

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// fileSystem is what the store does to the disk when it writes a page. It
// exists so tests can make a write fail the way a full disk does without
// filling one.
type fileSystem interface {
	CreateTemp(dir, pattern string) (tempFile, error)
	Rename(from, to string) error
	Remove(name string) error
	MkdirAll(dir string) error
	SyncDir(dir string) error
}

// tempFile is an open file that is written, synced and closed once.
type tempFile interface {
	io.Writer
	Sync() error
	Close() error
	Name() string
}

// osFS is the real disk.
type osFS struct{}

func (osFS) CreateTemp(dir, pattern string) (tempFile, error) { return os.CreateTemp(dir, pattern) }
func (osFS) Rename(from, to string) error                     { return os.Rename(from, to) }
func (osFS) Remove(name string) error                         { return os.Remove(name) }
func (osFS) MkdirAll(dir string) error                        { return os.MkdirAll(dir, 0o750) }

// SyncDir fsyncs a folder so that the names created in it or renamed into
// it survive a power loss; without it a renamed page may vanish.
func (osFS) SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Errors that callers tell apart and show to the operator. Their text is
// the sentence the operator reads, saying what to do.
var (
	// ErrDiskFull means a page could not be written for lack of space;
	// nothing of it was kept.
	ErrDiskFull = errors.New("на диске с папкой данных нет места: освободите место (или подключите другой диск) и продолжите сканирование; страница не сохранена и будет отсканирована снова")
	// ErrNotWritable means the data folder refuses new files.
	ErrNotWritable = errors.New("в папку данных нельзя записывать: проверьте права доступа и что диск не защищён от записи, затем повторите")
	// ErrBusy means another station process holds the store.
	ErrBusy = errors.New("данные станции заняты другой командой station: дождитесь её завершения или закройте её и повторите")
	// ErrNoExam means no exam file was imported into the data folder.
	ErrNoExam = errors.New("экзамен не импортирован: импортируйте файл экзамена, полученный из РЦОИ")
	// ErrNotFound means no page has the given place.
	ErrNotFound = errors.New("страница не найдена")
	// ErrClosed means the store was closed.
	ErrClosed = errors.New("хранилище закрыто")
)

// classify turns a disk error into ErrDiskFull or ErrNotWritable when it
// is one, keeping the original for the log.
func classify(what string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return fmt.Errorf("%w (%s: %v)", ErrDiskFull, what, err)
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM), errors.Is(err, syscall.EROFS):
		return fmt.Errorf("%w (%s: %v)", ErrNotWritable, what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}
