package seal

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"filippo.io/age"
)

// Key files, in the keys folder of the station's data folder (see KeyDir).
const (
	StationKeyFile = "station.key"     // Ed25519 private key, PKCS #8 PEM
	StationPubFile = "station.pub"     // its public key, as FormatPublicKey
	RecipientsFile = "rcoi.recipients" // the РЦОИ's age recipients, one a line
)

// ErrNoKey is wrapped when a key file does not exist yet.
var ErrNoKey = errors.New("key not set up")

// KeyDir is the folder of the key files in a station data folder.
func KeyDir(dataDir string) string { return filepath.Join(dataDir, "keys") }

const pubPrefix = "ed25519:"

// FormatPublicKey writes a station public key as one line to hand to the
// РЦОИ: "ed25519:" and the key in base64.
func FormatPublicKey(pub ed25519.PublicKey) string {
	return pubPrefix + base64.StdEncoding.EncodeToString(pub)
}

// ParsePublicKey reads a key written by FormatPublicKey.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	b64, ok := strings.CutPrefix(strings.TrimSpace(s), pubPrefix)
	raw, err := base64.StdEncoding.Strict().DecodeString(b64)
	if !ok || err != nil || len(raw) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("station public key %q: want %s and 32 bytes in base64", s, pubPrefix)
	}
	return ed25519.PublicKey(raw), nil
}

// Fingerprint is a short name of a public key for people to compare over
// the phone: the first 16 hex digits of its SHA-256.
func Fingerprint(pub ed25519.PublicKey) string {
	h := sha256.Sum256(pub)
	return hex.EncodeToString(h[:8])
}

// GenerateStationKey creates the station's key pair in dir (made 0700 if
// missing), both files 0600. It refuses to replace an existing key: the
// РЦОИ knows the station by it.
func GenerateStationKey(dir string) (ed25519.PublicKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate station key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("encode station key: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("station key: %w", err)
	}
	keyPath := filepath.Join(dir, StationKeyFile)
	for _, p := range []string{keyPath, filepath.Join(dir, StationPubFile)} {
		if _, err := os.Lstat(p); err == nil {
			return nil, fmt.Errorf("station key: %s already exists; the РЦОИ knows the station by its key, so it is not replaced", p)
		}
	}
	if err := WriteNewPrivateFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})); err != nil {
		return nil, err
	}
	if err := WriteNewPrivateFile(filepath.Join(dir, StationPubFile), []byte(FormatPublicKey(pub)+"\n")); err != nil {
		return nil, err
	}
	return pub, nil
}

// WriteNewPrivateFile creates a 0600 file that must not exist, and syncs
// it: key files are never overwritten.
func WriteNewPrivateFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create key file: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

// ReadPrivateFile reads a key file, refusing one that others than its
// owner may read or write: a copied-around key is no longer its owner's.
// A missing file is reported wrapping ErrNoKey.
func ReadPrivateFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", path, ErrNoKey)
	}
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("key file %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("key file %s is open to group or others (mode %04o); refused: run chmod 600 %s", path, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return data, nil
}

// LoadStationKey reads the station's private key from dir.
func LoadStationKey(dir string) (ed25519.PrivateKey, error) {
	path := filepath.Join(dir, StationKeyFile)
	data, err := ReadPrivateFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("station key %s: not a PEM private key", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("station key %s: %w", path, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("station key %s: a %T, want Ed25519", path, k)
	}
	return priv, nil
}

// ParseRecipients reads age X25519 recipients ("age1…"), one a line; blank
// lines and lines starting with # are skipped. An error names the line.
// It returns the recipients and their text.
func ParseRecipients(r io.Reader) ([]age.Recipient, []string, error) {
	var recs []age.Recipient
	var texts []string
	seen := map[string]bool{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		rec, err := age.ParseX25519Recipient(line)
		if err != nil {
			return nil, nil, fmt.Errorf("line %d: %q is not an age X25519 recipient (age1…): %v", n, line, err)
		}
		if !seen[line] {
			seen[line] = true
			recs = append(recs, rec)
			texts = append(texts, line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("read recipients: %w", err)
	}
	if len(recs) == 0 {
		return nil, nil, fmt.Errorf("no age recipients (age1…) found")
	}
	return recs, texts, nil
}

// ImportRecipients validates the РЦОИ's recipients from r and stores them
// in dir (0600), replacing earlier ones: the РЦОИ may rotate its keys. It
// returns the recipients' text.
func ImportRecipients(dir string, r io.Reader) ([]string, error) {
	_, texts, err := ParseRecipients(r)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("recipients: %w", err)
	}
	var buf bytes.Buffer
	buf.WriteString("# age recipients of the РЦОИ: packages are encrypted to each of them\n")
	for _, t := range texts {
		buf.WriteString(t + "\n")
	}
	tmp := filepath.Join(dir, "."+RecipientsFile+".new")
	os.Remove(tmp) // a leftover of an interrupted import
	if err := WriteNewPrivateFile(tmp, buf.Bytes()); err != nil {
		return nil, err
	}
	// Rename, so a crash leaves the old list or the new one, never half.
	if err := os.Rename(tmp, filepath.Join(dir, RecipientsFile)); err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("recipients: %w", err)
	}
	return texts, nil
}

// LoadRecipients reads the РЦОИ's recipients stored by ImportRecipients.
func LoadRecipients(dir string) ([]age.Recipient, []string, error) {
	path := filepath.Join(dir, RecipientsFile)
	data, err := ReadPrivateFile(path)
	if err != nil {
		return nil, nil, err
	}
	recs, texts, err := ParseRecipients(bytes.NewReader(data))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return recs, texts, nil
}

// LoadStationPublicKey reads the station's public key from dir.
func LoadStationPublicKey(dir string) (ed25519.PublicKey, error) {
	path := filepath.Join(dir, StationPubFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", path, ErrNoKey)
	}
	if err != nil {
		return nil, fmt.Errorf("station public key: %w", err)
	}
	pub, err := ParsePublicKey(string(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return pub, nil
}
