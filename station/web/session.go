package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"sync"
	"time"

	"giascan/station/users"
)

// session is one signed-in person, kept on the server: the cookie holds
// only the random id, so signing out or expiry ends it for certain.
type session struct {
	id      string
	login   string
	role    users.Role
	csrf    string // the token every state-changing form must carry
	created time.Time
	seen    time.Time
	flash   string // a one-time message for the next page shown
}

// sessions holds the live sessions. Expired ones are dropped when met and
// on every sign-in, so no background goroutine is needed.
type sessions struct {
	mu   sync.Mutex
	m    map[string]*session
	idle time.Duration // ends a session left untouched this long
	max  time.Duration // ends any session this long after sign-in
}

func newSessions(idle, max time.Duration) *sessions {
	return &sessions{m: map[string]*session{}, idle: idle, max: max}
}

// randomToken returns 32 random bytes, URL-safe base64.
func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		// crypto/rand does not fail on Linux; a station that cannot draw
		// random numbers must not hand out guessable sessions.
		panic("web: crypto/rand: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *sessions) expired(x *session, now time.Time) bool {
	return now.Sub(x.seen) > s.idle || now.Sub(x.created) > s.max
}

// start creates a session for a person who just signed in.
func (s *sessions) start(u users.User, now time.Time) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, x := range s.m {
		if s.expired(x, now) {
			delete(s.m, id)
		}
	}
	x := &session{id: randomToken(), login: u.Login, role: u.Role, csrf: randomToken(), created: now, seen: now}
	s.m[x.id] = x
	return x
}

// lookupResult says why a cookie gives no session.
type lookupResult int

const (
	found lookupResult = iota
	missing
	expired
)

// get returns a copy of the session of id and marks it used.
func (s *sessions) get(id string, now time.Time) (session, lookupResult) {
	s.mu.Lock()
	defer s.mu.Unlock()
	x, ok := s.m[id]
	if !ok {
		return session{}, expired // unknown id: the server restarted or it was ended
	}
	if s.expired(x, now) {
		delete(s.m, id)
		return session{}, expired
	}
	x.seen = now
	return *x, found
}

// takeFlash returns and clears the session's one-time message.
func (s *sessions) takeFlash(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	x, ok := s.m[id]
	if !ok {
		return ""
	}
	f := x.flash
	x.flash = ""
	return f
}

func (s *sessions) setFlash(id, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if x, ok := s.m[id]; ok {
		x.flash = msg
	}
}

func (s *sessions) end(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
}

// tokenEqual compares tokens in constant time.
func tokenEqual(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// endUser ends every session of login: a disabled account is signed out
// at once.
func (s *sessions) endUser(login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, x := range s.m {
		if x.login == login {
			delete(s.m, id)
		}
	}
}
