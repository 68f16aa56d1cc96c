package web

import (
	"context"
	"net/http"
	"sort"
	"sync"

	"github.com/labstack/echo/v4"

	"giascan/hardware"
)

// liveDevices is the scanners discovery sees now, kept up to date by a
// watcher the server owns: plugging a USB scanner in or switching a
// network one on shows on the scanning screen within seconds, and the
// page opens without waiting for a look-up.
type liveDevices struct {
	mu     sync.Mutex
	found  map[string]hardware.Device // by spec
	cancel context.CancelFunc
	done   chan struct{}
}

// watchDevices starts the watcher; stop ends it and waits for it.
func watchDevices() *liveDevices {
	ctx, cancel := context.WithCancel(context.Background())
	l := &liveDevices{found: map[string]hardware.Device{}, cancel: cancel, done: make(chan struct{})}
	events := hardware.Watch(ctx)
	go func() { // owned by l: ends when stop cancels ctx and Watch closes
		defer close(l.done)
		for ev := range events {
			if ev.Device.Spec == "" {
				continue
			}
			l.mu.Lock()
			switch ev.Kind {
			case hardware.Added:
				l.found[ev.Device.Spec] = ev.Device
			case hardware.Removed:
				delete(l.found, ev.Device.Spec)
			}
			l.mu.Unlock()
		}
	}()
	return l
}

func (l *liveDevices) stop() {
	if l == nil {
		return
	}
	l.cancel()
	<-l.done
}

// list returns the devices seen now, by adapter and name.
func (l *liveDevices) list() []hardware.Device {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]hardware.Device, 0, len(l.found))
	for _, d := range l.found {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Adapter != out[j].Adapter {
			return out[i].Adapter < out[j].Adapter
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// scanDevices answers the scanning screen's poll with the scanners it
// may offer now.
func (s *Server) scanDevices(c echo.Context) error {
	type choice struct {
		Spec string `json:"spec"`
		Name string `json:"name"`
	}
	var out []choice
	for _, d := range s.devices(c.Request().Context()) {
		out = append(out, choice{Spec: d.Spec, Name: d.Name})
	}
	return c.JSON(http.StatusOK, out)
}
