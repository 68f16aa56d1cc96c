// Package recognition reads one scanned page: it registers the page on its
// anchors (or, when fewer than three are on the image, on its QR code and
// the anchors that are left, or on two anchors that put the codes where
// they read and the print where it is; with the QR code alone only the
// identity is certain), reads the barcode and the QR code, then the
// mark boxes, digit cells and zones of the page's template, and reports a
// forms.PageResult. A box or cell off the image goes to review. It is a pure function of the page image, the templates
// and the digit classifier.
//
// Everything after registration works in template millimetres: only the
// crops that are read are warped from the scan, never the whole page; so
// a page reads the same from a scan decoded at half size (Document), which
// costs less to decode and to sample.
package recognition

import (
	"errors"
	"fmt"
	"image"
	"math"
	"sort"

	"gocv.io/x/gocv"

	"giascan/forms"
	"giascan/recognition/imagein"
)

// Recognizer reads pages against a set of templates. It is safe for
// concurrent use.
type Recognizer struct {
	set    *forms.Set
	header *forms.Template // anchors, barcode and QR: common to every page type
	digits DigitReader
}

// New makes a recognizer. digits may be nil: every written digit cell
// then reads as '?', which is honest but needs a person.
func New(set *forms.Set, digits DigitReader) (*Recognizer, error) {
	if set == nil || len(set.Types()) == 0 {
		return nil, errors.New("recognizer: no templates")
	}
	header, _ := set.Get(set.Types()[0])
	return &Recognizer{set: set, header: header, digits: digits}, nil
}

// Page reads one page, an 8-bit single-channel Mat that is neither
// modified nor closed. File, Page and Ms of the result are the caller's.
func (rc *Recognizer) Page(m gocv.Mat) forms.PageResult {
	r := forms.NewPageResult("", 0)
	if err := rc.page(&r, m); err != nil {
		r.Error = err.Error()
	}
	finish(&r)
	return r
}

// Gray reads one page held as a Go image (tests, tools).
func (rc *Recognizer) Gray(g *image.Gray) (forms.PageResult, error) {
	b := g.Bounds()
	m, err := gocv.NewMatFromBytes(b.Dy(), b.Dx(), gocv.MatTypeCV8UC1, packGray(g))
	if err != nil {
		return forms.PageResult{}, fmt.Errorf("page to Mat: %w", err)
	}
	defer m.Close()
	return rc.Page(m), nil
}

func packGray(g *image.Gray) []byte {
	b := g.Bounds()
	if g.Stride == b.Dx() && b.Min == (image.Point{}) {
		return g.Pix[:b.Dx()*b.Dy()]
	}
	out := make([]byte, b.Dx()*b.Dy())
	for y := 0; y < b.Dy(); y++ {
		copy(out[y*b.Dx():(y+1)*b.Dx()], g.Pix[g.PixOffset(b.Min.X, b.Min.Y+y):])
	}
	return out
}

func (rc *Recognizer) page(r *forms.PageResult, m gocv.Mat) error {
	loc, err := rc.locate(m)
	if err != nil {
		return err
	}
	defer loc.release()
	full, midp, fm, lv, reg, err := loc.full, loc.midp, loc.fm, loc.lv, loc.reg, loc.regErr
	if err != nil {
		if !errors.Is(err, errNoAnchors) {
			return err
		}
		if lv.inkFrac < blankInkFrac {
			r.Flags = append(r.Flags, forms.FlagBlankPage)
		} else if bar, rot, ok := wholePageBarcode(&midp); ok && identityOnly(r, bar, rot, rc.set) {
			r.Flags = append(r.Flags, forms.FlagAnchorMissing)
		} else {
			r.Flags = append(r.Flags, forms.FlagAnchorMissing, forms.FlagUnknownType)
			r.NeedsReview = true
			r.Review = append(r.Review, "type", "barcode", "context")
		}
		qualityFlags(r, lv, nil)
		return nil
	}

	scaled := func(h homography) homography {
		for i := 0; i < 6; i++ {
			h[i] *= fm
		}
		return h
	}
	hMid, altMid := scaled(reg.h), scaled(reg.alt)
	var c codes
	if loc.codes != nil {
		c = *loc.codes // read already, to choose the registration
	} else {
		c = readCodes(&full, &midp, &reg.h, &hMid, rc.header)
	}
	if c.qrText == "" && loc.qrText != "" {
		c.qrText = loc.qrText
		if id, err := forms.ParseQR(c.qrText); err == nil {
			c.qr = &id
		}
	}
	if !c.any() {
		// The header ink may have misled the 0/180 decision (a torn or
		// inked page): try the page the other way up.
		if c2 := readCodes(&full, &midp, &reg.alt, &altMid, rc.header); c2.any() {
			hMid = altMid
			c = c2
			reg.h, reg.alt = reg.alt, reg.h
			reg.rotation, reg.altRot = reg.altRot, reg.rotation
			reg.skew = skewOf(&reg.h, reg.rotation)
		}
	}
	if c.barcode == "" {
		// The bars did not read: their printed digits may witness the
		// QR code's barcode. Only here, so a page whose bars read pays
		// nothing for it.
		c.printed = readPrinted(&full, &reg.h, rc.header.Barcode)
	}
	r.Rotation = reg.rotation
	r.Skew = math.Round(reg.skew*100) / 100
	qualityFlags(r, lv, &reg)
	tpl := applyIdentity(r, c, rc.set)
	if tpl == nil {
		return nil
	}
	readMarks(r, &full, &reg.h, reg.ink, tpl)
	readDigits(r, &full, &reg.h, reg.ink, tpl, rc.digits)
	checkDigitsAgainstQR(r)
	readZones(r, &midp, &hMid, reg.ink, tpl)
	// A box or cell off the image reads as paper: its value is not known.
	for _, b := range tpl.Boxes {
		if loc.coarse || !onImage(&full, &reg.h, b.Rect) {
			r.Review = append(r.Review, b.ID)
		}
	}
	for _, f := range tpl.DigitFields {
		if loc.coarse || !onImage(&full, &reg.h, f.Bounds()) {
			r.Review = append(r.Review, f.ID)
		}
	}
	return nil
}

// onImage says whether rectangle r of the template lies on the image
// under map h, with its corners at least a pixel inside.
func onImage(p *plane, h *homography, r forms.Rect) bool {
	for _, c := range []pt{{r.X, r.Y}, {r.X1(), r.Y}, {r.X1(), r.Y1()}, {r.X, r.Y1()}} {
		q := h.apply(c)
		if q.X < 1 || q.Y < 1 || q.X > float64(p.w-1) || q.Y > float64(p.h-1) {
			return false
		}
	}
	return true
}

// finish sorts and de-duplicates flags and review ids, so the output is
// stable.
func finish(r *forms.PageResult) {
	r.Flags = uniqueSorted(r.Flags)
	r.Review = uniqueSorted(r.Review)
	if len(r.Review) > 0 {
		r.NeedsReview = true
	}
}

func uniqueSorted(s []string) []string {
	sort.Strings(s)
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	if out == nil {
		return []string{}
	}
	return out
}

// halveWhile returns a copy of m halved by pyrDown until its scale
// (pxmm · factor) falls below limit, and the factor (new px per old px).
// When no step is needed it returns m itself and factor 1, which the
// caller must not close; otherwise the copy is the caller's to close.
func halveWhile(m gocv.Mat, pxmm, limit float64) (gocv.Mat, float64) {
	if pxmm < limit || m.Cols() <= 200 {
		return m, 1
	}
	out := gocv.NewMat()
	gocv.PyrDown(m, &out, image.Point{}, gocv.BorderReplicate)
	f := 0.5
	for pxmm*f >= limit && out.Cols() > 200 {
		next := gocv.NewMat()
		gocv.PyrDown(out, &next, image.Point{}, gocv.BorderReplicate)
		out.Close()
		out = next
		f /= 2
	}
	return out, float64(out.Cols()) / float64(m.Cols())
}

// located is a page image with its scaled copies and where the template
// lies on it.
type located struct {
	full, midp plane
	fm         float64 // mid px per full px
	lv         pageLevels
	reg        registration
	regErr     error  // why reg is not found: errNoAnchors or a failure
	codes      *codes // the page's codes, when registration read them already
	coarse     bool   // reg is the QR code's alone: every cell read goes to review
	qrText     string // the QR code as the whole page's search read it, with coarse
	closers    []func() error
}

// release frees the scaled copies.
func (l *located) release() {
	for _, c := range l.closers {
		c()
	}
}

// locate makes the scaled copies of page m and registers the page on its
// anchors (or its QR code). The caller releases the result, even when
// regErr is set; an error means the page could not be read at all.
func (rc *Recognizer) locate(m gocv.Mat) (located, error) {
	if m.Empty() || m.Cols() < 100 || m.Rows() < 100 {
		return located{}, errors.New("page image is empty or too small")
	}
	loc := located{}
	if !m.IsContinuous() {
		c := m.Clone()
		loc.closers = append(loc.closers, c.Close)
		m = c
	}
	full, err := planeOfMat(&m)
	if err != nil {
		loc.release()
		return located{}, err
	}
	// Nominal scale from the page size: A4 either way up.
	long, short := float64(max(full.w, full.h)), float64(min(full.w, full.h))
	pxmm := (long/297 + short/210) / 2

	// Downscaled copies by Gaussian pyramid steps, which OpenCV does several
	// times faster than an area resize: mid at 4–8 px/mm for zones and page
	// levels, small at 2–4 px/mm (50–100 dpi) for the anchor search.
	mid, fm := halveWhile(m, pxmm, 8)
	if fm != 1 {
		loc.closers = append(loc.closers, mid.Close)
	}
	small, fs := halveWhile(mid, pxmm*fm, 4)
	if fs != 1 {
		loc.closers = append(loc.closers, small.Close)
	}
	fs *= fm
	midp, err := planeOfMat(&mid)
	if err != nil {
		loc.release()
		return located{}, err
	}
	lv := measureLevels(&midp)

	reg, err := register(&full, small, fs, pxmm*fs, rc.header)
	if errors.Is(err, errNoAnchors) && lv.inkFrac >= blankInkFrac {
		// Anchors off the bed: the QR code may still place the page, or
		// two anchors that put the codes where they read.
		qr, seen, ok := registerByQR(&full, &midp, fm, small, fs, pxmm*fs, rc.set, rc.header)
		if ok {
			reg, err = qr, nil
		} else if pr, c, ok := registerByPair(&full, &midp, fm, small, fs, pxmm*fs, rc.set, rc.header); ok {
			reg, err = pr, nil
			loc.codes = &c
		} else if seen != nil {
			// Only the QR code places the page: its finder patterns lie
			// too close together to place the far cells for certain, but
			// the page's identity reads, and what is read from the cells
			// waits for a person.
			reg, err = registration{h: seen.coarse, alt: seen.coarse, ink: seen.ink}, nil
			reg.rotation, reg.skew = quarterTurn(&reg.h)
			reg.altRot = reg.rotation
			reg.pxPerMM = reg.h.scaleAt(pt{105, 148.5})
			loc.coarse, loc.qrText = true, seen.text
		}
	}
	loc.full, loc.midp, loc.fm, loc.lv, loc.reg, loc.regErr = full, midp, fm, lv, reg, err
	return loc, nil
}

// Registration is where a page's template lies on its image as stored,
// before any turn: the map from template millimetres to image pixels.
// Screens draw the template's boxes through it, so they sit on the
// cells of a skewed or shifted scan.
type Registration struct {
	// H maps template millimetres (x, y) to image pixels:
	// ((H0 x + H1 y + H2) / w, (H3 x + H4 y + H5) / w), w = H6 x + H7 y + H8.
	H [9]float64
	// Width and Height are the image's size in pixels.
	Width, Height int
	// Rotation is the clockwise turn that makes the page upright.
	Rotation int
}

// Apply maps a point of the template (mm) to the image (px).
func (r Registration) Apply(x, y float64) (float64, float64) {
	h := homography(r.H)
	p := h.apply(pt{x, y})
	return p.X, p.Y
}

// Affine is the affine map closest to the inverse of the registration:
// image pixels to template millimetres, as SVG's matrix(a b c d e f)
// takes it ((x, y) = (a u + c v + e, b u + d v + f)). It is fitted by
// least squares over a grid of the w × h mm template; a scan's map is
// affine but for the noise of the anchors, which the fit averages out.
func (r Registration) Affine(w, h float64) ([6]float64, bool) {
	// Normal equations of [u v 1]·p = x and of the same = y, over template
	// points (x, y) and their images (u, v).
	var ata [3][3]float64
	var atx, aty [3]float64
	for i := 0; i <= 4; i++ {
		for j := 0; j <= 4; j++ {
			x, y := w*float64(i)/4, h*float64(j)/4
			u, v := r.Apply(x, y)
			row := [3]float64{u, v, 1}
			for a := 0; a < 3; a++ {
				for b := 0; b < 3; b++ {
					ata[a][b] += row[a] * row[b]
				}
				atx[a] += row[a] * x
				aty[a] += row[a] * y
			}
		}
	}
	px, err1 := solve3(ata, atx)
	py, err2 := solve3(ata, aty)
	if err1 != nil || err2 != nil {
		return [6]float64{}, false
	}
	return [6]float64{px[0], py[0], px[1], py[1], px[2], py[2]}, true
}

// ErrNotRegistered means the page's anchors (and QR code) were not found:
// there is nothing to draw the template through.
var ErrNotRegistered = errors.New("recognition: the page's anchors are not found")

// Register finds the template on the first page of an in-memory scan,
// decoded at full size as it is shown. rotation is the turn the page's
// recognition chose (PageResult.Rotation): of the two ways up the anchors
// allow, the one it names is taken, so the drawing agrees with what was
// read.
func (rc *Recognizer) Register(data []byte, name string, rotation int) (Registration, error) {
	doc, err := imagein.FromBytes(data, name, imagein.Limits{})
	if err != nil {
		return Registration{}, err
	}
	defer doc.Close()
	m, _, err := doc.Page(0)
	if err != nil {
		return Registration{}, err
	}
	defer m.Close()
	loc, err := rc.locate(m)
	if err != nil {
		return Registration{}, err
	}
	defer loc.release()
	if loc.regErr != nil {
		if errors.Is(loc.regErr, errNoAnchors) {
			return Registration{}, ErrNotRegistered
		}
		return Registration{}, loc.regErr
	}
	reg := loc.reg
	h, rot := reg.h, reg.rotation
	if norm := ((rotation % 360) + 360) % 360; norm != rot && norm == reg.altRot%360 {
		h, rot = reg.alt, reg.altRot%360
	}
	return Registration{H: [9]float64(h), Width: m.Cols(), Height: m.Rows(), Rotation: rot}, nil
}
