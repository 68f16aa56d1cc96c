package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runUserCmd(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), &env{stdout: &out, stderr: &errb, stdin: strings.NewReader(stdin)}, args)
	return code, out.String(), errb.String()
}

func TestUserAddAndList(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := runUserCmd(t, "очень-длинный-пароль\n", "user", "add", "--data", dir, "--login", "ivanova", "--role", "head", "--password-stdin")
	if code != 0 || !strings.Contains(out, "ivanova") {
		t.Fatalf("user add: %d %q %q", code, out, errs)
	}
	fi, err := os.Stat(filepath.Join(dir, "users.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("users.json: %v %v", fi, err)
	}
	code, out, _ = runUserCmd(t, "", "user", "list", "--data", dir)
	if code != 0 || !strings.Contains(out, "ivanova") || !strings.Contains(out, "руководитель") {
		t.Fatalf("user list: %d %q", code, out)
	}
}

func TestUserAddBadInput(t *testing.T) {
	dir := t.TempDir()
	if code, _, e := runUserCmd(t, "очень-длинный-пароль\n", "user", "add", "--data", dir, "--login", "petrov", "--role", "operator", "--password-stdin"); code != 0 {
		t.Fatalf("first add: %s", e)
	}
	for _, c := range []struct {
		name, stdin string
		args        []string
	}{
		{"login format", "очень-длинный-пароль\n", []string{"--login", "Петров", "--role", "operator", "--password-stdin"}},
		{"unknown role", "очень-длинный-пароль\n", []string{"--login", "sidorov", "--role", "boss", "--password-stdin"}},
		{"short password", "короткий\n", []string{"--login", "sidorov", "--role", "operator", "--password-stdin"}},
		{"existing login", "очень-длинный-пароль\n", []string{"--login", "petrov", "--role", "operator", "--password-stdin"}},
		{"no terminal", "", []string{"--login", "sidorov", "--role", "operator"}},
	} {
		args := append([]string{"user", "add", "--data", dir}, c.args...)
		code, _, errs := runUserCmd(t, c.stdin, args...)
		if code != 2 || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("%s: exit %d, stderr %q; want exit 2 and one line", c.name, code, errs)
		}
	}
	_, out, _ := runUserCmd(t, "", "user", "list", "--data", dir)
	if strings.Contains(out, "sidorov") {
		t.Fatalf("a refused add created an account:\n%s", out)
	}
}
