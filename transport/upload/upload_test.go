package upload

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"

	"giascan/transport/receiver/receipt"
	"giascan/transport/seal"
)

// sealed writes a sealed package of random bytes standing for a tarball.
func sealed(t *testing.T, id string, version int) (ctPath, sigPath string, st *seal.Statement) {
	t.Helper()
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	id2, _ := age.GenerateX25519Identity()
	plain := make([]byte, 50_000)
	rand.Read(plain)
	var ct bytes.Buffer
	sig, err := seal.Seal(&ct, bytes.NewReader(plain), []age.Recipient{id2.Recipient()}, key,
		seal.Info{Station: "st-1", Package: id, Version: version, ManifestHash: strings.Repeat("ab", 32)})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ctPath, sigPath = filepath.Join(dir, "p.tar.age"), filepath.Join(dir, "p.sig")
	os.WriteFile(ctPath, ct.Bytes(), 0o600)
	os.WriteFile(sigPath, sig, 0o600)
	st, err = statement(sig)
	if err != nil {
		t.Fatal(err)
	}
	return ctPath, sigPath, st
}

// fakeTus is a minimal tus server that signs receipts with key.
type fakeTus struct {
	mu   sync.Mutex
	data []byte
	size int64
	meta string
	st   *seal.Statement
	key  ed25519.PrivateKey
}

func (f *fakeTus) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case r.Method == http.MethodPost && r.URL.Path == uploadPath:
		f.size, _ = strconv.ParseInt(r.Header.Get("Upload-Length"), 10, 64)
		f.meta = r.Header.Get("Upload-Metadata")
		w.Header().Set("Location", uploadPath+"x")
		w.WriteHeader(http.StatusCreated)
	case r.Method == http.MethodHead:
		w.Header().Set("Upload-Offset", strconv.Itoa(len(f.data)))
	case r.Method == http.MethodPatch:
		if r.Header.Get("Upload-Offset") != strconv.Itoa(len(f.data)) || r.Header.Get("Content-Type") != "application/offset+octet-stream" {
			w.WriteHeader(http.StatusConflict)
			return
		}
		b, _ := io.ReadAll(r.Body)
		f.data = append(f.data, b...)
		w.Header().Set("Upload-Offset", strconv.Itoa(len(f.data)))
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, receiptPath):
		if int64(len(f.data)) != f.size {
			http.NotFound(w, r)
			return
		}
		rc, _ := receipt.Sign(receipt.Receipt{Package: f.st.Package, Version: f.st.Version, Manifest: f.st.Manifest,
			Ciphertext: f.st.Ciphertext, Size: f.st.Size, Received: time.Now()}, f.key)
		w.Write(rc)
	default:
		http.Error(w, "no", http.StatusMethodNotAllowed)
	}
}

// A receipt is kept only if the РЦОИ's key signed it; the signature file
// travels in the upload metadata.
func TestReceiptMustBeSignedByTheReceiver(t *testing.T) {
	ctx := context.Background()
	ctPath, sigPath, st := sealed(t, "9-50-1234-0007-01-20250601", 1)
	rcoiPub, rcoiKey, _ := ed25519.GenerateKey(rand.Reader)
	_, forger, _ := ed25519.GenerateKey(rand.Reader)
	srv := &fakeTus{st: st, key: forger}
	hs := httptest.NewServer(srv)
	defer hs.Close()

	ob, err := OpenOutbox(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	if _, err := ob.Enqueue(ctx, ctPath, sigPath); err != nil {
		t.Fatal(err)
	}
	u := &Uploader{Outbox: ob, Endpoint: hs.URL, ReceiverKey: rcoiPub, ChunkSize: 16 << 10}
	err = u.Deliver(ctx, st.Package, 1)
	if !errors.Is(err, receipt.ErrInvalid) {
		t.Fatalf("forged receipt: %v", err)
	}
	it, _ := ob.Item(st.Package, 1)
	if it.State != Queued || it.Receipt != nil || it.Offset != st.Size {
		t.Fatalf("after a forged receipt: %s, offset %d", it.State, it.Offset)
	}
	sig, _ := os.ReadFile(sigPath)
	if !strings.Contains(srv.meta, "sig "+base64.StdEncoding.EncodeToString(sig)) {
		t.Fatalf("metadata %q carries no signature", srv.meta)
	}

	// The real key: the next attempt finds the upload complete, sends
	// nothing more, and keeps the receipt.
	srv.mu.Lock()
	srv.key = rcoiKey
	srv.mu.Unlock()
	if err := u.Deliver(ctx, st.Package, 1); err != nil {
		t.Fatal(err)
	}
	it, _ = ob.Item(st.Package, 1)
	if it.State != Delivered || it.BytesSent != st.Size || !bytes.Equal(srv.data, mustRead(t, ctPath)) {
		t.Fatalf("%s, sent %d of %d", it.State, it.BytesSent, st.Size)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The outbox refuses a ciphertext that is not the signed one, and a second
// package under a version already queued.
func TestEnqueueChecks(t *testing.T) {
	ctx := context.Background()
	ob, err := OpenOutbox(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	ctPath, sigPath, _ := sealed(t, "9-50-1234-0007-01-20250601", 1)
	ct2, _, _ := sealed(t, "9-50-1234-0007-01-20250601", 1)
	if _, err := ob.Enqueue(ctx, ct2, sigPath); err == nil {
		t.Fatal("a ciphertext its signature does not name was queued")
	}
	if _, err := ob.Enqueue(ctx, ctPath, sigPath); err != nil {
		t.Fatal(err)
	}
	if _, err := ob.Enqueue(ctx, ctPath, sigPath); err != nil {
		t.Fatalf("the same package twice: %v", err)
	}
	ctB, sigB, _ := sealed(t, "9-50-1234-0007-01-20250601", 1)
	if _, err := ob.Enqueue(ctx, ctB, sigB); err == nil {
		t.Fatal("another package under a queued version was accepted")
	}
	items, _ := ob.Items()
	if len(items) != 1 {
		t.Fatalf("%d items", len(items))
	}
}

// Run gives up waiting when its context ends, even in a long backoff.
func TestRunStopsOnCancel(t *testing.T) {
	ob, err := OpenOutbox(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	ctPath, sigPath, _ := sealed(t, "9-50-1234-0007-01-20250601", 1)
	if _, err := ob.Enqueue(context.Background(), ctPath, sigPath); err != nil {
		t.Fatal(err)
	}
	// Nothing listens on port 1 of loopback: every attempt fails.
	u := &Uploader{Outbox: ob, Endpoint: "http://127.0.0.1:1", MinBackoff: time.Hour}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := u.Run(ctx); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Fatalf("Run: %v after %v", err, time.Since(start))
	}
	it, _ := ob.Item("9-50-1234-0007-01-20250601", 1)
	if it.State != Queued || it.Attempts != 1 || it.LastError == "" {
		t.Fatalf("%+v", it)
	}
}
