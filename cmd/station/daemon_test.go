package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"giascan/station/layout"
	"giascan/station/localapi"
	"giascan/station/store"
)

// startDaemon runs `station serve` on dir in-process until the test ends
// (or stop is called) and waits for its local API.
func startDaemon(t testing.TB, dir string) (stop func()) {
	t.Helper()
	if code, _, stderr := scanRunIn(t, "pw-daemon-test-1\n", "user", "add", "--data", dir, "--login", "head1", "--role", "head", "--password-stdin"); code != 0 {
		t.Fatalf("user add: %d %s", code, stderr)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, &env{stdout: &out, stderr: &errb}, []string{"serve", "--data", dir, "--listen", addr})
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Error("the daemon did not stop within 30 s of being told to")
			}
		})
	}
	t.Cleanup(stop)
	deadline := time.Now().Add(30 * time.Second)
	for !localapi.Alive(dir, layout.SocketFile) {
		select {
		case code := <-done:
			t.Fatalf("serve ended with %d: %s %s", code, out.String(), errb.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the daemon's local API did not come up")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return stop
}

// volatile masks what differs between two runs of the same commands on
// copies of one folder: sizes and hashes of packages, which hold times.
var volatile = regexp.MustCompile(`\d+ байт|H=[0-9a-f]+|[0-9a-f]{64}|\d\d\.\d\d\.\d{4} \d\d:\d\d`)

// With a daemon on a folder, commands on it work through the daemon and
// print and exit exactly as they do on a copy of the folder with none.
func TestCommandsWorkThroughTheDaemon(t *testing.T) {
	solo, place, _ := pkgStation(t)
	served := filepath.Join(t.TempDir(), "served")
	copyTree(t, solo, served)
	startDaemon(t, served)
	if fi, err := os.Stat(filepath.Join(served, layout.SocketFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket: %v, %v; want mode 0600", fi, err)
	}
	// Relative paths are the caller's: run the commands from another folder.
	cwd, _ := os.Getwd()
	t.Cleanup(func() { os.Chdir(cwd) })
	os.Chdir(t.TempDir())

	steps := [][]string{
		{"report"},
		{"page", "delete", "--ppe", place.PPE, "--auditorium", place.Auditorium, "--page", "2"}, // no reason: refused
		{"page", "delete", "--ppe", place.PPE, "--auditorium", place.Auditorium, "--page", "2", "--reason", "повторный скан", "--user", "op1"},
		{"report"},
		{"auditorium", "close", "--ppe", place.PPE, "--auditorium", place.Auditorium, "--reason", "лист утерян", "--user", "op1"},
		{"package", "list", "--ppe", place.PPE},
		{"scan", "--ppe", place.PPE, "--auditorium", place.Auditorium, "--device", "sim:seed=9,count=2,profile=clean"}, // closed: refused
		{"auditorium", "reopen", "--ppe", place.PPE, "--auditorium", place.Auditorium, "--user", "head1"},              // no reason: refused
		{"audit", "verify"},
	}
	for _, s := range steps {
		var outs [2]string
		var codes [2]int
		for i, dir := range []string{solo, served} {
			code, out, stderr := scanRunIn(t, "", append(s, "--data", dir)...)
			outs[i] = volatile.ReplaceAllString(strings.ReplaceAll(out+"|"+stderr, dir, "DATA"), "#")
			codes[i] = code
		}
		if codes[0] != codes[1] || outs[0] != outs[1] {
			t.Errorf("%s:\n without daemon: exit %d %q\n through daemon: exit %d %q", strings.Join(s, " "), codes[0], outs[0], codes[1], outs[1])
		}
	}
	// The refused scan stored nothing, through the daemon or not.
	for _, dir := range []string{solo, served} {
		rep := reportOf(t, dir)
		a := rep.PPE[0].Auditoriums[0]
		if a.Status != "closed" {
			t.Errorf("%s: status %s, want closed", dir, a.Status)
		}
	}
	// The daemon sealed the package when the auditorium closed.
	if code, out, _ := scanRunIn(t, "", "package", "list", "--ppe", place.PPE, "--data", served); code != 0 || !strings.Contains(out, "-v1\t") {
		t.Fatalf("package list through the daemon: %d %q, want v1", code, out)
	}
	// Reopening with a reason, then closing, seals v2, which supersedes v1.
	mustRun(t, "auditorium", "reopen", "--ppe", place.PPE, "--auditorium", place.Auditorium, "--user", "head1", "--reason", "найден лист в коридоре", "--data", served)
	mustRun(t, "page", "delete", "--ppe", place.PPE, "--auditorium", place.Auditorium, "--page", "3", "--reason", "лист другого участника", "--user", "op1", "--data", served)
	out := mustRun(t, "auditorium", "close", "--ppe", place.PPE, "--auditorium", place.Auditorium, "--reason", "проверено", "--user", "op1", "--data", served)
	if !strings.Contains(out, "-v2 запечатан") {
		t.Fatalf("close after reopening: %q, want v2 sealed", out)
	}
	rep := reportOf(t, served)
	life, _ := rep.PPE[0].Auditoriums[0].Life.(map[string]any)
	pkg, _ := life["package"].(map[string]any)
	if life["state"] != "sealed" || life["reopened"] != float64(1) || pkg["version"] != float64(2) || len(pkg["superseded"].([]any)) != 1 {
		t.Fatalf("life after reopening: %v", life)
	}
}

// A page can never be stored into a closed auditorium, whatever stores
// it: the scan, insert, replace and move are refused.
func TestClosedAuditoriumRefusesPages(t *testing.T) {
	dir, place, _ := pkgStation(t)
	mustRun(t, "scan", "--ppe", place.PPE, "--auditorium", "0099", "--device", "sim:seed=9,count=1,profile=clean", "--on-fault", "continue", "--data", dir)
	mustRun(t, "auditorium", "close", "--ppe", place.PPE, "--auditorium", place.Auditorium, "--reason", "x", "--user", "op1", "--data", dir)
	before := reportOf(t, dir)
	img := filepath.Join(t.TempDir(), "p.png")
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	pages, _ := st.Pages(place)
	data, _ := st.Image(pages[0])
	st.Close()
	os.WriteFile(img, data, 0o600)
	for _, args := range [][]string{
		{"scan", "--ppe", place.PPE, "--auditorium", place.Auditorium, "--device", "sim:seed=9,count=2,profile=clean"},
		{"page", "insert", "--ppe", place.PPE, "--auditorium", place.Auditorium, "--file", img},
		{"page", "replace", "--ppe", place.PPE, "--auditorium", place.Auditorium, "--page", "1", "--file", img},
		{"page", "move", "--ppe", place.PPE, "--auditorium", "0099", "--page", "1", "--to", place.Auditorium},
	} {
		code, _, stderr := scanRunIn(t, "", append(args, "--data", dir)...)
		if code != 2 || !strings.Contains(stderr, "закрыта") || !strings.Contains(stderr, "руководителя ППЭ") {
			t.Errorf("%s: exit %d %q; want 2 and a sentence saying the auditorium is closed and what to do", args[0], code, stderr)
		}
	}
	after := reportOf(t, dir)
	if before.PPE[0].Auditoriums[0].Scanned != after.PPE[0].Auditoriums[0].Scanned {
		t.Errorf("pages changed in a closed auditorium: %+v → %+v", before.PPE[0].Auditoriums[0].Scanned, after.PPE[0].Auditoriums[0].Scanned)
	}
}

// Reopened and closed again with nothing changed, an auditorium keeps its
// sealed version and shows as sealed, not as waiting to be sealed.
func TestReopenWithoutChangesKeepsTheSealedVersion(t *testing.T) {
	dir, place, _ := pkgStation(t)
	close := []string{"auditorium", "close", "--ppe", place.PPE, "--auditorium", place.Auditorium, "--reason", "x", "--user", "op1", "--data", dir}
	mustRun(t, close...)
	mustRun(t, "auditorium", "reopen", "--ppe", place.PPE, "--auditorium", place.Auditorium, "--reason", "проверить лист", "--user", "head1", "--data", dir)
	if out := mustRun(t, close...); !strings.Contains(out, "уже запечатан") {
		t.Fatalf("second close: %q", out)
	}
	life, _ := reportOf(t, dir).PPE[0].Auditoriums[0].Life.(map[string]any)
	pkg, _ := life["package"].(map[string]any)
	if life["state"] != "sealed" || pkg["version"] != float64(1) {
		t.Errorf("life after an unchanged reopening: %v", life)
	}
}
