package recognition

import (
	"giascan/forms"
	"giascan/recognition/imagein"
	"time"
)

// reducedMinLong is the longer side, in pixels, below which a page is not
// decoded reduced: an A4 page at about 147 dpi, above the resolution
// below which the page is flagged as low (minDPI), with room for a
// scanner that crops a little. A 300 dpi JPEG is read at half size, a
// 600 dpi one at a quarter.
const reducedMinLong = 1720

// Document reads page i (0-based) of a scan file. A JPEG scanned finer
// than the recognizer needs is decoded at a reduced size, in the DCT
// domain, which costs less than a full decode and leaves less to warp; a
// page whose reduced reading leaves anything to a person (an unread code,
// an unsure digit or mark) is decoded at full size and read again, so the
// shortcut never costs accuracy. A page that cannot be decoded gives a
// result with Error set and the decoder's error. File, Page and Ms of the
// result are the caller's.
func (rc *Recognizer) Document(d *imagein.Document, i int) (forms.PageResult, error) {
	m, info, err := d.PageReduced(i, reducedMinLong)
	if err != nil {
		r := forms.NewPageResult("", 0)
		r.Error = err.Error()
		return r, err
	}
	r := rc.Page(m)
	m.Close()
	if info.Reduced <= 1 || !r.NeedsReview && r.Error == "" {
		return r, nil
	}
	full, _, err := d.Page(i)
	if err != nil {
		// The reduced decode worked: its reading stands, with its review.
		return r, nil
	}
	defer full.Close()
	return rc.Page(full), nil
}

// Bytes reads the first page of an in-memory scan, as a scanner or a
// file hands it over. It is the one way the station recognises a stored
// page; name is the file name for messages. The result's File is name,
// its Page 1 and its Ms the time taken.
func (rc *Recognizer) Bytes(data []byte, name string) forms.PageResult {
	start := time.Now()
	res := forms.NewPageResult(name, 1)
	doc, err := imagein.FromBytes(data, name, imagein.Limits{})
	if err == nil {
		res, err = rc.Document(doc, 0)
		doc.Close()
	}
	if err != nil && res.Error == "" {
		res.Error = err.Error()
	}
	res.File, res.Page = name, 1
	res.Ms = float64(time.Since(start).Microseconds()) / 1000
	return res
}
