package recognition

import (
	"flag"
	"fmt"
	"runtime"
	"slices"
	"testing"

	"giascan/forms"
	"giascan/hardware/sim"
	"giascan/recognition/imagein"
)

// corpusPages sets the size of the accuracy corpora, pages per profile:
//
//	go test ./recognition/ -run TestCorpusAccuracy -corpus=300 -v
//
// Without it a few pages per profile are read: enough to catch a silent
// error, too few to hold the percentages to their targets.
var corpusPages = flag.Int("corpus", 0, "pages per profile for TestCorpusAccuracy (0: a small smoke run without the percentage targets)")

// corpusSeedFlag draws other corpora than the one the targets were tuned
// on, to see whether a change holds on pages it was not made for:
//
//	go test ./recognition/ -run TestCorpusAccuracy -corpus=200 -corpusseed=11 -v
var corpusSeedFlag = flag.Int64("corpusseed", corpusSeed, "seed of the simulated corpora of TestCorpusAccuracy")

// corpusProfile limits TestCorpusAccuracy to one profile (clean, real or hard).
var corpusProfile = flag.String("corpusprofile", "", "read only this profile in TestCorpusAccuracy (default: all)")

const (
	smokePages = 4
	corpusSeed = 20250527
)

// corpusTarget is what the station must reach on a profile, in percent;
// 0 is not checked.
type corpusTarget struct {
	profile  sim.Profile
	identity float64 // type, barcode and context right and not in review
	marks    float64
	fields   float64
}

var corpusTargets = []corpusTarget{
	{sim.Clean, 99.9, 0, 98},
	{sim.Real, 99.5, 99.9, 98},
	{sim.Hard, 98, 0, 0},
}

// TestCorpusAccuracy renders simulated corpora as station testscan does
// (sim.Plan and sim.Render with the profile's own mix of resolutions,
// formats and faults) and reads them with the station's recognizer. On
// every profile no wrong value may go out unmarked (silent errors); with
// -corpus the rates are checked too. The scores of each profile
// are logged, and every page whose identity was not read for certain.
func TestCorpusAccuracy(t *testing.T) {
	n := *corpusPages
	if n == 0 {
		n = smokePages
	}
	rc := benchRecognizer(t)
	for _, tg := range corpusTargets {
		if *corpusProfile != "" && string(tg.profile) != *corpusProfile {
			continue
		}
		t.Run(string(tg.profile), func(t *testing.T) {
			truth, got := readCorpus(t, rc, tg.profile, n)
			s := Score(truth, got)
			ident, fromDigits, digitsTried := 0, 0, 0
			for i := range truth {
				if got[i].BarcodeDigits != "" {
					digitsTried++
				}
				if slices.Contains(got[i].Flags, forms.FlagBarcodeFromDigits) {
					fromDigits++
				}
				if identityRight(truth[i], got[i]) {
					ident++
					continue
				}
				t.Logf("identity not certain: %s truth type=%q barcode=%q; got %s", truth[i].File, truth[i].Type, truth[i].Barcode, describe(got[i]))
			}
			idPct, marksPct, fieldsPct := pct(ident, s.Pages), pct(s.MarksOK, s.Marks), pct(s.FieldsOK, s.Fields)
			t.Logf("%s: %d pages, identity %.2f%% (not in review), marks %.3f%% of %d, digit fields %.2f%% of %d, reviewed %d pages, silent errors %d",
				tg.profile, s.Pages, idPct, marksPct, s.Marks, fieldsPct, s.Fields, s.Reviewed, len(s.Silent))
			t.Logf("%s: bars not read on %d pages, barcode taken from the printed digits on %d", tg.profile, digitsTried, fromDigits)
			for i, e := range s.Silent {
				if i == 50 {
					t.Errorf("… and %d more silent errors", len(s.Silent)-50)
					break
				}
				t.Errorf("silent error: %s", e)
			}
			if *corpusPages == 0 {
				return
			}
			check := func(what string, have, want float64) {
				if want > 0 && have < want {
					t.Errorf("%s %.2f%%, target %.1f%%", what, have, want)
				}
			}
			check("identity", idPct, tg.identity)
			check("marks right", marksPct, tg.marks)
			check("digit fields right", fieldsPct, tg.fields)
		})
	}
}

// readCorpus renders n pages of a profile and reads each, in parallel;
// truth and results come back in page order, matched by a file name.
func readCorpus(t *testing.T, rc *Recognizer, p sim.Profile, n int) (truth, got []forms.PageResult) {
	t.Helper()
	sheets, err := sim.Plan(*corpusSeedFlag, n)
	if err != nil {
		t.Fatal(err)
	}
	truth = make([]forms.PageResult, n)
	got = make([]forms.PageResult, n)
	errs := make([]error, n)
	parallel(n, runtime.NumCPU(), func(i int) {
		sc, err := sim.Render(sheets[i], sim.Settings{Profile: p})
		if err != nil {
			errs[i] = err
			return
		}
		name := fmt.Sprintf("%s/%04d.%s", p, i+1, sc.Ext)
		truth[i] = sc.Truth
		truth[i].File, truth[i].Page = name, 1
		d, err := imagein.FromBytes(sc.Data, name, imagein.Limits{})
		if err != nil {
			errs[i] = err
			return
		}
		got[i], errs[i] = rc.Document(d, 0)
		d.Close()
		got[i].File, got[i].Page = name, 1
	})
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return truth, got
}
