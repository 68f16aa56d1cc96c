package enrol_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"giascan/transport/enrol"
	"giascan/transport/pkg"
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

// After enrolment the station has all it needs: it seals a package to the
// recipients it was given and its uploader, trusting the receiver's
// certificate by the pin and signing with the station key, delivers it
// over TLS and keeps the receipt, checked with the key it was given.
func TestEnrolledStationDeliversOverTLS(t *testing.T) {
	ctx := context.Background()
	r := startRCOI(t)
	stationDir := t.TempDir()
	if _, err := seal.GenerateStationKey(seal.KeyDir(stationDir)); err != nil {
		t.Fatal(err)
	}
	key, err := seal.LoadStationKey(seal.KeyDir(stationDir))
	if err != nil {
		t.Fatal(err)
	}
	inv := invite(t, r, r.pin, time.Hour)
	res, err := enrol.Enrol(ctx, inv, key)
	if err != nil {
		t.Fatal(err)
	}
	recs, _, err := seal.ParseRecipients(strings.NewReader(strings.Join(res.Recipients, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	exam := pkg.Exam{Level: 9, Region: "50", PPE: res.PPE, Auditorium: "0007", Subject: "01", Date: "20250601"}
	b := pkg.NewBuilder(pkg.Manifest{Format: pkg.FormatVersion, Exam: exam, Station: "st-50-1234-1",
		ID: pkg.PackageID(exam), Version: 1, Created: time.Now().UTC()})
	if err := b.AddPage(pkg.Page{Seq: 1, Type: "11", File: "p0001.tif"}, strings.NewReader("scan")); err != nil {
		t.Fatal(err)
	}
	var tarball, sealed bytes.Buffer
	hash, err := b.Write(&tarball)
	if err != nil {
		t.Fatal(err)
	}
	id := pkg.PackageID(exam)
	sig, err := seal.Seal(&sealed, &tarball, recs, key, seal.Info{Station: "st-50-1234-1", Package: id, Version: 1, ManifestHash: hash})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ctPath, sigPath := filepath.Join(dir, "p.tar.age"), filepath.Join(dir, "p.sig")
	os.WriteFile(ctPath, sealed.Bytes(), 0o600)
	os.WriteFile(sigPath, sig, 0o600)
	ob, err := upload.OpenOutbox(stationDir)
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	if _, err := ob.Enqueue(ctx, ctPath, sigPath); err != nil {
		t.Fatal(err)
	}
	// What the station keeps of its enrolment, read back as `send` would.
	connPath := filepath.Join(stationDir, "keys", "rcoi-connection.json")
	if err := res.Connection(inv).Save(connPath); err != nil {
		t.Fatal(err)
	}
	conn, err := enrol.LoadConnection(connPath)
	if err != nil {
		t.Fatal(err)
	}
	hc, err := conn.HTTPClient(nil)
	if err != nil {
		t.Fatal(err)
	}
	rk, err := conn.Key()
	if err != nil {
		t.Fatal(err)
	}
	// No StationKey: the uploader signs with the key of its data folder.
	u := &upload.Uploader{Outbox: ob, Endpoint: conn.URL, ReceiverKey: rk, HTTP: hc}
	if err := u.Deliver(ctx, id, 1); err != nil {
		t.Fatal(err)
	}
	it, err := ob.Item(id, 1)
	if err != nil || it.State != upload.Delivered || len(it.Receipt) == 0 {
		t.Fatalf("after delivery: %+v %v", it, err)
	}
	// Without the pin the station does not talk to the receiver at all.
	if _, err := upload.SigningClient(nil, key).Get(r.url + receiver.ExamPath); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("reached the receiver without trusting its certificate: %v", err)
	}
	if _, err := enrol.LoadConnection(filepath.Join(stationDir, "none.json")); !errors.Is(err, enrol.ErrNoConnection) {
		t.Fatalf("no connection file: %v", err)
	}
}
