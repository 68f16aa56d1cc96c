package folder

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"giascan/hardware"
)

// pngPage is a small distinct PNG image.
func pngPage(t *testing.T, shade uint8) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 8, 8))
	for i := range img.Pix {
		img.Pix[i] = shade
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func write(t *testing.T, dir, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func quick(t *testing.T, dir string) *Folder {
	t.Helper()
	f, err := New(Config{Dir: dir, Settle: 150 * time.Millisecond, Poll: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func names(t *testing.T, f *Folder) []string {
	t.Helper()
	var out []string
	err := f.Scan(context.Background(), hardware.Options{}, func(p hardware.Page) error {
		out = append(out, fmt.Sprintf("%d:%s", p.Seq, p.Name))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestMissingFolderAtOpen(t *testing.T) {
	_, err := hardware.Open("folder:" + filepath.Join(t.TempDir(), "nope"))
	if err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("Open of a missing folder: %v", err)
	}
}

func TestOpenSpec(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a,b")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := Open(dir + ",settle=1s,poll=5ms,watch,dpi=300")
	if err != nil {
		t.Fatal(err)
	}
	if f.cfg.Dir != dir || f.cfg.Settle != time.Second || f.cfg.Poll != 5*time.Millisecond || !f.cfg.Watch || f.cfg.DPI != 300 {
		t.Errorf("config %+v", f.cfg)
	}
	if _, err := Open(dir + ",settle=soon"); err == nil {
		t.Error("a bad duration was accepted")
	}
}

func TestNameOrderIgnoredFilesAndRestart(t *testing.T) {
	dir := t.TempDir()
	for i, n := range []string{"b.png", "a.png", "c.PNG"} {
		write(t, dir, n, pngPage(t, uint8(i)))
	}
	for _, n := range []string{".hidden.png", "x.png.part", "y.tmp", "~lock.png", "notes.txt"} {
		write(t, dir, n, pngPage(t, 9))
	}
	f := quick(t, dir)
	if got := strings.Join(names(t, f), " "); got != "1:a.png 2:b.png 3:c.PNG" {
		t.Fatalf("delivered %s", got)
	}
	// A restarted station remembers, and numbering goes on.
	write(t, dir, "d.png", pngPage(t, 7))
	again := quick(t, dir)
	if got := strings.Join(names(t, again), " "); got != "4:d.png" {
		t.Fatalf("after restart delivered %s", got)
	}
	// The same name with new content is a new page.
	write(t, dir, "a.png", pngPage(t, 200))
	later := time.Now().Add(time.Minute)
	os.Chtimes(filepath.Join(dir, "a.png"), later, later)
	if got := strings.Join(names(t, again), " "); got != "5:a.png" {
		t.Fatalf("a rewritten file: %s", got)
	}
}

// A JPEG still being written (no end marker yet) waits, and holds back the
// files after it so that order holds; once complete it comes first.
func TestWaitsForCompleteFile(t *testing.T) {
	dir := t.TempDir()
	var full bytes.Buffer
	img := image.NewGray(image.Rect(0, 0, 16, 16))
	img.Set(3, 3, color.Gray{Y: 200})
	if err := jpeg.Encode(&full, img, nil); err != nil {
		t.Fatal(err)
	}
	write(t, dir, "1.jpg", full.Bytes()[:full.Len()/2])
	write(t, dir, "2.png", pngPage(t, 1))
	f, err := New(Config{Dir: dir, Settle: time.Second, Poll: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var got []string
	go func() {
		time.Sleep(300 * time.Millisecond)
		write(t, dir, "1.jpg", full.Bytes())
	}()
	err = f.Scan(ctx, hardware.Options{}, func(p hardware.Page) error {
		got = append(got, p.Name)
		if p.Name == "1.jpg" && !Complete("jpeg", p.Data) {
			t.Error("half a JPEG delivered")
		}
		return nil
	})
	if err != nil || strings.Join(got, " ") != "1.jpg 2.png" {
		t.Fatalf("got %v, %v", got, err)
	}
}

func TestWatchRunsUntilCancelled(t *testing.T) {
	dir := t.TempDir()
	f, err := New(Config{Dir: dir, Settle: 20 * time.Millisecond, Poll: 5 * time.Millisecond, Watch: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		time.Sleep(100 * time.Millisecond)
		write(t, dir, "late.png", pngPage(t, 3))
	}()
	var got []string
	err = f.Scan(ctx, hardware.Options{}, func(p hardware.Page) error {
		got = append(got, p.Name)
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) || len(got) != 1 {
		t.Fatalf("watch: %v, %v", got, err)
	}
}

func TestDensity(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 4, 4))
	var j bytes.Buffer
	jpeg.Encode(&j, img, nil) // Go writes no JFIF density
	if d := Density("jpeg", j.Bytes()); d != 0 {
		t.Errorf("jpeg without density: %d", d)
	}
	jfif := []byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 1, 1, 0x01, 0x2C, 0x01, 0x2C}
	if d := Density("jpeg", jfif); d != 300 {
		t.Errorf("JFIF 300 dpi read as %d", d)
	}
	p := pngPage(t, 1)
	// Insert a pHYs chunk of 11811 px/m (300 dpi) after IHDR.
	phys := []byte{0, 0, 0, 9, 'p', 'H', 'Y', 's', 0, 0, 0x2E, 0x23, 0, 0, 0x2E, 0x23, 1, 0, 0, 0, 0}
	withPhys := append(append(append([]byte{}, p[:33]...), phys...), p[33:]...)
	if d := Density("png", withPhys); d != 300 {
		t.Errorf("pHYs 300 dpi read as %d", d)
	}
}

// An empty file and one too large to be a page are each reported once and
// passed over; the files after them still become pages, and the next run
// does not stop at them again. The large one is never read.
func TestEmptyAndOversizedFilesAreFlaggedAndPassedOver(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "01.png", pngPage(t, 10))
	write(t, dir, "02.png", nil)
	write(t, dir, "03.png", pngPage(t, 20))
	big := make([]byte, 3000)
	write(t, dir, "04.png", big)
	os.Chmod(filepath.Join(dir, "04.png"), 0) // reading it would fail the test
	write(t, dir, "05.png", pngPage(t, 30))
	f, err := Open(dir + ",settle=150ms,poll=10ms,maxsize=2000")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	var rejected []string
	for run := 0; run < 5; run++ {
		err := f.Scan(context.Background(), hardware.Options{}, func(p hardware.Page) error {
			got = append(got, p.Name)
			return nil
		})
		var fault *hardware.Fault
		if errors.As(err, &fault) && fault.Kind == hardware.Rejected {
			rejected = append(rejected, fault.Detail)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		break
	}
	if strings.Join(got, " ") != "01.png 03.png 05.png" {
		t.Errorf("pages %v, want 01, 03 and 05", got)
	}
	if len(rejected) != 2 || !strings.Contains(rejected[0], "02.png") || !strings.Contains(rejected[0], "пустой") ||
		!strings.Contains(rejected[1], "04.png") || !strings.Contains(rejected[1], "слишком велик") {
		t.Errorf("rejected %q", rejected)
	}
	// A new run over the same folder, after a restart, passes them over
	// silently: they were reported.
	f2, err := Open(dir + ",settle=150ms,poll=10ms,maxsize=2000")
	if err != nil {
		t.Fatal(err)
	}
	if n := names(t, f2); len(n) != 0 {
		t.Errorf("a restarted run delivered %v again", n)
	}
}

// Settings after the folder are read as settings, not as part of its name.
func TestParseArgPeelsSettings(t *testing.T) {
	cfg, err := ParseArg("/srv/scans,settle=1s,watch,maxsize=5")
	if err != nil || cfg.Dir != "/srv/scans" || cfg.Settle != time.Second || !cfg.Watch || cfg.MaxSize != 5 {
		t.Fatalf("ParseArg: %+v %v", cfg, err)
	}
}
