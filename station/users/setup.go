package users

import (
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"

	"giascan/atomicfile"
	"giascan/station/layout"
)

// The first start: a data folder with no accounts has no default password
// either. Instead the daemon makes a one-time code, prints it where it was
// started and keeps it in a 0600 file of the data folder, so only someone
// at the station's console (or with its files) can create the first
// administrator in the browser. The code is gone once that account exists.

// SetupCodePath is the file holding the one-time code of the first start.
func (db *DB) SetupCodePath() string {
	return filepath.Join(filepath.Dir(db.path), layout.SetupCode)
}

// SetupCode returns the one-time code of the first start, making it if
// needed; needed is false (and no code made) once any account exists.
func (db *DB) SetupCode() (code string, needed bool, err error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	f, err := db.load()
	if err != nil {
		return "", false, err
	}
	if len(f.Users) > 0 {
		return "", false, nil
	}
	if b, err := os.ReadFile(db.SetupCodePath()); err == nil {
		if c := strings.TrimSpace(string(b)); len(c) == len(setupFormat) {
			return c, true, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", false, fmt.Errorf("код первого запуска %s не читается: %w", db.SetupCodePath(), err)
	}
	c, err := newSetupCode()
	if err != nil {
		return "", false, err
	}
	if err := os.MkdirAll(filepath.Dir(db.path), 0o750); err != nil {
		return "", false, fmt.Errorf("папка данных %s не создаётся: %w", filepath.Dir(db.path), err)
	}
	if err := atomicfile.WriteFile(db.SetupCodePath(), []byte(c+"\n"), 0o600); err != nil {
		return "", false, fmt.Errorf("код первого запуска не записан: %w", err)
	}
	return c, true, nil
}

// setupFormat is the shape of a code: twelve digits in groups of four, to
// be read off one screen and typed on another (about 40 bits; sign-in
// limits per address bound the guessing).
const setupFormat = "0000-0000-0000"

func newSetupCode() (string, error) {
	var b strings.Builder
	for _, ch := range setupFormat {
		if ch == '-' {
			b.WriteByte('-')
			continue
		}
		n, err := rand.Int(rand.Reader, big.NewInt(10))
		if err != nil {
			return "", fmt.Errorf("код первого запуска: %w", err)
		}
		b.WriteByte(byte('0' + n.Int64()))
	}
	return b.String(), nil
}

// normalizeSetupCode keeps only the digits a person typed and groups them.
func normalizeSetupCode(s string) string {
	var d []byte
	for _, r := range s {
		if r >= '0' && r <= '9' {
			d = append(d, byte(r))
		}
	}
	if len(d) != 12 {
		return string(d)
	}
	return string(d[0:4]) + "-" + string(d[4:8]) + "-" + string(d[8:12])
}

// AddFirstAdmin creates the station's first account, an administrator,
// when code is the first start's one-time code and there is no account
// yet; the code is then removed. Everything else is refused with a
// sentence saying what to do.
func (db *DB) AddFirstAdmin(code, login, password string, now time.Time) (User, error) {
	if err := CheckLogin(login); err != nil {
		return User{}, err
	}
	if err := CheckPassword(password); err != nil {
		return User{}, err
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	f, err := db.load()
	if err != nil {
		return User{}, err
	}
	if len(f.Users) > 0 {
		return User{}, refuse("учётные записи уже созданы: войдите под своей, новые добавляет администратор")
	}
	want, err := os.ReadFile(db.SetupCodePath())
	if err != nil || subtle.ConstantTimeCompare([]byte(normalizeSetupCode(code)), []byte(strings.TrimSpace(string(want)))) != 1 {
		return User{}, refuse("код первого запуска неверен: он напечатан в окне, где запущена служба станции, и лежит в файле %s", db.SetupCodePath())
	}
	u, err := db.addLocked(login, Admin, password, now)
	if err != nil {
		return User{}, err
	}
	if err := os.Remove(db.SetupCodePath()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return u, fmt.Errorf("код первого запуска не удалён: %w", err)
	}
	return u, nil
}
