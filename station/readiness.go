package station

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"giascan/atomicfile"
	"giascan/forms"
	"giascan/hardware"
	"giascan/hardware/sim"
	"giascan/station/audit"
	"giascan/station/readiness"
)

// ReadinessCheck is one readiness check of a scanner before the exam: the
// calibration sheet scanned by Scanner, or a scan of it in Image.
type ReadinessCheck struct {
	// Scanner scans the calibration sheet loaded in its feeder; nil when
	// Image is given.
	Scanner hardware.Scanner
	// Image is a scan of the sheet made earlier, and Device says what it
	// is (a file's name) for the protocol.
	Image  *readiness.Image
	Device string
	// DPI is the nominal resolution scanned at, or of Image.
	DPI int
	// Station names the station in the protocol; the host name when empty.
	Station string
	// Out is the protocol's PDF; ReadinessFile in the data folder when
	// empty.
	Out string
	// Time is when the check runs; now when zero.
	Time time.Time
}

// ReadinessReport is a finished check.
type ReadinessReport struct {
	Result   *readiness.Result
	Info     readiness.Info
	Protocol string // the protocol's PDF
}

// readinessName is the name of a protocol the station keeps in its data
// folder.
var readinessName = regexp.MustCompile(`^readiness-[0-9]{8}-[0-9]{6}(-[0-9]+)?\.pdf$`)

// ReadinessFile is the name of the protocol of a check made at t, kept in
// the data folder.
func ReadinessFile(t time.Time) string { return "readiness-" + t.Format("20060102-150405") + ".pdf" }

// ReadinessProtocol opens a protocol kept in the data folder by its name.
func (s *Station) ReadinessProtocol(name string) (*os.File, error) {
	if !readinessName.MatchString(name) {
		return nil, os.ErrNotExist
	}
	return os.Open(filepath.Join(string(s.Dir), name))
}

// OpenReadinessDevice opens the scanner to check by its spec. The
// simulator is loaded with the calibration sheet, as an operator loads a
// real feeder with it.
func OpenReadinessDevice(spec string) (hardware.Scanner, error) {
	name, arg, _ := strings.Cut(spec, ":")
	if name == "sim" {
		d, err := forms.ComposeCalibration()
		if err != nil {
			return nil, err
		}
		dev, err := sim.OpenDrawing(d, arg)
		if err != nil {
			return nil, refuse("сканер", "%v", err)
		}
		return dev, nil
	}
	dev, err := hardware.Open(spec)
	if err != nil {
		return nil, refuse("сканер", "%v", err)
	}
	return dev, nil
}

// CheckReadiness scans the calibration sheet (or takes its scan), measures
// it against the limits of readiness.DefaultLimits, writes the protocol to
// print and sign and records the check in the audit log under actor. A
// scanner found unfit is not an error: the report says so.
func (s *Station) CheckReadiness(ctx context.Context, actor string, c ReadinessCheck) (*ReadinessReport, error) {
	if c.DPI < 100 || c.DPI > 1200 {
		return nil, refuse("разрешение", "разрешение — целое число точек на дюйм от 100 до 1200, а не %d", c.DPI)
	}
	if (c.Scanner == nil) == (c.Image == nil) {
		return nil, refuse("сканер", "нужен либо сканер с вложенным калибровочным листом, либо скан этого листа")
	}
	now := c.Time
	if now.IsZero() {
		now = time.Now()
	}
	out := c.Out
	if out == "" {
		// A second check within the same second keeps the first one's
		// protocol, which the audit log names.
		name := ReadinessFile(now)
		for n := 2; ; n++ {
			out = filepath.Join(string(s.Dir), name)
			if _, err := os.Stat(out); errors.Is(err, os.ErrNotExist) {
				break
			}
			name = strings.TrimSuffix(ReadinessFile(now), ".pdf") + fmt.Sprintf("-%d.pdf", n)
		}
	}
	name := c.Station
	if name == "" {
		if h, err := os.Hostname(); err == nil && h != "" {
			name = h
		} else {
			name = "без имени"
		}
	}
	info := readiness.Info{Station: name, Time: now, Device: c.Device}
	var scan readiness.Image
	if c.Image != nil {
		scan = *c.Image
		info.Source = fmt.Sprintf("%d dpi (номинал)", scan.DPI)
	} else {
		d := c.Scanner.Device()
		info.Device = fmt.Sprintf("%s (%s)", d.Name, d.ID)
		// Grey: the check measures levels, which a lineart scan has not.
		page, err := readiness.ScanSheet(ctx, c.Scanner, hardware.Options{DPI: c.DPI, Mode: "gray"})
		if err != nil {
			return nil, err
		}
		if scan, err = readiness.Decode(page.Data, page.Name); err != nil {
			return nil, err
		}
		scan.DPI = c.DPI // what was asked for is what is checked
		info.Source = fmt.Sprintf("%d dpi, оттенки серого, %s", c.DPI, page.Format)
	}
	res, err := readiness.Check(scan.Gray, scan.DPI, readiness.DefaultLimits)
	if err != nil {
		return nil, err
	}
	meta := forms.PDFMeta{Title: "Протокол проверки готовности сканера", Subject: res.Verdict(), Creator: PDFCreator, Created: now}
	page := readiness.Protocol(res, info)
	if err := atomicfile.Write(out, 0o644, func(w io.Writer) error { return forms.WritePDF(w, []*forms.Drawing{page}, meta) }); err != nil {
		return nil, err
	}
	after := jsonOf(struct {
		Station  string                `json:"station"`
		Device   string                `json:"device"`
		Verdict  string                `json:"verdict"`
		Failed   []string              `json:"failed"`
		Figures  *readiness.Figures    `json:"figures,omitempty"`
		Criteria []readiness.Criterion `json:"criteria"`
		Protocol string                `json:"protocol"`
	}{info.Station, info.Device, res.Verdict(), res.Failed(), res.Figures, res.Criteria, out})
	if _, err := s.Log.Append(audit.Event{Actor: actor, Action: audit.ActionReadiness, After: after}); err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	return &ReadinessReport{Result: res, Info: info, Protocol: out}, nil
}
