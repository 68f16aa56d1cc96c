// Package attach keeps the files that go to the РЦОИ beside an
// auditorium's scans (ППОИ procedure, §5.5): the participants' КЕГЭ answer
// files of the computer-based informatics exam and the audio of the oral
// answers in foreign languages. Each file is named by the participant's
// kit number; an import checks the files against the kits the exam file
// plans for the auditorium and reports, in Russian, what is missing,
// extra, empty, unreadable, too big or not audio, taking every good file.
//
// Data folder layout, DATA/attachments/PPE/AUD/ (layout.Dir.Attachments):
//
//	index.json                 what the auditorium holds (Index)
//	kege/KIT-STAMP.EXT         a КЕГЭ answer file as imported
//	audio/KIT-STAMP.EXT        an oral-answer recording as imported
//
// STAMP is the import's time, so an import never overwrites a file the
// index names: the index is switched to the new files in one atomic write,
// and only then are the files it no longer names removed. A crash leaves
// at most files no index names, which the next import removes.
package attach

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"giascan/atomicfile"
	"giascan/station/layout"
)

// The kinds of attachment, as the package's index names them.
const (
	KEGE  = "kege"  // a КЕГЭ answer file
	Audio = "audio" // an oral-answer recording, WAV or MP3
)

// Kinds lists the kinds in the order screens show them.
var Kinds = []string{KEGE, Audio}

// KindName is the Russian name of a kind, for screens and messages.
func KindName(kind string) string {
	switch kind {
	case KEGE:
		return "файлы ответов КЕГЭ"
	case Audio:
		return "аудиозаписи устных ответов"
	}
	return kind
}

// KindTitle is KindName at the start of a heading or a line.
func KindTitle(kind string) string {
	switch kind {
	case KEGE:
		return "Файлы ответов КЕГЭ"
	case Audio:
		return "Аудиозаписи устных ответов"
	}
	return kind
}

// ValidKind tells whether kind is one of Kinds.
func ValidKind(kind string) bool { return slices.Contains(Kinds, kind) }

// MaxFileSize bounds one file: an oral answer of a quarter of an hour is
// some 150 MiB as 16-bit stereo WAV at 44.1 kHz, a КЕГЭ answer file is
// kilobytes. A larger file is refused, unread, with a sentence that says
// so; it would otherwise fill the package and the link to the РЦОИ.
const MaxFileSize = 512 << 20

// IndexFile is the name of the index in an auditorium's folder, and the
// base name of the index inside a package.
const IndexFile = "index.json"

// File is one attachment of an auditorium.
type File struct {
	Kit  string `json:"kit"`  // the participant's kit number, 10 digits
	Kind string `json:"kind"` // KEGE or Audio
	// Name is the file's name in the package, without its folder: the kit
	// number and the extension it came with ("0000012345.wav").
	Name string `json:"name"`
	// Stored is the file's name in the auditorium's folder, under Kind.
	Stored string `json:"stored"`
	// Original is the name the file came with.
	Original string `json:"original"`
	Size     int64  `json:"size"`
	SHA256   string `json:"sha256"`
	// Seconds is an audio file's duration.
	Seconds float64 `json:"duration_seconds,omitempty"`
	// Imported is when it was taken, and By who took it.
	Imported time.Time `json:"imported"`
	By       string    `json:"by"`
}

// PackagePath is the file's name inside a package:
// attachments/KIND/NAME.
func (f File) PackagePath() string { return path.Join("attachments", f.Kind, f.Name) }

// Index lists an auditorium's attachments, by kind then kit.
type Index struct {
	Files []File `json:"files"`
}

// Of returns the files of one kind.
func (x *Index) Of(kind string) []File {
	var out []File
	for _, f := range x.Files {
		if f.Kind == kind {
			out = append(out, f)
		}
	}
	return out
}

// Seconds is the total duration of the audio files.
func (x *Index) Seconds() float64 {
	var s float64
	for _, f := range x.Files {
		s += f.Seconds
	}
	return s
}

func (x *Index) sort() {
	slices.SortFunc(x.Files, func(a, b File) int {
		if c := strings.Compare(a.Kind, b.Kind); c != 0 {
			return -c // kege before audio
		}
		return strings.Compare(a.Kit, b.Kit)
	})
}

// Folder is one auditorium's attachments folder in a data folder.
type Folder string

// FolderOf is the attachments folder of an auditorium.
func FolderOf(data, ppe, auditorium string) Folder {
	return Folder(layout.Dir(data).Attachments(ppe, auditorium))
}

// Path is where a file of the index is stored.
func (d Folder) Path(f File) string { return filepath.Join(string(d), f.Kind, f.Stored) }

// Load reads the index; an auditorium with no attachments has an empty one.
func (d Folder) Load() (*Index, error) {
	data, err := os.ReadFile(filepath.Join(string(d), IndexFile))
	if errors.Is(err, os.ErrNotExist) {
		return &Index{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("список прикреплённых файлов не читается: %w", err)
	}
	var x Index
	if err := json.Unmarshal(data, &x); err != nil {
		return nil, fmt.Errorf("список прикреплённых файлов %s испорчен: %w", filepath.Join(string(d), IndexFile), err)
	}
	return &x, nil
}

// Save writes the index atomically, then removes the stored files and
// temporaries it does not name (older imports', or a crash's).
func (d Folder) Save(x *Index) error {
	x.sort()
	data, err := json.MarshalIndent(x, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(string(d), 0o750); err != nil {
		return fmt.Errorf("папка %s не создана: %w", d, err)
	}
	if err := atomicfile.WriteFile(filepath.Join(string(d), IndexFile), append(data, '\n'), 0o640); err != nil {
		return fmt.Errorf("список прикреплённых файлов не записан: %w", err)
	}
	d.prune(x)
	return nil
}

// prune removes files of the kinds' folders that x does not name. A
// failure costs only disk space, so it is not reported.
func (d Folder) prune(x *Index) {
	keep := map[string]bool{}
	for _, f := range x.Files {
		keep[d.Path(f)] = true
	}
	for _, k := range Kinds {
		ents, _ := os.ReadDir(filepath.Join(string(d), k))
		for _, e := range ents {
			p := filepath.Join(string(d), k, e.Name())
			if !e.IsDir() && !keep[p] {
				os.Remove(p)
			}
		}
	}
}

// reKit is a file name that starts with a kit number: ten digits, then
// the end, an extension, or a separator.
var reKit = regexp.MustCompile(`^([0-9]{10})(?:$|[^0-9])`)

// reExt is an extension kept in the package's name of a file.
var reExt = regexp.MustCompile(`^\.[a-z0-9]{1,10}$`)

// KitOf returns the kit number a file name starts with, or "".
func KitOf(name string) string {
	m := reKit.FindStringSubmatch(path.Base(filepath.ToSlash(name)))
	if m == nil || m[1] == "0000000000" {
		return ""
	}
	return m[1]
}

// extOf is the lower-case extension of a name, when it is a plain one.
func extOf(name string) string {
	ext := strings.ToLower(path.Ext(path.Base(filepath.ToSlash(name))))
	if !reExt.MatchString(ext) {
		return ""
	}
	return ext
}

// store copies r into the kind's folder under a name unique to this
// import, hashing it on the way and refusing to go past MaxFileSize. The
// copy streams: a file of any size costs a buffer of memory.
func (d Folder) store(kind, kit, ext string, stamp time.Time, r io.Reader) (stored string, size int64, sum string, err error) {
	dir := filepath.Join(string(d), kind)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", 0, "", fmt.Errorf("папка %s не создана: %w", dir, err)
	}
	stored = fmt.Sprintf("%s-%s%s", kit, stamp.UTC().Format("20060102T150405.000000000"), ext)
	h := sha256.New()
	err = atomicfile.WriteNew(filepath.Join(dir, stored), 0o640, func(w io.Writer) error {
		src := &sourceReader{r: io.LimitReader(r, MaxFileSize+1)}
		n, err := io.Copy(io.MultiWriter(w, h), src)
		size = n
		if src.err != nil {
			return &readError{src.err}
		}
		if err != nil {
			// Writing the data folder failed (a full disk): the station's
			// problem, not the participant's file.
			return err
		}
		if n > MaxFileSize {
			return errTooBig
		}
		return nil
	})
	if err != nil {
		return "", 0, "", err
	}
	return stored, size, hex.EncodeToString(h.Sum(nil)), nil
}

var errTooBig = errors.New("файл больше предела")

// readError is a failure to read the source, as opposed to writing the
// data folder: the first is the file's problem, the second the station's.
type readError struct{ err error }

func (e *readError) Error() string { return e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

// sourceReader remembers a failure to read the source, so that it is told
// apart from a failure to write the copy.
type sourceReader struct {
	r   io.Reader
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		s.err = err
	}
	return n, err
}
