// Package stationauth signs a station's HTTP requests to the РЦОИ with
// the station's Ed25519 key, and checks them at the receiver. The key is
// the one that signs the station's packages, so the РЦОИ registers one key
// per station and nothing else (no password to hand out or leak).
//
// A signed request carries
//
//	Authorization: Giascan-Ed25519 key=ed25519:…,ts=UNIX,sig=BASE64
//
// where sig signs "giascan-request/v1\nMETHOD\nREQUEST-URI\nTS\n". The
// timestamp bounds replay; TLS keeps a signed request from being seen.
package stationauth

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"giascan/transport/seal"
)

// Scheme is the Authorization scheme of a signed request.
const Scheme = "Giascan-Ed25519"

// MaxSkew is how far a request's time may be from the receiver's clock.
const MaxSkew = 5 * time.Minute

// ErrUnauthenticated is wrapped by every error of Verify.
var ErrUnauthenticated = errors.New("request not signed by a station")

func message(method, uri string, ts int64) []byte {
	return []byte("giascan-request/v1\n" + method + "\n" + uri + "\n" + strconv.FormatInt(ts, 10) + "\n")
}

func requestURI(req *http.Request) string {
	if req.URL.RawQuery != "" {
		return req.URL.EscapedPath() + "?" + req.URL.RawQuery
	}
	return req.URL.EscapedPath()
}

// Sign adds the station's signature to req.
func Sign(req *http.Request, key ed25519.PrivateKey, now time.Time) {
	ts := now.Unix()
	sig := ed25519.Sign(key, message(req.Method, requestURI(req), ts))
	req.Header.Set("Authorization", fmt.Sprintf("%s key=%s,ts=%d,sig=%s", Scheme,
		seal.FormatPublicKey(key.Public().(ed25519.PublicKey)), ts, base64.StdEncoding.EncodeToString(sig)))
}

// Verify checks a signed request and returns the key that signed it. The
// caller decides whether that key is a registered station.
func Verify(req *http.Request, now time.Time) (ed25519.PublicKey, error) {
	rest, ok := strings.CutPrefix(req.Header.Get("Authorization"), Scheme+" ")
	if !ok {
		return nil, fmt.Errorf("%w: no %s authorization", ErrUnauthenticated, Scheme)
	}
	fields := map[string]string{}
	for part := range strings.SplitSeq(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = v
	}
	pub, err := seal.ParsePublicKey(fields["key"])
	if err != nil {
		return nil, fmt.Errorf("%w: key: %v", ErrUnauthenticated, err)
	}
	ts, err := strconv.ParseInt(fields["ts"], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("%w: bad time", ErrUnauthenticated)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > MaxSkew || d < -MaxSkew {
		return nil, fmt.Errorf("%w: signed at %s, %s from the receiver's clock (check the station's clock)",
			ErrUnauthenticated, time.Unix(ts, 0).UTC().Format(time.RFC3339), d.Round(time.Second))
	}
	sig, err := base64.StdEncoding.Strict().DecodeString(fields["sig"])
	if err != nil || !ed25519.Verify(pub, message(req.Method, requestURI(req), ts), sig) {
		return nil, fmt.Errorf("%w: signature does not verify", ErrUnauthenticated)
	}
	return pub, nil
}

// Transport signs every request it sends with the station's key.
type Transport struct {
	Key  ed25519.PrivateKey
	Base http.RoundTripper // nil: http.DefaultTransport
	Now  func() time.Time  // nil: time.Now
}

// RoundTrip signs a copy of req and sends it.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	now := time.Now
	if t.Now != nil {
		now = t.Now
	}
	r := req.Clone(req.Context())
	Sign(r, t.Key, now())
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(r)
}
