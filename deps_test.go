// Package giascan holds only this test: it keeps the dependencies between
// the project's packages pointing one way (cmd → station → scanner →
// hardware; station → recognition → forms; station → transport; the
// atomic file writer below them all).
package giascan

import (
	"bufio"
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// allowed lists, for each top-level package, the top-level packages it may
// import. Subpackages inherit the rule of their top-level folder and may
// always import within it.
var allowed = map[string][]string{
	"atomicfile":  {},
	"forms":       {"atomicfile"},
	"hardware":    {"forms", "atomicfile"},
	"scanner":     {"hardware", "forms", "atomicfile"},
	"recognition": {"forms", "atomicfile"},
	"transport":   {"atomicfile"},
	"station":     {"scanner", "hardware", "recognition", "forms", "transport", "atomicfile"},
	"cmd":         {"station", "scanner", "hardware", "recognition", "forms", "transport", "atomicfile"},
}

func top(importPath string) (string, bool) {
	rest, ok := strings.CutPrefix(importPath, "giascan/")
	if !ok {
		return "", false
	}
	first, _, _ := strings.Cut(rest, "/")
	return first, true
}

func TestDependenciesPointOneWay(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	checked := 0
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		from, ok := top(fields[0])
		if !ok || from == "" {
			continue
		}
		rule, known := allowed[from]
		if !known {
			t.Errorf("package %s is outside the project's layout", fields[0])
			continue
		}
		checked++
		for _, imp := range fields[1:] {
			to, ok := top(imp)
			if !ok || to == from {
				continue
			}
			ok = false
			for _, a := range rule {
				ok = ok || a == to
			}
			if !ok {
				t.Errorf("%s imports %s: %s may not depend on %s", fields[0], imp, from, to)
			}
		}
	}
	if checked < 5 {
		t.Fatalf("only %d packages checked", checked)
	}
}
