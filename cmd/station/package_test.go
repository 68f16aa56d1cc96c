package main

import (
	"bytes"
	"encoding/json"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"

	"giascan/forms"
	"giascan/hardware/sim"
	"giascan/recognition"
	"giascan/recognition/imagein"
	"giascan/station/packaging"
	"giascan/station/store"
	"giascan/transport/pkg"
	"giascan/transport/seal"
)

// pkgStation scans a clean simulated auditorium into a fresh data folder
// with keys, closes it and returns the folder, the place and the РЦОИ's
// identity file.
func pkgStation(t *testing.T) (dir string, place store.Place, identity string) {
	t.Helper()
	const spec = "seed=3,count=12,profile=clean"
	planned, err := sim.Plan(3, 12)
	if err != nil {
		t.Fatal(err)
	}
	examFile, place := planExam(t, planned)
	dir = filepath.Join(t.TempDir(), "data")
	mustRun(t, "exam", "import", "--data", dir, examFile)
	mustRun(t, "scan", "--data", dir, "--ppe", place.PPE, "--auditorium", place.Auditorium,
		"--device", "sim:"+spec, "--on-fault", "continue", "--workers", "2")
	mustRun(t, "keys", "init", "--data", dir)
	id, _ := age.GenerateX25519Identity()
	identity = filepath.Join(t.TempDir(), "rcoi.key")
	os.WriteFile(identity, []byte(id.String()+"\n"), 0o600)
	rc := filepath.Join(t.TempDir(), "rcoi.txt")
	os.WriteFile(rc, []byte(id.Recipient().String()+"\n"), 0o644)
	mustRun(t, "keys", "rcoi", "import", "--data", dir, rc)
	return dir, place, identity
}

// openSealed decrypts a sealed package with the stock age tool when it is
// there (the РЦОИ's way), else with seal.Open, and reads it.
func openSealed(t *testing.T, dir string, s *packaging.Sealed, identity string) *pkg.Package {
	t.Helper()
	var plain []byte
	if _, err := exec.LookPath("age"); err == nil {
		out, err := exec.Command("age", "-d", "-i", identity, s.Ciphertext).Output()
		if err != nil {
			t.Fatalf("age -d: %v", err)
		}
		plain = out
	} else {
		t.Log("age is not installed: decrypting with filippo.io/age instead")
		f, _ := os.Open(identity)
		ids, err := age.ParseIdentities(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		ct, _ := os.ReadFile(s.Ciphertext)
		r, err := age.Decrypt(bytes.NewReader(ct), ids...)
		if err != nil {
			t.Fatal(err)
		}
		plain, _ = io.ReadAll(r)
	}
	p, err := pkg.Read(bytes.NewReader(plain), 1<<30)
	if err != nil {
		t.Fatalf("read package: %v", err)
	}
	if p.Hash() != s.ManifestHash {
		t.Fatalf("manifest hash %s, sealed as %s", p.Hash(), s.ManifestHash)
	}
	sig, _ := os.ReadFile(s.Signature)
	ct, _ := os.ReadFile(s.Ciphertext)
	pub, err := seal.LoadStationPublicKey(seal.KeyDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := seal.Verify(sig, bytes.NewReader(ct), pub, seal.Info{Station: p.Manifest.Station, Package: p.Manifest.ID, Version: p.Manifest.Version, ManifestHash: s.ManifestHash}); err != nil {
		t.Errorf("verify signature: %v", err)
	}
	return p
}

func TestPackageProtocolExport(t *testing.T) {
	if testing.Short() {
		t.Skip("scans and recognises a simulated auditorium")
	}
	dir, place, identity := pkgStation(t)
	build := []string{"package", "build", "--data", dir, "--ppe", place.PPE, "--auditorium", place.Auditorium}
	if code, _, stderr := scanRunIn(t, "", build...); code != 2 || !strings.Contains(stderr, "закройте") {
		t.Errorf("package of an open auditorium: exit %d %q, want 2 and a hint to close", code, stderr)
	}
	mustRun(t, "auditorium", "close", "--data", dir, "--ppe", place.PPE, "--auditorium", place.Auditorium, "--reason", "проверка упаковки", "--user", "op1")

	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	orig, _ := st.Pages(place)
	st.Close()
	rc, err := recognition.NewDefault()
	if err != nil {
		t.Fatal(err)
	}
	perPage := map[string]float64{}
	var latest *packaging.Sealed
	for i, prof := range []string{"grey", "bilevel"} {
		out := mustRun(t, append(build, "--profile", prof)...)
		list, err := packaging.List(dir, place.PPE)
		if err != nil || len(list) != 1 {
			t.Fatalf("%s: outbox %v %v (%s)", prof, list, err, out)
		}
		s := list[0]
		// Closing sealed v1 (bilevel); each rebuild in another profile is
		// the next version.
		if s.Manifest.Version != i+2 {
			t.Errorf("%s: version %d, want %d", prof, s.Manifest.Version, i+2)
		}
		p := openSealed(t, dir, s, identity)
		var total int64
		diffs := 0
		for _, pg := range p.Manifest.Pages {
			total += pg.Size
			var want forms.PageResult
			json.Unmarshal(pg.Recognition, &want)
			doc, err := imagein.FromBytes(p.Files[pg.File], pg.File, imagein.Limits{})
			if err != nil {
				t.Fatalf("%s page %d: %v", prof, pg.Seq, err)
			}
			m, _, err := doc.Page(0)
			if err != nil {
				t.Fatal(err)
			}
			got := rc.Page(m)
			m.Close()
			doc.Close()
			if got.Barcode != want.Barcode || got.Type != want.Type || got.Context.Kit != want.Context.Kit || !sameMap(got.Marks, want.Marks) {
				diffs++
				t.Logf("%s page %d: re-recognised %s/%s kit %s marks %v; original %s/%s kit %s marks %v",
					prof, pg.Seq, got.Type, got.Barcode, got.Context.Kit, got.Marks, want.Type, want.Barcode, want.Context.Kit, want.Marks)
			}
		}
		active := 0
		for _, o := range orig {
			if o.Status == store.Active {
				active++
			}
		}
		if len(p.Manifest.Pages) != active {
			t.Errorf("%s: %d pages packaged, %d active", prof, len(p.Manifest.Pages), active)
		}
		if diffs > 0 {
			t.Errorf("%s: %d of %d pages re-recognised differently", prof, diffs, len(p.Manifest.Pages))
		}
		perPage[prof] = float64(total) / float64(len(p.Manifest.Pages))
		t.Logf("profile %s: %d pages, %.0f bytes per page, ciphertext %d bytes", prof, len(p.Manifest.Pages), perPage[prof], s.Size)
		latest = s
	}
	if perPage["bilevel"] > 60_000 {
		t.Errorf("bilevel pages average %.0f bytes, target at most 60 KB", perPage["bilevel"])
	}
	// The same pages again: no new version.
	if out := mustRun(t, build...); !strings.Contains(out, "не изменился") {
		t.Errorf("rebuild without changes: %q", out)
	}
	if list, _ := packaging.List(dir, place.PPE); list[0].Manifest.Version != latest.Manifest.Version {
		t.Errorf("rebuild made version %d", list[0].Manifest.Version)
	}

	// Protocol: print, check the PDF, rasterise, match.
	pdf := filepath.Join(t.TempDir(), "ppe15.pdf")
	out := mustRun(t, "protocol", "print", "--data", dir, "--ppe", place.PPE, "--out", pdf)
	if _, err := exec.LookPath("qpdf"); err == nil {
		if b, err := exec.Command("qpdf", "--check", pdf).CombinedOutput(); err != nil {
			t.Errorf("qpdf --check: %v\n%s", err, b)
		}
	} else {
		t.Log("qpdf is not installed: PDF check skipped")
	}
	if _, err := exec.LookPath("pdftoppm"); err != nil {
		t.Skip("pdftoppm is not installed: cannot rasterise the protocol")
	}
	prefix := filepath.Join(t.TempDir(), "scan")
	if b, err := exec.Command("pdftoppm", "-r", "300", "-gray", "-png", "-singlefile", pdf, prefix).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v %s", err, b)
	}
	scan := prefix + ".png"
	data, _ := os.ReadFile(scan)
	res, err := recognizeScan(data, scan)
	if err != nil {
		t.Fatal(err)
	}
	sum, _ := os.ReadDir(packaging.ProtocolDir(dir, place.PPE))
	t.Logf("protocol: %s; recognised type %s H %s flags %v; files %d", strings.TrimSpace(out), res.Type, res.Context.Manifest, res.Flags, len(sum))
	if res.Type != forms.TypePPE15 || res.Context.Manifest == "" || !strings.Contains(out, "H="+res.Context.Manifest) {
		t.Fatalf("rasterised protocol read as type %q H %q (%s)", res.Type, res.Context.Manifest, res.Error)
	}

	// A copy of another package's protocol is refused.
	other := forms.Identity{Level: res.Context.Level, Region: res.Context.Region, PPE: place.PPE, Auditorium: "0000",
		Subject: res.Context.Subject, Date: res.Context.Date, Type: forms.TypePPE15, Barcode: res.Barcode, Kit: forms.NoKit, Manifest: "0123456789abcdef"}
	tpl, _ := forms.Builtin().Get(forms.TypePPE15)
	d, err := forms.Compose(tpl, other)
	if err != nil {
		t.Fatal(err)
	}
	img, _ := forms.Rasterize(d, 300)
	foreign := filepath.Join(t.TempDir(), "other.png")
	f, _ := os.Create(foreign)
	png.Encode(f, img)
	f.Close()
	code, _, stderr := scanRunIn(t, "", "protocol", "match", "--data", dir, "--ppe", place.PPE, "--file", foreign)
	if code != 2 || !strings.Contains(stderr, "другого пакета") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Errorf("foreign protocol: exit %d %q, want 2 and «другого пакета»", code, stderr)
	}
	mustRun(t, "protocol", "match", "--data", dir, "--ppe", place.PPE, "--file", scan)

	// Closing set carries the summary, the PDF and the signed scan.
	mustRun(t, "package", "build", "--data", dir, "--ppe", place.PPE, "--closing")
	list, _ := packaging.List(dir, place.PPE)
	var closing *packaging.Sealed
	for _, s := range list {
		if s.Manifest.Exam.Auditorium == "" {
			closing = s
		}
	}
	if closing == nil {
		t.Fatal("no closing set in the outbox")
	}
	cp := openSealed(t, dir, closing, identity)
	var sumBytes []byte
	for _, f := range cp.Manifest.Protocols {
		if f.Name == packaging.SummaryName {
			sumBytes = cp.Files[f.Name]
		}
	}
	if pkg.ShortHash(packaging.SHA256(sumBytes)) != res.Context.Manifest {
		t.Errorf("closing set summary hashes to %s, protocol H %s", pkg.ShortHash(packaging.SHA256(sumBytes)), res.Context.Manifest)
	}
	signed := false
	for _, pg := range cp.Manifest.Pages {
		signed = signed || pg.Type == forms.TypePPE15
	}
	if !signed {
		t.Error("closing set has no signed ППЭ-15 page")
	}

	// Export: a folder verifies; a full or read-only medium fails cleanly.
	to := t.TempDir()
	mustRun(t, "export", "--data", dir, "--ppe", place.PPE, "--to", to)
	sums, err := os.ReadFile(filepath.Join(to, "giascan-"+place.PPE, packaging.SumsName))
	if err != nil || strings.Count(string(sums), "\n") != 2*len(list) {
		t.Errorf("SHA256SUMS: %v %q", err, sums)
	}
	if _, err := exec.LookPath("sha256sum"); err == nil {
		c := exec.Command("sha256sum", "-c", packaging.SumsName)
		c.Dir = filepath.Join(to, "giascan-"+place.PPE)
		if b, err := c.CombinedOutput(); err != nil {
			t.Errorf("sha256sum -c: %v %s", err, b)
		}
	}
	for _, tc := range []struct {
		name string
		m    packaging.Medium
		want string
	}{
		{"full", &faultyMedium{limit: 5000, err: syscall.ENOSPC}, "не хватает места"},
		{"read-only", &faultyMedium{limit: -1, err: syscall.EROFS}, "защищён от записи"},
	} {
		exportMedium = tc.m
		to := t.TempDir()
		code, _, stderr := scanRunIn(t, "", "export", "--data", dir, "--ppe", place.PPE, "--to", to)
		exportMedium = packaging.OSMedium{}
		if code != 1 || !strings.Contains(stderr, tc.want) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("%s medium: exit %d %q, want 1 and %q", tc.name, code, stderr, tc.want)
		}
		left, _ := filepath.Glob(filepath.Join(to, "giascan-"+place.PPE, "*"))
		hidden, _ := filepath.Glob(filepath.Join(to, "giascan-"+place.PPE, ".*"))
		if len(left)+len(hidden) != 0 {
			t.Errorf("%s medium: files left %v %v", tc.name, left, hidden)
		}
	}
	if code, _, _ := scanRunIn(t, "", "export", "--data", dir, "--ppe", place.PPE); code != 2 {
		t.Errorf("export without --to: exit %d, want 2", code)
	}
}

func sameMap(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// faultyMedium is a medium that takes limit bytes (-1: none) and then
// fails with err, as a full or write-protected stick does.
type faultyMedium struct {
	packaging.OSMedium
	limit   int
	written int
	err     error
}

func (m *faultyMedium) MkdirAll(dir string) error { return os.MkdirAll(dir, 0o750) }

func (m *faultyMedium) Create(path string) (io.WriteCloser, error) {
	if m.limit < 0 {
		return nil, &os.PathError{Op: "open", Path: path, Err: m.err}
	}
	w, err := m.OSMedium.Create(path)
	if err != nil {
		return nil, err
	}
	return &limitedWriter{w, m}, nil
}

type limitedWriter struct {
	io.WriteCloser
	m *faultyMedium
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if l.m.written+len(p) > l.m.limit {
		n := max(l.m.limit-l.m.written, 0)
		l.WriteCloser.Write(p[:n])
		l.m.written += n
		return n, &os.PathError{Op: "write", Path: "medium", Err: l.m.err}
	}
	l.m.written += len(p)
	return l.WriteCloser.Write(p)
}

// recognizeScan reads the first page of a scan with the station's
// recognizer.
func recognizeScan(data []byte, name string) (forms.PageResult, error) {
	rc, err := recognition.NewDefault()
	if err != nil {
		return forms.PageResult{}, err
	}
	start := time.Now()
	doc, err := imagein.FromBytes(data, name, imagein.Limits{})
	if err != nil {
		return forms.PageResult{}, badInput("скан %s не открывается как изображение: %v", name, err)
	}
	defer doc.Close()
	m, _, err := doc.Page(0)
	if err != nil {
		return forms.PageResult{}, badInput("скан %s не открывается как изображение: %v", name, err)
	}
	defer m.Close()
	res := rc.Page(m)
	res.File = name
	res.Ms = float64(time.Since(start).Microseconds()) / 1000
	return res, nil
}
