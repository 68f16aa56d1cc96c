package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"giascan/atomicfile"
	"giascan/station/packaging"
	"giascan/station/store"
	"giascan/transport/seal"
)

// The tests here kill a real station process with SIGKILL at an exact
// system call, as a power cut or the OOM killer would, and check that the
// next run recovers. strace injects the signal: -P picks the file, the
// syscall list the moment.

// stationBinary builds the station command into a temporary folder, or
// takes the one GIASCAN_STATION_BIN names (to check that an older build
// fails these tests).
func stationBinary(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("strace"); err != nil {
		t.Skip("strace is not installed (make deps installs it)")
	}
	return buildStation(t)
}

// buildStation builds the station command into a temporary folder, or
// takes the one GIASCAN_STATION_BIN names.
func buildStation(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("GIASCAN_STATION_BIN"); bin != "" {
		return bin
	}
	bin := filepath.Join(t.TempDir(), "station")
	if b, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return bin
}

// killAt runs the station with args and has it killed by SIGKILL at the
// first of syscalls that touches path. It fails the test unless the
// process was killed there.
func killAt(t *testing.T, bin, path, syscalls string, args ...string) {
	t.Helper()
	log := filepath.Join(t.TempDir(), "strace.log")
	cmd := exec.Command("strace", append([]string{"-f", "-o", log, "-P", path,
		"-e", "trace=" + syscalls, "-e", "inject=" + syscalls + ":signal=SIGKILL:when=1", bin}, args...)...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || !ee.Sys().(syscall.WaitStatus).Signaled() {
		b, _ := os.ReadFile(log)
		t.Fatalf("station %s was not killed at %s of %s: %v\n%s\nstrace:\n%s", strings.Join(args, " "), syscalls, path, err, out, b)
	}
}

// runBin runs the station binary and fails the test on a non-zero exit.
func runBin(t *testing.T, bin string, args ...string) string {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("station %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// closedStation is pkgStation with the auditorium closed, ready to seal.
func closedStation(t *testing.T) (dir string, place store.Place, identity string) {
	t.Helper()
	dir, place, identity = pkgStation(t)
	mustRun(t, "auditorium", "close", "--data", dir, "--ppe", place.PPE, "--auditorium", place.Auditorium, "--reason", "сдано", "--user", "op1")
	return dir, place, identity
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

func TestSealKilledMidwayRecovers(t *testing.T) {
	if testing.Short() {
		t.Skip("scans a simulated auditorium and runs the station under strace")
	}
	bin := stationBinary(t)
	dir, place, identity := pkgStation(t)
	closeAud := []string{"auditorium", "close", "--data", dir, "--ppe", place.PPE, "--auditorium", place.Auditorium, "--reason", "сдано", "--user", "op1"}
	build := []string{"package", "build", "--data", dir, "--ppe", place.PPE, "--auditorium", place.Auditorium}
	list := []string{"package", "list", "--data", dir, "--ppe", place.PPE}

	// The package's name, from closing (which seals) a copy of the folder.
	probe := filepath.Join(t.TempDir(), "probe")
	if b, err := exec.Command("cp", "-a", dir, probe).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, b)
	}
	mustRun(t, "auditorium", "close", "--data", probe, "--ppe", place.PPE, "--auditorium", place.Auditorium, "--reason", "сдано", "--user", "op1")
	sealed, err := packaging.List(probe, place.PPE)
	if err != nil || len(sealed) != 1 {
		t.Fatalf("probe build: %v %v", sealed, err)
	}
	name := sealed[0].Manifest.Name()
	base := filepath.Join(packaging.OutboxDir(dir, place.PPE), name)

	// Closing seals at once. Killed as the ciphertext is linked into
	// place: the auditorium is closed, only a temporary is left of its
	// package, and recovery on start removes it.
	killAt(t, bin, base+seal.CiphertextExt, "link,linkat", closeAud...)
	tmps, _ := filepath.Glob(filepath.Join(packaging.OutboxDir(dir, place.PPE), atomicfile.TempPrefix+"*"))
	if len(tmps) == 0 || exists(base+seal.CiphertextExt) {
		t.Fatalf("after a kill at the ciphertext: temporaries %v, ciphertext there: %v", tmps, exists(base+seal.CiphertextExt))
	}
	r, err := packaging.Recover(dir)
	if err != nil || len(r.Removed) != len(tmps) || len(r.Damaged) != 0 {
		t.Fatalf("Recover after a kill at the ciphertext: %+v, %v; want %v removed", r, err, tmps)
	}
	if left, _ := filepath.Glob(filepath.Join(packaging.OutboxDir(dir, place.PPE), atomicfile.TempPrefix+"*")); len(left) != 0 {
		t.Fatalf("temporaries left after Recover: %v", left)
	}

	// Killed between the ciphertext and the signature: the version is
	// unfinished. Nobody sees it, and the next build completes it by
	// itself, with no recovery run first.
	killAt(t, bin, base+seal.SignatureExt, "link,linkat", build...)
	if !exists(base+seal.CiphertextExt) || exists(base+seal.SignatureExt) {
		t.Fatalf("kill did not land between ciphertext (%v) and signature (%v)", exists(base+seal.CiphertextExt), exists(base+seal.SignatureExt))
	}
	if out := runBin(t, bin, list...); strings.Contains(out, name) {
		t.Errorf("package list shows the unfinished version:\n%s", out)
	}
	out := runBin(t, bin, build...)
	if !strings.Contains(out, name) {
		t.Errorf("rebuild after the kill printed %q, want it to seal %s", out, name)
	}
	if out := runBin(t, bin, list...); !strings.Contains(out, name) {
		t.Errorf("package list after the rebuild:\n%s\nwant %s", out, name)
	}
	sealed, err = packaging.List(dir, place.PPE)
	if err != nil || len(sealed) != 1 || sealed[0].Manifest.Name() != name {
		t.Fatalf("outbox after the rebuild: %v %v", sealed, err)
	}
	if err := packaging.Verify(sealed[0]); err != nil {
		t.Errorf("rebuilt package does not verify: %v", err)
	}
	p := openSealed(t, dir, sealed[0], identity)
	if len(p.Manifest.Pages) == 0 {
		t.Errorf("rebuilt package holds no pages")
	}
	// Export sees it too.
	to := t.TempDir()
	runBin(t, bin, "export", "--data", dir, "--ppe", place.PPE, "--to", to)
	if !exists(filepath.Join(to, "giascan-"+place.PPE, name+seal.CiphertextExt)) {
		t.Errorf("export after the rebuild did not write %s", name)
	}
}

// sumsHold checks the medium folder is never falsely complete: either it
// has no SHA256SUMS or sha256sum verifies every file it lists.
func sumsHold(t *testing.T, folder string) bool {
	t.Helper()
	if !exists(filepath.Join(folder, packaging.SumsName)) {
		return false
	}
	c := exec.Command("sha256sum", "--strict", "-c", packaging.SumsName)
	c.Dir = folder
	if b, err := c.CombinedOutput(); err != nil {
		t.Fatalf("%s on the medium does not verify: a medium that was good is now broken: %v\n%s", packaging.SumsName, err, b)
	}
	return true
}

func TestExportKilledMidwayRecovers(t *testing.T) {
	if testing.Short() {
		t.Skip("scans a simulated auditorium and runs the station under strace")
	}
	bin := stationBinary(t)
	if _, err := exec.LookPath("sha256sum"); err != nil {
		t.Skip("sha256sum is not installed")
	}
	dir, place, _ := closedStation(t)
	mustRun(t, "package", "build", "--data", dir, "--ppe", place.PPE, "--auditorium", place.Auditorium)
	sealed, err := packaging.List(dir, place.PPE)
	if err != nil || len(sealed) != 1 {
		t.Fatalf("outbox: %v %v", sealed, err)
	}
	to := t.TempDir()
	export := []string{"export", "--data", dir, "--ppe", place.PPE, "--to", to}
	folder := filepath.Join(to, "giascan-"+place.PPE)
	runBin(t, bin, export...)
	if !sumsHold(t, folder) {
		t.Fatal("the first export wrote no SHA256SUMS")
	}

	// Exporting again to the same medium, killed as the ciphertext is
	// written or put in place, then as SHA256SUMS is.
	places := "write,rename,renameat,renameat2"
	for _, f := range []string{filepath.Base(sealed[0].Ciphertext), filepath.Base(sealed[0].Signature), packaging.SumsName} {
		killAt(t, bin, filepath.Join(folder, f), places, export...)
		if sumsHold(t, folder) {
			t.Logf("killed at %s: SHA256SUMS still verifies", f)
		}
	}
	if hidden, _ := filepath.Glob(filepath.Join(folder, ".*")); len(hidden) == 0 {
		t.Errorf("the killed exports left no temporaries: the kills did not land where intended")
	}

	// The next export cleans up and leaves a medium that verifies.
	runBin(t, bin, export...)
	if !sumsHold(t, folder) {
		t.Fatal("the export after the kills wrote no SHA256SUMS")
	}
	if hidden, _ := filepath.Glob(filepath.Join(folder, ".*")); len(hidden) != 0 {
		t.Errorf("temporaries left on the medium: %v", hidden)
	}
	ents, _ := os.ReadDir(folder)
	if len(ents) != 3 {
		t.Errorf("medium holds %d files, want ciphertext, signature and %s", len(ents), packaging.SumsName)
	}
}
