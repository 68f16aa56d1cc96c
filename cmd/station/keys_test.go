package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"giascan/transport/seal"
)

func TestKeysInitShowImport(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	code, out, errs := runStation(t, "keys", "show", "--data", data)
	if code != 0 || !strings.Contains(out, "station key: none") || !strings.Contains(out, "РЦОИ recipients: none") {
		t.Fatalf("show before init: %d %q %q", code, out, errs)
	}
	code, out, errs = runStation(t, "keys", "init", "--data", data)
	if code != 0 || !strings.Contains(out, "ed25519:") || !strings.Contains(out, "fingerprint") {
		t.Fatalf("init: %d %q %q", code, out, errs)
	}
	pub, err := seal.LoadStationPublicKey(seal.KeyDir(data))
	if err != nil || !strings.Contains(out, seal.FormatPublicKey(pub)) {
		t.Fatalf("init printed %q, stored %v (%v)", out, pub, err)
	}
	code, _, errs = runStation(t, "keys", "init", "--data", data)
	if code != 1 || !strings.Contains(errs, "already exists") {
		t.Errorf("second init: %d %q", code, errs)
	}

	a, _ := age.GenerateX25519Identity()
	b, _ := age.GenerateX25519Identity()
	file := filepath.Join(t.TempDir(), "rcoi.txt")
	os.WriteFile(file, []byte(a.Recipient().String()+"\n"+b.Recipient().String()+"\n"), 0o644)
	code, out, errs = runStation(t, "keys", "rcoi", "import", "--data", data, file)
	if code != 0 || !strings.Contains(out, "2 РЦОИ recipient(s) stored") {
		t.Fatalf("import: %d %q %q", code, out, errs)
	}
	os.WriteFile(file, []byte("age1bogus\n"), 0o644)
	code, _, errs = runStation(t, "keys", "rcoi", "import", file, "--data", data)
	if code != 2 || !strings.Contains(errs, "line 1") {
		t.Errorf("bad recipients: %d %q", code, errs)
	}
	code, _, errs = runStation(t, "keys", "rcoi", "import", "--data", data, filepath.Join(t.TempDir(), "missing"))
	if code != 2 || !strings.Contains(errs, "no such file") {
		t.Errorf("missing file: %d %q", code, errs)
	}

	code, out, errs = runStation(t, "keys", "show", "--data", data)
	if code != 0 || !strings.Contains(out, seal.FormatPublicKey(pub)) || !strings.Contains(out, "РЦОИ recipients: 2") || !strings.Contains(out, b.Recipient().String()) {
		t.Fatalf("show: %d %q %q", code, out, errs)
	}
	os.Chmod(filepath.Join(seal.KeyDir(data), seal.StationKeyFile), 0o644)
	code, _, errs = runStation(t, "keys", "show", "--data", data)
	if code != 1 || !strings.Contains(errs, "open to group or others") {
		t.Errorf("show with a readable key: %d %q", code, errs)
	}
}

func TestKeysBadInput(t *testing.T) {
	for _, args := range [][]string{
		{"keys"},
		{"keys", "rotate"},
		{"keys", "rcoi"},
		{"keys", "rcoi", "import", "--data", t.TempDir()},
		{"keys", "init", "--data", t.TempDir(), "extra"},
		{"keys", "show", "--bogus"},
	} {
		if code, _, errs := runStation(t, args...); code != 2 || errs == "" {
			t.Errorf("%q: exit %d, %q", args, code, errs)
		}
	}
	if code, out, _ := runStation(t, "keys", "--help"); code != 0 || !strings.Contains(out, "station keys init") {
		t.Errorf("help: %d %q", code, out)
	}
}
