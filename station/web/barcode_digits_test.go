package web

import (
	"bytes"
	"image/png"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"giascan/forms"
	"giascan/hardware/sim"
	"giascan/station/web/browsertest"
)

// tornBarcode replaces page 2 of s, through the page's form, with a
// sheet whose bars are painted over and whose first three printed digits
// are torn off, and checks what the recognizer made of it. It returns the
// page, the digits as read and the sheet's identity.
func tornBarcode(t *testing.T, s *scanned, c *client) (int, string, forms.Identity) {
	t.Helper()
	const seq = 2
	before := s.page(t, seq)
	planned, err := sim.Plan(1, 10)
	if err != nil {
		t.Fatal(err)
	}
	var id forms.Identity
	for _, sh := range planned {
		if sh.ID.Barcode == before.Result.Barcode {
			id = sh.ID
		}
	}
	if id.Barcode == "" {
		t.Fatalf("page %d (%s) is not among the planned sheets", seq, before.Result.Barcode)
	}
	tpl, ok := forms.Builtin().Get(id.Type)
	if !ok {
		t.Fatalf("no template %s", id.Type)
	}
	d, err := forms.Compose(tpl, id)
	if err != nil {
		t.Fatal(err)
	}
	b := tpl.Barcode
	d.Ops = append(d.Ops, forms.Op{Kind: forms.OpFill, Rect: forms.Rect{X: b.X - 1, Y: b.Y - 0.5, W: 40, H: b.H + 0.8}, Ink: 0}) // the bars
	torn := false
	for i, op := range d.Ops {
		if op.Kind == forms.OpText && op.Font == forms.FontMono && op.Text == id.Barcode {
			d.Ops[i].Text = "   " + id.Barcode[3:] // the first three digits torn off
			torn = true
		}
	}
	if !torn {
		t.Fatal("no barcode digits on the drawing")
	}
	g, err := forms.Rasterize(d, 300)
	if err != nil {
		t.Fatal(err)
	}
	var img bytes.Buffer
	if err := png.Encode(&img, g); err != nil {
		t.Fatal(err)
	}
	path := s.pagePath(seq)
	tok := c.token(path)
	f := url.Values{"csrf": {tok}, "rev": {strconv.Itoa(before.Rev)}, "reason": {"скан смазан"}}
	if r := c.postFile(path+"/replace", f, "image", "sheet.png", img.Bytes()); r.code != http.StatusSeeOther {
		t.Fatalf("replace: %d\n%s", r.code, r.body)
	}
	res := s.page(t, seq).Result
	digits := res.BarcodeDigits
	if len(digits) != 13 || !strings.HasPrefix(digits, "?") || !strings.HasSuffix(id.Barcode, strings.TrimLeft(digits, "?")) ||
		res.Barcode != "" && res.Barcode != id.Barcode || !strings.Contains(strings.Join(res.Review, " "), "barcode") {
		t.Fatalf("recognised: barcode %q, digits under the bars %q (sheet %s), review %v, flags %v", res.Barcode, digits, id.Barcode, res.Review, res.Flags)
	}

	return seq, digits, id
}

// TestBarcodeDigitsShownToTheReviewer: the operator puts in, from a file,
// a sheet whose bars are painted over and whose first printed digits are
// gone too. The station's recognizer reads the rest of the digits under
// the bars; the page and the review queue show them, with '?' where a
// digit could not be read, and send the person to the page, where the
// sheet is identified by its barcode typed from the paper.
func TestBarcodeDigitsShownToTheReviewer(t *testing.T) {
	s := newScanned(t)
	c := s.client(t)
	c.mustSignIn("oper")
	seq, digits, id := tornBarcode(t, s, c)
	path := s.pagePath(seq)
	page := c.get(path)
	want := "цифры под ним прочитаны не все: " + digits
	if page.code != http.StatusOK || !strings.Contains(page.body, `id="barcode-digits"`) || !strings.Contains(page.body, want) {
		t.Errorf("page: %d, want %q\n%s", page.code, want, page.body)
	}
	queue := c.get("/review")
	item := "item-" + s.place.Auditorium + "-" + strconv.Itoa(seq) + "-barcode"
	i := strings.Index(queue.body, `id="`+item+`"`)
	if i < 0 {
		t.Fatalf("queue has no %s\n%s", item, queue.body)
	}
	li := queue.body[i:]
	li = li[:strings.Index(li, "</li>")]
	if !strings.Contains(li, "«"+digits+"»") || !strings.Contains(li, want[len("цифры"):]) ||
		!strings.Contains(li, `href="`+path+`#identify-form"`) || strings.Contains(li, "<form") {
		t.Errorf("queue item: want the digits, the sentence and a link to the page instead of a form\n%s", li)
	}

	// On the page the person types the barcode from the paper.
	tok := c.token(path)
	r := c.post(path+"/identify", url.Values{"csrf": {tok}, "rev": {strconv.Itoa(s.page(t, seq).Rev)}, "barcode": {id.Barcode}, "kit": {id.Kit}})
	if r.code != http.StatusSeeOther {
		t.Fatalf("identify: %d\n%s", r.code, r.body)
	}
	if after := s.page(t, seq).Result; after.Barcode != id.Barcode || strings.Contains(strings.Join(after.Review, " "), "barcode") {
		t.Errorf("after identify: barcode %q, review %v", after.Barcode, after.Review)
	}
	if q := c.get("/review"); strings.Contains(q.body, item) {
		t.Errorf("the barcode still waits in the queue")
	}
}

// TestBarcodeDigitsInTheBrowser: the reviewer sees the torn sheet's
// digits in the queue, follows the link to the page and finds them there
// beside the form that identifies the sheet.
func TestBarcodeDigitsInTheBrowser(t *testing.T) {
	needBrowser(t)
	s := newScanned(t)
	c := s.client(t)
	c.mustSignIn("oper")
	seq, digits, _ := tornBarcode(t, s, c)
	item := "#item-" + s.place.Auditorium + "-" + strconv.Itoa(seq) + "-barcode"
	b := startBrowser(t, s.http.URL, 90*time.Second)
	var note string
	if err := chromedp.Do(b.ctx,
		b.signIn("oper"),
		chromedp.Navigate(s.http.URL+"/review"),
		chromedp.WaitVisible(chromedp.CSS(item+" a.button")),
		b.shot("review-barcode-digits-queue.png"),
		chromedp.Click(chromedp.CSS(item+" a.button")),
		chromedp.WaitVisible(chromedp.CSS("#barcode-digits")),
		chromedp.WaitVisible(chromedp.CSS("#identify-barcode")),
		b.shot("review-barcode-digits-page.png"),
		browsertest.Into(&note, chromedp.Text(chromedp.CSS("#barcode-digits"))),
	); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(note, digits) {
		t.Errorf("the page says %q, want the digits %s", note, digits)
	}
}
