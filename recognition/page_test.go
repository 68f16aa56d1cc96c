package recognition

import (
	"math"
	"testing"

	"giascan/forms"
)

func TestPageUpright(t *testing.T) {
	set := forms.Builtin()
	rc, err := New(set, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := pen{marks: []string{"t01_2", "t05_4", "removed"}, dots: []string{"t02_1"}, zones: []string{"surname", "signature"}}
	g := renderPage(t, set, "11", 123, p, 300)
	res, err := rc.Gray(g)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(describe(res))
	id := testIdentity(t, "11", 123)
	if res.Type != "11" || res.Barcode != id.Barcode || res.Context.PPE != "0101" {
		t.Fatalf("identity: %s", describe(res))
	}
	if res.Rotation != 0 || math.Abs(res.Skew) > 0.2 {
		t.Errorf("rotation %d skew %.2f, want upright", res.Rotation, res.Skew)
	}
	for id, want := range map[string]string{"t01_2": "marked", "t05_4": "marked", "removed": "marked", "t02_1": "empty", "t01_1": "empty", "unfinished": "empty"} {
		if got := res.Marks[id]; got != want {
			t.Errorf("mark %s = %q, want %q", id, got, want)
		}
	}
	if res.Ink["surname"] == 0 || res.Ink["signature"] == 0 || res.Ink["name"] != 0 {
		t.Errorf("ink %v", res.Ink)
	}
}
