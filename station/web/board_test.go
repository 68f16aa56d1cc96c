package web

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"giascan/station/exam"
	"giascan/station/store"
)

// boardStream reads the live board's events, calling on for each until it
// returns true or the time is up.
func (c *client) boardStream(timeout time.Duration, on func(boardUpdate) bool) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", c.f.http.URL+"/board/events", nil)
	r, err := c.c.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer r.Body.Close()
	if ct := r.Header.Get("Content-Type"); r.StatusCode != http.StatusOK || ct != "text/event-stream" {
		c.t.Fatalf("board events: %d %s", r.StatusCode, ct)
	}
	sc := bufio.NewScanner(r.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var u boardUpdate
		if err := json.Unmarshal([]byte(data), &u); err != nil {
			c.t.Fatalf("board event %q: %v", data, err)
		}
		if on(u) {
			return
		}
	}
	c.t.Fatalf("board stream ended early: %v", sc.Err())
}

func importExam(t *testing.T, f *fixture, file string) {
	t.Helper()
	ex, err := exam.Parse([]byte(file))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.app.ImportExam("head", ex, "exam.json", ""); err != nil {
		t.Fatal(err)
	}
}

// The board's stream sends the board at once, again when the station
// changes (an exam imported), and again when another process changes the
// data folder (a closing written to the store); the clock alone sends
// nothing.
func TestBoardStreamFollowsTheStation(t *testing.T) {
	f := newFixture(t)
	c := f.client(t)
	c.mustSignIn("oper")
	var got []string
	var at []time.Time
	c.boardStream(20*time.Second, func(u boardUpdate) bool {
		got = append(got, u.HTML)
		at = append(at, time.Now())
		switch len(got) {
		case 1:
			if u.Now != f.clock.now().UnixMilli() {
				t.Errorf("the event's clock %d is not the station's %d", u.Now, f.clock.now().UnixMilli())
			}
			f.clock.add(time.Minute) // only the countdown changes: nothing to send
			importExam(t, f, examFile)
		case 2:
			if err := f.st.SetClosure(store.Closure{Place: store.Place{PPE: "0202", Auditorium: "0001"}, By: "head", At: time.Now()}); err != nil {
				t.Fatal(err)
			}
		}
		return len(got) == 3
	})
	if !strings.Contains(got[0], "Экзамен не импортирован") || strings.Contains(got[0], "<html") {
		t.Errorf("first event is not the board without an exam:\n%s", got[0])
	}
	if !strings.Contains(got[1], `id="ppe-0101"`) || !strings.Contains(got[1], "data-deadline") || strings.Contains(got[1], `st-closed" id="aud-0001"`) {
		t.Errorf("second event is not the imported exam's board:\n%s", got[1])
	}
	if d := at[1].Sub(at[0]); d > 2500*time.Millisecond {
		t.Errorf("the import reached the board after %s; it wakes the stream at once", d)
	}
	if !strings.Contains(got[2], `st-closed" id="aud-0001"`) {
		t.Errorf("third event does not show 0001 closed:\n%s", got[2])
	}
}

// TestBrowserBoardUpdatesLive keeps the board open in headless Chromium
// while the exam is imported and an auditorium closed elsewhere: the board
// changes without a reload, and the one-hour countdown ticks by the
// station's clock. Screenshots: test-output/ui/4x-board-*.png.
func TestBrowserBoardUpdatesLive(t *testing.T) {
	needBrowser(t)
	f := newFixture(t)
	br := startBrowser(t, f.http.URL, 60*time.Second)
	var before, first, second, closed string
	var reloaded bool
	var swapped, links int
	err := chromedp.Do(br.ctx,
		br.signIn("head"),
		chromedp.WaitVisible(chromedp.CSS("#board")),
		into(&before, chromedp.Text(chromedp.CSS("#board"))),
		// A mark that a reload would wipe.
		into(new(bool), chromedp.Evaluate[bool](`window.liveMark = true`)),
		br.shot("41-board-no-exam.png"),
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error { importExam(t, f, examFile); return nil }),
		chromedp.WaitVisible(chromedp.CSS("#ppe-0101 .countdown .left")),
		into(&first, chromedp.Text(chromedp.CSS("#ppe-0101 .countdown"))),
		chromedp.Sleep(2100*time.Millisecond),
		into(&second, chromedp.Text(chromedp.CSS("#ppe-0101 .countdown"))),
		br.shot("42-board-live-exam.png"),
		// Marks on the cards' links that a swap of the nodes would wipe.
		into(new(bool), chromedp.Evaluate[bool](`document.querySelectorAll("#board .aud a").forEach(function (a) { a.liveNode = true }); true`)),
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			return f.st.SetClosure(store.Closure{Place: store.Place{PPE: "0101", Auditorium: "0014"}, By: "head", At: time.Now()})
		}),
		chromedp.WaitVisible(chromedp.CSS("#aud-0014.st-closed")),
		into(&closed, chromedp.Text(chromedp.CSS("#aud-0014"))),
		into(&reloaded, chromedp.Evaluate[bool](`window.liveMark !== true`)),
		into(&swapped, chromedp.Evaluate[int](`Array.prototype.filter.call(document.querySelectorAll("#board .aud a"), function (a) { return a.liveNode !== true }).length`)),
		into(&links, chromedp.Evaluate[int](`document.querySelectorAll("#board .aud a").length`)),
		br.shot("43-board-live-closed.png"),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	if !strings.Contains(before, "Экзамен не импортирован") {
		t.Errorf("board before the import: %q", before)
	}
	// The station's clock says 14:20 (the browser's says otherwise); the
	// limit is 15:00.
	if !strings.Contains(first, "срок отправки 15:00") || !(strings.Contains(first, "осталось 0:39:5") || strings.Contains(first, "осталось 0:40:00")) {
		t.Errorf("countdown %q: want about 0:40:00 left by the station's clock", first)
	}
	if first == second {
		t.Errorf("the countdown does not tick: %q two seconds later", second)
	}
	if !strings.Contains(closed, "закрыта") || reloaded {
		t.Errorf("closing shown as %q, reloaded %v", closed, reloaded)
	}
	// The update changed the closed card in place: no link of the board
	// was replaced while it could be under the pointer.
	if links == 0 || swapped != 0 {
		t.Errorf("%d of the board's %d auditorium links were replaced by the live update", swapped, links)
	}
}
