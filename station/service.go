package station

import (
	"context"
	"errors"
	"fmt"
	"giascan/station/store"
	"log/slog"
	"sort"
	"sync"
	"time"
)

// Service is one of the daemon's long-running jobs. Run returns nil when
// ctx ends; an error makes the supervisor start it again after a wait.
type Service struct {
	Name string
	Run  func(ctx context.Context) error
}

// ServiceState is what a service is doing, for the board and the logs.
type ServiceState struct {
	Name      string    `json:"name"`
	Running   bool      `json:"running"`
	Restarts  int       `json:"restarts"`
	LastError string    `json:"last_error,omitempty"`
	Since     time.Time `json:"since"`
}

// Supervisor runs services under one lifetime, restarting each that fails
// with a back-off that doubles from MinBackoff up to MaxBackoff.
type Supervisor struct {
	Logger     *slog.Logger
	MinBackoff time.Duration // 0: 1 s
	MaxBackoff time.Duration // 0: 1 min

	mu     sync.Mutex
	states map[string]*ServiceState
}

// Run runs every service until ctx ends and all of them have returned.
func (sv *Supervisor) Run(ctx context.Context, services ...Service) {
	var wg sync.WaitGroup
	for _, s := range services {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sv.keep(ctx, s)
		}()
	}
	wg.Wait()
}

func (sv *Supervisor) set(name string, f func(*ServiceState)) {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	if sv.states == nil {
		sv.states = map[string]*ServiceState{}
	}
	st := sv.states[name]
	if st == nil {
		st = &ServiceState{Name: name}
		sv.states[name] = st
	}
	f(st)
}

func (sv *Supervisor) keep(ctx context.Context, s Service) {
	lg := sv.Logger
	if lg == nil {
		lg = slog.Default()
	}
	minB, maxB := sv.MinBackoff, sv.MaxBackoff
	if minB == 0 {
		minB = time.Second
	}
	if maxB == 0 {
		maxB = time.Minute
	}
	backoff := time.Duration(0)
	for {
		sv.set(s.Name, func(st *ServiceState) { st.Running, st.Since = true, time.Now() })
		lg.Info("service started", "service", s.Name)
		err := runSafe(ctx, s)
		sv.set(s.Name, func(st *ServiceState) { st.Running, st.Since = false, time.Now() })
		if ctx.Err() != nil {
			lg.Info("service stopped", "service", s.Name)
			return
		}
		if err == nil {
			err = errors.New("остановилась без ошибки")
		}
		backoff = min(max(2*backoff, minB), maxB)
		sv.set(s.Name, func(st *ServiceState) { st.Restarts++; st.LastError = err.Error() })
		lg.Error("service failed, restarting", "service", s.Name, "err", err, "after", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
	}
}

// runSafe runs a service, turning a panic into an error so that one
// failing service does not take the daemon and its pages down.
func runSafe(ctx context.Context, s Service) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("сбой службы %s: %v", s.Name, r)
		}
	}()
	return s.Run(ctx)
}

// States returns the state of every service, by name.
func (sv *Supervisor) States() []ServiceState {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	out := make([]ServiceState, 0, len(sv.states))
	for _, st := range sv.states {
		out = append(out, *st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// RunSealer is the daemon's sealing service: every closed auditorium
// whose package is missing or older than its closing is sealed, and so is
// the closing set of every ППЭ signed off since its last seal. It covers a
// crash between closing and sealing, and keys that arrive late.
func (s *Station) RunSealer(ctx context.Context) error {
	for {
		changed := s.Changed()
		if err := s.sealPending(ctx); err != nil && ctx.Err() == nil {
			s.logger.Warn("sealing pending packages", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		case <-time.After(10 * time.Second):
		}
	}
}

func (s *Station) sealPending(ctx context.Context) error {
	life, err := s.Life()
	if errors.Is(err, store.ErrNoExam) {
		return nil // a station on its first start: nothing can be closed yet
	}
	if err != nil {
		return err
	}
	for _, p := range life {
		for _, a := range p.Auditoriums {
			if a.State != StateClosed {
				continue
			}
			if _, err := s.Seal(ctx, placeOf(p.PPE, a.Auditorium), ""); err != nil {
				return fmt.Errorf("аудитория %s ППЭ %s: %w", a.Auditorium, p.PPE, err)
			}
		}
		if p.State == StateSigned {
			if _, err := s.SealClosing(ctx, p.PPE, ""); err != nil {
				return fmt.Errorf("пакет ППЭ %s: %w", p.PPE, err)
			}
		}
	}
	return nil
}
