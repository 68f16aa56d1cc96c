package attach

import (
	"archive/zip"
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"giascan/station/attach/attachtest"
)

// testdata/tone-2s.mp3 is a 2-second 440 Hz tone, made by LAME 3.100 from
// the WAV that attachtest.WriteWAV(…, 16000, 2s) writes:
//
//	lame --quiet -b 32 -m m tone.wav testdata/tone-2s.mp3

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestDurations(t *testing.T) {
	dir := t.TempDir()
	w := filepath.Join(dir, "a.wav")
	attachtest.WriteWAV(t, w, 16000, 3500*time.Millisecond)
	if got, err := Duration(w); err != nil || math.Abs(got-3.5) > 0.01 {
		t.Errorf("WAV of 3.5 s: %v s, %v", got, err)
	}
	// LAME adds its encoder delay and padding: a few dozen milliseconds.
	if got, err := Duration("testdata/tone-2s.mp3"); err != nil || got < 1.95 || got > 2.15 {
		t.Errorf("MP3 of 2 s: %v s, %v", got, err)
	}
	txt := filepath.Join(dir, "a.mp3")
	os.WriteFile(txt, []byte("это не звук, а текст\n"), 0o644)
	if _, err := Duration(txt); err == nil {
		t.Error("a text file named .mp3 has a duration")
	}
	fake := filepath.Join(dir, "b.wav")
	os.WriteFile(fake, []byte("RIFF\x10\x00\x00\x00WAVEjunkjunkjunk"), 0o644)
	if _, err := Duration(fake); err == nil {
		t.Error("a cut WAV header has a duration")
	}
}

var plan = Plan{PPE: "0101", Auditorium: "0012", Kits: []string{"0000012345", "0000012346", "0000012347"}}

// Audio of three planned kits: one good WAV, one good MP3, one empty
// file, one that is not audio, one of a kit not planned and one with no
// kit in its name. The good two are taken, each other is reported once
// with a Russian sentence naming the file.
func TestStageAudioProblems(t *testing.T) {
	src := t.TempDir()
	attachtest.WriteWAV(t, filepath.Join(src, "0000012345.wav"), 16000, 2*time.Second)
	copyFile(t, "testdata/tone-2s.mp3", filepath.Join(src, "0000012346.mp3"))
	os.WriteFile(filepath.Join(src, "0000012347.wav"), nil, 0o644)
	os.WriteFile(filepath.Join(src, "0000012347_копия.mp3"), []byte("просто текст, не запись"), 0o644)
	attachtest.WriteWAV(t, filepath.Join(src, "0000099999.wav"), 8000, time.Second)
	os.WriteFile(filepath.Join(src, "readme.txt"), []byte("список"), 0o644)

	d := FolderOf(t.TempDir(), "0101", "0012")
	s, err := Open(src)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := d.Stage(context.Background(), Audio, plan, s, "op1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Imported) != 2 {
		t.Fatalf("imported %+v, want the WAV and the MP3", rep.Imported)
	}
	for kind, file := range map[string]string{ProblemEmpty: "0000012347.wav", ProblemNotAudio: "0000012347_копия.mp3",
		ProblemExtra: "0000099999.wav", ProblemBadName: "readme.txt"} {
		if rep.Count(kind) != 1 {
			t.Errorf("%s: %d problems, want 1: %+v", kind, rep.Count(kind), rep.Problems)
			continue
		}
		for _, p := range rep.Problems {
			if p.Kind == kind && (p.File != file || !strings.Contains(p.Text, file) || !strings.Contains(p.Text, "не принят")) {
				t.Errorf("%s: %+v", kind, p)
			}
		}
	}
	x := &Index{}
	Merge(x, rep, plan)
	// Kit 0000012347's files were refused and said so: not told again as
	// missing.
	if rep.Count(ProblemMissing) != 0 || rep.Present != 2 || rep.Planned != 3 {
		t.Errorf("after merge: missing %d, present %d of %d", rep.Count(ProblemMissing), rep.Present, rep.Planned)
	}
	if math.Abs(rep.Seconds-4) > 0.2 {
		t.Errorf("total duration %v s, want about 4", rep.Seconds)
	}
	if err := d.Save(x); err != nil {
		t.Fatal(err)
	}
	// Only the two taken files are left in the folder.
	ents, _ := os.ReadDir(filepath.Join(string(d), Audio))
	if len(ents) != 2 {
		t.Errorf("audio folder holds %d files, want 2", len(ents))
	}
	back, err := d.Load()
	if err != nil || len(back.Files) != 2 || back.Files[0].Name != "0000012345.wav" || back.Files[1].Name != "0000012346.mp3" {
		t.Fatalf("index %+v, %v", back, err)
	}
}

// A file over the cap is refused from its stated size, unread (a sparse
// file: no gigabytes written), and the other file of the archive is taken.
func TestStageRefusesFileOverCapUnread(t *testing.T) {
	src := t.TempDir()
	big := filepath.Join(src, "0000012345.wav")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(5 << 30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	attachtest.WriteWAV(t, filepath.Join(src, "0000012346.wav"), 8000, time.Second)
	d := FolderOf(t.TempDir(), "0101", "0012")
	s, _ := Open(src)
	start := time.Now()
	rep, err := d.Stage(context.Background(), Audio, plan, s, "op1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("the import took %v: the big file was read", time.Since(start))
	}
	if rep.Count(ProblemTooBig) != 1 || len(rep.Imported) != 1 || rep.Imported[0].Kit != "0000012346" {
		t.Fatalf("report %+v", rep)
	}
	if p := rep.Problems[0]; !strings.Contains(p.Text, "5120 МиБ") || !strings.Contains(p.Text, "512 МиБ") {
		t.Errorf("sentence %q does not state the size and the cap", p.Text)
	}
}

// КЕГЭ answer files from a zip archive, one planned kit without a good
// file: its damaged file is reported unreadable, and the kit missing.
func TestStageKEGEFromZip(t *testing.T) {
	zpath := filepath.Join(t.TempDir(), "аудитория-0012.zip")
	zf, _ := os.Create(zpath)
	zw := zip.NewWriter(zf)
	for name, body := range map[string]string{"ответы/0000012345.txt": "1 23\n2 abc\n", "ответы/0000012346.txt": "1 24\n"} {
		w, _ := zw.Create(name)
		w.Write([]byte(body))
	}
	// A third file stored uncompressed, whose bytes are then damaged in
	// the archive: its checksum fails when it is read.
	w, _ := zw.CreateHeader(&zip.FileHeader{Name: "ответы/0000012347.txt", Method: zip.Store})
	w.Write([]byte("ПОВРЕЖДЁННЫЙ-ОТВЕТ"))
	zw.Close()
	zf.Close()
	raw, _ := os.ReadFile(zpath)
	i := strings.Index(string(raw), "ПОВРЕЖДЁННЫЙ")
	raw[i] ^= 0xFF
	os.WriteFile(zpath, raw, 0o644)
	if !IsArchive(zpath) || IsArchive("0000012345.zip") {
		t.Error("IsArchive")
	}
	d := FolderOf(t.TempDir(), "0101", "0012")
	s, err := Open(zpath)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rep, err := d.Stage(context.Background(), KEGE, plan, s, "op1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	x := &Index{}
	Merge(x, rep, plan)
	// The refused file is told once; the kit still shows as missing in
	// the auditorium's list.
	if len(rep.Imported) != 2 || rep.Count(ProblemUnreadable) != 1 || len(rep.Problems) != 1 {
		t.Fatalf("report %+v", rep)
	}
	if p := rep.Problems[0]; p.Kind != ProblemUnreadable || !strings.Contains(p.Text, "0000012347.txt") || !strings.Contains(p.Text, "не читается") {
		t.Errorf("unreadable: %+v", p)
	}
	if m := Missing(x, KEGE, plan); len(m) != 1 || m[0].Kit != "0000012347" || !strings.Contains(m[0].Text, "Нет файла комплекта 0000012347") {
		t.Errorf("missing after the import: %+v", m)
	}
	if _, err := Open(filepath.Join(t.TempDir(), "нет-такой")); err == nil {
		t.Error("a missing folder opens")
	}
}

// An auditorium whose kits the exam file does not list takes every file
// named by a kit number and calls none missing or extra.
func TestStageWithoutPlannedKits(t *testing.T) {
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "0000055555.txt"), []byte("1 1\n"), 0o644)
	os.WriteFile(filepath.Join(src, "0000066666.txt"), []byte("1 2\n"), 0o644)
	open := Plan{PPE: "0101", Auditorium: "0014"}
	d := FolderOf(t.TempDir(), "0101", "0014")
	s, _ := Open(src)
	rep, err := d.Stage(context.Background(), KEGE, open, s, "op1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	x := &Index{}
	Merge(x, rep, open)
	if len(rep.Imported) != 2 || len(rep.Problems) != 0 || rep.Planned != 0 {
		t.Fatalf("report %+v", rep)
	}
}
