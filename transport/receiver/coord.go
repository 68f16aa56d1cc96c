package receiver

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/tus/tusd/v2/pkg/handler"
)

// Coordinator is the state receivers must share to run side by side on
// one data folder: the table of unfinished uploads (their owner, declared
// size and last activity) and named locks. One receiver alone uses
// NewMemoryCoordinator; receivers behind one address share a database
// (transport/receiver/pgstate). Files, keys and accepted packages live in
// the shared data folder and store.
type Coordinator interface {
	// AddUpload records a new unfinished upload if the station stays
	// within the limits; otherwise it returns a *LimitError.
	AddUpload(ctx context.Context, u Pending, l Limits) error
	// Upload returns an unfinished upload; ok is false if it is unknown.
	Upload(ctx context.Context, id string) (u Pending, ok bool, err error)
	// Touch records that bytes of the upload arrived at t.
	Touch(ctx context.Context, id string, t time.Time) error
	// RemoveUpload forgets an upload: finished, refused or expired.
	RemoveUpload(ctx context.Context, id string) error
	// Idle lists the uploads last touched before cut.
	Idle(ctx context.Context, cut time.Time) ([]string, error)
	// Lock takes the lock of the given name, waiting until ctx is done,
	// and returns its release. A lock held by a receiver that dies is
	// released with it.
	Lock(ctx context.Context, name string) (unlock func(), err error)
}

// Pending is an unfinished upload as the coordinator records it.
type Pending struct {
	ID      string
	Key     string // the owning station's key, ed25519:…
	Size    int64
	Touched time.Time
}

// LimitError is a station over its limits.
type LimitError struct{ Msg string }

// Error is the sentence the station is shown.
func (e *LimitError) Error() string { return e.Msg }

// unlimited restores uploads found on disk, which were admitted before.
var unlimited = Limits{ActivePerStation: math.MaxInt, DeclaredPerStation: math.MaxInt64}

// checkLimits is the limits rule for coordinators: n unfinished uploads
// declaring declared bytes, plus one of size.
func checkLimits(l Limits, n int, declared, size int64) error {
	if n >= l.active() {
		return &LimitError{fmt.Sprintf("у станции уже %d незавершённых загрузок — это предел; дождитесь их окончания или истечения срока (%s)", n, l.ttl())}
	}
	if declared+size > l.declared() {
		return &LimitError{fmt.Sprintf("незавершённые загрузки станции заявляют %d байт, а предел %d; дождитесь окончания начатых", declared+size, l.declared())}
	}
	return nil
}

// CheckLimits exposes the limits rule to other coordinators.
func CheckLimits(l Limits, n int, declared, size int64) error {
	return checkLimits(l, n, declared, size)
}

// memCoord is the coordinator of a receiver that runs alone.
type memCoord struct {
	mu    sync.Mutex
	m     map[string]Pending
	locks map[string]chan struct{}
}

// NewMemoryCoordinator keeps the shared state in this process.
func NewMemoryCoordinator() Coordinator {
	return &memCoord{m: map[string]Pending{}, locks: map[string]chan struct{}{}}
}

func (c *memCoord) AddUpload(ctx context.Context, u Pending, l Limits) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, declared := 0, int64(0)
	for _, p := range c.m {
		if p.Key == u.Key {
			n++
			declared += p.Size
		}
	}
	if err := checkLimits(l, n, declared, u.Size); err != nil {
		return err
	}
	c.m[u.ID] = u
	return nil
}

func (c *memCoord) Upload(ctx context.Context, id string) (Pending, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	u, ok := c.m[id]
	return u, ok, nil
}

func (c *memCoord) Touch(ctx context.Context, id string, t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if u, ok := c.m[id]; ok {
		u.Touched = t
		c.m[id] = u
	}
	return nil
}

func (c *memCoord) RemoveUpload(ctx context.Context, id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, id)
	return nil
}

func (c *memCoord) Idle(ctx context.Context, cut time.Time) ([]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for id, u := range c.m {
		if u.Touched.Before(cut) {
			out = append(out, id)
		}
	}
	return out, nil
}

func (c *memCoord) Lock(ctx context.Context, name string) (func(), error) {
	c.mu.Lock()
	ch := c.locks[name]
	if ch == nil {
		ch = make(chan struct{}, 1)
		c.locks[name] = ch
	}
	c.mu.Unlock()
	select {
	case ch <- struct{}{}:
		// Once: a second call must not release a later holder's lock.
		var once sync.Once
		return func() { once.Do(func() { <-ch }) }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// tusLocker gives tus the coordinator's locks, so that two receivers never
// write one upload at once. A request that finds the upload locked by
// another request of this receiver asks it to let go, as tus's own
// memory locker does: that is a station resuming over a dead connection.
type tusLocker struct {
	c Coordinator

	mu      sync.Mutex
	release map[string]func() // requestUnlock of the local holder, by upload
}

func (l *tusLocker) NewLock(id string) (handler.Lock, error) {
	return &tusLock{l: l, id: id}, nil
}

type tusLock struct {
	l      *tusLocker
	id     string
	unlock func()
}

func (k *tusLock) Lock(ctx context.Context, requestUnlock func()) error {
	l := k.l
	l.mu.Lock()
	if ask := l.release[k.id]; ask != nil {
		ask()
	}
	l.mu.Unlock()
	unlock, err := l.c.Lock(ctx, "upload/"+k.id)
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return handler.ErrLockTimeout
		}
		return err
	}
	l.mu.Lock()
	if l.release == nil {
		l.release = map[string]func(){}
	}
	l.release[k.id] = requestUnlock
	l.mu.Unlock()
	k.unlock = unlock
	return nil
}

func (k *tusLock) Unlock() error {
	l := k.l
	l.mu.Lock()
	delete(l.release, k.id)
	l.mu.Unlock()
	if k.unlock != nil {
		k.unlock()
		k.unlock = nil
	}
	return nil
}
