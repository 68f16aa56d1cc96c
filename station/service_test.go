package station

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"
)

// A service that fails, or panics, is started again after a back-off and
// its restarts are counted; the others go on; all stop with the context.
func TestSupervisorRestartsFailingServices(t *testing.T) {
	sv := &Supervisor{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), MinBackoff: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	var fails, panics, steady atomic.Int32
	done := make(chan struct{})
	go func() {
		sv.Run(ctx,
			Service{Name: "failing", Run: func(ctx context.Context) error { fails.Add(1); return errors.New("нет связи") }},
			Service{Name: "panicking", Run: func(ctx context.Context) error { panics.Add(1); panic("сбой") }},
			Service{Name: "steady", Run: func(ctx context.Context) error { steady.Add(1); <-ctx.Done(); return nil }},
		)
		close(done)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for (fails.Load() < 3 || panics.Load() < 3) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	states := map[string]ServiceState{}
	for _, st := range sv.States() {
		states[st.Name] = st
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the supervisor did not stop with its context")
	}
	if fails.Load() < 3 || panics.Load() < 3 {
		t.Fatalf("restarts: failing %d, panicking %d; want 3 or more each", fails.Load(), panics.Load())
	}
	if steady.Load() != 1 || !states["steady"].Running {
		t.Errorf("the steady service was started %d times, state %+v", steady.Load(), states["steady"])
	}
	if states["failing"].Restarts < 2 || states["failing"].LastError != "нет связи" || states["panicking"].Restarts < 2 {
		t.Errorf("states: %+v", states)
	}
}
