package hardware

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Discoverer finds the devices of one adapter. It is optional: an adapter
// whose devices cannot be listed (a watched folder) registers none.
type Discoverer interface {
	// Discover lists the devices found now, each with the Spec that opens
	// it. It returns what it found so far together with an error when ctx
	// ends first.
	Discover(ctx context.Context) ([]Device, error)
}

// DiscoverFunc makes a function a Discoverer.
type DiscoverFunc func(ctx context.Context) ([]Device, error)

// Discover calls f.
func (f DiscoverFunc) Discover(ctx context.Context) ([]Device, error) { return f(ctx) }

type discoverer struct {
	adapter string
	d       Discoverer
	every   time.Duration
}

var discoverers struct {
	sync.Mutex
	list []discoverer
}

// RegisterDiscoverer makes an adapter's devices show up in Discover and
// Watch. every is how often Watch looks again: 0 for a list that never
// changes while the program runs (the simulator's). It is meant for init
// functions and panics when the adapter has one already.
func RegisterDiscoverer(adapter string, d Discoverer, every time.Duration) {
	discoverers.Lock()
	defer discoverers.Unlock()
	if adapter == "" || d == nil || every < 0 {
		panic(fmt.Sprintf("hardware: bad discoverer registration %q", adapter))
	}
	for _, r := range discoverers.list {
		if r.adapter == adapter {
			panic("hardware: discoverer registered twice: " + adapter)
		}
	}
	discoverers.list = append(discoverers.list, discoverer{adapter, d, every})
	slices.SortFunc(discoverers.list, func(a, b discoverer) int { return cmp.Compare(a.adapter, b.adapter) })
}

// Discoverers lists the adapters that registered a Discoverer, in order.
func Discoverers() []string {
	var out []string
	for _, r := range registered() {
		out = append(out, r.adapter)
	}
	return out
}

func registered() []discoverer {
	discoverers.Lock()
	defer discoverers.Unlock()
	return slices.Clone(discoverers.list)
}

// DiscoverError is the failure of one adapter's discovery; the devices of
// the other adapters are still returned.
type DiscoverError struct {
	Adapter string
	Err     error
}

func (e *DiscoverError) Error() string { return "discovery " + e.Adapter + ": " + e.Err.Error() }

// Unwrap returns the adapter's error.
func (e *DiscoverError) Unwrap() error { return e.Err }

// Discover asks every registered Discoverer at once and lists what they
// found, ordered by adapter and then by name. An adapter that fails (SANE
// not installed, no USB access) does not hide the others: its error comes
// back joined with the others' as *DiscoverError values next to the
// devices that were found. Bound the call with ctx; network discovery
// takes a second or two.
func Discover(ctx context.Context) ([]Device, error) {
	regs := registered()
	type result struct {
		devs []Device
		err  error
	}
	results := make([]result, len(regs))
	var wg sync.WaitGroup
	for i, r := range regs {
		wg.Add(1)
		go func() { // owned by Discover, which waits for it
			defer wg.Done()
			devs, err := discoverOne(ctx, r)
			results[i] = result{devs, err}
		}()
	}
	wg.Wait()
	var all []Device
	var errs []error
	for _, res := range results {
		all = append(all, res.devs...)
		if res.err != nil {
			errs = append(errs, res.err)
		}
	}
	return all, errors.Join(errs...)
}

// discoverOne runs one discoverer and tidies its answer: every device
// names its adapter, and the list is in name order.
func discoverOne(ctx context.Context, r discoverer) ([]Device, error) {
	devs, err := r.d.Discover(ctx)
	for i := range devs {
		if devs[i].Adapter == "" {
			devs[i].Adapter = r.adapter
		}
	}
	slices.SortStableFunc(devs, func(a, b Device) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
	})
	if err != nil {
		err = &DiscoverError{Adapter: r.adapter, Err: err}
	}
	return devs, err
}

// EventKind says what Watch saw.
type EventKind string

// Watch events.
const (
	Added   EventKind = "added"   // a device appeared (or was there when Watch started)
	Removed EventKind = "removed" // a device went away (unplugged, switched off)
	Failed  EventKind = "failed"  // an adapter's discovery failed; Err says why
)

// Event is a device that appeared or went away, or a failed look.
type Event struct {
	Kind    EventKind
	Adapter string
	Device  Device // Added, Removed
	Err     error  // Failed
}

// Watch reports devices as they appear and go away: each adapter's
// Discoverer is asked at its own pace (see RegisterDiscoverer), the
// devices present at the start come as Added, and a device is the same
// while its ID is. A failing adapter is reported once as Failed, until a
// look succeeds again, and its last known devices are kept. The
// goroutines belong to ctx: they stop, and the channel closes, when ctx
// ends.
func Watch(ctx context.Context) <-chan Event {
	regs := registered()
	ch := make(chan Event)
	var wg sync.WaitGroup
	for _, r := range regs {
		wg.Add(1)
		go func() { // owned by ctx
			defer wg.Done()
			watchOne(ctx, r, ch)
		}()
	}
	go func() { // owned by ctx: closes ch once the watchers stopped
		wg.Wait()
		close(ch)
	}()
	return ch
}

func watchOne(ctx context.Context, r discoverer, ch chan<- Event) {
	send := func(ev Event) bool {
		select {
		case ch <- ev:
			return true
		case <-ctx.Done():
			return false
		}
	}
	var known []Device
	failing := false
	var tick <-chan time.Time
	if r.every > 0 {
		t := time.NewTicker(r.every)
		defer t.Stop()
		tick = t.C
	}
	for {
		lctx, cancel := context.WithTimeout(ctx, max(r.every, 30*time.Second))
		now, err := discoverOne(lctx, r)
		cancel()
		if ctx.Err() != nil {
			return
		}
		var events []Event
		if err != nil {
			if !failing {
				events = append(events, Event{Kind: Failed, Adapter: r.adapter, Err: err})
			}
			failing = true
		} else {
			failing = false
			events = DiffDevices(known, now)
			known = now
		}
		for _, ev := range events {
			if !send(ev) {
				return
			}
		}
		wait := tick
		if wait == nil {
			if err == nil {
				<-ctx.Done() // a list that never changes
				return
			}
			wait = time.After(30 * time.Second) // a static list that failed: try again later
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return
		}
	}
}

// DiffDevices lists what changed from one list of devices to the next:
// removed devices first, then added ones, each in the order of its list.
// A device is the same while its Adapter and ID are.
func DiffDevices(before, after []Device) []Event {
	key := func(d Device) string { return d.Adapter + "\x00" + d.ID }
	was := map[string]bool{}
	for _, d := range before {
		was[key(d)] = true
	}
	is := map[string]bool{}
	for _, d := range after {
		is[key(d)] = true
	}
	var out []Event
	for _, d := range before {
		if !is[key(d)] {
			out = append(out, Event{Kind: Removed, Adapter: d.Adapter, Device: d})
		}
	}
	for _, d := range after {
		if !was[key(d)] {
			out = append(out, Event{Kind: Added, Adapter: d.Adapter, Device: d})
		}
	}
	return out
}

var remembered struct {
	sync.Mutex
	specs []string
}

// Remember tells discovery of a device the station was set up with by
// spec (a network scanner's URL, say), so that Discover lists it, and
// says whether it answers, even when it cannot be found by itself.
func Remember(spec string) {
	remembered.Lock()
	defer remembered.Unlock()
	if !slices.Contains(remembered.specs, spec) {
		remembered.specs = append(remembered.specs, spec)
	}
}

// Remembered lists the remembered specs of an adapter, in the order they
// were remembered.
func Remembered(adapter string) []string {
	remembered.Lock()
	defer remembered.Unlock()
	var out []string
	for _, spec := range remembered.specs {
		if name, _, _ := strings.Cut(spec, ":"); name == adapter {
			out = append(out, spec)
		}
	}
	return out
}
