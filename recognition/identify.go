package recognition

import (
	"errors"
	"image"
	"math"
	"sync"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/oned"
	"github.com/makiuchi-d/gozxing/qrcode"

	"giascan/forms"
)

// codes is what the barcode and the QR code of a page said.
type codes struct {
	barcode  string // a valid barcode (13 digits, Luhn checked), "" if none was read
	badCheck string // a 13-digit reading whose check digit is wrong
	qrText   string // raw QR content, "" if none was decoded
	qr       *forms.Identity
	// printed is the human-readable digits under the bars, '?' for each
	// one not legible, read only when the bars gave no valid barcode.
	printed string
}

// any says whether any code was decoded at all.
func (c codes) any() bool { return c.barcode != "" || c.badCheck != "" || c.qrText != "" }

// barcodeWidth is the widest possible barcode: 13 digits in Code 128.
var barcodeWidth = sync.OnceValue(func() float64 {
	mods, err := forms.Code128Modules("1100000123452")
	if err != nil {
		return 60
	}
	return float64(len(mods))
})

// readCodes decodes the barcode and the QR code from template-guided crops
// of the full page: each crop is warped upright, so the decoders see a
// clean symbol and need no search; fallbacks widen the crop, change the
// binarisation and finally let the decoder try harder.
//
// mid and hMid are the smoothed 4–8 px/mm copy and its map: the last resort
// for noisy or dithered scans, where single full-resolution pixels lie.
func readCodes(full, mid *plane, h, hMid *homography, tpl *forms.Template) codes {
	var c codes
	// Edge distances first: they read widened and 1-bit bars, and cost
	// less than one gozxing attempt.
	edge, sure := readBarcodeEdges(full, h, tpl)
	switch err := forms.CheckBarcode(edge); {
	case edge == "":
	case err != nil:
		if len(edge) == 13 && sure {
			c.badCheck = edge
		}
		edge = ""
	case sure:
		c.barcode = edge
	}
	if c.barcode == "" {
		c.barcode, c.badCheck = readBarcode(full, h, tpl)
	}
	c.qrText = readQR(full, h, tpl)
	if c.qrText == "" {
		c.qrText = readQR(mid, hMid, tpl)
	}
	if c.barcode == "" {
		if b, bad := readBarcode(mid, hMid, tpl); b != "" {
			c.barcode, c.badCheck = b, ""
		} else if c.badCheck == "" {
			c.badCheck = bad
		}
	}
	if c.qrText != "" {
		if id, err := forms.ParseQR(c.qrText); err == nil {
			c.qr = &id
		}
	}
	// A reading with edges read both ways counts only when the QR code
	// carries the same barcode.
	if c.barcode == "" && edge != "" && !sure && c.qr != nil && c.qr.Barcode == edge {
		c.barcode, c.badCheck = edge, ""
	}
	return c
}

func clampScale(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }

func readBarcode(full *plane, h *homography, tpl *forms.Template) (valid, badCheck string) {
	b := tpl.Barcode
	k := clampScale(h.scaleAt(pt{b.X, b.Y}), 8, 16)
	width := barcodeWidth() * b.Module
	tight := forms.Rect{X: b.X - 2.5, Y: b.Y + 1.5, W: width + 5, H: b.H - 3}
	wide := forms.Rect{X: b.X - 3.5, Y: b.Y - 0.5, W: width + 8, H: b.H + 1}
	type attempt struct {
		r              forms.Rect
		k              float64
		global, harder bool
	}
	for _, a := range []attempt{{tight, k, false, false}, {tight, k, true, false}, {tight, 1.4 * k, false, false},
		{wide, k, false, true}, {wide, 1.4 * k, true, true}} {
		crop := full.warp(h, a.r, a.k)
		text := decode1D(crop, a.global, a.harder)
		if text == "" {
			continue
		}
		if err := forms.CheckBarcode(text); err == nil {
			return text, ""
		} else if len(text) == 13 {
			badCheck = text
		}
	}
	return "", badCheck
}

func readQR(full *plane, h *homography, tpl *forms.Template) string {
	q := tpl.QR
	k := clampScale(h.scaleAt(pt{q.X, q.Y}), 5, 10)
	// The quiet zone is 4 modules; the crop keeps 2.5 mm of it on each side
	// and stays clear of the top-right anchor.
	tight := forms.Rect{X: q.X - 2.5, Y: q.Y - 2.5, W: q.Size + 5, H: q.Size + 5}
	wide := forms.Rect{X: q.X - 5, Y: q.Y - 3, W: q.Size + 8, H: q.Size + 8}
	// A symbol that fails at one sampling often reads at another: the
	// module grid then falls differently on the pixels.
	type attempt struct {
		r              forms.Rect
		k              float64
		global, harder bool
	}
	for _, a := range []attempt{{tight, k, false, false}, {tight, k, true, false}, {tight, 1.5 * k, false, false},
		{tight, 6, true, false}, {wide, k, false, true}} {
		if text := decodeQR(full.warp(h, a.r, a.k), a.global, a.harder); text != "" {
			return text
		}
	}
	// Last, finer samplings, as they are and thinned: a faint, blurred
	// symbol at 150 dpi may only read once each module spans enough
	// pixels for the binarizer, and a lineart scan widens dark modules
	// until the finder patterns lose their proportions, which growing the
	// light a pixel or two (an eighth to a tenth of a millimetre each)
	// gives back.
	for _, fk := range []float64{8, 10, 12} {
		crop := full.warp(h, tight, fk)
		for r := 0; r <= 2; r++ {
			thin := crop
			if r > 0 {
				thin = thinDark(crop, r)
			}
			for _, global := range []bool{false, true} {
				if text := decodeQR(thin, global, true); text != "" {
					return text
				}
			}
		}
	}
	return ""
}

// thinDark returns g with every pixel replaced by the lightest within r
// pixels along both axes (a max filter, separable): dark strokes lose r
// pixels on each side.
func thinDark(g *image.Gray, r int) *image.Gray {
	b := g.Bounds()
	w, h := b.Dx(), b.Dy()
	tmp := image.NewGray(image.Rect(0, 0, w, h))
	out := image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		src := g.Pix[g.PixOffset(b.Min.X, b.Min.Y+y):]
		dst := tmp.Pix[y*tmp.Stride:]
		for x := 0; x < w; x++ {
			m := uint8(0)
			for i := max(0, x-r); i <= min(w-1, x+r); i++ {
				m = max(m, src[i])
			}
			dst[x] = m
		}
	}
	for x := 0; x < w; x++ {
		for y := 0; y < h; y++ {
			m := uint8(0)
			for j := max(0, y-r); j <= min(h-1, y+r); j++ {
				m = max(m, tmp.Pix[j*tmp.Stride+x])
			}
			out.Pix[y*out.Stride+x] = m
		}
	}
	return out
}

func bitmap(g *image.Gray, global bool) (*gozxing.BinaryBitmap, error) {
	src := newGrayLuminance(g)
	if global {
		return gozxing.NewBinaryBitmap(gozxing.NewGlobalHistgramBinarizer(src))
	}
	return gozxing.NewBinaryBitmap(gozxing.NewHybridBinarizer(src))
}

func decode1D(g *image.Gray, global, harder bool) string {
	bmp, err := bitmap(g, global)
	if err != nil {
		return ""
	}
	hints := map[gozxing.DecodeHintType]interface{}{}
	if harder {
		hints[gozxing.DecodeHintType_TRY_HARDER] = true
	}
	res, err := oned.NewCode128Reader().Decode(bmp, hints)
	if err != nil {
		return ""
	}
	return res.GetText()
}

func decodeQR(g *image.Gray, global, harder bool) string {
	bmp, err := bitmap(g, global)
	if err != nil {
		return ""
	}
	hints := map[gozxing.DecodeHintType]interface{}{}
	if harder {
		hints[gozxing.DecodeHintType_TRY_HARDER] = true
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, hints)
	if err != nil {
		return ""
	}
	return res.GetText()
}

// applyIdentity fills type, barcode and context of r from the codes and
// returns the template of the page, nil when its type is not known for
// certain. The rules: the barcode and the QR code must agree; one of them
// alone is enough for what it carries; a disagreement is never resolved
// by a guess.
func applyIdentity(r *forms.PageResult, c codes, set *forms.Set) *forms.Template {
	review := func(ids ...string) {
		r.NeedsReview = true
		r.Review = append(r.Review, ids...)
	}
	if c.badCheck != "" && c.barcode == "" {
		r.Flags = append(r.Flags, forms.FlagBadCheckDigit)
	}
	if c.barcode == "" {
		r.BarcodeDigits = c.printed
	}
	var pageType string
	switch {
	case c.barcode != "" && c.qr != nil:
		if c.qr.Barcode != c.barcode {
			r.Flags = append(r.Flags, forms.FlagBarcodeQRMismatch)
			review("barcode", "type", "context")
			return nil
		}
		r.Barcode = c.barcode
		r.Context = forms.ContextOf(*c.qr)
		pageType = c.qr.Type
	case c.barcode != "":
		r.Barcode = c.barcode
		pageType = c.barcode[:2]
		r.Flags = append(r.Flags, forms.FlagNoQR)
		review("context")
	case c.qr != nil:
		r.Barcode = c.qr.Barcode
		r.Context = forms.ContextOf(*c.qr)
		pageType = c.qr.Type
		// The printed digits stand in for the bars only when their check
		// digit verifies and they say what the QR code says; anything
		// else leaves the barcode to a person, with the reason in flags.
		switch err := forms.CheckBarcode(c.printed); {
		case err == nil && c.printed == c.qr.Barcode:
			r.Flags = append(r.Flags, forms.FlagBarcodeFromDigits)
		case err == nil:
			r.Barcode, r.Context = "", forms.Context{}
			r.Flags = append(r.Flags, forms.FlagNoBarcode, forms.FlagBarcodeQRMismatch)
			review("barcode", "type", "context")
			return nil
		case errors.Is(err, forms.ErrCheckDigit):
			r.Flags = append(r.Flags, forms.FlagNoBarcode, forms.FlagBadCheckDigit)
			review("barcode")
		default:
			r.Flags = append(r.Flags, forms.FlagNoBarcode)
			review("barcode")
		}
	default:
		r.Flags = append(r.Flags, forms.FlagNoBarcode, forms.FlagNoQR, forms.FlagUnknownType)
		review("barcode", "type", "context")
		return nil
	}
	tpl, ok := set.Get(pageType)
	if !ok {
		r.Flags = append(r.Flags, forms.FlagUnknownType)
		review("type")
		return nil
	}
	r.Type = pageType
	return tpl
}
