package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"

	"giascan/atomicfile"
	"giascan/transport/receiver"
)

// documents lists the acts and attachments of what the receiver accepted
// or, with `get`, writes one of them to a file.
func documents(ctx context.Context, e *env, args []string) error {
	get := len(args) > 0 && args[0] == "get"
	if get {
		args = args[1:]
	}
	name := "documents"
	if get {
		name = "documents get"
	}
	fset := flag.NewFlagSet(name, flag.ContinueOnError)
	data := fset.String("data", "", "receiver data `folder`")
	store := fset.String("store", "", "store `URL` (default file://RDIR/store)")
	asJSON := fset.Bool("json", false, "print JSON")
	pkgID := fset.String("package", "", "package `id`, as the list shows it")
	version := fset.Int("version", 0, "package version (default: the newest accepted)")
	file := fset.String("name", "", "act or attachment `name` in the package, e.g. attachments/audio/0000012345.wav")
	out := fset.String("out", "", "file to write it to")
	if err := parse(fset, args, data); err != nil {
		return err
	}
	r, err := receiver.Open(*data, *store)
	if err != nil {
		return err
	}
	if !get {
		docs, err := r.Documents(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			enc := json.NewEncoder(e.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(docs)
		}
		if len(docs) == 0 {
			fmt.Fprintln(e.stdout, "В принятых пакетах нет ни актов, ни вложений.")
		}
		last := ""
		for _, d := range docs {
			if head := d.PPE + "/" + d.Package; head != last {
				last = head
				aud := "итоговый комплект"
				if d.Auditorium != "" {
					aud = "аудитория " + d.Auditorium
				}
				fmt.Fprintf(e.stdout, "ППЭ %s, %s: %s v%d\n", d.PPE, aud, d.Package, d.Version)
			}
			fmt.Fprintf(e.stdout, "  %s  %d байт  sha256 %s\n", d.Name, d.Size, d.SHA256[:16])
		}
		return nil
	}
	switch {
	case *pkgID == "":
		return badInput("укажите пакет (--package), как его показывает `receiver documents`")
	case *file == "":
		return badInput("укажите акт или вложение (--name), как его показывает `receiver documents`")
	case *out == "":
		return badInput("укажите файл, куда записать (--out)")
	}
	var doc *receiver.Document
	// Written whole or not at all: a file that does not match the
	// manifest is never left under the name.
	err = atomicfile.WriteNew(*out, 0o640, func(w io.Writer) error {
		var err error
		doc, err = r.ExtractDocument(ctx, *pkgID, *version, *file, w)
		return err
	})
	if errors.Is(err, receiver.ErrNoDocument) || errors.Is(err, fs.ErrNotExist) {
		return badInput("%v", err)
	}
	if errors.Is(err, os.ErrExist) {
		return badInput("файл %s уже есть: укажите другой (--out)", *out)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s из %s v%d записан в %s: %d байт, SHA-256 совпадает с манифестом.\n", doc.Name, doc.Package, doc.Version, *out, doc.Size)
	return nil
}
