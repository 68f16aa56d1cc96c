package pkg

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
)

// ErrInvalid is wrapped by every error of Read that is about the package's
// content rather than about reading it: such a package is refused.
var ErrInvalid = errors.New("invalid package")

// Package is a package read and checked in full.
type Package struct {
	Manifest Manifest
	// ManifestBytes is manifest.json as stored; its hash is ManifestHash.
	ManifestBytes []byte
	// Files maps each file name in the manifest to its content.
	Files map[string][]byte
}

// Hash returns the package's manifest hash.
func (p *Package) Hash() string { return ManifestHash(p.ManifestBytes) }

// Read reads a package and checks it: manifest.json first and valid, then
// exactly the files it lists, each with its size and SHA-256. It refuses a
// missing, extra, duplicated or altered file, naming it. maxSize bounds
// the bytes of content held in memory.
func Read(r io.Reader, maxSize int64) (*Package, error) { return read(r, maxSize, true) }

// Check makes the checks of Read while the package streams past, holding
// only the manifest: a package of any size costs a few buffers of memory.
// The returned Package has no Files. maxSize bounds the package's content.
func Check(r io.Reader, maxSize int64) (*Package, error) { return read(r, maxSize, false) }

// maxManifest bounds manifest.json, the one entry Check holds in memory:
// an auditorium's manifest is tens of kilobytes.
const maxManifest = 64 << 20

func read(r io.Reader, maxSize int64, keep bool) (*Package, error) {
	tr := tar.NewReader(r)
	p := &Package{}
	if keep {
		p.Files = map[string][]byte{}
	}
	seen := map[string]bool{}
	var want map[string]File
	var total int64
	for i := 0; ; i++ {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("package: read tar: %w", err)
		}
		if hdr.Typeflag != tar.TypeReg {
			return nil, invalid("entry %q is not a regular file (type %q)", hdr.Name, hdr.Typeflag)
		}
		if hdr.Size < 0 || total+hdr.Size > maxSize {
			return nil, invalid("entry %q takes the package over %d bytes", hdr.Name, maxSize)
		}
		total += hdr.Size
		if i == 0 {
			if hdr.Name != ManifestName {
				return nil, invalid("first entry is %q, want %s", hdr.Name, ManifestName)
			}
			if hdr.Size > maxManifest {
				return nil, invalid("%s of %d bytes is over %d", ManifestName, hdr.Size, maxManifest)
			}
			data, err := io.ReadAll(io.LimitReader(tr, hdr.Size))
			if err != nil {
				return nil, fmt.Errorf("package: read %s: %w", hdr.Name, err)
			}
			if err := p.setManifest(data); err != nil {
				return nil, err
			}
			want = p.Manifest.files()
			continue
		}
		f, listed := want[hdr.Name]
		switch {
		case hdr.Name == ManifestName:
			return nil, invalid("a second %s", ManifestName)
		case !listed:
			return nil, invalid("file %q is not in the manifest", hdr.Name)
		case seen[hdr.Name]:
			return nil, invalid("file %q appears twice", hdr.Name)
		}
		seen[hdr.Name] = true
		h := sha256.New()
		var data []byte
		var n int64
		if keep {
			data, err = io.ReadAll(io.LimitReader(tr, hdr.Size))
			h.Write(data)
			n = int64(len(data))
		} else {
			n, err = io.Copy(h, io.LimitReader(tr, hdr.Size))
		}
		if err != nil {
			return nil, fmt.Errorf("package: read %s: %w", hdr.Name, err)
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != f.SHA256 || n != f.Size {
			return nil, invalid("file %q is altered: %d bytes with SHA-256 %s, the manifest says %d bytes with %s", hdr.Name, n, got, f.Size, f.SHA256)
		}
		if keep {
			p.Files[hdr.Name] = data
		}
	}
	if want == nil {
		return nil, invalid("no %s", ManifestName)
	}
	var missing []string
	for name := range want {
		if !seen[name] {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return nil, invalid("missing %d file(s) listed in the manifest: %q", len(missing), missing)
	}
	return p, nil
}

func (p *Package) setManifest(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields() // a field this reader does not know is a format it does not know
	if err := dec.Decode(&p.Manifest); err != nil {
		return invalid("%s: %v", ManifestName, err)
	}
	if err := p.Manifest.validate(); err != nil {
		return invalid("%s: %v", ManifestName, err)
	}
	p.ManifestBytes = data
	return nil
}

func invalid(format string, a ...any) error {
	return fmt.Errorf("package: %w: %s", ErrInvalid, fmt.Sprintf(format, a...))
}
