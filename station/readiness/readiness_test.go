package readiness

import (
	"bytes"
	"image"
	"math"
	"strings"
	"testing"
	"time"

	"giascan/forms"
	"giascan/hardware/sim"
)

// scanOf scans the calibration sheet on the simulator and decodes it.
func scanOf(t *testing.T, set sim.Settings, seed int64, tw sim.Tweaks) Image {
	t.Helper()
	d, err := forms.ComposeCalibration()
	if err != nil {
		t.Fatal(err)
	}
	sc, err := sim.RenderDrawingTweaked(d, set, seed, tw)
	if err != nil {
		t.Fatal(err)
	}
	img, err := Decode(sc.Data, "scan."+sc.Ext)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func ptr[T any](v T) *T { return &v }

func check(t *testing.T, img Image) *Result {
	t.Helper()
	r, err := Check(img.Gray, img.DPI, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(r.Summary())
	return r
}

func TestCleanScanPasses(t *testing.T) {
	for _, tw := range []sim.Tweaks{{}, {Turn: ptr(180)}, {Turn: ptr(90)}, {Skew: ptr(0.6)}} {
		r := check(t, scanOf(t, sim.Settings{Profile: sim.Clean}, 1, tw))
		if !r.Ready || r.Figures == nil {
			t.Fatalf("clean scan %+v not ready: %v", tw, r.Failed())
		}
		f := r.Figures
		for _, v := range []float64{f.AnchorDPIH, f.AnchorDPIV, f.RulerDPIH, f.RulerDPIV} {
			if math.Abs(v-300) > 0.6 {
				t.Errorf("%+v: resolution %.2f, want 300", tw, v)
			}
		}
		want := 0
		if tw.Turn != nil {
			want = (360 - *tw.Turn) % 360
		}
		if f.Rotation != want {
			t.Errorf("%+v: rotation %d, want %d", tw, f.Rotation, want)
		}
		if tw.Skew != nil && math.Abs(f.Skew+*tw.Skew) > 0.05 {
			t.Errorf("skew %.3f, want %.3f", f.Skew, -*tw.Skew)
		}
		if f.BarcodeReads != f.Tries || f.QRReads != f.Tries {
			t.Errorf("codes read %d and %d of %d", f.BarcodeReads, f.QRReads, f.Tries)
		}
	}
}

// Each defect fails its own criterion, and only that one, with a Russian
// explanation of what is wrong.
func TestDefectsFailTheirCriterion(t *testing.T) {
	for _, c := range []struct {
		name   string
		tw     sim.Tweaks
		failed []string
		say    string
	}{
		{"dpi 3 % high", sim.Tweaks{DPIErr: ptr(0.03)}, []string{"dpi_h", "dpi_v"}, "отличается от номинального 300 dpi на +3,0 %"},
		{"dpi 3 % low", sim.Tweaks{DPIErr: ptr(-0.03)}, []string{"dpi_h", "dpi_v"}, "на -3,0 %"},
		{"skew 3°", sim.Tweaks{Skew: ptr(3.0)}, []string{"skew"}, "перекосом 3,00°"},
		{"heavy noise", sim.Tweaks{Noise: ptr(30.0)}, []string{"noise"}, "шум на белом поле"},
		{"blur", sim.Tweaks{Blur: ptr(2.5)}, []string{"resolution", "barcode"}, "скан размыт"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := check(t, scanOf(t, sim.Settings{Profile: sim.Clean}, 2, c.tw))
			if r.Ready || strings.Join(r.Failed(), ",") != strings.Join(c.failed, ",") {
				t.Fatalf("failed %v, want %v", r.Failed(), c.failed)
			}
			for _, cr := range r.Criteria {
				if !cr.Pass && cr.ID == c.failed[0] && !strings.Contains(cr.Explain, c.say) {
					t.Errorf("%s explanation %q does not say %q", cr.ID, cr.Explain, c.say)
				}
			}
		})
	}
	// Low contrast: the grey steps run together too, and the pale QR code
	// stops reading; contrast must be among the reasons.
	r := check(t, scanOf(t, sim.Settings{Profile: sim.Clean}, 2, sim.Tweaks{Faint: ptr(0.3)}))
	if r.Ready || !strings.Contains(strings.Join(r.Failed(), ","), "contrast") {
		t.Fatalf("faint print: failed %v, want contrast among them", r.Failed())
	}
	for _, cr := range r.Criteria {
		if cr.ID == "contrast" && !strings.Contains(cr.Explain, "скан бледный") {
			t.Errorf("contrast explanation %q", cr.Explain)
		}
	}
}

func TestNoSheet(t *testing.T) {
	blank := image.NewGray(image.Rect(0, 0, 2480, 3508))
	for i := range blank.Pix {
		blank.Pix[i] = 250
	}
	r, err := Check(blank, 300, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if r.Ready || r.Figures != nil || len(r.Failed()) != 1 || r.Failed()[0] != "sheet" {
		t.Fatalf("blank page: %+v", r)
	}
	if !strings.Contains(r.Summary(), "калибровочный лист не найден") {
		t.Errorf("summary %q", r.Summary())
	}
	// A nominal resolution no scanner has is the caller's mistake.
	if _, err := Check(blank, 50, DefaultLimits); err == nil {
		t.Error("50 dpi accepted")
	}
}

func TestProtocolWrites(t *testing.T) {
	r := check(t, scanOf(t, sim.Settings{Profile: sim.Clean}, 3, sim.Tweaks{Noise: ptr(30.0), Skew: ptr(2.0)}))
	d := Protocol(r, Info{Station: "ППЭ 0101", Device: "sim", Source: "300 dpi", Time: time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)})
	var texts []string
	for _, op := range d.Ops {
		if op.Kind == forms.OpText {
			texts = append(texts, op.Text)
		}
	}
	all := strings.Join(texts, "\n")
	for _, want := range []string{"Протокол проверки готовности сканера", "НЕ ГОТОВ", "Член ГЭК", "01.05.2026 09:00:00", "ППЭ 0101"} {
		if !strings.Contains(all, want) {
			t.Errorf("protocol lacks %q", want)
		}
	}
	var buf bytes.Buffer
	if err := forms.WritePDF(&buf, []*forms.Drawing{d}, forms.PDFMeta{Title: "t"}); err != nil {
		t.Fatal(err)
	}
}
