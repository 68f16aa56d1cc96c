package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// crashChildEnv names the data folder for the crash child; when set, the
// test binary runs TestCrashChild as the child that is killed.
const crashChildEnv = "AUDIT_CRASH_CHILD_DIR"

// TestCrashChild appends in a loop until it is killed, printing the seq
// and hash of every entry after Append returned. It does nothing in a
// normal run.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashChildEnv)
	if dir == "" {
		t.Skip("runs as the child of TestSIGKILLDuringAppend")
	}
	l, err := Open(dir)
	if err != nil {
		fmt.Printf("open-error %v\n", err)
		os.Exit(3)
	}
	out := bufio.NewWriter(os.Stdout)
	// Some entries are large so that the kill can land inside a write.
	big := json.RawMessage(`"` + strings.Repeat("x", 300<<10) + `"`)
	for i := 0; ; i++ {
		ev := sampleEvent(i)
		if i%3 == 0 {
			ev.Before = big
		}
		e, err := l.Append(ev)
		if err != nil {
			fmt.Printf("append-error %v\n", err)
			os.Exit(3)
		}
		fmt.Fprintf(out, "ok %d %s\n", e.Seq, e.Hash)
		out.Flush()
	}
}

// TestSIGKILLDuringAppend kills a process appending to the log at random
// moments and checks that the log opens, verifies, and holds every entry
// the process was told was written.
func TestSIGKILLDuringAppend(t *testing.T) {
	if testing.Short() {
		t.Skip("kills child processes")
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	confirmed := map[int64]string{}
	recovered := 0
	const rounds = 6
	for round := range rounds {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1<<16)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		// Wait for the first entry, then kill at a random moment.
		first, ok := <-lines
		if !ok {
			cmd.Wait()
			t.Fatalf("round %d: child wrote nothing: %s", round, stderr.String())
		}
		time.Sleep(time.Duration(rng.IntN(150)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		var reported []string
		reported = append(reported, first)
		for line := range lines {
			reported = append(reported, line)
		}
		err = cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("round %d: child did not die by SIGKILL (%v): %v", round, err, reported[len(reported)-1])
		}
		for _, line := range reported {
			f := strings.Fields(line)
			if len(f) != 3 || f[0] != "ok" {
				t.Fatalf("round %d: child reported %q", round, line)
			}
			seq, _ := strconv.ParseInt(f[1], 10, 64)
			confirmed[seq] = f[2]
		}

		path := filepath.Join(dir, FileName)
		before, err := VerifyFile(path)
		if err != nil {
			t.Fatalf("round %d: log after the kill: %v", round, err)
		}
		l, err := Open(dir)
		if err != nil {
			t.Fatalf("round %d: Open after the kill: %v", round, err)
		}
		if before.Partial > 0 {
			recovered++
			if l.Head().Seq != before.Head.Seq+1 {
				t.Fatalf("round %d: no recovery entry after a %d-byte partial line", round, before.Partial)
			}
		}
		l.Close()
		res, err := VerifyFile(path)
		if err != nil || res.Partial != 0 {
			t.Fatalf("round %d: log after Open: %+v, %v", round, res, err)
		}
		t.Logf("round %d: %d entries reported, log has %d, partial line %d bytes", round, len(reported), res.Entries, before.Partial)
	}

	// Every confirmed entry is in the log, unchanged.
	f, err := os.Open(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	found := 0
	if _, err := Walk(f, func(e Entry) error {
		if h, ok := confirmed[e.Seq]; ok {
			if h != e.Hash {
				return fmt.Errorf("entry %d: log has hash %s, child was told %s", e.Seq, e.Hash, h)
			}
			found++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if found != len(confirmed) {
		t.Fatalf("%d of %d confirmed entries are in the log", found, len(confirmed))
	}
	t.Logf("%d rounds, %d confirmed entries, %d partial lines recovered", rounds, len(confirmed), recovered)
}
