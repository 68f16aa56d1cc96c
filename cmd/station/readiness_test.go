package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"giascan/forms"
	"giascan/hardware/sim"
	"giascan/station/audit"
)

func TestReadinessPrint(t *testing.T) {
	needPDFTools(t)
	out := filepath.Join(t.TempDir(), "calib.pdf")
	code, _, stderr := runStation(t, "readiness", "print", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	tool(t, "qpdf", "--check", out)
	if n := pageCount(t, out); n != 1 {
		t.Fatalf("%d pages", n)
	}
	// The printed sheet's codes read back with the known content.
	barcodes, qrs := readCodes(t, out)
	if len(barcodes) != 1 || barcodes[0] != forms.CalibrationBarcode || len(qrs) != 1 || qrs[0] != forms.CalibrationQR {
		t.Fatalf("codes %q %q", barcodes, qrs)
	}
}

func TestReadinessCheck(t *testing.T) {
	needPDFTools(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")

	proto := filepath.Join(dir, "ok.pdf")
	code, stdout, stderr := runStation(t, "readiness", "check", "--device", "sim", "--data", data, "--out", proto, "--station", "ППЭ 0101")
	if code != 0 || !strings.HasPrefix(stdout, "ГОТОВ: dpi 300.0×300.0") || strings.Count(stdout, "\n") != 1 {
		t.Fatalf("clean sim: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	tool(t, "qpdf", "--check", proto)
	if text := tool(t, "pdftotext", proto, "-"); !strings.Contains(text, "ГОТОВ") || !strings.Contains(text, "ППЭ 0101") {
		t.Errorf("protocol text:\n%s", text)
	}

	bad := filepath.Join(dir, "bad.pdf")
	code, stdout, stderr = runStation(t, "readiness", "check", "--device", "sim:calibration,dpierr=3", "--data", data, "--out", bad)
	if code != 1 || !strings.HasPrefix(stdout, "НЕ ГОТОВ") || !strings.Contains(stdout, "dpi_h, dpi_v") {
		t.Fatalf("dpi 3 %% off: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	oneLine(t, stderr)
	tool(t, "qpdf", "--check", bad)
	if text := tool(t, "pdftotext", bad, "-"); !strings.Contains(text, "НЕ ГОТОВ") || !strings.Contains(text, "отличается от номинального") {
		t.Errorf("protocol text:\n%s", text)
	}

	// A scan already on disk is checked the same way.
	d, _ := forms.ComposeCalibration()
	sc, err := sim.RenderDrawingTweaked(d, sim.Settings{Profile: sim.Clean}, 5, sim.Tweaks{Skew: readinessPtr(2.5)})
	if err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(dir, "scan."+sc.Ext)
	if err := os.WriteFile(img, sc.Data, 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ = runStation(t, "readiness", "check", "--image", img, "--data", data, "--out", filepath.Join(dir, "img.pdf"))
	if code != 1 || !strings.Contains(stdout, "не в норме: skew") {
		t.Fatalf("skewed image: exit %d, stdout %q", code, stdout)
	}

	// Every check is in the audit log.
	x, err := audit.ReadExcerpt(data, audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range x.Entries {
		if e.Action == audit.ActionReadiness {
			n++
		}
	}
	if n != 3 {
		t.Fatalf("%d readiness entries in the audit log, want 3", n)
	}
}

func readinessPtr[T any](v T) *T { return &v }

func TestReadinessBadInput(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	garbage := filepath.Join(dir, "garbage.png")
	os.WriteFile(garbage, []byte("not an image"), 0o644)
	out := filepath.Join(dir, "p.pdf")
	for _, c := range []struct {
		name string
		args []string
		say  string
	}{
		{"unknown device", []string{"check", "--device", "nosuch:x", "--data", data, "--out", out}, "--device"},
		{"bad sim key", []string{"check", "--device", "sim:calibration,bogus=1", "--data", data, "--out", out}, "sim"},
		{"bad sim value", []string{"check", "--device", "sim:turn=45", "--data", data, "--out", out}, "turn"},
		{"missing image", []string{"check", "--image", filepath.Join(dir, "none.png"), "--data", data, "--out", out}, "--image"},
		{"unreadable image", []string{"check", "--image", garbage, "--data", data, "--out", out}, "--image"},
		{"unwritable out", []string{"check", "--device", "sim", "--data", data, "--out", filepath.Join(dir, "no", "p.pdf")}, "--out"},
		{"both sources", []string{"check", "--device", "sim", "--image", garbage, "--data", data, "--out", out}, "exactly one"},
		{"bad dpi", []string{"check", "--device", "sim", "--dpi", "30", "--data", data, "--out", out}, "--dpi"},
		{"print without out", []string{"print"}, "--out"},
		{"print to folder", []string{"print", "--out", dir}, "folder"},
		{"unknown subcommand", []string{"calibrate"}, "unknown"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runStation(t, append([]string{"readiness"}, c.args...)...)
			line := oneLine(t, stderr)
			if code != 2 || !strings.Contains(line, c.say) || stdout != "" {
				t.Fatalf("exit %d, stderr %q, want exit 2 naming %q", code, line, c.say)
			}
			if _, err := os.Stat(out); err == nil {
				t.Fatal("a protocol was left behind")
			}
			if _, err := os.Stat(data); err == nil {
				t.Fatal("the data folder was touched")
			}
		})
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".*"))
	if len(left) > 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}
