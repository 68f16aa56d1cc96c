package recognition

import (
	"errors"
	"testing"

	"giascan/forms"
	"giascan/recognition/imagein"
)

// TestDocumentReduced reads 300 dpi JPEG pages the way the station does,
// decoded at half size, and checks them against the simulator's truth and
// against the reading of the same page decoded whole.
func TestDocumentReduced(t *testing.T) {
	scans, err := jpegScans(3, 3)
	if err != nil {
		t.Fatal(err)
	}
	rc := benchRecognizer(t)
	for i, s := range scans {
		d, err := imagein.FromBytes(s.data, "page.jpg", imagein.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		m, info, err := d.PageReduced(0, reducedMinLong)
		if err != nil {
			t.Fatal(err)
		}
		m.Close()
		if info.Reduced != 2 {
			t.Errorf("page %d: a 300 dpi A4 JPEG decoded reduced by %d, want 2", i+1, info.Reduced)
		}
		got, err := rc.Document(d, 0)
		if err != nil {
			t.Fatal(err)
		}
		full, _, err := d.Page(0)
		if err != nil {
			t.Fatal(err)
		}
		whole := rc.Page(full)
		full.Close()
		d.Close()
		if !identityRight(s.truth, got) {
			t.Errorf("page %d: identity %s, truth %s %s", i+1, describe(got), s.truth.Type, s.truth.Barcode)
		}
		if got.Rotation != whole.Rotation || got.Barcode != whole.Barcode {
			t.Errorf("page %d: reduced %s, whole %s", i+1, describe(got), describe(whole))
		}
		truth := []forms.PageResult{s.truth}
		truth[0].File, truth[0].Page, got.File, got.Page = "p", 1, "p", 1
		if sc := Score(truth, []forms.PageResult{got}); len(sc.Silent) > 0 {
			t.Errorf("page %d: %v", i+1, sc.Silent)
		}
	}
}

// TestDocumentBroken gives a damaged file: the result carries the
// decoder's error and nothing else.
func TestDocumentBroken(t *testing.T) {
	scans, err := jpegScans(3, 1)
	if err != nil {
		t.Fatal(err)
	}
	data := append([]byte(nil), scans[0].data[:len(scans[0].data)/2]...)
	d, err := imagein.FromBytes(data, "cut.jpg", imagein.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	r, err := benchRecognizer(t).Document(d, 0)
	if !errors.Is(err, imagein.ErrTruncated) || r.Error == "" || r.Type != "" {
		t.Errorf("cut JPEG: error %v, result %s", err, describe(r))
	}
}
