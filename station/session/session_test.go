package session

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"giascan/hardware"
	"giascan/hardware/hardwaretest"
	"giascan/hardware/sim"
	"giascan/station/audit"
	"giascan/station/exam"
	"giascan/station/store"
)

// scanOptions keep the pages small and quick to read.
var scanOptions = hardware.Options{Source: hardware.ADF, DPI: 150, Mode: "lineart"}

// newStation makes a data folder with an exam of one auditorium.
func newStation(t *testing.T) (*store.Store, *audit.Log, store.Place) {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log, err := audit.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	ex, err := exam.Parse([]byte(`{"level":9,"subject":"02","date":"2025-05-27","region":"11","ppe":[{"code":"0101","auditoriums":[{"number":"0012"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetExam(ex); err != nil {
		t.Fatal(err)
	}
	return st, log, store.Place{PPE: "0101", Auditorium: "0012"}
}

// stackSums are the SHA-256 of the pages of a simulated stack scanned
// with no event: what must be stored, in this order.
func stackSums(t *testing.T, arg string) []string {
	t.Helper()
	a, err := sim.Open(arg)
	if err != nil {
		t.Fatal(err)
	}
	var sums []string
	if err := a.Scan(context.Background(), scanOptions, func(p hardware.Page) error {
		sum := sha256.Sum256(p.Data)
		sums = append(sums, hex.EncodeToString(sum[:]))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return sums
}

// agent serves a simulated feeder over eSCL as the scan agent does, and
// returns the station's spec for it.
func agent(t *testing.T, spec string) string {
	t.Helper()
	feeder, err := hardware.Open(spec)
	if err != nil {
		t.Fatal(err)
	}
	return hardwaretest.ServeESCL(t, feeder, hardwaretest.ReplugSpec)
}

// The scanner is unplugged after sheet 3 of 6: the operator is told, plugs
// it in and presses Continue; the session reopens the device and the stack
// goes on. The pages stored before stay, the next page stored is sheet 4,
// and every sheet is stored exactly once, in order. The same holds for a
// network scanner, whose reopened adapter numbers its pages from 1 again.
func TestUnplugMidStackStoresEverySheetOnce(t *testing.T) {
	const stack = "seed=5,count=6,profile=clean"
	want := stackSums(t, stack)
	for _, tc := range []struct {
		name   string
		device func(t *testing.T) string
	}{
		{"sim", func(*testing.T) string { return "sim:" + stack + ",gone=3" }},
		{"escl", func(t *testing.T) string { return agent(t, "sim:"+stack+",gone=3") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, log, place := newStation(t)
			var (
				stored []int
				faults []string
				texts  []string
			)
			sum, err := Run(context.Background(), Config{
				Store: st, Log: log, Place: place, Device: tc.device(t), Options: scanOptions, Workers: 1,
				OnFault: func(ctx context.Context, f *hardware.Fault) error {
					// Stored before the unplug, and on record, are sheets 1 to 3.
					if pages, _ := st.Pages(place); len(pages) != 3 {
						t.Errorf("%d pages stored when the device went, want 3", len(pages))
					}
					return nil // plugged in again: Continue
				},
				Notify: func(ev Event) error {
					switch ev.Kind {
					case PageStored:
						stored = append(stored, ev.Page.Seq)
					case DeviceFault:
						faults = append(faults, fmt.Sprintf("%s after %d", ev.Fault.Kind, ev.Fault.After))
						texts = append(texts, ev.Text)
					case Message:
						texts = append(texts, ev.Text)
					}
					return nil
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(faults) != "[device gone after 3]" {
				t.Errorf("faults %v, want the device gone after page 3", faults)
			}
			all := strings.Join(texts, "\n")
			for _, w := range []string{"Сканер отключился после страницы 3: подключите его снова", "Сканер подключён снова"} {
				if !strings.Contains(all, w) {
					t.Errorf("the operator was not told %q:\n%s", w, all)
				}
			}
			if fmt.Sprint(stored) != "[1 2 3 4 5 6]" || sum.Stored != 6 || sum.Total != 6 || sum.Duplicates != 0 || sum.Faults != 1 {
				t.Errorf("stored %v, summary %+v; want pages 1..6 once each and one fault", stored, sum)
			}
			pages, err := st.Pages(place)
			if err != nil {
				t.Fatal(err)
			}
			if len(pages) != len(want) {
				t.Fatalf("%d pages in the store, want %d", len(pages), len(want))
			}
			for i, p := range pages {
				if p.Seq != i+1 || p.SHA256 != want[i] || p.Status != store.Active {
					t.Errorf("page %d: Seq %d, %s, %s; want sheet %d of the stack", i+1, p.Seq, p.SHA256[:12], p.Status, i+1)
				}
			}
		})
	}
}

// An operator who does not go on after the unplug ends the session with
// the pages stored so far; the next session goes on from the next sheet.
func TestUnplugThenStopThenScanAgain(t *testing.T) {
	const stack = "seed=5,count=5,profile=clean"
	want := stackSums(t, stack)
	st, log, place := newStation(t)
	cfg := Config{Store: st, Log: log, Place: place, Device: "sim:" + stack + ",gone=2", Options: scanOptions, Workers: 1}
	_, err := Run(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "устраните причину и запустите сканирование снова") {
		t.Fatalf("%v, want the session stopped at the event", err)
	}
	if pages, _ := st.Pages(place); len(pages) != 2 {
		t.Fatalf("%d pages after the stop, want 2", len(pages))
	}
	cfg.Device = "sim:" + stack
	sum, err := Run(context.Background(), cfg)
	if err != nil || sum.Stored != 3 || sum.Total != 5 {
		t.Fatalf("the second session: %+v, %v", sum, err)
	}
	pages, _ := st.Pages(place)
	for i, p := range pages {
		if p.SHA256 != want[i] {
			t.Errorf("page %d is not sheet %d", i+1, i+1)
		}
	}
}
