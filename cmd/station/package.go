package main

import (
	"context"
	"fmt"
	"strings"

	"giascan/station/packaging"
	"giascan/station/store"
)

// Packages for the РЦОИ: built from the store once an auditorium is
// closed, sealed into DATA/outbox. The work is in station/packaging, which
// the web interface calls too.

func init() {
	register(&command{name: "package", summary: "build the sealed package of a closed auditorium, or the closing set of a ППЭ", run: runPackage})
}

const packageUsage = `usage: station package build --ppe P --auditorium A [--profile bilevel|grey]
       station package build --ppe P --closing [--profile bilevel|grey]
       station package list  --ppe P`

// subcommand checks the first argument is one of the words.
func subcommand(e *env, usage string, args []string, words ...string) (string, []string, error) {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintln(e.stderr, usage)
		return "", nil, badInput("укажите действие: %s", strings.Join(words, " или "))
	}
	for _, w := range words {
		if args[0] == w {
			return w, args[1:], nil
		}
	}
	return "", nil, badInput("неизвестное действие %q: укажите %s", args[0], strings.Join(words, " или "))
}

func runPackage(ctx context.Context, e *env, args []string) error {
	verb, args, err := subcommand(e, packageUsage, args, "build", "list")
	if err != nil {
		return err
	}
	fs := newFlagSet("package " + verb)
	data := addDataFlag(fs)
	ppeF := fs.String("ppe", "", "ППЭ code, 4 digits")
	audF := fs.String("auditorium", "", "auditorium number, 4 digits")
	closing := fs.Bool("closing", false, "build the ППЭ's closing set (ППЭ-13-02-МАШ, ППЭ-15, audit)")
	profile := fs.String("profile", string(packaging.Bilevel), "page images: bilevel (G4 TIFF) or grey (JPEG)")
	help, err := parseCommand(e, fs, packageUsage, args, data)
	if help || err != nil {
		return err
	}
	ppe, err := parsePPE(*ppeF)
	if err != nil {
		return err
	}
	if verb == "list" {
		st, done, err := e.openStation(*data)
		if err != nil {
			return err
		}
		defer done()
		list, err := packaging.List(string(st.Dir), ppe)
		if err != nil {
			return err
		}
		for _, s := range list {
			fmt.Fprintf(e.stdout, "%s\t%d стр.\t%d байт\tH=%s\n", s.Manifest.Name(), len(s.Manifest.Pages), s.Size, s.ManifestHash[:16])
		}
		return nil
	}
	var aud string
	if !*closing {
		if aud, err = parseAuditorium(*audF); err != nil {
			return err
		}
	} else if *audF != "" {
		return badInput("--closing собирает пакет всего ППЭ: не указывайте --auditorium")
	}
	prof, err := packaging.ParseProfile(*profile)
	if err != nil {
		return badInput("%s", err)
	}
	st, done, err := e.openExamStation(*data)
	if err != nil {
		return err
	}
	defer done()
	var s *packaging.Sealed
	if *closing {
		s, err = st.SealClosing(ctx, ppe, prof)
	} else {
		s, err = st.Seal(ctx, store.Place{PPE: ppe, Auditorium: aud}, prof)
	}
	if err != nil {
		return err
	}
	if s.Reused {
		fmt.Fprintf(e.stdout, "Пакет %s уже собран и не изменился: %s\n", s.Manifest.Name(), s.Ciphertext)
	} else {
		fmt.Fprintf(e.stdout, "Пакет %s собран: %d стр., %d байт, H=%s\n%s\n", s.Manifest.Name(), len(s.Manifest.Pages), s.Size, s.ManifestHash[:16], s.Ciphertext)
	}
	return nil
}
