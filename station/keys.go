package station

import (
	"errors"
	"fmt"
	"io"
	"os"

	"giascan/station/audit"
	"giascan/transport/seal"
)

// KeyInfo is what people compare of the station's key: the РЦОИ reads the
// fingerprint back over the phone.
type KeyInfo struct {
	Public      string // ed25519:…
	Fingerprint string
}

// StationKey returns the station's public key, ok false when none was
// created.
func (s *Station) StationKey() (KeyInfo, bool, error) {
	pub, err := seal.LoadStationPublicKey(s.Dir.Keys())
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, seal.ErrNoKey) {
		return KeyInfo{}, false, nil
	}
	if err != nil {
		return KeyInfo{}, false, err
	}
	return KeyInfo{Public: seal.FormatPublicKey(pub), Fingerprint: seal.Fingerprint(pub)}, true, nil
}

// CreateStationKey makes the station's signing key. An existing key is
// never replaced: the РЦОИ knows the station by it.
func (s *Station) CreateStationKey(actor string) (KeyInfo, error) {
	if _, ok, err := s.StationKey(); err != nil {
		return KeyInfo{}, err
	} else if ok {
		return KeyInfo{}, refuse("ключ станции", "ключ станции уже создан, и РЦОИ знает станцию по нему: новый не создаётся")
	}
	pub, err := seal.GenerateStationKey(s.Dir.Keys())
	if err != nil {
		return KeyInfo{}, err
	}
	k := KeyInfo{Public: seal.FormatPublicKey(pub), Fingerprint: seal.Fingerprint(pub)}
	if _, err := s.Log.Append(audit.Event{Actor: actor, Action: audit.ActionKeyCreate, After: jsonOf(map[string]string{"public": k.Public, "fingerprint": k.Fingerprint})}); err != nil {
		return k, fmt.Errorf("ключ создан, но журнал аудита не пишется: %w", err)
	}
	s.notify()
	return k, nil
}

// Recipients returns the РЦОИ's encryption recipients, none when not
// loaded.
func (s *Station) Recipients() []string {
	_, texts, err := seal.LoadRecipients(s.Dir.Keys())
	if err != nil {
		return nil
	}
	return texts
}

// ImportRecipients loads the РЦОИ's encryption recipients (its key file),
// replacing earlier ones: the РЦОИ may rotate its keys.
func (s *Station) ImportRecipients(actor string, r io.Reader) ([]string, error) {
	texts, err := seal.ImportRecipients(s.Dir.Keys(), r)
	if err != nil {
		return nil, refuse("ключи РЦОИ", "это не файл ключей шифрования РЦОИ (%v): загрузите файл, выданный РЦОИ", err)
	}
	if _, err := s.Log.Append(audit.Event{Actor: actor, Action: audit.ActionKeyRecipients, After: jsonOf(map[string]any{"recipients": texts})}); err != nil {
		return texts, fmt.Errorf("ключи РЦОИ загружены, но журнал аудита не пишется: %w", err)
	}
	s.notify()
	return texts, nil
}
