package sim

import (
	"reflect"
	"strconv"
	"testing"

	"giascan/forms"
)

func TestPlanLooksLikeAuditoriumStacks(t *testing.T) {
	for _, count := range []int{1, 5, 9, 10, 11, 12, 17, 40, 151} {
		sheets, err := Plan(int64(count)*31, count)
		if err != nil {
			t.Fatal(err)
		}
		if len(sheets) != count {
			t.Fatalf("count %d: %d sheets", count, len(sheets))
		}
		types := map[string]int{}
		barcodes := map[string]bool{}
		for i, s := range sheets {
			if s.Index != i {
				t.Errorf("count %d: sheet %d has index %d", count, i, s.Index)
			}
			if err := s.ID.Validate(); err != nil {
				t.Errorf("count %d, sheet %d: %v", count, i, err)
			}
			if barcodes[s.ID.Barcode] {
				t.Errorf("count %d: barcode %s twice", count, s.ID.Barcode)
			}
			barcodes[s.ID.Barcode] = true
			types[s.ID.Type]++
			// A kit's sheets follow each other: 0, 1, 2, then 3, 4, … for ДБО.
			if s.ID.Sheet > 0 {
				prev := sheets[i-1].ID
				if prev.Kit != s.ID.Kit || prev.Sheet != s.ID.Sheet-1 {
					t.Errorf("count %d: sheet %d (%s L=%d) follows %s L=%d", count, i, s.ID.Kit, s.ID.Sheet, prev.Kit, prev.Sheet)
				}
			}
		}
		if count >= 10 {
			for _, pt := range forms.Builtin().Types() {
				if types[pt] == 0 && pt != forms.TypeAcceptance { // the station's own act is never in a stack
					t.Errorf("count %d: no page of type %s (%v)", count, pt, types)
				}
			}
		}
		checkForms(t, sheets)
	}
}

// checkForms checks every ППЭ-13-02-МАШ against the kits scanned before it
// since the previous ППЭ's forms.
func checkForms(t *testing.T, sheets []Sheet) {
	t.Helper()
	start := 0
	for i, s := range sheets {
		switch s.ID.Type {
		case forms.TypePPE1302:
			want := map[string]*row{}
			var order []string
			for _, k := range sheets[start:i] {
				r := want[k.ID.Auditorium]
				if r == nil {
					r = &row{auditorium: k.ID.Auditorium}
					want[k.ID.Auditorium] = r
					order = append(order, k.ID.Auditorium)
				}
				if k.ID.PPE != s.ID.PPE || k.ID.Date != s.ID.Date || k.ID.Subject != s.ID.Subject {
					t.Errorf("sheet %d: kit of ППЭ %s on the form of ППЭ %s", k.Index, k.ID.PPE, s.ID.PPE)
				}
				switch k.ID.Type {
				case forms.TypeBO1:
					r.present++
					r.bo1++
					if k.removed {
						r.removed++
					}
					if k.unfinished {
						r.unfinished++
					}
				case forms.TypeBO2Sheet1:
					r.bo2s1++
				case forms.TypeBO2Sheet2:
					r.bo2s2++
				case forms.TypeDBO2:
					r.dbo2++
				}
			}
			if len(s.rows) != len(order) {
				t.Fatalf("form at %d: %d rows for %d auditoriums", i, len(s.rows), len(order))
			}
			for j, got := range s.rows {
				w := want[order[j]]
				w.listed, w.absent, w.defective = w.present+got.absent, got.absent, got.defective
				if got != *w {
					t.Errorf("form at %d, row %d: %+v, the stack says %+v", i, j+1, got, *w)
				}
				if got.removed+got.unfinished > got.present || got.bo1 != got.present {
					t.Errorf("form at %d, row %d: inconsistent %+v", i, j+1, got)
				}
			}
		case forms.TypePPE15:
			start = i + 1
		}
	}
}

func TestPlanIsDeterministic(t *testing.T) {
	a, _ := Plan(5, 60)
	b, _ := Plan(5, 60)
	c, _ := Plan(6, 60)
	if !reflect.DeepEqual(a, b) {
		t.Error("the same seed planned two streams")
	}
	if reflect.DeepEqual(a, c) {
		t.Error("seeds 5 and 6 planned the same stream")
	}
	for _, n := range []int{0, -1, MaxCount + 1} {
		if _, err := Plan(1, n); err == nil {
			t.Errorf("count %d: want an error", n)
		}
	}
}

func TestFillPPE1302RightAligned(t *testing.T) {
	sheets, _ := Plan(2, 30)
	for _, s := range sheets {
		if s.ID.Type != forms.TypePPE1302 {
			continue
		}
		sc, err := Render(s, Settings{Profile: Clean, DPI: 150})
		if err != nil {
			t.Fatal(err)
		}
		d := sc.Truth.Digits
		for i, r := range s.rows {
			p := "row" + twoDigits(i+1) + "."
			if d[p+"auditorium"] != r.auditorium || d[p+"listed"] != strconv.Itoa(r.listed) || d[p+"dbo2"] != strconv.Itoa(r.dbo2) {
				t.Errorf("row %d: digits %q %q %q, want %+v", i+1, d[p+"auditorium"], d[p+"listed"], d[p+"dbo2"], r)
			}
		}
		for i := len(s.rows) + 1; i <= 15; i++ {
			if v := d["row"+twoDigits(i)+".present"]; v != "" {
				t.Errorf("unused row %d: present %q", i, v)
			}
		}
		id := s.ID
		if d["date"] != id.Date[6:8]+id.Date[4:6]+id.Date[2:4] || d["ppe"] != id.PPE || d["region"] != id.Region || d["subject"] != id.Subject {
			t.Errorf("header digits %v disagree with %+v", d, id)
		}
		return
	}
	t.Fatal("no ППЭ-13-02-МАШ in 30 pages")
}

func twoDigits(n int) string {
	s := strconv.Itoa(n)
	if len(s) < 2 {
		s = "0" + s
	}
	return s
}

// PlanShape makes one ППЭ of the asked size: every auditorium with its
// kits' three sheets and any ДБО, then the ППЭ's forms.
func TestPlanShape(t *testing.T) {
	sheets, err := PlanShape(5, 15, 20)
	if err != nil {
		t.Fatal(err)
	}
	auds := map[string]map[string]bool{}
	ppe := sheets[0].ID.PPE
	for _, s := range sheets {
		if s.ID.PPE != ppe {
			t.Fatalf("sheet %d is of ППЭ %s, want only %s", s.Index, s.ID.PPE, ppe)
		}
		if s.ID.Auditorium == "0000" {
			continue
		}
		if auds[s.ID.Auditorium] == nil {
			auds[s.ID.Auditorium] = map[string]bool{}
		}
		auds[s.ID.Auditorium][s.ID.Kit] = true
	}
	if len(auds) != 15 {
		t.Fatalf("%d auditoriums, want 15", len(auds))
	}
	for a, kits := range auds {
		if len(kits) != 20 {
			t.Errorf("auditorium %s has %d kits, want 20", a, len(kits))
		}
	}
	if n := len(sheets); n < 15*20*3 || n > 15*20*3+200 {
		t.Errorf("%d sheets for 300 participants", n)
	}
	if last := sheets[len(sheets)-1].ID.Type; last != "55" {
		t.Errorf("the stack ends with type %s, want the ППЭ-15", last)
	}
	if _, err := PlanShape(5, 0, 20); err == nil {
		t.Error("a shape of no auditoriums was planned")
	}
}
