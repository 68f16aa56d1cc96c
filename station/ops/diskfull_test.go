package ops

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"giascan/hardware"
	"giascan/station/audit"
	"giascan/station/exam"
	"giascan/station/store"
)

// On a disk that fills up, a correction and its audit entry both land or
// neither does: never a change the log does not know of.
func TestFullDiskCorrectionAndAuditLandTogether(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })

	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log, err := audit.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ex, err := exam.Parse([]byte(`{"level":9,"subject":"02","date":"2025-05-27","region":"11","ppe":[{"code":"0101","auditoriums":[{"number":"0012"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetExam(ex); err != nil {
		t.Fatal(err)
	}
	place := store.Place{PPE: "0101", Auditorium: "0012"}
	const pages = 40
	for i := 1; i <= pages; i++ {
		p := hardware.Page{Seq: i, Data: []byte(fmt.Sprintf("page %d %s", i, strings.Repeat("x", 2000))), Format: "png", Side: hardware.Front}
		if _, _, err := st.Add(context.Background(), place, p, "sim"); err != nil {
			t.Fatal(err)
		}
	}
	o := New(st, log, nil)

	// Fill the disk to the last byte.
	filler := filepath.Join(dir, "filler")
	f, _ := os.Create(filler)
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			break
		}
	}
	for {
		if _, err := f.Write(chunk[:1]); err != nil {
			break
		}
	}
	f.Close()

	landed, refused := 0, 0
	for i := 1; i <= pages; i++ {
		_, err := o.Delete("op1", store.Ref{Place: place, Seq: i}, "повторный скан")
		if err != nil {
			if !IsInput(err) && !strings.Contains(err.Error(), "мест") {
				t.Errorf("page %d: %v: want a refusal that says the disk is full", i, err)
			}
			refused++
			continue
		}
		landed++
	}
	if refused == 0 {
		t.Fatal("no correction was refused on a full disk: the test did not fill it")
	}
	check := func(when string) int {
		t.Helper()
		logged := map[int]bool{}
		x, err := audit.ReadExcerpt(dir, audit.Filter{Action: audit.ActionPageDelete})
		if err != nil {
			t.Fatalf("%s: audit log: %v", when, err)
		}
		for _, e := range x.Entries {
			logged[e.Subject.Page] = true
		}
		ps, _ := st.Pages(place)
		deleted := 0
		for _, p := range ps {
			if (p.Status == store.Deleted) != logged[p.Seq] {
				t.Errorf("%s: page %d is %s but the audit log says deleted=%v", when, p.Seq, p.Status, logged[p.Seq])
			}
			if p.Status == store.Deleted {
				deleted++
			}
		}
		return deleted
	}
	if n := check("on the full disk"); n != landed {
		t.Errorf("%d pages deleted, %d corrections reported done", n, landed)
	}
	// The log survives a restart whole, and once space is freed the
	// corrections go on.
	log.Close()
	os.Remove(filler)
	if log, err = audit.Open(dir); err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	o = New(st, log, nil)
	for i := 1; i <= pages; i++ {
		if p, _ := st.Page(store.Ref{Place: place, Seq: i}); p.Status == store.Active {
			if _, err := o.Delete("op1", store.Ref{Place: place, Seq: i}, "повторный скан"); err != nil {
				t.Fatalf("after freeing space, page %d: %v", i, err)
			}
		}
	}
	if n := check("after freeing space"); n != pages {
		t.Errorf("%d pages deleted after freeing space, want %d", n, pages)
	}
	if _, err := audit.VerifyFile(filepath.Join(dir, audit.FileName)); err != nil {
		t.Errorf("audit log does not verify: %v", err)
	}
	t.Logf("on the full disk: %d corrections landed with their entries, %d refused with nothing changed", landed, refused)
}
