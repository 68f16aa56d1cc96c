package forms

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/go-pdf/fpdf"
)

// PDFMeta is the document information written into a PDF.
type PDFMeta struct {
	Title   string    // what the document is, e.g. the kits of an auditorium
	Subject string    // optional
	Creator string    // the program that made it
	Created time.Time // zero: now
}

// fontCache keeps the TTF files once read: a print run of hundreds of pages
// writes several documents in one process and the files never change.
var fontCache struct {
	sync.Mutex
	data map[string][]byte
}

// fontFile returns the family name a font role is embedded under (the
// file's base name, so that a print shop's preflight names the real font)
// and the TTF bytes.
func fontFile(role string) (string, []byte, error) {
	p, err := FontPath(role)
	if err != nil {
		return "", nil, err
	}
	family := strings.TrimSuffix(filepath.Base(p), filepath.Ext(p))
	fontCache.Lock()
	defer fontCache.Unlock()
	if b, ok := fontCache.data[p]; ok {
		return family, b, nil
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return "", nil, fmt.Errorf("read font for %q text: %w", role, err)
	}
	if fontCache.data == nil {
		fontCache.data = map[string][]byte{}
	}
	fontCache.data[p] = b
	return family, b, nil
}

// WritePDF writes the pages as one vector PDF, a page per drawing, in the
// drawings' own size (A4 for every template of the contract). Units are
// millimetres as in the drawings; text sizes are points.
//
// Nothing is rasterised: bars, modules and cells stay exact at any printer
// resolution, which is what the barcode and QR readers rely on.
func WritePDF(w io.Writer, pages []*Drawing, meta PDFMeta) error {
	if len(pages) == 0 {
		return errors.New("pdf: no pages")
	}
	pdf := fpdf.NewCustom(&fpdf.InitType{
		OrientationStr: "P",
		UnitStr:        "mm",
		Size:           fpdf.SizeType{Wd: pages[0].Width, Ht: pages[0].Height},
	})
	pdf.SetCompression(true)
	// Drawings are placed absolutely; an automatic page break would only
	// ever move text to a page of its own.
	pdf.SetAutoPageBreak(false, 0)
	pdf.SetMargins(0, 0, 0)
	pdf.SetTitle(meta.Title, true)
	if meta.Subject != "" {
		pdf.SetSubject(meta.Subject, true)
	}
	if meta.Creator != "" {
		pdf.SetCreator(meta.Creator, true)
	}
	created := meta.Created
	if created.IsZero() {
		created = time.Now()
	}
	pdf.SetCreationDate(created)
	pdf.SetModificationDate(created)
	// Square ends and corners: a stroked rectangle then covers exactly its
	// edge ± width/2, as Compose means, with no rounded or missing corners.
	pdf.SetLineCapStyle("butt")
	pdf.SetLineJoinStyle("miter")

	r := pdfRenderer{pdf: pdf, fonts: map[string]string{}}
	for i, d := range pages {
		if d == nil || d.Width <= 0 || d.Height <= 0 {
			return fmt.Errorf("pdf: page %d has no size", i+1)
		}
		pdf.AddPageFormat("P", fpdf.SizeType{Wd: d.Width, Ht: d.Height})
		for j, op := range d.Ops {
			if err := r.op(op); err != nil {
				return fmt.Errorf("pdf: page %d, operation %d: %w", i+1, j+1, err)
			}
		}
		if err := pdf.Error(); err != nil {
			return fmt.Errorf("pdf: page %d: %w", i+1, err)
		}
	}
	if err := pdf.Output(w); err != nil {
		return fmt.Errorf("pdf: write: %w", err)
	}
	return nil
}

type pdfRenderer struct {
	pdf   *fpdf.Fpdf
	fonts map[string]string // family of each role already added to the document
}

// grey turns an ink darkness 0..1 into the 0..255 level of a grey colour
// (255 is white). fpdf writes equal components as the DeviceGray operator,
// so the printer gets pure black toner rather than a CMY mix.
func grey(ink float64) int {
	if math.IsNaN(ink) {
		ink = 1
	}
	ink = math.Max(0, math.Min(1, ink))
	return int(math.Round(255 * (1 - ink)))
}

func (r *pdfRenderer) op(op Op) error {
	g := grey(op.Ink)
	switch op.Kind {
	case OpFill:
		r.pdf.SetFillColor(g, g, g)
		r.pdf.Rect(op.Rect.X, op.Rect.Y, op.Rect.W, op.Rect.H, "F")
	case OpStroke:
		if op.Width <= 0 {
			return fmt.Errorf("stroke of width %g mm", op.Width)
		}
		r.pdf.SetDrawColor(g, g, g)
		r.pdf.SetLineWidth(op.Width)
		r.pdf.Rect(op.Rect.X, op.Rect.Y, op.Rect.W, op.Rect.H, "D")
	case OpLine:
		if op.Width <= 0 {
			return fmt.Errorf("line of width %g mm", op.Width)
		}
		r.pdf.SetDrawColor(g, g, g)
		r.pdf.SetLineWidth(op.Width)
		r.pdf.Line(op.Rect.X, op.Rect.Y, op.X2, op.Y2)
	case OpText:
		return r.text(op, g)
	case OpImage:
		return r.image(op)
	default:
		return fmt.Errorf("unknown operation kind %d", op.Kind)
	}
	return nil
}

// image places a PNG, registered once per content.
func (r *pdfRenderer) image(op Op) error {
	if len(op.Image) == 0 || op.Rect.W <= 0 || op.Rect.H <= 0 {
		return fmt.Errorf("image of %d bytes over %gx%g mm", len(op.Image), op.Rect.W, op.Rect.H)
	}
	sum := sha256.Sum256(op.Image)
	name := "img" + hex.EncodeToString(sum[:8])
	opt := fpdf.ImageOptions{ImageType: "PNG"}
	if r.pdf.GetImageInfo(name) == nil {
		r.pdf.RegisterImageOptionsReader(name, opt, bytes.NewReader(op.Image))
	}
	r.pdf.ImageOptions(name, op.Rect.X, op.Rect.Y, op.Rect.W, op.Rect.H, false, opt, 0, "")
	return r.pdf.Error()
}

func (r *pdfRenderer) text(op Op, g int) error {
	if op.Text == "" {
		return nil
	}
	if op.Size <= 0 {
		return fmt.Errorf("text %q of size %g pt", op.Text, op.Size)
	}
	role := op.Font
	if role == "" {
		role = FontRegular
	}
	family, ok := r.fonts[role]
	if !ok {
		var b []byte
		var err error
		if family, b, err = fontFile(role); err != nil {
			return err
		}
		// One family per file, regular style: the roles are distinct
		// files, not styles fpdf should synthesise. fpdf only prints (to
		// stdout) when it cannot parse a font; SetFont below then fails
		// with "undefined font", which is what gets reported.
		r.pdf.AddUTF8FontFromBytes(family, "", b)
		r.fonts[role] = family
	}
	r.pdf.SetFont(family, "", op.Size)
	if err := r.pdf.Error(); err != nil {
		return fmt.Errorf("font for %q text: %w", role, err)
	}
	// Text is painted with the fill colour in PDF; fpdf keeps a separate
	// text colour and switches to it around each string.
	r.pdf.SetTextColor(g, g, g)
	x := op.Rect.X
	switch op.Align {
	case "", "left":
	case "center":
		x -= r.pdf.GetStringWidth(op.Text) / 2
	case "right":
		x -= r.pdf.GetStringWidth(op.Text)
	default:
		return fmt.Errorf("text %q: alignment %q", op.Text, op.Align)
	}
	r.pdf.Text(x, op.Rect.Y, op.Text)
	return nil
}
