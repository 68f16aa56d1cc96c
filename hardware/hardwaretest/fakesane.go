package hardwaretest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
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
// test backend reporting an I/O error. Anything but a batch scan goes to
// scanimage unchanged.
func FakeScanimage(path string, args []string) int {
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
	b, err := os.ReadFile(path)
	var st saneStack
	if err == nil {
		err = json.Unmarshal(b, &st)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "fake scanimage:", err)
		return 1
	}
	gone := func() int {
		st.Fired = true
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

// OpenFakeSANE opens SANE's test device through the sane adapter, with
// the running test binary as scanimage so that the feeder holds s: the
// test binary's TestMain must hand over to FakeScanimage when
// FakeScanimageEnv is set. It skips t without scanimage.
func OpenFakeSANE(t *testing.T, s Stack) *sane.Scanner {
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
	dev, err := sane.New(context.Background(), sane.Config{
		Device: "test", Command: self, Grace: 2 * time.Second,
		Env:   []string{"SANE_CONFIG_DIR=" + conf, FakeScanimageEnv + "=" + state},
		Extra: []string{"--resolution=50", "--test-picture=Color pattern"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return dev
}
