package forms

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// The numbers below are restated from blanks.md, independently of the
// template files, so that an edit of a template that breaks the contract
// fails here.

const eps = 1e-9

func near(a, b float64) bool { return math.Abs(a-b) < eps }

func wantRect(t *testing.T, what string, got Rect, x0, x1, y0, y1 float64) {
	t.Helper()
	if !near(got.X, x0) || !near(got.X1(), x1) || !near(got.Y, y0) || !near(got.Y1(), y1) {
		t.Errorf("%s: got %g–%g × %g–%g, contract %g–%g × %g–%g", what, got.X, got.X1(), got.Y, got.Y1(), x0, x1, y0, y1)
	}
}

func wantField(t *testing.T, tpl *Template, id string, cells int, cellW, x, y float64) {
	t.Helper()
	f, ok := tpl.Field(id)
	if !ok {
		t.Errorf("type %s: digit field %s missing", tpl.Type, id)
		return
	}
	if f.Cells != cells || !near(f.CellW, cellW) || !near(f.CellH, 8) || !near(f.X, x) || !near(f.Y, y) {
		t.Errorf("type %s field %s: %d cells %gx%g at (%g, %g); contract %d cells %gx8 at (%g, %g)",
			tpl.Type, id, f.Cells, f.CellW, f.CellH, f.X, f.Y, cells, cellW, x, y)
	}
}

func boxByID(tpl *Template, id string) (Box, bool) {
	for _, b := range tpl.Boxes {
		if b.ID == id {
			return b, true
		}
	}
	return Box{}, false
}

func wantBox(t *testing.T, tpl *Template, id string, x, y float64) {
	t.Helper()
	b, ok := boxByID(tpl, id)
	if !ok {
		t.Errorf("type %s: box %s missing", tpl.Type, id)
		return
	}
	wantRect(t, "type "+tpl.Type+" box "+id, b.Rect, x, x+5, y, y+5)
}

func wantZone(t *testing.T, tpl *Template, id string, x0, x1, y0, y1 float64) {
	t.Helper()
	z, ok := tpl.ZoneByID(id)
	if !ok {
		t.Errorf("type %s: zone %s missing", tpl.Type, id)
		return
	}
	wantRect(t, "type "+tpl.Type+" zone "+id, z.Rect, x0, x1, y0, y1)
}

func TestTemplatesFollowTheContractHeader(t *testing.T) {
	set := Builtin()
	want := []string{"11", "21", "22", "23", "51", "53", "55", "56"}
	if got := set.Types(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("page types %v, contract %v", got, want)
	}
	sheets := map[string]int{"11": 0, "21": 1, "22": 2, "23": -1, "51": 0, "53": 0, "55": 0, "56": 0}
	for _, tt := range want {
		tpl, _ := set.Get(tt)
		if !near(tpl.Width, 210) || !near(tpl.Height, 297) {
			t.Errorf("type %s: page %gx%g, contract A4 210x297", tt, tpl.Width, tpl.Height)
		}
		if tpl.Sheet != sheets[tt] {
			t.Errorf("type %s: sheet %d, contract %d", tt, tpl.Sheet, sheets[tt])
		}
		anchors := map[string][4]float64{"TL": {8, 13, 8, 13}, "TR": {197, 202, 8, 13}, "BL": {8, 13, 284, 289}, "BR": {197, 202, 284, 289}}
		for _, a := range tpl.Anchors {
			c, ok := anchors[a.ID]
			if !ok {
				t.Errorf("type %s: unknown anchor %s", tt, a.ID)
				continue
			}
			wantRect(t, "type "+tt+" anchor "+a.ID, a.Rect, c[0], c[1], c[2], c[3])
			delete(anchors, a.ID)
		}
		if len(anchors) != 0 {
			t.Errorf("type %s: anchors missing: %v", tt, anchors)
		}
		if !near(tpl.AnchorClear, 3) {
			t.Errorf("type %s: anchor clearance %g, contract 3", tt, tpl.AnchorClear)
		}
		b := tpl.Barcode
		if b.Digits != 13 || !near(b.Module, 0.30) || !near(b.X, 20) || !near(b.Y, 9) || !near(b.Y+b.H, 18) || b.Quiet < 3 || !near(b.TextY0, 19) || !near(b.TextY1, 22) {
			t.Errorf("type %s: barcode %+v differs from the contract", tt, b)
		}
		q := tpl.QR
		if !near(q.X, 172) || !near(q.Y, 16) || !near(q.Size, 22) || q.ECLevel != "M" || q.QuietMods < 4 {
			t.Errorf("type %s: QR %+v differs from the contract", tt, q)
		}
		wantRect(t, "type "+tt+" title", tpl.TitleBox, 65, 165, 9, 22)
		for _, tx := range tpl.Title {
			if tx.X < 65 || tx.X > 165 || tx.Y < 9 || tx.Y > 22 {
				t.Errorf("type %s: title text %q at (%g, %g) outside the title box", tt, tx.Text, tx.X, tx.Y)
			}
		}
	}
}

func TestTemplateBO1FollowsTheContract(t *testing.T) {
	tpl, _ := Builtin().Get(TypeBO1)
	for _, f := range []struct {
		id    string
		cells int
		x, y  float64
	}{{"region", 2, 15, 48}, {"school", 6, 35, 48}, {"class", 2, 80, 48}, {"ppe", 4, 100, 48},
		{"auditorium", 4, 130, 48}, {"date", 6, 160, 48}, {"subject", 2, 15, 62}, {"variant", 4, 35, 62}} {
		wantField(t, tpl, f.id, f.cells, 6, f.x, f.y)
	}
	wantZone(t, tpl, "surname", 15, 195, 72, 79)
	wantZone(t, tpl, "name", 15, 195, 81, 88)
	wantZone(t, tpl, "patronymic", 15, 195, 90, 97)
	wantZone(t, tpl, "document", 15, 195, 99, 106)
	wantZone(t, tpl, "signature", 140, 195, 108, 120)
	wantZone(t, tpl, "organiser_signature", 25, 100, 272, 280)
	for task := 1; task <= 20; task++ {
		x0 := 25.0
		if task > 10 {
			x0 = 115
		}
		top := 132 + 8*float64((task-1)%10)
		for o := 1; o <= 4; o++ {
			wantBox(t, tpl, fmt.Sprintf("t%02d_%d", task, o), x0+12+10*float64(o-1), top+1.5)
		}
	}
	for j := 0; j < 4; j++ {
		top := 220 + 10*float64(j)
		wantField(t, tpl, fmt.Sprintf("r%d_task", j+1), 2, 6, 25, top)
		for o := 1; o <= 4; o++ {
			wantBox(t, tpl, fmt.Sprintf("r%d_%d", j+1, o), 45+10*float64(o-1), top+1.5)
		}
	}
	wantBox(t, tpl, "removed", 25, 264)
	wantBox(t, tpl, "unfinished", 110, 264)
	if len(tpl.Boxes) != 80+16+2 || len(tpl.DigitFields) != 8+4 || len(tpl.Zones) != 6 {
		t.Errorf("type 11: %d boxes, %d digit fields, %d zones; contract 98, 12, 6", len(tpl.Boxes), len(tpl.DigitFields), len(tpl.Zones))
	}
}

func TestTemplateAnswerSheetsFollowTheContract(t *testing.T) {
	for _, tt := range []string{TypeBO2Sheet1, TypeBO2Sheet2, TypeDBO2} {
		tpl, _ := Builtin().Get(tt)
		wantZone(t, tpl, "answer", 15, 195, 45, 280)
		if len(tpl.Rules) != 1 || tpl.Rules[0].Zone != "answer" || !near(tpl.Rules[0].Step, 8) || tpl.Rules[0].Grey > 0.15 {
			t.Errorf("type %s: rules %+v, contract: every 8 mm, at most 15 %% grey", tt, tpl.Rules)
		}
		if len(tpl.Boxes) != 0 || len(tpl.DigitFields) != 0 || len(tpl.Zones) != 1 {
			t.Errorf("type %s: only the answer zone is machine-read", tt)
		}
	}
}

func TestTemplatePPE1302FollowsTheContract(t *testing.T) {
	tpl, _ := Builtin().Get(TypePPE1302)
	if !tpl.PerPPE {
		t.Error("type 51 is a ППЭ-wide form")
	}
	wantField(t, tpl, "region", 2, 5, 15, 48)
	wantField(t, tpl, "ppe", 4, 5, 35, 48)
	wantField(t, tpl, "subject", 2, 5, 65, 48)
	wantField(t, tpl, "date", 6, 5, 85, 48)
	cols := []struct {
		id    string
		cells int
	}{{"auditorium", 4}, {"listed", 3}, {"present", 3}, {"absent", 3}, {"removed", 2}, {"unfinished", 2},
		{"bo1", 3}, {"bo2s1", 3}, {"bo2s2", 3}, {"dbo2", 3}, {"defective", 2}}
	for r := 0; r < 15; r++ {
		x := 17.0
		for _, c := range cols {
			wantField(t, tpl, fmt.Sprintf("row%02d.%s", r+1, c.id), c.cells, 5, x, 72+12*float64(r))
			x += 5*float64(c.cells) + 2
		}
	}
	wantZone(t, tpl, "signature_head", 15, 100, 262, 278)
	wantZone(t, tpl, "signature_gek", 110, 195, 262, 278)
	if len(tpl.DigitFields) != 4+15*11 {
		t.Errorf("type 51: %d digit fields, contract %d", len(tpl.DigitFields), 4+15*11)
	}
}

func TestTemplatePPE18FollowsTheContract(t *testing.T) {
	tpl, _ := Builtin().Get(TypePPE18)
	for k := 0; k < 10; k++ {
		row := 60 + 10*float64(k)
		wantBox(t, tpl, fmt.Sprintf("yes_%d", k), 150, row+2.5)
		wantBox(t, tpl, fmt.Sprintf("no_%d", k), 170, row+2.5)
	}
	wantZone(t, tpl, "signature", 15, 100, 262, 278)
	if len(tpl.Boxes) != 20 {
		t.Errorf("type 53: %d boxes, contract 20", len(tpl.Boxes))
	}
}

// Nothing dark may lie within 3 mm of an anchor: check every element of
// every template against that clearance.
func TestNothingNearAnchors(t *testing.T) {
	set := Builtin()
	for _, tt := range set.Types() {
		tpl, _ := set.Get(tt)
		var rects []struct {
			what string
			r    Rect
		}
		add := func(what string, r Rect) {
			rects = append(rects, struct {
				what string
				r    Rect
			}{what, r})
		}
		for _, f := range tpl.DigitFields {
			add("field "+f.ID, f.Bounds())
		}
		for _, b := range tpl.Boxes {
			add("box "+b.ID, b.Rect)
		}
		for _, z := range tpl.Zones {
			add("zone "+z.ID, z.Rect)
		}
		add("qr", tpl.QR.Box())
		add("barcode", Rect{tpl.Barcode.X, tpl.Barcode.Y, 40, tpl.Barcode.H})
		for _, a := range tpl.Anchors {
			clear := a.Rect.Inset(-tpl.AnchorClear)
			for _, e := range rects {
				if e.r.X < clear.X1() && e.r.X1() > clear.X && e.r.Y < clear.Y1() && e.r.Y1() > clear.Y {
					t.Errorf("type %s: %s lies within %g mm of anchor %s", tt, e.what, tpl.AnchorClear, a.ID)
				}
			}
		}
	}
}

func TestLoadDirReplacesBuiltin(t *testing.T) {
	dir := t.TempDir()
	data, err := embedded.ReadFile("templates/type21.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "type21.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	set, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := set.Types(); len(got) != 1 || got[0] != "21" {
		t.Fatalf("loaded %v from a folder with one template", got)
	}
	// A broken template is refused with its file name.
	if err := os.WriteFile(filepath.Join(dir, "type99.json"), []byte(`{"type":"9"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil {
		t.Fatal("a template with a one-digit type was accepted")
	}
	if _, err := Load(t.TempDir()); err == nil {
		t.Fatal("an empty template folder was accepted")
	}
}
