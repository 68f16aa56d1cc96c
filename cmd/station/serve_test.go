package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"giascan/station/layout"
)

func TestServeBadInput(t *testing.T) {
	dir := t.TempDir()
	if code, _, _ := runUserCmd(t, "очень-длинный-пароль\n", "user", "add", "--data", dir, "--login", "head", "--role", "head", "--password-stdin"); code != 0 {
		t.Fatal("user add failed")
	}
	code, _, errs := runUserCmd(t, "", "serve", "--data", dir, "--listen", "localhost")
	if code != 2 || !strings.Contains(errs, "--listen") {
		t.Fatalf("serve with a bad address: %d %q", code, errs)
	}
	code, _, errs = runUserCmd(t, "", "serve", "--data", dir, "--listen", "127.0.0.1:0", "--device", "sim:seed=2,count=3", "--device", "scanjet:1")
	if code != 2 || !strings.Contains(errs, `неизвестное устройство "scanjet"`) {
		t.Fatalf("serve with an unknown device: %d %q", code, errs)
	}
	code, _, errs = runUserCmd(t, "", "serve", "--data", dir, "--listen", "127.0.0.1:0", "--device", "folder:"+dir+"/нет")
	if code != 2 || !strings.Contains(errs, "папки") {
		t.Fatalf("serve with a missing folder: %d %q", code, errs)
	}
	code, out, _ := runUserCmd(t, "", "serve", "--help")
	if code != 0 || !strings.Contains(out, "--device") || !strings.Contains(out, "--discover]") {
		t.Fatalf("serve --help: %d %q", code, out)
	}
}

// A data folder with no account: the daemon starts and prints the one-time
// code of the first start, the one kept in the data folder; there is no
// default password.
func TestServeFirstStartPrintsTheSetupCode(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, &env{stdout: &out, stderr: &errb}, []string{"serve", "--data", dir, "--listen", "127.0.0.1:0"})
	}()
	re := regexp.MustCompile(`/setup и введите код первого запуска (\d{4}-\d{4}-\d{4})`)
	deadline := time.Now().Add(30 * time.Second)
	var m []string
	for m == nil && time.Now().Before(deadline) {
		m = re.FindStringSubmatch(out.String())
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if c := <-done; c != 0 {
		t.Fatalf("serve ended with %d: %s", c, errb.String())
	}
	if m == nil {
		t.Fatalf("no setup code printed:\n%s", out.String())
	}
	b, err := os.ReadFile(filepath.Join(dir, layout.SetupCode))
	if err != nil || strings.TrimSpace(string(b)) != m[1] {
		t.Fatalf("printed code %s, file %q %v", m[1], b, err)
	}
}
