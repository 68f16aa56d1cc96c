package main

import (
	"context"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-audio/audio"
	"github.com/go-audio/wav"

	"giascan/station"
	"giascan/station/attach"
	"giascan/station/exam"
	"giascan/station/store"
	"giascan/transport/receiver"
	"giascan/transport/seal"
)

// From the station to the РЦОИ's command line: a station imports a
// recording and a КЕГЭ answer file, closes the auditorium (which seals
// its package to this receiver's key), the receiver accepts the package,
// and `receiver documents` lists both, `documents get` writes the
// recording back byte for byte.
func TestDocumentsFromStationPackage(t *testing.T) {
	ctx := context.Background()
	rdir := filepath.Join(t.TempDir(), "rcoi")
	if code, out, errOut := runCmd(t, "keys", "init", "--data", rdir); code != 0 {
		t.Fatalf("keys init: %s%s", out, errOut)
	}
	rcv, err := receiver.Open(rdir, "")
	if err != nil {
		t.Fatal(err)
	}

	sdir := t.TempDir()
	st, err := station.Open(sdir, station.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pub, err := seal.GenerateStationKey(seal.KeyDir(sdir))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := seal.ImportRecipients(seal.KeyDir(sdir), strings.NewReader(rcv.Recipient()+"\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := receiver.AddStation(rdir, "0101", seal.FormatPublicKey(pub)); err != nil {
		t.Fatal(err)
	}
	if err := st.Store.SetExam(&exam.Exam{Level: 11, Subject: "09", Date: "2025-06-10", Region: "77", PPE: []exam.PPE{{Code: "0101",
		Auditoriums: []exam.Auditorium{{Number: "0012", Kits: []string{"0000012345"}}}}}}); err != nil {
		t.Fatal(err)
	}
	place := store.Place{PPE: "0101", Auditorium: "0012"}

	src := t.TempDir()
	f, _ := os.Create(filepath.Join(src, "0000012345.wav"))
	enc := wav.NewEncoder(f, 8000, 16, 1, 1)
	buf := &audio.IntBuffer{Format: &audio.Format{NumChannels: 1, SampleRate: 8000}, SourceBitDepth: 16, Data: make([]int, 12000)}
	for i := range buf.Data {
		buf.Data[i] = int(5000 * math.Sin(float64(i)/6))
	}
	enc.Write(buf)
	enc.Close()
	f.Close()
	wavData, _ := os.ReadFile(filepath.Join(src, "0000012345.wav"))
	if rep, err := st.ImportAttachments(ctx, "op1", place, attach.Audio, src); err != nil || len(rep.Imported) != 1 {
		t.Fatalf("import: %+v %v", rep, err)
	}
	cl, err := st.CloseAuditorium(ctx, "op1", place, "без листов")
	if err != nil || cl.SealErr != nil {
		t.Fatalf("close: %v %v", err, cl.SealErr)
	}
	sig, _ := os.ReadFile(cl.Sealed.Signature)
	ct, _ := os.ReadFile(cl.Sealed.Ciphertext)
	if _, err := rcv.Accept(ctx, sig, ct); err != nil {
		t.Fatal(err)
	}

	code, out, errOut := runCmd(t, "documents", "--data", rdir)
	if code != 0 || !strings.Contains(out, "ППЭ 0101, аудитория 0012: 11-77-0101-0012-09-20250610 v1") ||
		!strings.Contains(out, "attachments/audio/0000012345.wav") || !strings.Contains(out, "attachments/index.json") {
		t.Fatalf("documents: %d\n%s%s", code, out, errOut)
	}
	dst := filepath.Join(t.TempDir(), "a.wav")
	code, out, errOut = runCmd(t, "documents", "get", "--data", rdir, "--package", "11-77-0101-0012-09-20250610",
		"--name", "attachments/audio/0000012345.wav", "--out", dst)
	if code != 0 || !strings.Contains(out, "SHA-256 совпадает") {
		t.Fatalf("documents get: %d\n%s%s", code, out, errOut)
	}
	if got, _ := os.ReadFile(dst); string(got) != string(wavData) {
		t.Errorf("extracted %d bytes, want the %d of the recording", len(got), len(wavData))
	}
	if secs, err := attach.Duration(dst); err != nil || math.Abs(secs-1.5) > 0.01 {
		t.Errorf("extracted recording lasts %v s (%v), want 1.5", secs, err)
	}
	code, _, errOut = runCmd(t, "documents", "get", "--data", rdir, "--package", "11-77-0101-0012-09-20250610",
		"--name", "attachments/audio/0000099999.wav", "--out", filepath.Join(t.TempDir(), "b.wav"))
	if code != 2 || !strings.Contains(errOut, "нет акта или вложения") {
		t.Errorf("a missing attachment: exit %d, %s", code, errOut)
	}
}
