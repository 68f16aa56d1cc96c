package atomicfile

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// failFS fails one step the way a full disk does.
type failFS struct {
	osFS
	failRename bool
}

func (f failFS) Rename(from, to string) error {
	if f.failRename {
		return &os.LinkError{Op: "rename", Old: from, New: to, Err: syscall.ENOSPC}
	}
	return os.Rename(from, to)
}

func TestWriteReplacesWholeOrNothing(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.txt")
	if err := WriteFile(p, []byte("old"), 0o640); err != nil {
		t.Fatal(err)
	}
	// A writer that fails halfway leaves the old content and no temp file.
	err := Write(p, 0o640, func(w io.Writer) error {
		w.Write([]byte("half"))
		return errors.New("boom")
	})
	if err == nil {
		t.Fatal("a failing writer was reported as written")
	}
	if b, _ := os.ReadFile(p); string(b) != "old" {
		t.Fatalf("content after a failed write = %q, want old", b)
	}
	// A rename that fails with ENOSPC is reported as such and cleans up.
	err = WriteFS(failFS{failRename: true}, p, 0o640, func(w io.Writer) error { _, err := w.Write([]byte("new")); return err })
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("err = %v, want ENOSPC", err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("folder holds %d files after failed writes, want 1", len(ents))
	}
	if err := WriteFile(p, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(p)
	if b, _ := os.ReadFile(p); string(b) != "new" || st.Mode().Perm() != 0o600 {
		t.Fatalf("content %q mode %v, want new 0600", b, st.Mode().Perm())
	}
}

func TestCleanRemovesOnlyTemps(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "sub")
	os.MkdirAll(sub, 0o755)
	for _, n := range []string{"keep.txt", TempPrefix + "x.1", filepath.Join("sub", TempPrefix+"y.2"), filepath.Join("sub", "keep2")} {
		os.WriteFile(filepath.Join(dir, n), []byte("x"), 0o600)
	}
	got, err := Clean(dir, false)
	if err != nil || len(got) != 1 {
		t.Fatalf("Clean non-recursive removed %v (%v), want 1 file", got, err)
	}
	got, err = Clean(dir, true)
	if err != nil || len(got) != 1 || filepath.Base(got[0]) != TempPrefix+"y.2" {
		t.Fatalf("Clean recursive removed %v (%v)", got, err)
	}
	for _, n := range []string{"keep.txt", "sub/keep2"} {
		if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
			t.Fatalf("%s removed: %v", n, err)
		}
	}
}

func TestWriteNewNeverReplaces(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sealed.bin")
	write := func(s string) func(io.Writer) error {
		return func(w io.Writer) error { _, err := w.Write([]byte(s)); return err }
	}
	if err := WriteNew(p, 0o640, write("first")); err != nil {
		t.Fatal(err)
	}
	err := WriteNew(p, 0o640, write("second"))
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second WriteNew: err = %v, want fs.ErrExist", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "first" {
		t.Fatalf("content after a refused WriteNew = %q, want first", b)
	}
	// Neither the success nor the refusal leaves a temporary behind.
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("folder holds %v, want only sealed.bin", ents)
	}
	st, _ := os.Stat(p)
	if st.Mode().Perm() != 0o640 {
		t.Fatalf("mode %v, want 0640", st.Mode().Perm())
	}
	// A failing writer leaves no file under the name.
	q := filepath.Join(dir, "other.bin")
	if err := WriteNew(q, 0o640, func(w io.Writer) error { return errors.New("boom") }); err == nil {
		t.Fatal("a failing writer was reported as written")
	}
	if _, err := os.Lstat(q); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a failed WriteNew left %s: %v", q, err)
	}
}
