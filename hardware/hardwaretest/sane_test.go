package hardwaretest_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
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

	"giascan/hardware"
	"giascan/hardware/hardwaretest"
	"giascan/hardware/sane"
)

// fakeStackEnv names the state file when the test binary runs as
// scanimage with a finite stack (see fakeScanimage).
const fakeStackEnv = "GIASCAN_TEST_SCANIMAGE_STACK"

func TestMain(m *testing.M) {
	if path := os.Getenv(fakeStackEnv); path != "" {
		os.Exit(fakeScanimage(path, os.Args[1:]))
	}
	os.Exit(m.Run())
}

// stack is the state of a loaded feeder between scanimage runs.
type stack struct {
	Remaining int  // sheets still in the feeder
	GoneAfter int  // drop off the bus once this many were scanned; 0 = never
	Scanned   int  // sheets scanned so far
	Fired     bool // the device already dropped off once
}

func (s *stack) save(path string) error {
	b, _ := json.Marshal(s)
	if err := os.WriteFile(path+".tmp", b, 0o644); err != nil {
		return err
	}
	return os.Rename(path+".tmp", path)
}

// fakeScanimage behaves as scanimage with SANE's test backend loaded
// with a finite stack: the test backend refills its feeder with 10 sheets
// on every run, a real feeder does not. Scans run the real scanimage with
// --batch-count limited to what is left; the device dropping off is the
// test backend reporting an I/O error. Anything but a batch scan goes to
// scanimage unchanged.
func fakeScanimage(path string, args []string) int {
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
	var st stack
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

func TestSane(t *testing.T) {
	if _, err := exec.LookPath("scanimage"); err != nil {
		t.Skip("scanimage (sane-utils) is not installed")
	}
	conf := t.TempDir()
	if err := os.WriteFile(filepath.Join(conf, "dll.conf"), []byte("test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	hardwaretest.Run(t, func(t *testing.T, s hardwaretest.Stack) hardware.Scanner {
		if s.Pages > 10 {
			t.Fatalf("the test backend feeds at most 10 sheets per run, %d asked", s.Pages)
		}
		state := filepath.Join(t.TempDir(), "stack.json")
		if err := (&stack{Remaining: s.Pages, GoneAfter: s.GoneAfter}).save(state); err != nil {
			t.Fatal(err)
		}
		dev, err := sane.New(context.Background(), sane.Config{
			Device: "test", Command: self, Grace: 2 * time.Second,
			Env:   []string{"SANE_CONFIG_DIR=" + conf, fakeStackEnv + "=" + state},
			Extra: []string{"--resolution=50", "--test-picture=Color pattern"},
		})
		if err != nil {
			t.Fatal(err)
		}
		return dev
	})
}

// The fake feeder itself: a stack of 3 gives 3 pages, then none.
func TestFakeStack(t *testing.T) {
	if _, err := exec.LookPath("scanimage"); err != nil {
		t.Skip("scanimage (sane-utils) is not installed")
	}
	state := filepath.Join(t.TempDir(), "stack.json")
	(&stack{Remaining: 3}).save(state)
	self, _ := os.Executable()
	conf := t.TempDir()
	os.WriteFile(filepath.Join(conf, "dll.conf"), []byte("test\n"), 0o644)
	dev, err := sane.New(context.Background(), sane.Config{Device: "test", Command: self,
		Env: []string{"SANE_CONFIG_DIR=" + conf, fakeStackEnv + "=" + state}})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []int{3, 0} {
		n := 0
		err := dev.Scan(context.Background(), hardware.Options{DPI: 50}, func(hardware.Page) error { n++; return nil })
		if err != nil && !errors.Is(err, context.Canceled) || n != want {
			t.Fatalf("run %d: %d pages, %v", i+1, n, err)
		}
	}
}
