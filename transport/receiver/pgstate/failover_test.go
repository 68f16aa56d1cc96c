package pgstate_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"filippo.io/age"

	"giascan/transport/linktest"
	"giascan/transport/pkg"
	"giascan/transport/receiver"
	"giascan/transport/receiver/pgstate"
	"giascan/transport/receiver/pgstate/pgtest"
	"giascan/transport/receiver/receipt"
	"giascan/transport/receiver/s3test"
	"giascan/transport/seal"
	"giascan/transport/upload"
)

// rcoi is one data folder (keys and register) and one bucket of a real
// S3 server (SeaweedFS) shared by receivers on one database: accepted
// packages under packages/, unfinished uploads under uploads/.
type rcoi struct {
	dir     string
	url     string
	store   string
	uploads string
	s3      *s3test.Server
	station ed25519.PrivateKey
	recs    []age.Recipient
}

func newRCOI(t testing.TB) *rcoi {
	t.Helper()
	r := &rcoi{dir: t.TempDir(), url: pgtest.Start(t), s3: s3test.StartServer(t)}
	bucket := r.s3.Bucket(t, "rcoi")
	r.store, r.uploads = r.s3.URL(bucket, "packages"), r.s3.URL(bucket, "uploads")
	k, err := receiver.InitKeys(r.dir)
	if err != nil {
		t.Fatal(err)
	}
	r.recs = []age.Recipient{k.Identity.Recipient()}
	kd := t.TempDir()
	pub, err := seal.GenerateStationKey(kd)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := receiver.AddStation(r.dir, "1234", seal.FormatPublicKey(pub)); err != nil {
		t.Fatal(err)
	}
	r.station, _ = seal.LoadStationKey(kd)
	return r
}

// instance is one receiver of the pair, on its own database connections.
type instance struct {
	rcv    *receiver.Receiver
	db     *pgstate.DB
	srv    *httptest.Server
	cancel context.CancelFunc
	url    string
}

func (r *rcoi) start(t testing.TB) *instance {
	t.Helper()
	rcv, err := receiver.Open(r.dir, r.store)
	if err != nil {
		t.Fatal(err)
	}
	db, err := pgstate.Open(context.Background(), r.url)
	if err != nil {
		t.Fatal(err)
	}
	rcv.Share(db)
	rcv.Uploads = r.uploads
	ctx, cancel := context.WithCancel(context.Background())
	h, err := rcv.Handler(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	in := &instance{rcv: rcv, db: db, cancel: cancel}
	in.srv = httptest.NewServer(h)
	in.url = in.srv.URL
	t.Cleanup(in.kill)
	return in
}

// kill stops the receiver: its connections cut, its database sessions
// (and so its locks) gone.
func (in *instance) kill() {
	if in.srv == nil {
		return
	}
	in.srv.CloseClientConnections()
	in.srv.Close()
	in.cancel()
	in.db.Close()
	in.srv = nil
}

// unfinished lists the objects of unfinished uploads in the bucket.
func (r *rcoi) unfinished(t testing.TB) []string {
	t.Helper()
	b, err := receiver.OpenBlob(r.uploads)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := b.List(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// sealed builds and seals a package of ППЭ 1234 with size bytes of scans.
func (r *rcoi) sealed(t testing.TB, version int, size int) (ct, sig []byte, m pkg.Manifest) {
	return r.sealedFor(t, r.station, "1234", "0007", version, size)
}

// sealedFor builds and seals a package of an auditorium as a station would.
func (r *rcoi) sealedFor(t testing.TB, key ed25519.PrivateKey, ppe, aud string, version int, size int) (ct, sig []byte, m pkg.Manifest) {
	t.Helper()
	exam := pkg.Exam{Level: 9, Region: "50", PPE: ppe, Auditorium: aud, Subject: "01", Date: "20250601"}
	b := pkg.NewBuilder(pkg.Manifest{Format: pkg.FormatVersion, Exam: exam, Station: "st-50-1234-1",
		ID: pkg.PackageID(exam), Version: version, Created: time.Now().UTC()})
	scan := make([]byte, size)
	rand.Read(scan)
	if err := b.AddPage(pkg.Page{Seq: 1, Type: "11", File: "p0001.tif"}, bytes.NewReader(scan)); err != nil {
		t.Fatal(err)
	}
	var tarball, out bytes.Buffer
	hash, err := b.Write(&tarball)
	if err != nil {
		t.Fatal(err)
	}
	m = b.Manifest()
	sig, err = seal.Seal(&out, &tarball, r.recs, key, seal.Info{Station: m.Station, Package: m.ID, Version: version, ManifestHash: hash})
	if err != nil {
		t.Fatal(err)
	}
	return out.Bytes(), sig, m
}

// Two receivers behind one address, on one database and one bucket: the
// one taking an upload dies in the middle of it, and the other takes the
// rest from where it stopped — the upload's parts are in the bucket, not
// on the dead one's disk — checks the package and answers the receipt.
func TestOtherReceiverFinishesAnUpload(t *testing.T) {
	ctx := context.Background()
	r := newRCOI(t)
	a, b := r.start(t), r.start(t)
	fr := linktest.NewFront(t, a.srv.URL, b.srv.URL)

	ct, sig, m := r.sealed(t, 1, 3<<20)
	dir := t.TempDir()
	cp, sp := filepath.Join(dir, "p.tar.age"), filepath.Join(dir, "p.sig")
	os.WriteFile(cp, ct, 0o600)
	os.WriteFile(sp, sig, 0o600)
	ob, err := upload.OpenOutbox(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	if _, err := ob.Enqueue(ctx, cp, sp); err != nil {
		t.Fatal(err)
	}
	const chunk = 128 << 10
	killed := make(chan struct{})
	var once sync.Once
	var inBucket []string // the upload's objects when the first receiver died
	u := &upload.Uploader{Outbox: ob, Endpoint: fr.URL, ReceiverKey: a.rcv.ReceiptKey(), StationKey: r.station,
		ChunkSize: chunk, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, Poll: time.Second,
		Progress: func(p upload.Progress) {
			if p.Sent >= 1<<20 && p.Sent < p.Total {
				once.Do(func() { inBucket = r.unfinished(t); a.kill(); close(killed) })
			}
		}}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- u.Run(runCtx) }()
	deadline := time.Now().Add(60 * time.Second)
	var it upload.Item
	for {
		it, err = ob.Item(m.ID, 1)
		if err != nil {
			t.Fatal(err)
		}
		if it.State != upload.Queued || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	select {
	case <-killed:
	default:
		t.Fatal("the first receiver was never killed: the upload did not pass 1 MiB through it")
	}
	if it.State != upload.Delivered {
		t.Fatalf("state %s after %d attempts: %s", it.State, it.Attempts, it.LastError)
	}
	rc, err := receipt.Verify(it.Receipt, b.rcv.ReceiptKey())
	if err != nil || rc.Package != m.ID || rc.Size != int64(len(ct)) {
		t.Fatalf("receipt %+v %v", rc, err)
	}
	// Resumed, not restarted: at most the chunk in flight is sent twice.
	if it.BytesSent > int64(len(ct))+2*chunk {
		t.Fatalf("sent %d bytes for %d: the upload started over", it.BytesSent, len(ct))
	}
	if fr.Hits(a.url) == 0 || fr.Hits(b.url) == 0 {
		t.Fatalf("requests: %d to the first receiver, %d to the second", fr.Hits(a.url), fr.Hits(b.url))
	}
	st, err := b.rcv.Status(ctx)
	if err != nil || len(st.PPE) != 1 || len(st.PPE[0].Packages) != 1 {
		t.Fatalf("status %+v %v", st, err)
	}
	if !slices.ContainsFunc(inBucket, func(k string) bool { return strings.HasSuffix(k, ".info") }) {
		t.Fatalf("the unfinished upload was not in the bucket: %q", inBucket)
	}
	if left := r.unfinished(t); len(left) != 0 {
		t.Fatalf("upload objects left in the bucket: %q", left)
	}
	t.Logf("%d bytes: %d sent, %d requests to the receiver that died, %d to the other", len(ct), it.BytesSent, fr.Hits(a.url), fr.Hits(b.url))
}

// The same package version sent to both receivers at once, many times:
// accepted once; every other answer is that same receipt. Another content
// under the same version is refused.
func TestAcceptedExactlyOnceAcrossReceivers(t *testing.T) {
	ctx := context.Background()
	r := newRCOI(t)
	a, b := r.start(t), r.start(t)
	ct, sig, _ := r.sealed(t, 1, 10_000)
	ct2, sig2, _ := r.sealed(t, 1, 10_001) // same id and version, other contents
	var fresh, repeated, refused atomic.Int64
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in := []*instance{a, b}[i%2]
			c, s := ct, sig
			if i%4 == 3 {
				c, s = ct2, sig2
			}
			acc, err := in.rcv.Accept(ctx, s, c)
			switch {
			case errors.Is(err, receiver.ErrRefused):
				refused.Add(1)
			case err != nil:
				t.Error(err)
			case acc.Repeated:
				repeated.Add(1)
			default:
				fresh.Add(1)
			}
		}()
	}
	wg.Wait()
	if fresh.Load() != 1 || fresh.Load()+repeated.Load()+refused.Load() != 16 {
		t.Fatalf("accepted %d, repeated %d, refused %d", fresh.Load(), repeated.Load(), refused.Load())
	}
}
