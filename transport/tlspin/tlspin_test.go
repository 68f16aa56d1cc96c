package tlspin

import (
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A pinned client reaches exactly the pinned certificate; a CA file
// trusts what it issued; without either, a self-signed receiver is
// refused.
func TestTrust(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	pin := Fingerprint(srv.Certificate())
	get := func(tr Trust) error {
		c, err := tr.Client()
		if err != nil {
			return err
		}
		resp, err := c.Get(srv.URL)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	if err := get(Trust{Fingerprint: strings.ToUpper(strings.TrimPrefix(pin, "sha256:"))}); err != nil {
		t.Fatalf("pinned: %v", err)
	}
	if err := get(Trust{Fingerprint: "sha256:" + strings.Repeat("0", 64)}); err == nil {
		t.Fatal("a client pinning another certificate connected")
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644)
	if err := get(Trust{CAFile: ca}); err != nil {
		t.Fatalf("by CA file: %v", err)
	}
	if err := get(Trust{}); err == nil {
		t.Fatal("system roots trusted a self-signed certificate")
	}
	if _, err := (Trust{Fingerprint: pin, CAFile: ca}).Config(); err == nil {
		t.Fatal("pin and CA file together were taken")
	}
	if _, err := ParseFingerprint("sha256:abc"); err == nil {
		t.Fatal("a short fingerprint was taken")
	}
}
