package exam

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// example is the exam file of exam.md, plus an end time and a key the
// project does not know.
const example = `{
  "level": 9,
  "subject": "02",
  "date": "2025-05-27",
  "region": "11",
  "ends": "13:55",
  "comment": "sent by the РЦОИ",
  "ppe": [
    {"code": "0101",
     "auditoriums": [
       {"number": "0012", "kits": ["0000012345", "0000012346"]},
       {"number": "0014"}
     ]}
  ]
}`

func TestParseExample(t *testing.T) {
	e, err := Parse([]byte(example))
	if err != nil {
		t.Fatal(err)
	}
	if e.Level != 9 || e.Subject != "02" || e.Date != "2025-05-27" || e.Region != "11" || e.Ends != "13:55" {
		t.Fatalf("header: %+v", e)
	}
	if e.QRDate() != "20250527" {
		t.Errorf("QRDate = %q", e.QRDate())
	}
	a := e.FindAuditorium("0101", "0012")
	if a == nil || !a.PlansKits() || !a.HasKit("0000012346") || a.HasKit("0000012347") {
		t.Errorf("auditorium 0012: %+v", a)
	}
	if b := e.FindAuditorium("0101", "0014"); b == nil || b.PlansKits() {
		t.Errorf("auditorium 0014: %+v", b)
	}
	if e.FindAuditorium("0101", "0013") != nil || e.FindAuditorium("0102", "0012") != nil {
		t.Error("found an auditorium the exam does not plan")
	}
	if p, a, ok := e.FindKit("0000012345"); !ok || p != "0101" || a != "0012" {
		t.Errorf("FindKit = %s %s %v", p, a, ok)
	}
	ctx := e.Context()
	if !e.SameExam(ctx) {
		t.Error("an exam's own context is not the same exam")
	}
	ctx.Date = "20250528"
	if e.SameExam(ctx) {
		t.Error("another date is the same exam")
	}
	loc := time.FixedZone("MSK", 3*3600)
	end, ok := e.EndsAt(loc)
	if !ok || !end.Equal(time.Date(2025, 5, 27, 13, 55, 0, 0, loc)) {
		t.Errorf("EndsAt = %v %v", end, ok)
	}
	if err := e.Validate(); err != nil {
		t.Errorf("a parsed exam does not validate: %v", err)
	}
	// Round trip through Marshal keeps everything Parse knows.
	data, err := e.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	again, err := Parse(data)
	if err != nil {
		t.Fatalf("re-parse: %v\n%s", err, data)
	}
	if again.FindAuditorium("0101", "0012").Kits[1] != "0000012346" || again.Ends != "13:55" {
		t.Errorf("round trip lost data: %s", data)
	}
}

func TestParseRefusesWithPath(t *testing.T) {
	base := func(repl ...string) string { return strings.NewReplacer(repl...).Replace(example) }
	cases := []struct {
		name string
		file string
		want []string // each must appear in the error, in this order
	}{
		{"level 10", base(`"level": 9`, `"level": 10`), []string{"level: 10: want 9"}},
		{"level string", base(`"level": 9`, `"level": "9"`), []string{`level: "9" is not a number`}},
		{"level fraction", base(`"level": 9`, `"level": 9.0`), []string{"level: 9.0"}},
		{"subject unknown", base(`"subject": "02"`, `"subject": "99"`), []string{`subject: "99" is not a known subject`}},
		{"subject number", base(`"subject": "02"`, `"subject": 2`), []string{"subject: 2 is a number"}},
		{"subject short", base(`"subject": "02"`, `"subject": "2"`), []string{`subject: "2" is not 2 digits`}},
		{"date format", base(`"2025-05-27"`, `"27.05.2025"`), []string{`date: "27.05.2025" is not a date`}},
		{"date impossible", base(`"2025-05-27"`, `"2025-02-30"`), []string{`date: "2025-02-30"`}},
		{"region", base(`"region": "11"`, `"region": "1"`), []string{`region: "1" is not 2 digits`}},
		{"ends", base(`"13:55"`, `"25:00"`), []string{`ends: "25:00" is not a time`}},
		{"ends short", base(`"13:55"`, `"9:05"`), []string{`ends: "9:05"`}},
		{"ppe code", base(`"code": "0101"`, `"code": "101"`), []string{`ppe[0].code: "101" is not 4 digits`}},
		{"auditorium short", base(`"number": "0014"`, `"number": "12"`), []string{`ppe[0].auditoriums[1].number: "12" is not 4 digits`}},
		{"auditorium 0000", base(`"number": "0014"`, `"number": "0000"`), []string{`ppe[0].auditoriums[1].number: 0000 is reserved`}},
		{"auditorium twice", base(`"number": "0014"`, `"number": "0012"`), []string{`ppe[0].auditoriums[1].number: "0012" is already used by ppe[0].auditoriums[0]`}},
		{"kit short", base(`"0000012346"`, `"12346"`), []string{`ppe[0].auditoriums[0].kits[1]: "12346" is not 10 digits`}},
		{"kit twice", base(`"0000012346"`, `"0000012345"`), []string{`ppe[0].auditoriums[0].kits[1]: "0000012345" is already planned at ppe[0].auditoriums[0].kits[0]`}},
		{"kit none", base(`"0000012346"`, `"0000000000"`), []string{`ppe[0].auditoriums[0].kits[1]: 0000000000`}},
		{"kits not array", base(`"kits": ["0000012345", "0000012346"]`, `"kits": "0000012345"`), []string{`ppe[0].auditoriums[0].kits: "0000012345" is not an array`}},
		{"no auditoriums", base(`"auditoriums": [`, `"rooms": [`), []string{"ppe[0].auditoriums: missing"}},
		{"empty ppe", `{"level": 9, "subject": "02", "date": "2025-05-27", "region": "11", "ppe": []}`, []string{"ppe: empty"}},
		{"ppe object", `{"level": 9, "subject": "02", "date": "2025-05-27", "region": "11", "ppe": {}}`, []string{"ppe: an object is not an array"}},
		{"missing all", `{}`, []string{"level: missing", "subject: missing", "date: missing", "region: missing", "ppe: missing"}},
		{"key twice", base(`"level": 9,`, `"level": 9, "level": 11,`), []string{"level: given twice"}},
		{"null", `null`, []string{"must be a JSON object"}},
		{"array", `[]`, []string{"must be a JSON object"}},
		{"broken json", `{"level": 9,`, []string{"not valid JSON"}},
		{"trailing", example + `{}`, []string{"data after the exam object"}},
		{"many at once", base(`"level": 9`, `"level": 8`, `"region": "11"`, `"region": "XX"`, `"number": "0014"`, `"number": "14"`),
			[]string{"level: 8", `region: "XX"`, `ppe[0].auditoriums[1].number: "14"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Parse([]byte(tc.file))
			if err == nil {
				t.Fatalf("accepted: %+v", e)
			}
			if e != nil {
				t.Error("returned an exam with an error")
			}
			var inv *InvalidError
			if !errors.As(err, &inv) {
				t.Fatalf("error %T is not *InvalidError", err)
			}
			msg := err.Error()
			rest := msg
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("error does not name %q (in order):\n%s", w, msg)
				}
				rest = rest[i+len(w):]
			}
			if len(inv.Problems) != len(tc.want) {
				t.Errorf("want %d problems, got %d: %s", len(tc.want), len(inv.Problems), msg)
			}
		})
	}
}

func TestParseKitsUniqueAcrossPPE(t *testing.T) {
	f := `{"level": 11, "subject": "01", "date": "2025-06-02", "region": "77", "ppe": [
	  {"code": "0101", "auditoriums": [{"number": "0001", "kits": ["1000000001"]}]},
	  {"code": "0102", "auditoriums": [{"number": "0001", "kits": ["1000000001"]}]},
	  {"code": "0101", "auditoriums": [{"number": "0002"}]}]}`
	_, err := Parse([]byte(f))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, w := range []string{
		`ppe[1].auditoriums[0].kits[0]: "1000000001" is already planned at ppe[0].auditoriums[0].kits[0]`,
		`ppe[2].code: "0101" is already used by ppe[0]`,
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("missing %q in %v", w, err)
		}
	}
	// The same auditorium number in two ППЭ is normal.
	ok := `{"level": 11, "subject": "01", "date": "2025-06-02", "region": "77", "ppe": [
	  {"code": "0101", "auditoriums": [{"number": "0001"}]},
	  {"code": "0102", "auditoriums": [{"number": "0001"}]}]}`
	if _, err := Parse([]byte(ok)); err != nil {
		t.Error(err)
	}
}

func TestParseDeepNesting(t *testing.T) {
	deep := `{"level": 9, "x": ` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`
	if _, err := Parse([]byte(deep)); err == nil || !strings.Contains(err.Error(), "nested deeper") {
		t.Errorf("deep nesting: %v", err)
	}
}

func TestValidateBuiltExam(t *testing.T) {
	e := &Exam{Level: 11, Subject: "01", Date: "2025-06-02", Region: "77",
		PPE: []PPE{{Code: "0101", Auditoriums: []Auditorium{{Number: "0001"}}}}}
	if err := e.Validate(); err != nil {
		t.Fatal(err)
	}
	e.PPE[0].Auditoriums[0].Number = "1"
	if err := e.Validate(); err == nil || !strings.Contains(err.Error(), "ppe[0].auditoriums[0].number") {
		t.Errorf("Validate: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(example))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"level": 11, "subject": "01", "date": "2025-06-02", "region": "77", "ppe": [{"code": "0101", "auditoriums": [{"number": "0001", "kits": []}]}]}`))
	f.Add([]byte(`[1, "a", null, true, {"a": {"a": []}}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := Parse(data)
		if err != nil {
			var inv *InvalidError
			if !errors.As(err, &inv) || len(inv.Problems) == 0 {
				t.Fatalf("error without problems: %v", err)
			}
			if e != nil {
				t.Fatal("exam returned with an error")
			}
			return
		}
		// Whatever Parse accepts must hold the promised shape and survive
		// a round trip through Marshal.
		if e.Level != 9 && e.Level != 11 || len(e.PPE) == 0 || len(e.QRDate()) != 8 {
			t.Fatalf("accepted a bad exam: %+v", e)
		}
		for _, p := range e.PPE {
			for _, a := range p.Auditoriums {
				if e.FindAuditorium(p.Code, a.Number) == nil || a.Number == "0000" {
					t.Fatalf("lookup of %s/%s fails", p.Code, a.Number)
				}
			}
		}
		if err := e.Validate(); err != nil {
			t.Fatalf("accepted exam does not validate: %v", err)
		}
	})
}
