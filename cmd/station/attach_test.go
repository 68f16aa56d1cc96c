package main

import (
	"archive/zip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"giascan/hardware/sim"
	"giascan/station/packaging"
)

// A scanned auditorium gets its КЕГЭ answer files from a zip with one
// planned kit missing: the command says which and takes the rest; the
// list shows them; closing seals them with the pages, and the stock age
// tool opens a package whose manifest hashes them.
func TestAttachCommands(t *testing.T) {
	dir, place, identity := pkgStation(t)
	planned, _ := sim.Plan(3, 12)
	var kits []string
	for _, s := range planned {
		if s.ID.Auditorium == place.Auditorium && s.ID.Sheet == 0 && s.ID.Kit != "" && !strings.Contains(strings.Join(kits, " "), s.ID.Kit) {
			kits = append(kits, s.ID.Kit)
		}
	}
	if len(kits) < 2 {
		t.Fatalf("planned kits %q", kits)
	}
	zpath := filepath.Join(t.TempDir(), "kege.zip")
	zf, _ := os.Create(zpath)
	zw := zip.NewWriter(zf)
	for _, k := range kits[1:] {
		w, _ := zw.Create("answers/" + k + ".txt")
		w.Write([]byte("1 42\n"))
	}
	zw.Close()
	zf.Close()

	code, out, errOut := runStation(t, "attach", "import", "--data", dir, "--ppe", place.PPE, "--auditorium", place.Auditorium,
		"--kind", "kege", "--from", zpath, "--user", "op1")
	if code != 0 || !strings.Contains(out, "Нет файла комплекта "+kits[0]) || strings.Count(out, "  + ") != len(kits)-1 {
		t.Fatalf("attach import: %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := runStation(t, "attach", "import", "--data", dir, "--ppe", place.PPE, "--auditorium", place.Auditorium,
		"--kind", "video", "--from", zpath); code != 2 || !strings.Contains(errOut, "укажите вид файлов") {
		t.Errorf("unknown kind: %d %s", code, errOut)
	}
	out = mustRun(t, "attach", "list", "--data", dir, "--ppe", place.PPE, "--auditorium", place.Auditorium)
	if !strings.Contains(out, "Файлы ответов КЕГЭ: "+strconv.Itoa(len(kits)-1)) || !strings.Contains(out, kits[1]+".txt") {
		t.Errorf("attach list:\n%s", out)
	}
	mustRun(t, "auditorium", "close", "--data", dir, "--ppe", place.PPE, "--auditorium", place.Auditorium, "--reason", "нет файла одного участника", "--user", "op1")
	if code, _, errOut := runStation(t, "attach", "import", "--data", dir, "--ppe", place.PPE, "--auditorium", place.Auditorium,
		"--kind", "kege", "--from", zpath); code != 2 || !strings.Contains(errOut, "закрыта") {
		t.Errorf("import into a closed auditorium: %d %s", code, errOut)
	}
	list, err := packaging.List(dir, place.PPE)
	if err != nil || len(list) != 1 {
		t.Fatalf("outbox: %v %v", list, err)
	}
	p := openSealed(t, dir, list[0], identity)
	if len(p.Manifest.Pages) == 0 || len(p.Manifest.Attachments) != len(kits) { // the files and index.json
		t.Fatalf("package: %d pages, attachments %+v", len(p.Manifest.Pages), p.Manifest.Attachments)
	}
	if string(p.Files["attachments/kege/"+kits[1]+".txt"]) != "1 42\n" {
		t.Errorf("КЕГЭ file in the package: %q", p.Files["attachments/kege/"+kits[1]+".txt"])
	}
}
