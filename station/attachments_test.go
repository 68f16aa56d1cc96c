package station

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"

	"giascan/station/attach"
	"giascan/station/attach/attachtest"
	"giascan/station/audit"
	"giascan/station/exam"
	"giascan/station/packaging"
	"giascan/station/refusal"
	"giascan/station/store"
	"giascan/transport/pkg"
	"giascan/transport/seal"
)

// attachStation opens a station with an exam of one auditorium planning
// three kits, and keys to seal with; it returns the РЦОИ's identity.
func attachStation(t *testing.T) (*Station, *age.X25519Identity) {
	t.Helper()
	return attachStationIn(t, t.TempDir())
}

// attachStationIn is attachStation on the data folder dir.
func attachStationIn(t *testing.T, dir string) (*Station, *age.X25519Identity) {
	t.Helper()
	s, err := Open(dir, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ex := &exam.Exam{Level: 9, Subject: "05", Date: "2025-05-27", Region: "77", PPE: []exam.PPE{{Code: "0101",
		Auditoriums: []exam.Auditorium{{Number: "0012", Kits: []string{"0000012345", "0000012346", "0000012347"}}}}}}
	if err := s.Store.SetExam(ex); err != nil {
		t.Fatal(err)
	}
	if _, err := seal.GenerateStationKey(seal.KeyDir(dir)); err != nil {
		t.Fatal(err)
	}
	id, _ := age.GenerateX25519Identity()
	if _, err := seal.ImportRecipients(seal.KeyDir(dir), strings.NewReader(id.Recipient().String()+"\n")); err != nil {
		t.Fatal(err)
	}
	return s, id
}

// КЕГЭ answer files with one planned kit missing and audio with an empty
// and a non-audio file are imported; the good files are sealed with the
// auditorium's package under attachments/, hashed in its manifest, and
// counted in the ППЭ summary; a closed auditorium takes no file.
func TestImportAttachmentsIntoPackage(t *testing.T) {
	s, id := attachStation(t)
	ctx := context.Background()
	place := store.Place{PPE: "0101", Auditorium: "0012"}

	kege := t.TempDir()
	os.WriteFile(filepath.Join(kege, "0000012345.txt"), []byte("1 23\n2 abc\n"), 0o644)
	os.WriteFile(filepath.Join(kege, "0000012346.txt"), []byte("1 24\n"), 0o644)
	rep, err := s.ImportAttachments(ctx, "op1", place, attach.KEGE, kege)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Imported) != 2 || rep.Count(attach.ProblemMissing) != 1 || rep.Problems[0].Kit != "0000012347" {
		t.Fatalf("КЕГЭ: %+v", rep)
	}

	aud := t.TempDir()
	attachtest.WriteWAV(t, filepath.Join(aud, "0000012345.wav"), 8000, 2500*time.Millisecond)
	attachtest.WriteWAV(t, filepath.Join(aud, "0000012346.wav"), 8000, 1500*time.Millisecond)
	os.WriteFile(filepath.Join(aud, "0000012347.wav"), nil, 0o644)
	os.WriteFile(filepath.Join(aud, "0000012347.mp3"), []byte("not audio at all"), 0o644)
	rep, err = s.ImportAttachments(ctx, "op1", place, attach.Audio, aud)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Imported) != 2 || rep.Count(attach.ProblemEmpty) != 1 || rep.Count(attach.ProblemNotAudio) != 1 ||
		rep.Count(attach.ProblemMissing) != 0 || math.Abs(rep.Seconds-4) > 0.01 {
		t.Fatalf("audio: %+v", rep)
	}
	list, err := s.Attachments(place)
	if err != nil || len(list) != 2 || len(list[0].Files) != 2 || len(list[1].Files) != 2 || len(list[1].Missing) != 1 {
		t.Fatalf("list %+v, %v", list, err)
	}

	// On record, with the Russian label.
	entries, err := audit.ReadExcerpt(string(s.Dir), audit.Filter{PPE: "0101", Auditorium: "0012"})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries.Entries {
		if e.Action == audit.ActionAttachImport {
			n++
		}
	}
	if n != 2 || !strings.Contains(audit.Label(audit.ActionAttachImport), "КЕГЭ") {
		t.Errorf("%d import entries, label %q", n, audit.Label(audit.ActionAttachImport))
	}

	closed, err := s.CloseAuditorium(ctx, "op1", place, "листы не сканировались в этом тесте")
	if err != nil || closed.SealErr != nil {
		t.Fatalf("close: %v / %v", err, closed.SealErr)
	}
	_, err = s.ImportAttachments(ctx, "op1", place, attach.KEGE, kege)
	if !refusal.Is(err) || !strings.Contains(err.Error(), "закрыта") {
		t.Fatalf("import into a closed auditorium: %v", err)
	}

	sl := closed.Sealed
	if err := packaging.Verify(sl); err != nil {
		t.Fatal(err)
	}
	sig, _ := os.ReadFile(sl.Signature)
	ct, _ := os.ReadFile(sl.Ciphertext)
	pub, _ := seal.LoadStationPublicKey(seal.KeyDir(string(s.Dir)))
	plain, _, err := seal.Open(sig, ct, pub, seal.Info{Package: sl.Manifest.ID, Version: sl.Manifest.Version, ManifestHash: sl.ManifestHash}, id)
	if err != nil {
		t.Fatal(err)
	}
	p, err := pkg.Read(bytes.NewReader(plain), int64(len(plain)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range p.Manifest.Attachments {
		names = append(names, f.Name)
	}
	want := []string{"attachments/audio/0000012345.wav", "attachments/audio/0000012346.wav", "attachments/index.json",
		"attachments/kege/0000012345.txt", "attachments/kege/0000012346.txt"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("attachments %q, want %q", names, want)
	}
	if string(p.Files["attachments/kege/0000012346.txt"]) != "1 24\n" {
		t.Errorf("КЕГЭ file content %q", p.Files["attachments/kege/0000012346.txt"])
	}
	var idx packaging.AttachmentIndex
	if err := json.Unmarshal(p.Files[pkg.AttachmentIndex], &idx); err != nil || len(idx.Files) != 4 {
		t.Fatalf("index %s: %v", p.Files[pkg.AttachmentIndex], err)
	}
	for _, f := range idx.Files {
		body := p.Files[f.File]
		if int64(len(body)) != f.Size || packaging.SHA256(body) != f.SHA256 || (f.Kind == attach.Audio) != (f.Seconds > 0) {
			t.Errorf("index entry %+v does not describe its file", f)
		}
	}

	sum, err := s.Packager("").MakeSummary("0101")
	if err != nil {
		t.Fatal(err)
	}
	if e := sum.Packages[0]; e.KEGE != 2 || e.Audio != 2 || math.Abs(e.AudioSeconds-4) > 0.01 || e.FilesLine() != "КЕГЭ 2 · аудио 2 (0:00:04)" {
		t.Errorf("summary entry %+v, line %q", e, e.FilesLine())
	}

	// ППЭ-15 counts them, per auditorium and in all.
	pdf, _, err := s.PrintProtocol("head", "0101")
	if err != nil {
		t.Fatal(err)
	}
	pdfPath := filepath.Join(t.TempDir(), "ppe15.pdf")
	os.WriteFile(pdfPath, pdf, 0o644)
	if out, err := exec.Command("qpdf", "--check", pdfPath).CombinedOutput(); err != nil {
		t.Fatalf("qpdf --check: %v\n%s", err, out)
	}
	text, err := exec.Command("pdftotext", "-layout", pdfPath, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"версия 1 · КЕГЭ 2 · аудио 2 (0:00:04)", "Файлы ответов КЕГЭ: 2; аудиозаписи устных ответов: 2, общая длительность 0:00:04"} {
		if !strings.Contains(string(text), want) {
			t.Errorf("ППЭ-15 lacks %q:\n%s", want, text)
		}
	}
	if dir := os.Getenv("GIASCAN_SHOTS"); dir != "" {
		exec.Command("pdftoppm", "-png", "-r", "80", pdfPath, filepath.Join(dir, "ppe15-attachments")).Run()
	}

	// Sealing again with the same files reuses the version.
	again, err := s.Seal(ctx, place, packaging.Bilevel)
	if err != nil || !again.Reused {
		t.Errorf("seal again: reused %v, %v", again != nil && again.Reused, err)
	}
}

// A big attachment streams: importing and sealing 256 MiB of answer
// files keeps the heap far below the file's size (the package is built
// through a temporary file and encrypted straight into the outbox).
func TestBigAttachmentSealsWithoutHoldingIt(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 256 MiB three times; skipped in -short mode")
	}
	s, _ := attachStation(t)
	ctx := context.Background()
	place := store.Place{PPE: "0101", Auditorium: "0012"}
	src := t.TempDir()
	big, err := os.Create(filepath.Join(src, "0000012345.bin"))
	if err != nil {
		t.Fatal(err)
	}
	const size = 256 << 20
	if err := big.Truncate(size); err != nil { // zeros, read as any file is
		t.Fatal(err)
	}
	big.Close()

	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	start := time.Now()
	rep, err := s.ImportAttachments(ctx, "op1", place, attach.KEGE, src)
	if err != nil || len(rep.Imported) != 1 || rep.Imported[0].Size != size {
		t.Fatalf("import: %+v %v", rep, err)
	}
	imported := time.Since(start)
	cl, err := s.CloseAuditorium(ctx, "op1", place, "проверка большого файла")
	close(stop)
	<-done
	if err != nil || cl.SealErr != nil {
		t.Fatalf("close: %v %v", err, cl.SealErr)
	}
	if cl.Sealed.Size < size {
		t.Errorf("sealed package of %d bytes holds less than the file", cl.Sealed.Size)
	}
	t.Logf("256 MiB attachment: import %v, seal %v, peak heap in use %.1f MiB",
		imported.Round(time.Millisecond), (time.Since(start) - imported).Round(time.Millisecond), float64(peak.Load())/(1<<20))
	if peak.Load() > 64<<20 {
		t.Errorf("peak heap %d MiB while importing and sealing a 256 MiB file", peak.Load()>>20)
	}
	if err := packaging.Verify(cl.Sealed); err != nil {
		t.Fatal(err)
	}
}

// A data folder that fills up during an import of recordings: the import
// is refused with a sentence that says to free space, the files already
// taken stay as they were, the copies of the failed import do not keep
// the space, and once space is freed the same import goes through.
func TestImportAttachmentsOnAFullDisk(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	s, _ := attachStationIn(t, dir)
	ctx := context.Background()
	place := store.Place{PPE: "0101", Auditorium: "0012"}
	kege := t.TempDir()
	os.WriteFile(filepath.Join(kege, "0000012345.txt"), []byte("1 23\n"), 0o644)
	if _, err := s.ImportAttachments(ctx, "op1", place, attach.KEGE, kege); err != nil {
		t.Fatal(err)
	}

	// Three recordings of 1 MiB each, on a disk with 2 MiB free.
	aud := t.TempDir()
	for _, k := range []string{"0000012345", "0000012346", "0000012347"} {
		attachtest.WriteWAV(t, filepath.Join(aud, k+".wav"), 8000, 65*time.Second)
	}
	free := func() int64 {
		var st syscall.Statfs_t
		syscall.Statfs(dir, &st)
		return int64(st.Bavail) * st.Bsize
	}
	filler := filepath.Join(dir, "filler")
	if err := os.WriteFile(filler, make([]byte, free()-2<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	before := free()
	_, err := s.ImportAttachments(ctx, "op1", place, attach.Audio, aud)
	if err == nil || !strings.Contains(err.Error(), "освободите место на диске") || strings.Contains(err.Error(), "не читается") {
		t.Fatalf("import on a full disk: %v, want a refusal that asks for space", err)
	}
	if got := free(); got < before-64<<10 {
		t.Errorf("the failed import keeps %d bytes of the disk", before-got)
	}
	list, err := s.Attachments(place)
	if err != nil {
		t.Fatal(err)
	}
	if len(list[0].Files) != 1 || len(list[1].Files) != 0 {
		t.Fatalf("after the failed import: %d КЕГЭ files, %d recordings; want 1 and 0", len(list[0].Files), len(list[1].Files))
	}

	// Space is freed and the same import is given again.
	os.Remove(filler)
	rep, err := s.ImportAttachments(ctx, "op1", place, attach.Audio, aud)
	if err != nil || len(rep.Imported) != 3 || rep.Count(attach.ProblemUnreadable) != 0 {
		t.Fatalf("import after freeing space: %v %+v", err, rep)
	}
	if list, _ := s.Attachments(place); len(list[0].Files) != 1 || len(list[1].Files) != 3 {
		t.Errorf("after freeing space: %+v", list)
	}
}
