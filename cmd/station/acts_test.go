package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"giascan/hardware/sim"
)

// The acts on the command line: bad input is refused with one Russian
// line and exit status 2; an incident is filed and signed once; the
// acceptance act printed to PDF, rasterised as a scanner would see the
// signed paper, is matched back; the list of removed participants is
// printed.
func TestActsCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("scans a simulated auditorium")
	}
	planned, err := sim.Plan(5, 6)
	if err != nil {
		t.Fatal(err)
	}
	examFile, place := planExam(t, planned)
	dir := filepath.Join(t.TempDir(), "data")
	mustRun(t, "exam", "import", "--data", dir, examFile)
	mustRun(t, "scan", "--data", dir, "--ppe", place.PPE, "--auditorium", place.Auditorium,
		"--device", "sim:seed=5,count=6,profile=clean,removed=1", "--on-fault", "continue", "--workers", "2")
	base := []string{"--data", dir, "--ppe", place.PPE, "--user", "petrova"}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"incident", "--kind", "flood", "--text", "вода"}, "вид нештатной ситуации \"flood\" неизвестен"},
		{[]string{"incident", "--kind", "power_cut", "--text", ""}, "не описаны обстоятельства"},
		{[]string{"incident", "--kind", "power_cut", "--text", "x", "--auditorium", "0555"}, "аудитории \"0555\" нет"},
		{[]string{"sign", "--act", "3"}, "акта № 3"},
	} {
		code, _, stderr := scanRunIn(t, "", append(append([]string{"acts", c.args[0]}, base...), c.args[1:]...)...)
		if code != 2 || !strings.Contains(stderr, c.want) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("%v: exit %d %q, want 2 and %q", c.args, code, stderr, c.want)
		}
	}
	code, _, stderr := scanRunIn(t, "", "acts", "list", "--data", dir, "--ppe", "9999")
	if code != 2 || !strings.Contains(stderr, "нет в файле экзамена") {
		t.Errorf("wrong ППЭ: exit %d %q", code, stderr)
	}
	out := mustRun(t, append(append([]string{"acts", "incident"}, base...), "--kind", "scanner_failure", "--text", "Сканер остановился на 40-м листе", "--auditorium", place.Auditorium)...)
	if !strings.Contains(out, "Акт № 1") {
		t.Errorf("incident: %q", out)
	}
	if out := mustRun(t, append(append([]string{"acts", "sign"}, base...), "--act", "1")...); !strings.Contains(out, "подписан (petrova") {
		t.Errorf("sign: %q", out)
	}
	if out := mustRun(t, append(append([]string{"acts", "sign"}, base...), "--act", "1")...); !strings.Contains(out, "уже подписан") {
		t.Errorf("sign again: %q", out)
	}
	pdf := filepath.Join(t.TempDir(), "acceptance.pdf")
	out = mustRun(t, append(append([]string{"acts", "acceptance"}, base...), "--envelopes", "2", "--used-kim", "6", "--out", pdf)...)
	if !strings.Contains(out, "расхождений") {
		t.Errorf("acceptance: %q", out)
	}
	if _, err := exec.LookPath("qpdf"); err == nil {
		if b, err := exec.Command("qpdf", "--check", pdf).CombinedOutput(); err != nil {
			t.Errorf("qpdf --check: %v\n%s", err, b)
		}
	}
	if _, err := exec.LookPath("pdftoppm"); err != nil {
		t.Skip("pdftoppm is not installed")
	}
	prefix := filepath.Join(t.TempDir(), "signed")
	if b, err := exec.Command("pdftoppm", "-r", "200", "-gray", "-png", "-singlefile", pdf, prefix).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v %s", err, b)
	}
	if out := mustRun(t, append(append([]string{"acts", "match"}, base...), "--file", prefix+".png")...); !strings.Contains(out, "сверен и сохранён") {
		t.Errorf("match: %q", out)
	}
	lst := filepath.Join(t.TempDir(), "removed.pdf")
	out = mustRun(t, append(append([]string{"acts", "removed"}, base...), "--out", lst)...)
	if !strings.Contains(out, "бланков с отметками 1") {
		t.Errorf("removed: %q", out)
	}
	if _, err := os.Stat(lst); err != nil {
		t.Error(err)
	}
	out = mustRun(t, "acts", "list", "--data", dir, "--ppe", place.PPE)
	for _, want := range []string{"подписанная копия сверена", "акт № 1", "подписан petrova", "бланков с отметками 1"} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %q:\n%s", want, out)
		}
	}
}
