package enrol

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"

	"giascan/transport/seal"
	"giascan/transport/tlspin"
	"giascan/transport/upload"
)

// Connection is what a station keeps after enrolment to send to its РЦОИ:
// where the receiver is, how to trust its certificate, and the key its
// receipts are signed with.
type Connection struct {
	URL        string `json:"url"`
	TLS        string `json:"tls,omitempty"`     // certificate pin, sha256:…
	CAFile     string `json:"ca_file,omitempty"` // or a CA file
	ReceiptKey string `json:"receipt_key"`       // ed25519:…
	PPE        string `json:"ppe"`
}

// Connection is how the station reaches the РЦОИ it enrolled with.
func (r *Result) Connection(inv *Invitation) Connection {
	return Connection{URL: inv.URL, TLS: r.Trust.Fingerprint, CAFile: r.Trust.CAFile,
		ReceiptKey: seal.FormatPublicKey(r.ReceiptKey), PPE: r.PPE}
}

// Trust is how the connection trusts the receiver's certificate.
func (c Connection) Trust() tlspin.Trust { return tlspin.Trust{Fingerprint: c.TLS, CAFile: c.CAFile} }

// HTTPClient trusts the receiver as the connection says and signs every
// request with the station's key (nil: unsigned): what upload.Uploader
// and the station's other requests to the РЦОИ use.
func (c Connection) HTTPClient(key ed25519.PrivateKey) (*http.Client, error) {
	hc, err := c.Trust().Client()
	if err != nil {
		return nil, err
	}
	if key == nil {
		return hc, nil
	}
	return upload.SigningClient(hc, key), nil
}

// Key is the receipt key.
func (c Connection) Key() (ed25519.PublicKey, error) { return seal.ParsePublicKey(c.ReceiptKey) }

// Save writes the connection to path, replacing an older one.
func (c Connection) Save(path string) error {
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("связь с РЦОИ не сохранена: %w", err)
	}
	tmp := path + ".new"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("связь с РЦОИ не сохранена: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("связь с РЦОИ не сохранена: %w", err)
	}
	return nil
}

// ErrNoConnection means the station has not enrolled.
var ErrNoConnection = errors.New("станция не зарегистрирована в РЦОИ: получите приглашение РЦОИ и зарегистрируйте станцию")

// LoadConnection reads a connection saved by Save.
func LoadConnection(path string) (Connection, error) {
	var c Connection
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return c, ErrNoConnection
	}
	if err == nil {
		err = json.Unmarshal(data, &c)
	}
	if err == nil {
		_, err = c.Key()
	}
	if err != nil {
		return Connection{}, fmt.Errorf("файл связи с РЦОИ %s повреждён, зарегистрируйте станцию снова: %w", path, err)
	}
	return c, nil
}
