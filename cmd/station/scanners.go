package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"giascan/hardware"
)

func init() {
	register(&command{
		name:    "scanners",
		summary: "list every scanner the station finds: SANE, eSCL on the network, USB (scanners [--wait 5s])",
		run:     runScanners,
		local:   true,
	})
}

const scannersUsage = "usage: station scanners [--wait DURATION]"

func runScanners(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("scanners")
	wait := fs.Duration("wait", 5*time.Second, "how long to look for network scanners")
	if help, err := parseCommand(e, fs, scannersUsage, args, nil); help || err != nil {
		return err
	}
	lctx, cancel := context.WithTimeout(ctx, *wait)
	defer cancel()
	found, err := hardware.Discover(lctx)
	for _, d := range found {
		spec := d.Spec
		if spec == "" {
			spec = "—"
		}
		fmt.Fprintf(e.stdout, "%s\t%s\t%s", d.Adapter, spec, d.Name)
		if d.Note != "" {
			fmt.Fprintf(e.stdout, "\t%s", d.Note)
		}
		fmt.Fprintln(e.stdout)
	}
	var de *hardware.DiscoverError
	if errors.As(err, &de) {
		// One adapter that cannot look (no sane-utils, no USB bus) does
		// not hide the others' scanners.
		fmt.Fprintf(e.stderr, "station scanners: %v\n", err)
		return nil
	}
	return err
}
