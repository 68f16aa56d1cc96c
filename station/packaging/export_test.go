package packaging

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"giascan/atomicfile"
	"giascan/transport/seal"
)

// renameFails is a medium on which renaming into one name fails, as when
// the stick is pulled out at that moment.
type renameFails struct {
	OSMedium
	suffix string
}

func (m renameFails) Rename(from, to string) error {
	if strings.HasSuffix(to, m.suffix) {
		return &os.LinkError{Op: "rename", Old: from, New: to, Err: syscall.EIO}
	}
	return os.Rename(from, to)
}

func sha256sumCheck(t *testing.T, dir string) error {
	t.Helper()
	if _, err := exec.LookPath("sha256sum"); err != nil {
		t.Skip("sha256sum is not installed")
	}
	c := exec.Command("sha256sum", "--strict", "-c", SumsName)
	c.Dir = dir
	if b, err := c.CombinedOutput(); err != nil {
		return errors.New(string(b))
	}
	return nil
}

func TestExportNeverLeavesChecksumsThatDoNotVerify(t *testing.T) {
	f := newOutbox(t)
	f.seal(t, "0012", 1)
	f.seal(t, "0013", 1)
	to := t.TempDir()
	out, err := Export(f.data, f.ppe, to, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := sha256sumCheck(t, out.Dir); err != nil {
		t.Fatalf("first export does not verify: %v", err)
	}

	// A rebuild makes v2 of 0012; exporting it fails while the new
	// ciphertext is being put in place.
	v2 := f.seal(t, "0012", 2)
	_, err = Export(f.data, f.ppe, to, renameFails{suffix: filepath.Base(v2) + seal.CiphertextExt})
	if err == nil || !strings.Contains(err.Error(), "повторите выгрузку") {
		t.Fatalf("export on a failing medium: %v, want a Russian sentence saying to export again", err)
	}
	// The medium is plainly incomplete, not falsely complete.
	if _, err := os.Stat(filepath.Join(out.Dir, SumsName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s left after a failed export: %v", SumsName, err)
	}
	if tmps, _ := filepath.Glob(filepath.Join(out.Dir, atomicfile.TempPrefix+"*")); len(tmps) != 0 {
		t.Errorf("temporaries left after a failed export: %v", tmps)
	}

	// Leftovers of an export killed earlier, in the old and new naming.
	for _, n := range []string{legacySumsTemp, atomicfile.TempPrefix + filepath.Base(v2) + seal.CiphertextExt + ".x1"} {
		os.WriteFile(filepath.Join(out.Dir, n), []byte("half"), 0o640)
	}
	out, err = Export(f.data, f.ppe, to, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := sha256sumCheck(t, out.Dir); err != nil {
		t.Fatalf("export after a failed one does not verify: %v", err)
	}
	sums, _ := os.ReadFile(filepath.Join(out.Dir, SumsName))
	if !strings.Contains(string(sums), filepath.Base(v2)+seal.CiphertextExt) {
		t.Errorf("SHA256SUMS does not list v2:\n%s", sums)
	}
	hidden, _ := filepath.Glob(filepath.Join(out.Dir, ".*"))
	if len(hidden) != 0 {
		t.Errorf("hidden files left on the medium: %v", hidden)
	}
}
