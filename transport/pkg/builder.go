package pkg

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// Builder assembles a package. Files are read once, as streams, and kept
// in memory until Write: page images and forms are megabytes, not
// gigabytes. Attachment files (audio may be hundreds of megabytes) are
// hashed from their path as a stream and streamed again by Write, never
// held.
type Builder struct {
	m     Manifest
	data  map[string][]byte
	paths map[string]string // name → file on disk, for AddAttachmentFile
	added map[string]string // name → what, for duplicate checks
}

// NewBuilder starts a package from a manifest's header: Format, Exam,
// Station, ID, Version and Created. Pages, Protocols and Audit are filled
// by the Add methods; any already in m are ignored.
func NewBuilder(m Manifest) *Builder {
	m.Pages, m.Protocols, m.Audit, m.Attachments, m.Acts = nil, nil, nil, nil, nil
	m.Created = m.Created.UTC()
	return &Builder{m: m, data: map[string][]byte{}, paths: map[string]string{}, added: map[string]string{}}
}

// read reads a file's content, remembering it under name.
func (b *Builder) read(name, what string, r io.Reader) (string, int64, error) {
	if prev, dup := b.added[name]; dup {
		return "", 0, fmt.Errorf("package: %s %s: name already used by %s", what, name, prev)
	}
	var buf bytes.Buffer
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(&buf, h), r)
	if err != nil {
		return "", 0, fmt.Errorf("package: read %s %s: %w", what, name, err)
	}
	b.added[name] = what
	b.data[name] = buf.Bytes()
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// AddPage adds a page image with its record; p.SHA256 and p.Size are
// computed from r.
func (b *Builder) AddPage(p Page, r io.Reader) error {
	sum, n, err := b.read(p.File, fmt.Sprintf("page %d", p.Seq), r)
	if err != nil {
		return err
	}
	p.SHA256, p.Size = sum, n
	b.m.Pages = append(b.m.Pages, p)
	return nil
}

// AddProtocol adds a protocol PDF.
func (b *Builder) AddProtocol(name string, r io.Reader) error {
	sum, n, err := b.read(name, "protocol", r)
	if err != nil {
		return err
	}
	b.m.Protocols = append(b.m.Protocols, File{Name: name, SHA256: sum, Size: n})
	return nil
}

// AddAudit adds an audit excerpt.
func (b *Builder) AddAudit(name string, r io.Reader) error {
	sum, n, err := b.read(name, "audit", r)
	if err != nil {
		return err
	}
	b.m.Audit = append(b.m.Audit, File{Name: name, SHA256: sum, Size: n})
	return nil
}

// AddAttachment adds a small attachment held in memory, such as
// attachments/index.json.
func (b *Builder) AddAttachment(name string, r io.Reader) error {
	sum, n, err := b.read(name, "attachment", r)
	if err != nil {
		return err
	}
	b.m.Attachments = append(b.m.Attachments, File{Name: name, SHA256: sum, Size: n})
	return nil
}

// AddAct adds an act of a ППЭ's closing set (see Manifest.Acts).
func (b *Builder) AddAct(name string, r io.Reader) error {
	sum, n, err := b.read(name, "act", r)
	if err != nil {
		return err
	}
	b.m.Acts = append(b.m.Acts, File{Name: name, SHA256: sum, Size: n})
	return nil
}

// AddAttachmentFile adds the file at path as attachment name. It is read
// here once to hash it and again by Write, as streams; Write refuses it if
// it changed in between.
func (b *Builder) AddAttachmentFile(name, path string) error {
	if prev, dup := b.added[name]; dup {
		return fmt.Errorf("package: attachment %s: name already used by %s", name, prev)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("package: attachment %s: %w", name, err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return fmt.Errorf("package: read attachment %s: %w", name, err)
	}
	b.added[name] = "attachment"
	b.paths[name] = path
	b.m.Attachments = append(b.m.Attachments, File{Name: name, SHA256: hex.EncodeToString(h.Sum(nil)), Size: n})
	return nil
}

// Manifest returns the manifest as it stands, in the order it will be
// written.
func (b *Builder) Manifest() Manifest {
	m := b.m
	m.Pages = slices.Clone(m.Pages)
	m.Protocols = slices.Clone(m.Protocols)
	m.Audit = slices.Clone(m.Audit)
	m.Attachments = slices.Clone(m.Attachments)
	m.Acts = slices.Clone(m.Acts)
	// The order of Add calls must not show in the package: pages go by
	// sequence number, other files by name.
	slices.SortFunc(m.Pages, func(x, y Page) int { return x.Seq - y.Seq })
	byName := func(x, y File) int { return strings.Compare(x.Name, y.Name) }
	slices.SortFunc(m.Protocols, byName)
	slices.SortFunc(m.Audit, byName)
	slices.SortFunc(m.Attachments, byName)
	slices.SortFunc(m.Acts, byName)
	return m
}

// Write validates the manifest and writes the package as tar:
// manifest.json, then the files sorted by name. Equal content gives equal
// bytes. It returns the manifest hash (see ManifestHash).
func (b *Builder) Write(w io.Writer) (string, error) {
	m := b.Manifest()
	if err := m.validate(); err != nil {
		return "", fmt.Errorf("package %s: %w", m.Name(), err)
	}
	mb, err := marshalManifest(&m)
	if err != nil {
		return "", fmt.Errorf("package %s: %w", m.Name(), err)
	}
	tw := tar.NewWriter(w)
	put := func(name string, data []byte) error {
		hdr := &tar.Header{
			Typeflag: tar.TypeReg,
			Name:     name,
			Mode:     0o644,
			Size:     int64(len(data)),
			ModTime:  m.Created.Truncate(1e9),
			Format:   tar.FormatUSTAR, // names are ASCII: no PAX records, no access times
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("package %s: write %s: %w", m.Name(), name, err)
		}
		if _, err := tw.Write(data); err != nil {
			return fmt.Errorf("package %s: write %s: %w", m.Name(), name, err)
		}
		return nil
	}
	if err := put(ManifestName, mb); err != nil {
		return "", err
	}
	names := make([]string, 0, len(b.data)+len(b.paths))
	for n := range b.data {
		names = append(names, n)
	}
	for n := range b.paths {
		names = append(names, n)
	}
	slices.Sort(names)
	sizes := map[string]File{}
	for _, f := range m.Attachments {
		sizes[f.Name] = f
	}
	for _, n := range names {
		if p, ok := b.paths[n]; ok {
			if err := putFile(tw, m, n, p, sizes[n]); err != nil {
				return "", err
			}
			continue
		}
		if err := put(n, b.data[n]); err != nil {
			return "", err
		}
	}
	if err := tw.Close(); err != nil {
		return "", fmt.Errorf("package %s: finish tar: %w", m.Name(), err)
	}
	return ManifestHash(mb), nil
}

// putFile streams the file at path into the tar as name, checking that it
// is still the file the manifest hashed.
func putFile(tw *tar.Writer, m Manifest, name, path string, want File) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("package %s: %s: %w", m.Name(), name, err)
	}
	defer f.Close()
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: want.Size,
		ModTime: m.Created.Truncate(1e9), Format: tar.FormatUSTAR}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("package %s: write %s: %w", m.Name(), name, err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tw, h), io.LimitReader(f, want.Size))
	if err != nil {
		return fmt.Errorf("package %s: write %s: %w", m.Name(), name, err)
	}
	if n != want.Size || hex.EncodeToString(h.Sum(nil)) != want.SHA256 {
		return fmt.Errorf("package %s: %s changed while the package was built", m.Name(), name)
	}
	return nil
}

// marshalManifest is the one encoding of a manifest, so that its hash is
// reproducible.
func marshalManifest(m *Manifest) ([]byte, error) {
	if m.Pages == nil {
		m.Pages = []Page{}
	}
	if m.Protocols == nil {
		m.Protocols = []File{}
	}
	if m.Audit == nil {
		m.Audit = []File{}
	}
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode manifest: %w", err)
	}
	return append(mb, '\n'), nil
}

// ManifestHash is the SHA-256 of the manifest's bytes, in hex. It names the
// package's whole content, since the manifest holds every file's hash.
func ManifestHash(manifest []byte) string {
	h := sha256.Sum256(manifest)
	return hex.EncodeToString(h[:])
}

// ShortHash is the first 16 hex digits of a manifest hash: the key H that
// the ППЭ-15 QR code carries to tie the signed paper to the package.
func ShortHash(manifestHash string) string {
	if len(manifestHash) < 16 {
		return manifestHash
	}
	return manifestHash[:16]
}
