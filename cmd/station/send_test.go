package main

import (
	"crypto/ed25519"
	"strings"
	"testing"

	"giascan/transport/seal"
)

func TestSendBadInput(t *testing.T) {
	pub, _, _ := ed25519.GenerateKey(nil)
	key := seal.FormatPublicKey(pub)
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no URL", []string{"send", "--data", dir, "--rcoi-key", key, "--once"}, "--to"},
		{"bad URL", []string{"send", "--data", dir, "--to", "ftp://rcoi", "--rcoi-key", key, "--once"}, "адрес приёмника"},
		{"URL with a path", []string{"send", "--data", dir, "--to", "http://127.0.0.1:1/up", "--rcoi-key", key, "--once"}, "адрес приёмника"},
		{"no key", []string{"send", "--data", dir, "--to", "http://127.0.0.1:1", "--once"}, "--rcoi-key"},
		{"bad key", []string{"send", "--data", dir, "--to", "http://127.0.0.1:1", "--rcoi-key", "ed25519:AAAA", "--once"}, "ключ квитанций"},
		{"no packages", []string{"send", "--data", dir, "--to", "http://127.0.0.1:1", "--rcoi-key", key, "--once"}, "нет"},
		{"bad ППЭ", []string{"send", "--data", dir, "--to", "http://127.0.0.1:1", "--rcoi-key", key, "--ppe", "12"}, "ppe"},
		{"status of nothing", []string{"send", "status", "--data", dir}, "ничего не отправлялось"},
	} {
		code, _, stderr := scanRunIn(t, "", tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("%s: exit %d %q, want 2 and one line with %q", tc.name, code, stderr, tc.want)
		}
	}
}
