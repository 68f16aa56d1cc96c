// Package hardwaretest is the conformance suite every scanner adapter must
// pass: the promises of hardware.Scanner (order, feeder empty, faults,
// cancellation, nothing lost and nothing twice) checked against a real
// instance of the adapter, so the station can rely on them whatever drives
// the device.
//
// An adapter's test calls Run with a function that opens a fresh device
// loaded with a given stack, and says what the adapter can show:
//
//	func TestConformance(t *testing.T) {
//		hardwaretest.Run(t, func(t *testing.T, s hardwaretest.Stack) hardware.Scanner {
//			return openLoaded(t, s.Pages, s.GoneAfter)
//		}, hardwaretest.Caps{Reopen: replug})
//	}
package hardwaretest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"giascan/hardware"
)

// Stack is what the device under test must be loaded with.
type Stack struct {
	// Pages is the number of pages in the feeder, scanned simplex. The
	// suite asks for at most 10, what SANE's test backend feeds in a run.
	Pages int
	// GoneAfter, when above 0, unplugs the device once that many pages
	// were scanned: the Scan that hits it returns a *Fault of kind
	// DeviceGone, and so does every Scan after, until Caps.Reopen opens
	// it again with the rest of the stack still in its feeder.
	GoneAfter int
}

// OpenFunc opens a fresh device loaded with s. It fails t when it cannot.
type OpenFunc func(t *testing.T, s Stack) hardware.Scanner

// Caps is what the adapter under test can show the suite beyond the
// basic promises. Each check it cannot do is named with a reason, so that
// the suite reports it as skipped and why, never silently.
type Caps struct {
	// Reopen plugs the device gone back in and opens it afresh (closing
	// the gone one, as hardware.Reopen does), with the stack as the
	// unplug left it.
	Reopen func(t *testing.T, gone hardware.Scanner) hardware.Scanner
	// NoUnplug says why the adapter cannot model an unplugged device,
	// when Reopen is nil.
	NoUnplug string
}

// Prompt is how long a cancelled Scan may take to return.
const Prompt = 5 * time.Second

// errRefused is what the suite's receiver answers to refuse a page.
var errRefused = errors.New("receiver refused the page")

// Run checks the adapter opened by open against the hardware.Scanner
// contract.
func Run(t *testing.T, open OpenFunc, caps Caps) {
	if caps.Reopen == nil && caps.NoUnplug == "" {
		t.Fatal("hardwaretest: Caps must give Reopen or say in NoUnplug why the adapter cannot model an unplug")
	}
	t.Run("BatchOrder", func(t *testing.T) { testBatchOrder(t, open) })
	t.Run("EmptyFeeder", func(t *testing.T) { testEmptyFeeder(t, open) })
	t.Run("RefusedPageComesAgain", func(t *testing.T) { testRefused(t, open) })
	t.Run("DeviceGoneUntilReopened", func(t *testing.T) { testDeviceGone(t, open, caps) })
	t.Run("Cancel", func(t *testing.T) { testCancel(t, open) })
}

// scanOnce runs one Scan, collecting the pages deliver accepted. refuse,
// when not nil, is asked before accepting each page.
func scanOnce(ctx context.Context, s hardware.Scanner, refuse func(hardware.Page) bool) ([]hardware.Page, error) {
	var got []hardware.Page
	err := s.Scan(ctx, hardware.Options{Source: hardware.ADF}, func(p hardware.Page) error {
		if refuse != nil && refuse(p) {
			return errRefused
		}
		got = append(got, p)
		return nil
	})
	return got, err
}

// checkPages checks that pages are numbered from..from+len-1 in order and
// look like images.
func checkPages(t *testing.T, pages []hardware.Page, from int) {
	t.Helper()
	for i, p := range pages {
		if p.Seq != from+i {
			t.Errorf("page %d of the run has Seq %d, want %d (pages must come in stack order, each once)", i+1, p.Seq, from+i)
		}
		if len(p.Data) == 0 {
			t.Errorf("page %d: no image data", p.Seq)
		}
		switch p.Format {
		case "png", "jpeg", "tiff", "pdf":
		default:
			t.Errorf("page %d: format %q, want png, jpeg, tiff or pdf", p.Seq, p.Format)
		}
	}
}

// scanAll scans until the feeder is empty, allowing no errors, and
// returns what came.
func scanAll(t *testing.T, s hardware.Scanner) []hardware.Page {
	t.Helper()
	pages, err := scanOnce(context.Background(), s, nil)
	if err != nil {
		t.Fatalf("Scan: %v, want nil when the feeder runs empty", err)
	}
	return pages
}

func testBatchOrder(t *testing.T, open OpenFunc) {
	const n = 5
	s := open(t, Stack{Pages: n})
	pages := scanAll(t, s)
	if len(pages) != n {
		t.Fatalf("%d pages from a stack of %d", len(pages), n)
	}
	checkPages(t, pages, 1)
	more := scanAll(t, s)
	if len(more) != 0 {
		t.Errorf("the empty feeder gave %d more pages (Seq %d…)", len(more), more[0].Seq)
	}
}

func testEmptyFeeder(t *testing.T, open OpenFunc) {
	s := open(t, Stack{Pages: 0})
	if pages := scanAll(t, s); len(pages) != 0 {
		t.Errorf("an empty feeder gave %d pages", len(pages))
	}
}

// testRefused refuses the third page once: the run stops with the
// receiver's error, and the next run starts with that very page.
func testRefused(t *testing.T, open OpenFunc) {
	const n = 5
	s := open(t, Stack{Pages: n})
	goroutines := runtime.NumGoroutine()
	var refused *hardware.Page
	first, err := scanOnce(context.Background(), s, func(p hardware.Page) bool {
		if p.Seq == 3 && refused == nil {
			refused = &p
			return true
		}
		return false
	})
	if !errors.Is(err, errRefused) {
		t.Fatalf("Scan after a refused page: %v, want the receiver's error", err)
	}
	if refused == nil {
		t.Fatal("page 3 never offered")
	}
	if len(first) != 2 {
		t.Fatalf("%d pages accepted before the refusal, want 2", len(first))
	}
	checkPages(t, first, 1)
	checkLeftovers(t, goroutines)
	rest := scanAll(t, s)
	checkPages(t, rest, 3)
	if len(rest) != n-2 {
		t.Fatalf("the run after the refusal gave %d pages, want %d", len(rest), n-2)
	}
	if !bytes.Equal(rest[0].Data, refused.Data) {
		t.Errorf("page 3 offered again with other image data (%d bytes, was %d)", len(rest[0].Data), len(refused.Data))
	}
	if more := scanAll(t, s); len(more) != 0 {
		t.Errorf("%d pages after the stack was done", len(more))
	}
}

// testDeviceGone unplugs the device after page 2 of 5: the Scan that hits
// it and every Scan after report the same DeviceGone and deliver nothing;
// reopened, the device scans the 3 sheets left, in order, each once. A
// reopened device may number from 1 or on from page 2 (the session that
// reopens it keeps the sequence), but within its run the numbers follow
// on. Where the stack's pages differ from each other, they are compared
// with those of the same stack scanned with no unplug: nothing lost,
// nothing twice, nothing out of order.
func testDeviceGone(t *testing.T, open OpenFunc, caps Caps) {
	if caps.Reopen == nil {
		t.Skipf("the adapter cannot model an unplugged device: %s", caps.NoUnplug)
	}
	const n, after = 5, 2
	want := scanAll(t, open(t, Stack{Pages: n}))
	s := open(t, Stack{Pages: n, GoneAfter: after})
	goroutines := runtime.NumGoroutine()
	first, err := scanOnce(context.Background(), s, nil)
	var f *hardware.Fault
	if !errors.As(err, &f) || f.Kind != hardware.DeviceGone {
		t.Fatalf("Scan: %v, want a *hardware.Fault %q", err, hardware.DeviceGone)
	}
	if f.After != after || f.Device != s.Device().ID {
		t.Errorf("fault %+v, want After %d on device %q", f, after, s.Device().ID)
	}
	if len(first) != after {
		t.Fatalf("%d pages before the device went, want %d", len(first), after)
	}
	checkPages(t, first, 1)
	checkLeftovers(t, goroutines)
	for try := 1; try <= 2; try++ {
		again, err := scanOnce(context.Background(), s, nil)
		var g *hardware.Fault
		if !errors.As(err, &g) || *g != *f {
			t.Fatalf("Scan %d after the unplug: %v, want the same fault again (%v) until the device is reopened", try, err, f)
		}
		if len(again) != 0 {
			t.Fatalf("Scan %d after the unplug delivered %d pages", try, len(again))
		}
	}
	r := caps.Reopen(t, s)
	if r.Device().ID != s.Device().ID {
		t.Errorf("reopened as %q, was %q", r.Device().ID, s.Device().ID)
	}
	rest := scanAll(t, r)
	if len(rest) != n-after {
		t.Fatalf("%d pages after the device was reopened, want %d", len(rest), n-after)
	}
	if from := rest[0].Seq; from != 1 && from != after+1 {
		t.Errorf("the reopened device numbers from %d, want 1 or %d", from, after+1)
	}
	checkPages(t, rest, rest[0].Seq)
	if more := scanAll(t, r); len(more) != 0 {
		t.Errorf("%d pages after the stack was done", len(more))
	}
	checkLeftovers(t, goroutines)
	if len(want) != n || !distinct(want) {
		t.Logf("the stack's pages are alike (%d of %d distinct images): only their count and numbers are checked", len(unique(want)), len(want))
		return
	}
	for i, p := range append(first, rest...) {
		if !bytes.Equal(p.Data, want[i].Data) {
			t.Errorf("sheet %d across the unplug is not sheet %d of the stack (a page lost, repeated or out of order)", i+1, i+1)
		}
	}
}

// unique are the distinct images among pages.
func unique(pages []hardware.Page) map[string]bool {
	u := map[string]bool{}
	for _, p := range pages {
		u[string(p.Data)] = true
	}
	return u
}

func distinct(pages []hardware.Page) bool { return len(unique(pages)) == len(pages) }

// testCancel cancels the scan while page 2 is being received: Scan must
// return ctx.Err() promptly, leave no goroutine or process behind, and
// lose nothing — the next run delivers the rest.
func testCancel(t *testing.T, open OpenFunc) {
	const n = 6
	s := open(t, Stack{Pages: n})
	goroutines := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Timed from the cancel: scanning the pages before it may take long.
	var cancelled time.Time
	first, err := scanOnce(ctx, s, func(p hardware.Page) bool {
		if p.Seq == 2 && cancelled.IsZero() {
			cancelled = time.Now()
			cancel()
		}
		return false
	})
	took := time.Since(cancelled)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Scan after cancel: %v, want %v", err, context.Canceled)
	}
	if took > Prompt {
		t.Errorf("cancelled Scan took %s to return after the cancel", took)
	}
	if len(first) < 2 {
		t.Fatalf("%d pages before the cancel, want at least 2", len(first))
	}
	checkPages(t, first, 1)
	checkLeftovers(t, goroutines)
	rest := scanAll(t, s)
	checkPages(t, rest, len(first)+1)
	if got := len(first) + len(rest); got != n {
		t.Errorf("%d pages in all across the cancel, want %d", got, n)
	}
}

// checkLeftovers fails t when goroutines outlive a Scan or a child
// process of the test is left running or unreaped.
func checkLeftovers(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		now := runtime.NumGoroutine()
		kids := children()
		if now <= before && len(kids) == 0 {
			return
		}
		if time.Now().After(deadline) {
			if now > before {
				buf := make([]byte, 1<<16)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("%d goroutines after Scan returned, %d before:\n%s", now, before, buf)
			}
			if len(kids) > 0 {
				t.Errorf("child processes left behind: %s", strings.Join(kids, "; "))
			}
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// children lists the child processes of this process (Linux; elsewhere
// none are found).
func children() []string {
	me := os.Getpid()
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var out []string
	for _, path := range stats {
		b, err := os.ReadFile(path)
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid …; comm may hold spaces, so split after ')'.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 2 {
			continue
		}
		if ppid, err := strconv.Atoi(f[1]); err == nil && ppid == me {
			out = append(out, fmt.Sprintf("%s (state %s)", strings.TrimSpace(s[:i+1]), f[0]))
		}
	}
	return out
}
