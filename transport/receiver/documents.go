package receiver

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"

	"filippo.io/age"

	"giascan/transport/pkg"
	"giascan/transport/receiver/receipt"
)

// Document is one act or attachment in a package the receiver accepted:
// an entry under acts/ of a ППЭ's closing set, or under attachments/ of
// an auditorium's package (see docs/package.md).
type Document struct {
	PPE        string `json:"ppe"`
	Auditorium string `json:"auditorium,omitempty"` // "" for the closing set
	Package    string `json:"package"`
	Version    int    `json:"version"`
	Name       string `json:"name"` // its name in the package, e.g. attachments/audio/0000012345.wav
	Size       int64  `json:"size"`
	SHA256     string `json:"sha256"`
}

// IsDocument tells whether a file of a package is an act or an
// attachment, the files the РЦОИ reads beside the scans.
func IsDocument(name string) bool {
	return strings.HasPrefix(name, "acts/") || strings.HasPrefix(name, "attachments/")
}

// IsIncidentAct tells whether a file of a closing set is the data of an
// incident act, acts/incident-N.json.
func IsIncidentAct(name string) bool {
	n, ok := strings.CutPrefix(name, "acts/incident-")
	if !ok {
		return false
	}
	n, ok = strings.CutSuffix(n, ".json")
	v, err := strconv.Atoi(n)
	return ok && err == nil && v >= 1 && strconv.Itoa(v) == n
}

// latest returns the newest accepted version of every package, by ППЭ
// then package id.
func (r *Receiver) latest(ctx context.Context) ([]receipt.Receipt, error) {
	keys, err := r.store.List(ctx, "")
	if err != nil {
		return nil, err
	}
	newest := map[string]receipt.Receipt{}
	for _, k := range keys {
		rc, err := r.readReceipt(ctx, k)
		if err != nil {
			return nil, err
		}
		if rc == nil {
			continue
		}
		id := rc.PPE + "/" + rc.Package
		if prev, ok := newest[id]; !ok || rc.Version > prev.Version {
			newest[id] = *rc
		}
	}
	out := make([]receipt.Receipt, 0, len(newest))
	for _, rc := range newest {
		out = append(out, rc)
	}
	slices.SortFunc(out, func(a, b receipt.Receipt) int {
		if c := strings.Compare(a.PPE, b.PPE); c != 0 {
			return c
		}
		return strings.Compare(a.Package, b.Package)
	})
	return out, nil
}

// manifest reads the manifest of an accepted version, kept in the clear
// beside its ciphertext; its hash must be the one the receipt names.
func (r *Receiver) manifest(ctx context.Context, rc receipt.Receipt) (*pkg.Manifest, error) {
	data, err := r.store.Get(ctx, key(rc.PPE, rc.Package, rc.Version, "manifest.json"))
	if err != nil {
		return nil, err
	}
	if pkg.ManifestHash(data) != rc.Manifest {
		return nil, fmt.Errorf("манифест %s v%d в хранилище не тот, что принят: хранилище повреждено", rc.Package, rc.Version)
	}
	var m pkg.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("манифест %s v%d: %w", rc.Package, rc.Version, err)
	}
	return &m, nil
}

// Documents lists the acts and attachments of the newest accepted version
// of every package, by ППЭ, package and name.
func (r *Receiver) Documents(ctx context.Context) ([]Document, error) {
	rcs, err := r.latest(ctx)
	if err != nil {
		return nil, err
	}
	out := []Document{}
	for _, rc := range rcs {
		m, err := r.manifest(ctx, rc)
		if err != nil {
			return nil, err
		}
		for _, f := range m.Files() {
			if IsDocument(f.Name) {
				out = append(out, Document{PPE: rc.PPE, Auditorium: m.Exam.Auditorium, Package: rc.Package, Version: rc.Version,
					Name: f.Name, Size: f.Size, SHA256: f.SHA256})
			}
		}
	}
	return out, nil
}

// incidents counts the incident acts in the newest closing set of each
// ППЭ.
func (r *Receiver) incidents(ctx context.Context, rcs []receipt.Receipt) (map[string]int, error) {
	out := map[string]int{}
	for _, rc := range rcs {
		if !strings.Contains(rc.Package, "-ppe-") {
			continue
		}
		m, err := r.manifest(ctx, rc)
		if err != nil {
			return nil, err
		}
		if m.Exam.Auditorium != "" {
			continue
		}
		n := 0
		for _, f := range m.Files() {
			if IsIncidentAct(f.Name) {
				n++
			}
		}
		out[rc.PPE] = n
	}
	return out, nil
}

// ErrNoDocument is wrapped when the asked act or attachment is not in
// the package.
var ErrNoDocument = errors.New("нет такого документа")

// ExtractDocument writes one act or attachment of an accepted package to
// w: the package streams from the store through decryption to the entry,
// which is checked against the manifest's SHA-256 as it is written. A
// mismatch is an error after the bytes were written, so a caller writing
// a file writes it atomically and drops it on error. version 0 takes the
// newest accepted version.
func (r *Receiver) ExtractDocument(ctx context.Context, id string, version int, name string, w io.Writer) (*Document, error) {
	parts := strings.Split(id, "-")
	if !rePackageID.MatchString(id) || len(parts) < 3 {
		return nil, fmt.Errorf("%w: пакет %q не по формату имени", ErrNoDocument, id)
	}
	ppe := parts[2]
	versions, err := r.versions(ctx, ppe, id)
	if err != nil {
		return nil, err
	}
	if version == 0 {
		for v := range versions {
			version = max(version, v)
		}
	}
	rc, ok := versions[version]
	if !ok {
		return nil, fmt.Errorf("%w: пакет %s v%d не принимался", ErrNoDocument, id, version)
	}
	m, err := r.manifest(ctx, rc)
	if err != nil {
		return nil, err
	}
	var want *pkg.File
	for _, f := range m.Files() {
		if f.Name == name && IsDocument(name) {
			want = &f
		}
	}
	if want == nil {
		return nil, fmt.Errorf("%w: в пакете %s v%d нет акта или вложения %q", ErrNoDocument, id, version, name)
	}
	doc := &Document{PPE: ppe, Auditorium: m.Exam.Auditorium, Package: id, Version: version, Name: name, Size: want.Size, SHA256: want.SHA256}
	ct, err := r.store.Open(ctx, key(ppe, id, version, "tar.age"))
	if err != nil {
		return nil, err
	}
	defer ct.Close()
	dec, err := age.Decrypt(ct, r.keys.Identity)
	if err != nil {
		return nil, fmt.Errorf("пакет %s v%d не расшифровывается: %w", id, version, err)
	}
	tr := tar.NewReader(dec)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("в пакете %s v%d нет файла %s, хотя манифест его называет: хранилище повреждено", id, version, name)
		}
		if err != nil {
			return nil, fmt.Errorf("пакет %s v%d: %w", id, version, err)
		}
		if hdr.Name != name {
			continue
		}
		h := sha256.New()
		n, err := io.Copy(io.MultiWriter(w, h), io.LimitReader(tr, want.Size))
		if err != nil {
			return nil, fmt.Errorf("%s из пакета %s v%d: %w", name, id, version, err)
		}
		if n != want.Size || hex.EncodeToString(h.Sum(nil)) != want.SHA256 {
			return nil, fmt.Errorf("%s из пакета %s v%d не совпадает с манифестом: хранилище повреждено", name, id, version)
		}
		return doc, nil
	}
}

// DocumentsPath lists the acts and attachments for the РЦОИ's staff;
// DocumentPath serves one (?package=ID&version=N&name=NAME).
const (
	DocumentsPath = "/documents"
	DocumentPath  = "/documents/file"
)

type docGroup struct {
	PPE, Auditorium, Package string
	Version                  int
	Docs                     []docRow
}

type docRow struct {
	Name, Size, URL string
}

func (r *Receiver) serveDocuments(w http.ResponseWriter, req *http.Request) {
	docs, err := r.Documents(req.Context())
	if err != nil {
		http.Error(w, "документы не читаются: "+err.Error(), http.StatusInternalServerError)
		return
	}
	if req.URL.Query().Get("format") == "json" {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(docs)
		return
	}
	var groups []docGroup
	for _, d := range docs {
		if len(groups) == 0 || groups[len(groups)-1].Package != d.Package {
			aud := d.Auditorium
			if aud == "" {
				aud = "итоговый комплект"
			}
			groups = append(groups, docGroup{PPE: d.PPE, Auditorium: aud, Package: d.Package, Version: d.Version})
		}
		g := &groups[len(groups)-1]
		g.Docs = append(g.Docs, docRow{Name: d.Name, Size: strconv.FormatInt(d.Size, 10),
			URL: DocumentPath + "?" + url.Values{"package": {d.Package}, "version": {strconv.Itoa(d.Version)}, "name": {d.Name}}.Encode()})
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := docsTmpl.Execute(w, groups); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

func (r *Receiver) serveDocument(w http.ResponseWriter, req *http.Request) {
	q := req.URL.Query()
	v, _ := strconv.Atoi(q.Get("version"))
	name := q.Get("name")
	// The body is written as the package streams; the checks that can
	// fail before a byte is sent (the package, the name) come first.
	var sent bool
	hw := &headerWriter{w: w, before: func() {
		sent = true
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", "attachment; filename=\""+path.Base(name)+"\"")
		w.Header().Set("Cache-Control", "no-store")
	}}
	_, err := r.ExtractDocument(req.Context(), q.Get("package"), v, name, hw)
	switch {
	case err == nil:
		if !sent {
			hw.Write(nil)
		}
	case sent:
		// Too late for a status: the connection is cut so the download
		// fails rather than end as a whole but wrong file.
		panic(http.ErrAbortHandler)
	case errors.Is(err, ErrNoDocument), errors.Is(err, fs.ErrNotExist):
		http.Error(w, err.Error(), http.StatusNotFound)
	default:
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

// headerWriter calls before once, ahead of the first write.
type headerWriter struct {
	w      http.ResponseWriter
	before func()
	done   bool
}

func (h *headerWriter) Write(p []byte) (int, error) {
	if !h.done {
		h.done = true
		h.before()
	}
	return h.w.Write(p)
}

var docsTmpl = template.Must(template.New("docs").Parse(`<!doctype html>
<html lang="ru"><head><meta charset="utf-8">
<title>РЦОИ: акты и вложения</title>
<style>
body{font-family:"DejaVu Sans",sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;width:100%}
th,td{border:1px solid #bbb;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eee}
</style></head><body>
<h1>Акты и вложения принятых пакетов</h1>
<p><a href="/">← приём пакетов</a></p>
{{if .}}<table id="documents">
<tr><th>ППЭ</th><th>Аудитория</th><th>Пакет</th><th>Файл</th><th>Байт</th></tr>
{{range .}}{{$g := .}}{{range .Docs}}<tr data-ppe="{{$g.PPE}}"><td>{{$g.PPE}}</td><td>{{$g.Auditorium}}</td><td><code>{{$g.Package}} v{{$g.Version}}</code></td><td><a href="{{.URL}}">{{.Name}}</a></td><td>{{.Size}}</td></tr>
{{end}}{{end}}</table>{{else}}<p id="none">В принятых пакетах нет ни актов, ни вложений.</p>{{end}}
</body></html>`))
