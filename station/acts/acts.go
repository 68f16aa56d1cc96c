// Package acts keeps a ППЭ's acts at the station (docs/acts.md): the
// acceptance act of the materials received from the ППЭ, incident acts
// written by the operator and signed by the head, and the list of removed
// and unfinished participants checked against ППЭ-13-02-МАШ. Each act is a
// JSON file and its printed PDF under acts/PPE/ of the data folder,
// written through atomicfile; the closing set of the ППЭ carries them
// under the same names.
package acts

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"giascan/atomicfile"
	"giascan/station/exam"
	"giascan/station/layout"
)

// Format is the version of the act JSON this code writes.
const Format = 1

// Names of the acts in a ППЭ's folder and closing set.
const (
	NameAcceptance = "acceptance"
	NameRemoved    = "removed-unfinished"
	incidentPrefix = "incident-"
)

// IncidentName is the name of the n-th incident act of a ППЭ (from 1).
func IncidentName(n int) string { return incidentPrefix + strconv.Itoa(n) }

// Incident kinds (§4.3 of the procedure: wrong kit contents, damaged
// packaging, and the failures the station itself meets).
const (
	KindWrongKit  = "wrong_kit"
	KindPackaging = "damaged_packaging"
	KindScanner   = "scanner_failure"
	KindPower     = "power_cut"
	KindOther     = "other"
)

// Kind is an incident kind with its Russian name.
type Kind struct {
	Code string
	Name string
}

// Kinds are the incident kinds in the order screens offer them.
var Kinds = []Kind{
	{KindWrongKit, "неверная комплектация ЭМ"},
	{KindPackaging, "повреждение доставочной упаковки"},
	{KindScanner, "отказ сканера"},
	{KindPower, "отключение электропитания"},
	{KindOther, "иное"},
}

// KindName returns the Russian name of an incident kind; false for a kind
// the station does not know.
func KindName(code string) (string, bool) {
	for _, k := range Kinds {
		if k.Code == code {
			return k.Name, true
		}
	}
	return "", false
}

// Signature is who signed an act, when, and how: "web" (in the browser),
// "cli" (on the command line) or "scan" (its signed paper copy scanned
// back; Scan names the kept file).
type Signature struct {
	By   string    `json:"by"`
	At   time.Time `json:"at"`
	Via  string    `json:"via"`
	Scan string    `json:"scan,omitempty"`
}

// Incident is an act about an incident (нештатная ситуация) at the ППЭ's
// materials or at the station.
type Incident struct {
	Format     int         `json:"format"`
	Name       string      `json:"name"` // incident-N
	N          int         `json:"n"`
	Exam       exam.Header `json:"exam"`
	PPE        string      `json:"ppe"`
	Auditorium string      `json:"auditorium,omitempty"` // empty: the whole ППЭ
	Kind       string      `json:"kind"`
	KindName   string      `json:"kind_name"`
	Text       string      `json:"text"`
	By         string      `json:"by"`
	At         time.Time   `json:"at"`
	Signed     *Signature  `json:"signed,omitempty"`
}

// Received are the counts entered by the person who accepts the
// materials: what the station cannot count from scans.
type Received struct {
	// Envelopes is the number of auditorium envelopes with answer blanks
	// received.
	Envelopes int `json:"envelopes"`
	// The materials not processed automatically (§4.1): unused, spoiled,
	// with printing defects, and used КИМ.
	Unused    int    `json:"unused"`
	Spoiled   int    `json:"spoiled"`
	Defective int    `json:"defective"`
	UsedKIM   int    `json:"used_kim"`
	From      string `json:"from,omitempty"` // who handed the materials over (ГЭК)
	Note      string `json:"note,omitempty"`
}

// Row is one auditorium of the acceptance act: what the exam file plans
// and what was scanned from its envelope.
type Row struct {
	Auditorium string `json:"auditorium"`
	Planned    bool   `json:"planned"`
	// Participants is the number of kits the exam file plans; -1 when it
	// lists none.
	Participants int  `json:"participants"`
	Scanned      bool `json:"scanned"`
	BO1          int  `json:"bo1"`
	BO2S1        int  `json:"bo2s1"`
	BO2S2        int  `json:"bo2s2"`
	DBO2         int  `json:"dbo2"`
}

// Acceptance is the acceptance act (акт приёмки-передачи, §4.4) of one
// ППЭ and exam.
type Acceptance struct {
	Format      int         `json:"format"`
	Name        string      `json:"name"` // acceptance
	Exam        exam.Header `json:"exam"`
	PPE         string      `json:"ppe"`
	Station     string      `json:"station,omitempty"`
	Barcode     string      `json:"barcode"` // on the printed act (page type 56)
	Received    Received    `json:"received"`
	Auditoriums []Row       `json:"auditoriums"`
	// Forms are the scanned ППЭ forms by name (ППЭ-13-02-МАШ, ППЭ-18-МАШ).
	Forms map[string]int `json:"forms"`
	// Discrepancies are the differences from the exam file and from
	// ППЭ-13-02-МАШ, one Russian sentence each.
	Discrepancies []string   `json:"discrepancies"`
	By            string     `json:"by"`
	At            time.Time  `json:"at"`
	Signed        *Signature `json:"signed,omitempty"`
}

// Marks of БО №1 the list of removed and unfinished participants covers.
const (
	MarkRemoved    = "removed"
	MarkUnfinished = "unfinished"
)

// MarkName is the Russian name of a mark.
func MarkName(mark string) string {
	if mark == MarkRemoved {
		return "удалён с экзамена"
	}
	return "не закончил экзамен по уважительной причине"
}

// Marked is one БО №1 with the mark «удалён» or «не закончил».
type Marked struct {
	Auditorium string `json:"auditorium"`
	Kit        string `json:"kit"`
	Mark       string `json:"mark"`
	MarkName   string `json:"mark_name"`
	Page       int    `json:"page"` // the page's scan number in its auditorium
	Barcode    string `json:"barcode"`
	Crop       bool   `json:"crop"` // a crop of the page around the mark is on the PDF
}

// Mismatches counts the checks that disagree with ППЭ-13-02-МАШ.
func (r Removed) Mismatches() int {
	n := 0
	for _, c := range r.Checks {
		if c.Form != nil && !c.Agrees {
			n++
		}
	}
	return n
}

// Check is one auditorium and mark against ППЭ-13-02-МАШ.
type Check struct {
	Auditorium string `json:"auditorium"`
	Mark       string `json:"mark"`
	Blanks     int    `json:"blanks"`
	// Form is the count in ППЭ-13-02-МАШ; nil when it is not confirmed.
	Form   *int   `json:"form,omitempty"`
	Agrees bool   `json:"agrees"`
	Text   string `json:"text"`
}

// Removed is the list of removed and unfinished participants (§3.6).
type Removed struct {
	Format int         `json:"format"`
	Name   string      `json:"name"` // removed-unfinished
	Exam   exam.Header `json:"exam"`
	PPE    string      `json:"ppe"`
	// FormConfirmed is false while ППЭ-13-02-МАШ is not confirmed: the
	// list is then not checked against it.
	FormConfirmed bool      `json:"form_confirmed"`
	Rows          []Marked  `json:"rows"`
	Checks        []Check   `json:"checks"`
	By            string    `json:"by"`
	At            time.Time `json:"at"`
}

// Folder is the acts folder of one data folder.
type Folder struct{ Dir layout.Dir }

func (f Folder) dir(ppe string) string { return f.Dir.Acts(ppe) }

func (f Folder) write(ppe, file string, data []byte) error {
	dir := f.dir(ppe)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("папка актов %s не создана: %w", dir, err)
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, file), data, 0o640); err != nil {
		return fmt.Errorf("акт ППЭ %s не сохранён (%s): %w", ppe, file, err)
	}
	return nil
}

// Save writes an act's JSON and, when pdf is not nil, its PDF under name.
// The PDF goes first: the JSON is what says the act exists.
func (f Folder) Save(ppe, name string, act any, pdf []byte) error {
	if pdf != nil {
		if err := f.write(ppe, name+".pdf", pdf); err != nil {
			return err
		}
	}
	b, err := json.MarshalIndent(act, "", "  ")
	if err != nil {
		return err
	}
	return f.write(ppe, name+".json", append(b, '\n'))
}

// SaveSigned keeps the scan of an act's signed paper copy as
// <name>-signed.<ext> and returns the file name.
func (f Folder) SaveSigned(ppe, name, ext string, scan []byte) (string, error) {
	ext = strings.TrimPrefix(strings.ToLower(ext), ".")
	if !reExt.MatchString(ext) {
		ext = "bin"
	}
	file := name + "-signed." + ext
	return file, f.write(ppe, file, scan)
}

var reExt = regexp.MustCompile(`^[a-z0-9]{1,5}$`)

// ErrNone means the act has not been made.
var ErrNone = errors.New("акт не составлен")

// Load reads an act's JSON into v; ErrNone when there is none.
func (f Folder) Load(ppe, name string, v any) error {
	b, err := os.ReadFile(filepath.Join(f.dir(ppe), name+".json"))
	if errors.Is(err, os.ErrNotExist) {
		return ErrNone
	}
	if err != nil {
		return fmt.Errorf("акт %s ППЭ %s не читается: %w", name, ppe, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("акт %s ППЭ %s повреждён: %w", name, ppe, err)
	}
	return nil
}

// PDF returns an act's printed PDF; ErrNone when there is none.
func (f Folder) PDF(ppe, name string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(f.dir(ppe), name+".pdf"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNone
	}
	return b, err
}

// Incidents returns a ППЭ's incident acts by number.
func (f Folder) Incidents(ppe string) ([]Incident, error) {
	ents, err := os.ReadDir(f.dir(ppe))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("папка актов ППЭ %s не читается: %w", ppe, err)
	}
	var out []Incident
	for _, e := range ents {
		n, ok := incidentNumber(e.Name())
		if !ok {
			continue
		}
		var in Incident
		if err := f.Load(ppe, IncidentName(n), &in); err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].N < out[j].N })
	return out, nil
}

func incidentNumber(file string) (int, bool) {
	rest, ok := strings.CutPrefix(file, incidentPrefix)
	if !ok {
		return 0, false
	}
	num, ok := strings.CutSuffix(rest, ".json")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 1 || strconv.Itoa(n) != num {
		return 0, false
	}
	return n, true
}

// Files lists the act files of a ППЭ that go into its closing set, by the
// agreed names (docs/acts.md), sorted.
func (f Folder) Files(ppe string) ([]string, error) {
	ents, err := os.ReadDir(f.dir(ppe))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("папка актов ППЭ %s не читается: %w", ppe, err)
	}
	var out []string
	for _, e := range ents {
		if e.Type().IsRegular() && reActFile.MatchString(e.Name()) {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

var reActFile = regexp.MustCompile(`^(acceptance|removed-unfinished|incident-[1-9][0-9]*)(\.json|\.pdf|-signed\.[a-z0-9]{1,5})$`)

// Path is where an act file of a ППЭ is kept.
func (f Folder) Path(ppe, file string) string { return filepath.Join(f.dir(ppe), file) }
