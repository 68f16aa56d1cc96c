package receiver

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"filippo.io/age"

	"giascan/transport/seal"
)

// Files of the receiver's data directory.
const (
	IdentityFile   = "keys/rcoi.agekey" // age X25519 identity: stations encrypt to its recipient
	ReceiptKeyFile = "keys/receipt.key" // Ed25519 receipt-signing key, PKCS #8 PEM
	ReceiptPubFile = "keys/receipt.pub" // its public key, ed25519:…, given to stations
	StationsFile   = "stations.json"    // registered stations
	RejectsFile    = "rejects.jsonl"    // one JSON line per refused upload
	UploadsDir     = "uploads"          // tus uploads in progress
	DefaultStore   = "store"            // accepted packages, under RDIR
	identityHeader = "# giascan РЦОИ age identity"
)

// ErrNoKeys means `receiver keys init` has not been run on the directory.
var ErrNoKeys = errors.New("receiver keys not set up")

// Keys are the receiver's secrets.
type Keys struct {
	Identity   *age.X25519Identity
	ReceiptKey ed25519.PrivateKey
}

// ReceiptPublic is the key stations check receipts with.
func (k *Keys) ReceiptPublic() ed25519.PublicKey { return k.ReceiptKey.Public().(ed25519.PublicKey) }

// InitKeys creates the age identity and the receipt key in dir. Existing
// keys are never replaced: stations have encrypted to the recipient and
// trust the receipt key.
func InitKeys(dir string) (*Keys, error) {
	for _, f := range []string{IdentityFile, ReceiptKeyFile, ReceiptPubFile} {
		if _, err := os.Lstat(filepath.Join(dir, f)); err == nil {
			return nil, fmt.Errorf("receiver keys: %s already exists; stations rely on it, so it is not replaced", filepath.Join(dir, f))
		}
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, fmt.Errorf("generate age identity: %w", err)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate receipt key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("encode receipt key: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "keys"), 0o700); err != nil {
		return nil, fmt.Errorf("receiver keys: %w", err)
	}
	files := []struct {
		name string
		data []byte
	}{
		{IdentityFile, []byte(identityHeader + "\n# recipient: " + id.Recipient().String() + "\n" + id.String() + "\n")},
		{ReceiptKeyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})},
		{ReceiptPubFile, []byte(seal.FormatPublicKey(pub) + "\n")},
	}
	for _, f := range files {
		if err := seal.WriteNewPrivateFile(filepath.Join(dir, f.name), f.data); err != nil {
			return nil, err
		}
	}
	return &Keys{Identity: id, ReceiptKey: priv}, nil
}

// LoadKeys reads the keys made by InitKeys, refusing key files readable by
// group or others.
func LoadKeys(dir string) (*Keys, error) {
	idData, err := readPrivate(filepath.Join(dir, IdentityFile))
	if err != nil {
		return nil, err
	}
	var id *age.X25519Identity
	for line := range strings.SplitSeq(string(idData), "\n") {
		if line = strings.TrimSpace(line); strings.HasPrefix(line, "AGE-SECRET-KEY-") {
			if id, err = age.ParseX25519Identity(line); err != nil {
				return nil, fmt.Errorf("%s: %w", IdentityFile, err)
			}
		}
	}
	if id == nil {
		return nil, fmt.Errorf("%s: no age identity", IdentityFile)
	}
	keyData, err := readPrivate(filepath.Join(dir, ReceiptKeyFile))
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(keyData)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%s: not a PEM private key", ReceiptKeyFile)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ReceiptKeyFile, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: a %T, want Ed25519", ReceiptKeyFile, k)
	}
	return &Keys{Identity: id, ReceiptKey: priv}, nil
}

// readPrivate reads one of the receiver's key files with the same
// permission rules as the station's.
func readPrivate(path string) ([]byte, error) {
	data, err := seal.ReadPrivateFile(path)
	if errors.Is(err, seal.ErrNoKey) {
		return nil, fmt.Errorf("%s: %w (run `receiver keys init`)", path, ErrNoKeys)
	}
	return data, err
}

// Station is a station the РЦОИ trusts: its signing key and its ППЭ.
type Station struct {
	PPE   string    `json:"ppe"`
	Key   string    `json:"key"` // ed25519:…
	Added time.Time `json:"added"`
}

// AddStation registers a station's key for a ППЭ. A key belongs to one ППЭ
// only: re-adding it for another ППЭ is refused, since that would let the
// station speak for two ППЭ.
func AddStation(dir, ppe, key string) (Station, error) {
	if len(ppe) != 4 || strings.Trim(ppe, "0123456789") != "" {
		return Station{}, fmt.Errorf("ППЭ %q: want 4 digits", ppe)
	}
	pub, err := seal.ParsePublicKey(key)
	if err != nil {
		return Station{}, err
	}
	key = seal.FormatPublicKey(pub)
	list, err := LoadStations(dir)
	if err != nil {
		return Station{}, err
	}
	for _, s := range list {
		if s.Key == key {
			if s.PPE == ppe {
				return s, nil
			}
			return Station{}, fmt.Errorf("key %s is already registered for ППЭ %s", key, s.PPE)
		}
	}
	st := Station{PPE: ppe, Key: key, Added: time.Now().UTC().Truncate(time.Second)}
	list = append(list, st)
	slices.SortFunc(list, func(a, b Station) int { return strings.Compare(a.PPE+a.Key, b.PPE+b.Key) })
	data, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return Station{}, fmt.Errorf("stations: %w", err)
	}
	tmp := filepath.Join(dir, "."+StationsFile+".new")
	os.Remove(tmp) // a leftover of an interrupted add
	if err := seal.WriteNewPrivateFile(tmp, append(data, '\n')); err != nil {
		return Station{}, err
	}
	if err := os.Rename(tmp, filepath.Join(dir, StationsFile)); err != nil {
		os.Remove(tmp)
		return Station{}, fmt.Errorf("stations: %w", err)
	}
	return st, nil
}

// LoadStations returns the registered stations; none is an empty list.
func LoadStations(dir string) ([]Station, error) {
	data, err := os.ReadFile(filepath.Join(dir, StationsFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("stations: %w", err)
	}
	var list []Station
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("%s: %w", StationsFile, err)
	}
	return list, nil
}
