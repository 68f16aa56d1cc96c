package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"giascan/station"
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
	if err := writeFileAtomic(*out, station.CalibrationPDF); err != nil {
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
	stationName := fs.String("station", "", "station name for the protocol (default the host name)")
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
		*out = filepath.Join(*data, station.ReadinessFile(now))
	}
	*out = e.path(*out)
	if err := checkOutput("out", *out); err != nil {
		return err
	}

	check := station.ReadinessCheck{DPI: nominal, Station: *stationName, Out: *out, Time: now}
	if *image != "" {
		raw, err := os.ReadFile(e.path(*image))
		if err != nil {
			return badInput("--image %s: %v", *image, unwrapPath(err))
		}
		scan, err := readiness.Decode(raw, filepath.Base(*image))
		if err != nil {
			return badInput("--image %s: %v", *image, err)
		}
		if scan.DPI == 0 || dpiSet {
			scan.DPI = nominal
		}
		check.DPI, check.Image, check.Device = scan.DPI, &scan, "скан из файла "+*image
	} else {
		dev, err := station.OpenReadinessDevice(*device)
		if err != nil {
			return badInput("--device %s: %v", *device, err)
		}
		check.Scanner = dev
	}
	app, done, err := e.openStation(*data)
	if err != nil {
		return err
	}
	defer done()
	rep, err := app.CheckReadiness(ctx, audit.Station, check)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s; протокол %s\n", rep.Result.Summary(), rep.Protocol)
	if !rep.Result.Ready {
		return errNotReady
	}
	return nil
}
