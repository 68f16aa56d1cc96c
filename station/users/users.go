// Package users keeps the people who may sign in to the station's web
// interface: their logins, roles and argon2id password hashes, in the file
// users.json of the data folder. There is no default user and no default
// password: the first administrator is created in the browser with a
// one-time code the daemon prints (setup.go); then the administrator adds
// every other account, in the browser or with `station user add`.
package users

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"giascan/atomicfile"
	"giascan/station/layout"
	"giascan/station/refusal"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// FileName is the users file in the data folder.
const FileName = layout.UsersFile

// MinPassword is the shortest password accepted, in characters.
const MinPassword = 10

// maxPassword bounds the work one sign-in attempt can cause.
const maxPassword = 256

// InputError refuses an account change for its input; nothing was written.
// Its text is one Russian sentence saying what to do.
type InputError = refusal.Error

func refuse(format string, a ...any) error { return refusal.New("", format, a...) }

// IsInput tells whether err refuses the input (as opposed to a failed write).
func IsInput(err error) bool {
	var ie *InputError
	return errors.As(err, &ie)
}

// User is one account.
type User struct {
	Login   string    `json:"login"`
	Role    Role      `json:"role"`
	Hash    string    `json:"hash"` // PHC string: $argon2id$v=19$m=…,t=…,p=…$salt$key
	Created time.Time `json:"created"`
	// Disabled accounts cannot sign in; they stay for the audit log's
	// sake, which names them.
	Disabled bool `json:"disabled,omitempty"`
}

// file is the shape of users.json.
type file struct {
	Version int    `json:"version"`
	Users   []User `json:"users"`
}

// Params are the argon2id cost parameters of new hashes. Each hash carries
// its own, so raising them later leaves old hashes valid.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
}

// DefaultParams follow the second recommendation of RFC 9106 (64 MiB,
// 3 passes), sized for a station PC that checks a few sign-ins a minute.
var DefaultParams = Params{Memory: 64 * 1024, Time: 3, Threads: 2}

const (
	saltLen = 16
	keyLen  = 32
)

// DB is the users file of one data folder. It reads the file on every
// lookup so that accounts added from the command line while the web server
// runs take effect at once.
type DB struct {
	path string
	// Params are used for new hashes; tests lower them.
	Params Params
	mu     sync.Mutex // serialises writers within the process
}

// Open returns the users file of data folder dir; the file need not exist.
func Open(dir string) *DB {
	return &DB{path: filepath.Join(dir, FileName), Params: DefaultParams}
}

// Path returns the users file's path.
func (db *DB) Path() string { return db.path }

func (db *DB) load() (file, error) {
	var f file
	data, err := os.ReadFile(db.path)
	if errors.Is(err, os.ErrNotExist) {
		return file{Version: 1}, nil
	}
	if err != nil {
		return f, fmt.Errorf("файл пользователей %s не читается: %w", db.path, err)
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return f, fmt.Errorf("файл пользователей %s повреждён (%v): восстановите его из резервной копии или создайте пользователей заново", db.path, err)
	}
	return f, nil
}

// List returns the accounts sorted by login.
func (db *DB) List() ([]User, error) {
	f, err := db.load()
	if err != nil {
		return nil, err
	}
	sort.Slice(f.Users, func(i, j int) bool { return f.Users[i].Login < f.Users[j].Login })
	return f.Users, nil
}

// Find returns the account of login; ok is false when there is none.
func (db *DB) Find(login string) (User, bool, error) {
	f, err := db.load()
	if err != nil {
		return User{}, false, err
	}
	for _, u := range f.Users {
		if u.Login == login {
			return u, true, nil
		}
	}
	return User{}, false, nil
}

// CheckLogin refuses a login that is not 2–32 of a–z, 0–9, '.', '_', '-'
// starting with a letter: logins end up in the audit log and in file names.
func CheckLogin(login string) error {
	ok := len(login) >= 2 && len(login) <= 32 && login[0] >= 'a' && login[0] <= 'z' &&
		strings.Trim(login, "abcdefghijklmnopqrstuvwxyz0123456789._-") == ""
	if !ok {
		return refuse("логин %q не подходит: нужны от 2 до 32 строчных латинских букв, цифр, «.», «_» или «-», первой — буква", login)
	}
	return nil
}

// CheckPassword refuses a password shorter than MinPassword characters.
func CheckPassword(pw string) error {
	n := utf8.RuneCountInString(pw)
	if n < MinPassword {
		return refuse("пароль слишком короткий (%d симв.): нужно не меньше %d символов", n, MinPassword)
	}
	if len(pw) > maxPassword {
		return refuse("пароль слишком длинный: не больше %d байт", maxPassword)
	}
	return nil
}

// Add creates an account. It refuses a bad login, an unknown role, a short
// password and a login already taken.
func (db *DB) Add(login string, role Role, password string, now time.Time) (User, error) {
	if err := CheckLogin(login); err != nil {
		return User{}, err
	}
	if !role.Valid() {
		return User{}, refuse("роль %q неизвестна: выберите одну из %s", string(role), RoleList())
	}
	if err := CheckPassword(password); err != nil {
		return User{}, err
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.addLocked(login, role, password, now)
}

// addLocked adds a checked account; db.mu is held.
func (db *DB) addLocked(login string, role Role, password string, now time.Time) (User, error) {
	f, err := db.load()
	if err != nil {
		return User{}, err
	}
	for _, u := range f.Users {
		if u.Login == login {
			return User{}, refuse("пользователь %q уже есть: выберите другой логин", login)
		}
	}
	hash, err := HashPassword(password, db.Params)
	if err != nil {
		return User{}, err
	}
	u := User{Login: login, Role: role, Hash: hash, Created: now.UTC().Truncate(time.Second)}
	f.Version = 1
	f.Users = append(f.Users, u)
	if err := db.write(f); err != nil {
		return User{}, err
	}
	return u, nil
}

// write replaces the file atomically: a crash leaves the old file or the
// new one, never half of one. The file is 0600: it holds password hashes.
func (db *DB) write(f file) error {
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("users: encode: %w", err)
	}
	dir := filepath.Dir(db.path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("папка данных %s не создаётся: %w", dir, err)
	}
	if err := atomicfile.WriteFile(db.path, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("файл пользователей не записан: %w", err)
	}
	return nil
}

// dummyHash is checked against when the login is unknown, so that an
// unknown login takes as long as a wrong password and does not show which
// logins exist.
var dummyHash = sync.OnceValue(func() string {
	h, _ := HashPassword("no such user, no such password", DefaultParams)
	return h
})

// Authenticate returns the account when password is its password. ok is
// false for an unknown login or a wrong password alike.
func (db *DB) Authenticate(login, password string) (u User, ok bool, err error) {
	if len(password) > maxPassword {
		return User{}, false, nil
	}
	u, found, err := db.Find(login)
	if err != nil {
		return User{}, false, err
	}
	if !found {
		VerifyPassword(password, dummyHash())
		return User{}, false, nil
	}
	if !VerifyPassword(password, u.Hash) || u.Disabled {
		return User{}, false, nil
	}
	return u, true, nil
}

// update changes one account under the lock.
func (db *DB) update(login string, change func(*User) error) (User, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	f, err := db.load()
	if err != nil {
		return User{}, err
	}
	for i := range f.Users {
		if f.Users[i].Login == login {
			if err := change(&f.Users[i]); err != nil {
				return User{}, err
			}
			return f.Users[i], db.write(f)
		}
	}
	return User{}, refuse("пользователя %q нет: проверьте логин", login)
}

// SetPassword gives an account a new password.
func (db *DB) SetPassword(login, password string) (User, error) {
	if err := CheckPassword(password); err != nil {
		return User{}, err
	}
	hash, err := HashPassword(password, db.Params)
	if err != nil {
		return User{}, err
	}
	return db.update(login, func(u *User) error { u.Hash = hash; return nil })
}

// SetDisabled disables or enables an account. The last enabled
// administrator is never disabled: nobody could manage accounts then.
func (db *DB) SetDisabled(login string, disabled bool) (User, error) {
	if disabled {
		list, err := db.List()
		if err != nil {
			return User{}, err
		}
		admins := 0
		for _, u := range list {
			if u.Role == Admin && !u.Disabled && u.Login != login {
				admins++
			}
		}
		for _, u := range list {
			if u.Login == login && u.Role == Admin && admins == 0 {
				return User{}, refuse("%s — последний действующий администратор: без него некому будет управлять учётными записями", login)
			}
		}
	}
	return db.update(login, func(u *User) error { u.Disabled = disabled; return nil })
}

// HashPassword returns the argon2id hash of password with a fresh random
// salt, as a PHC string that carries its parameters.
func HashPassword(password string, p Params) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("users: salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, keyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// VerifyPassword tells whether password matches hash. A malformed hash, or
// one with absurd parameters, never matches.
func VerifyPassword(password, hash string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return false
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return false
	}
	var p Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return false
	}
	// Bounds keep a tampered file from making one sign-in take minutes.
	if p.Memory < 8 || p.Memory > 1<<20 || p.Time < 1 || p.Time > 16 || p.Threads < 1 {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) == 0 || len(want) > 64 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}
