package sim

import (
	"bytes"
	"context"
	"testing"

	"giascan/forms"
	"giascan/hardware"
)

func TestRenderDrawingIsDeterministic(t *testing.T) {
	d, err := forms.ComposeCalibration()
	if err != nil {
		t.Fatal(err)
	}
	skew := 1.5
	a, err := RenderDrawingTweaked(d, Settings{Profile: Real}, 4, Tweaks{Skew: &skew})
	if err != nil {
		t.Fatal(err)
	}
	b, err := RenderDrawingTweaked(d, Settings{Profile: Real}, 4, Tweaks{Skew: &skew})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Data, b.Data) || a.Truth.Skew != -1.5 {
		t.Fatalf("same seed, different scans, or skew truth %g", a.Truth.Skew)
	}
	if _, err := RenderDrawing(nil, Settings{Profile: Clean}, 1); err == nil {
		t.Fatal("nil drawing scanned")
	}
}

func TestDrawingFeeder(t *testing.T) {
	d, _ := forms.ComposeCalibration()
	f, err := OpenDrawing(d, "calibration,count=2,seed=3,dpierr=-1.5,noise=5")
	if err != nil {
		t.Fatal(err)
	}
	var seqs []int
	err = f.Scan(context.Background(), hardware.Options{DPI: 200}, func(p hardware.Page) error {
		if p.DPI != 200 || p.Format != "png" {
			t.Errorf("page %d: %d dpi %s", p.Seq, p.DPI, p.Format)
		}
		seqs = append(seqs, p.Seq)
		return nil
	})
	if err != nil || len(seqs) != 2 {
		t.Fatalf("scan: %v, pages %v", err, seqs)
	}
	for _, bad := range []string{"bogus=1", "turn=45", "dpierr=80", "faint=0", "profile=best", "count=0", "skew"} {
		if _, err := OpenDrawing(d, bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
