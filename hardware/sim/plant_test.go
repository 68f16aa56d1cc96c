package sim

import (
	"bytes"
	"context"
	"reflect"
	"testing"

	"giascan/forms"
	"giascan/hardware"
)

func TestPlantStack(t *testing.T) {
	plain, err := Plan(1, 20)
	if err != nil {
		t.Fatal(err)
	}
	a, err := Open("seed=1,count=20,profile=clean,dupscan=2,dupbarcode=13,foreign=5,drop=11,gap=8,smudge=16,removed=9")
	if err != nil {
		t.Fatal(err)
	}
	got := a.Sheets()
	// 20 planned, one dropped, one repeat scan and one foreign sheet added.
	if len(got) != 21 {
		t.Fatalf("stack of %d sheets, want 21", len(got))
	}
	if got[2].ID != plain[1].ID || got[1].ID != plain[1].ID {
		t.Errorf("dupscan: sheets 2 and 3 are %v and %v, want both %v", got[1].ID, got[2].ID, plain[1].ID)
	}
	if f := got[6]; f.ID.PPE == plain[4].ID.PPE || f.ID.Kit != plain[4].ID.Kit || f.ID.Barcode == plain[4].ID.Barcode {
		t.Errorf("foreign copy of sheet 5: %+v", f.ID)
	}
	if got[9].ID.Sheet != 4 {
		t.Errorf("gap: ДБО sheet number %d, want 4", got[9].ID.Sheet)
	}
	if got[10].removed == plain[8].removed {
		t.Error("removed: the mark was not flipped")
	}
	for _, s := range got {
		if s.ID.Barcode == plain[10].ID.Barcode {
			t.Error("drop: sheet 11 is still in the stack")
		}
	}
	if got[13].ID.Barcode != plain[9].ID.Barcode || got[13].ID.Kit != plain[12].ID.Kit {
		t.Errorf("dupbarcode: sheet 13 carries %s of kit %s", got[13].ID.Barcode, got[13].ID.Kit)
	}
	if a.how[16] != variantSmudge || a.how[2] != variantRescan {
		t.Errorf("variants %v", a.how)
	}

	// A repeat scan is the same paper in another scan: other bytes, the
	// same truth.
	one, err := renderPlanted(planted{sheet: got[1]}, Settings{Profile: Clean})
	if err != nil {
		t.Fatal(err)
	}
	two, err := renderPlanted(planted{sheet: got[2], how: variantRescan}, Settings{Profile: Clean})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(one.Data, two.Data) {
		t.Error("a repeat scan has the bytes of the first")
	}
	if !reflect.DeepEqual(one.Truth.Marks, two.Truth.Marks) || !reflect.DeepEqual(one.Truth.Ink, two.Truth.Ink) || one.Truth.Barcode != two.Truth.Barcode {
		t.Error("a repeat scan tells another truth")
	}
	sm, err := renderPlanted(planted{sheet: got[16], how: variantSmudge}, Settings{Profile: Clean})
	if err != nil {
		t.Fatal(err)
	}
	if sm.Truth.Barcode != "" || len(sm.Truth.Flags) != 2 {
		t.Errorf("smudged page truth %+v", sm.Truth)
	}
}

func TestPlantFromAndErrors(t *testing.T) {
	a, err := Open("seed=1,count=20,profile=clean,from=18")
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	err = a.Scan(context.Background(), hardware.Options{}, func(p hardware.Page) error {
		tr, _ := a.Truth(p.Seq)
		types = append(types, tr.Type)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{forms.TypePPE1302, forms.TypePPE18, forms.TypePPE15}; !reflect.DeepEqual(types, want) {
		t.Errorf("from=18 fed %v, want %v", types, want)
	}
	for _, spec := range []string{"count=20,gap=1", "count=20,removed=2", "count=20,drop=21", "count=20,from=0", "count=20,dupbarcode=1", "count=20,smudge=x"} {
		if _, err := Open(spec); err == nil {
			t.Errorf("Open(%q) accepted", spec)
		}
	}
}
