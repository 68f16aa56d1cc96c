package sim

import (
	"context"
	"strings"
	"testing"

	"giascan/forms"
	"giascan/hardware"
)

// A trainer stack is printed for the given exam, auditorium and kits, and
// what its pages say (their truth) follows; the ППЭ's forms stay out of
// an auditorium's stack.
func TestTrainerStackBelongsToTheExam(t *testing.T) {
	a, err := Open("seed=5,shape=1x3,profile=clean,exam=9-11-0101-02-20250527,auditorium=0012,kit=0000012345,drop=4")
	if err != nil {
		t.Fatal(err)
	}
	kits := map[string]bool{}
	for _, s := range a.Sheets() {
		id := s.ID
		if id.Level != 9 || id.Region != "11" || id.PPE != "0101" || id.Subject != "02" || id.Date != "20250527" || id.Auditorium != "0012" {
			t.Errorf("sheet %d is %+v", s.Index+1, id)
		}
		kits[id.Kit] = true
	}
	if len(kits) != 3 || !kits["0000012345"] || !kits["0000012347"] {
		t.Errorf("kits %v, want 0000012345..7", kits)
	}
	var pages int
	err = a.Scan(context.Background(), hardware.Options{DPI: 150, Mode: ModeLineart}, func(p hardware.Page) error {
		pages++
		tr, ok := a.Truth(p.Seq)
		if !ok {
			t.Fatalf("page %d has no truth", p.Seq)
		}
		c := tr.Context
		if c.PPE != "0101" || c.Auditorium != "0012" || c.Region != "11" || c.Date != "20250527" || !strings.HasPrefix(c.Kit, "00000123") {
			t.Errorf("page %d says %+v", p.Seq, c)
		}
		if tr.Type == forms.TypePPE1302 || tr.Type == forms.TypePPE18 || tr.Type == forms.TypePPE15 {
			t.Errorf("page %d is a ППЭ form in an auditorium's stack", p.Seq)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Three kits of three sheets, one lost on the way to the scanner.
	if n := len(a.Sheets()); pages != 8 || n != 8 {
		t.Errorf("%d pages fed of a stack of %d, want 8 (one of 9 lost)", pages, n)
	}
	for _, bad := range []string{"exam=9-11-0101-02", "exam=10-11-0101-02-20250527", "exam=9-11-0101-99-20250527", "auditorium=0000", "auditorium=12", "kit=0000000000", "kit=12"} {
		if _, err := Open("seed=5,count=6," + bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
