package receiver

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"giascan/transport/seal"
	"giascan/transport/stationauth"
)

// People are the accounts of the РЦОИ's staff, who see the board, the
// status and the exam. The receiver asks only whether a login and password
// match; the accounts file and its hashes belong to the implementation.
type People interface {
	Authenticate(login, password string) (bool, error)
}

// ErrNotStation means a request is not signed by a registered station.
var ErrNotStation = errors.New("not a registered station")

// authStation returns the registered station that signed req.
func (r *Receiver) authStation(req *http.Request) (Station, error) {
	pub, err := stationauth.Verify(req, r.now())
	if err != nil {
		return Station{}, fmt.Errorf("%w: запрос не подписан ключом станции (%v)", ErrNotStation, err)
	}
	key := seal.FormatPublicKey(pub)
	stations, err := LoadStations(r.dir)
	if err != nil {
		return Station{}, err
	}
	for _, s := range stations {
		if s.Key == key {
			return s, nil
		}
	}
	return Station{}, fmt.Errorf("%w: ключ станции %s (отпечаток %s) не зарегистрирован в РЦОИ; зарегистрируйте станцию", ErrNotStation, key, seal.Fingerprint(pub))
}

// peopleCache remembers good sign-ins for a while: the password hash is
// deliberately slow, and the board asks every few seconds.
type peopleCache struct {
	mu sync.Mutex
	ok map[[32]byte]time.Time
	// checking bounds the password checks running at once: each may take
	// tens of megabytes, and anyone can ask for one.
	checking chan struct{}
}

// PasswordChecks is how many staff password checks run at once.
const PasswordChecks = 2

const peopleCacheFor = 5 * time.Minute

// authPerson reports whether req carries the login and password of an
// account.
func (r *Receiver) authPerson(req *http.Request) (bool, error) {
	login, password, ok := req.BasicAuth()
	if !ok || r.People == nil {
		return false, nil
	}
	k := sha256.Sum256([]byte(login + "\x00" + password))
	c := &r.people
	c.mu.Lock()
	until, hit := c.ok[k]
	c.mu.Unlock()
	if hit && r.now().Before(until) {
		return true, nil
	}
	c.mu.Lock()
	if c.checking == nil {
		c.checking = make(chan struct{}, PasswordChecks)
	}
	sem := c.checking
	c.mu.Unlock()
	select {
	case sem <- struct{}{}:
	case <-req.Context().Done():
		return false, nil
	}
	good, err := r.People.Authenticate(login, password)
	<-sem
	if err != nil || !good {
		return false, err
	}
	c.mu.Lock()
	if c.ok == nil || len(c.ok) > 1000 {
		c.ok = map[[32]byte]time.Time{}
	}
	c.ok[k] = r.now().Add(peopleCacheFor)
	c.mu.Unlock()
	return true, nil
}

// person lets only the РЦОИ's staff through.
func (r *Receiver) person(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		ok, err := r.authPerson(req)
		if err != nil {
			http.Error(w, "учётные записи не читаются: "+err.Error(), http.StatusInternalServerError)
			return
		}
		if !ok {
			askLogin(w)
			return
		}
		next(w, req)
	}
}

func askLogin(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Basic realm="giascan RCOI", charset="UTF-8"`)
	http.Error(w, "войдите под учётной записью сотрудника РЦОИ (её создаёт администратор приёмника)", http.StatusUnauthorized)
}

// who is the caller of an endpoint open to stations and staff: a station
// (its ППЭ in station) or a person (ok, station zero).
func (r *Receiver) who(w http.ResponseWriter, req *http.Request) (station Station, ok bool) {
	if req.Header.Get("Authorization") != "" && !isBasic(req) {
		st, err := r.authStation(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return Station{}, false
		}
		return st, true
	}
	good, err := r.authPerson(req)
	if err != nil {
		http.Error(w, "учётные записи не читаются: "+err.Error(), http.StatusInternalServerError)
		return Station{}, false
	}
	if !good {
		askLogin(w)
		return Station{}, false
	}
	return Station{}, true
}

func isBasic(req *http.Request) bool {
	_, _, ok := req.BasicAuth()
	return ok
}
