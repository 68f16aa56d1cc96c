package receiver_test

import (
	"bytes"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/go-audio/audio"
	"github.com/go-audio/wav"

	"giascan/transport/pkg"
	"giascan/transport/receiver"
)

// realWAV writes a WAV of a tone with the go-audio encoder.
func realWAV(t *testing.T, path string, seconds float64) []byte {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	e := wav.NewEncoder(f, 8000, 16, 1, 1)
	buf := &audio.IntBuffer{Format: &audio.Format{NumChannels: 1, SampleRate: 8000}, SourceBitDepth: 16, Data: make([]int, int(seconds*8000))}
	for i := range buf.Data {
		buf.Data[i] = int(7000 * math.Sin(float64(i)/5))
	}
	if err := e.Write(buf); err != nil {
		t.Fatal(err)
	}
	e.Close()
	f.Close()
	b, _ := os.ReadFile(path)
	return b
}

// An auditorium package with a КЕГЭ answer file and a recording, and a
// closing set with an acceptance act and two incident acts, accepted by a
// real receiver: both commands' listing and the staff pages show every
// act and attachment, each is extracted byte for byte, and the board
// counts the incident acts of the ППЭ.
func TestReceiverListsAndExtractsActsAndAttachments(t *testing.T) {
	ctx := t.Context()
	f, ex, wavData, kegeData := acceptDocuments(t)

	docs, err := f.rcv.Documents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range docs {
		names = append(names, d.Auditorium+":"+d.Name)
	}
	want := "0007:attachments/audio/0000012345.wav 0007:attachments/index.json 0007:attachments/kege/0000012345.txt " +
		":acts/acceptance.json :acts/incident-1.json :acts/incident-1.pdf :acts/incident-2.json"
	if strings.Join(names, " ") != want {
		t.Fatalf("documents %q\nwant %q", strings.Join(names, " "), want)
	}

	var got bytes.Buffer
	if _, err := f.rcv.ExtractDocument(ctx, pkg.PackageID(ex), 0, "attachments/audio/0000012345.wav", &got); err != nil || !bytes.Equal(got.Bytes(), wavData) {
		t.Fatalf("extracted WAV: %d bytes, want %d; %v", got.Len(), len(wavData), err)
	}
	if _, err := f.rcv.ExtractDocument(ctx, pkg.PackageID(ex), 0, "page-0001.tif", &got); err == nil {
		t.Error("a page image was served as a document")
	}

	st, err := f.rcv.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.PPE) != 1 || st.PPE[0].Incidents == nil || *st.PPE[0].Incidents != 2 {
		t.Fatalf("incidents of ППЭ 1234: %+v", st.PPE)
	}

	base := f.serve(t, ctx)
	if code, _ := get(t, &http.Client{}, base+receiver.DocumentsPath); code != http.StatusUnauthorized {
		t.Errorf("documents without an account: %d", code)
	}
	code, page := get(t, nil, base+receiver.DocumentsPath)
	if code != http.StatusOK || !strings.Contains(page, "attachments/audio/0000012345.wav") || !strings.Contains(page, "acts/incident-2.json") {
		t.Fatalf("documents page %d:\n%s", code, page)
	}
	q := url.Values{"package": {pkg.PackageID(ex)}, "name": {"attachments/kege/0000012345.txt"}}
	if code, body := get(t, nil, base+receiver.DocumentPath+"?"+q.Encode()); code != http.StatusOK || body != string(kegeData) {
		t.Errorf("КЕГЭ file over HTTP: %d %q", code, body)
	}
	q.Set("name", "acts/incident-9.json")
	if code, _ := get(t, nil, base+receiver.DocumentPath+"?"+q.Encode()); code != http.StatusNotFound {
		t.Errorf("a missing act: %d", code)
	}
	if code, board := get(t, nil, base+"/"); code != http.StatusOK || !strings.Contains(board, `<td class="incidents" rowspan="2">2</td>`) {
		t.Errorf("board %d lacks the incident count:\n%s", code, board)
	}
}

// acceptDocuments makes a real receiver accept an auditorium package with
// a recording and a КЕГЭ answer file, and a closing set with an
// acceptance act and two incident acts.
func acceptDocuments(t *testing.T) (f *fixture, ex pkg.Exam, wavData, kegeData []byte) {
	t.Helper()
	ctx := t.Context()
	f = newFixture(t)
	dir := t.TempDir()
	wavData = realWAV(t, filepath.Join(dir, "0000012345-a.wav"), 2)
	kegeData = []byte("1 23\n2 abc\n")
	os.WriteFile(filepath.Join(dir, "k.txt"), kegeData, 0o644)

	ex = pkg.Exam{Level: 9, Region: "50", PPE: "1234", Auditorium: "0007", Subject: "01", Date: "20250601"}
	b := pkg.NewBuilder(pkg.Manifest{Format: pkg.FormatVersion, Exam: ex, Station: "st-1", ID: pkg.PackageID(ex), Version: 1, Created: time.Now()})
	b.AddPage(pkg.Page{Seq: 1, Type: "11", File: "page-0001.tif"}, bytes.NewReader(image(t, 500)))
	if err := b.AddAttachmentFile("attachments/audio/0000012345.wav", filepath.Join(dir, "0000012345-a.wav")); err != nil {
		t.Fatal(err)
	}
	if err := b.AddAttachmentFile("attachments/kege/0000012345.txt", filepath.Join(dir, "k.txt")); err != nil {
		t.Fatal(err)
	}
	b.AddAttachment(pkg.AttachmentIndex, strings.NewReader(`{"files":[]}`))
	var tb bytes.Buffer
	hash, err := b.Write(&tb)
	if err != nil {
		t.Fatal(err)
	}
	ct, sig := f.sealTar(t, tb.Bytes(), f.station, b.Manifest(), hash)
	if _, err := f.rcv.Accept(ctx, sig, ct); err != nil {
		t.Fatal(err)
	}

	closing := pkg.Exam{Level: 9, Region: "50", PPE: "1234", Subject: "01", Date: "20250601"}
	cb := pkg.NewBuilder(pkg.Manifest{Format: pkg.FormatVersion, Exam: closing, Station: "st-1", ID: pkg.PackageID(closing), Version: 1, Created: time.Now()})
	for _, name := range []string{"acts/acceptance.json", "acts/incident-1.json", "acts/incident-2.json", "acts/incident-1.pdf"} {
		if err := cb.AddAct(name, strings.NewReader(`{"act":"`+name+`"}`)); err != nil {
			t.Fatal(err)
		}
	}
	tb.Reset()
	hash, err = cb.Write(&tb)
	if err != nil {
		t.Fatal(err)
	}
	ct, sig = f.sealTar(t, tb.Bytes(), f.station, cb.Manifest(), hash)
	if _, err := f.rcv.Accept(ctx, sig, ct); err != nil {
		t.Fatal(err)
	}

	return f, ex, wavData, kegeData
}

// The documents page and the board with its incident count, in Chromium.
func TestDocumentsPageInBrowser(t *testing.T) {
	f, _, _, _ := acceptDocuments(t)
	base := f.serve(t, t.Context())
	bctx, shots := startBrowser(t)
	var docs, incidents string
	if err := chromedp.Do(bctx,
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS("#board")),
		into(&incidents, chromedp.Text(chromedp.CSS(`tr[data-ppe="1234"] td.incidents`))),
		screenshot(filepath.Join(shots, "rcoi-board-incidents.png")),
		chromedp.Click(chromedp.CSS("#documents-link")),
		chromedp.WaitVisible(chromedp.CSS("#documents")),
		into(&docs, chromedp.Text(chromedp.CSS("#documents"))),
		screenshot(filepath.Join(shots, "rcoi-documents.png")),
	); err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(incidents) != "2" {
		t.Errorf("incident acts on the board: %q", incidents)
	}
	for _, want := range []string{"attachments/audio/0000012345.wav", "acts/incident-2.json", "итоговый комплект"} {
		if !strings.Contains(docs, want) {
			t.Errorf("documents page lacks %q:\n%s", want, docs)
		}
	}
}
