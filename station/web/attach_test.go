package web

import (
	"archive/zip"
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"giascan/station/attach"
	"giascan/station/attach/attachtest"
	"giascan/station/exam"
	"giascan/station/store"
	"giascan/station/web/browsertest"
)

// wavBytes is a real WAV of a tone, seconds long, made with go-audio.
func wavBytes(t *testing.T, seconds float64) []byte {
	t.Helper()
	p := filepath.Join(t.TempDir(), "a.wav")
	attachtest.WriteWAV(t, p, 8000, time.Duration(seconds*float64(time.Second)))
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type upFile struct {
	name string
	data []byte
}

// postFiles posts the attachments form: fields in the order the page's
// form has them (the token first), then the files.
func (c *client) postFiles(token, ppe, aud, kind string, files []upFile) resp {
	c.t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	if token != "" {
		w.WriteField("csrf", token)
	}
	w.WriteField("ppe", ppe)
	w.WriteField("aud", aud)
	w.WriteField("kind", kind)
	for _, f := range files {
		fw, _ := w.CreateFormFile("files", f.name)
		fw.Write(f.data)
	}
	w.Close()
	req, _ := http.NewRequest("POST", c.f.http.URL+attachPath, &b)
	req.Header.Set("Content-Type", w.FormDataContentType())
	return c.do(req)
}

// Audio uploaded in the browser: the good recording is taken with its
// duration, the empty and the non-audio file are named in Russian on the
// page, the missing kit too; a forged upload writes nothing; a closed
// auditorium takes nothing and says why.
func TestAttachmentsUploadedOnAuditoriumPage(t *testing.T) {
	f := newFixture(t)
	ex := &exam.Exam{Level: 9, Subject: "09", Date: "2025-05-27", Region: "77", PPE: []exam.PPE{{Code: "0101",
		Auditoriums: []exam.Auditorium{{Number: "0012", Kits: []string{"0000012345", "0000012346", "0000012347", "0000012348"}}}}}}
	if err := f.st.SetExam(ex); err != nil {
		t.Fatal(err)
	}
	c := f.client(t)
	c.mustSignIn("oper")
	page := "/auditorium/0101/0012"
	tok := c.token(page)
	if r := c.get(page); !strings.Contains(r.body, `id="attach-form"`) {
		t.Fatalf("no attachments form on the auditorium page:\n%s", r.body)
	}

	if r := c.postFiles("", "0101", "0012", attach.Audio, []upFile{{"0000012345.wav", wavBytes(t, 1)}}); r.code != http.StatusForbidden {
		t.Fatalf("forged upload: %d", r.code)
	}
	if x, _ := attach.FolderOf(f.dir, "0101", "0012").Load(); len(x.Files) != 0 {
		t.Fatal("a forged upload was imported")
	}

	r := c.postFiles(tok, "0101", "0012", attach.Audio, []upFile{
		{"0000012345.wav", wavBytes(t, 3)},
		{"0000012346.wav", nil},
		{"0000012347.mp3", []byte("<html>это страница, а не запись</html>")},
	})
	if r.code != http.StatusOK {
		t.Fatalf("upload: %d\n%s", r.code, r.body)
	}
	for _, want := range []string{"принято 1; есть у 1 из 4 комплектов", "0000012345.wav ← 0000012345.wav", "0:00:03",
		"Файл 0000012346.wav комплекта 0000012346 пустой (0 байт) и не принят",
		"Файл 0000012347.mp3 комплекта 0000012347 не принят как аудиозапись: по содержимому это не WAV и не MP3",
		"Нет файла комплекта 0000012348"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	// Nothing of the upload is left outside the auditorium's folder.
	if ups, _ := filepath.Glob(filepath.Join(f.dir, "attachments", ".tmp-*")); len(ups) != 0 {
		t.Errorf("upload folders left: %q", ups)
	}

	// КЕГЭ answer files as one zip archive, as the exam's computers give them.
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	for _, k := range []string{"0000012345", "0000012346"} {
		w, _ := zw.Create("КЕГЭ/" + k + ".txt")
		w.Write([]byte("1 17\n"))
	}
	zw.Close()
	r = c.postFiles(tok, "0101", "0012", attach.KEGE, []upFile{{"аудитория 0012.zip", zb.Bytes()}})
	if r.code != http.StatusOK || !strings.Contains(r.body, "Файлы ответов КЕГЭ: принято 2; есть у 2 из 4 комплектов") {
		t.Fatalf("zip upload: %d\n%s", r.code, r.body)
	}

	if err := f.st.SetClosure(store.Closure{Place: store.Place{PPE: "0101", Auditorium: "0012"}, By: "oper"}); err != nil {
		t.Fatal(err)
	}
	r = c.postFiles(tok, "0101", "0012", attach.Audio, []upFile{{"0000012346.wav", wavBytes(t, 1)}})
	if r.code != http.StatusUnprocessableEntity || !strings.Contains(r.body, "закрыта") || !strings.Contains(r.body, "файлы в неё не принимаются") {
		t.Fatalf("upload into a closed auditorium: %d\n%s", r.code, r.body)
	}
	if x, _ := attach.FolderOf(f.dir, "0101", "0012").Load(); len(x.Files) != 3 {
		t.Errorf("%d files after the refused upload, want 3", len(x.Files))
	}
}

// In Chromium: the operator picks a recording, an empty file and a page
// saved as .mp3 in the file picker of the auditorium page; the browser
// sends them as it does (multipart), and the page shows the recording
// taken with its duration and the two others named with what to do.
func TestAttachmentsUploadInBrowser(t *testing.T) {
	needBrowser(t)
	f := newFixture(t)
	ex := &exam.Exam{Level: 11, Subject: "09", Date: "2025-05-27", Region: "77", PPE: []exam.PPE{{Code: "0101",
		Auditoriums: []exam.Auditorium{{Number: "0012", Kits: []string{"0000012345", "0000012346", "0000012347", "0000012348"}}}}}}
	if err := f.st.SetExam(ex); err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	files := map[string][]byte{"0000012345.wav": wavBytes(t, 75), "0000012346.wav": nil, "0000012347.mp3": []byte("<html>не запись</html>")}
	var paths []string
	for name, data := range files {
		p := filepath.Join(src, name)
		os.WriteFile(p, data, 0o644)
		paths = append(paths, p)
	}
	b := startBrowser(t, f.http.URL, 60*time.Second)
	var report, taken string
	if err := chromedp.Do(b.ctx,
		b.signIn("oper"),
		chromedp.Navigate(f.http.URL+"/auditorium/0101/0012"),
		chromedp.WaitVisible(chromedp.CSS("#attach-form")),
		chromedp.SetValue(chromedp.CSS("#attach-kind"), attach.Audio),
		chromedp.SetUploadFiles(chromedp.CSS("#attach-files"), paths),
		chromedp.Click(chromedp.CSS("#attach-upload")),
		chromedp.WaitVisible(chromedp.CSS("#attach-report")),
		browsertest.Into(&report, chromedp.Text(chromedp.CSS("#attach-report"))),
		browsertest.Into(&taken, chromedp.Text(chromedp.CSS("#attach-audio"))),
		b.shot("attach-audio-import.png"),
	); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"принято 1; есть у 1 из 4 комплектов", "0:01:15", "пустой (0 байт)", "не принят как аудиозапись", "Нет файла комплекта 0000012348"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	if !strings.Contains(taken, "0000012345.wav") || !strings.Contains(taken, "0:01:15") {
		t.Errorf("audio table: %q", taken)
	}
}

// An uploaded file over the cap is not written past it: it keeps its
// real length as a sparse file, so the import refuses it by its size.
func TestUploadOverCapIsNotWritten(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 512 MiB; skipped in -short mode")
	}
	p := filepath.Join(t.TempDir(), "0000012345.wav")
	const size = attach.MaxFileSize + 300<<20
	if err := saveUploaded(p, io.LimitReader(zeros{}, size)); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil || fi.Size() != size {
		t.Fatalf("size %d, want %d (%v)", fi.Size(), int64(size), err)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Blocks*512 > attach.MaxFileSize+16<<20 {
		t.Errorf("%d MiB written to disk, want at most the cap", st.Blocks*512>>20)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }
