// Package sim is the simulated scanner: a stream of exam pages filled in
// the way people fill them, printed from the real templates and degraded
// the way real scanners degrade them, each with its ground truth in the
// recognizer's output shape. It backs `station testscan`, the recognizer's
// tests and benchmarks, and the "sim" scanner adapter.
//
// Everything is deterministic: a seed fixes the stream, and every page has
// its own random generator derived from the seed and the page's index, so
// pages can be rendered in any order and in parallel with identical bytes.
package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"giascan/forms"
)

// Sheet is one page of a simulated stream, as planned: who it belongs to
// and what the people who fill it in are going to write.
type Sheet struct {
	Index int            // 0-based position in the stream
	ID    forms.Identity // what its barcode and QR say

	seed   [2]uint64 // the page's own random generator
	writer uint64    // the hand that fills it in: equal values write alike

	removed, unfinished bool  // type 11: the organiser's marks
	rows                []row // type 51: one row per auditorium
}

// row is one auditorium's line of ППЭ-13-02-МАШ.
type row struct {
	auditorium                                   string
	listed, present, absent, removed, unfinished int
	bo1, bo2s1, bo2s2, dbo2, defective           int
}

// kit is one participant's answer set in an auditorium stack.
type kit struct {
	number              string
	extra               int // ДБО №2 sheets
	removed, unfinished bool
	writer              uint64
}

type auditorium struct {
	number    string
	absent    int
	defective int
	kits      []kit
}

// MaxCount is the longest stream Plan makes.
const MaxCount = 100000

// Plan lays out a stream of count pages the way a ППЭ's scanning goes:
// for every auditorium, every participant's БО №1, БО №2 лист 1 and 2 and
// any ДБО №2, then the ППЭ's forms 13-02-МАШ, 18-МАШ (not every ППЭ has
// one) and the signed ППЭ-15. Streams longer than one ППЭ continue with
// the next. The first ППЭ is cut to fit when the stream is short, keeping
// its forms and one ДБО, so that any count of at least 10 holds every page
// type; the forms' numbers always agree with the kits in the stream.
func Plan(seed int64, count int) ([]Sheet, error) {
	if count < 1 || count > MaxCount {
		return nil, fmt.Errorf("plan: count %d is out of 1..%d", count, MaxCount)
	}
	p := planner{
		seed:   uint64(seed),
		rng:    rand.New(rand.NewPCG(uint64(seed), 0x5ca7e5)),
		sheets: make([]Sheet, 0, count),
	}
	p.serial = 1_000_000_000 + p.rng.Uint64N(7_000_000_000)
	p.kit = 1_000_000 + p.rng.Uint64N(8_000_000_000)
	for first := true; len(p.sheets) < count; first = false {
		if err := p.ppe(count-len(p.sheets), first); err != nil {
			return nil, err
		}
	}
	return p.sheets, nil
}

type planner struct {
	seed   uint64
	rng    *rand.Rand
	serial uint64
	kit    uint64
	sheets []Sheet
}

var regions = []string{"77", "50", "78", "16", "02", "23", "54", "61", "66", "74"}

// ppe plans one ППЭ's part of the stream within budget pages.
func (p *planner) ppe(budget int, first bool) error {
	r := p.rng
	base, trailer := p.identity(first)
	auds := p.auditoriums(1+r.IntN(4), first)
	if pagesOf(auds)+len(trailer) > budget {
		auds = p.fit(auds, budget-len(trailer), first)
	}
	if auds == nil {
		// Too short for even one kit and the forms: the start of a stack.
		auds = p.auditoriums(1, first)
		return p.emit(base, auds, nil, budget)
	}
	return p.emit(base, auds, trailer, budget)
}

// identity draws a ППЭ's exam and the forms that end its stack.
func (p *planner) identity(first bool) (forms.Identity, []string) {
	r := p.rng
	level := 11
	if r.IntN(10) < 3 {
		level = 9
	}
	subjects := make([]string, 0, len(forms.Subjects))
	for s := range forms.Subjects {
		subjects = append(subjects, s)
	}
	sort.Strings(subjects)
	base := forms.Identity{
		Level:   level,
		Region:  regions[r.IntN(len(regions))],
		PPE:     fmt.Sprintf("%04d", 1+r.IntN(9998)),
		Subject: subjects[r.IntN(len(subjects))],
		Date:    fmt.Sprintf("2025%02d%02d", 5+r.IntN(2), 20+r.IntN(10)),
	}
	trailer := []string{forms.TypePPE1302, forms.TypePPE18, forms.TypePPE15}
	if !first && r.IntN(10) < 3 {
		trailer = []string{forms.TypePPE1302, forms.TypePPE15}
	}
	return base, trailer
}

// PlanShape plans the stack of one ППЭ of auds auditoriums with kits
// participants each, then its forms: the size of a real exam day, where
// Plan makes short mixed streams.
func PlanShape(seed int64, auds, kits int) ([]Sheet, error) {
	if auds < 1 || auds > 60 || kits < 1 || kits > 40 {
		return nil, fmt.Errorf("plan: shape %dx%d is out of 1..60 auditoriums of 1..40 kits", auds, kits)
	}
	p := planner{seed: uint64(seed), rng: rand.New(rand.NewPCG(uint64(seed), 0x5ca7e5))}
	p.serial = 1_000_000_000 + p.rng.Uint64N(7_000_000_000)
	p.kit = 1_000_000 + p.rng.Uint64N(8_000_000_000)
	base, trailer := p.identity(true)
	as := p.auditoriums(auds, false)
	for i := range as {
		as[i].kits = as[i].kits[:0]
		for len(as[i].kits) < kits {
			as[i].kits = append(as[i].kits, p.newKit())
		}
	}
	err := p.emit(base, as, trailer, math.MaxInt)
	return p.sheets, err
}

// auditoriums plans n auditoriums with their natural sizes.
func (p *planner) auditoriums(n int, first bool) []auditorium {
	r := p.rng
	used := map[int]bool{}
	out := make([]auditorium, 0, n)
	for len(out) < n {
		num := 1 + r.IntN(60)
		if used[num] {
			continue
		}
		used[num] = true
		a := auditorium{number: fmt.Sprintf("%04d", num), absent: r.IntN(4)}
		if r.IntN(4) == 0 {
			a.defective = 1 + r.IntN(2)
		}
		for i, present := 0, 4+r.IntN(12); i < present; i++ {
			a.kits = append(a.kits, p.newKit())
		}
		out = append(out, a)
	}
	if first {
		// The first participant asked for a ДБО №2: a short stream still
		// shows every page type.
		out[0].kits[0].extra = max(out[0].kits[0].extra, 1)
	}
	return out
}

func (p *planner) newKit() kit {
	r := p.rng
	k := kit{writer: r.Uint64()}
	switch x := r.IntN(100); {
	case x < 3:
		k.extra = 2
	case x < 15:
		k.extra = 1
	}
	switch x := r.IntN(100); {
	case x < 3:
		k.removed = true
	case x < 6:
		k.unfinished = true
	}
	return k
}

func pagesOf(auds []auditorium) int {
	n := 0
	for _, a := range auds {
		for _, k := range a.kits {
			n += 3 + k.extra
		}
	}
	return n
}

// fit cuts the auditoriums down to exactly pages kit pages (whole kits,
// with ДБО sheets taking up the remainder), or returns nil when not even
// one kit fits.
func (p *planner) fit(auds []auditorium, pages int, first bool) []auditorium {
	if pages < 3 {
		return nil
	}
	n, extra := pages/3, pages%3
	if first && extra == 0 && n >= 2 {
		n, extra = n-1, 3
	}
	var out []auditorium
	for _, a := range auds {
		if n == 0 {
			break
		}
		take := min(n, len(a.kits))
		a.kits = append([]kit(nil), a.kits[:take]...)
		for i := range a.kits {
			a.kits[i].extra = 0
		}
		n -= take
		out = append(out, a)
	}
	for n > 0 { // more kits than planned: the last auditorium was fuller
		last := &out[len(out)-1]
		last.kits = append(last.kits, p.newKit())
		last.kits[len(last.kits)-1].extra = 0
		n--
	}
	for i := 0; extra > 0; i++ {
		k := &out[0].kits[i%len(out[0].kits)]
		k.extra++
		extra--
	}
	return out
}

// emit appends the sheets of the auditoriums and then the forms, at most
// budget pages.
func (p *planner) emit(base forms.Identity, auds []auditorium, trailer []string, budget int) error {
	start := len(p.sheets)
	// add appends a sheet and returns its index, -1 when over budget.
	add := func(id forms.Identity, writer uint64) (int, error) {
		if len(p.sheets)-start >= budget {
			return -1, nil
		}
		b, err := forms.MakeBarcode(id.Type, p.serial)
		if err != nil {
			return -1, err
		}
		p.serial++
		id.Barcode = b
		if err := id.Validate(); err != nil {
			return -1, fmt.Errorf("plan: %w", err)
		}
		idx := len(p.sheets)
		p.sheets = append(p.sheets, Sheet{Index: idx, ID: id, writer: writer,
			seed: [2]uint64{p.seed ^ 0x9e3779b97f4a7c15, uint64(idx)}})
		return idx, nil
	}
	var rows []row
	for ai := range auds {
		a := &auds[ai]
		rw := row{auditorium: a.number, absent: a.absent, defective: a.defective}
		for ki := range a.kits {
			k := &a.kits[ki]
			k.number = fmt.Sprintf("%010d", p.kit)
			p.kit++
			id := base
			id.Auditorium, id.Kit = a.number, k.number
			pages := []string{forms.TypeBO1, forms.TypeBO2Sheet1, forms.TypeBO2Sheet2}
			for i := 0; i < k.extra; i++ {
				pages = append(pages, forms.TypeDBO2)
			}
			for i, pt := range pages {
				id.Type, id.Sheet = pt, i
				i, err := add(id, k.writer)
				if err != nil {
					return err
				}
				if i >= 0 && pt == forms.TypeBO1 {
					p.sheets[i].removed, p.sheets[i].unfinished = k.removed, k.unfinished
				}
			}
			rw.present++
			rw.bo1++
			rw.bo2s1++
			rw.bo2s2++
			rw.dbo2 += k.extra
			if k.removed {
				rw.removed++
			}
			if k.unfinished {
				rw.unfinished++
			}
		}
		rw.listed = rw.present + rw.absent
		rows = append(rows, rw)
	}
	head, observer, operator := p.rng.Uint64(), p.rng.Uint64(), p.rng.Uint64()
	for _, pt := range trailer {
		id := base
		id.Type, id.Auditorium, id.Kit, id.Sheet = pt, "0000", forms.NoKit, 0
		writer := head
		switch pt {
		case forms.TypePPE18:
			writer = observer
		case forms.TypePPE15:
			writer = operator
			id.Manifest = fmt.Sprintf("%016x", p.rng.Uint64())
		}
		i, err := add(id, writer)
		if err != nil {
			return err
		}
		if i >= 0 && pt == forms.TypePPE1302 {
			p.sheets[i].rows = rows
		}
	}
	return nil
}
