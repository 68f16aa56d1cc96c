package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"giascan/transport/enrol"
	"giascan/transport/receiver"
	"giascan/transport/receiver/pgstate/pgtest"
	"giascan/transport/seal"
	"giascan/transport/tlspin"
)

func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return runCmdIn(t, "", args...)
}

// runCmdIn runs a command with stdin as its standard input.
func runCmdIn(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), &env{stdout: &out, stderr: &errOut, stdin: strings.NewReader(stdin)}, args)
	return code, out.String(), errOut.String()
}

// The commands of a РЦОИ operator: keys, a station, serving, status.
func TestReceiverCommands(t *testing.T) {
	rdir := filepath.Join(t.TempDir(), "rcoi")
	code, out, errOut := runCmd(t, "keys", "init", "--data", rdir)
	if code != 0 || !strings.Contains(out, "age1") || !strings.Contains(out, "ed25519:") {
		t.Fatalf("keys init: %d\n%s%s", code, out, errOut)
	}
	for _, f := range []string{receiver.IdentityFile, receiver.ReceiptKeyFile} {
		fi, err := os.Stat(filepath.Join(rdir, f))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", f, fi.Mode(), err)
		}
	}
	if code, _, _ := runCmd(t, "keys", "init", "--data", rdir); code != 1 {
		t.Fatalf("second keys init: exit %d, want 1 (keys are never replaced)", code)
	}

	pub, err := seal.GenerateStationKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]string{
		{"station", "add", "--data", rdir, "--ppe", "12", "--pubkey", seal.FormatPublicKey(pub)},
		{"station", "add", "--data", rdir, "--ppe", "1234", "--pubkey", "ed25519:nope"},
		{"station", "add", "--data", rdir, "--ppe", "1234", "extra"},
		{"status"},
		{"frobnicate"},
	} {
		if code, _, _ := runCmd(t, bad...); code != 2 {
			t.Errorf("%q: exit %d, want 2", bad, code)
		}
	}
	if code, out, errOut := runCmd(t, "station", "add", "--data", rdir, "--ppe", "1234", "--pubkey", seal.FormatPublicKey(pub)); code != 0 || !strings.Contains(out, "ППЭ 1234") {
		t.Fatalf("station add: %d\n%s%s", code, out, errOut)
	}

	if code, _, errOut := runCmdIn(t, "короткий\n", "user", "add", "--data", rdir, "--login", "petrova"); code != 2 || !strings.Contains(errOut, "пароль") {
		t.Fatalf("user add with a short password: %d %s", code, errOut)
	}
	if code, out, errOut := runCmdIn(t, "пароль-сотрудника\n", "user", "add", "--data", rdir, "--login", "petrova"); code != 0 {
		t.Fatalf("user add: %d\n%s%s", code, out, errOut)
	}

	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan int, 1)
	var serveOut bytes.Buffer
	go func() {
		done <- run(ctx, &env{stdout: &serveOut, stderr: io.Discard, ready: func(a string) { addr <- a }},
			[]string{"serve", "--data", rdir, "--listen", "127.0.0.1:0"})
	}()
	var a string
	select {
	case a = <-addr:
	case code := <-done:
		t.Fatalf("serve exited %d", code)
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not start")
	}
	// TLS with the receiver's own certificate, which a station pins by the
	// fingerprint serve printed.
	_, fp, ok := strings.Cut(serveOut.String(), "сверяют его): ")
	fp = strings.TrimSpace(fp)
	if !ok {
		t.Fatalf("serve printed no certificate fingerprint: %s", serveOut.String())
	}
	certPEM, err := os.ReadFile(filepath.Join(rdir, receiver.TLSCertFile))
	if err != nil {
		t.Fatal(err)
	}
	if blk, _ := pem.Decode(certPEM); blk == nil || tlspin.Fingerprint(&x509.Certificate{Raw: blk.Bytes}) != fp {
		t.Fatalf("printed fingerprint %s is not the certificate's", fp)
	}
	pinned, err := tlspin.Trust{Fingerprint: fp}.Client()
	if err != nil {
		t.Fatal(err)
	}
	wrong, _ := tlspin.Trust{Fingerprint: "sha256:" + strings.Repeat("0", 64)}.Client()
	if _, err := wrong.Get("https://" + a + "/"); err == nil || !strings.Contains(err.Error(), "не тот") {
		t.Fatalf("a client pinning another certificate connected: %v", err)
	}
	byCA, _ := tlspin.Trust{CAFile: filepath.Join(rdir, receiver.TLSCertFile)}.Client()
	if resp, err := byCA.Get("https://" + a + "/"); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("without an account, through the certificate as CA: %v %v", resp, err)
	}
	if resp, err := http.Get("http://" + a + "/"); err == nil && resp.StatusCode == http.StatusOK {
		t.Fatal("the board answered plain HTTP")
	}
	req, _ := http.NewRequest(http.MethodGet, "https://"+a+"/", nil)
	req.SetBasicAuth("petrova", "пароль-сотрудника")
	resp, err := pinned.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()

	// Enrolment of a second station of ППЭ 1234 with an invitation file.
	invFile := filepath.Join(t.TempDir(), "enrol.json")
	if code, out, errOut := runCmd(t, "station", "enrol", "--data", rdir, "--ppe", "1234", "--url", "https://"+a, "--out", invFile); code != 0 || !strings.Contains(out, fp) {
		t.Fatalf("station enrol: %d\n%s%s", code, out, errOut)
	}
	invData, err := os.ReadFile(invFile)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := enrol.ParseInvitation(invData)
	if err != nil {
		t.Fatal(err)
	}
	keyDir := t.TempDir()
	if _, err := seal.GenerateStationKey(keyDir); err != nil {
		t.Fatal(err)
	}
	key, _ := seal.LoadStationKey(keyDir)
	res, err := enrol.Enrol(ctx, inv, key)
	if err != nil {
		t.Fatal(err)
	}
	if code, out, _ := runCmd(t, "station", "list", "--data", rdir); code != 0 || !strings.Contains(out, res.StationFingerprint) {
		t.Fatalf("station list does not show the enrolled station's fingerprint %s:\n%s", res.StationFingerprint, out)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve: exit %d", code)
	}
	if !strings.Contains(string(body), `data-ppe="1234"`) {
		t.Fatalf("board:\n%s", body)
	}

	examPath := filepath.Join(t.TempDir(), "exam.json")
	os.WriteFile(examPath, []byte(`{"level":9,"subject":"01","region":"50","date":"2025-06-01","ends":"13:55",
 "ppe":[{"code":"1234","auditoriums":[{"number":"0007"}]}]}`), 0o644)
	if code, out, errOut := runCmd(t, "exam", "import", "--data", rdir, examPath); code != 0 || !strings.Contains(out, "пакеты ждём до 01.06.2025 14:55") {
		t.Fatalf("exam import: %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := runCmd(t, "status", "--data", rdir); code != 0 || !strings.Contains(out, "ППЭ 1234: 2 station(s), 0 package version(s), LATE: 2 of 2 missing") {
		t.Fatalf("status after the deadline: %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runCmd(t, "status", "--data", rdir, "--json")
	var st receiver.Status
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil || len(st.PPE) != 1 || st.PPE[0].PPE != "1234" || st.PPE[0].Stations != 2 {
		t.Fatalf("status --json: %d\n%s%s", code, out, errOut)
	}
}

// Two receivers on one data folder and one PostgreSQL database both serve.
func TestTwoServesOnPostgres(t *testing.T) {
	url := pgtest.Start(t)
	rdir := filepath.Join(t.TempDir(), "rcoi")
	if code, out, errOut := runCmd(t, "keys", "init", "--data", rdir); code != 0 {
		t.Fatalf("keys init: %d %s%s", code, out, errOut)
	}
	if code, _, errOut := runCmdIn(t, "пароль-сотрудника\n", "user", "add", "--data", rdir, "--login", "petrova"); code != 0 {
		t.Fatalf("user add: %s", errOut)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var addrs []string
	var dones []chan int
	for range 2 {
		addr, done := make(chan string, 1), make(chan int, 1)
		go func() {
			done <- run(ctx, &env{stdout: io.Discard, stderr: io.Discard, ready: func(a string) { addr <- a }},
				[]string{"serve", "--data", rdir, "--listen", "127.0.0.1:0", "--plain-http", "--postgres", url})
		}()
		select {
		case a := <-addr:
			addrs = append(addrs, a)
		case code := <-done:
			t.Fatalf("serve exited %d", code)
		case <-time.After(20 * time.Second):
			t.Fatal("serve did not start")
		}
		dones = append(dones, done)
	}
	for _, a := range addrs {
		req, _ := http.NewRequest(http.MethodGet, "http://"+a+"/status.json", nil)
		req.SetBasicAuth("petrova", "пароль-сотрудника")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status.json on %s: %d", a, resp.StatusCode)
		}
	}
	cancel()
	for _, d := range dones {
		if code := <-d; code != 0 {
			t.Fatalf("serve: exit %d", code)
		}
	}
	if code, _, errOut := runCmd(t, "serve", "--data", rdir, "--listen", "127.0.0.1:0", "--postgres", "postgres://nobody@127.0.0.1:1/x"); code == 0 || !strings.Contains(errOut, "база данных") {
		t.Fatalf("serve with an unreachable database: %d %s", code, errOut)
	}
}
