package forms

import (
	"strings"
	"testing"
)

// The calibration sheet must never be taken for a page of the contract.
func TestCalibrationIsNoContractPage(t *testing.T) {
	if err := CheckBarcode(CalibrationBarcode); err != nil {
		t.Fatal(err)
	}
	if _, ok := Builtin().Get(CalibrationBarcode[:2]); ok {
		t.Fatalf("barcode type %s is a contract page type", CalibrationBarcode[:2])
	}
	if _, err := ParseQR(CalibrationQR); err == nil || strings.HasPrefix(CalibrationQR, "GIA1;") {
		t.Fatal("calibration QR parses as a contract QR")
	}
	d, err := ComposeCalibration()
	if err != nil {
		t.Fatal(err)
	}
	if d.Width != 210 || d.Height != 297 {
		t.Fatalf("page %gx%g", d.Width, d.Height)
	}
	l := Calibration()
	if l.RulerH.Length() != 150 || l.RulerV.Length() != 200 || len(l.Steps) != 11 {
		t.Fatalf("layout %+v", l)
	}
	// Nothing dark within the anchors' clear zone, as on contract pages.
	for _, a := range l.Anchors {
		clear := Rect{a.X - 3, a.Y - 3, a.W + 6, a.H + 6}
		for _, op := range d.Ops {
			if op.Kind != OpFill || op.Rect == a.Rect {
				continue
			}
			r := op.Rect
			if r.X < clear.X1() && r.X1() > clear.X && r.Y < clear.Y1() && r.Y1() > clear.Y {
				t.Errorf("fill %+v within 3 mm of anchor %s", r, a.ID)
			}
		}
	}
}
