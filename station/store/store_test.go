package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"giascan/forms"
	"giascan/hardware"
	"giascan/station/exam"
)

var place = Place{PPE: "0101", Auditorium: "0012"}

func page(n int) hardware.Page {
	return hardware.Page{Seq: n, Data: []byte(fmt.Sprintf("image %d %s", n, strings.Repeat("x", n))),
		Format: "jpeg", DPI: 300, Side: hardware.Front, Name: fmt.Sprintf("%04d.jpg", n)}
}

func mustOpen(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// listFiles returns the files under dir/pages, relative, with slashes.
func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(filepath.Join(dir, PagesDir), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	return out
}

func TestAddNumbersPagesInFeedingOrderAndSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	ctx := context.Background()
	for i := 1; i <= 3; i++ {
		rec, dup, err := s.Add(ctx, place, page(i), "sim-1")
		if err != nil || dup {
			t.Fatalf("add %d: %v dup=%v", i, err, dup)
		}
		if rec.Seq != i || rec.File != fmt.Sprintf("pages/0101/0012/%06d.jpg", i) || rec.Status != Active {
			t.Fatalf("page %d: %+v", i, rec)
		}
	}
	// The same image again is the same page, not a new one.
	rec, dup, err := s.Add(ctx, place, page(2), "sim-1")
	if err != nil || !dup || rec.Seq != 2 {
		t.Fatalf("duplicate: seq %d dup %v err %v", rec.Seq, dup, err)
	}
	// Another auditorium numbers its pages from 1.
	other := Place{PPE: "0101", Auditorium: "0014"}
	if rec, _, err := s.Add(ctx, other, page(2), "sim-1"); err != nil || rec.Seq != 1 {
		t.Fatalf("other place: %+v %v", rec, err)
	}
	if err := s.SetResult(Ref{place, 1}, 0, forms.NewPageResult("x", 1)); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = mustOpen(t, dir)
	if r := s.Recovery(); len(r.Orphans)+len(r.TempsRemoved)+len(r.Damaged) > 0 {
		t.Fatalf("clean store recovered something: %+v", r)
	}
	pages, err := s.Pages(place)
	if err != nil || len(pages) != 3 {
		t.Fatalf("pages %d, %v", len(pages), err)
	}
	for i, p := range pages {
		data, err := s.Image(p)
		if err != nil || !bytes.Equal(data, page(i+1).Data) {
			t.Fatalf("image %d: %v", i+1, err)
		}
	}
	un, _ := s.Unrecognised()
	if len(un) != 3 { // pages 2, 3 here and page 1 of the other place
		t.Fatalf("unrecognised: %d", len(un))
	}
	// The next page goes after the stored ones.
	if rec, _, err := s.Add(ctx, place, page(9), "sim-1"); err != nil || rec.Seq != 4 {
		t.Fatalf("after reopen: %+v %v", rec, err)
	}
}

func TestOpenRemovesTempsMovesOrphansAndReportsDamage(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	ctx := context.Background()
	for i := 1; i <= 3; i++ {
		if _, _, err := s.Add(ctx, place, page(i), "d"); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	folder := filepath.Join(dir, "pages", "0101", "0012")
	// A crash mid-write, and a crash between rename and commit.
	os.WriteFile(filepath.Join(folder, tempPrefix+"123"), []byte("half"), 0o600)
	os.WriteFile(filepath.Join(folder, "000004.jpg"), []byte("never committed"), 0o600)
	// Damage: one image changed, one gone.
	os.WriteFile(filepath.Join(folder, "000002.jpg"), []byte("changed"), 0o600)
	os.Remove(filepath.Join(folder, "000003.jpg"))

	s = mustOpen(t, dir)
	r := s.Recovery()
	if len(r.TempsRemoved) != 1 || len(r.Orphans) != 1 || r.Orphans[0] != "orphans/0101-0012-000004.jpg" {
		t.Fatalf("recovery: %+v", r)
	}
	if len(r.Damaged) != 2 || r.Damaged[0].Seq != 2 || r.Damaged[1].Seq != 3 ||
		!strings.Contains(r.Damaged[1].Problem, "отсутствует") {
		t.Fatalf("damage: %+v", r.Damaged)
	}
	got := listFiles(t, dir)
	want := []string{"pages/0101/0012/000001.jpg", "pages/0101/0012/000002.jpg"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("files %v, want %v", got, want)
	}
	// Damaged records are kept, never dropped.
	if pages, _ := s.Pages(place); len(pages) != 3 {
		t.Fatalf("records: %d", len(pages))
	}
	// The next page takes number 4 and the orphan's name without a clash.
	if rec, _, err := s.Add(ctx, place, page(4), "d"); err != nil || rec.Seq != 4 {
		t.Fatalf("%+v %v", rec, err)
	}
}

func TestReplaceKeepsTheSequenceNumberAndHistory(t *testing.T) {
	s := mustOpen(t, t.TempDir())
	ctx := context.Background()
	s.Add(ctx, place, page(1), "d")
	s.Add(ctx, place, page(2), "d")
	ref := Ref{place, 1}
	s.SetResult(ref, 0, forms.NewPageResult("a", 1))
	rec, err := s.Replace(ctx, ref, page(7), "d")
	if err != nil {
		t.Fatal(err)
	}
	if rec.Seq != 1 || rec.Rev != 1 || rec.Result != nil || len(rec.History) != 1 ||
		rec.History[0].Status != Replaced || rec.File != "pages/0101/0012/000001-r1.jpg" {
		t.Fatalf("%+v", rec)
	}
	// A late result for the old image is not taken for the new one.
	s.SetResult(ref, 0, forms.NewPageResult("late", 1))
	if p, _ := s.Page(ref); p.Result != nil {
		t.Fatal("stale result stored")
	}
	// The old image no longer makes a duplicate; the new one does.
	if _, dup, _ := s.Add(ctx, place, page(7), "d"); !dup {
		t.Fatal("new image not indexed")
	}
	if rec, dup, _ := s.Add(ctx, place, page(1), "d"); dup || rec.Seq != 3 {
		t.Fatalf("old image: %+v dup=%v", rec, dup)
	}
	if _, err := s.Delete(Ref{place, 2}, "чистый лист"); err != nil {
		t.Fatal(err)
	}
	if _, dup, _ := s.Add(ctx, place, page(2), "d"); dup {
		t.Fatal("deleted page still indexed")
	}
	s.Close()
	s2 := mustOpen(t, s.Dir())
	if r := s2.Recovery(); len(r.Orphans)+len(r.Damaged) > 0 {
		t.Fatalf("%+v", r)
	}
}

// fullFS fails every write the way a full disk does.
type fullFS struct{ osFS }

type fullFile struct{ *os.File }

func (fullFile) Write([]byte) (int, error) { return 0, &os.PathError{Op: "write", Err: syscall.ENOSPC} }

func (f fullFS) CreateTemp(dir, pattern string) (tempFile, error) {
	file, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	return fullFile{file}, nil
}

func TestDiskFullLeavesTheStoreIntact(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	ctx := context.Background()
	s.Add(ctx, place, page(1), "d")
	s.fs = fullFS{}
	_, _, err := s.Add(ctx, place, page(2), "d")
	if !errors.Is(err, ErrDiskFull) || !strings.Contains(err.Error(), "освободите место") {
		t.Fatalf("err = %v", err)
	}
	if got := listFiles(t, dir); len(got) != 1 {
		t.Fatalf("files after failed write: %v", got)
	}
	s.fs = osFS{}
	if rec, _, err := s.Add(ctx, place, page(2), "d"); err != nil || rec.Seq != 2 {
		t.Fatalf("after space was freed: %+v %v", rec, err)
	}
}

// mountTmpfs mounts a small tmpfs for a test, or skips it.
func mountTmpfs(t *testing.T, opts string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", opts, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir
}

func TestRealDiskFull(t *testing.T) {
	dir := mountTmpfs(t, "size=512k")
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	big := bytes.Repeat([]byte{7}, 40<<10)
	stored := 0
	for i := 0; i < 40; i++ {
		p := page(i + 1)
		p.Data = append(bytes.Clone(big), byte(i))
		_, _, err = s.Add(ctx, place, p, "d")
		if err != nil {
			break
		}
		stored++
	}
	if !errors.Is(err, ErrDiskFull) {
		t.Fatalf("after %d pages: %v", stored, err)
	}
	s.Close()
	s2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	pages, _ := s2.Pages(place)
	r := s2.Recovery()
	if len(pages) != stored || len(r.Damaged) > 0 || len(r.Orphans) > 0 {
		t.Fatalf("stored %d, records %d, recovery %+v", stored, len(pages), r)
	}
}

func TestUnwritableDataFolder(t *testing.T) {
	dir := mountTmpfs(t, "size=1m")
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Add(context.Background(), place, page(1), "d"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if out, err := exec.Command("mount", "-o", "remount,ro", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot remount read-only: %v %s", err, out)
	}
	_, err = Open(dir)
	if !errors.Is(err, ErrNotWritable) {
		t.Fatalf("open on a read-only folder: %v", err)
	}
	if out, err := exec.Command("mount", "-o", "remount,rw", dir).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	s = mustOpen(t, dir)
	if pages, _ := s.Pages(place); len(pages) != 1 {
		t.Fatalf("pages after read-only spell: %d", len(pages))
	}
	// A pages folder that refuses new files (as non-root would see it) fails
	// the write, not the store.
	s.fs = deniedFS{}
	if _, _, err := s.Add(context.Background(), place, page(2), "d"); !errors.Is(err, ErrNotWritable) {
		t.Fatalf("denied write: %v", err)
	}
}

type deniedFS struct{ osFS }

func (deniedFS) CreateTemp(dir, pattern string) (tempFile, error) {
	return nil, &os.PathError{Op: "open", Path: dir, Err: syscall.EACCES}
}

func TestExamRoundTrip(t *testing.T) {
	s := mustOpen(t, t.TempDir())
	if _, err := s.Exam(); !errors.Is(err, ErrNoExam) {
		t.Fatalf("no exam: %v", err)
	}
	e, err := exam.Parse([]byte(`{"level":9,"subject":"02","date":"2025-05-27","region":"11",
		"ppe":[{"code":"0101","auditoriums":[{"number":"0012"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetExam(e); err != nil {
		t.Fatal(err)
	}
	got, err := s.Exam()
	if err != nil || got.FindAuditorium("0101", "0012") == nil {
		t.Fatalf("%+v %v", got, err)
	}
}

func TestSecondOpenIsBusy(t *testing.T) {
	dir := t.TempDir()
	mustOpen(t, dir)
	old := lockTimeout
	lockTimeout = 100e6
	defer func() { lockTimeout = old }()
	if _, err := Open(dir); !errors.Is(err, ErrBusy) {
		t.Fatalf("second open: %v", err)
	}
}
