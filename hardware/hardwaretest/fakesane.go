package hardwaretest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"giascan/hardware/sane"
)

// FakeScanimageEnv names the state file when a test binary runs as
// scanimage with a finite stack (see FakeScanimage).
const FakeScanimageEnv = "GIASCAN_TEST_SCANIMAGE_STACK"

// saneStack is the state of a loaded feeder between scanimage runs.
type saneStack struct {
	Remaining int  // sheets still in the feeder
	GoneAfter int  // drop off the bus once this many were scanned; 0 = never
	Scanned   int  // sheets scanned so far
	Fired     bool // the device already dropped off once
	Unplugged bool // it is off the bus now, until replugged
}

func loadStack(path string) (saneStack, error) {
	var st saneStack
	b, err := os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(b, &st)
	}
	return st, err
}

func (s *saneStack) save(path string) error {
	b, _ := json.Marshal(s)
	if err := os.WriteFile(path+".tmp", b, 0o644); err != nil {
		return err
	}
	return os.Rename(path+".tmp", path)
}

// FakeScanimage behaves as scanimage with SANE's test backend loaded
// with a finite stack: the test backend refills its feeder with 10 sheets
// on every run, a real feeder does not. Scans run the real scanimage with
// --batch-count limited to what is left; the device dropping off is the
// test backend reporting an I/O error; then, until replugged, every run
// fails as scanimage does for a device that is not there. Anything but a
// batch scan goes to scanimage unchanged.
func FakeScanimage(path string, args []string) int {
	st, err := loadStack(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fake scanimage:", err)
		return 1
	}
	if st.Unplugged {
		fmt.Fprintln(os.Stderr, "scanimage: open of device test failed: Error during device I/O")
		return 1
	}
	real := func(args ...string) *exec.Cmd {
		cmd := exec.Command("scanimage", args...)
		cmd.Stderr = os.Stderr
		return cmd
	}
	start, batch := 1, false
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--batch-start="); ok {
			start, _ = strconv.Atoi(v)
		}
		batch = batch || strings.HasPrefix(a, "--batch=")
	}
	if !batch {
		cmd := real(args...)
		cmd.Stdout = os.Stdout
		if err := cmd.Run(); err != nil {
			return 1
		}
		return 0
	}
	// Asked to stop, scanimage (in the same process group) cancels; this
	// process keeps count until it has exited.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGTERM, syscall.SIGINT)
	gone := func() int {
		st.Fired, st.Unplugged = true, true
		if err := st.save(path); err != nil {
			return 1
		}
		cmd := real(append(args, "--batch-count=1", fmt.Sprintf("--batch-start=%d", start), "--read-return-value=SANE_STATUS_IO_ERROR")...)
		cmd.Run()
		return cmd.ProcessState.ExitCode()
	}
	n := st.Remaining
	due := st.GoneAfter > 0 && !st.Fired
	if due {
		n = min(n, st.GoneAfter-st.Scanned)
	}
	if n <= 0 {
		if due && st.Scanned == st.GoneAfter {
			return gone()
		}
		fmt.Fprintln(os.Stderr, "scanimage: sane_start: Document feeder out of documents")
		return 7
	}
	cmd := real(append(args, fmt.Sprintf("--batch-count=%d", n))...)
	out, err := cmd.StdoutPipe()
	if err != nil || cmd.Start() != nil {
		return 1
	}
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		st.Scanned++
		st.Remaining--
		stamp(strings.TrimSpace(lines.Text()), st.Scanned)
		if err := st.save(path); err != nil {
			return 1
		}
		fmt.Println(lines.Text())
		start++
	}
	if err := cmd.Wait(); err != nil {
		return cmd.ProcessState.ExitCode()
	}
	if due && st.Scanned == st.GoneAfter {
		return gone()
	}
	return 0
}

// FakeSANE is SANE's test device with a finite feeder (see
// FakeScanimage), which can be unplugged and plugged in again.
type FakeSANE struct {
	cfg   sane.Config
	state string
}

// NewFakeSANE loads the fake device with s, with the running test binary
// as scanimage: the test binary's TestMain must hand over to
// FakeScanimage when FakeScanimageEnv is set. It skips t without
// scanimage.
func NewFakeSANE(t *testing.T, s Stack) *FakeSANE {
	t.Helper()
	if _, err := exec.LookPath("scanimage"); err != nil {
		t.Skip("scanimage (sane-utils) is not installed; make deps installs it")
	}
	if s.Pages > 10 {
		t.Fatalf("the test backend feeds at most 10 sheets per run, %d asked", s.Pages)
	}
	conf := t.TempDir()
	if err := os.WriteFile(filepath.Join(conf, "dll.conf"), []byte("test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(t.TempDir(), "stack.json")
	if err := (&saneStack{Remaining: s.Pages, GoneAfter: s.GoneAfter}).save(state); err != nil {
		t.Fatal(err)
	}
	return &FakeSANE{state: state, cfg: sane.Config{
		Device: "test", Command: self, Grace: 2 * time.Second,
		Env:   []string{"SANE_CONFIG_DIR=" + conf, FakeScanimageEnv + "=" + state},
		Extra: []string{"--resolution=50", "--test-picture=Color pattern"},
	}}
}

// Open opens the device through the sane adapter; it fails while the
// device is unplugged, as SANE cannot open a device that is not there.
func (f *FakeSANE) Open() (*sane.Scanner, error) {
	return sane.New(context.Background(), f.cfg)
}

// Replug plugs the device in again after it dropped off the bus, with the
// rest of its stack.
func (f *FakeSANE) Replug() error {
	st, err := loadStack(f.state)
	if err != nil {
		return err
	}
	st.Unplugged = false
	return st.save(f.state)
}

// stamp marks a page file with its sheet's number in its first pixel,
// so that the sheets of a stack differ as real ones do (the test backend
// draws every page alike). A file that is not PNG stays as it is.
func stamp(path string, sheet int) {
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return
	}
	m := image.NewNRGBA(img.Bounds())
	draw.Draw(m, m.Bounds(), img, img.Bounds().Min, draw.Src)
	m.Pix[0], m.Pix[1], m.Pix[2], m.Pix[3] = uint8(sheet), uint8(sheet>>8), 0x5a, 0xff
	var out bytes.Buffer
	if png.Encode(&out, m) == nil {
		_ = os.WriteFile(path, out.Bytes(), 0o644)
	}
}

// OpenFakeSANE opens a fake device loaded with s (NewFakeSANE).
func OpenFakeSANE(t *testing.T, s Stack) *sane.Scanner {
	t.Helper()
	dev, err := NewFakeSANE(t, s).Open()
	if err != nil {
		t.Fatal(err)
	}
	return dev
}
