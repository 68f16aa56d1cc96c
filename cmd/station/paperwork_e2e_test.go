package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"giascan/forms"
	"giascan/station/acts"
	"giascan/station/attach/attachtest"
	"giascan/station/layout"
	"giascan/station/store"
	"giascan/transport/receiver"
)

// The ППОИ's paperwork of one ППЭ, end to end, through a real `receiver
// serve`: КЕГЭ answer files for one auditorium with one kit missing (and a
// file of a kit that is not there and one not named by a kit, refused),
// oral-answer audio for the other with one zero-length recording (and a
// text file passed off as audio and a 5 GB file, refused); an incident act filed by the operator and signed by the
// head; the acceptance act with one discrepancy, printed, signed on paper
// and matched back from its scan; the list of removed and unfinished
// participants checked against ППЭ-13-02-МАШ. The РЦОИ then lists every
// act and attachment it received and extracts each byte for byte; every
// PDF of them passes qpdf.
func TestPPEPaperworkEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("scans a simulated ППЭ and delivers it to a receiver process")
	}
	for _, tool := range []string{"qpdf", "pdftoppm", "pdftotext"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	fastRetries(t)
	p := planShapedPPE(t, 31, 2, 4)
	if len(p.auds) != 2 || p.forms == 0 {
		t.Fatalf("plan: auditoriums %v, forms at %d", p.auds, p.forms)
	}
	a, b := store.Place{PPE: p.ppe, Auditorium: p.auds[0]}, store.Place{PPE: p.ppe, Auditorium: p.auds[1]}
	kits := map[string][]string{}
	for _, s := range p.sheets {
		if s.ID.PPE == p.ppe && s.ID.Type == forms.TypeBO1 && s.ID.Sheet == 0 {
			kits[s.ID.Auditorium] = append(kits[s.ID.Auditorium], s.ID.Kit)
		}
	}
	if len(kits[a.Auditorium]) < 2 || len(kits[b.Auditorium]) < 2 {
		t.Fatalf("kits %v: want two or more in each auditorium", kits)
	}
	// The organiser marked the first participant of A «удалён» on the
	// blank, but ППЭ-13-02-МАШ does not count him: the list shows it.
	removedSheet := p.first[a.Auditorium]
	if p.sheets[removedSheet-1].ID.Type != forms.TypeBO1 {
		t.Fatalf("sheet %d is %s, not a БО №1", removedSheet, p.sheets[removedSheet-1].ID.Type)
	}
	removedKit := p.sheets[removedSheet-1].ID.Kit

	// The РЦОИ: a real receiver process, serving TLS with its own
	// certificate; the station enrols with its one-time invitation.
	rbin, rdir := receiverFolder(t, p.exam)
	raddr := freeAddr(t)
	invitation := filepath.Join(t.TempDir(), "enrol.json")
	receiverCmd(t, rbin, "station", "enrol", "--data", rdir, "--ppe", p.ppe, "--url", "https://"+raddr, "--out", invitation)
	rlog := serveReceiver(t, rbin, rdir, raddr)

	dir := filepath.Join(t.TempDir(), "data")
	mustRun(t, "rcoi", "enrol", "--data", dir, "--user", "tech1", invitation)
	if code, _, stderr := scanRunIn(t, "пароль-оператора-1\n", "user", "add", "--data", dir, "--login", "op1", "--role", "operator", "--password-stdin"); code != 0 {
		t.Fatalf("user add: %s", stderr)
	}
	stop := startDaemon(t, dir) // adds the head, head1
	defer stop()

	// Auditorium A, with the organiser's mark.
	mustRun(t, "scan", "--data", dir, "--ppe", a.PPE, "--auditorium", a.Auditorium,
		"--device", p.device(1, p.last[a.Auditorium])+",removed="+strconv.Itoa(removedSheet), "--on-fault", "continue", "--workers", "2")

	// Its КЕГЭ answer files: the first kit's is missing, and a file of a
	// kit of the other auditorium came with them.
	kege := t.TempDir()
	for _, k := range kits[a.Auditorium][1:] {
		os.WriteFile(filepath.Join(kege, k+".txt"), []byte("ответ участника "+k+"\n"), 0o644)
	}
	stray := kits[b.Auditorium][0]
	os.WriteFile(filepath.Join(kege, stray+".txt"), []byte("чужой\n"), 0o644)
	os.WriteFile(filepath.Join(kege, "заметки.txt"), []byte("не ответ\n"), 0o644)
	out := mustRun(t, "attach", "import", "--data", dir, "--ppe", a.PPE, "--auditorium", a.Auditorium, "--kind", "kege", "--from", kege, "--user", "op1")
	if !strings.Contains(out, "Нет файла комплекта "+kits[a.Auditorium][0]) || strings.Count(out, "  + ") != len(kits[a.Auditorium])-1 ||
		!strings.Contains(out, stray) || !strings.Contains(out, "заметки.txt") {
		t.Errorf("КЕГЭ import of auditorium %s:\n%s", a.Auditorium, out)
	}
	t.Logf("КЕГЭ import:\n%s", out)

	// Auditorium B and the ППЭ's forms.
	mustRun(t, "scan", "--data", dir, "--ppe", b.PPE, "--auditorium", b.Auditorium,
		"--device", p.device(p.first[b.Auditorium], p.count-1), "--on-fault", "continue", "--workers", "2")
	confirm1302(t, dir, p, b, p.forms-p.first[b.Auditorium]+1)

	// Its recordings: one is empty, one is a text file named .wav, one is
	// 5 GB.
	audio := t.TempDir()
	kb := kits[b.Auditorium]
	for i, k := range kb {
		name := filepath.Join(audio, k+".wav")
		switch i {
		case 0:
			os.WriteFile(name, nil, 0o644)
		case 1:
			os.WriteFile(name, []byte("это не запись, а текст\n"), 0o644)
		case 3:
			// 5 GB that the import must refuse without reading.
			f, err := os.Create(name)
			if err != nil {
				t.Fatal(err)
			}
			f.Truncate(5 << 30)
			f.Close()
		default:
			attachtest.WriteWAV(t, name, 8000, time.Duration(i)*time.Second)
		}
	}
	out = mustRun(t, "attach", "import", "--data", dir, "--ppe", b.PPE, "--auditorium", b.Auditorium, "--kind", "audio", "--from", audio, "--user", "op1", "--json")
	var rep struct {
		Imported []struct{ Name string } `json:"imported"`
		Problems []struct{ Kind, Kit, Text string }
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("audio import: %v\n%s", err, out)
	}
	problems := map[string]string{}
	for _, pr := range rep.Problems {
		problems[pr.Kind+" "+pr.Kit] = pr.Text
	}
	if len(rep.Imported) != 1 || problems["empty "+kb[0]] == "" || problems["not_audio "+kb[1]] == "" || !strings.Contains(problems["too_big "+kb[3]], "МиБ") {
		t.Errorf("audio import of auditorium %s: %s", b.Auditorium, out)
	}
	t.Logf("audio import: %v", problems)
	for _, text := range problems {
		if strings.Contains(text, "--") {
			t.Errorf("a problem names a flag: %q", text)
		}
	}

	// An incident: filed by the operator, signed by the head, once.
	out = mustRun(t, "acts", "incident", "--data", dir, "--ppe", p.ppe, "--user", "op1", "--auditorium", b.Auditorium,
		"--kind", "damaged_packaging", "--text", "Доставочный пакет аудитории вскрыт с одного края; бланки на месте")
	if !strings.Contains(out, "Акт № 1") {
		t.Fatalf("incident: %s", out)
	}
	if code, _, stderr := scanRunIn(t, "", "acts", "sign", "--data", dir, "--ppe", p.ppe, "--user", "op1", "--act", "1"); code == 0 {
		t.Errorf("an operator signed the incident act: %s", stderr)
	}
	mustRun(t, "acts", "sign", "--data", dir, "--ppe", p.ppe, "--user", "head1", "--act", "1")

	// Both auditoriums close; the list of removed and unfinished is made.
	for _, pl := range []store.Place{a, b} {
		mustRun(t, "auditorium", "close", "--data", dir, "--ppe", pl.PPE, "--auditorium", pl.Auditorium, "--reason", "файлы и отметки сверены, акт составлен", "--user", "op1")
	}
	removedPDF := filepath.Join(t.TempDir(), "removed.pdf")
	out = mustRun(t, "acts", "removed", "--data", dir, "--ppe", p.ppe, "--user", "head1", "--out", removedPDF)
	if !strings.Contains(out, "расхождений с ППЭ-13-02-МАШ 1") {
		t.Errorf("removed list: %s", out)
	}
	t.Log(out)

	// The acceptance act: one envelope noted where two came.
	acceptPDF := filepath.Join(t.TempDir(), "acceptance.pdf")
	out = mustRun(t, "acts", "acceptance", "--data", dir, "--ppe", p.ppe, "--user", "op1", "--envelopes", "1", "--used-kim", "7", "--unused", "2", "--out", acceptPDF)
	if !strings.Contains(out, "расхождений 1)") || !strings.Contains(out, "Принято конвертов с бланками: 1, а аудиторий в файле экзамена: 2") {
		t.Errorf("acceptance act: %s", out)
	}
	scan := filepath.Join(t.TempDir(), "acceptance-signed")
	if o, err := exec.Command("pdftoppm", "-r", "200", "-gray", "-png", "-singlefile", acceptPDF, scan).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v %s", err, o)
	}
	mustRun(t, "acts", "match", "--data", dir, "--ppe", p.ppe, "--user", "op1", "--file", scan+".png")

	// The ППЭ-15 counts the files; signed and matched, it seals the
	// closing set with every act.
	ppe15 := filepath.Join(t.TempDir(), "ppe15.pdf")
	mustRun(t, "protocol", "print", "--data", dir, "--ppe", p.ppe, "--out", ppe15)
	text, err := exec.Command("pdftotext", "-layout", ppe15, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	want15 := "Файлы ответов КЕГЭ: " + strconv.Itoa(len(kits[a.Auditorium])-1) + "; аудиозаписи устных ответов: 1"
	if !strings.Contains(strings.Join(strings.Fields(string(text)), " "), want15) {
		t.Errorf("ППЭ-15 lacks %q:\n%s", want15, text)
	}
	signProtocol(t, dir, p.ppe)

	// Everything reaches the РЦОИ.
	deadline := time.Now().Add(60 * time.Second)
	for {
		st := receiverCmd(t, rbin, "status", "--data", rdir, "--json")
		if strings.Contains(st, `"complete": true`) || strings.Contains(st, `"complete":true`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the ППЭ is not complete at the РЦОИ:\n%s\nreceiver log:\n%s", st, rlog.String())
		}
		time.Sleep(200 * time.Millisecond)
	}

	// The РЦОИ lists every act and attachment, and each one read back is
	// the station's file byte for byte.
	var docs []receiver.Document
	if err := json.Unmarshal([]byte(receiverCmd(t, rbin, "documents", "--data", rdir, "--json")), &docs); err != nil {
		t.Fatal(err)
	}
	got := map[string]receiver.Document{}
	for _, d := range docs {
		got[d.Name] = d
	}
	af := acts.Folder{Dir: layout.Dir(dir)}
	actFiles, err := af.Files(p.ppe)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"acceptance.json", "acceptance.pdf", "acceptance-signed.png", "incident-1.json", "incident-1.pdf",
		"removed-unfinished.json", "removed-unfinished.pdf"} {
		if !slices.Contains(actFiles, want) {
			t.Errorf("the station keeps no %s: %v", want, actFiles)
		}
	}
	wantFiles := map[string][]byte{}
	for _, f := range actFiles {
		b, err := os.ReadFile(af.Path(p.ppe, f))
		if err != nil {
			t.Fatal(err)
		}
		wantFiles["acts/"+f] = b
	}
	for _, k := range kits[a.Auditorium][1:] {
		wantFiles["attachments/kege/"+k+".txt"] = []byte("ответ участника " + k + "\n")
	}
	wav, _ := os.ReadFile(filepath.Join(audio, kb[2]+".wav"))
	wantFiles["attachments/audio/"+kb[2]+".wav"] = wav
	for _, k := range []string{kits[a.Auditorium][0], kb[0], kb[1], kb[3], stray} {
		for name := range got {
			if strings.Contains(name, k) && !strings.HasPrefix(name, "attachments/index") {
				t.Errorf("the РЦОИ got %s, which was refused at import", name)
			}
		}
	}
	if len(docs) != len(wantFiles)+2 { // and the two auditoriums' index.json
		t.Errorf("the РЦОИ lists %d documents, want %d and two indexes: %+v", len(docs), len(wantFiles), docs)
	}
	outDir := t.TempDir()
	for name, content := range wantFiles {
		d, ok := got[name]
		if !ok {
			t.Errorf("the РЦОИ does not list %s", name)
			continue
		}
		file := filepath.Join(outDir, strings.NewReplacer("/", "_").Replace(name))
		receiverCmd(t, rbin, "documents", "get", "--data", rdir, "--package", d.Package, "--name", name, "--out", file)
		back, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(content)
		if !bytes.Equal(back, content) || d.SHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("%s read back from the РЦОИ differs from the station's (%d bytes, %d read)", name, len(content), len(back))
		}
		if strings.HasSuffix(name, ".pdf") {
			if o, err := exec.Command("qpdf", "--check", file).CombinedOutput(); err != nil {
				t.Errorf("qpdf --check %s: %v\n%s", name, err, o)
			}
		}
		if strings.HasPrefix(name, "acts/") && d.Auditorium != "" {
			t.Errorf("%s came in the package of auditorium %s, not in the closing set", name, d.Auditorium)
		}
	}
	for _, f := range []string{acceptPDF, removedPDF, ppe15} {
		if o, err := exec.Command("qpdf", "--check", f).CombinedOutput(); err != nil {
			t.Errorf("qpdf --check %s: %v\n%s", filepath.Base(f), err, o)
		}
	}

	// What the РЦОИ reads: the incident signed by the head, the act's
	// discrepancy and signed copy, the removed participant's kit.
	var in acts.Incident
	json.Unmarshal(wantFiles["acts/incident-1.json"], &in)
	if in.Signed == nil || in.Signed.By != "head1" || in.Kind != "damaged_packaging" || in.Auditorium != b.Auditorium {
		t.Errorf("incident act at the РЦОИ: %+v", in)
	}
	var acc acts.Acceptance
	json.Unmarshal(wantFiles["acts/acceptance.json"], &acc)
	if len(acc.Discrepancies) != 1 || acc.Signed == nil || acc.Received.Envelopes != 1 || acc.Received.UsedKIM != 7 {
		t.Errorf("acceptance act at the РЦОИ: %+v", acc)
	}
	var rm acts.Removed
	json.Unmarshal(wantFiles["acts/removed-unfinished.json"], &rm)
	found := false
	for _, r := range rm.Rows {
		found = found || (r.Kit == removedKit && r.Mark == "removed" && r.Crop)
	}
	if !found || !rm.FormConfirmed || rm.Mismatches() != 1 {
		t.Errorf("removed list at the РЦОИ: kit %s not listed with its crop, or checks off: %+v", removedKit, rm)
	}
}
