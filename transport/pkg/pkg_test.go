package pkg

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func header() Manifest {
	e := Exam{Level: 11, Region: "77", PPE: "0101", Auditorium: "0012", Subject: "02", Date: "20250527"}
	return Manifest{Format: FormatVersion, Exam: e, Station: "st-77-0101-1", ID: PackageID(e), Version: 2,
		Created: time.Date(2025, 5, 27, 14, 30, 0, 0, time.FixedZone("MSK", 3*3600))}
}

type addFunc func(b *Builder) error

func adds() []addFunc {
	return []addFunc{
		func(b *Builder) error {
			return b.AddPage(Page{Seq: 2, Type: "21", Barcode: "2100000000017", Kit: "0000012345", Sheet: 1, File: "p0002.tif",
				Recognition: json.RawMessage(`{"answers":["12"]}`), Flags: []string{"low_confidence"},
				Reviewed: []Review{{Field: "answer.1", Value: "12", By: "Иванова И.И.", At: time.Date(2025, 5, 27, 15, 0, 0, 0, time.UTC)}}},
				strings.NewReader("page two"))
		},
		func(b *Builder) error {
			return b.AddPage(Page{Seq: 1, Type: "11", Barcode: "1100000000012", Kit: "0000012345", File: "p0001.tif"}, strings.NewReader("page one"))
		},
		func(b *Builder) error { return b.AddProtocol("ppe-13-02.pdf", strings.NewReader("%PDF-1.7 protocol")) },
		func(b *Builder) error {
			return b.AddAudit("audit.jsonl", strings.NewReader("{\"event\":\"closed\"}\n"))
		},
		func(b *Builder) error {
			return b.AddPage(Page{Seq: 3, Type: "23", File: "p0003.tif"}, strings.NewReader(""))
		},
	}
}

func build(t *testing.T, order []int) ([]byte, string) {
	t.Helper()
	b := NewBuilder(header())
	fs := adds()
	for _, i := range order {
		if err := fs[i](b); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	hash, err := b.Write(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), hash
}

func TestRoundTripAndDeterminism(t *testing.T) {
	data, hash := build(t, []int{0, 1, 2, 3, 4})
	again, hash2 := build(t, []int{4, 3, 2, 1, 0})
	if !bytes.Equal(data, again) || hash != hash2 {
		t.Fatal("the order of Add calls changed the package")
	}
	p, err := Read(bytes.NewReader(data), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if p.Hash() != hash || len(hash) != 64 || ShortHash(hash) != hash[:16] {
		t.Fatalf("hash %s, read back %s", hash, p.Hash())
	}
	m := p.Manifest
	if m.Name() != "11-77-0101-0012-02-20250527-v2" || m.Created.Location() != time.UTC {
		t.Errorf("name %s, created %v", m.Name(), m.Created)
	}
	var rec bytes.Buffer
	json.Compact(&rec, m.Pages[1].Recognition)
	if len(m.Pages) != 3 || m.Pages[0].Seq != 1 || m.Pages[1].Reviewed[0].By != "Иванова И.И." || rec.String() != `{"answers":["12"]}` {
		t.Errorf("pages %+v", m.Pages)
	}
	if string(p.Files["p0002.tif"]) != "page two" || len(p.Files["p0003.tif"]) != 0 || len(p.Files) != 5 {
		t.Errorf("files %q", p.Files)
	}
	// SHA-256 of "page one".
	if m.Pages[0].Size != 8 || m.Pages[0].SHA256 != "08e548c038b1608847f6285d147959da2c6632aca2cda9fd1166ec8f32b460e7" {
		t.Errorf("page 1: %d bytes, SHA-256 %s", m.Pages[0].Size, m.Pages[0].SHA256)
	}
	// manifest.json first, then files by name.
	var names []string
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		names = append(names, h.Name)
	}
	if got := strings.Join(names, " "); got != "manifest.json audit.jsonl p0001.tif p0002.tif p0003.tif ppe-13-02.pdf" {
		t.Errorf("tar order: %s", got)
	}
}

type entry struct {
	name string
	data []byte
}

func entries(t *testing.T, data []byte) []entry {
	t.Helper()
	var es []entry
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return es
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		es = append(es, entry{h.Name, b})
	}
}

func retar(es []entry) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range es {
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: e.name, Mode: 0o644, Size: int64(len(e.data))})
		tw.Write(e.data)
	}
	tw.Close()
	return buf.Bytes()
}

func TestReadRefuses(t *testing.T) {
	data, _ := build(t, []int{0, 1, 2, 3, 4})
	orig := entries(t, data)
	edit := func(f func(es []entry) []entry) []byte {
		es := make([]entry, len(orig))
		for i, e := range orig {
			es[i] = entry{e.name, bytes.Clone(e.data)}
		}
		return retar(f(es))
	}
	editManifest := func(f func(m map[string]any)) []byte {
		return edit(func(es []entry) []entry {
			var m map[string]any
			json.Unmarshal(es[0].data, &m)
			f(m)
			es[0].data, _ = json.Marshal(m)
			return es
		})
	}
	for _, c := range []struct {
		name, want string
		data       []byte
	}{
		{"altered file", `file "p0001.tif" is altered`, edit(func(es []entry) []entry { es[2].data[0] ^= 1; return es })},
		{"missing file", `missing 1 file(s) listed in the manifest: ["ppe-13-02.pdf"]`, edit(func(es []entry) []entry { return es[:5] })},
		{"extra file", `file "extra.bin" is not in the manifest`, edit(func(es []entry) []entry { return append(es, entry{"extra.bin", []byte("x")}) })},
		{"duplicate", `file "p0002.tif" appears twice`, edit(func(es []entry) []entry { return append(es, es[3]) })},
		{"manifest not first", `first entry is "audit.jsonl"`, edit(func(es []entry) []entry { es[0], es[1] = es[1], es[0]; return es })},
		{"no manifest", `no manifest.json`, retar(nil)},
		{"second manifest", `a second manifest.json`, edit(func(es []entry) []entry { return append(es, es[0]) })},
		{"newer format", `manifest format 2, this station reads format 1`, editManifest(func(m map[string]any) { m["format"] = 2 })},
		{"unknown field", `unknown field "extra"`, editManifest(func(m map[string]any) { m["extra"] = 1 })},
		{"id not of its exam", `package id "x" does not match its exam`, editManifest(func(m map[string]any) { m["id"] = "x" })},
		{"path in a name", `file name "../p0001.tif"`, editManifest(func(m map[string]any) {
			m["pages"].([]any)[0].(map[string]any)["file"] = "../p0001.tif"
		})},
		{"too big", `takes the package over 10 bytes`, data},
	} {
		limit := int64(1 << 20)
		if c.name == "too big" {
			limit = 10
		}
		// Check, which holds no file, refuses exactly what Read refuses.
		for fn, read := range map[string]func(io.Reader, int64) (*Package, error){"Read": Read, "Check": Check} {
			_, err := read(bytes.NewReader(c.data), limit)
			if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s %s: got %v, want an invalid package error with %q", fn, c.name, err, c.want)
			}
		}
	}
	p, err := Check(bytes.NewReader(data), 1<<20)
	if err != nil || p.Files != nil || p.Manifest.ID != header().ID || len(p.ManifestBytes) == 0 {
		t.Fatalf("Check of a whole package: %+v %v", p, err)
	}
}

func TestBuilderRefuses(t *testing.T) {
	b := NewBuilder(header())
	if err := b.AddPage(Page{Seq: 1, File: "a.tif"}, strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	if err := b.AddAudit("a.tif", strings.NewReader("y")); err == nil || !strings.Contains(err.Error(), "name already used by page 1") {
		t.Errorf("duplicate name: %v", err)
	}
	b.AddPage(Page{Seq: 1, File: "b.tif"}, strings.NewReader("z"))
	if _, err := b.Write(io.Discard); err == nil || !strings.Contains(err.Error(), "sequence number 1") {
		t.Errorf("duplicate seq: %v", err)
	}
	m := header()
	m.Exam.Auditorium = ""
	m.ID = PackageID(m.Exam)
	if m.ID != "11-77-0101-ppe-02-20250527" {
		t.Errorf("ППЭ closing set id %s", m.ID)
	}
	if _, err := NewBuilder(m).Write(io.Discard); err != nil {
		t.Errorf("empty ППЭ closing set: %v", err)
	}
}

// Attachments and acts are named only as docs/package.md says; a file
// that changed between AddAttachmentFile and Write is refused.
func TestAttachmentAndActNames(t *testing.T) {
	for name, ok := range map[string]bool{
		"attachments/kege/0000012345.txt": true, "attachments/audio/0000012345.wav": true, "attachments/index.json": true,
		"attachments/video/0000012345.mp4": false, "attachments/kege/../0000012345": false, "attachments/audio/12345.wav": false,
		"acts/incident-1.json": true, "acts/acceptance-signed.jpg": true, "acts/removed-unfinished.pdf": true,
		"acts/incident-0.json": false, "acts/other.json": false,
	} {
		b := NewBuilder(header())
		var err error
		if strings.HasPrefix(name, "acts/") {
			err = b.AddAct(name, strings.NewReader("x"))
		} else {
			err = b.AddAttachment(name, strings.NewReader("x"))
		}
		if err == nil {
			_, err = b.Write(io.Discard)
		}
		if (err == nil) != ok {
			t.Errorf("%s: %v, want accepted %v", name, err, ok)
		}
	}
	p := filepath.Join(t.TempDir(), "a.wav")
	os.WriteFile(p, []byte("RIFF one"), 0o644)
	b := NewBuilder(header())
	if err := b.AddAttachmentFile("attachments/audio/0000012345.wav", p); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(p, []byte("RIFF two"), 0o644)
	if _, err := b.Write(io.Discard); err == nil || !strings.Contains(err.Error(), "changed") {
		t.Errorf("a file changed before Write: %v", err)
	}
}
