// Package receipt is the signed acknowledgement the РЦОИ gives a station for
// a package it accepted. It lives apart from the receiver so that the
// station can check receipts without linking the РЦОИ's server code.
//
// A receipt file is three lines, like a seal signature file:
//
//	giascan-receipt/v1
//	{"ppe":…,"package":…,…}          the statement, JSON on one line
//	base64(Ed25519(line 1 + "\n" + line 2 + "\n"))
package receipt

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"giascan/transport/seal"
)

const magic = "giascan-receipt/v1"

// ErrInvalid marks a receipt that is malformed or whose signature does not
// verify: the station must not treat the package as delivered.
var ErrInvalid = errors.New("invalid receipt")

// Receipt is what the РЦОИ signs when it has accepted and stored a package.
type Receipt struct {
	PPE        string    `json:"ppe"`        // the ППЭ of the registered station
	Station    string    `json:"station"`    // station id from the manifest
	Package    string    `json:"package"`    // package id
	Version    int       `json:"version"`    // package version
	Manifest   string    `json:"manifest"`   // SHA-256 of manifest.json, hex
	Ciphertext string    `json:"ciphertext"` // SHA-256 of the .tar.age received, hex
	Size       int64     `json:"size"`       // bytes of the .tar.age received
	Received   time.Time `json:"received"`   // when the РЦОИ accepted it, UTC
	Receiver   string    `json:"receiver"`   // the receipt-signing key, ed25519:…
}

// Sign returns the receipt file for r, signed with the РЦОИ's receipt key.
// r.Receiver is set from the key so a receipt always names its signer.
func Sign(r Receipt, key ed25519.PrivateKey) ([]byte, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("sign receipt for %s v%d: no receipt key", r.Package, r.Version)
	}
	r.Receiver = seal.FormatPublicKey(key.Public().(ed25519.PublicKey))
	line, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("sign receipt for %s v%d: %w", r.Package, r.Version, err)
	}
	signed := magic + "\n" + string(line) + "\n"
	sig := ed25519.Sign(key, []byte(signed))
	return []byte(signed + base64.StdEncoding.EncodeToString(sig) + "\n"), nil
}

// Verify checks a receipt file against the РЦОИ's receipt public key and
// returns its statement. Errors wrap ErrInvalid.
func Verify(data []byte, pub ed25519.PublicKey) (*Receipt, error) {
	lines := strings.Split(string(data), "\n")
	if len(lines) != 4 || lines[0] != magic || lines[3] != "" {
		return nil, fmt.Errorf("%w: not a receipt of format %s", ErrInvalid, magic)
	}
	var r Receipt
	dec := json.NewDecoder(strings.NewReader(lines[1]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("%w: statement: %v", ErrInvalid, err)
	}
	sig, err := base64.StdEncoding.Strict().DecodeString(lines[2])
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("%w: receipt for %s v%d has no Ed25519 signature", ErrInvalid, r.Package, r.Version)
	}
	if len(pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("verify receipt for %s v%d: no РЦОИ receipt key", r.Package, r.Version)
	}
	if !ed25519.Verify(pub, []byte(lines[0]+"\n"+lines[1]+"\n"), sig) {
		return nil, fmt.Errorf("%w: receipt for %s v%d is not signed by the РЦОИ key %s (it names %s)",
			ErrInvalid, r.Package, r.Version, seal.FormatPublicKey(pub), r.Receiver)
	}
	return &r, nil
}
