package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"giascan/hardware/folder"
	"giascan/station/audit"
	"giascan/station/store"
)

const scanExam = `{"level":9,"subject":"02","date":"2025-05-27","region":"11",
 "ppe":[{"code":"0101","auditoriums":[{"number":"0012","kits":["0000012345"]},{"number":"0014"}]}]}`

// scanRunIn runs one command line in-process with stdin.
func scanRunIn(t testing.TB, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), &env{stdout: &out, stderr: &errb, stdin: strings.NewReader(stdin)}, args)
	return code, out.String(), errb.String()
}

// scanExamDir makes a data folder with the exam imported.
func scanExamDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	file := filepath.Join(t.TempDir(), "exam.json")
	os.WriteFile(file, []byte(scanExam), 0o600)
	if code, _, stderr := scanRunIn(t, "", "exam", "import", "--data", dir, file); code != 0 {
		t.Fatalf("import: %d %s", code, stderr)
	}
	return dir
}

func scanLines(t *testing.T, stdout string) []scanLine {
	t.Helper()
	var out []scanLine
	for _, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
		if l == "" {
			continue
		}
		var s scanLine
		if err := json.Unmarshal([]byte(l), &s); err != nil {
			t.Fatalf("stdout line %q: %v", l, err)
		}
		out = append(out, s)
	}
	return out
}

func TestExamImportRefusesABadFileWhole(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(strings.Replace(scanExam, `"0014"`, `"14"`, 1)), 0o600)
	code, _, stderr := scanRunIn(t, "", "exam", "import", "--data", dir, bad)
	if code != 2 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "ppe[0].auditoriums[1].number") {
		t.Fatalf("code %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatal("a refused import wrote the data folder")
	}
	if code, _, _ := scanRunIn(t, "", "exam", "import", "--data", dir, "/no/such/file"); code != 2 {
		t.Fatalf("missing file: %d", code)
	}
	good := scanExamDir(t)
	if _, err := audit.VerifyFile(filepath.Join(good, audit.FileName)); err != nil {
		t.Fatal(err)
	}
}

func TestScanRefusesBadInputWritingNothing(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "empty")
	withExam := scanExamDir(t)
	before := scanTree(t, withExam)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no exam", []string{"--data", empty, "--ppe", "0101", "--auditorium", "0012", "--device", "sim"}, "экзамен не импортирован"},
		{"ppe not in exam", []string{"--data", withExam, "--ppe", "0202", "--auditorium", "0012", "--device", "sim"}, "нет в импортированном экзамене"},
		{"auditorium not in exam", []string{"--data", withExam, "--ppe", "0101", "--auditorium", "0013", "--device", "sim"}, "нет в импортированном экзамене"},
		{"unknown device", []string{"--data", withExam, "--ppe", "0101", "--auditorium", "0012", "--device", "hp5000"}, "неизвестное устройство"},
		{"missing folder", []string{"--data", withExam, "--ppe", "0101", "--auditorium", "0012", "--device", "folder:/no/such"}, "folder"},
		{"no device", []string{"--data", withExam, "--ppe", "0101", "--auditorium", "0012"}, "не указан сканер"},
		{"bad sim args", []string{"--data", withExam, "--ppe", "0101", "--auditorium", "0012", "--device", "sim:bogus=1"}, "sim"},
		{"bad source", []string{"--data", withExam, "--ppe", "0101", "--auditorium", "0012", "--device", "sim", "--source", "Flatbed"}, "--source"},
		{"bad ppe", []string{"--data", withExam, "--ppe", "101", "--auditorium", "0012", "--device", "sim"}, "--ppe"},
	}
	for _, c := range cases {
		code, stdout, stderr := scanRunIn(t, "", append([]string{"scan"}, c.args...)...)
		if code != 2 || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, c.want) {
			t.Errorf("%s: code %d, stdout %q, stderr %q", c.name, code, stdout, stderr)
		}
	}
	if _, err := os.Stat(empty); !os.IsNotExist(err) {
		t.Error("a scan without an exam made the data folder")
	}
	if after := scanTree(t, withExam); after != before {
		t.Errorf("refused scans changed the data folder:\n%s\n---\n%s", before, after)
	}
}

// scanTree lists a data folder's files with sizes, store.db left out (bbolt
// may touch its pages when opened).
func scanTree(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() != store.DBName {
			fi, _ := d.Info()
			fmt.Fprintf(&b, "%s %d\n", p, fi.Size())
		}
		return nil
	})
	return b.String()
}

func TestScanWithDeviceEventsStoresEveryPageOnce(t *testing.T) {
	dir := scanExamDir(t)
	// Two Enter presses for two events; the operator clears the device.
	code, stdout, stderr := scanRunIn(t, "\n\n", "scan", "--data", dir, "--ppe", "0101", "--auditorium", "0012",
		"--device", "sim:seed=5,count=8,profile=clean,jam=3,gone=6", "--dpi", "150", "--mode", "lineart", "--workers", "2")
	if code != 0 {
		t.Fatalf("code %d: %s", code, stderr)
	}
	for _, want := range []string{"Замятие бумаги после страницы 3: извлеките застрявший лист из сканера, расправьте его и положите в лоток поверх остальных листов — он ещё не отсканирован; затем продолжите",
		"Сканер отключился после страницы 6", "Итог:", "Распознано: 8"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	lines := scanLines(t, stdout)
	if len(lines) != 8 {
		t.Fatalf("%d lines", len(lines))
	}
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pages, _ := st.Pages(store.Place{PPE: "0101", Auditorium: "0012"})
	for i, l := range lines {
		if l.Seq != i+1 || pages[i].SHA256 != l.SHA256 || pages[i].Result == nil || pages[i].Result.Barcode == "" {
			t.Fatalf("line %d %+v, page %+v", i, l, pages[i])
		}
	}
	res, err := audit.VerifyFile(filepath.Join(dir, audit.FileName))
	if err != nil || res.Entries < 8+4 {
		t.Fatalf("audit: %+v %v", res, err)
	}
}

func TestScanStopsAtAFaultWithoutAnOperator(t *testing.T) {
	dir := scanExamDir(t)
	spec := "sim:seed=6,count=5,profile=clean,jam=2"
	code, stdout, stderr := scanRunIn(t, "", "scan", "--data", dir, "--ppe", "0101", "--auditorium", "0014",
		"--device", spec, "--dpi", "150", "--mode", "lineart")
	if code != 1 || len(scanLines(t, stdout)) != 2 || !strings.Contains(stderr, "запустите station scan снова") {
		t.Fatalf("code %d, stdout %q, stderr %s", code, stdout, stderr)
	}
	// The next run goes on from page 3.
	code, stdout, stderr = scanRunIn(t, "", "scan", "--data", dir, "--ppe", "0101", "--auditorium", "0014",
		"--device", spec, "--dpi", "150", "--mode", "lineart")
	lines := scanLines(t, stdout)
	if code != 0 || len(lines) != 3 || lines[0].Seq != 3 {
		t.Fatalf("code %d, lines %+v, stderr %s", code, lines, stderr)
	}
}

// TestScanSurvivesKills runs `station scan` on a 300-page simulated stack
// and kills it with SIGKILL at random moments, restarting each time. After
// every kill the store opens, the audit log verifies, every page printed so
// far is there exactly once with the same SHA-256, and nothing half-written
// is visible.
func TestScanSurvivesKills(t *testing.T) {
	count, kills := 300, 20
	if testing.Short() {
		count, kills = 60, 4
	}
	bin := filepath.Join(t.TempDir(), "station")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	dir := scanExamDir(t)
	place := store.Place{PPE: "0101", Auditorium: "0012"}
	args := []string{"scan", "--data", dir, "--ppe", place.PPE, "--auditorium", place.Auditorium,
		"--device", fmt.Sprintf("sim:seed=11,count=%d,profile=clean", count), "--dpi", "150", "--mode", "lineart"}
	rng := rand.New(rand.NewPCG(20250527, 1))
	printed := map[int]string{} // seq → sha256 of every line ever printed
	start := time.Now()
	killed, finished := 0, false
	var killedAt []int
	orphans, temps, partials := 0, 0, int64(0)

	for run := 0; !finished; run++ {
		cmd := exec.Command(bin, args...)
		cmd.Stderr = &bytes.Buffer{}
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan scanLine)
		go func() {
			defer close(lines)
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				var l scanLine
				if json.Unmarshal(sc.Bytes(), &l) == nil {
					lines <- l
				}
			}
		}()
		// Kill after a random number of new pages and a random instant
		// after that, so kills land in writes, commits, audit appends and
		// recognition alike; the last run goes to the end.
		wait := -1
		if killed < kills {
			// About an even share of the pages left, so every kill falls
			// before the stack is done.
			share := max(1, (count-len(printed))/(kills-killed+1))
			wait = rng.IntN(2 * share)
		}
		var delay <-chan time.Time
		if wait == 0 {
			delay = time.After(time.Duration(rng.IntN(400)) * time.Millisecond)
		}
		got := 0
	read:
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					break read
				}
				if old, seen := printed[l.Seq]; seen && old != l.SHA256 {
					t.Fatalf("page %d printed with two SHA-256s", l.Seq)
				}
				printed[l.Seq] = l.SHA256
				got++
				if wait > 0 && got == wait {
					delay = time.After(time.Duration(rng.IntN(150)) * time.Millisecond)
				}
			case <-delay:
				cmd.Process.Signal(syscall.SIGKILL)
				delay = nil
			}
		}
		err = cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			killed++
			killedAt = append(killedAt, len(printed))
		} else if err != nil {
			t.Fatalf("run %d: %v\n%s", run, err, cmd.Stderr)
		} else {
			finished = true
		}
		rec, partial := scanCheckStore(t, dir, place, printed, finished, count)
		orphans += len(rec.Orphans)
		temps += len(rec.TempsRemoved)
		partials += partial
		if run > kills+5 {
			t.Fatal("the scan does not finish")
		}
	}
	t.Logf("%d pages, %d kills at %v pages printed, %s in all; recovered %d orphan images, %d temporary files, %d unfinished audit lines",
		count, killed, killedAt, time.Since(start).Round(time.Millisecond), orphans, temps, partials)
}

// scanCheckStore checks the data folder after a run ended, killed or not.
// It returns what the store recovered and the audit log's unfinished bytes.
func scanCheckStore(t *testing.T, dir string, place store.Place, printed map[int]string, finished bool, count int) (store.Recovery, int64) {
	t.Helper()
	ares, err := audit.VerifyFile(filepath.Join(dir, audit.FileName))
	if err != nil {
		t.Fatalf("audit log: %v", err)
	}
	st, err := store.Open(dir)
	if err != nil {
		t.Fatalf("store after kill: %v", err)
	}
	defer st.Close()
	if r := st.Recovery(); len(r.Damaged) > 0 {
		t.Fatalf("damage after kill: %+v", r.Damaged)
	}
	pages, err := st.Pages(place)
	if err != nil {
		t.Fatal(err)
	}
	shas := map[string]bool{}
	for i, p := range pages {
		if p.Seq != i+1 || p.Status != store.Active {
			t.Fatalf("page %d: seq %d status %s", i+1, p.Seq, p.Status)
		}
		if shas[p.SHA256] {
			t.Fatalf("page %d stored twice", p.Seq)
		}
		shas[p.SHA256] = true
		if sha, ok := printed[p.Seq]; ok && sha != p.SHA256 {
			t.Fatalf("page %d: printed %s, stored %s", p.Seq, sha, p.SHA256)
		}
		if _, err := st.Image(p); err != nil {
			t.Fatalf("page %d: %v", p.Seq, err)
		}
	}
	for seq := range printed {
		if seq > len(pages) {
			t.Fatalf("page %d was printed but is not stored (%d stored)", seq, len(pages))
		}
	}
	// Nothing half-written is left where pages are: no temporary files,
	// no image without a record (Open moved those to orphans).
	entries, _ := os.ReadDir(filepath.Join(dir, store.PagesDir, place.PPE, place.Auditorium))
	if len(entries) != len(pages) {
		t.Fatalf("%d files for %d pages", len(entries), len(pages))
	}
	if finished {
		if len(pages) != count {
			t.Fatalf("finished with %d pages of %d", len(pages), count)
		}
		un, _ := st.Unrecognised()
		if len(un) > 0 {
			t.Fatalf("%d pages left unrecognised", len(un))
		}
	}
	return st.Recovery(), ares.Partial
}

// station scanners lists what discovery finds, with the spec to scan
// with: at least the simulator's profiles here.
func TestScannersListsDiscoveredDevices(t *testing.T) {
	code, out, stderr := scanRunIn(t, "", "scanners", "--wait", "2s")
	if code != 0 || !strings.Contains(out, "sim:profile=hard") {
		t.Fatalf("scanners: %d %q %s", code, out, stderr)
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if len(strings.Split(line, "\t")) < 3 {
			t.Errorf("line %q: want adapter, spec and name", line)
		}
	}
}

// A folder spec with settings is taken as the folder and its settings.
func TestFolderSpecWithSettings(t *testing.T) {
	dir := t.TempDir()
	if _, err := checkDevice("folder:" + dir + ",settle=1s,watch"); err != nil {
		t.Fatalf("folder with settings refused: %v", err)
	}
	if _, err := checkDevice("folder:" + dir + "/нет,settle=1s"); err == nil || !strings.Contains(err.Error(), "папки") {
		t.Fatalf("a missing folder with settings: %v", err)
	}
}

// A multi-page PDF or TIFF dropped in the watch folder becomes one page
// per page of the file, in order, and feeding the folder again after an
// interruption stores none twice.
func TestWatchFolderMultiPageFileBecomesAllItsPages(t *testing.T) {
	if _, err := exec.LookPath("img2pdf"); err != nil {
		t.Skip("img2pdf is not installed (make deps installs it)")
	}
	scans := t.TempDir()
	if code, _, stderr := scanRunIn(t, "", "testscan", "--out", scans, "--count", "3", "--seed", "5", "--profile", "clean"); code != 0 {
		t.Fatalf("testscan: %s", stderr)
	}
	watch := t.TempDir()
	pdf := filepath.Join(watch, "stack.pdf")
	if out, err := exec.Command("img2pdf", "-o", pdf, filepath.Join(scans, "0001.png"), filepath.Join(scans, "0002.png"), filepath.Join(scans, "0003.png")).CombinedOutput(); err != nil {
		t.Fatalf("img2pdf: %v %s", err, out)
	}
	dir := scanExamDir(t)
	scan := []string{"scan", "--data", dir, "--ppe", "0101", "--auditorium", "0014", "--device", "folder:" + watch + ",settle=200ms", "--on-fault", "continue"}
	for run := 0; run < 2; run++ {
		if code, _, stderr := scanRunIn(t, "", scan...); code != 0 {
			t.Fatalf("scan %d: %d %s", run, code, stderr)
		}
		os.Remove(filepath.Join(watch, folder.StateFile)) // forget the delivery record: the file comes again
	}
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pages, _ := st.Pages(store.Place{PPE: "0101", Auditorium: "0014"})
	var names []string
	for _, p := range pages {
		names = append(names, p.Source)
	}
	if strings.Join(names, " ") != "stack.pdf#1 stack.pdf#2 stack.pdf#3" {
		t.Errorf("stored pages %v, want the PDF's three pages once each", names)
	}
}
