package enrol_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"giascan/transport/enrol"
	"giascan/transport/receiver"
	"giascan/transport/seal"
	"giascan/transport/tlspin"
	"giascan/transport/upload"
)

const examFile = `{"level":9,"subject":"01","region":"50","date":"2025-06-01","ends":"13:55",
 "ppe":[{"code":"1234","auditoriums":[{"number":"0007"}]}]}`

// rcoi is a real receiver over TLS with its own certificate.
type rcoi struct {
	dir  string
	rcv  *receiver.Receiver
	url  string
	pin  string
	stop func()
}

func startRCOI(t *testing.T) *rcoi {
	t.Helper()
	dir := t.TempDir()
	if _, err := receiver.InitKeys(dir); err != nil {
		t.Fatal(err)
	}
	if err := receiver.ImportExam(dir, []byte(examFile), receiver.Owed{"1234": {{Package: "9-50-1234-0007-01-20250601"}}}); err != nil {
		t.Fatal(err)
	}
	rcv, err := receiver.Open(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	h, err := rcv.Handler(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := receiver.LoadTLS(dir, "", "")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return &rcoi{dir: dir, rcv: rcv, url: srv.URL, pin: tlspin.Fingerprint(cert.Leaf), stop: srv.Close}
}

func stationKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	dir := t.TempDir()
	if _, err := seal.GenerateStationKey(dir); err != nil {
		t.Fatal(err)
	}
	k, err := seal.LoadStationKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// invite issues an invitation and passes it through its file form.
func invite(t *testing.T, r *rcoi, pin string, ttl time.Duration) *enrol.Invitation {
	t.Helper()
	inv, err := r.rcv.IssueEnrolment("1234", r.url, pin, ttl)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(inv)
	back, err := enrol.ParseInvitation(data)
	if err != nil {
		t.Fatal(err)
	}
	return back
}

// A station enrols with its invitation and gets the exam, the recipients
// and the receipt key; the receiver registered its key, and the station's
// signed requests are then let in. The invitation works once.
func TestEnrolAgainstRealReceiver(t *testing.T) {
	ctx := context.Background()
	r := startRCOI(t)
	key := stationKey(t)
	inv := invite(t, r, r.pin, time.Hour)
	res, err := enrol.Enrol(ctx, inv, key)
	if err != nil {
		t.Fatal(err)
	}
	pub := key.Public().(ed25519.PublicKey)
	if res.PPE != "1234" || string(res.Exam) != examFile || len(res.Recipients) != 1 || res.Recipients[0] != r.rcv.Recipient() ||
		!res.ReceiptKey.Equal(r.rcv.ReceiptKey()) || res.StationFingerprint != seal.Fingerprint(pub) ||
		res.ReceiptFingerprint != seal.Fingerprint(r.rcv.ReceiptKey()) {
		t.Fatalf("result %+v", res)
	}
	stations, _ := receiver.LoadStations(r.dir)
	if len(stations) != 1 || stations[0].PPE != "1234" || stations[0].Key != seal.FormatPublicKey(pub) {
		t.Fatalf("registered stations: %+v", stations)
	}
	// The station now fetches the exam with signed requests, trusting the
	// receiver as enrolment said.
	hc, err := res.Trust.Client()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := upload.SigningClient(hc, key).Get(r.url + receiver.ExamPath)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, []byte(examFile)) {
		t.Fatalf("exam after enrolment: %d %s", resp.StatusCode, body)
	}
	// Once only, even for another key.
	if _, err := enrol.Enrol(ctx, inv, stationKey(t)); err == nil || !strings.Contains(err.Error(), "уже использовано") {
		t.Fatalf("second use of the invitation: %v", err)
	}
}

// Wrong pin, expired, forged token or stolen proof: no registration.
func TestEnrolRefusals(t *testing.T) {
	ctx := context.Background()
	r := startRCOI(t)
	key := stationKey(t)

	// A receiver with another certificate (a man in the middle): the
	// station refuses to talk, and the token is not spent.
	inv := invite(t, r, "sha256:"+strings.Repeat("ab", 32), time.Hour)
	if _, err := enrol.Enrol(ctx, inv, key); err == nil || !strings.Contains(err.Error(), "не тот") {
		t.Fatalf("wrong pin: %v", err)
	}
	inv.TLS = r.pin
	if _, err := enrol.Enrol(ctx, inv, key); err != nil {
		t.Fatalf("the same invitation with the right pin: %v", err)
	}

	exp := invite(t, r, r.pin, time.Nanosecond)
	exp.Expires = time.Now().Add(time.Hour) // the station's clock is wrong; the receiver's decides
	time.Sleep(10 * time.Millisecond)
	if _, err := enrol.Enrol(ctx, exp, stationKey(t)); err == nil || !strings.Contains(err.Error(), "срок") {
		t.Fatalf("expired invitation: %v", err)
	}
	forged := invite(t, r, r.pin, time.Hour)
	forged.Token = strings.Repeat("a", len(forged.Token))
	if _, err := enrol.Enrol(ctx, forged, stationKey(t)); err == nil || !strings.Contains(err.Error(), "не выдавал") {
		t.Fatalf("forged token: %v", err)
	}
	// A proof made by another key than the one named.
	good := invite(t, r, r.pin, time.Hour)
	other := stationKey(t)
	named := seal.FormatPublicKey(stationKey(t).Public().(ed25519.PublicKey))
	body, _ := json.Marshal(enrol.Request{Token: good.Token, Key: named,
		Proof: encode(ed25519.Sign(other, enrol.ProofMessage(good.Token, named)))})
	hc, _ := tlspin.Trust{Fingerprint: r.pin}.Client()
	resp, err := hc.Post(r.url+enrol.Path, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("proof by another key: %d", resp.StatusCode)
	}
	stations, _ := receiver.LoadStations(r.dir)
	if len(stations) != 1 {
		t.Fatalf("%d stations registered, want only the one with a good invitation", len(stations))
	}
	if _, err := enrol.ParseInvitation([]byte(`{"format":"something else"}`)); err == nil {
		t.Fatal("a file of another format was taken for an invitation")
	}
}

func encode(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
