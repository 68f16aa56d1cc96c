package reconcile

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math/rand"
	"reflect"
	"sort"
	"strings"
	"testing"

	"giascan/forms"
	"giascan/station/exam"
)

const examFile = `{"level": 9, "subject": "02", "date": "2025-05-27", "region": "11", "ppe": [
  {"code": "0101", "auditoriums": [
    {"number": "0012", "kits": ["0000012345", "0000012346", "0000012347", "0000012348"]},
    {"number": "0014"},
    {"number": "0016"}]},
  {"code": "0102", "auditoriums": [{"number": "0001"}]}]}`

func testExam(t testing.TB) *exam.Exam {
	t.Helper()
	e, err := exam.Parse([]byte(examFile))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// stack builds the pages of one auditorium as the recognizer reports them,
// numbering them in feed order.
type stack struct {
	t     testing.TB
	ppe   string
	aud   string
	pages []Page
}

func newStack(t testing.TB, ppe, aud string) *stack { return &stack{t: t, ppe: ppe, aud: aud} }

// page returns a recognised answer page of kit and sheet with the QR
// context of ppe/aud; the barcode serial is derived from kit and sheet so
// that every sheet has its own barcode.
func (s *stack) page(ppe, aud, kit string, sheet int) forms.PageResult {
	s.t.Helper()
	typ := blankType(sheet)
	var serial uint64
	fmt.Sscan(kit, &serial)
	bc, err := forms.MakeBarcode(typ, (serial*100+uint64(sheet))%forms.MaxSerial)
	if err != nil {
		s.t.Fatal(err)
	}
	r := forms.NewPageResult("", 1)
	r.Type, r.Barcode = typ, bc
	r.Context = forms.Context{Level: 9, Region: "11", PPE: ppe, Auditorium: aud, Subject: "02",
		Date: "20250527", Kit: kit, Sheet: intp(sheet)}
	if typ == forms.TypeBO1 {
		r.Marks["removed"], r.Marks["unfinished"] = forms.MarkEmpty, forms.MarkEmpty
		r.Marks["t01_2"] = forms.MarkMarked
		r.Digits["variant"] = "0101"
		r.Digits["ppe"], r.Digits["auditorium"] = ppe, aud
		r.Ink["surname"] = 0.08
	} else {
		r.Ink["answer"] = 0.12
	}
	return r
}

// add feeds a page and returns its sequence number.
func (s *stack) add(r forms.PageResult) int {
	seq := len(s.pages) + 1
	file := fmt.Sprintf("scan%03d.png", seq)
	r.File = file
	s.pages = append(s.pages, Page{Seq: seq, File: file, SHA256: fmt.Sprintf("%x", sha256.Sum256([]byte(s.ppe+s.aud+file))), Result: r})
	return seq
}

// kit feeds a participant's БО №1, лист 1 and лист 2 of this auditorium.
func (s *stack) kit(kit string) {
	for sheet := 0; sheet <= 2; sheet++ {
		s.add(s.page(s.ppe, s.aud, kit, sheet))
	}
}

func (s *stack) scan() Scan { return Scan{PPE: s.ppe, Number: s.aud, Pages: s.pages} }

// want is a problem as a test expects it: kind plus the fields that
// identify it.
type want struct {
	kind   string
	seq    int
	kit    string
	sheet  int // -1: none
	blank  string
	moveTo string
}

func got(ps []Problem) []want {
	var out []want
	for _, p := range ps {
		w := want{kind: p.Kind, seq: p.Seq, kit: p.Kit, sheet: -1, blank: p.Blank, moveTo: p.MoveTo}
		if p.Sheet != nil {
			w.sheet = *p.Sheet
		}
		out = append(out, w)
	}
	return out
}

// scenario is one exam day with problems planted in auditorium 0012 of
// ППЭ 0101, a clean auditorium 0014, an unscanned 0016 and a closed
// auditorium of ППЭ 0102 whose form is not confirmed.
type scenario struct {
	in                        Input
	unreadable, foreign       int
	otherPPE, otherDate       int
	dupBarcodeA, dupBarcodeB  int
	dupScan, review, formPage int
}

func buildScenario(t testing.TB) *scenario {
	sc := &scenario{}
	a := newStack(t, "0101", "0012")
	// Kit 45: complete, but ДБО №2 sheets 3 and 5 — sheet 4 is lost.
	a.kit("0000012345")
	a.add(a.page("0101", "0012", "0000012345", 3))
	a.add(a.page("0101", "0012", "0000012345", 5))
	// Kit 46: лист 2 never scanned; БО №1 marked "removed", which the
	// ППЭ-13-02 does not show.
	bo1 := a.page("0101", "0012", "0000012346", 0)
	bo1.Marks["removed"] = forms.MarkMarked
	a.add(bo1)
	a.add(a.page("0101", "0012", "0000012346", 1))
	// Kit 47: лист 1 fed twice (a second scan of the same sheet: other
	// bytes, same content), and a second, different лист 2 printed with
	// the same barcode.
	a.kit("0000012347")
	again := a.page("0101", "0012", "0000012347", 1)
	again.Ink["answer"] = 0.125
	sc.dupScan = a.add(again)
	other := a.page("0101", "0012", "0000012347", 2)
	other.Ink["answer"] = 0.31
	sc.dupBarcodeB = a.add(other)
	// Kit 48: complete, БО №1 with a value awaiting a person.
	r := a.page("0101", "0012", "0000012348", 0)
	r.NeedsReview, r.Review = true, []string{"t01_2"}
	r.Marks["t01_2"] = forms.MarkAmbiguous
	sc.review = a.add(r)
	a.add(a.page("0101", "0012", "0000012348", 1))
	a.add(a.page("0101", "0012", "0000012348", 2))
	// A kit the plan does not know, complete.
	a.kit("0000012399")
	// A participant's БО №1 of auditorium 0014 in this stack.
	sc.foreign = a.add(a.page("0101", "0014", "0000099901", 0))
	// A blank of another ППЭ and one of another day.
	sc.otherPPE = a.add(a.page("0102", "0001", "0000077701", 1))
	od := a.page("0101", "0012", "0000012345", 2)
	od.Context.Date = "20250528"
	od.Barcode, _ = forms.MakeBarcode("22", 555)
	sc.otherDate = a.add(od)
	// A page with neither barcode nor QR.
	u := forms.NewPageResult("", 1)
	u.Flags = []string{forms.FlagNoBarcode, forms.FlagNoQR}
	sc.unreadable = a.add(u)
	// The ППЭ-13-02-МАШ travelling with the stack.
	f := forms.NewPageResult("", 1)
	f.Type, f.Barcode = forms.TypePPE1302, mustBarcode(t, forms.TypePPE1302, 42)
	f.Context = forms.Context{Level: 9, Region: "11", PPE: "0101", Auditorium: "0000", Subject: "02",
		Date: "20250527", Kit: forms.NoKit, Sheet: intp(0)}
	sc.formPage = a.add(f)
	// Find kit 47's first лист 2 by barcode rather than by counting.
	for _, p := range a.pages {
		if p.Result.Barcode == other.Barcode {
			sc.dupBarcodeA = p.Seq
			break
		}
	}

	b := newStack(t, "0101", "0014")
	b.kit("0000055501")
	b.kit("0000055502")
	b.add(b.page("0101", "0014", "0000055502", 3))

	sc.in = Input{
		Exam: testExam(t),
		Expected: map[string]map[string]Counts{"0101": {
			// 0012: one БО №1 more than scanned; one unfinished nobody marked.
			"0012": {Listed: 6, Present: 5, Absent: 1, Removed: 0, Unfinished: 1, BO1: 6, BO2S1: 5, BO2S2: 5, DBO2: 2},
			"0014": {Listed: 2, Present: 2, BO1: 2, BO2S1: 2, BO2S2: 2, DBO2: 1},
		}},
		Scans: []Scan{a.scan(), b.scan(),
			{PPE: "0102", Number: "0001", Closed: true, Reason: "Форма ППЭ-13-02 будет передана отдельно"}},
	}
	return sc
}

func mustBarcode(t testing.TB, typ string, serial uint64) string {
	t.Helper()
	b, err := forms.MakeBarcode(typ, serial)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReconcilePlantedProblems(t *testing.T) {
	sc := buildScenario(t)
	rep, err := Reconcile(sc.in)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.PPE) != 2 || len(rep.PPE[0].Auditoriums) != 3 || len(rep.PPE[1].Auditoriums) != 1 {
		t.Fatalf("shape: %+v", rep.PPE)
	}
	a12 := rep.PPE[0].Auditoriums[0]
	wantA := []want{
		{kind: KindUnreadable, seq: sc.unreadable, sheet: -1},
		{kind: KindForeign, seq: sc.foreign, kit: "0000099901", sheet: 0, moveTo: "0014"},
		{kind: KindDuplicateBarcode, seq: sc.dupBarcodeA, kit: "0000012347", sheet: 2},
		{kind: KindDuplicateBarcode, seq: sc.dupBarcodeB, kit: "0000012347", sheet: 2},
		{kind: KindDuplicateScan, seq: sc.dupScan, kit: "0000012347", sheet: 1},
		{kind: KindUnknownKit, kit: "0000012399", sheet: -1},
		{kind: KindMissing, kit: "0000012346", sheet: 2},
		{kind: KindChainGap, kit: "0000012345", sheet: 4},
		{kind: KindCountMismatch, blank: BlankBO1, sheet: -1},
		{kind: KindRemovedMismatch, sheet: -1},
		{kind: KindUnfinishedMismatch, sheet: -1},
		{kind: KindNeedsReview, seq: sc.review, kit: "0000012348", sheet: -1},
	}
	if g := got(a12.Problems); !reflect.DeepEqual(g, wantA) {
		t.Errorf("auditorium 0012 problems:\n got %+v\nwant %+v", g, wantA)
		for _, p := range a12.Problems {
			t.Log(p.Kind, p.Seq, p.Detail)
		}
	}
	// Every page problem names its file; every detail says what to do.
	for _, p := range a12.Problems {
		if p.Seq != 0 && p.File != fmt.Sprintf("scan%03d.png", p.Seq) {
			t.Errorf("%s seq %d: file %q", p.Kind, p.Seq, p.File)
		}
		if !strings.Contains(p.Detail, ":") || len([]rune(p.Detail)) < 30 {
			t.Errorf("%s: detail %q", p.Kind, p.Detail)
		}
	}
	// Repeats and foreign pages do not count; a second sheet with a
	// reused barcode does; the unreadable page and the form are other.
	wantScanned := Scanned{BO1: 5, BO2S1: 5, BO2S2: 5, DBO2: 2, Other: 2}
	if a12.Scanned != wantScanned {
		t.Errorf("0012 scanned %+v, want %+v", a12.Scanned, wantScanned)
	}
	if a12.Status != StatusOpen || a12.Expected == nil || a12.Expected.BO1 != 6 {
		t.Errorf("0012 status %s expected %+v", a12.Status, a12.Expected)
	}
	for _, p := range a12.Problems {
		switch p.Kind {
		case KindMissing:
			if !strings.Contains(p.Detail, "Лист 2 БО №2 комплекта 0000012346 не отсканирован") {
				t.Errorf("missing detail: %s", p.Detail)
			}
		case KindForeign:
			if !strings.Contains(p.Detail, "аудитории 0014") || !strings.Contains(p.Detail, "переложите") {
				t.Errorf("foreign detail: %s", p.Detail)
			}
		case KindRemovedMismatch:
			if !strings.Contains(p.Detail, "0000012346") {
				t.Errorf("removed detail does not name the kit: %s", p.Detail)
			}
		}
	}

	// The clean auditorium has nothing to report and is reconciled.
	a14 := rep.PPE[0].Auditoriums[1]
	if len(a14.Problems) != 0 || a14.Status != StatusReconciled {
		t.Errorf("clean auditorium 0014: %s %+v", a14.Status, a14.Problems)
	}
	if a14.Scanned != (Scanned{BO1: 2, BO2S1: 2, BO2S2: 2, DBO2: 1}) {
		t.Errorf("0014 scanned %+v", a14.Scanned)
	}
	// Nothing scanned and no row in the form.
	a16 := rep.PPE[0].Auditoriums[2]
	if g := got(a16.Problems); !reflect.DeepEqual(g, []want{{kind: KindFormMissing, sheet: -1}}) || a16.Status != StatusOpen || a16.Expected != nil {
		t.Errorf("0016: %s %+v", a16.Status, a16.Problems)
	}
	// Closed with a problem left: closed, with the operator's reason.
	a01 := rep.PPE[1].Auditoriums[0]
	if a01.Status != StatusClosed || a01.Reason == "" || len(a01.Problems) != 1 || a01.Problems[0].Kind != KindFormMissing {
		t.Errorf("closed 0102/0001: %+v", a01)
	}

	// Pages of another ППЭ and another day are quarantined.
	wantU := []want{
		{kind: KindForeign, seq: sc.otherPPE, kit: "0000077701", sheet: 1},
		{kind: KindForeign, seq: sc.otherDate, kit: "0000012345", sheet: 2},
	}
	if g := got(rep.Unassigned); !reflect.DeepEqual(g, wantU) {
		t.Errorf("unassigned:\n got %+v\nwant %+v", g, wantU)
	}
	for _, u := range rep.Unassigned {
		if u.PPE != "0101" || u.Auditorium != "0012" || u.Barcode == "" || u.MoveTo != "" {
			t.Errorf("unassigned entry does not say where it was found: %+v", u)
		}
	}
	if !strings.Contains(rep.Unassigned[1].Detail, "дата 28.05.2025") {
		t.Errorf("other date detail: %s", rep.Unassigned[1].Detail)
	}
}

func TestReconcileDeterministic(t *testing.T) {
	sc := buildScenario(t)
	first, err := Reconcile(sc.in)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(first)
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 20; i++ {
		in := sc.in
		in.Scans = append([]Scan(nil), sc.in.Scans...)
		rng.Shuffle(len(in.Scans), func(i, j int) { in.Scans[i], in.Scans[j] = in.Scans[j], in.Scans[i] })
		for k := range in.Scans {
			p := append([]Page(nil), in.Scans[k].Pages...)
			rng.Shuffle(len(p), func(i, j int) { p[i], p[j] = p[j], p[i] })
			in.Scans[k].Pages = p
		}
		rep, err := Reconcile(in)
		if err != nil {
			t.Fatal(err)
		}
		if g, _ := json.Marshal(rep); string(g) != string(want) {
			t.Fatalf("report depends on input order:\n%s\n%s", g, want)
		}
	}
}

func TestReconcileInputErrors(t *testing.T) {
	e := testExam(t)
	if _, err := Reconcile(Input{}); err == nil {
		t.Error("no exam accepted")
	}
	s := Scan{PPE: "0101", Number: "0014"}
	if _, err := Reconcile(Input{Exam: e, Scans: []Scan{s, s}}); err == nil {
		t.Error("an auditorium given twice accepted")
	}
}

func TestReconcileUnplannedAuditorium(t *testing.T) {
	s := newStack(t, "0101", "0099")
	s.add(s.page("0101", "0099", "0000012345", 0))
	s.add(s.page("0101", "0014", "0000012346", 0))
	rep, err := Reconcile(Input{Exam: testExam(t), Scans: []Scan{s.scan()}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Unassigned) != 2 {
		t.Fatalf("unassigned: %+v", rep.Unassigned)
	}
	if u := rep.Unassigned[1]; u.MoveTo != "0014" || u.Auditorium != "0099" || u.Seq != 2 {
		t.Errorf("a page of a planned auditorium scanned under an unplanned one: %+v", u)
	}
	for _, p := range rep.PPE[0].Auditoriums {
		if p.Scanned != (Scanned{}) {
			t.Errorf("%s counts pages of an unplanned auditorium: %+v", p.Number, p.Scanned)
		}
	}
}

func TestReconcileBarcodeAcrossAuditoriums(t *testing.T) {
	// One number printed on blanks of two auditoriums.
	a := newStack(t, "0101", "0014")
	b := newStack(t, "0101", "0016")
	pa := a.page("0101", "0014", "0000055501", 0)
	pb := b.page("0101", "0016", "0000055502", 0)
	pb.Barcode = pa.Barcode
	a.add(pa)
	b.add(pb)
	rep, err := Reconcile(Input{Exam: testExam(t), Scans: []Scan{a.scan(), b.scan()}})
	if err != nil {
		t.Fatal(err)
	}
	for i, num := range []string{"0014", "0016"} {
		aud := rep.PPE[0].Auditoriums[i+1]
		n := 0
		for _, p := range aud.Problems {
			if p.Kind == KindDuplicateBarcode {
				n++
				if p.Seq != 1 || !strings.Contains(p.Detail, "аудитории") {
					t.Errorf("%s: %+v", num, p)
				}
			}
		}
		if n != 1 || aud.Scanned.BO1 != 1 {
			t.Errorf("%s: want one duplicate_barcode and one БО №1, got %+v %+v", num, aud.Problems, aud.Scanned)
		}
	}
}

func TestReconcileMissingBO1(t *testing.T) {
	s := newStack(t, "0101", "0014")
	s.add(s.page("0101", "0014", "0000055501", 1))
	s.add(s.page("0101", "0014", "0000055501", 2))
	s.add(s.page("0101", "0014", "0000055501", 4))
	rep, err := Reconcile(Input{Exam: testExam(t), Scans: []Scan{s.scan()},
		Expected: map[string]map[string]Counts{"0101": {"0014": {Listed: 1, Present: 1, BO1: 1, BO2S1: 1, BO2S2: 1, DBO2: 1}}}})
	if err != nil {
		t.Fatal(err)
	}
	g := got(rep.PPE[0].Auditoriums[1].Problems)
	w := []want{
		{kind: KindMissing, kit: "0000055501", sheet: 0},
		{kind: KindChainGap, kit: "0000055501", sheet: 3},
		{kind: KindCountMismatch, blank: BlankBO1, sheet: -1},
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("got %+v\nwant %+v", g, w)
	}
}

// exampleReport is the report of exam.md with its placeholders filled.
const exampleReport = `{
  "exam": {"level": 9, "subject": "02", "date": "2025-05-27", "region": "11"},
  "ppe": [
    {"code": "0101",
     "auditoriums": [
       {"number": "0012",
        "expected": {"listed": 15, "present": 14, "absent": 1, "removed": 0, "unfinished": 1,
                     "bo1": 14, "bo2s1": 14, "bo2s2": 14, "dbo2": 3},
        "scanned": {"bo1": 14, "bo2s1": 14, "bo2s2": 13, "dbo2": 3, "other": 0},
        "problems": [
          {"kind": "missing", "kit": "0000012346", "sheet": 2, "detail": "x"}
        ],
        "status": "open"}
     ]}
  ],
  "unassigned": [ {"kind": "foreign", "barcode": "2200000005554", "detail": "y"} ]
}`

// keys collects every object key path of a JSON document, with array
// elements merged, e.g. "ppe[].auditoriums[].expected.listed".
func keys(t *testing.T, data []byte) map[string]bool {
	t.Helper()
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	var walk func(string, any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				p := k
				if path != "" {
					p = path + "." + k
				}
				out[p] = true
				walk(p, c)
			}
		case []any:
			for _, c := range x {
				walk(path+"[]", c)
			}
		}
	}
	walk("", v)
	return out
}

func TestReportJSONShape(t *testing.T) {
	// The example of exam.md decodes into Report and encodes back to the
	// same document (apart from the keys this project adds).
	var rep Report
	if err := json.Unmarshal([]byte(exampleReport), &rep); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var a, b any
	json.Unmarshal([]byte(exampleReport), &a)
	json.Unmarshal(out, &b)
	// defective is this project's addition to expected.
	delete(b.(map[string]any)["ppe"].([]any)[0].(map[string]any)["auditoriums"].([]any)[0].(map[string]any)["expected"].(map[string]any), "defective")
	if !reflect.DeepEqual(a, b) {
		t.Errorf("round trip changed the report:\n%s", out)
	}

	// A real report uses every key of the example with the same nesting.
	sc := buildScenario(t)
	real, err := Reconcile(sc.in)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(real)
	have := keys(t, data)
	var missing []string
	for k := range keys(t, []byte(exampleReport)) {
		if !have[k] {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("report lacks keys of exam.md: %v", missing)
	}
	// sheet 0 (БО №1) is written, not dropped as a zero value; expected is
	// absent, not null, before the form is confirmed; lists are [] not null.
	var doc struct {
		PPE []struct {
			Auditoriums []map[string]json.RawMessage `json:"auditoriums"`
		} `json:"ppe"`
		Unassigned json.RawMessage `json:"unassigned"`
	}
	json.Unmarshal(data, &doc)
	if _, ok := doc.PPE[0].Auditoriums[2]["expected"]; ok {
		t.Error("expected present for an auditorium without a confirmed form")
	}
	if string(doc.PPE[0].Auditoriums[1]["problems"]) != "[]" {
		t.Errorf("clean problems = %s", doc.PPE[0].Auditoriums[1]["problems"])
	}
	if !strings.Contains(string(data), `"kind":"foreign","kit":"0000099901","sheet":0`) {
		t.Error("sheet 0 of a foreign БО №1 not written")
	}
	empty, _ := Reconcile(Input{Exam: testExam(t)})
	if data, _ := json.Marshal(empty); !strings.Contains(string(data), `"unassigned":[]`) {
		t.Errorf("empty report: %s", data)
	}
}

// FuzzReconcile feeds arbitrary recognizer lines as one auditorium's stack:
// whatever the recognizer says, the report is made, counts every sheet at
// most once and ties every page problem to a page that was fed.
func FuzzReconcile(f *testing.F) {
	sc := buildScenario(f)
	var lines []string
	for _, p := range sc.in.Scans[0].Pages {
		b, _ := json.Marshal(p.Result)
		lines = append(lines, string(b))
	}
	f.Add(strings.Join(lines, "\n"))
	f.Add(`{"type":"11","barcode":"1100000000007","context":{"level":9,"region":"11","ppe":"0101","auditorium":"0012","subject":"02","date":"20250527","kit":"0000012345"}}`)
	f.Add(`{"type":"23","barcode":"x","context":{"level":9,"region":"11","ppe":"0101","auditorium":"0012","subject":"02","date":"20250527","kit":"0000000000","sheet":2}}`)
	e := testExam(f)
	f.Fuzz(func(t *testing.T, data string) {
		var pages []Page
		for i, line := range strings.Split(data, "\n") {
			var r forms.PageResult
			if json.Unmarshal([]byte(line), &r) != nil {
				continue
			}
			pages = append(pages, Page{Seq: i + 1, Result: r})
		}
		rep, err := Reconcile(Input{Exam: e, Scans: []Scan{{PPE: "0101", Number: "0012", Pages: pages}}})
		if err != nil {
			t.Fatal(err)
		}
		a := rep.PPE[0].Auditoriums[0]
		s := a.Scanned
		if s.BO1+s.BO2S1+s.BO2S2+s.DBO2+s.Other > len(pages) {
			t.Fatalf("counted %+v from %d pages", s, len(pages))
		}
		for _, p := range append(a.Problems, rep.Unassigned...) {
			if p.Seq < 0 || p.Seq > len(strings.Split(data, "\n")) || p.Detail == "" {
				t.Fatalf("bad problem %+v", p)
			}
		}
	})
}

// t0 lets fuzz seeds be built with the test helpers outside a test.
type t0 struct{ testing.TB }

func (t0) Helper()           {}
func (t0) Fatal(args ...any) { panic(fmt.Sprint(args...)) }
