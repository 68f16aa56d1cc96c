package stationauth

import (
	"crypto/ed25519"
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestSignVerify(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(nil)
	now := time.Now()
	req, _ := http.NewRequest(http.MethodGet, "https://rcoi.example:8443/receipts/9-50-1234-0007-01-20250601/1?x=1", nil)
	Sign(req, key, now)
	pub, err := Verify(req, now.Add(time.Minute))
	if err != nil || !pub.Equal(key.Public()) {
		t.Fatalf("signed request: %v", err)
	}
	// The signature covers the method, the path and the query.
	for _, edit := range []func(r *http.Request){
		func(r *http.Request) { r.Method = http.MethodDelete },
		func(r *http.Request) { r.URL.Path = "/receipts/9-50-4321-0007-01-20250601/1" },
		func(r *http.Request) { r.URL.RawQuery = "x=2" },
	} {
		r := req.Clone(req.Context())
		edit(r)
		if _, err := Verify(r, now); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("altered request verified: %v", err)
		}
	}
	if _, err := Verify(req, now.Add(MaxSkew+time.Second)); !errors.Is(err, ErrUnauthenticated) {
		t.Error("request replayed after the allowed skew verified")
	}
	plain, _ := http.NewRequest(http.MethodGet, "https://rcoi.example/", nil)
	if _, err := Verify(plain, now); !errors.Is(err, ErrUnauthenticated) {
		t.Error("unsigned request verified")
	}
}
