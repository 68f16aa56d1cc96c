package web

import (
	"context"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"

	"giascan/hardware"
	"giascan/station/ops"
	"giascan/station/reconcile"
	"giascan/station/store"
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

// scanProgress answers the scanning screen's poll with how far the
// auditorium is: pages of each blank type against what is expected — the
// confirmed ППЭ-13-02-МАШ, or before it the kits the exam plans.
func (s *Server) scanProgress(c echo.Context) error {
	ppe, aud, ok := strings.Cut(c.QueryParam("place"), "/")
	if !ok || !fourDigits.MatchString(ppe) || !fourDigits.MatchString(aud) {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	rep, err := ops.Report(s.cfg.Store)
	if err != nil {
		return err
	}
	a := ops.FindAuditorium(rep, store.Place{PPE: ppe, Auditorium: aud})
	if a == nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	type row struct {
		Name  string `json:"name"`
		Label string `json:"label"`
		Over  bool   `json:"over"`
	}
	var x reconcile.Counts
	has, basis := a.Expected != nil, "по форме ППЭ-13-02-МАШ"
	if has {
		x = *a.Expected
	} else if ex, err := s.cfg.Store.Exam(); err == nil {
		if pa := ex.FindAuditorium(ppe, aud); pa != nil && len(pa.Kits) > 0 {
			n := len(pa.Kits)
			x = reconcile.Counts{BO1: n, BO2S1: n, BO2S2: n}
			has, basis = true, "по плану рассадки (форма ППЭ-13-02-МАШ ещё не подтверждена)"
		}
	}
	out := struct {
		Basis string `json:"basis"`
		Rows  []row  `json:"rows"`
	}{Basis: basis}
	if !has {
		out.Basis = "ожидаемое число листов неизвестно: нет плана рассадки и формы ППЭ-13-02-МАШ"
	}
	for _, b := range []barView{
		bar("БО №1", a.Scanned.BO1, x.BO1, has),
		bar("БО №2 лист 1", a.Scanned.BO2S1, x.BO2S1, has),
		bar("БО №2 лист 2", a.Scanned.BO2S2, x.BO2S2, has),
	} {
		out.Rows = append(out.Rows, row{Name: b.Name, Label: b.Label, Over: b.Over})
	}
	return c.JSON(http.StatusOK, out)
}
