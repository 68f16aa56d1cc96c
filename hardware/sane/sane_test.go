package sane

import (
	"bytes"
	"context"
	"errors"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"giascan/hardware"
)

// testBackend points SANE at its test backend only, so that listing does
// not probe real buses, and returns the environment for scanimage.
func testBackend(t *testing.T) []string {
	t.Helper()
	if _, err := exec.LookPath("scanimage"); err != nil {
		t.Skip("scanimage (sane-utils) is not installed")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "dll.conf"), []byte("test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return []string{"SANE_CONFIG_DIR=" + dir}
}

func open(t *testing.T, extra ...string) *Scanner {
	t.Helper()
	s, err := New(context.Background(), Config{Device: "test", Env: testBackend(t), Extra: extra, Grace: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var lowRes = hardware.Options{Source: hardware.ADF, DPI: 50}

func scan(s *Scanner) ([]hardware.Page, error) {
	var pages []hardware.Page
	err := s.Scan(context.Background(), lowRes, func(p hardware.Page) error {
		pages = append(pages, p)
		return nil
	})
	return pages, err
}

func TestParseOptions(t *testing.T) {
	out := `All options specific to device ` + "`fujitsu:fi-7160:1'" + `:
  Standard:
    --source ADF Front|ADF Back|ADF Duplex [ADF Front]
        Selects the scan source.
    --mode Lineart|Halftone|Gray|Color [Lineart]
        Selects the scan mode.
    --resolution 50..600dpi (in steps of 1) [600]
        Sets the resolution.
`
	o := ParseOptions(out)
	c := o.Caps()
	if o.source(hardware.ADF) != "ADF Front" || o.source(hardware.Duplex) != "ADF Duplex" || o.source(hardware.Flatbed) != "" {
		t.Errorf("sources %q", o.Sources)
	}
	if strings.Join(c.Modes, ",") != "gray,color,lineart" || o.mode("gray") != "Gray" {
		t.Errorf("modes %v from %q", c.Modes, o.Modes)
	}
	if o.DefaultDPI != 600 || o.MinDPI != 50 || !o.acceptsDPI(300) || o.acceptsDPI(1200) {
		t.Errorf("resolution %+v", o)
	}
	l := ParseOptions("    --resolution 150|300|600dpi [300]\n")
	if len(l.DPIs) != 3 || l.DefaultDPI != 300 || l.acceptsDPI(200) {
		t.Errorf("listed resolutions %+v", l)
	}
}

func TestList(t *testing.T) {
	devs, err := List(context.Background(), Config{Env: testBackend(t)})
	if err != nil {
		t.Fatal(err)
	}
	if len(devs) != 2 || devs[0].ID != "sane:test:0" {
		t.Errorf("devices %+v", devs)
	}
	// What discovery lists, Open opens.
	if len(devs) > 0 {
		if devs[0].Spec != "sane:test:0" {
			t.Fatalf("spec %q, want sane:test:0", devs[0].Spec)
		}
		dev, err := New(context.Background(), Config{Device: strings.TrimPrefix(devs[0].Spec, "sane:"), Env: testBackend(t)})
		if err != nil {
			t.Fatalf("opening the listed device: %v", err)
		}
		if dev.Device().ID != devs[0].ID {
			t.Errorf("opened %q, listed %q", dev.Device().ID, devs[0].ID)
		}
	}
}

func TestListWithoutSANE(t *testing.T) {
	_, err := List(context.Background(), Config{Command: "giascan-no-such-scanimage"})
	if err == nil || !strings.Contains(err.Error(), "sane-utils") {
		t.Errorf("listing without scanimage: %v, want a sentence naming the package to install", err)
	}
}

func TestOpenMissingDevice(t *testing.T) {
	_, err := New(context.Background(), Config{Device: "nosuch:dev", Env: testBackend(t)})
	if err == nil || !strings.Contains(err.Error(), "nosuch:dev") {
		t.Errorf("opening a missing device: %v", err)
	}
}

func TestBatchUntilFeederEmpty(t *testing.T) {
	s := open(t)
	if c := s.Device().Caps; len(c.Sources) != 2 || c.Sources[1] != hardware.ADF {
		t.Errorf("caps %+v", c)
	}
	pages, err := scan(s)
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) != 10 { // the test backend's feeder holds 10 sheets
		t.Fatalf("%d pages", len(pages))
	}
	for i, p := range pages {
		if p.Seq != i+1 || p.DPI != 50 || p.Format != "png" {
			t.Errorf("page %d: %+v", i+1, p)
		}
		if _, err := png.Decode(bytes.NewReader(p.Data)); err != nil {
			t.Errorf("page %d: %v", i+1, err)
		}
	}
}

func TestPNMIsConverted(t *testing.T) {
	s, err := New(context.Background(), Config{Device: "test", Env: testBackend(t), Format: "pnm",
		Extra: []string{"--batch-count=2", "--test-picture=Grid"}})
	if err != nil {
		t.Fatal(err)
	}
	pages, err := scan(s)
	if err != nil || len(pages) != 2 {
		t.Fatalf("%d pages, %v", len(pages), err)
	}
	img, err := png.Decode(bytes.NewReader(pages[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 157 || b.Dy() < 190 { // about 80 × 100 mm at 50 dpi
		t.Errorf("page size %v", b)
	}
}

func TestStatusesBecomeEvents(t *testing.T) {
	for status, kind := range map[string]hardware.FaultKind{
		"SANE_STATUS_JAMMED":     hardware.PaperJam,
		"SANE_STATUS_COVER_OPEN": hardware.CoverOpen,
		"SANE_STATUS_IO_ERROR":   hardware.DeviceGone,
	} {
		pages, err := scan(open(t, "--read-return-value="+status))
		var f *hardware.Fault
		if !errors.As(err, &f) || f.Kind != kind || f.After != 0 || len(pages) != 0 {
			t.Errorf("%s: %d pages, %v; want %s", status, len(pages), err, kind)
		}
	}
}

// The test backend hangs on its way out after reporting no documents
// from sane_read; the batch must still end, as an empty feeder.
func TestHangAfterBatchIsKilled(t *testing.T) {
	start := time.Now()
	pages, err := scan(open(t, "--read-return-value=SANE_STATUS_NO_DOCS"))
	if err != nil || len(pages) != 0 {
		t.Fatalf("%d pages, %v", len(pages), err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s", d)
	}
}

// A backend that dies mid-batch is a device gone after the last page
// delivered, not a crash of the station.
func TestCrashIsDeviceGone(t *testing.T) {
	s := open(t, "--read-limit=yes", "--read-limit-size=1000", "--read-delay=yes", "--read-delay-duration=10000")
	var pages []hardware.Page
	err := s.Scan(context.Background(), lowRes, func(p hardware.Page) error {
		pages = append(pages, p)
		if len(pages) == 1 {
			if err := killChild("scanimage"); err != nil {
				t.Error(err)
			}
		}
		return nil
	})
	var f *hardware.Fault
	if !errors.As(err, &f) || f.Kind != hardware.DeviceGone || f.After != len(pages) || len(pages) < 1 {
		t.Fatalf("%d pages, %v", len(pages), err)
	}
}

// killChild kills this process's child of the given name.
func killChild(name string) error {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, path := range stats {
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		f := strings.Fields(s[i+1:])
		comm := s[strings.IndexByte(s, '(')+1 : i]
		if ppid, _ := strconv.Atoi(f[1]); ppid == os.Getpid() && comm == name {
			pid, _ := strconv.Atoi(strings.Fields(s)[0])
			return syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	return errors.New("no " + name + " child to kill")
}

func TestPNM16AndBitmap(t *testing.T) {
	pbm := append([]byte("P4\n# c\n10 2\n"), 0xFF, 0xC0, 0x00, 0x00)
	out, err := PNMToPNG(pbm)
	if err != nil {
		t.Fatal(err)
	}
	img, _ := png.Decode(bytes.NewReader(out))
	if r, _, _, _ := img.At(0, 0).RGBA(); r != 0 {
		t.Error("a set PBM bit must be black")
	}
	if r, _, _, _ := img.At(0, 1).RGBA(); r == 0 {
		t.Error("a clear PBM bit must be white")
	}
	if _, err := PNMToPNG([]byte("P5\n4 4\n255\nxx")); err == nil {
		t.Error("a short raster was accepted")
	}
}
