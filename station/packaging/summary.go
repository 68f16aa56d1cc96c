package packaging

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"giascan/atomicfile"
	"giascan/forms"
	"giascan/station/acts"
	"giascan/station/attach"
	"giascan/station/audit"
	"giascan/station/layout"
	"giascan/station/store"
	"giascan/transport/pkg"
)

// Summary is the ППЭ summary manifest: what a ППЭ-15 protocol signs off.
// It lists the newest sealed package of every auditorium of the ППЭ with
// its manifest hash, which in turn covers every page image. Its encoding
// (Encode) has no time in it, so printing the protocol again over the same
// packages gives the same H.
type Summary struct {
	Format   int            `json:"format"`
	Exam     pkg.Exam       `json:"exam"` // Auditorium is ""
	Station  string         `json:"station"`
	Packages []SummaryEntry `json:"packages"`
}

// SummaryEntry is one auditorium package in a Summary.
type SummaryEntry struct {
	Auditorium string `json:"auditorium"`
	ID         string `json:"id"`
	Version    int    `json:"version"`
	Manifest   string `json:"manifest"` // SHA-256 of the package's manifest.json
	Pages      int    `json:"pages"`
	// KEGE and Audio count the package's КЕГЭ answer files and
	// oral-answer recordings, AudioSeconds is the recordings' total
	// duration; left out when there are none, so a summary without
	// attachments (and its H) is as before.
	KEGE         int     `json:"kege,omitempty"`
	Audio        int     `json:"audio,omitempty"`
	AudioSeconds float64 `json:"audio_seconds,omitempty"`
}

// SummaryName is the file name of the summary inside the closing set and
// as the attachment of the protocol PDF.
const SummaryName = "ppe-summary.json"

// Encode is the one encoding of a summary, so its hash is reproducible.
func (s *Summary) Encode() []byte {
	b, _ := json.MarshalIndent(s, "", "  ") // plain strings and ints: cannot fail
	return append(b, '\n')
}

// MakeSummary builds the summary of a ППЭ from its outbox. It refuses
// while an auditorium with scanned pages has no sealed package.
func (p *Packager) MakeSummary(ppe string) (*Summary, error) {
	e, err := p.Store.Exam()
	if err != nil {
		return nil, err
	}
	_, _, station, err := p.keys()
	if err != nil {
		return nil, err
	}
	sealed, err := List(p.Data, ppe)
	if err != nil {
		return nil, err
	}
	s := &Summary{Format: 1, Exam: examContext(e, ppe, ""), Station: station, Packages: []SummaryEntry{}}
	have := map[string]bool{}
	for _, x := range sealed {
		if x.Manifest.Exam.Auditorium == "" {
			continue
		}
		have[x.Manifest.Exam.Auditorium] = true
		entry := SummaryEntry{Auditorium: x.Manifest.Exam.Auditorium, ID: x.Manifest.ID,
			Version: x.Manifest.Version, Manifest: x.ManifestHash, Pages: len(x.Manifest.Pages)}
		if err := p.countAttachments(&entry, x.Manifest); err != nil {
			return nil, err
		}
		s.Packages = append(s.Packages, entry)
	}
	places, err := p.Store.Places()
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, pl := range places {
		if pl.PPE != ppe || have[pl.Auditorium] {
			continue
		}
		pages, err := p.Store.Pages(pl)
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(pages, func(pg store.Page) bool { return pg.Status == store.Active }) {
			missing = append(missing, pl.Auditorium)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("аудитории %s ППЭ %s не упакованы: закройте их и дождитесь, пока их пакеты запечатаются, затем печатайте протокол",
			strings.Join(missing, ", "), ppe)
	}
	if len(s.Packages) == 0 {
		return nil, fmt.Errorf("у ППЭ %s нет запечатанных пакетов аудиторий: закройте аудитории", ppe)
	}
	return s, nil
}

// countAttachments counts a sealed package's attachments into its entry.
// The durations come from the auditorium's index in the data folder, for
// the files whose hash is the sealed one.
func (p *Packager) countAttachments(e *SummaryEntry, m pkg.Manifest) error {
	if len(m.Attachments) == 0 {
		return nil
	}
	dir := attach.FolderOf(p.Data, m.Exam.PPE, m.Exam.Auditorium)
	x, err := dir.Load()
	if err != nil {
		return err
	}
	secs := map[string]float64{}
	for _, f := range x.Files {
		secs[f.PackagePath()+" "+f.SHA256] = f.Seconds
	}
	for _, f := range m.Attachments {
		switch {
		case strings.HasPrefix(f.Name, "attachments/"+attach.KEGE+"/"):
			e.KEGE++
		case strings.HasPrefix(f.Name, "attachments/"+attach.Audio+"/"):
			e.Audio++
			e.AudioSeconds += secs[f.Name+" "+f.SHA256]
		}
	}
	e.AudioSeconds = math.Round(e.AudioSeconds*1000) / 1000
	return nil
}

// FilesLine tells, for the ППЭ-15, how many КЕГЭ answer files and
// recordings (with their duration) a package holds; "" for none.
func (e SummaryEntry) FilesLine() string {
	var parts []string
	if e.KEGE > 0 {
		parts = append(parts, fmt.Sprintf("КЕГЭ %d", e.KEGE))
	}
	if e.Audio > 0 {
		parts = append(parts, fmt.Sprintf("аудио %d (%s)", e.Audio, attach.Clock(e.AudioSeconds)))
	}
	return strings.Join(parts, " · ")
}

// ProtocolDir is where the printed protocols of a ППЭ, their summaries and
// their signed scans are kept.
func ProtocolDir(data, ppe string) string { return layout.Dir(data).Protocols(ppe) }

// Printed is the record of a printed ППЭ-15.
type Printed struct {
	PPE      string `json:"ppe"`
	Barcode  string `json:"barcode"`
	Manifest string `json:"manifest"` // full SHA-256 of the summary
	H        string `json:"h"`
	PDF      string `json:"pdf"` // file name in ProtocolDir
}

// SaveProtocol keeps the printed protocol's summary, PDF and record, so a
// signed copy scanned back can be matched and the closing set can carry
// them. Files are named by H; printing the same summary again replaces the
// PDF (the new barcode is the one on paper).
func SaveProtocol(data string, rec Printed, summary, pdf []byte) error {
	dir := ProtocolDir(data, rec.PPE)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("папка протоколов %s не создана: %w", dir, err)
	}
	rb, _ := json.MarshalIndent(rec, "", "  ")
	for name, b := range map[string][]byte{"summary-" + rec.H + ".json": summary, rec.PDF: pdf, "ppe15-" + rec.H + ".json": rb} {
		if err := atomicfile.WriteFile(filepath.Join(dir, name), b, 0o640); err != nil {
			return fmt.Errorf("протокол ППЭ %s не сохранён: %w", rec.PPE, err)
		}
	}
	return nil
}

// Match is a signed ППЭ-15 scan matched to its printed protocol.
type Match struct {
	Printed
	Scan string `json:"scan"` // file name in ProtocolDir
}

// ErrProtocolMismatch is wrapped when a scanned protocol does not sign
// off the packages of the ППЭ as they stand.
var ErrProtocolMismatch = errors.New("протокол не соответствует пакетам")

// MatchProtocol checks a recognised ППЭ-15 scan against the protocol
// printed for the ППЭ's current summary and, when it is that protocol,
// keeps the scan for the closing set. current is the summary as it stands
// (MakeSummary).
func MatchProtocol(data, ppe string, current *Summary, res forms.PageResult, scan []byte, ext string) (*Match, error) {
	if res.Error != "" || res.Type != forms.TypePPE15 {
		return nil, fmt.Errorf("%w: страница не распознана как ППЭ-15 (тип %q%s); отсканируйте подписанный протокол ещё раз", ErrProtocolMismatch, res.Type, errSuffix(res.Error))
	}
	h := res.Context.Manifest
	if res.Context.PPE != ppe {
		return nil, fmt.Errorf("%w: это протокол ППЭ %s, а не ППЭ %s; отсканируйте протокол своего ППЭ", ErrProtocolMismatch, res.Context.PPE, ppe)
	}
	want := pkg.ShortHash(SHA256(current.Encode()))
	if h != want {
		dir := ProtocolDir(data, ppe)
		if _, err := os.Stat(filepath.Join(dir, "ppe15-"+h+".json")); err == nil {
			return nil, fmt.Errorf("%w: это копия устаревшего протокола (H=%s), пакеты ППЭ %s с тех пор изменились (H=%s); распечатайте протокол заново и подпишите его", ErrProtocolMismatch, h, ppe, want)
		}
		return nil, fmt.Errorf("%w: это копия протокола другого пакета (H=%s), а пакеты ППЭ %s подписывает протокол с H=%s; отсканируйте подписанный протокол этого ППЭ", ErrProtocolMismatch, h, ppe, want)
	}
	dir := ProtocolDir(data, ppe)
	rb, err := os.ReadFile(filepath.Join(dir, "ppe15-"+h+".json"))
	if err != nil {
		return nil, fmt.Errorf("%w: протокол с H=%s на этой станции не печатался; распечатайте его", ErrProtocolMismatch, h)
	}
	m := &Match{}
	if err := json.Unmarshal(rb, &m.Printed); err != nil {
		return nil, fmt.Errorf("запись о протоколе %s повреждена: %w", h, err)
	}
	if res.Barcode != m.Barcode {
		return nil, fmt.Errorf("%w: штрихкод %s не тот, что напечатан на последнем протоколе (%s); отсканируйте последнюю распечатку", ErrProtocolMismatch, res.Barcode, m.Barcode)
	}
	m.Scan = "signed-" + h + ext
	if err := atomicfile.WriteFile(filepath.Join(dir, m.Scan), scan, 0o640); err != nil {
		return nil, fmt.Errorf("скан подписанного протокола не сохранён: %w", err)
	}
	mb, _ := json.MarshalIndent(m, "", "  ")
	if err := atomicfile.WriteFile(filepath.Join(dir, "signed-"+h+".json"), mb, 0o640); err != nil {
		return nil, fmt.Errorf("запись о подписанном протоколе не сохранена: %w", err)
	}
	return m, nil
}

func errSuffix(s string) string {
	if s == "" {
		return ""
	}
	return ": " + s
}

// PPE builds and seals the closing set of a ППЭ: its ППЭ-13-02-МАШ and
// ППЭ-18-МАШ scans, the confirmed ППЭ-13-02-МАШ values, the ППЭ-15 PDF and
// summary it signs off, the signed ППЭ-15 scan once matched, the ППЭ's acts
// (docs/acts.md) and the audit excerpt of the ППЭ.
func (p *Packager) PPE(ppe string) (*Sealed, error) {
	e, err := p.Store.Exam()
	if err != nil {
		return nil, err
	}
	key, rcpt, station, err := p.keys()
	if err != nil {
		return nil, err
	}
	sum, err := p.MakeSummary(ppe)
	if err != nil {
		return nil, err
	}
	sb := sum.Encode()
	h := pkg.ShortHash(SHA256(sb))
	b, err := p.newBuilder(examContext(e, ppe, ""), station)
	if err != nil {
		return nil, err
	}
	seq := 0
	places, err := p.Store.Places()
	if err != nil {
		return nil, err
	}
	x, err := audit.ReadExcerpt(p.Data, audit.Filter{PPE: ppe, Station: true})
	if err != nil {
		return nil, fmt.Errorf("выписка журнала аудита не составлена: %w", err)
	}
	reviews := map[store.Place]map[int][]pkg.Review{}
	for _, pl := range places {
		if pl.PPE != ppe {
			continue
		}
		sub := &audit.Excerpt{}
		for _, en := range x.Entries {
			if en.Subject.Auditorium == pl.Auditorium {
				sub.Entries = append(sub.Entries, en)
			}
		}
		reviews[pl] = reviewsOf(sub)
		pages, err := p.Store.Pages(pl)
		if err != nil {
			return nil, err
		}
		for _, pg := range pages {
			if pg.Status != store.Active || pg.Result == nil || (pg.Result.Type != forms.TypePPE1302 && pg.Result.Type != "53") {
				continue
			}
			seq++
			if err := p.addPage(b, pg, seq, reviews[pl][pg.Seq]); err != nil {
				return nil, err
			}
		}
	}
	dir := ProtocolDir(p.Data, ppe)
	if mb, err := os.ReadFile(filepath.Join(dir, "signed-"+h+".json")); err == nil {
		var m Match
		if err := json.Unmarshal(mb, &m); err != nil {
			return nil, fmt.Errorf("запись о подписанном протоколе повреждена: %w", err)
		}
		scan, err := os.ReadFile(filepath.Join(dir, m.Scan))
		if err != nil {
			return nil, fmt.Errorf("скан подписанного протокола не читается: %w; отсканируйте его снова", err)
		}
		img, err := Encode(scan, m.Scan, 0, p.profile())
		if err != nil {
			return nil, fmt.Errorf("скан подписанного протокола: %w", err)
		}
		seq++
		if err := b.AddPage(pkg.Page{Seq: seq, Type: forms.TypePPE15, Barcode: m.Barcode, Kit: forms.NoKit,
			File: fmt.Sprintf("page-%04d%s", seq, p.profile().Ext())}, bytes.NewReader(img)); err != nil {
			return nil, err
		}
	}
	if err := b.AddProtocol(SummaryName, bytes.NewReader(sb)); err != nil {
		return nil, err
	}
	if pdf, err := os.ReadFile(filepath.Join(dir, "ppe15-"+h+".pdf")); err == nil {
		if err := b.AddProtocol("ppe15-"+h+".pdf", bytes.NewReader(pdf)); err != nil {
			return nil, err
		}
	}
	forms1302, err := p.Store.Forms1302()
	if err != nil {
		return nil, err
	}
	if f, ok := forms1302[ppe]; ok {
		if err := addJSON(b.AddProtocol, "ppe-13-02-confirmed.json", f); err != nil {
			return nil, err
		}
	}
	// The ППЭ's acts as they stand (docs/acts.md), under acts/.
	af := acts.Folder{Dir: layout.Dir(p.Data)}
	names, err := af.Files(ppe)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		data, err := os.ReadFile(af.Path(ppe, n))
		if err != nil {
			return nil, fmt.Errorf("акт %s ППЭ %s не читается: %w", n, ppe, err)
		}
		if err := b.AddAct("acts/"+n, bytes.NewReader(data)); err != nil {
			return nil, err
		}
	}
	if err := addJSON(b.AddAudit, "audit.json", x); err != nil {
		return nil, err
	}
	return p.seal(b, key, rcpt, station)
}
