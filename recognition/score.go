package recognition

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"giascan/forms"
)

// Scores compares recognizer output with ground truth (truth.jsonl of the
// simulated scanner), page by page.
type Scores struct {
	Pages, Missing int
	// IdentityOK counts pages whose type, barcode and context are right.
	IdentityOK int
	// Marks and digit fields: how many there were and how many are right.
	Marks, MarksOK   int
	Fields, FieldsOK int
	// Reviewed counts pages sent to a person.
	Reviewed int
	// Silent lists values that are wrong and not marked for review: the
	// errors the station must never make.
	Silent []string
}

// Score compares got with truth; pages are matched by file and page.
func Score(truth, got []forms.PageResult) Scores {
	type key struct {
		file string
		page int
	}
	byKey := map[key]*forms.PageResult{}
	for i := range got {
		byKey[key{got[i].File, got[i].Page}] = &got[i]
	}
	var s Scores
	for _, t := range truth {
		s.Pages++
		g, ok := byKey[key{t.File, t.Page}]
		if !ok {
			s.Missing++
			s.Silent = append(s.Silent, fmt.Sprintf("%s#%d: no output", t.File, t.Page))
			continue
		}
		if g.NeedsReview {
			s.Reviewed++
		}
		where := fmt.Sprintf("%s#%d", t.File, t.Page)
		silent := func(field string, want, have any) {
			s.Silent = append(s.Silent, fmt.Sprintf("%s: %s = %v, truth %v", where, field, have, want))
		}
		inReview := func(id string) bool { return slices.Contains(g.Review, id) }
		ctxT, ctxG := jsonOf(t.Context), jsonOf(g.Context)
		if t.Type == g.Type && t.Barcode == g.Barcode && ctxT == ctxG {
			s.IdentityOK++
		}
		if t.Type != g.Type && !inReview("type") {
			silent("type", t.Type, g.Type)
		}
		if t.Barcode != g.Barcode && !inReview("barcode") {
			silent("barcode", t.Barcode, g.Barcode)
		}
		if ctxT != ctxG && !inReview("context") {
			silent("context", ctxT, ctxG)
		}
		if t.Error == "" && g.Error != "" {
			silent("error", "", g.Error)
		}
		if t.Rotation != g.Rotation && g.Type != "" {
			silent("rotation", t.Rotation, g.Rotation)
		}
		for id, want := range t.Marks {
			s.Marks++
			have, ok := g.Marks[id]
			if have == want {
				s.MarksOK++
			} else if ok && !inReview(id) || !ok && g.Type != "" {
				silent(id, want, have)
			}
		}
		for id, want := range t.Digits {
			s.Fields++
			have, ok := g.Digits[id]
			if have == want {
				s.FieldsOK++
			} else if ok && !inReview(id) || !ok && g.Type != "" {
				silent(id, want, have)
			}
		}
	}
	return s
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func pct(a, b int) float64 {
	if b == 0 {
		return 100
	}
	return 100 * float64(a) / float64(b)
}

// String summarises the scores on one line.
func (s Scores) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "pages %d (missing %d, reviewed %d): identity %.1f%%, marks %.2f%% of %d, digit fields %.1f%% of %d, silent errors %d",
		s.Pages, s.Missing, s.Reviewed, pct(s.IdentityOK, s.Pages), pct(s.MarksOK, s.Marks), s.Marks,
		pct(s.FieldsOK, s.Fields), s.Fields, len(s.Silent))
	return b.String()
}

// ReadResults parses JSON lines of recognizer output or truth.
func ReadResults(data []byte) ([]forms.PageResult, error) {
	var out []forms.PageResult
	for i, line := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var r forms.PageResult
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		out = append(out, r)
	}
	return out, nil
}
