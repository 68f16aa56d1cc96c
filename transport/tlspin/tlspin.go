// Package tlspin is how a station trusts the РЦОИ's TLS certificate: by
// the SHA-256 fingerprint of the certificate (a receiver with its own
// generated certificate, as syncthing pins device certificates), or by a
// CA file (a certificate issued by the region's or a public CA), or by the
// system's roots when neither is given.
package tlspin

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"
)

// Trust says which certificate the РЦОИ's receiver may present.
type Trust struct {
	// Fingerprint, sha256:HEX, pins the receiver's certificate itself.
	Fingerprint string
	// CAFile is a PEM file of the CAs the receiver's certificate chains to.
	CAFile string
}

// Fingerprint is a certificate's pin: sha256: and the hex SHA-256 of its DER.
func Fingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// ParseFingerprint checks and normalises a pin (colons and case allowed).
func ParseFingerprint(s string) (string, error) {
	h := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(strings.TrimSpace(s), "sha256:"), ":", ""))
	if b, err := hex.DecodeString(h); err != nil || len(b) != sha256.Size {
		return "", fmt.Errorf("отпечаток сертификата %q: нужен sha256: и 64 шестнадцатеричные цифры", s)
	}
	return "sha256:" + h, nil
}

// Config is the client TLS configuration of a Trust.
func (t Trust) Config() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	switch {
	case t.Fingerprint != "" && t.CAFile != "":
		return nil, errors.New("укажите либо отпечаток сертификата приёмника, либо файл УЦ, но не оба")
	case t.Fingerprint != "":
		pin, err := ParseFingerprint(t.Fingerprint)
		if err != nil {
			return nil, err
		}
		// The pin replaces name and chain checks: the certificate is
		// trusted for being exactly the one the РЦОИ showed, whatever
		// address the station reaches it by.
		cfg.InsecureSkipVerify = true
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("the receiver presented no certificate")
			}
			got := Fingerprint(cs.PeerCertificates[0])
			if subtle.ConstantTimeCompare([]byte(got), []byte(pin)) != 1 {
				return fmt.Errorf("сертификат приёмника %s не тот, что выдал РЦОИ (%s): соединение прервано", got, pin)
			}
			return nil
		}
	case t.CAFile != "":
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("файл УЦ приёмника: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("файл УЦ приёмника %s: в нём нет сертификатов PEM", t.CAFile)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// Client is an HTTP client that trusts the receiver as t says. Its
// transport is an *http.Transport, so callers may wrap it (for example
// to sign requests).
func (t Trust) Client() (*http.Client, error) {
	cfg, err := t.Config()
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = cfg
	tr.ResponseHeaderTimeout = 5 * time.Minute // the last PATCH waits for the package check
	return &http.Client{Transport: tr}, nil
}
