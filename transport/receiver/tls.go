package receiver

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"giascan/transport/seal"
)

// Files of the receiver's own TLS certificate, made on first use when no
// certificate is given. Stations pin it by its fingerprint.
const (
	TLSCertFile = "tls/cert.pem"
	TLSKeyFile  = "tls/key.pem"
)

// LoadTLS returns the receiver's TLS certificate: the given PEM files, or
// (both empty) the receiver's own in DIR/tls, made once and kept, since
// stations pin it. hosts name the certificate for stations that check
// names rather than pin.
func LoadTLS(dir, certFile, keyFile string, hosts ...string) (tls.Certificate, error) {
	if (certFile == "") != (keyFile == "") {
		return tls.Certificate{}, errors.New("укажите и сертификат, и его ключ, или ни того ни другого")
	}
	if certFile == "" {
		certFile, keyFile = filepath.Join(dir, TLSCertFile), filepath.Join(dir, TLSKeyFile)
		if _, err := os.Stat(certFile); errors.Is(err, os.ErrNotExist) {
			if err := makeCert(certFile, keyFile, hosts); err != nil {
				return tls.Certificate{}, err
			}
		}
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("сертификат TLS приёмника: %w", err)
	}
	return cert, nil
}

func makeCert(certFile, keyFile string, hosts []string) error {
	os.Remove(keyFile) // a key left by a crash before its certificate was written
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("tls key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		return err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "giascan РЦОИ receiver", Organization: []string{"РЦОИ"}},
		NotBefore:    now.Add(-time.Hour),
		// Stations pin this certificate: it lives as long as the РЦОИ's
		// keys, not a year, so an exam day never meets an expired pin.
		NotAfter:    now.AddDate(10, 0, 0),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		return fmt.Errorf("tls certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(certFile), 0o700); err != nil {
		return err
	}
	if err := seal.WriteNewPrivateFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})); err != nil {
		return err
	}
	// The certificate last: its presence says the pair is complete.
	return seal.WriteNewPrivateFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}
