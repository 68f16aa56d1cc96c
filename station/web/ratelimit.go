package web

import (
	"strings"
	"sync"
	"time"
)

// limiter counts failed sign-ins per key (a login or an address) in a
// sliding window and refuses further attempts once max is reached, which
// makes guessing a password over the network impractical.
type limiter struct {
	mu     sync.Mutex
	window time.Duration
	max    int
	fails  map[string][]time.Time
}

func newLimiter(max int, window time.Duration) *limiter {
	return &limiter{window: window, max: max, fails: map[string][]time.Time{}}
}

// prune drops failures older than the window; the caller holds mu.
func (l *limiter) prune(key string, now time.Time) []time.Time {
	f := l.fails[key]
	i := 0
	for i < len(f) && now.Sub(f[i]) >= l.window {
		i++
	}
	f = f[i:]
	if len(f) == 0 {
		delete(l.fails, key)
		return nil
	}
	l.fails[key] = f
	return f
}

// blocked tells whether key may not try now, and for how long.
func (l *limiter) blocked(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.prune(key, now)
	if len(f) < l.max {
		return false, 0
	}
	return true, l.window - now.Sub(f[len(f)-l.max])
}

// fail records a failed attempt by key.
func (l *limiter) fail(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.prune(key, now)
	l.fails[key] = append(l.fails[key], now)
	// Bound memory against a flood of made-up logins: forget the oldest
	// keys' history wholesale rather than grow without limit.
	if len(l.fails) > 10000 {
		for k := range l.fails {
			l.prune(k, now)
		}
	}
}

// reset forgets key's failures after a successful sign-in.
func (l *limiter) reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.fails, key)
}

// resetPrefix forgets the failures of every key starting with prefix: an
// administrator unlocking a login unlocks it from every address.
func (l *limiter) resetPrefix(prefix string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for k := range l.fails {
		if strings.HasPrefix(k, prefix) {
			delete(l.fails, k)
			n++
		}
	}
	return n
}
