// Package pkg defines the package the station sends to the РЦОИ: one closed
// auditorium, or the closing set of a ППЭ, as a tar file that holds
// manifest.json and the files it lists (page images, protocol PDFs, audit
// excerpts), each checked by SHA-256.
//
// Tar rather than zip: it is written and read in one pass with no seeking,
// so a package streams straight into encryption and out of decryption; its
// bytes depend only on what is in it (the station fixes names, order, times
// and owners), so a rebuilt package hashes the same; and the files in it
// are compressed already (G4, JPEG, PDF) or are small, so zip's per-file
// compression would buy nothing. manifest.json comes first, so a reader
// knows what to expect before the first file and can refuse early.
package pkg

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// FormatVersion is the version of the manifest this package writes and
// reads. A reader refuses other versions rather than guess.
const FormatVersion = 1

// ManifestName is the name of the manifest inside the tar; always the first
// entry.
const ManifestName = "manifest.json"

// Manifest describes a package: what exam it belongs to, who made it, and
// every file in it with its SHA-256.
type Manifest struct {
	Format  int       `json:"format"`
	Exam    Exam      `json:"exam"`
	Station string    `json:"station"` // station id
	ID      string    `json:"id"`      // stable across resends: see PackageID
	Version int       `json:"version"` // 1, 2, … for each resend of ID
	Created time.Time `json:"created"`
	Pages   []Page    `json:"pages"`
	// Protocols are the PDFs of the ППЭ forms (ППЭ-13-02-МАШ, ППЭ-18-МАШ,
	// ППЭ-15, …) that go with the pages.
	Protocols []File `json:"protocols"`
	// Audit are excerpts of the station's audit log for this package.
	Audit []File `json:"audit"`
	// Attachments are an auditorium's files other than scans (ППОИ
	// procedure §5.5): attachments/kege/KIT…, the participants' КЕГЭ
	// answer files, attachments/audio/KIT…, their oral-answer recordings,
	// and attachments/index.json, which lists them with kit, kind, size,
	// SHA-256 and an audio file's duration. Left out of the manifest when
	// there are none, so a package without them hashes as before.
	Attachments []File `json:"attachments,omitempty"`
	// Acts are a ППЭ's acts in its closing set: acts/NAME.json (the act's
	// data), acts/NAME.pdf (printed) and acts/NAME-signed.EXT (its signed
	// scan), NAME being acceptance, incident-N (N from 1) or
	// removed-unfinished. Left out when there are none.
	Acts []File `json:"acts,omitempty"`
}

// Exam is the exam context of a package, as in the forms' QR codes.
type Exam struct {
	Level      int    `json:"level"`      // 9 or 11
	Region     string `json:"region"`     // 2 digits
	PPE        string `json:"ppe"`        // 4 digits
	Auditorium string `json:"auditorium"` // 4 digits, or "" for a ППЭ's closing set
	Subject    string `json:"subject"`    // 2 digits
	Date       string `json:"date"`       // YYYYMMDD
}

// Page is one scanned page and what the station made of it.
type Page struct {
	Seq     int    `json:"seq"` // scan order within the package, from 1
	Type    string `json:"type"`
	Barcode string `json:"barcode"`
	Kit     string `json:"kit"`
	Sheet   int    `json:"sheet"`
	File    string `json:"file"`   // image file name in the package
	SHA256  string `json:"sha256"` // set by the Builder
	Size    int64  `json:"size"`   // set by the Builder
	// Recognition is the recogniser's result for the page as it stands
	// (its schema belongs to the recogniser).
	Recognition json.RawMessage `json:"recognition,omitempty"`
	Flags       []string        `json:"flags,omitempty"`
	Reviewed    []Review        `json:"reviewed,omitempty"`
}

// Review is a value an operator confirmed or corrected by hand.
type Review struct {
	Field string    `json:"field"`
	Value string    `json:"value"`
	By    string    `json:"by"` // who confirmed it
	At    time.Time `json:"at"`
}

// File is a file of the package other than a page image.
type File struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"` // set by the Builder
	Size   int64  `json:"size"`   // set by the Builder
}

// PackageID returns the stable id of the package of an exam context:
// level-region-ppe-auditorium-subject-date, with "ppe" in place of the
// auditorium for a ППЭ's closing set. Resends keep the id and raise the
// version.
func PackageID(e Exam) string {
	aud := e.Auditorium
	if aud == "" {
		aud = "ppe"
	}
	return fmt.Sprintf("%d-%s-%s-%s-%s-%s", e.Level, e.Region, e.PPE, aud, e.Subject, e.Date)
}

// Name is the id and version, e.g. "11-77-0101-0012-02-20250527-v2": a file
// name for the package that differs between resends.
func (m *Manifest) Name() string { return fmt.Sprintf("%s-v%d", m.ID, m.Version) }

var (
	reDigits   = map[int]*regexp.Regexp{2: regexp.MustCompile(`^[0-9]{2}$`), 4: regexp.MustCompile(`^[0-9]{4}$`), 8: regexp.MustCompile(`^[0-9]{8}$`)}
	reFileName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)
	reSHA256   = regexp.MustCompile(`^[0-9a-f]{64}$`)
	reStation  = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
	// reAttachment is a file of Manifest.Attachments: a participant's
	// file named by the kit number (10 digits), or the index.
	reAttachment = regexp.MustCompile(`^attachments/(?:(?:kege|audio)/[0-9]{10}[A-Za-z0-9._-]{0,80}|index\.json)$`)
)

// reAct is a file of Manifest.Acts.
var reAct = regexp.MustCompile(`^acts/(?:acceptance|removed-unfinished|incident-[1-9][0-9]{0,3})(?:\.json|\.pdf|-signed\.[a-z0-9]{1,5})$`)

// IsAct tells whether name is a valid name of an act.
func IsAct(name string) bool { return reAct.MatchString(name) }

// AttachmentIndex is the name of the index of an auditorium's attachments
// inside its package.
const AttachmentIndex = "attachments/index.json"

// IsAttachment tells whether name is a valid name of an attachment.
func IsAttachment(name string) bool { return reAttachment.MatchString(name) }

// validate checks a manifest's own fields (not the files against it).
func (m *Manifest) validate() error {
	if m.Format != FormatVersion {
		return fmt.Errorf("manifest format %d, this station reads format %d", m.Format, FormatVersion)
	}
	e := m.Exam
	switch {
	case e.Level != 9 && e.Level != 11:
		return fmt.Errorf("exam level %d: want 9 or 11", e.Level)
	case !reDigits[2].MatchString(e.Region):
		return fmt.Errorf("exam region %q: want 2 digits", e.Region)
	case !reDigits[4].MatchString(e.PPE):
		return fmt.Errorf("exam ППЭ %q: want 4 digits", e.PPE)
	case e.Auditorium != "" && (!reDigits[4].MatchString(e.Auditorium) || e.Auditorium == "0000"):
		return fmt.Errorf("exam auditorium %q: want 4 digits from 0001, or empty for a ППЭ's closing set", e.Auditorium)
	case !reDigits[2].MatchString(e.Subject):
		return fmt.Errorf("exam subject %q: want 2 digits", e.Subject)
	case !reDigits[8].MatchString(e.Date):
		return fmt.Errorf("exam date %q: want YYYYMMDD", e.Date)
	case !reStation.MatchString(m.Station):
		return fmt.Errorf("station id %q: want 1 to 64 letters, digits, '.', '_' or '-'", m.Station)
	case m.ID != PackageID(e):
		return fmt.Errorf("package id %q does not match its exam, want %q", m.ID, PackageID(e))
	case m.Version < 1:
		return fmt.Errorf("package version %d: want 1 or more", m.Version)
	case m.Created.IsZero():
		return fmt.Errorf("package has no creation time")
	}
	names := map[string]string{}
	seen := func(name, what string) error {
		if !reFileName.MatchString(name) || name == ManifestName {
			return fmt.Errorf("%s file name %q: want up to 100 letters, digits, '.', '_' or '-', not starting with a punctuation mark, and not %s", what, name, ManifestName)
		}
		if prev, dup := names[name]; dup {
			return fmt.Errorf("file name %q used twice (%s and %s)", name, prev, what)
		}
		names[name] = what
		return nil
	}
	seqs := map[int]bool{}
	for i, p := range m.Pages {
		what := fmt.Sprintf("page %d", p.Seq)
		if p.Seq < 1 || seqs[p.Seq] {
			return fmt.Errorf("page #%d: sequence number %d is below 1 or used twice", i+1, p.Seq)
		}
		seqs[p.Seq] = true
		if err := seen(p.File, what); err != nil {
			return err
		}
		if !reSHA256.MatchString(p.SHA256) || p.Size < 0 {
			return fmt.Errorf("%s: bad SHA-256 %q or size %d", what, p.SHA256, p.Size)
		}
	}
	for _, group := range []struct {
		what  string
		files []File
	}{{"protocol", m.Protocols}, {"audit", m.Audit}} {
		for _, f := range group.files {
			if err := seen(f.Name, group.what); err != nil {
				return err
			}
			if !reSHA256.MatchString(f.SHA256) || f.Size < 0 {
				return fmt.Errorf("%s %s: bad SHA-256 %q or size %d", group.what, f.Name, f.SHA256, f.Size)
			}
		}
	}
	for _, f := range m.Attachments {
		if !reAttachment.MatchString(f.Name) {
			return fmt.Errorf("attachment name %q: want attachments/kege/ or attachments/audio/ and a name starting with a 10-digit kit number, or %s", f.Name, AttachmentIndex)
		}
		if prev, dup := names[f.Name]; dup {
			return fmt.Errorf("file name %q used twice (%s and attachment)", f.Name, prev)
		}
		names[f.Name] = "attachment"
		if !reSHA256.MatchString(f.SHA256) || f.Size < 0 {
			return fmt.Errorf("attachment %s: bad SHA-256 %q or size %d", f.Name, f.SHA256, f.Size)
		}
	}
	for _, f := range m.Acts {
		if !reAct.MatchString(f.Name) {
			return fmt.Errorf("act name %q: want acts/acceptance, acts/incident-N or acts/removed-unfinished with .json, .pdf or -signed.EXT", f.Name)
		}
		if prev, dup := names[f.Name]; dup {
			return fmt.Errorf("file name %q used twice (%s and act)", f.Name, prev)
		}
		names[f.Name] = "act"
		if !reSHA256.MatchString(f.SHA256) || f.Size < 0 {
			return fmt.Errorf("act %s: bad SHA-256 %q or size %d", f.Name, f.SHA256, f.Size)
		}
	}
	return nil
}

// Files lists every file the manifest names, with its hash and size, by
// name.
func (m *Manifest) Files() []File {
	all := m.files()
	out := make([]File, 0, len(all))
	for _, f := range all {
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b File) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// files lists every file the manifest names, with its expected hash and
// size.
func (m *Manifest) files() map[string]File {
	all := map[string]File{}
	for _, p := range m.Pages {
		all[p.File] = File{Name: p.File, SHA256: p.SHA256, Size: p.Size}
	}
	for _, f := range m.Protocols {
		all[f.Name] = f
	}
	for _, f := range m.Audit {
		all[f.Name] = f
	}
	for _, f := range m.Attachments {
		all[f.Name] = f
	}
	for _, f := range m.Acts {
		all[f.Name] = f
	}
	return all
}
