package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"giascan/station/audit"
)

func auditRun(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), &env{stdout: &out, stderr: &errb, stdin: strings.NewReader("")}, args)
	return code, out.String(), errb.String()
}

// auditFixture writes a small log to a new data folder.
func auditFixture(t *testing.T) (string, []audit.Entry) {
	t.Helper()
	dir := t.TempDir()
	l, err := audit.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var out []audit.Entry
	for _, ev := range []audit.Event{
		{Actor: audit.Station, Action: audit.ActionSessionStart, Subject: audit.Subject{PPE: "0101", Auditorium: "0002", Session: "s1"}},
		{Actor: "ivanova", Action: audit.ActionPageDelete, Subject: audit.Subject{PPE: "0101", Auditorium: "0002", Page: 9},
			Before: json.RawMessage(`{"barcode":"2000000000095"}`), Reason: "пустой\nлист"},
		{Actor: "petrov", Action: audit.ActionPageMove, Subject: audit.Subject{PPE: "0101", Auditorium: "0003", Page: 2},
			Before: json.RawMessage(`{"auditorium":"0003"}`), After: json.RawMessage(`{"auditorium":"0004"}`)},
		{Actor: "ivanova", Action: audit.ActionAuditoriumClose, Subject: audit.Subject{PPE: "0101", Auditorium: "0002"}, Reason: "лист 12 не распознан"},
	} {
		e, err := l.Append(ev)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return dir, out
}

func TestAuditVerifyCommand(t *testing.T) {
	dir, entries := auditFixture(t)
	head := entries[len(entries)-1].Hash
	code, stdout, stderr := auditRun(t, "audit", "verify", "--data", dir)
	if code != 0 || stdout != "audit log ok: 4 entries, head "+head+"\n" || stderr != "" {
		t.Fatalf("verify: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	// A head from a protocol, shortened, is found.
	code, stdout, _ = auditRun(t, "audit", "verify", "--data", dir, "--head", entries[1].Hash[:16])
	if code != 0 || !strings.Contains(stdout, "is entry 2") {
		t.Fatalf("verify --head: exit %d, %q", code, stdout)
	}

	// An edited entry: exit 1 and one line naming it.
	path := filepath.Join(dir, audit.FileName)
	b, _ := os.ReadFile(path)
	os.WriteFile(path, bytes.Replace(b, []byte(`"petrov"`), []byte(`"petrof"`), 1), 0o640)
	code, stdout, stderr = auditRun(t, "audit", "verify", "--data", dir)
	want := "station audit: audit log broken at entry 3 (line 3): hash mismatch"
	if code != 1 || stdout != "" || !strings.HasPrefix(stderr, want) || strings.Count(stderr, "\n") != 1 {
		t.Fatalf("broken: exit %d, stdout %q, stderr %q; want exit 1 and %q", code, stdout, stderr, want)
	}

	// A log cut after the protocol's head: the chain alone is fine, the
	// anchor is not.
	lines := bytes.SplitAfter(b, []byte("\n"))
	os.WriteFile(path, bytes.Join(lines[:2], nil), 0o640)
	code, _, stderr = auditRun(t, "audit", "verify", "--data", dir, "--head", head)
	if code != 1 || !strings.Contains(stderr, "does not hold head") {
		t.Fatalf("cut log with --head: exit %d, %q", code, stderr)
	}

	// An unfinished last line is a warning, not a failure.
	os.WriteFile(path, append(bytes.Join(lines[:2], nil), `{"seq":3,"ti`...), 0o640)
	code, stdout, stderr = auditRun(t, "audit", "verify", "--data", dir)
	if code != 0 || !strings.HasPrefix(stdout, "audit log ok: 2 entries") || !strings.Contains(stderr, "warning: line 3: unfinished last line of 12 bytes") {
		t.Fatalf("partial line: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestAuditCommandBadInput(t *testing.T) {
	dir, _ := auditFixture(t)
	empty := t.TempDir()
	file := filepath.Join(dir, audit.FileName)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"audit"}, "want a subcommand"},
		{[]string{"audit", "check"}, `unknown subcommand "check"`},
		{[]string{"audit", "verify", "--data", filepath.Join(empty, "nope")}, "folder does not exist"},
		{[]string{"audit", "verify", "--data", empty}, "no audit log (audit.log) in this folder"},
		{[]string{"audit", "show", "--data", empty}, "no audit log"},
		{[]string{"audit", "verify", "--data", file}, "is not a folder"},
		{[]string{"audit", "verify", "--data", dir, "extra"}, `unexpected argument "extra"`},
		{[]string{"audit", "verify", "--data", dir, "--head", "xyz"}, "--head"},
		{[]string{"audit", "show", "--data", dir, "--last", "-1"}, "--last"},
		{[]string{"audit", "show", "--data", dir, "--ppe", "12"}, "--ppe"},
		{[]string{"audit", "show", "--data", dir, "--bogus"}, "unknown flag"},
	} {
		code, stdout, stderr := auditRun(t, c.args...)
		if code != 2 || stdout != "" || !strings.Contains(stderr, c.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and one line with %q", c.args, code, stdout, stderr, c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(empty, audit.FileName)); err == nil {
		t.Error("a reading command created an audit log")
	}
	if code, stdout, _ := auditRun(t, "audit", "verify", "--help"); code != 0 || !strings.Contains(stdout, "--head") {
		t.Errorf("help: exit %d, %q", code, stdout)
	}
}

func TestAuditShowCommand(t *testing.T) {
	dir, entries := auditFixture(t)
	code, stdout, stderr := auditRun(t, "audit", "show", "--data", dir)
	if code != 0 || stderr != "" {
		t.Fatalf("show: exit %d, %q", code, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "№") || !strings.Contains(lines[0], "Время") ||
		!strings.Contains(lines[2], "удаление листа") || !strings.Contains(lines[2], "пустой лист") ||
		!strings.Contains(lines[3], `{"auditorium":"0003"} → {"auditorium":"0004"}`) {
		t.Fatalf("show table:\n%s", stdout)
	}

	code, stdout, _ = auditRun(t, "audit", "show", "--data", dir, "--json", "--last", "2", "--actor", "ivanova")
	if code != 0 || stdout != string(entries[1].Text())+"\n"+string(entries[3].Text())+"\n" {
		t.Fatalf("show --json --last 2 --actor ivanova: exit %d\n%s", code, stdout)
	}
	code, stdout, _ = auditRun(t, "audit", "show", "--data", dir, "--json", "--auditorium", "0003")
	if code != 0 || stdout != string(entries[2].Text())+"\n" {
		t.Fatalf("show --auditorium 0003: exit %d\n%s", code, stdout)
	}

	// A broken log: the entries before the break are shown, then exit 1.
	path := filepath.Join(dir, audit.FileName)
	b, _ := os.ReadFile(path)
	os.WriteFile(path, bytes.Replace(b, []byte(`"petrov"`), []byte(`"petrof"`), 1), 0o640)
	code, stdout, stderr = auditRun(t, "audit", "show", "--data", dir, "--json")
	if code != 1 || strings.Count(stdout, "\n") != 2 || !strings.Contains(stderr, "audit log broken at entry 3 (line 3)") {
		t.Fatalf("show on a broken log: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}
