package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"giascan/forms"
	"giascan/hardware"
	"giascan/hardware/sim"
	"giascan/station/audit"
	"giascan/station/readiness"
)

func init() {
	register(&command{
		name:    "readiness",
		summary: "check a scanner before exam day: print the calibration sheet, scan and measure it, write the protocol",
		run:     runReadiness,
	})
}

const readinessUsage = `usage:
  station readiness print --out calib.pdf
  station readiness check --device sim|sim:calibration,KEY=VALUE…|sane:NAME|… [--dpi 300] [--out protocol.pdf] [--data DIR] [--station NAME]
  station readiness check --image SCAN [--dpi N] [--out protocol.pdf] [--data DIR] [--station NAME]
sim keys: seed, count, profile (clean, real, hard; default clean), dpierr (%), skew (°), turn, noise, faint, blur`

func runReadiness(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return badInput("what to do is missing: want print or check")
	}
	switch args[0] {
	case "print":
		return readinessPrint(e, args[1:])
	case "check":
		return readinessCheck(ctx, e, args[1:])
	case "help", "-h", "-help", "--help":
		fmt.Fprintln(e.stdout, readinessUsage)
		return nil
	}
	return badInput("unknown readiness command %q: want print or check", args[0])
}

func readinessPrint(e *env, args []string) error {
	fs := newFlagSet("readiness print")
	out := fs.String("out", "", "output PDF `file` of the calibration sheet")
	addDataFlag(fs) // unused: the sheet is the same for every station
	pos, err := parseFlags(fs, args)
	if err != nil {
		return helpOrError(e, fs, err)
	}
	if len(pos) > 0 {
		return badInput("unexpected argument %q", pos[0])
	}
	*out = e.path(*out)
	if err := checkOutput("out", *out); err != nil {
		return err
	}
	d, err := forms.ComposeCalibration()
	if err != nil {
		return err
	}
	meta := forms.PDFMeta{Title: "Калибровочный лист сканера", Creator: pdfCreator}
	if err := writeFileAtomic(*out, func(w io.Writer) error { return forms.WritePDF(w, []*forms.Drawing{d}, meta) }); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "printed the calibration sheet to %s: print it at 100 %% scale on A4\n", *out)
	return nil
}

// errNotReady is the exit status 1 of a check that found the scanner unfit.
var errNotReady = errors.New("сканер НЕ ГОТОВ: см. протокол")

func readinessCheck(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("readiness check")
	device := fs.String("device", "", "scanner: sim[:calibration,KEY=VALUE…], sane:NAME, …")
	image := fs.String("image", "", "an already scanned calibration sheet `file` instead of a scanner")
	dpi := fs.String("dpi", "300", "nominal resolution to scan at (with --image: when the file does not say)")
	out := fs.String("out", "", "readiness protocol PDF `file` (default readiness-DATE-TIME.pdf in the data folder)")
	station := fs.String("station", "", "station name for the protocol (default the host name)")
	data := addDataFlag(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return helpOrError(e, fs, err)
	}
	if len(pos) > 0 {
		return badInput("unexpected argument %q", pos[0])
	}
	dpiSet := false
	fs.Visit(func(f *flag.Flag) { dpiSet = dpiSet || f.Name == "dpi" })
	nominal, err := strconv.Atoi(*dpi)
	if err != nil || nominal < 100 || nominal > 1200 {
		return badInput("--dpi %q: want a whole number of dots per inch from 100 to 1200", *dpi)
	}
	if (*device == "") == (*image == "") {
		return badInput("want exactly one of --device (scan the calibration sheet) or --image (a scan of it)")
	}
	if err := checkDataDir(*data); err != nil {
		return err
	}
	now := time.Now()
	if *out == "" {
		if err := os.MkdirAll(*data, 0o750); err != nil {
			return badInput("--data %s: %v", *data, err)
		}
		*out = filepath.Join(*data, "readiness-"+now.Format("20060102-150405")+".pdf")
	}
	*out = e.path(*out)
	if err := checkOutput("out", *out); err != nil {
		return err
	}
	name := *station
	if name == "" {
		if name, err = os.Hostname(); err != nil || name == "" {
			name = "без имени"
		}
	}

	var scan readiness.Image
	info := readiness.Info{Station: name, Time: now}
	if *image != "" {
		raw, err := os.ReadFile(e.path(*image))
		if err != nil {
			return badInput("--image %s: %v", *image, unwrapPath(err))
		}
		if scan, err = readiness.Decode(raw, filepath.Base(*image)); err != nil {
			return badInput("--image %s: %v", *image, err)
		}
		if scan.DPI == 0 || dpiSet {
			scan.DPI = nominal
		}
		info.Device = "скан из файла " + *image
		info.Source = fmt.Sprintf("%d dpi (номинал)", scan.DPI)
	} else {
		dev, err := openReadinessDevice(*device)
		if err != nil {
			return err
		}
		d := dev.Device()
		info.Device = fmt.Sprintf("%s (%s)", d.Name, d.ID)
		// Grey: the check measures levels, which a lineart scan has not.
		opts := hardware.Options{DPI: nominal, Mode: "gray"}
		page, err := readiness.ScanSheet(ctx, dev, opts)
		if err != nil {
			return err
		}
		if scan, err = readiness.Decode(page.Data, page.Name); err != nil {
			return err
		}
		scan.DPI = nominal // what was asked for is what is checked
		info.Source = fmt.Sprintf("%d dpi, оттенки серого, %s", nominal, page.Format)
	}

	res, err := readiness.Check(scan.Gray, scan.DPI, readiness.DefaultLimits)
	if err != nil {
		return err
	}
	// The log is opened before the protocol is written: a check that
	// cannot be recorded leaves no protocol behind either.
	app, done, err := e.openStation(*data)
	if err != nil {
		return err
	}
	defer done()
	log := app.Log
	meta := forms.PDFMeta{Title: "Протокол проверки готовности сканера", Subject: res.Verdict(), Creator: pdfCreator, Created: now}
	page := readiness.Protocol(res, info)
	if err := writeFileAtomic(*out, func(w io.Writer) error { return forms.WritePDF(w, []*forms.Drawing{page}, meta) }); err != nil {
		return err
	}
	if err := auditReadiness(log, info, res, *out); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s; протокол %s\n", res.Summary(), *out)
	if !res.Ready {
		return errNotReady
	}
	return nil
}

// openReadinessDevice opens the scanner to check. The simulator is loaded
// with the calibration sheet, as an operator loads the real feeder with it.
func openReadinessDevice(spec string) (hardware.Scanner, error) {
	name, arg, _ := strings.Cut(spec, ":")
	if name == "sim" {
		d, err := forms.ComposeCalibration()
		if err != nil {
			return nil, err
		}
		dev, err := sim.OpenDrawing(d, arg)
		if err != nil {
			return nil, badInput("--device %s: %v", spec, err)
		}
		return dev, nil
	}
	dev, err := hardware.Open(spec)
	if err != nil {
		return nil, badInput("--device %s: %v", spec, err)
	}
	return dev, nil
}

// auditReadiness records the check in the data folder's audit log.
func auditReadiness(log *audit.Log, info readiness.Info, res *readiness.Result, protocol string) error {
	after, err := json.Marshal(struct {
		Station  string                `json:"station"`
		Device   string                `json:"device"`
		Verdict  string                `json:"verdict"`
		Failed   []string              `json:"failed"`
		Figures  *readiness.Figures    `json:"figures,omitempty"`
		Criteria []readiness.Criterion `json:"criteria"`
		Protocol string                `json:"protocol"`
	}{info.Station, info.Device, res.Verdict(), res.Failed(), res.Figures, res.Criteria, protocol})
	if err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	if _, err := log.Append(audit.Event{Actor: audit.Station, Action: audit.ActionReadiness, After: after}); err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	return nil
}
