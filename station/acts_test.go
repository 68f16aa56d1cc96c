package station

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"giascan/forms"
	"giascan/hardware"
	"giascan/hardware/sim"
	"giascan/station/acts"
	"giascan/station/audit"
	"giascan/station/exam"
	"giascan/station/packaging"
	"giascan/station/reconcile"
	"giascan/station/store"
	"giascan/station/users"
	"giascan/transport/seal"
)

// actsStation scans a clean simulated stack whose first БО №1 carries the
// mark «удалён с экзамена» into a station whose exam plans that
// auditorium and an empty one (0099), with keys for sealing.
func actsStation(t *testing.T) (*Station, store.Place, string) {
	t.Helper()
	s := openTestStation(t)
	adf, err := sim.Open("seed=2,count=6,profile=clean,removed=1")
	if err != nil {
		t.Fatal(err)
	}
	sheets := adf.Sheets()
	id := sheets[0].ID
	place := store.Place{PPE: id.PPE, Auditorium: id.Auditorium}
	var kits []string
	for _, sh := range sheets {
		if sh.ID.PPE == id.PPE && sh.ID.Auditorium == id.Auditorium && sh.ID.Type == forms.TypeBO1 {
			kits = append(kits, sh.ID.Kit)
		}
	}
	exJSON, _ := json.Marshal(map[string]any{"level": id.Level, "subject": id.Subject, "region": id.Region,
		"date": id.Date[:4] + "-" + id.Date[4:6] + "-" + id.Date[6:],
		"ppe": []any{map[string]any{"code": id.PPE, "auditoriums": []any{
			map[string]any{"number": id.Auditorium, "kits": kits},
			map[string]any{"number": "0099"},
		}}}})
	ex, err := exam.Parse(exJSON)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Store.SetExam(ex); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	err = adf.Scan(ctx, hardware.Options{}, func(p hardware.Page) error {
		if p.Side == hardware.Back {
			return nil
		}
		truth, ok := adf.Truth(p.Seq)
		if !ok || truth.Context.PPE != place.PPE || truth.Context.Auditorium != place.Auditorium {
			return nil
		}
		rec, _, err := s.Store.Add(ctx, place, p, "sim")
		if err != nil {
			return err
		}
		truth.File = rec.File
		return s.Store.SetResult(rec.Ref, rec.Rev, truth)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := seal.GenerateStationKey(seal.KeyDir(string(s.Dir))); err != nil {
		t.Fatal(err)
	}
	idn, _ := age.GenerateX25519Identity()
	if _, err := seal.ImportRecipients(seal.KeyDir(string(s.Dir)), strings.NewReader(idn.Recipient().String()+"\n")); err != nil {
		t.Fatal(err)
	}
	return s, place, sheets[0].ID.Kit
}

func actions(t *testing.T, s *Station) []string {
	t.Helper()
	x, err := audit.ReadExcerpt(string(s.Dir), audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range x.Entries {
		out = append(out, e.Action)
	}
	return out
}

// Bad input is refused with a Russian sentence naming what to fix, and
// writes nothing; the operator writes, the head signs once.
func TestIncidentActs(t *testing.T) {
	s, place, _ := actsStation(t)
	ctx := context.Background()
	for _, c := range []struct {
		name, ppe, aud, kind, text, want string
	}{
		{"unknown kind", place.PPE, "", "fire", "текст", "вид нештатной ситуации"},
		{"empty text", place.PPE, "", acts.KindPower, "   ", "не описаны обстоятельства"},
		{"wrong ППЭ", "9999", "", acts.KindPower, "свет погас", "ППЭ \"9999\" нет в файле экзамена"},
		{"wrong auditorium", place.PPE, "0555", acts.KindPower, "свет погас", "аудитории \"0555\" нет"},
	} {
		_, err := s.FileIncident(ctx, "oper", users.Operator, c.ppe, c.aud, c.kind, c.text)
		if err == nil || !IsInput(err) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want a refusal with %q", c.name, err, c.want)
		}
	}
	if _, err := s.FileIncident(ctx, "adm", users.Admin, place.PPE, "", acts.KindPower, "x"); err == nil || !IsInput(err) {
		t.Errorf("administrator filed an incident: %v", err)
	}
	if list, _ := s.Acts().Incidents(place.PPE); len(list) != 0 {
		t.Fatalf("refused input left acts: %v", list)
	}

	in, err := s.FileIncident(ctx, "oper", users.Operator, place.PPE, place.Auditorium, acts.KindPackaging, "Конверт аудитории вскрыт при доставке.\nСоставлен акт.")
	if err != nil {
		t.Fatal(err)
	}
	if in.N != 1 || in.Name != "incident-1" || in.KindName != "повреждение доставочной упаковки" || in.Signed != nil {
		t.Errorf("first incident: %+v", in)
	}
	in2, err := s.FileIncident(ctx, "oper", users.Operator, place.PPE, "", acts.KindScanner, "Сканер перестал подавать листы")
	if err != nil || in2.N != 2 {
		t.Fatalf("second incident: %+v %v", in2, err)
	}
	for _, f := range []string{"incident-1.json", "incident-1.pdf", "incident-2.json", "incident-2.pdf"} {
		if _, err := os.Stat(s.Acts().Path(place.PPE, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	if _, _, err := s.SignIncident(ctx, "oper", users.Operator, place.PPE, 1, "web"); err == nil || !strings.Contains(err.Error(), "руководитель") {
		t.Errorf("operator signed: %v", err)
	}
	if _, _, err := s.SignIncident(ctx, "head", users.Head, place.PPE, 7, "web"); err == nil || !IsInput(err) || !strings.Contains(err.Error(), "акта № 7") {
		t.Errorf("unknown act signed: %v", err)
	}
	signed, first, err := s.SignIncident(ctx, "head", users.Head, place.PPE, 1, "web")
	if err != nil || !first || signed.Signed == nil || signed.Signed.By != "head" {
		t.Fatalf("sign: %+v %v %v", signed, first, err)
	}
	again, first, err := s.SignIncident(ctx, "head2", users.Head, place.PPE, 1, "web")
	if err != nil || first || again.Signed.By != "head" || !again.Signed.At.Equal(signed.Signed.At) {
		t.Errorf("second signature changed the act: %+v %v %v", again.Signed, first, err)
	}
	got := actions(t, s)
	if n := strings.Count(strings.Join(got, " "), audit.ActionActIncident+" "); n != 2 || !slices.Contains(got, audit.ActionActIncidentSign) {
		t.Errorf("audit actions %v", got)
	}
	if strings.Count(strings.Join(got, " "), audit.ActionActIncidentSign) != 1 {
		t.Errorf("signed twice in the log: %v", got)
	}
	if audit.Label(audit.ActionActIncidentSign) == audit.ActionActIncidentSign {
		t.Error("no Russian label for the signing action")
	}
}

// The acceptance act counts the scanned blanks, states the differences
// from the exam file, prints with a type-56 header, and its signed copy,
// rasterised, is matched back; the list of removed participants has the
// marked БО №1 with a crop and the check against ППЭ-13-02-МАШ; all of
// them travel in the closing set, and a late signature seals a new
// version of it.
func TestAcceptanceRemovedAndClosingSet(t *testing.T) {
	s, place, kit := actsStation(t)
	ctx := context.Background()
	if _, _, err := s.MakeAcceptance(ctx, "oper", users.Operator, place.PPE, acts.Received{Envelopes: -1}); err == nil || !IsInput(err) {
		t.Errorf("negative count: %v", err)
	}
	a, pdf, err := s.MakeAcceptance(ctx, "oper", users.Operator, place.PPE, acts.Received{Envelopes: 1, Unused: 3, Spoiled: 1, UsedKIM: 5, From: "Иванов И. И."})
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Auditoriums) != 2 || a.Auditoriums[0].BO1 == 0 || a.Auditoriums[1].Scanned {
		t.Errorf("rows %+v", a.Auditoriums)
	}
	joined := strings.Join(a.Discrepancies, "\n")
	for _, want := range []string{"Аудитория 0099 есть в файле экзамена, но её бланки не отсканированы", "Принято конвертов с бланками: 1, а аудиторий в файле экзамена: 2"} {
		if !strings.Contains(joined, want) {
			t.Errorf("discrepancies %q lack %q", joined, want)
		}
	}
	if a.Barcode[:2] != forms.TypeAcceptance {
		t.Errorf("barcode %s", a.Barcode)
	}
	file := filepath.Join(t.TempDir(), "acceptance.pdf")
	os.WriteFile(file, pdf, 0o600)
	qpdfCheck(t, file)
	scan := rasterise(t, file)
	data, _ := os.ReadFile(scan)

	// A copy of an act printed before the last one is refused.
	a2, pdf2, err := s.MakeAcceptance(ctx, "oper", users.Operator, place.PPE, acts.Received{Envelopes: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.MatchAcceptance(ctx, "head", place.PPE, data, "acceptance.png"); err == nil || !IsInput(err) || !strings.Contains(err.Error(), "последней распечатки") && !strings.Contains(err.Error(), "последнюю распечатку") {
		t.Errorf("old copy matched: %v", err)
	}
	if strings.Contains(strings.Join(a2.Discrepancies, "\n"), "Принято конвертов") {
		t.Errorf("envelopes agree, yet: %v", a2.Discrepancies)
	}
	os.WriteFile(file, pdf2, 0o600)
	data, _ = os.ReadFile(rasterise(t, file))
	if _, err := s.MatchAcceptance(ctx, "head", "9999", data, "acceptance.png"); err == nil || !IsInput(err) {
		t.Errorf("wrong ППЭ matched: %v", err)
	}
	m, err := s.MatchAcceptance(ctx, "head", place.PPE, data, "acceptance.png")
	if err != nil {
		t.Fatal(err)
	}
	if m.Signed == nil || m.Signed.Via != "scan" || m.Signed.Scan != "acceptance-signed.png" {
		t.Errorf("signature %+v", m.Signed)
	}

	r, rpdf, err := s.MakeRemoved(ctx, "head", users.Head, place.PPE)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Rows) != 1 || r.Rows[0].Kit != kit || r.Rows[0].Mark != acts.MarkRemoved || !r.Rows[0].Crop {
		t.Fatalf("rows %+v", r.Rows)
	}
	if r.FormConfirmed || r.Mismatches() != 0 || len(r.Checks) != 1 || !strings.Contains(r.Checks[0].Text, "не подтверждена") {
		t.Errorf("checks without ППЭ-13-02-МАШ: %+v", r.Checks)
	}
	rfile := filepath.Join(t.TempDir(), "removed.pdf")
	os.WriteFile(rfile, rpdf, 0o600)
	qpdfCheck(t, rfile)
	// With ППЭ-13-02-МАШ saying nobody was removed, the list states the mismatch.
	if err := s.Store.SetForm1302(store.Form1302{PPE: place.PPE, Rows: map[string]reconcile.Counts{place.Auditorium: {}, "0099": {}},
		Source: "typed", By: "head", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	r, _, err = s.MakeRemoved(ctx, "head", users.Head, place.PPE)
	if err != nil {
		t.Fatal(err)
	}
	if !r.FormConfirmed || r.Mismatches() != 1 || len(r.Checks) != 1 || r.Checks[0].Agrees || r.Checks[0].Form == nil || *r.Checks[0].Form != 0 || r.Checks[0].Blanks != 1 {
		t.Errorf("check against the form: %+v", r.Checks)
	}

	// Closing set: seal after closing; the acts are in it.
	if _, err := s.FileIncident(ctx, "oper", users.Operator, place.PPE, "", acts.KindOther, "Задержка доставки"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CloseAuditorium(ctx, "oper", place, "проверка актов"); err != nil {
		t.Fatal(err)
	}
	sl, err := s.SealClosing(ctx, place.PPE, packaging.Bilevel)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range sl.Manifest.Acts {
		names = append(names, f.Name)
	}
	want := []string{"acts/acceptance-signed.png", "acts/acceptance.json", "acts/acceptance.pdf", "acts/incident-1.json", "acts/incident-1.pdf",
		"acts/removed-unfinished.json", "acts/removed-unfinished.pdf"}
	if !slices.Equal(names, want) {
		t.Errorf("closing set acts %v, want %v", names, want)
	}
	v1 := sl.Manifest.Version
	if _, _, err := s.SignIncident(ctx, "head", users.Head, place.PPE, 1, "web"); err != nil {
		t.Fatal(err)
	}
	if out := os.Getenv("GIASCAN_ACTS_OUT"); out != "" {
		// For looking at the acts as printed: every PDF of the ППЭ.
		files, _ := s.Acts().Files(place.PPE)
		for _, f := range files {
			if b, err := os.ReadFile(s.Acts().Path(place.PPE, f)); err == nil {
				os.WriteFile(filepath.Join(out, f), b, 0o644)
			}
		}
	}
	list, _ := packaging.List(string(s.Dir), place.PPE)
	for _, p := range list {
		if p.Manifest.Exam.Auditorium == "" && p.Manifest.Version != v1+1 {
			t.Errorf("closing set v%d after a late signature, want v%d", p.Manifest.Version, v1+1)
		}
	}
}

func qpdfCheck(t *testing.T, file string) {
	t.Helper()
	if _, err := exec.LookPath("qpdf"); err != nil {
		t.Log("qpdf is not installed: check skipped")
		return
	}
	if b, err := exec.Command("qpdf", "--check", file).CombinedOutput(); err != nil {
		t.Errorf("qpdf --check %s: %v\n%s", file, err, b)
	}
}

// rasterise prints the first page of a PDF as a 300 dpi grey PNG, as a
// scanner would see the signed paper.
func rasterise(t *testing.T, file string) string {
	t.Helper()
	if _, err := exec.LookPath("pdftoppm"); err != nil {
		t.Skip("pdftoppm is not installed")
	}
	prefix := filepath.Join(t.TempDir(), "scan")
	if b, err := exec.Command("pdftoppm", "-r", "300", "-gray", "-png", "-singlefile", file, prefix).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v %s", err, b)
	}
	return prefix + ".png"
}
