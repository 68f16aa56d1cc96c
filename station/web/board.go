package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"giascan/station/users"
)

// boardRecheck is how often the live board looks at the data folder
// without being woken: pages another process stores (a scan from the
// command line, the daemon's services) wake nobody here.
const boardRecheck = 3 * time.Second

func (s *Server) registerBoard(in *echo.Group) {
	in.GET("/board/events", s.boardEvents, s.allow(users.ViewBoard))
}

// isClosed tells whether the server is closing: streams end.
func (d *scanDesk) isClosed() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.closed
}

// startSSE answers with a server-sent event stream that outlives the
// server's write timeout.
func startSSE(c echo.Context) *echo.Response {
	w := c.Response()
	http.NewResponseController(w.Writer).SetWriteDeadline(time.Time{})
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	w.Flush()
	return w
}

// boardSignature is what the board shows apart from the clock: the live
// board is sent again only when it changes.
func boardSignature(v boardView) string {
	v.Generated = ""
	ppe := make([]ppeView, len(v.PPE))
	for i, p := range v.PPE {
		if p.Deadline != nil {
			d := *p.Deadline
			d.Left = ""
			p.Deadline = &d
		}
		ppe[i] = p
	}
	v.PPE = ppe
	b, _ := json.Marshal(v)
	return string(b)
}

// liveBoard is the board with the station's clock, which the countdown
// follows rather than the browser's.
type liveBoard struct {
	boardView
	Now int64 // Unix milliseconds
}

// boardUpdate is one event of the live board: the board's new HTML and the
// station's clock, which the countdown follows rather than the browser's.
type boardUpdate struct {
	HTML string `json:"html"`
	Now  int64  `json:"now"`
}

// boardEvents streams the board as server-sent events: the whole board
// again whenever it changes — a closing, a seal, a receipt, an exam
// imported, pages scanned. It wakes at every lifecycle change of the
// station and every page of a web scan, and looks again every few
// seconds for what other processes did.
func (s *Server) boardEvents(c echo.Context) error {
	sess := sessionOf(c)
	w := startSSE(c)
	ctx := c.Request().Context()
	tick := time.NewTicker(boardRecheck)
	defer tick.Stop()
	ping := time.NewTicker(15 * time.Second)
	defer ping.Stop()
	last := ""
	var built time.Time
	for {
		// A scan wakes the board at every page: once a second is enough.
		if wait := time.Second - time.Since(built); wait > 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(wait):
			}
		}
		built = time.Now()
		changed := s.cfg.App.Changed()
		_, _, scanned := s.desk.since(1 << 30)
		b, err := s.buildBoard()
		if err != nil {
			s.logger.Warn("live board", "err", err)
		} else if sig := boardSignature(b); sig != last {
			var html bytes.Buffer
			d := pageData{Title: "Ход экзамена", Session: &sess, Data: liveBoard{b, s.now().UnixMilli()}, CanImport: users.Can(sess.role, users.ImportExam)}
			if err := s.pages["board"].ExecuteTemplate(&html, "board-live", d); err != nil {
				return fmt.Errorf("web: live board: %w", err)
			}
			msg, _ := json.Marshal(boardUpdate{HTML: html.String(), Now: s.now().UnixMilli()})
			if _, err := fmt.Fprintf(w, "event: board\ndata: %s\n\n", msg); err != nil {
				return nil
			}
			w.Flush()
			last = sig
		}
		if s.desk.isClosed() {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		case <-scanned:
		case <-tick.C:
		case <-ping.C:
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil {
				return nil
			}
			w.Flush()
		}
	}
}
