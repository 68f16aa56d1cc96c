package main

import (
	"strings"
	"testing"
)

func TestServeBadInput(t *testing.T) {
	dir := t.TempDir()
	// No accounts: there is no default one, so the server refuses to start.
	code, _, errs := runUserCmd(t, "", "serve", "--data", dir, "--listen", "127.0.0.1:0")
	if code != 2 || !strings.Contains(errs, "station user add") {
		t.Fatalf("serve without users: %d %q", code, errs)
	}
	if code, _, _ := runUserCmd(t, "очень-длинный-пароль\n", "user", "add", "--data", dir, "--login", "head", "--role", "head", "--password-stdin"); code != 0 {
		t.Fatal("user add failed")
	}
	code, _, errs = runUserCmd(t, "", "serve", "--data", dir, "--listen", "localhost")
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
