package web

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"giascan/forms"
)

// tabTo presses Tab until the element sel has the focus, failing after
// limit presses: the element is reachable with the keyboard alone.
func tabTo(sel string, limit int) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		check := fmt.Sprintf(`document.activeElement === document.querySelector(%s)`, strconv.Quote(sel))
		for i := 0; i < limit; i++ {
			ok, err := chromedp.Evaluate[bool](check)(ctx, t)
			if err != nil {
				return chromedp.Void{}, err
			}
			if ok {
				return chromedp.Void{}, nil
			}
			if _, err := chromedp.KeyEvent(kb.Tab)(ctx, t); err != nil {
				return chromedp.Void{}, err
			}
		}
		return chromedp.Void{}, fmt.Errorf("%s is not reached with %d presses of Tab", sel, limit)
	}
}

// Every correction of the page viewer is reached and used with the
// keyboard: undo of a review, recognising again, inserting a sheet
// before the page from the scanner, and rescanning it.
func TestPageFixesWithTheKeyboard(t *testing.T) {
	needBrowser(t)
	s := newScanned(t)
	bo1 := pageOf(t, s, forms.TypeBO1)
	setResult(t, s, bo1, func(r *forms.PageResult) { r.Review = []string{"variant"} })
	other, err := s.st.Image(s.page(t, 3))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "лист.png")
	if err := os.WriteFile(file, other, 0o644); err != nil {
		t.Fatal(err)
	}
	b := startBrowser(t, s.http.URL, 3*time.Minute)
	path := s.http.URL + pageURL(bo1.Ref)
	var flash []string
	text := func(i int) chromedp.Action[chromedp.Void] {
		return into(&flash[i], chromedp.Text(chromedp.CSS("#flash")))
	}
	flash = make([]string, 6)
	start := func() chromedp.Action[chromedp.Void] {
		return chromedp.Steps(chromedp.Navigate(path), chromedp.WaitVisible(chromedp.CSS("#sheet")),
			into(new(bool), chromedp.Evaluate[bool](`document.activeElement.blur(), true`)))
	}
	err = chromedp.Do(b.ctx,
		b.signIn("oper"),
		chromedp.Navigate(s.http.URL+"/review"),
		chromedp.WaitVisible(chromedp.CSS(".value-input")),
		chromedp.SendKeys(chromedp.CSS(".value-input"), "7\r"),
		chromedp.WaitVisible(chromedp.CSS("#flash")),
		text(0),
		start(),
		tabTo("button.undo", 120),
		pageShot(b, "view-03-undo-focused.png"),
		chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS("#flash")),
		text(1),
		start(),
		tabTo("#recognize", 150),
		chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS("#flash")),
		text(2),
		start(),
		// A radio group takes one Tab; the arrow keys choose within it.
		tabTo("#insert-after", 150),
		chromedp.KeyEvent(kb.ArrowUp),
		into(new(bool), chromedp.Poll[bool](`document.getElementById("insert-before").checked`, chromedp.WithPollingTimeout(5*time.Second))),
		tabTo("#insert-scan", 20),
		chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS("#flash")),
		text(3),
		pageShot(b, "view-04-inserted.png"),
		start(),
		tabTo("#rescan", 150),
		chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS("#flash")),
		text(4),
		pageShot(b, "view-05-rescanned.png"),
		// The file picker is reached with Tab; the file itself is chosen
		// in the system dialog, which a test sets directly.
		start(),
		tabTo("#replace-file", 150),
		chromedp.SetUploadFiles(chromedp.CSS("#replace-file"), []string{file}),
		into(new(bool), chromedp.Poll[bool](`document.querySelector("#replace-form .file-name").textContent === "лист.png"`, chromedp.WithPollingTimeout(5*time.Second))),
		pageShot(b, "view-07-file-chosen.png"),
		tabTo("#replace", 10),
		chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS("#flash")),
		text(5),
	)
	if err != nil {
		t.Fatalf("%v (messages so far: %q)", err, flash)
	}
	for i, want := range []string{"Отменить можно на странице листа", "Исправление отменено", "распознан заново", "Лист вставлен перед страницей " + strconv.Itoa(bo1.Seq), "отсканирован заново",
		"Изображение листа заменено файлом лист.png"} {
		if !strings.Contains(flash[i], want) {
			t.Errorf("step %d: %q, want %q", i, flash[i], want)
		}
	}
	if p := s.page(t, bo1.Seq); p.Rev != 2 {
		t.Errorf("after the rescan and the replacement the page has revision %d", p.Rev)
	}
	log := s.auditText(t)
	for _, a := range []string{`"review.correct"`, `"review.undo"`, `"page.recognize"`, `"page.insert"`, `"page.rescan"`, `"page.replace"`} {
		if !strings.Contains(log, a) {
			t.Errorf("%s is not in the audit log", a)
		}
	}
}

// The head's ППЭ-13-02-МАШ screen: each row's inputs stand under their
// fields in the row's image, and a ППЭ code of another ППЭ is flagged.
func TestForm1302StripLinesUpWithItsInputs(t *testing.T) {
	needBrowser(t)
	s := newScanned(t)
	p, truth := addForm1302(t, s, "row01.present")
	setResult(t, s, p, func(r *forms.PageResult) {
		r.Digits["row01.present"] = truth
		r.Digits["ppe"] = otherCode(s.place.PPE)
		r.Review = nil
	})
	b := startBrowser(t, s.http.URL, 90*time.Second)
	tpl := templateOf(p.Result)
	var worst float64
	var flagged bool
	var fields []string
	for _, c := range formColumns {
		fields = append(fields, "row01."+c.ID)
	}
	js := `(function(){
		var svg = document.querySelector('#row-1 svg.row-crop');
		var m = svg.getScreenCTM(), worst = 0;
		var want = ` + jsCentres(tpl, fields) + `;
		for (var id in want) {
			var el = document.getElementById('f-' + id);
			var r = el.getBoundingClientRect();
			var x = m.a * want[id] + m.e;
			worst = Math.max(worst, Math.abs(r.left + r.width/2 - x));
		}
		return worst;
	})()`
	err := chromedp.Do(b.ctx,
		b.signIn("head"),
		chromedp.Navigate(s.http.URL+"/form1302/"+s.place.PPE),
		chromedp.WaitVisible(chromedp.CSS("#row-1")),
		imageLoaded("#row-1 image"),
		into(&worst, chromedp.Evaluate[float64](js)),
		into(&flagged, chromedp.Evaluate[bool](`document.getElementById('f-ppe').classList.contains('uncertain')`)),
		pageShot(b, "view-06-form1302.png"),
		chromedp.Navigate(s.http.URL+pageURL(p.Ref)),
		chromedp.WaitVisible(chromedp.CSS("#sheet")),
		imageLoaded("#sheet image"),
		pageShot(b, "view-08-form-page.png"),
		chromedp.Click(chromedp.CSS("#empty-fields summary")),
		pageShot(b, "view-09-form-page-all-fields.png"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if worst > 3 {
		t.Errorf("an input of row 1 stands %.1f px off its field in the image", worst)
	}
	if !flagged {
		t.Error("a ППЭ code of another ППЭ is not flagged")
	}
}

// jsCentres writes the centres (x, template mm) of fields as a JS object.
func jsCentres(tpl *forms.Template, ids []string) string {
	var parts []string
	for _, id := range ids {
		if f, ok := tpl.Field(id); ok {
			x, _ := f.Bounds().Center()
			parts = append(parts, fmt.Sprintf("%q: %g", id, x))
		}
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// In the review queue, another ППЭ's code typed with the keyboard is
// refused with a sentence naming the field, and the value keeps waiting.
func TestForeignValueRefusedInTheBrowser(t *testing.T) {
	needBrowser(t)
	s := newScanned(t)
	bo1 := pageOf(t, s, forms.TypeBO1)
	setResult(t, s, bo1, func(r *forms.PageResult) { r.Review = []string{"ppe"} })
	b := startBrowser(t, s.http.URL, 90*time.Second)
	var msg string
	var focused bool
	err := chromedp.Do(b.ctx,
		b.signIn("oper"),
		chromedp.Navigate(s.http.URL+"/review"),
		chromedp.WaitVisible(chromedp.CSS(".value-input")),
		into(&focused, chromedp.Evaluate[bool](`document.activeElement.classList.contains("value-input")`)),
		chromedp.KeyEvent(otherCode(s.place.PPE)+kb.Enter),
		chromedp.WaitVisible(chromedp.CSS("#error")),
		into(&msg, chromedp.Text(chromedp.CSS("#error"))),
		pageShot(b, "view-10-foreign-code-refused.png"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !focused {
		t.Error("the review queue does not put the focus on the first value")
	}
	if !strings.Contains(msg, "«Код ППЭ»") || !strings.Contains(msg, "не код этого ППЭ") {
		t.Errorf("refusal: %q", msg)
	}
	if p := s.page(t, bo1.Seq); !slices.Contains(p.Result.Review, "ppe") {
		t.Error("the refused value no longer waits for review")
	}
}
