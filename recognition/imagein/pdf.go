package imagein

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/filter"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
	"gocv.io/x/gocv"
)

// A scanner's PDF is a wrapper around one image per page. The page tree is
// walked here (not rendered) and the largest image XObject of each page is
// decoded: that is the scan, while small ones are logos or stamps that some
// scanner software adds.

// Depth limits for PDF structures that may form cycles in a broken file.
const (
	maxPageTreeDepth = 64
	maxFormDepth     = 8
)

var disableConfigDir sync.Once

// pdfPage is a leaf of the page tree with the attributes it inherits.
type pdfPage struct {
	dict      types.Dict
	resources types.Object
	mediaBox  types.Object
}

type pdfDoc struct {
	limits Limits
	// mu serialises access to the pdfcpu context: dereferencing updates
	// its cross-reference table entries.
	mu   sync.Mutex
	ctx  *model.Context
	list []pdfPage
}

func openPDF(data []byte, limits Limits) (p pager, err error) {
	// pdfcpu would otherwise create a configuration folder in the user's
	// home on first use; the station wants no files written as a side effect.
	disableConfigDir.Do(api.DisableConfigDir)
	defer recoverTo(&err, "PDF structure")
	conf := model.NewDefaultConfiguration()
	conf.ValidationMode = model.ValidationRelaxed
	conf.DecodeAllStreams = false
	ctx, err := pdfcpu.Read(bytes.NewReader(data), conf)
	if err != nil {
		if errors.Is(err, pdfcpu.ErrWrongPassword) {
			return nil, errorf(ErrUnsupported, "password-protected PDF")
		}
		return nil, fmt.Errorf("%w: PDF: %v", ErrCorrupt, err)
	}
	doc := &pdfDoc{limits: limits, ctx: ctx}
	root, err := ctx.Pages()
	if err != nil || root == nil {
		return nil, errorf(ErrCorrupt, "PDF has no page tree")
	}
	if err := doc.walk(*root, nil, nil, map[int]bool{}, 0); err != nil {
		return nil, err
	}
	if len(doc.list) == 0 {
		return nil, errorf(ErrCorrupt, "PDF has no pages")
	}
	return doc, nil
}

// walk collects the leaves of the page tree in order. Resources and
// MediaBox are inheritable, so they are passed down.
func (d *pdfDoc) walk(ref types.IndirectRef, res, box types.Object, seen map[int]bool, depth int) error {
	nr := ref.ObjectNumber.Value()
	if depth > maxPageTreeDepth || seen[nr] {
		return errorf(ErrCorrupt, "PDF page tree has a cycle")
	}
	seen[nr] = true
	node, err := d.ctx.DereferenceDict(ref)
	if err != nil || node == nil {
		return errorf(ErrCorrupt, "PDF page tree node %d", nr)
	}
	if o, ok := node.Find("Resources"); ok {
		res = o
	}
	if o, ok := node.Find("MediaBox"); ok {
		box = o
	}
	kids, hasKids := node.Find("Kids")
	if t := node.Type(); (t != nil && *t == "Page") || !hasKids {
		if len(d.list) >= d.limits.MaxPages {
			return errorf(ErrTooLarge, "more than %d pages", d.limits.MaxPages)
		}
		d.list = append(d.list, pdfPage{dict: node, resources: res, mediaBox: box})
		return nil
	}
	arr, err := d.ctx.DereferenceArray(kids)
	if err != nil {
		return errorf(ErrCorrupt, "PDF page tree node %d: kids", nr)
	}
	for _, k := range arr {
		kr, ok := k.(types.IndirectRef)
		if !ok {
			return errorf(ErrCorrupt, "PDF page tree node %d: kid is not a reference", nr)
		}
		if err := d.walk(kr, res, box, seen, depth+1); err != nil {
			return err
		}
	}
	return nil
}

func (d *pdfDoc) pages() int { return len(d.list) }

// pdfImage is everything needed to decode one image XObject, gathered
// under the lock so that the decoding can run without it.
type pdfImage struct {
	w, h      int64
	bpc       int
	mask      bool
	cs        colourSpace
	csErr     error
	invert    bool // Decode [1 0] on a one-component image
	filters   []types.PDFFilter
	raw       []byte
	dpiX, dpY float64
}

func (d *pdfDoc) page(i int) (m gocv.Mat, info Info, err error) {
	img, err := d.image(i)
	if err != nil {
		return gocv.Mat{}, Info{}, err
	}
	if err := d.limits.checkSize(img.w, img.h); err != nil {
		return gocv.Mat{}, Info{}, err
	}
	info = Info{DPIX: img.dpiX, DPIY: img.dpY, BitsPerSample: img.bpc}
	m, err = decodePDFImage(img, d.limits, &info)
	if err != nil {
		return gocv.Mat{}, Info{}, err
	}
	return m, info, nil
}

// image finds the page's largest image and reads its dictionary.
func (d *pdfDoc) image(i int) (img *pdfImage, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	defer recoverTo(&err, "PDF page")
	pg := d.list[i]
	var best *types.StreamDict
	var bestArea int64
	err = d.images(pg.resources, map[int]bool{}, 0, func(sd *types.StreamDict) {
		w, h := d.intEntry(sd.Dict, "Width", "W"), d.intEntry(sd.Dict, "Height", "H")
		if a := w * h; w > 0 && h > 0 && a > bestArea {
			best, bestArea = sd, a
		}
	})
	if err != nil {
		return nil, err
	}
	if best == nil {
		return nil, ErrNoImage
	}
	sd := best
	img = &pdfImage{
		w:       d.intEntry(sd.Dict, "Width", "W"),
		h:       d.intEntry(sd.Dict, "Height", "H"),
		bpc:     int(d.intEntry(sd.Dict, "BitsPerComponent", "BPC")),
		filters: sd.FilterPipeline,
		raw:     sd.Raw,
	}
	if b, ok := d.deref(sd.Dict, "ImageMask").(types.Boolean); ok && b.Value() {
		img.mask, img.bpc = true, 1
		img.cs = colourSpace{kind: csGrey, n: 1}
	} else if len(img.filters) > 0 && img.filters[len(img.filters)-1].Name == filter.CCITTFax {
		img.cs = colourSpace{kind: csGrey, n: 1}
		img.bpc = 1
	} else if o := d.deref(sd.Dict, "ColorSpace"); o != nil {
		// Only plain samples need the colour space understood here;
		// JPEG and JPEG 2000 data carry their own.
		img.cs, img.csErr = d.colourSpace(o, 0)
	}
	if a, ok := d.deref(sd.Dict, "Decode").(types.Array); ok && len(a) >= 2 && img.cs.n == 1 && img.cs.kind != csIndexed {
		lo, hi := d.number(a[0]), d.number(a[1])
		img.invert = lo > hi
	}
	img.dpiX, img.dpY = d.dpi(pg.mediaBox, img.w, img.h)
	return img, nil
}

// images calls found for every image XObject in res and in the form
// XObjects it uses.
func (d *pdfDoc) images(res types.Object, seen map[int]bool, depth int, found func(*types.StreamDict)) error {
	if res == nil || depth > maxFormDepth {
		return nil
	}
	rd, err := d.ctx.DereferenceDict(res)
	if err != nil || rd == nil {
		return nil // unreadable resources: the page simply has no image
	}
	xo, err := d.ctx.DereferenceDict(rd["XObject"])
	if err != nil || xo == nil {
		return nil
	}
	for _, o := range xo {
		if r, ok := o.(types.IndirectRef); ok {
			if seen[r.ObjectNumber.Value()] {
				continue
			}
			seen[r.ObjectNumber.Value()] = true
		}
		sd, _, err := d.ctx.DereferenceStreamDict(o)
		if err != nil || sd == nil {
			continue
		}
		st := sd.Subtype()
		switch {
		case st != nil && *st == "Image":
			found(sd)
		case st != nil && *st == "Form":
			if err := d.images(sd.Dict["Resources"], seen, depth+1, found); err != nil {
				return err
			}
		}
	}
	return nil
}

func (d *pdfDoc) deref(dict types.Dict, key string) types.Object {
	o, ok := dict[key]
	if !ok {
		return nil
	}
	o, err := d.ctx.Dereference(o)
	if err != nil {
		return nil
	}
	return o
}

// intEntry reads an integer entry under its name or its abbreviation.
func (d *pdfDoc) intEntry(dict types.Dict, key, short string) int64 {
	o := d.deref(dict, key)
	if o == nil {
		o = d.deref(dict, short)
	}
	switch v := o.(type) {
	case types.Integer:
		return int64(v.Value())
	case types.Float:
		if f := v.Value(); f == math.Trunc(f) && math.Abs(f) < 1<<31 {
			return int64(f)
		}
	}
	return 0
}

func (d *pdfDoc) number(o types.Object) float64 {
	o, err := d.ctx.Dereference(o)
	if err != nil {
		return 0
	}
	switch v := o.(type) {
	case types.Integer:
		return float64(v.Value())
	case types.Float:
		return v.Value()
	}
	return 0
}

// dpi derives the scan resolution from the image's pixel size and the
// page's size in points. A scanner sizes the page to the image; when the
// two aspect ratios disagree the image does not fill the page and the
// resolution stays unknown rather than wrong.
func (d *pdfDoc) dpi(box types.Object, w, h int64) (float64, float64) {
	a, err := d.ctx.DereferenceArray(box)
	if err != nil || len(a) != 4 {
		return 0, 0
	}
	pw := math.Abs(d.number(a[2]) - d.number(a[0]))
	ph := math.Abs(d.number(a[3]) - d.number(a[1]))
	if pw < 1 || ph < 1 {
		return 0, 0
	}
	near := func(x, y float64) bool { return math.Abs(x-y) <= 0.02*math.Max(x, y) }
	if x, y := float64(w)*72/pw, float64(h)*72/ph; near(x, y) {
		return x, y
	}
	if x, y := float64(w)*72/ph, float64(h)*72/pw; near(x, y) {
		return x, y // image turned by 90° on the page
	}
	return 0, 0
}

// Colour spaces the station converts to grey.
type csKind int

const (
	csGrey csKind = iota
	csRGB
	csCMYK
	csInverse // Separation: the sample is ink coverage, 1 is black
	csIndexed
)

type colourSpace struct {
	kind csKind
	n    int // components per pixel in the image data
	// For csIndexed: the base space and its palette, hival+1 entries.
	base   *colourSpace
	lookup []byte
	hival  int
}

func (d *pdfDoc) colourSpace(o types.Object, depth int) (colourSpace, error) {
	o, err := d.ctx.Dereference(o)
	if err != nil || depth > 2 {
		return colourSpace{}, errorf(ErrCorrupt, "PDF image colour space")
	}
	switch v := o.(type) {
	case types.Name:
		switch v.Value() {
		case "DeviceGray", "G", "CalGray":
			return colourSpace{kind: csGrey, n: 1}, nil
		case "DeviceRGB", "RGB", "CalRGB":
			return colourSpace{kind: csRGB, n: 3}, nil
		case "DeviceCMYK", "CMYK":
			return colourSpace{kind: csCMYK, n: 4}, nil
		}
		return colourSpace{}, errorf(ErrUnsupported, "PDF colour space %s", v.Value())
	case types.Array:
		if len(v) == 0 {
			break
		}
		name, _ := v[0].(types.Name)
		switch name.Value() {
		case "CalGray":
			return colourSpace{kind: csGrey, n: 1}, nil
		case "CalRGB":
			return colourSpace{kind: csRGB, n: 3}, nil
		case "ICCBased":
			if len(v) < 2 {
				break
			}
			sd, _, err := d.ctx.DereferenceStreamDict(v[1])
			if err != nil || sd == nil {
				break
			}
			switch d.intEntry(sd.Dict, "N", "N") {
			case 1:
				return colourSpace{kind: csGrey, n: 1}, nil
			case 3:
				return colourSpace{kind: csRGB, n: 3}, nil
			case 4:
				return colourSpace{kind: csCMYK, n: 4}, nil
			}
		case "Separation":
			return colourSpace{kind: csInverse, n: 1}, nil
		case "Indexed", "I":
			if len(v) < 4 {
				break
			}
			base, err := d.colourSpace(v[1], depth+1)
			if err != nil || base.kind == csIndexed {
				break
			}
			hival := int(d.number(v[2]))
			lookup, err := d.bytes(v[3])
			if err != nil || hival < 0 || hival > 255 || len(lookup) < (hival+1)*base.n {
				break
			}
			return colourSpace{kind: csIndexed, n: 1, base: &base, lookup: lookup, hival: hival}, nil
		default:
			return colourSpace{}, errorf(ErrUnsupported, "PDF colour space %s", name.Value())
		}
	}
	return colourSpace{}, errorf(ErrCorrupt, "PDF image colour space")
}

// bytes reads a string or stream object (an Indexed palette).
func (d *pdfDoc) bytes(o types.Object) ([]byte, error) {
	o, err := d.ctx.Dereference(o)
	if err != nil {
		return nil, err
	}
	switch v := o.(type) {
	case types.StringLiteral:
		return types.Unescape(v.Value())
	case types.HexLiteral:
		return v.Bytes()
	case types.StreamDict:
		return decodeFilters(v.FilterPipeline, v.Raw, 1<<16)
	}
	return nil, fmt.Errorf("palette of type %T", o)
}

// decodeFilters applies the general-purpose filters (Flate, LZW, ASCII85,
// ASCIIHex, RunLength), refusing output above limit bytes so that a
// compression bomb ends as an error, not as exhausted memory.
func decodeFilters(fl []types.PDFFilter, raw []byte, limit int64) (out []byte, err error) {
	defer recoverTo(&err, "PDF stream")
	var r io.Reader = bytes.NewReader(raw)
	for _, f := range fl {
		parms := map[string]int{}
		for k, v := range f.DecodeParms {
			switch v := v.(type) {
			case types.Integer:
				parms[k] = v.Value()
			case types.Boolean:
				parms[k] = 0
				if v.Value() {
					parms[k] = 1
				}
			}
		}
		fi, err := filter.NewFilter(f.Name, parms, limit)
		if err != nil {
			return nil, errorf(ErrUnsupported, "PDF filter %s", f.Name)
		}
		r, err = fi.Decode(r)
		if err != nil {
			if errors.Is(err, filter.ErrDecodeLimitExceeded) {
				return nil, errorf(ErrTooLarge, "PDF stream decodes to more than %d bytes", limit)
			}
			return nil, fmt.Errorf("%w: PDF filter %s: %v", ErrCorrupt, f.Name, err)
		}
	}
	if b, ok := r.(*bytes.Buffer); ok {
		return b.Bytes(), nil
	}
	return io.ReadAll(io.LimitReader(r, limit))
}
