package receiver_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"giascan/transport/linktest"
	"giascan/transport/receiver"
	"giascan/transport/receiver/receipt"
	"giascan/transport/upload"
)

// runUploader runs an uploader's worker until stop is called.
func runUploader(u *upload.Uploader) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- u.Run(ctx) }()
	return func() error {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			return err
		}
		return nil
	}
}

// waitState polls the outbox until the item leaves the queue.
func waitState(t *testing.T, ob *upload.Outbox, id string, version int, timeout time.Duration) upload.Item {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		it, err := ob.Item(id, version)
		if err != nil {
			t.Fatal(err)
		}
		if it.State != upload.Queued {
			return it
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s v%d still queued after %v: %d attempts, offset %d, last error %q", id, version, timeout, it.Attempts, it.Offset, it.LastError)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (f *fixture) uploader(t *testing.T, ob *upload.Outbox, endpoint string) *upload.Uploader {
	return &upload.Uploader{Outbox: ob, Endpoint: endpoint, ReceiverKey: f.rcv.ReceiptKey(), StationKey: f.station,
		ChunkSize: 64 << 10, MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, Poll: time.Second}
}

func openOutbox(t *testing.T, dir string) *upload.Outbox {
	t.Helper()
	ob, err := upload.OpenOutbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	return ob
}

// A package crosses a 1 Mbit/s link that drops twice, arrives, and the
// station holds a valid receipt; a resend is acknowledged with the same
// receipt, a new version is kept, and a refused upload is marked so.
func TestUploadThroughFlakySlowLink(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	h, err := f.rcv.Handler(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	p := linktest.New(t, strings.TrimPrefix(srv.URL, "http://"), 125_000, 70_000, 160_000)

	tarball, m, hash := build(t, "1234", 1, image(t, 250_000))
	ct, sig := f.sealTar(t, tarball, f.station, m, hash)
	cp, sp := writeSealed(t, ct, sig)
	ob := openOutbox(t, t.TempDir())
	defer ob.Close()
	if _, err := ob.Enqueue(ctx, cp, sp); err != nil {
		t.Fatal(err)
	}
	u := f.uploader(t, ob, p.URL())
	var mu sync.Mutex
	var last upload.Progress
	u.Progress = func(pr upload.Progress) { mu.Lock(); last = pr; mu.Unlock() }
	stop := runUploader(u)
	it := waitState(t, ob, m.ID, 1, 60*time.Second)
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	if it.State != upload.Delivered {
		t.Fatalf("state %s: %s", it.State, it.LastError)
	}
	rc, err := receipt.Verify(it.Receipt, f.rcv.ReceiptKey())
	if err != nil {
		t.Fatal(err)
	}
	if rc.Package != m.ID || rc.Version != 1 || rc.Manifest != hash || rc.Ciphertext != it.SHA256 || rc.Size != int64(len(ct)) || rc.PPE != "1234" {
		t.Fatalf("receipt %+v", rc)
	}
	if _, cuts := p.Stats(); cuts != 2 {
		t.Fatalf("the link was cut %d times, want 2", cuts)
	}
	// Each cut loses at most the chunk in flight.
	if max := it.Size + 2*u.ChunkSize; it.BytesSent < it.Size || it.BytesSent > max {
		t.Fatalf("sent %d bytes for %d, want at most %d", it.BytesSent, it.Size, max)
	}
	if last.Sent != last.Total || last.Total != it.Size {
		t.Fatalf("last progress %+v", last)
	}
	t.Logf("%d bytes sealed, %d sent in %d attempts over a link cut twice", it.Size, it.BytesSent, it.Attempts)

	// The board shows it.
	for _, path := range []string{"/", "/status.json"} {
		if code, body := get(t, nil, srv.URL+path); code != http.StatusOK || !strings.Contains(body, m.ID) {
			t.Fatalf("GET %s: %d\n%s", path, code, body)
		}
	}

	// The same package from a station that lost its outbox: same receipt.
	ob2 := openOutbox(t, t.TempDir())
	defer ob2.Close()
	if _, err := ob2.Enqueue(ctx, cp, sp); err != nil {
		t.Fatal(err)
	}
	// v2 of the package, and a package signed by a key the РЦОИ does not know.
	tar2, m2, h2 := build(t, "1234", 2, image(t, 30_000))
	ct2, sig2 := f.sealTar(t, tar2, f.station, m2, h2)
	cp2, sp2 := writeSealed(t, ct2, sig2)
	if _, err := ob2.Enqueue(ctx, cp2, sp2); err != nil {
		t.Fatal(err)
	}
	other := newFixture(t).station
	tarX, mX, hX := build(t, "4321", 1, image(t, 5_000))
	ctX, sigX := f.sealTar(t, tarX, other, mX, hX)
	cpX, spX := writeSealed(t, ctX, sigX)
	if _, err := ob2.Enqueue(ctx, cpX, spX); err != nil {
		t.Fatal(err)
	}
	// A package of another ППЭ signed by this station: refused when the
	// upload is created, by the ППЭ its id names.
	tarR, mR, hR := build(t, "5678", 1, image(t, 5_000))
	ctR, sigR := f.sealTar(t, tarR, f.station, mR, hR)
	cpR, spR := writeSealed(t, ctR, sigR)
	if _, err := ob2.Enqueue(ctx, cpR, spR); err != nil {
		t.Fatal(err)
	}
	stop = runUploader(f.uploader(t, ob2, srv.URL))
	again := waitState(t, ob2, m.ID, 1, 30*time.Second)
	v2 := waitState(t, ob2, m2.ID, 2, 30*time.Second)
	refused := waitState(t, ob2, mX.ID, 1, 30*time.Second)
	relabelled := waitState(t, ob2, mR.ID, 1, 30*time.Second)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if relabelled.State != upload.Refused || !strings.Contains(relabelled.LastError, "зарегистрирована для ППЭ 1234") {
		t.Fatalf("relabelled: %s %q", relabelled.State, relabelled.LastError)
	}
	if again.State != upload.Delivered || !bytes.Equal(again.Receipt, it.Receipt) {
		t.Fatalf("resend: %s, same receipt %v", again.State, bytes.Equal(again.Receipt, it.Receipt))
	}
	if v2.State != upload.Delivered {
		t.Fatalf("v2: %s %s", v2.State, v2.LastError)
	}
	if refused.State != upload.Refused || !strings.Contains(refused.LastError, "не зарегистрирован") {
		t.Fatalf("unregistered key: %s %q", refused.State, refused.LastError)
	}
	st, err := f.rcv.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.PPE) != 1 || len(st.PPE[0].Packages) != 2 || st.Rejects != 2 {
		t.Fatalf("status: %+v", st)
	}
}

// The РЦОИ goes down in the middle of an upload, and the station is
// restarted too; both come back on the same directories and the upload
// resumes where it stopped instead of starting over.
func TestUploadResumesAcrossRestarts(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	serve := func(rcv *receiver.Receiver) (*http.Server, string, chan error) {
		h, err := rcv.Handler(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: h}
		done := make(chan error, 1)
		go func() { done <- srv.Serve(ln) }()
		return srv, ln.Addr().String(), done
	}
	srv1, addr1, done1 := serve(f.rcv)
	p := linktest.New(t, addr1, 125_000)

	tarball, m, hash := build(t, "1234", 1, image(t, 300_000))
	ct, sig := f.sealTar(t, tarball, f.station, m, hash)
	cp, sp := writeSealed(t, ct, sig)
	stationDir := t.TempDir()
	ob := openOutbox(t, stationDir)
	if _, err := ob.Enqueue(ctx, cp, sp); err != nil {
		t.Fatal(err)
	}
	stop := runUploader(f.uploader(t, ob, p.URL()))

	// Stop both sides once about 40% has gone through.
	for {
		if fw, _ := p.Stats(); fw > int64(len(ct))*4/10 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	srv1.Close()
	<-done1
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	before, err := ob.Item(m.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := ob.Close(); err != nil {
		t.Fatal(err)
	}
	if before.State != upload.Queued || before.UploadURL == "" {
		t.Fatalf("before the restart: %+v", before)
	}

	rcv2, err := receiver.Open(f.rdir, "")
	if err != nil {
		t.Fatal(err)
	}
	srv2, addr2, done2 := serve(rcv2)
	defer func() { srv2.Close(); <-done2 }()
	p.SetBackend(addr2)
	ob = openOutbox(t, stationDir)
	defer ob.Close()
	stop = runUploader(f.uploader(t, ob, p.URL()))
	it := waitState(t, ob, m.ID, 1, 60*time.Second)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if it.State != upload.Delivered || it.UploadURL != before.UploadURL {
		t.Fatalf("after the restart: %s via %s (was %s): %s", it.State, it.UploadURL, before.UploadURL, it.LastError)
	}
	if _, err := receipt.Verify(it.Receipt, rcv2.ReceiptKey()); err != nil {
		t.Fatal(err)
	}
	// Resumed, not restarted: what was sent before the stop is not sent again.
	if it.BytesSent > it.Size+2*(64<<10) {
		t.Fatalf("sent %d bytes for %d: the upload started over", it.BytesSent, it.Size)
	}
	t.Logf("%d bytes sealed, %d sent before the stop, %d in all", it.Size, before.BytesSent, it.BytesSent)
	st, err := rcv2.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.PPE) != 1 || len(st.PPE[0].Packages) != 1 || st.PPE[0].Packages[0].Manifest != hash {
		t.Fatalf("status %+v", st)
	}
}
