package web

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"gocv.io/x/gocv"

	"giascan/forms"
	"giascan/hardware"
	"giascan/hardware/sim"
	"giascan/station/store"
)

// skewedPage stores a page made from a clean simulated answer blank (page
// pixels = template mm · dpi/25.4) turned by deg degrees and shifted on a
// larger white bed, and returns it with the map from template mm to its
// pixels that made it: where every cell truly lies in the image.
func skewedPage(t *testing.T, s *scanned, deg float64) (store.Page, func(x, y float64) (float64, float64)) {
	t.Helper()
	planned, err := sim.Plan(1, 10)
	if err != nil {
		t.Fatal(err)
	}
	var sheet sim.Sheet
	for _, sh := range planned {
		if sh.ID.Type == forms.TypeBO1 && sh.ID.PPE == s.place.PPE && sh.ID.Auditorium == s.place.Auditorium {
			sheet = sh
			break
		}
	}
	const dpi = 150
	sc, err := sim.Render(sheet, sim.Settings{Profile: sim.Clean, DPI: dpi, Mode: sim.ModeGray})
	if err != nil {
		t.Fatal(err)
	}
	src, err := gocv.IMDecode(sc.Data, gocv.IMReadGrayScale)
	if err != nil || src.Empty() {
		t.Fatalf("decode the rendered sheet: %v", err)
	}
	defer src.Close()
	rot := gocv.GetRotationMatrix2D(image.Pt(src.Cols()/2, src.Rows()/2), deg, 1)
	defer rot.Close()
	const dx, dy, margin = 37.0, 21.0, 90
	var m [6]float64
	for i := 0; i < 6; i++ {
		m[i] = rot.GetDoubleAt(i/3, i%3)
	}
	m[2] += dx + margin/2
	m[5] += dy + margin/2
	for i := 0; i < 6; i++ {
		rot.SetDoubleAt(i/3, i%3, m[i])
	}
	dst := gocv.NewMat()
	defer dst.Close()
	gocv.WarpAffineWithParams(src, &dst, rot, image.Pt(src.Cols()+margin, src.Rows()+margin), gocv.InterpolationLinear, gocv.BorderConstant, color.RGBA{R: 235, G: 235, B: 235, A: 255})
	buf, err := gocv.IMEncode(gocv.PNGFileExt, dst)
	if err != nil {
		t.Fatal(err)
	}
	data := append([]byte(nil), buf.GetBytes()...)
	buf.Close()
	rec, _, err := s.st.Add(context.Background(), s.place, hardware.Page{Seq: 1, Data: data, Format: "png", DPI: dpi,
		Side: hardware.Front, Name: "skewed.png"}, "file")
	if err != nil {
		t.Fatal(err)
	}
	res := sc.Truth
	res.File = rec.File
	res.Review, res.NeedsReview = []string{"variant"}, true
	if err := s.st.SetResult(rec.Ref, rec.Rev, res); err != nil {
		t.Fatal(err)
	}
	rec.Result = &res
	k := float64(dpi) / 25.4
	return rec, func(x, y float64) (float64, float64) {
		u, v := x*k, y*k
		return m[0]*u + m[1]*v + m[2], m[3]*u + m[4]*v + m[5]
	}
}

// knownCells are cells whose place the test checks: spread over the page
// so that a turn, a shift or a wrong scale all show.
var knownCells = []struct {
	field string
	cell  int
}{{"region", 0}, {"ppe", 3}, {"variant", 0}, {"date", 5}}

// The overlay is drawn through the page's registration: on a turned and
// shifted scan, every known cell's box maps onto the cell in the image.
func TestOverlayLiesOnTheCellsOfASkewedScan(t *testing.T) {
	s := newScanned(t)
	p, truth := skewedPage(t, s, 3)
	tpl := templateOf(p.Result)
	g := s.srv.geometryOf(p)
	if g.M == nil {
		t.Fatal("the skewed page is not registered")
	}
	t.Logf("image %gx%g, matrix %v", g.IW, g.IH, *g.M)
	const tol = 0.6 // mm
	for _, kc := range knownCells {
		f, ok := tpl.Field(kc.field)
		if !ok {
			t.Fatalf("no field %s", kc.field)
		}
		cx, cy := f.Cell(kc.cell).Center()
		u, v := truth(cx, cy)
		x, y := g.ToTemplate(u, v)
		if d := math.Hypot(x-cx, y-cy); d > tol {
			t.Errorf("%s cell %d: the box is drawn %.2f mm off its cell (at %.1f,%.1f, want %.1f,%.1f)", kc.field, kc.cell, d, x, y, cx, cy)
		}
		// The image merely stretched to the frame (no registration) misses
		// the cell: the test can tell the two apart.
		if d := math.Hypot(u*g.W/g.IW-cx, v*g.H/g.IH-cy); d < 2 {
			t.Errorf("%s cell %d: a stretched image would be only %.2f mm off; the test page is not skewed enough", kc.field, kc.cell, d)
		}
	}
}

// In the browser, the drawn boxes of the page viewer lie on their cells:
// the centre of each known cell's box, taken back through the image's
// own placement on the screen, is the pixel where the cell is.
func TestOverlayInTheBrowser(t *testing.T) {
	needBrowser(t)
	s := newScanned(t)
	p, truth := skewedPage(t, s, -2.5)
	tpl := templateOf(p.Result)
	b := startBrowser(t, s.http.URL, 90*time.Second)
	if err := chromedp.Do(b.ctx,
		b.signIn("oper"),
		chromedp.Navigate(s.http.URL+pageURL(p.Ref)),
		chromedp.WaitVisible(chromedp.CSS("#sheet svg")),
		imageLoaded("#sheet image"),
		pageShot(b, "view-01-skewed-page.png"),
	); err != nil {
		t.Fatal(err)
	}
	const tolPx = 5 // about 0.8 mm at 150 dpi
	for _, kc := range knownCells {
		f, _ := tpl.Field(kc.field)
		cx, cy := f.Cell(kc.cell).Center()
		wu, wv := truth(cx, cy)
		var got []float64
		js := fmt.Sprintf(`(function(){
			var r = document.querySelector('rect[data-field="%s/%d"]');
			var img = document.querySelector('#sheet image');
			if (!r || !img) { return []; }
			var bb = r.getBoundingClientRect();
			var svg = img.ownerSVGElement;
			var pt = svg.createSVGPoint();
			pt.x = bb.left + bb.width/2; pt.y = bb.top + bb.height/2;
			var q = pt.matrixTransform(img.getScreenCTM().inverse());
			return [q.x, q.y];
		})()`, kc.field, kc.cell)
		if err := chromedp.Do(b.ctx, into(&got, chromedp.Evaluate[[]float64](js))); err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 {
			t.Fatalf("%s cell %d: no box drawn", kc.field, kc.cell)
		}
		if d := math.Hypot(got[0]-wu, got[1]-wv); d > tolPx {
			t.Errorf("%s cell %d: the box is drawn over pixel %.0f,%.0f, the cell is at %.0f,%.0f (%.1f px off)", kc.field, kc.cell, got[0], got[1], wu, wv, d)
		}
	}
	// The review queue's highlight of the waiting field sits on its digits.
	var hl []float64
	f, _ := tpl.Field("variant")
	cx, cy := f.Bounds().Center()
	wu, wv := truth(cx, cy)
	item := "#item-" + s.place.Auditorium + "-" + strconv.Itoa(p.Seq) + "-variant"
	if err := chromedp.Do(b.ctx,
		chromedp.Navigate(s.http.URL+"/review"),
		chromedp.WaitVisible(chromedp.CSS(item)),
		imageLoaded(item+" image"),
		pageShot(b, "view-02-review-highlight.png"),
		into(&hl, chromedp.Evaluate[[]float64](`(function(){
			var li = document.querySelector("`+item+`");
			var r = li.querySelector("rect.wait"), img = li.querySelector("image");
			var bb = r.getBoundingClientRect();
			var pt = img.ownerSVGElement.createSVGPoint();
			pt.x = bb.left + bb.width/2; pt.y = bb.top + bb.height/2;
			var q = pt.matrixTransform(img.getScreenCTM().inverse());
			return [q.x, q.y];
		})()`)),
	); err != nil {
		t.Fatal(err)
	}
	if len(hl) != 2 || math.Hypot(hl[0]-wu, hl[1]-wv) > tolPx {
		t.Errorf("the review highlight is over pixel %v, the field is at %.0f,%.0f", hl, wu, wv)
	}
}

// imageLoaded waits until the SVG image of sel has its picture.
func imageLoaded(sel string) chromedp.Action[chromedp.Void] {
	return into(new(bool), chromedp.Poll[bool](`(function(){
		var im = document.querySelector(`+strconv.Quote(sel)+`);
		if (!im) { return false; }
		var h = im.href.baseVal, x = new Image(); x.src = h;
		return x.complete && x.naturalWidth > 0;
	})()`, chromedp.WithPollingTimeout(20*time.Second)))
}

// pageShot saves a screenshot of the whole page as the viewport shows it:
// the window is made as tall as the page first. Chromium's capture beyond
// the viewport draws an SVG image under a rotating transform without the
// transform, which would show the overlay off its cells where the screen
// shows it on them.
func pageShot(b *browser, name string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		h, err := chromedp.Evaluate[float64](`document.documentElement.scrollHeight`)(ctx, t)
		if err != nil {
			return chromedp.Void{}, err
		}
		if _, err := chromedp.EmulateViewport(1280, int64(math.Ceil(h)))(ctx, t); err != nil {
			return chromedp.Void{}, err
		}
		png, err := chromedp.CaptureScreenshot()(ctx, t)
		if _, rerr := chromedp.EmulateViewport(1280, 900)(ctx, t); err == nil {
			err = rerr
		}
		if err != nil {
			return chromedp.Void{}, err
		}
		return chromedp.Void{}, os.WriteFile(filepath.Join(b.shots, name), png, 0o644)
	}
}
