package main

import (
	"context"
	"fmt"

	"giascan/station/packaging"
)

func init() {
	register(&command{name: "export", summary: "write the sealed packages of a ППЭ to a removable medium, checked", run: runExport})
}

const exportUsage = "usage: station export --ppe P --to FOLDER-ON-MEDIUM [--data DIR] [--user LOGIN]"

// exportMedium is the medium export writes to; tests replace it.
var exportMedium packaging.Medium = packaging.OSMedium{}

func runExport(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("export")
	data := addDataFlag(fs)
	ppeF := fs.String("ppe", "", "ППЭ code, 4 digits")
	to := fs.String("to", "", "folder on the mounted removable medium")
	user := fs.String("user", osUser(), "your login, for the audit log")
	help, err := parseCommand(e, fs, exportUsage, args, data)
	if help || err != nil {
		return err
	}
	ppe, err := parsePPE(*ppeF)
	if err != nil {
		return err
	}
	if err := requireFlag("to", *to); err != nil {
		return err
	}
	app, done, err := e.openStation(*data)
	if err != nil {
		return err
	}
	defer done()
	out, err := app.Export(*user, ppe, e.path(*to), exportMedium)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Выгружено файлов: %d (%d байт) в %s; контрольные суммы проверены: %s\n", len(out.Files), out.Bytes, out.Dir, packaging.SumsName)
	return nil
}
