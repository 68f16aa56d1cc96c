package escl

import (
	"bytes"
	"cmp"
	"encoding/xml"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"giascan/hardware"
)

// XML namespaces of eSCL documents.
const (
	nsScan = "http://schemas.hp.com/imaging/escl/2011/05/03"
	nsPWG  = "http://www.pwg.org/schemas/2010/12/sm"
)

// Capabilities is what GET ScannerCapabilities says, reduced to what the
// station uses. Elements are matched by local name, as devices differ in
// the prefixes they use.
type Capabilities struct {
	XMLName      xml.Name   `xml:"ScannerCapabilities"`
	Version      string     `xml:"Version"`
	MakeAndModel string     `xml:"MakeAndModel"`
	SerialNumber string     `xml:"SerialNumber"`
	UUID         string     `xml:"UUID"`
	Platen       *InputCaps `xml:"Platen>PlatenInputCaps"`
	AdfSimplex   *InputCaps `xml:"Adf>AdfSimplexInputCaps"`
	AdfDuplex    *InputCaps `xml:"Adf>AdfDuplexInputCaps"`
	AdfOptions   []string   `xml:"Adf>AdfOptions>AdfOption"`
}

// InputCaps are the settings one source offers.
type InputCaps struct {
	MinWidth  int       `xml:"MinWidth"`
	MaxWidth  int       `xml:"MaxWidth"`
	MinHeight int       `xml:"MinHeight"`
	MaxHeight int       `xml:"MaxHeight"`
	Profiles  []Profile `xml:"SettingProfiles>SettingProfile"`
}

// Profile is one combination of modes, formats and resolutions.
type Profile struct {
	ColorModes      []string     `xml:"ColorModes>ColorMode"`
	DocumentFormats []string     `xml:"DocumentFormats>DocumentFormat"`
	FormatsExt      []string     `xml:"DocumentFormats>DocumentFormatExt"`
	Discrete        []Resolution `xml:"SupportedResolutions>DiscreteResolutions>DiscreteResolution"`
	Range           *struct {
		Min  int `xml:"Min"`
		Max  int `xml:"Max"`
		Step int `xml:"Step"`
	} `xml:"SupportedResolutions>ResolutionRange>XResolutionRange"`
}

// Resolution is a pair of resolutions in dpi.
type Resolution struct {
	X int `xml:"XResolution"`
	Y int `xml:"YResolution"`
}

// ParseCapabilities reads a ScannerCapabilities document.
func ParseCapabilities(b []byte) (*Capabilities, error) {
	var c Capabilities
	if err := xml.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("ScannerCapabilities: %w", err)
	}
	if c.Platen == nil && c.AdfSimplex == nil && c.AdfDuplex == nil {
		return nil, fmt.Errorf("ScannerCapabilities: neither a platen nor a feeder")
	}
	return &c, nil
}

// station maps the capabilities to the station's terms.
func (c *Capabilities) station() hardware.Capabilities {
	var out hardware.Capabilities
	var inputs []*InputCaps
	if c.Platen != nil {
		out.Sources = append(out.Sources, hardware.Flatbed)
		inputs = append(inputs, c.Platen)
	}
	if c.AdfSimplex != nil {
		out.Sources = append(out.Sources, hardware.ADF)
		inputs = append(inputs, c.AdfSimplex)
	}
	if c.AdfDuplex != nil || (c.AdfSimplex != nil && slices.Contains(c.AdfOptions, "Duplex")) {
		out.Sources = append(out.Sources, hardware.Duplex)
	}
	for _, in := range inputs {
		for _, p := range in.Profiles {
			for _, m := range p.ColorModes {
				if mode := stationMode(m); mode != "" && !slices.Contains(out.Modes, mode) {
					out.Modes = append(out.Modes, mode)
				}
			}
			for _, r := range p.Discrete {
				if !slices.Contains(out.DPIs, r.X) {
					out.DPIs = append(out.DPIs, r.X)
				}
			}
			if p.Range != nil {
				for _, d := range []int{100, 150, 200, 240, 300, 400, 600, 1200} {
					if d >= p.Range.Min && d <= p.Range.Max && !slices.Contains(out.DPIs, d) {
						out.DPIs = append(out.DPIs, d)
					}
				}
			}
		}
	}
	slices.Sort(out.DPIs)
	return out
}

// input returns the caps of the source that a station source uses.
func (c *Capabilities) input(src hardware.Source) *InputCaps {
	switch src {
	case hardware.Flatbed:
		return c.Platen
	case hardware.Duplex:
		if c.AdfDuplex != nil {
			return c.AdfDuplex
		}
	}
	return c.AdfSimplex
}

// eSCL colour modes and the station's.
var modes = []struct{ escl, station string }{
	{"Grayscale8", "gray"},
	{"RGB24", "color"},
	{"BlackAndWhite1", "lineart"},
}

func stationMode(escl string) string {
	for _, m := range modes {
		if m.escl == escl {
			return m.station
		}
	}
	return ""
}

func esclMode(station string) string {
	for _, m := range modes {
		if m.station == station {
			return m.escl
		}
	}
	return ""
}

// Settings is a ScanSettings document: the job a client asks for.
type Settings struct {
	XMLName        xml.Name `xml:"ScanSettings"`
	Version        string   `xml:"Version"`
	Intent         string   `xml:"Intent"`
	InputSource    string   `xml:"InputSource"` // Platen, Feeder
	Duplex         bool     `xml:"Duplex"`
	ColorMode      string   `xml:"ColorMode"`
	DocumentFormat string   `xml:"DocumentFormat"`
	FormatExt      string   `xml:"DocumentFormatExt"`
	XResolution    int      `xml:"XResolution"`
	YResolution    int      `xml:"YResolution"`
}

// format is the document format asked for, the extended one first.
func (s *Settings) format() string {
	if s.FormatExt != "" {
		return s.FormatExt
	}
	return s.DocumentFormat
}

// ParseSettings reads a ScanSettings document.
func ParseSettings(b []byte) (*Settings, error) {
	var s Settings
	if err := xml.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("ScanSettings: %w", err)
	}
	return &s, nil
}

// Marshal writes the document as eSCL clients send it.
func (s *Settings) Marshal() []byte {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	fmt.Fprintf(&b, `<scan:ScanSettings xmlns:scan="%s" xmlns:pwg="%s">`, nsScan, nsPWG)
	el(&b, "pwg:Version", cmp.Or(s.Version, "2.6"))
	if s.Intent != "" {
		el(&b, "scan:Intent", s.Intent)
	}
	el(&b, "pwg:InputSource", s.InputSource)
	if s.InputSource == "Feeder" {
		el(&b, "scan:Duplex", fmt.Sprint(s.Duplex))
	}
	if s.ColorMode != "" {
		el(&b, "scan:ColorMode", s.ColorMode)
	}
	if s.DocumentFormat != "" {
		el(&b, "pwg:DocumentFormat", s.DocumentFormat)
		el(&b, "scan:DocumentFormatExt", s.DocumentFormat)
	}
	if s.XResolution > 0 {
		el(&b, "scan:XResolution", fmt.Sprint(s.XResolution))
		el(&b, "scan:YResolution", fmt.Sprint(cmp.Or(s.YResolution, s.XResolution)))
	}
	b.WriteString("</scan:ScanSettings>")
	return b.Bytes()
}

// Status is what GET ScannerStatus says.
type Status struct {
	XMLName  xml.Name  `xml:"ScannerStatus"`
	Version  string    `xml:"Version"`
	State    string    `xml:"State"`    // Idle, Processing, Testing, Stopped, Down
	AdfState string    `xml:"AdfState"` // ScannerAdfLoaded, ScannerAdfEmpty, ScannerAdfJam, …
	Jobs     []JobInfo `xml:"Jobs>JobInfo"`
}

// JobInfo is the state of one job in ScannerStatus.
type JobInfo struct {
	JobURI           string   `xml:"JobUri"`
	JobUUID          string   `xml:"JobUuid"`
	Age              int      `xml:"Age"`
	ImagesCompleted  int      `xml:"ImagesCompleted"`
	ImagesToTransfer int      `xml:"ImagesToTransfer"`
	JobState         string   `xml:"JobState"` // Pending, Processing, Completed, Aborted, Canceled
	Reasons          []string `xml:"JobStateReasons>JobStateReason"`
}

// ParseStatus reads a ScannerStatus document.
func ParseStatus(b []byte) (*Status, error) {
	var s Status
	if err := xml.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("ScannerStatus: %w", err)
	}
	return &s, nil
}

// lists says whether the status lists the job at path (its URI, or the
// last part of the path as its UUID). Devices give the URI as a path or a
// whole URL, so the last part of the path is compared.
func (s *Status) lists(path string) bool {
	last := func(p string) string {
		if u, err := url.Parse(p); err == nil {
			p = u.Path
		}
		p = strings.TrimSuffix(p, "/")
		return p[strings.LastIndexByte(p, '/')+1:]
	}
	id := last(path)
	for _, j := range s.Jobs {
		if last(j.JobURI) == id || strings.EqualFold(strings.TrimPrefix(j.JobUUID, "urn:uuid:"), id) {
			return true
		}
	}
	return false
}

// ADF states of the specification, and the one some devices use instead
// of HatchOpen.
const (
	AdfLoaded     = "ScannerAdfLoaded"
	AdfEmpty      = "ScannerAdfEmpty"
	AdfProcessing = "ScannerAdfProcessing"
	AdfJam        = "ScannerAdfJam"
	AdfMispick    = "ScannerAdfMispick"
	AdfHatchOpen  = "ScannerAdfHatchOpen"
	AdfDoorOpen   = "ScannerAdfDoorOpen"
	AdfMultipick  = "ScannerAdfMultipickDetected"
)

// Fault maps a status to the device event it reports, "" for none: the
// ADF's jam, mispick, open hatch and double feed, and a scanner that is
// down.
func (s *Status) Fault() hardware.FaultKind {
	switch s.AdfState {
	case AdfJam, AdfMispick:
		return hardware.PaperJam
	case AdfHatchOpen, AdfDoorOpen:
		return hardware.CoverOpen
	case AdfMultipick:
		return hardware.DoubleFeed
	}
	if s.State == "Down" {
		return hardware.DeviceGone
	}
	return ""
}

// adfState is the ADF state that reports a device event.
func adfState(k hardware.FaultKind) string {
	switch k {
	case hardware.PaperJam:
		return AdfJam
	case hardware.CoverOpen:
		return AdfHatchOpen
	case hardware.DoubleFeed:
		return AdfMultipick
	}
	return ""
}

// Media types of the formats a page may come in.
var mediaTypes = map[string]string{
	"png": "image/png", "jpeg": "image/jpeg", "tiff": "image/tiff", "pdf": "application/pdf",
}

// formatOf is the station's format of a media type, "" when unknown.
func formatOf(mediaType string) string {
	mediaType, _, _ = strings.Cut(mediaType, ";")
	mediaType = strings.TrimSpace(strings.ToLower(mediaType))
	for f, mt := range mediaTypes {
		if mt == mediaType {
			return f
		}
	}
	return ""
}

func el(b *bytes.Buffer, name, text string) {
	b.WriteString("<" + name + ">")
	_ = xml.EscapeText(b, []byte(text))
	b.WriteString("</" + name + ">")
}
