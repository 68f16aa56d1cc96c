package web

import (
	"bytes"
	"fmt"
	"go/scanner"
	"go/token"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"giascan/forms"
	"giascan/station/store"
)

// pageOf returns the first active page of type typ of the fixture.
func pageOf(t *testing.T, s *scanned, typ string) store.Page {
	t.Helper()
	pages, err := s.st.Pages(s.place)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pages {
		if p.Status == store.Active && p.Result != nil && p.Result.Type == typ {
			return p
		}
	}
	t.Fatalf("no page of type %s", typ)
	return store.Page{}
}

// setResult changes the stored result of page p with change.
func setResult(t *testing.T, s *scanned, p store.Page, change func(r *forms.PageResult)) store.Page {
	t.Helper()
	res := *p.Result
	res.Digits = map[string]string{}
	for k, v := range p.Result.Digits {
		res.Digits[k] = v
	}
	res.Review = slices.Clone(p.Result.Review)
	change(&res)
	res.NeedsReview = len(res.Review) > 0
	if err := s.st.SetResult(p.Ref, p.Rev, res); err != nil {
		t.Fatal(err)
	}
	p.Result = &res
	return p
}

// postFile posts a multipart form with one file.
func (c *client) postFile(path string, fields url.Values, field, name string, data []byte) resp {
	c.t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for k, vs := range fields {
		for _, v := range vs {
			w.WriteField(k, v)
		}
	}
	if name != "" {
		fw, _ := w.CreateFormFile(field, name)
		fw.Write(data)
	}
	w.Close()
	req, _ := http.NewRequest("POST", c.f.http.URL+path, &b)
	req.Header.Set("Content-Type", w.FormDataContentType())
	return c.do(req)
}

func otherCode(code string) string {
	n, _ := strconv.Atoi(code)
	return strconv.Itoa(10000 + (n+1)%10000)[1:]
}

// A ППЭ code that is not this exam's is refused when typed and when
// confirmed as read, naming the field; the field keeps waiting.
func TestReviewRefusesValuesOfAnotherExam(t *testing.T) {
	s := newScanned(t)
	p := pageOf(t, s, forms.TypeBO1)
	p = setResult(t, s, p, func(r *forms.PageResult) { r.Review = append(r.Review, "ppe") })
	c := s.client(t)
	c.mustSignIn("oper")
	tok := c.token("/review")
	form := url.Values{"csrf": {tok}, "ppe": {s.place.PPE}, "aud": {s.place.Auditorium}, "seq": {strconv.Itoa(p.Seq)},
		"rev": {strconv.Itoa(p.Rev)}, "field": {"ppe"}, "value": {otherCode(s.place.PPE)}}
	r := c.post("/review", form)
	if r.code != http.StatusUnprocessableEntity || !strings.Contains(r.body, "«Код ППЭ»") || !strings.Contains(r.body, "не код этого ППЭ") {
		t.Errorf("a foreign ППЭ code typed: %d\n%s", r.code, r.body)
	}
	for _, tc := range []struct{ field, value, want string }{
		{"auditorium", "0099", "не эта аудитория"},
		{"subject", otherCode(p.Result.Digits["subject"])[2:], "не предмет этого экзамена"},
		{"date", "010199", "не дата этого экзамена"},
	} {
		f := url.Values{}
		for k, v := range form {
			f[k] = v
		}
		f.Set("field", tc.field)
		f.Set("value", tc.value)
		p = setResult(t, s, s.page(t, p.Seq), func(r *forms.PageResult) { r.Review = append(r.Review, tc.field) })
		if r := c.post("/review", f); r.code != http.StatusUnprocessableEntity || !strings.Contains(r.body, tc.want) {
			t.Errorf("%s=%s: %d\n%s", tc.field, tc.value, r.code, r.body)
		}
	}
	// Read as another ППЭ's code: Enter (confirm as read) is refused too.
	p = setResult(t, s, s.page(t, p.Seq), func(r *forms.PageResult) { r.Digits["ppe"] = otherCode(s.place.PPE) })
	form.Set("value", "")
	if r := c.post("/review", form); r.code != http.StatusUnprocessableEntity || !strings.Contains(r.body, "«Код ППЭ»") {
		t.Errorf("a foreign ППЭ code confirmed as read: %d\n%s", r.code, r.body)
	}
	got := s.page(t, p.Seq)
	if !slices.Contains(got.Result.Review, "ppe") || got.Result.Digits["ppe"] != otherCode(s.place.PPE) {
		t.Errorf("after the refusals: review %v, ppe %q", got.Result.Review, got.Result.Digits["ppe"])
	}
	// The page viewer flags it.
	if r := c.get(pageURL(p.Ref)); !strings.Contains(r.body, "не этого экзамена") {
		t.Errorf("the viewer does not flag the foreign code:\n%s", r.body)
	}
	// The right code is taken.
	form.Set("value", s.place.PPE)
	if r := c.post("/review", form); r.code != http.StatusSeeOther {
		t.Errorf("the right code: %d\n%s", r.code, r.body)
	}
}

// The head's ППЭ-13-02-МАШ screen flags a ППЭ code not of this ППЭ and
// refuses to confirm it.
func TestForm1302ForeignCodeStaysFlagged(t *testing.T) {
	s := newScanned(t)
	p, truth := addForm1302(t, s, "row01.present")
	foreign := otherCode(s.place.PPE)
	p = setResult(t, s, p, func(r *forms.PageResult) {
		r.Digits["row01.present"] = truth
		r.Review = nil
		r.Digits["ppe"] = foreign
	})
	head := s.client(t)
	head.mustSignIn("head")
	path := "/form1302/" + s.place.PPE
	r := head.get(path)
	if !regexp.MustCompile(`id="f-ppe" value="`+foreign+`"[^>]*class="uncertain"`).MatchString(r.body) || !strings.Contains(r.body, "не код этого ППЭ") {
		t.Fatalf("the foreign code is not flagged:\n%s", r.body)
	}
	tok := head.token(path)
	form := url.Values{"csrf": {tok}, "aud": {p.Ref.Auditorium}, "seq": {strconv.Itoa(p.Seq)}, "rev": {strconv.Itoa(p.Rev)}, "ppe": {foreign}}
	if r := head.post(path, form); r.code != http.StatusUnprocessableEntity || !strings.Contains(r.body, "«Код ППЭ»") {
		t.Errorf("confirming a foreign code: %d\n%s", r.code, r.body)
	}
	if all, _ := s.st.Forms1302(); len(all) != 0 {
		t.Fatal("a foreign ППЭ code was confirmed")
	}
	form.Set("ppe", s.place.PPE)
	if r := head.post(path, form); r.code != http.StatusSeeOther {
		t.Errorf("confirming the right code: %d\n%s", r.code, r.body)
	}
}

// A correction is undone from the page viewer: the value and its flag
// come back, the undo is on record, and it cannot be undone twice.
func TestReviewUndo(t *testing.T) {
	s := newScanned(t)
	// A field that names nothing of the exam, so any digits are taken.
	bo1 := pageOf(t, s, forms.TypeBO1)
	s.field, s.value = "variant", bo1.Result.Digits["variant"]
	setResult(t, s, bo1, func(r *forms.PageResult) { r.Review = []string{"variant"} })
	if s.value == "" || s.value == "7" {
		t.Fatalf("variant reads %q", s.value)
	}
	c := s.client(t)
	c.mustSignIn("oper")
	tok := c.token("/review")
	form := url.Values{"csrf": {tok}, "ppe": {s.place.PPE}, "aud": {s.place.Auditorium}, "seq": {strconv.Itoa(bo1.Seq)}, "rev": {"0"}, "field": {s.field}, "value": {"7"}}
	if r := c.post("/review", form); r.code != http.StatusSeeOther || !strings.Contains(r.location, "%D0%9E%D1%82%D0%BC%D0%B5%D0%BD") {
		t.Fatalf("correct: %d %s\n%s", r.code, r.location, r.body)
	}
	if p := s.page(t, bo1.Seq); p.Result.Digits[s.field] != "7" || p.Result.NeedsReview {
		t.Fatalf("after the correction: %v", p.Result.Digits[s.field])
	}
	r := c.get(pageURL(bo1.Ref))
	m := regexp.MustCompile(`name="entry" value="(\d+)"`).FindStringSubmatch(r.body)
	if m == nil || !strings.Contains(r.body, "«"+s.value+"» → «7»") {
		t.Fatalf("the viewer lists no correction to undo:\n%s", r.body)
	}
	ptok := c.token(pageURL(bo1.Ref))
	undo := url.Values{"csrf": {ptok}, "rev": {"0"}, "entry": {m[1]}}
	if r := c.post(pageURL(bo1.Ref)+"/undo", undo); r.code != http.StatusSeeOther {
		t.Fatalf("undo: %d\n%s", r.code, r.body)
	}
	p := s.page(t, bo1.Seq)
	if p.Result.Digits[s.field] != s.value || !slices.Contains(p.Result.Review, s.field) || !p.Result.NeedsReview {
		t.Errorf("after the undo: %s=%q review %v", s.field, p.Result.Digits[s.field], p.Result.Review)
	}
	if !strings.Contains(s.auditText(t), `"review.undo"`) {
		t.Error("the undo is not in the audit log")
	}
	if r := c.post(pageURL(bo1.Ref)+"/undo", undo); r.code != http.StatusUnprocessableEntity || !strings.Contains(r.body, "уже отменено") {
		t.Errorf("undo twice: %d\n%s", r.code, r.body)
	}
	if r := c.get(pageURL(bo1.Ref)); strings.Contains(r.body, `name="entry"`) {
		t.Error("an undone correction is still offered for undo")
	}
}

// A closed auditorium refuses every correction of a sheet with a Russian
// sentence, and its page offers none.
func TestPageFixesRefusedInClosedAuditorium(t *testing.T) {
	s := newScanned(t)
	img := s.page(t, 2)
	data, err := s.st.Image(img)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.st.SetClosure(store.Closure{Place: s.place, By: "head", At: time.Now(), Reason: "проверка"}); err != nil {
		t.Fatal(err)
	}
	c := s.client(t)
	c.mustSignIn("oper")
	path := s.pagePath(1)
	r := c.get(path)
	if !strings.Contains(r.body, `id="closed"`) || strings.Contains(r.body, `id="rescan"`) {
		t.Errorf("a closed auditorium's page offers corrections:\n%s", r.body)
	}
	tok := c.token("/review")
	base := url.Values{"csrf": {tok}, "rev": {"0"}, "device": {"sim"}}
	for _, tc := range []struct {
		action string
		file   bool
	}{{"rescan", false}, {"recognize", false}, {"replace", true}, {"insert", true}} {
		var r resp
		if tc.file {
			f := url.Values{"csrf": {tok}, "rev": {"0"}, "source": {"file"}}
			r = c.postFile(path+"/"+tc.action, f, "image", "sheet.png", data)
		} else {
			r = c.post(path+"/"+tc.action, base)
		}
		if r.code != http.StatusUnprocessableEntity || !strings.Contains(r.body, "закрыта") || !strings.Contains(r.body, "Ничего не изменено") {
			t.Errorf("%s in a closed auditorium: %d\n%s", tc.action, r.code, r.body)
		}
	}
	pages, _ := s.st.Pages(s.place)
	if p := s.page(t, 1); p.Rev != 0 || len(pages) != s.dup {
		t.Errorf("a closed auditorium changed: rev %d, %d pages", p.Rev, len(pages))
	}
}

// Rescan, replace, insert before a page and recognising again work from
// the page viewer, through the station's recognizer, and are on record.
func TestPageRescanReplaceInsertRecognize(t *testing.T) {
	s := newScanned(t)
	c := s.client(t)
	c.mustSignIn("oper")
	path := s.pagePath(2)
	other, err := s.st.Image(s.page(t, 3))
	if err != nil {
		t.Fatal(err)
	}
	want := s.page(t, 3).Result.Barcode
	tok := c.token(path)
	rev := func(seq int) string { return strconv.Itoa(s.page(t, seq).Rev) }

	// Replace from a file: the page keeps its number, reads as the sheet of the file.
	f := url.Values{"csrf": {tok}, "rev": {rev(2)}, "reason": {"скан смазан"}}
	if r := c.postFile(path+"/replace", f, "image", "", nil); r.code != http.StatusUnprocessableEntity || !strings.Contains(r.body, "Файл не выбран") {
		t.Errorf("replace without a file: %d\n%s", r.code, r.body)
	}
	if r := c.postFile(path+"/replace", f, "image", "junk.png", []byte("not an image")); r.code != http.StatusUnprocessableEntity || !strings.Contains(r.body, "не изображение") {
		t.Errorf("replace with junk: %d\n%s", r.code, r.body)
	}
	r := c.postFile(path+"/replace", f, "image", "sheet.png", other)
	if r.code != http.StatusSeeOther {
		t.Fatalf("replace: %d\n%s", r.code, r.body)
	}
	p := s.page(t, 2)
	if p.Rev != 1 || len(p.History) != 1 || p.Result == nil || p.Result.Barcode != want {
		t.Errorf("after replace: rev %d, history %d, result %+v", p.Rev, len(p.History), p.Result)
	}

	// Insert before page 2 from a file.
	before := len(mustPages(t, s))
	f = url.Values{"csrf": {tok}, "rev": {rev(2)}, "where": {"before"}, "source": {"file"}}
	ins, err := s.st.Image(s.page(t, 4))
	if err != nil {
		t.Fatal(err)
	}
	ins = append(slices.Clone(ins), 0) // other bytes, the same picture
	if r := c.postFile(path+"/insert", f, "image", "lost.png", ins); r.code != http.StatusSeeOther || !strings.Contains(r.location, "/page/") {
		t.Fatalf("insert: %d %s\n%s", r.code, r.location, r.body)
	}
	if n := len(mustPages(t, s)); n != before+1 {
		t.Errorf("insert: %d pages, want %d", n, before+1)
	}

	// Recognise again.
	if r := c.post(path+"/recognize", url.Values{"csrf": {tok}, "rev": {rev(2)}}); r.code != http.StatusSeeOther {
		t.Errorf("recognise again: %d\n%s", r.code, r.body)
	}

	// Rescan on the simulator: one sheet into page 2's place.
	if r := c.post(path+"/rescan", url.Values{"csrf": {tok}, "rev": {rev(2)}, "device": {"nosuch"}}); r.code != http.StatusUnprocessableEntity || !strings.Contains(r.body, "нет в списке") {
		t.Errorf("rescan on an unknown device: %d\n%s", r.code, r.body)
	}
	// While a stack is scanned, the scanner is not taken for one sheet.
	s.srv.desk.mu.Lock()
	s.srv.desk.running, s.srv.desk.what = true, "ППЭ 0000, аудитория 0000 (oper)"
	s.srv.desk.mu.Unlock()
	if r := c.post(path+"/rescan", url.Values{"csrf": {tok}, "rev": {rev(2)}, "device": {"sim"}}); r.code != http.StatusConflict || !strings.Contains(r.body, "Сейчас идёт сканирование") {
		t.Errorf("rescan during a scan: %d\n%s", r.code, r.body)
	}
	s.srv.desk.mu.Lock()
	s.srv.desk.running = false
	s.srv.desk.mu.Unlock()
	if r := c.post(path+"/rescan", url.Values{"csrf": {tok}, "rev": {rev(2)}, "device": {"sim"}}); r.code != http.StatusSeeOther {
		t.Fatalf("rescan: %d\n%s", r.code, r.body)
	}
	s.srv.desk.mu.Lock()
	if s.srv.desk.running {
		t.Error("the scanner seat is still taken after the rescan")
	}
	s.srv.desk.mu.Unlock()
	if p := s.page(t, 2); p.Rev != 2 || p.Result == nil {
		t.Errorf("after rescan: rev %d", p.Rev)
	}
	log := s.auditText(t)
	for _, a := range []string{`"page.replace"`, `"page.insert"`, `"page.recognize"`, `"page.rescan"`, `"before":2`} {
		if !strings.Contains(log, a) {
			t.Errorf("%s not in the audit log", a)
		}
	}
}

func mustPages(t *testing.T, s *scanned) []store.Page {
	t.Helper()
	pages, err := s.st.Pages(s.place)
	if err != nil {
		t.Fatal(err)
	}
	return pages
}

// The viewer names fields in Russian, folds empty ones, shows no kit of a
// ППЭ form, and its messages name no command-line flag.
func TestPageViewerSpeaksRussian(t *testing.T) {
	s := newScanned(t)
	form, _ := addForm1302(t, s, "row01.present")
	c := s.client(t)
	c.mustSignIn("oper")
	raw := regexp.MustCompile(`<td>(row\d\d\.[a-z0-9]+|t\d\d_\d|r\d_task|r\d_\d)</td>`)
	for _, p := range []store.Page{form, pageOf(t, s, forms.TypeBO1)} {
		r := c.get(pageURL(p.Ref))
		if m := raw.FindString(r.body); m != "" {
			t.Errorf("page %d shows a raw field id %s", p.Seq, m)
		}
		if strings.Contains(r.body, "комплект 0000000000") || strings.Contains(r.body, " --") {
			t.Errorf("page %d shows a kit of zeros or a flag:\n%s", p.Seq, r.body)
		}
	}
	r := c.get(pageURL(form.Ref))
	rows := strings.Count(r.body[:strings.Index(r.body, `id="empty-fields"`)], "<tr")
	if rows > 30 || !strings.Contains(r.body, "строка 1: явились") || !strings.Contains(r.body, "Показать все поля") {
		t.Errorf("the form page shows %d rows before the folded empty fields:\n%s", rows, r.body)
	}
}

// The scanning screen names no kit for a ППЭ form (its kit is all zeros).
func TestScanEventOfAFormHasNoKit(t *testing.T) {
	s := newScanned(t)
	form, _ := addForm1302(t, s, "row01.present")
	if form.Result.Context.Kit != forms.NoKit {
		t.Fatalf("the simulated form's kit is %q", form.Result.Context.Kit)
	}
	if ev := pageEvent("read", form); ev.Kit != "" {
		t.Errorf("the form's scan event names kit %q", ev.Kit)
	}
	if ev := pageEvent("read", pageOf(t, s, forms.TypeBO1)); ev.Kit == "" {
		t.Error("an answer blank's scan event names no kit")
	}
}

// No message of the web interface, nor of the corrections it calls,
// names a command-line flag or tells people to type a command: the
// people at a station work in the browser.
func TestMessagesNameNoCommandLine(t *testing.T) {
	flag := regexp.MustCompile(`(^|[\s(«"])--[a-z]|командой station|station (report|scan|fix|review|page) `)
	check := func(name, text string) {
		if m := flag.FindString(text); m != "" {
			t.Errorf("%s: %q names the command line", name, text)
		}
	}
	tmpls, _ := fs.Glob(templateFS, "templates/*.html")
	statics, _ := fs.Glob(staticFS, "static/*.js")
	for _, n := range tmpls {
		b, _ := fs.ReadFile(templateFS, n)
		check(n, stripHTMLComments(string(b)))
	}
	for _, n := range statics {
		b, _ := fs.ReadFile(staticFS, n)
		check(n, string(b))
	}
	root := moduleRoot(t)
	for _, dir := range []string{"station/web", "station/ops", "station"} {
		files, _ := filepath.Glob(filepath.Join(root, dir, "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var sc scanner.Scanner
			fset := token.NewFileSet()
			sc.Init(fset.AddFile(f, -1, len(src)), src, nil, 0)
			for {
				_, tok, lit := sc.Scan()
				if tok == token.EOF {
					break
				}
				if tok == token.STRING {
					check(filepath.Base(f), lit)
				}
			}
		}
	}
}

func stripHTMLComments(s string) string {
	return regexp.MustCompile(`(?s)<!--.*?-->`).ReplaceAllString(s, "")
}

// A ППЭ code of another ППЭ read with certainty on a sheet whose QR code
// is this ППЭ's waits in the review queue all the same.
func TestForeignValueReadAsCertainIsQueued(t *testing.T) {
	s := newScanned(t)
	p := pageOf(t, s, forms.TypeBO1)
	p = setResult(t, s, p, func(r *forms.PageResult) { r.Digits["ppe"] = otherCode(s.place.PPE); r.Review = nil })
	if p.Result.Context.PPE != s.place.PPE {
		t.Fatalf("the sheet's QR code names ППЭ %s", p.Result.Context.PPE)
	}
	c := s.client(t)
	c.mustSignIn("oper")
	item := fmt.Sprintf(`id="item-%s-%d-ppe"`, s.place.Auditorium, p.Seq)
	r := c.get("/review")
	if !strings.Contains(r.body, item) || !strings.Contains(r.body, "не код этого ППЭ") {
		t.Fatalf("the foreign code is not in the queue:\n%s", r.body)
	}
	tok := c.token("/review")
	form := url.Values{"csrf": {tok}, "ppe": {s.place.PPE}, "aud": {s.place.Auditorium}, "seq": {strconv.Itoa(p.Seq)},
		"rev": {strconv.Itoa(p.Rev)}, "field": {"ppe"}}
	if r := c.post("/review", form); r.code != http.StatusUnprocessableEntity || !strings.Contains(r.body, "«Код ППЭ»") {
		t.Errorf("Enter on the foreign code: %d\n%s", r.code, r.body)
	}
	form.Set("value", s.place.PPE)
	if r := c.post("/review", form); r.code != http.StatusSeeOther {
		t.Fatalf("the right code: %d\n%s", r.code, r.body)
	}
	if r := c.get("/review"); strings.Contains(r.body, item) {
		t.Error("the corrected code is still in the queue")
	}
}
