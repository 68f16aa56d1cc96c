package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"giascan/forms"
	"giascan/hardware/sim"
	"giascan/station/ops"
	"giascan/station/reconcile"
	"giascan/station/store"
)

// plantSpec is the simulated stack of the end-to-end test: 20 planned
// sheets of one auditorium (five kits, the first two with a ДБО №2, then
// the ППЭ forms) with every problem of exam.md planted.
const plantSpec = "seed=1,count=20,profile=clean," +
	"dupscan=2," + // kit 1 лист 1 fed twice → duplicate_scan, seq 3
	"foreign=5," + // after kit 2 БО №1, a copy printed for another ППЭ → foreign, seq 7
	"gap=8," + // kit 2 ДБО №2 printed as лист 4 → chain_gap, sheet 3
	"removed=9," + // kit 3 БО №1 «удалён» flipped → removed_mismatch
	"drop=11," + // kit 3 лист 2 missing → missing, sheet 2
	"dupbarcode=13," + // kit 4 лист 1 with kit 3's barcode → duplicate_barcode, seq 12 and 14
	"smudge=16" // kit 5 лист 1 smudged → unreadable, seq 17

// planExam writes the exam file of the first auditorium of a planned stack.
func planExam(t *testing.T, sheets []sim.Sheet) (file string, place store.Place) {
	t.Helper()
	id := sheets[0].ID
	var kits []string
	for _, s := range sheets {
		if s.ID.Auditorium == id.Auditorium && s.ID.Sheet == 0 && s.ID.Type == forms.TypeBO1 {
			kits = append(kits, s.ID.Kit)
		}
	}
	ex := map[string]any{"level": id.Level, "subject": id.Subject, "region": id.Region,
		"date": id.Date[:4] + "-" + id.Date[4:6] + "-" + id.Date[6:],
		"ppe": []any{map[string]any{"code": id.PPE, "auditoriums": []any{
			map[string]any{"number": id.Auditorium, "kits": kits},
			map[string]any{"number": "0099"},
		}}}}
	data, _ := json.Marshal(ex)
	file = filepath.Join(t.TempDir(), "exam.json")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return file, store.Place{PPE: id.PPE, Auditorium: id.Auditorium}
}

// problemKey is what the test compares of a problem.
func problemKey(p reconcile.Problem) string {
	s := p.Kind
	if p.Seq != 0 {
		s += fmt.Sprintf(" seq=%d", p.Seq)
	}
	if p.Sheet != nil {
		s += fmt.Sprintf(" sheet=%d", *p.Sheet)
	}
	if p.Blank != "" {
		s += " " + p.Blank
	}
	return s
}

func reportOf(t *testing.T, dir string) *reconcile.Report {
	t.Helper()
	code, out, stderr := scanRunIn(t, "", "report", "--data", dir, "--json")
	if code != 0 {
		t.Fatalf("report: %d %s", code, stderr)
	}
	var rep reconcile.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("report JSON: %v\n%s", err, out)
	}
	return &rep
}

func keysOf(rep *reconcile.Report, place store.Place) (auditorium, unassigned []string) {
	a := ops.FindAuditorium(rep, place)
	for _, p := range a.Problems {
		auditorium = append(auditorium, problemKey(p))
	}
	for _, p := range rep.Unassigned {
		unassigned = append(unassigned, problemKey(p))
	}
	sort.Strings(auditorium)
	sort.Strings(unassigned)
	return
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, out, stderr := scanRunIn(t, "", args...)
	if code != 0 {
		t.Fatalf("%s: exit %d: %s", strings.Join(args, " "), code, stderr)
	}
	return out
}

// refused checks that a correction is refused with exit status 2 and a
// one-line message, and that the report did not change.
func refused(t *testing.T, dir string, want string, args ...string) {
	t.Helper()
	before, _ := json.Marshal(reportOf(t, dir))
	code, _, stderr := scanRunIn(t, "", args...)
	if code != 2 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, want) {
		t.Errorf("%s: exit %d, stderr %q; want 2 and %q", strings.Join(args, " "), code, stderr, want)
	}
	after, _ := json.Marshal(reportOf(t, dir))
	if string(before) != string(after) {
		t.Errorf("%s: refused but the report changed", strings.Join(args, " "))
	}
}

func TestReportAndCorrectionsEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("scans and recognises a simulated auditorium")
	}
	adf, err := sim.Open(plantSpec)
	if err != nil {
		t.Fatal(err)
	}
	stack := adf.Sheets()
	planned, _ := sim.Plan(1, 20)
	examFile, place := planExam(t, planned)
	dir := filepath.Join(t.TempDir(), "data")
	mustRun(t, "exam", "import", "--data", dir, examFile)
	mustRun(t, "scan", "--data", dir, "--ppe", place.PPE, "--auditorium", place.Auditorium,
		"--device", "sim:"+plantSpec, "--on-fault", "continue", "--workers", "2")

	// Before the ППЭ-13-02-МАШ is confirmed nothing can be counted against it.
	rep := reportOf(t, dir)
	got, _ := keysOf(rep, place)
	if !strings.Contains(strings.Join(got, ","), reconcile.KindFormMissing) {
		t.Errorf("without a confirmed ППЭ-13-02-МАШ: %v", got)
	}

	// Confirm the ППЭ-13-02-МАШ from its scan (seq 19), entering from the
	// paper whatever the recognizer was unsure of.
	formSeq := 19
	if stack[formSeq-1].ID.Type != forms.TypePPE1302 {
		t.Fatalf("sheet %d is type %s", formSeq, stack[formSeq-1].ID.Type)
	}
	truth, err := sim.Render(stack[formSeq-1], sim.Settings{Profile: sim.Clean})
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"form1302", "confirm", "--data", dir, "--user", "ivanova", "--ppe", place.PPE,
		"--auditorium", place.Auditorium, "--page", strconv.Itoa(formSeq)}
	if code, _, _ := scanRunIn(t, "", args...); code != 0 {
		st, err := store.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		f, err := ops.New(st, nil, nil).FormOf(store.Ref{Place: place, Seq: formSeq}, nil)
		st.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range f.Uncertain {
			args = append(args, "--set", id+"="+truth.Truth.Digits[id])
		}
		mustRun(t, args...)
	}

	rep = reportOf(t, dir)
	got, unassigned := keysOf(rep, place)
	want := []string{
		"chain_gap sheet=3",
		"count_mismatch bo2s1",
		"count_mismatch bo2s2",
		"duplicate_barcode seq=12 sheet=1",
		"duplicate_barcode seq=14 sheet=1",
		"duplicate_scan seq=3 sheet=1",
		"missing sheet=1",
		"missing sheet=2",
		"removed_mismatch",
		"unreadable seq=17",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("auditorium problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if strings.Join(unassigned, ",") != "foreign seq=7 sheet=0" {
		t.Errorf("unassigned: %v, want the foreign page 7", unassigned)
	}
	if a := ops.FindAuditorium(rep, place); a.Expected == nil || a.Status != reconcile.StatusOpen {
		t.Errorf("auditorium: expected %v, status %s", a.Expected, a.Status)
	}
	text := mustRun(t, "report", "--data", dir)
	for _, s := range []string{"Аудитория " + place.Auditorium, "[duplicate_scan] стр. 3", "удалите этот скан", "Страницы не своего ППЭ"} {
		if !strings.Contains(text, s) {
			t.Errorf("text report lacks %q:\n%s", s, text)
		}
	}

	// Bad input is refused in one line, exit 2, nothing changed.
	base := []string{"--data", dir, "--user", "ivanova", "--ppe", place.PPE, "--auditorium", place.Auditorium}
	k5 := planned[15] // kit 5 лист 1, smudged in the stack
	bad := k5.ID.Barcode[:12] + string("0123456789"[(int(k5.ID.Barcode[12]-'0')+1)%10])
	refused(t, dir, "причина удаления", append([]string{"page", "delete", "--page", "3"}, base...)...)
	refused(t, dir, "контрольная цифра", append([]string{"page", "identify", "--page", "17", "--barcode", bad, "--kit", k5.ID.Kit}, base...)...)
	refused(t, dir, "нет страницы 99", append([]string{"page", "delete", "--page", "99", "--reason", "x"}, base...)...)
	refused(t, dir, "причину закрытия", append([]string{"auditorium", "close"}, base...)...)
	refused(t, dir, "--page", append([]string{"page", "move", "--to", "0099"}, base...)...)

	// Fix: drop the repeat scan, identify the smudged page, delete the
	// foreign page.
	mustRun(t, append([]string{"page", "delete", "--page", "3", "--reason", "повторный скан"}, base...)...)
	mustRun(t, append([]string{"page", "identify", "--page", "17", "--barcode", k5.ID.Barcode, "--kit", k5.ID.Kit}, base...)...)
	mustRun(t, append([]string{"page", "delete", "--page", "7", "--reason", "бланк другого ППЭ, отложен"}, base...)...)

	rep = reportOf(t, dir)
	got, unassigned = keysOf(rep, place)
	want = []string{
		"chain_gap sheet=3",
		"count_mismatch bo2s2",
		"duplicate_barcode seq=12 sheet=1",
		"duplicate_barcode seq=14 sheet=1",
		"missing sheet=2",
		"removed_mismatch",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") || len(unassigned) != 0 {
		t.Errorf("after corrections:\n%s\nunassigned %v\nwant:\n%s", strings.Join(got, "\n"), unassigned, strings.Join(want, "\n"))
	}

	// Close with the problems that only paper can settle.
	mustRun(t, append([]string{"auditorium", "close", "--reason", "акт о дублировании штрихкода, лист 2 не найден"}, base...)...)
	rep = reportOf(t, dir)
	if a := ops.FindAuditorium(rep, place); a.Status != reconcile.StatusClosed || !strings.Contains(a.Reason, "акт") {
		t.Errorf("after close: status %s, reason %q", a.Status, a.Reason)
	}
	refused(t, dir, "закрыта", append([]string{"page", "delete", "--page", "12", "--reason", "x"}, base...)...)

	mustRun(t, "audit", "verify", "--data", dir)
	code, shown, _ := scanRunIn(t, "", "audit", "show", "--data", dir, "--actor", "ivanova")
	if code != 0 {
		t.Fatalf("audit show: %d", code)
	}
	for _, action := range []string{"удаление листа", "ввод штрихкода вручную", "закрытие аудитории", "подтверждение ППЭ-13-02-МАШ"} {
		if !strings.Contains(shown, action) {
			t.Errorf("audit show lacks %s:\n%s", action, shown)
		}
	}
}

func TestPageCorrections(t *testing.T) {
	if testing.Short() {
		t.Skip("scans and recognises a simulated auditorium")
	}
	planned, _ := sim.Plan(1, 20)
	examFile, place := planExam(t, planned)
	dir := filepath.Join(t.TempDir(), "data")
	mustRun(t, "exam", "import", "--data", dir, examFile)
	mustRun(t, "scan", "--data", dir, "--ppe", place.PPE, "--auditorium", place.Auditorium,
		"--device", "sim:seed=1,count=20,profile=clean", "--on-fault", "continue", "--workers", "2")
	base := []string{"--data", dir, "--user", "petrov", "--ppe", place.PPE, "--auditorium", place.Auditorium}

	// Typed ППЭ-13-02-МАШ: the arithmetic of a row is checked.
	refused(t, dir, "по списку", append([]string{"form1302", "confirm", "--row", place.Auditorium + "=9,5,1,0,0,5,5,5,2,0"}, base...)...)
	mustRun(t, append([]string{"form1302", "confirm", "--row", place.Auditorium + "=5,5,0,0,0,5,5,5,2,0"}, base...)...)

	// Rescan page 2 with the sheet fed again; replace page 4 with a file.
	mustRun(t, append([]string{"page", "rescan", "--page", "2", "--device", "sim:seed=1,count=20,profile=clean,from=2"}, base...)...)
	img := filepath.Join(t.TempDir(), "p4.png")
	sc, err := sim.Render(planned[3], sim.Settings{Profile: sim.Clean, DPI: 200})
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(img, sc.Data, 0o600)
	mustRun(t, append([]string{"page", "replace", "--page", "4", "--file", img}, base...)...)
	refused(t, dir, "уже есть", append([]string{"page", "insert", "--file", img}, base...)...)

	// Move page 1 to the other auditorium and back to see both reports.
	mustRun(t, append([]string{"page", "move", "--page", "1", "--to", "0099", "--reason", "не та пачка"}, base...)...)
	rep := reportOf(t, dir)
	other := ops.FindAuditorium(rep, store.Place{PPE: place.PPE, Auditorium: "0099"})
	if len(other.Problems) == 0 || other.Problems[0].Kind != reconcile.KindForeign || other.Problems[0].MoveTo != place.Auditorium {
		t.Errorf("moved page in 0099: %+v", other.Problems)
	}
	mustRun(t, "page", "move", "--data", dir, "--user", "petrov", "--ppe", place.PPE, "--auditorium", "0099", "--page", "1", "--to", place.Auditorium)
	rep = reportOf(t, dir)
	a := ops.FindAuditorium(rep, place)
	for _, p := range a.Problems {
		// The typed row carries no organiser marks: the blanks' marks
		// may disagree with it.
		if p.Kind != reconcile.KindNeedsReview && p.Kind != reconcile.KindRemovedMismatch && p.Kind != reconcile.KindUnfinishedMismatch {
			t.Errorf("after rescan, replace and moves: %s", problemKey(p))
		}
	}
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	p2, _ := st.Page(store.Ref{Place: place, Seq: 2})
	p4, _ := st.Page(store.Ref{Place: place, Seq: 4})
	st.Close()
	if p2.Rev != 1 || p2.Result == nil || p2.Result.Barcode != planned[1].ID.Barcode || p4.Rev != 1 || p4.Result == nil || p4.Result.Barcode != planned[3].ID.Barcode {
		t.Errorf("rescanned page 2 rev %d %+v; replaced page 4 rev %d", p2.Rev, p2.Result, p4.Rev)
	}

	// Recognise a page again; correct a value of an answer blank, refuse
	// another ППЭ's code, and undo the correction.
	mustRun(t, append([]string{"page", "recognize", "--page", "4"}, base...)...)
	st, err = store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	pages, _ := st.Pages(place)
	st.Close()
	var bo1 store.Page
	for _, p := range pages {
		if p.Status == store.Active && p.Result != nil && p.Result.Type == forms.TypeBO1 && p.Result.Digits["variant"] != "" {
			bo1 = p
			break
		}
	}
	seq := strconv.Itoa(bo1.Seq)
	was := bo1.Result.Digits["variant"]
	refused(t, dir, "не код этого ППЭ", append([]string{"review", "correct", "--page", seq, "--field", "ppe", "--value", "9999"}, base...)...)
	mustRun(t, append([]string{"review", "correct", "--page", seq, "--field", "variant", "--value", "7"}, base...)...)
	if out := mustRun(t, append([]string{"review", "undo", "--page", seq, "--field", "variant"}, base...)...); !strings.Contains(out, "восстановлено «"+was+"»") {
		t.Errorf("review undo: %s", out)
	}
	refused(t, dir, "нет подтверждений или исправлений", append([]string{"review", "undo", "--page", seq, "--field", "variant"}, base...)...)
	mustRun(t, "audit", "verify", "--data", dir)
}
