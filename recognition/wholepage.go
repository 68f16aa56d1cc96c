package recognition

import (
	"image"
	"math"
	"strings"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/oned"

	"giascan/forms"
)

// Last resort before a page is given up as unknown: with too few anchors
// on the image and no QR code to place it, the barcode is searched on the
// whole page. Its check digits make its reading as certain as anywhere,
// so the page's type and barcode are known and the page reaches the
// right participant; nothing places its cells, so every box and digit
// field waits for a person.

// wholePageBarcode searches the mid copy for a Code 128 barcode with a
// valid check digit, as it lies and turned a quarter, and returns it with
// the clockwise quarter turn that makes the page upright: the bars are
// read left to right on the upright page.
func wholePageBarcode(mid *plane) (string, int, bool) {
	g := &image.Gray{Pix: mid.pix, Stride: mid.stride, Rect: image.Rect(0, 0, mid.w, mid.h)}
	for _, turned := range []bool{false, true} {
		src := g
		if turned {
			src = turnClockwise(g)
		}
		bmp, err := gozxing.NewBinaryBitmap(gozxing.NewHybridBinarizer(newGrayLuminance(src)))
		if err != nil {
			return "", 0, false
		}
		hints := map[gozxing.DecodeHintType]interface{}{gozxing.DecodeHintType_TRY_HARDER: true}
		res, err := oned.NewCode128Reader().Decode(bmp, hints)
		if err != nil || forms.CheckBarcode(res.GetText()) != nil || len(res.GetResultPoints()) < 2 {
			continue
		}
		a, b := res.GetResultPoints()[0], res.GetResultPoints()[1]
		// The reading direction on the searched image; on the image as
		// stored it is a quarter turn back when the copy was turned.
		ang := math.Atan2(b.GetY()-a.GetY(), b.GetX()-a.GetX()) * 180 / math.Pi
		if turned {
			ang -= 90
		}
		rot := ((-int(math.Round(ang/90))*90)%360 + 360) % 360
		return res.GetText(), rot, true
	}
	return "", 0, false
}

// turnClockwise returns g turned a quarter clockwise.
func turnClockwise(g *image.Gray) *image.Gray {
	b := g.Bounds()
	w, h := b.Dx(), b.Dy()
	out := image.NewGray(image.Rect(0, 0, h, w))
	for y := 0; y < h; y++ {
		row := g.Pix[g.PixOffset(b.Min.X, b.Min.Y+y):]
		for x := 0; x < w; x++ {
			// (x, y) goes to (h-1-y, x).
			out.Pix[x*out.Stride+h-1-y] = row[x]
		}
	}
	return out
}

// identityOnly fills r from a barcode found by wholePageBarcode: type,
// barcode and rotation, every box ambiguous and every digit cell
// unreadable, all of them in review, and the context to review as on any
// page without its QR code. It reports false when the barcode names no
// known page type.
func identityOnly(r *forms.PageResult, barcode string, rot int, set *forms.Set) bool {
	tpl := applyIdentity(r, codes{barcode: barcode}, set)
	if tpl == nil {
		return false
	}
	r.Rotation = rot
	for _, b := range tpl.Boxes {
		r.Marks[b.ID] = forms.MarkAmbiguous
		r.Review = append(r.Review, b.ID)
	}
	for _, f := range tpl.DigitFields {
		r.Digits[f.ID] = strings.Repeat(string(rune(unreadableMark)), f.Cells)
		r.Review = append(r.Review, f.ID)
	}
	if len(tpl.Boxes) > 0 {
		r.Flags = append(r.Flags, forms.FlagAmbiguousMark)
	}
	if len(tpl.DigitFields) > 0 {
		r.Flags = append(r.Flags, forms.FlagUnreadableDigit)
	}
	r.NeedsReview = true
	return true
}
