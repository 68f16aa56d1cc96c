// Package seal encrypts a package for the РЦОИ and signs it as the
// station's. Encryption is age (X25519 recipients: the РЦОИ's keys), so
// the stock `age -d -i KEY` opens a package; the signature is Ed25519 by
// the station's key, kept in a detached signature file so that a receiver
// checks who sent what before it spends any work on decrypting.
//
// A sealed package is two files:
//
//	NAME.tar.age  the age ciphertext of the package tar
//	NAME.sig      the signed statement, three lines:
//	              giascan-seal/v1
//	              {"station":…,"package":…,"version":…,"manifest":…,"ciphertext":…,"size":…,"key":…,"signed":…}
//	              base64 Ed25519 signature of the first two lines (with their newlines)
//
// The statement binds the ciphertext's SHA-256 and size to the package id,
// version, manifest hash and station id: a signature moved to another
// ciphertext, or a ciphertext changed by one bit, fails before decryption.
package seal

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"filippo.io/age"
)

// sigMagic is the first line of a signature file, and part of what is
// signed, so a signature made for anything else never verifies as a seal.
const sigMagic = "giascan-seal/v1"

// Extensions of the two files of a sealed package.
const (
	CiphertextExt = ".tar.age"
	SignatureExt  = ".sig"
)

// ErrRefused is wrapped by every error of Verify and Open that is about
// the sealed package rather than about reading it.
var ErrRefused = errors.New("запечатанный пакет отклонён")

// Info names the package being sealed.
type Info struct {
	Station      string // station id
	Package      string // package id
	Version      int
	ManifestHash string // SHA-256 of manifest.json, hex
}

// Statement is what the station signs.
type Statement struct {
	Station    string    `json:"station"`
	Package    string    `json:"package"`
	Version    int       `json:"version"`
	Manifest   string    `json:"manifest"`   // manifest hash, hex
	Ciphertext string    `json:"ciphertext"` // SHA-256 of the .tar.age file, hex
	Size       int64     `json:"size"`       // bytes of the .tar.age file
	Key        string    `json:"key"`        // the signing key, as FormatPublicKey
	Signed     time.Time `json:"signed"`
}

// Seal encrypts plaintext (a package tar) to the recipients, writing the
// ciphertext to dst, and returns the signature file's content.
func Seal(dst io.Writer, plaintext io.Reader, recipients []age.Recipient, key ed25519.PrivateKey, info Info) ([]byte, error) {
	if len(recipients) == 0 {
		return nil, fmt.Errorf("seal %s v%d: no РЦОИ recipients", info.Package, info.Version)
	}
	if len(key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("seal %s v%d: no station key", info.Package, info.Version)
	}
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(dst, h)}
	enc, err := age.Encrypt(cw, recipients...)
	if err != nil {
		return nil, fmt.Errorf("seal %s v%d: %w", info.Package, info.Version, err)
	}
	if _, err := io.Copy(enc, plaintext); err != nil {
		return nil, fmt.Errorf("seal %s v%d: encrypt: %w", info.Package, info.Version, err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("seal %s v%d: encrypt: %w", info.Package, info.Version, err)
	}
	st := Statement{
		Station: info.Station, Package: info.Package, Version: info.Version, Manifest: info.ManifestHash,
		Ciphertext: hex.EncodeToString(h.Sum(nil)), Size: cw.n,
		Key:    FormatPublicKey(key.Public().(ed25519.PublicKey)),
		Signed: time.Now().UTC().Truncate(time.Second),
	}
	line, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("seal %s v%d: %w", info.Package, info.Version, err)
	}
	signed := sigMagic + "\n" + string(line) + "\n"
	sig := ed25519.Sign(key, []byte(signed))
	return []byte(signed + base64.StdEncoding.EncodeToString(sig) + "\n"), nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Verify checks a signature file against the ciphertext and the station's
// public key, and, for each non-empty field of want, that the statement
// names the same station, package, version and manifest hash. It reads the
// ciphertext once and does not decrypt it.
func Verify(sigFile []byte, ciphertext io.Reader, station ed25519.PublicKey, want Info) (*Statement, error) {
	st, err := verifySignature(sigFile, station)
	if err != nil {
		return nil, err
	}
	switch {
	case want.Station != "" && st.Station != want.Station:
		return nil, refused("подписан для станции %q, ожидалась %q", st.Station, want.Station)
	case want.Package != "" && st.Package != want.Package:
		return nil, refused("подписан для пакета %q, ожидался %q", st.Package, want.Package)
	case want.Version != 0 && st.Version != want.Version:
		return nil, refused("подписан для версии %d пакета %s, ожидалась версия %d", st.Version, st.Package, want.Version)
	case want.ManifestHash != "" && st.Manifest != want.ManifestHash:
		return nil, refused("подписан для манифеста %s, ожидался %s", st.Manifest, want.ManifestHash)
	}
	h := sha256.New()
	n, err := io.Copy(h, ciphertext)
	if err != nil {
		return nil, fmt.Errorf("verify %s v%d: read ciphertext: %w", st.Package, st.Version, err)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); n != st.Size || sum != st.Ciphertext {
		return nil, refused("шифротекст пакета %s v%d не тот, что подписан: %d байт с SHA-256 %s, а подписаны %d байт с %s; отправьте пакет заново",
			st.Package, st.Version, n, sum, st.Size, st.Ciphertext)
	}
	return st, nil
}

// VerifyStatement checks only the signature of a signature file against
// the station's public key and returns the signed statement. It is the
// check a receiver makes before it accepts a byte of ciphertext; the
// ciphertext itself must then hash to Statement.Ciphertext.
func VerifyStatement(sigFile []byte, station ed25519.PublicKey) (*Statement, error) {
	return verifySignature(sigFile, station)
}

func verifySignature(sigFile []byte, station ed25519.PublicKey) (*Statement, error) {
	lines := strings.Split(string(sigFile), "\n")
	if len(lines) != 4 || lines[0] != sigMagic || lines[3] != "" {
		return nil, refused("это не файл подписи формата %s", sigMagic)
	}
	var st Statement
	dec := json.NewDecoder(strings.NewReader(lines[1]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return nil, refused("заявление подписи не читается: %v", err)
	}
	sig, err := base64.StdEncoding.Strict().DecodeString(lines[2])
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, refused("подпись пакета %s v%d — не подпись Ed25519 в base64", st.Package, st.Version)
	}
	if len(station) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("verify %s v%d: no station public key", st.Package, st.Version)
	}
	signed := lines[0] + "\n" + lines[1] + "\n"
	if !ed25519.Verify(station, []byte(signed), sig) {
		if st.Key != FormatPublicKey(station) {
			return nil, refused("%s v%d подписан ключом %s, а не ключом станции %s",
				st.Package, st.Version, st.Key, FormatPublicKey(station))
		}
		return nil, refused("подпись пакета %s v%d не сходится: заявление изменено после подписи", st.Package, st.Version)
	}
	return &st, nil
}

// Open verifies a sealed package as Verify does and only then decrypts it
// with the РЦОИ's identities, returning the package tar.
func Open(sigFile, ciphertext []byte, station ed25519.PublicKey, want Info, identities ...age.Identity) ([]byte, *Statement, error) {
	st, err := Verify(sigFile, bytes.NewReader(ciphertext), station, want)
	if err != nil {
		return nil, nil, err
	}
	r, err := age.Decrypt(bytes.NewReader(ciphertext), identities...)
	if err != nil {
		return nil, nil, refused("пакет %s v%d не расшифровывается: %v", st.Package, st.Version, err)
	}
	plain, err := io.ReadAll(r)
	if err != nil {
		return nil, nil, refused("пакет %s v%d не расшифровывается: %v", st.Package, st.Version, err)
	}
	return plain, st, nil
}

func refused(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrRefused, fmt.Sprintf(format, a...))
}
