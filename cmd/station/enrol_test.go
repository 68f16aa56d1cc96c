package main

import (
	"crypto/tls"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"giascan/transport/receiver"
	"giascan/transport/tlspin"
)

// A station enrols with the РЦОИ's one-time invitation and, with nothing
// else typed, gets its exam, sends over the receiver's own certificate
// and holds verified receipts; the invitation does not work twice.
func TestEnrolThenDeliverOverTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("scans and delivers an auditorium")
	}
	p := planPPE(t, 9, 22)
	a := p.auds[0]
	rdir := t.TempDir()
	if _, err := receiver.InitKeys(rdir); err != nil {
		t.Fatal(err)
	}
	r := newRCOI(t, p.exam)
	r.kill()
	rcv, err := receiver.Open(r.dir, "")
	if err != nil {
		t.Fatal(err)
	}
	h, err := rcv.Handler(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := receiver.LoadTLS(r.dir, "", "")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	defer srv.Close()
	inv, err := rcv.IssueEnrolment(p.ppe, srv.URL, tlspin.Fingerprint(cert.Leaf), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	invFile := filepath.Join(t.TempDir(), "enrol.json")
	b, _ := json.Marshal(inv)
	os.WriteFile(invFile, b, 0o600)

	dir := filepath.Join(t.TempDir(), "data")
	out := mustRun(t, "rcoi", "enrol", "--data", dir, "--user", "tech1", invFile)
	for _, want := range []string{"Отпечаток ключа станции", "Отпечаток ключа квитанций РЦОИ", "Экзамен получен от РЦОИ"} {
		if !strings.Contains(out, want) {
			t.Errorf("enrol printed %q, want %q", out, want)
		}
	}
	if code, _, stderr := scanRunIn(t, "", "rcoi", "enrol", "--data", filepath.Join(t.TempDir(), "other"), invFile); code == 0 {
		t.Errorf("the invitation worked twice: %s", stderr)
	}
	startDaemon(t, dir)
	mustRun(t, "scan", "--data", dir, "--ppe", p.ppe, "--auditorium", a, "--device", p.device(1, p.last[a]), "--on-fault", "continue", "--workers", "2")
	mustRun(t, "auditorium", "close", "--data", dir, "--ppe", p.ppe, "--auditorium", a, "--reason", "сдано", "--user", "op1")
	deadline := time.Now().Add(60 * time.Second)
	for {
		ents, _ := os.ReadDir(filepath.Join(dir, "receipts", p.ppe))
		if len(ents) == 1 {
			break
		}
		if time.Now().After(deadline) {
			st, _ := rcv.Status(t.Context())
			t.Fatalf("no receipt over TLS after 60 s; РЦОИ: %+v", st)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
