package web

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"giascan/forms"
	"giascan/station/audit"
	"giascan/station/serials"
)

// readPDF rasterises every page of a PDF the way a scanner would see the
// printed sheet and recognises it with the station's own recognizer.
func readPDF(t *testing.T, f *fixture, pdf []byte) []forms.PageResult {
	t.Helper()
	if _, err := exec.LookPath("pdftoppm"); err != nil {
		t.Skipf("pdftoppm is not installed (Debian poppler-utils): %v", err)
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "in.pdf")
	if err := os.WriteFile(in, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("pdftoppm", "-r", "200", "-gray", "-png", in, filepath.Join(dir, "p")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v\n%s", err, out)
	}
	pngs, _ := filepath.Glob(filepath.Join(dir, "p-*.png"))
	sort.Strings(pngs)
	read, err := f.app.Reader()
	if err != nil {
		t.Fatal(err)
	}
	var out []forms.PageResult
	for _, p := range pngs {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, read(context.Background(), b, filepath.Base(p)))
	}
	return out
}

// postPDF posts a print form and returns the answer and its headers.
func (c *client) postPDF(path string, form url.Values) (resp, http.Header) {
	c.t.Helper()
	req, _ := http.NewRequest("POST", c.f.http.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r, err := c.c.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp{code: r.StatusCode, body: string(b), location: r.Header.Get("Location")}, r.Header
}

// The printing page prints nothing by being viewed; kits are a POST that
// spends numbers, records the job and answers with a PDF whose pages the
// station itself reads back as this exam's auditorium.
func TestPrintKitsFromTheBrowser(t *testing.T) {
	f := newScanFixture(t)
	op := f.client(t)
	op.mustSignIn("oper")
	page := op.get("/print")
	for _, want := range []string{"Печать бланков", "0101/0012", "Напечатать комплекты", "ППЭ-18-МАШ", "/print/calibration.pdf", "Пока ничего не напечатано"} {
		if page.code != http.StatusOK || !strings.Contains(page.body, want) {
			t.Fatalf("printing page lacks %q: %d\n%s", want, page.code, page.body)
		}
	}
	if jobs, _ := serials.Jobs(f.dir); len(jobs) != 0 {
		t.Fatalf("viewing the page printed %d jobs", len(jobs))
	}
	tok := op.token("/print")
	if r, _ := op.postPDF("/print/kits", url.Values{"place": {"0101/0012"}, "count": {"2"}}); r.code != http.StatusForbidden {
		t.Fatalf("print without a CSRF token: %d", r.code)
	}
	r, h := op.postPDF("/print/kits", url.Values{"csrf": {tok}, "place": {"0101/0012"}, "count": {"2"}})
	if r.code != http.StatusOK || h.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(r.body, "%PDF") {
		t.Fatalf("kits: %d %s\n%.300s", r.code, h.Get("Content-Type"), r.body)
	}
	if cd := h.Get("Content-Disposition"); !strings.Contains(cd, "attachment") || !strings.Contains(cd, "0101-0012") {
		t.Errorf("kits are not a download: %q", cd)
	}
	jobs, err := serials.Jobs(f.dir)
	if err != nil || len(jobs) != 1 || jobs[0].Status != serials.JobPrinted || jobs[0].Kits.Count() != 2 || jobs[0].Auditorium != "0012" {
		t.Fatalf("print jobs: %+v %v", jobs, err)
	}
	job := jobs[0]
	pages := readPDF(t, f, []byte(r.body))
	if len(pages) != 6 {
		t.Fatalf("%d pages, want 6", len(pages))
	}
	types := []string{forms.TypeBO1, forms.TypeBO2Sheet1, forms.TypeBO2Sheet2}
	for i, p := range pages {
		want, _ := forms.MakeBarcode(types[i%3], job.Serials.At(i))
		kit := fmt.Sprintf("%010d", job.Kits.At(i/3))
		c := p.Context
		if p.Error != "" || p.Barcode != want || c.Kit != kit || c.PPE != "0101" || c.Auditorium != "0012" || c.Subject != "02" || c.Date != "20250527" || c.Region != "11" || c.Level != 9 {
			t.Errorf("page %d read back as %s %+v (%s), want %s of kit %s", i+1, p.Barcode, c, p.Error, want, kit)
		}
	}
	log := f.auditText(t)
	if !strings.Contains(log, audit.ActionPrint) || !strings.Contains(log, job.Serials.String()) || !strings.Contains(log, `"oper"`) {
		t.Errorf("the print is not in the audit log under the operator:\n%s", log)
	}
	if page := op.get("/print"); !strings.Contains(page.body, job.Serials.String()) || !strings.Contains(page.body, job.Kits.String()) {
		t.Errorf("the printing page does not list the job %s", job.Serials)
	}
}

// ДБО №2 and the blank forms print from the page too; refusals say what
// to change and spend no numbers.
func TestPrintDBOFormsAndRefusals(t *testing.T) {
	f := newScanFixture(t)
	op := f.client(t)
	op.mustSignIn("head")
	tok := op.token("/print")
	refused := []struct {
		path string
		form url.Values
		want string
	}{
		{"/print/kits", url.Values{"place": {"0101/0012"}, "count": {"0"}}, "число комплектов — от 1 до 500"},
		{"/print/kits", url.Values{"place": {"0101/0012"}, "count": {"много"}}, "введите целое число"},
		{"/print/kits", url.Values{"place": {"0101/0099"}, "count": {"1"}}, "Выберите ППЭ и аудиторию"},
		{"/print/dbo", url.Values{"place": {"0101/0012"}, "kit": {"42"}, "sheet": {"3"}, "count": {"1"}}, "10 цифр"},
		{"/print/dbo", url.Values{"place": {"0101/0012"}, "kit": {"0000012345"}, "sheet": {"2"}, "count": {"1"}}, "от 3 до 99"},
		{"/print/dbo", url.Values{"place": {"0101/0014"}, "kit": {"0000012345"}, "sheet": {"3"}, "count": {"1"}}, "по плану рассадки — в ППЭ 0101, аудитории 0012"},
		{"/print/form", url.Values{"ppe": {"0101"}, "form": {forms.TypePPE15}}, "ППЭ-15 печатается со страницы протокола"},
		{"/print/form", url.Values{"ppe": {"0303"}, "form": {forms.TypePPE1302}}, "Выберите ППЭ"},
	}
	for _, c := range refused {
		c.form.Set("csrf", tok)
		r, _ := op.postPDF(c.path, c.form)
		if r.code < 400 || r.code >= 500 || !strings.Contains(r.body, c.want) || !strings.Contains(r.body, `id="error"`) {
			t.Errorf("%s %v: %d, want the page saying %q\n%.2000s", c.path, c.form, r.code, c.want, r.body)
		}
	}
	if jobs, _ := serials.Jobs(f.dir); len(jobs) != 0 {
		t.Fatalf("refused requests spent numbers: %+v", jobs)
	}

	r, _ := op.postPDF("/print/dbo", url.Values{"csrf": {tok}, "place": {"0101/0012"}, "kit": {"0000012345"}, "sheet": {"3"}, "count": {"2"}})
	if r.code != http.StatusOK {
		t.Fatalf("dbo: %d\n%.1000s", r.code, r.body)
	}
	for i, p := range readPDF(t, f, []byte(r.body)) {
		if p.Type != forms.TypeDBO2 || p.Context.Kit != "0000012345" || p.Context.Sheet == nil || *p.Context.Sheet != 3+i || p.Context.Auditorium != "0012" {
			t.Errorf("ДБО page %d read back as %s %+v", i+1, p.Type, p.Context)
		}
	}
	for _, ft := range []string{forms.TypePPE1302, forms.TypePPE18} {
		r, h := op.postPDF("/print/form", url.Values{"csrf": {tok}, "ppe": {"0202"}, "form": {ft}})
		if r.code != http.StatusOK || !strings.Contains(h.Get("Content-Disposition"), "0202") {
			t.Fatalf("form %s: %d %q", ft, r.code, h.Get("Content-Disposition"))
		}
		pages := readPDF(t, f, []byte(r.body))
		if len(pages) != 1 || pages[0].Type != ft || pages[0].Context.PPE != "0202" || pages[0].Context.Kit != forms.NoKit {
			t.Errorf("form %s read back as %+v", ft, pages)
		}
	}
	jobs, _ := serials.Jobs(f.dir)
	seen := map[uint64]bool{}
	for _, j := range jobs {
		for i := range int(j.Serials.Count()) {
			if seen[j.Serials.At(i)] {
				t.Errorf("serial %d printed twice", j.Serials.At(i))
			}
			seen[j.Serials.At(i)] = true
		}
	}
	if len(jobs) != 3 || len(seen) != 4 {
		t.Errorf("jobs %+v", jobs)
	}
	// The calibration sheet is a plain download: no numbers.
	if r := op.get("/print/calibration.pdf"); r.code != http.StatusOK || !strings.HasPrefix(r.body, "%PDF") {
		t.Errorf("calibration sheet: %d", r.code)
	}
	admin := f.client(t)
	admin.mustSignIn("admin")
	if r := admin.get("/print"); r.code != http.StatusForbidden {
		t.Errorf("admin on the printing page: %d", r.code)
	}
}

// Before the exam is imported nothing numbered can be printed, but the
// calibration sheet can: the readiness check needs no exam.
func TestPrintPageWithoutAnExam(t *testing.T) {
	f := newFixture(t)
	op := f.client(t)
	op.mustSignIn("oper")
	r := op.get("/print")
	if r.code != http.StatusOK || !strings.Contains(r.body, `id="no-exam"`) || !strings.Contains(r.body, "/print/calibration.pdf") || strings.Contains(r.body, `id="kits-form"`) {
		t.Fatalf("printing page without an exam: %d\n%s", r.code, r.body)
	}
	tok := op.token("/print")
	r, _ = op.postPDF("/print/kits", url.Values{"csrf": {tok}, "place": {"0101/0012"}, "count": {"1"}})
	if r.code != http.StatusBadRequest || !strings.Contains(r.body, "Экзамен не импортирован") {
		t.Errorf("kits without an exam: %d", r.code)
	}
}
