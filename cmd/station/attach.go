package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"

	"giascan/station/attach"
)

func init() {
	register(&command{name: "attach", summary: "КЕГЭ answer files and oral-answer audio of an auditorium: import from a folder or zip, list", run: runAttach})
}

const attachUsage = `usage: station attach import --ppe P --auditorium A --kind kege|audio --from FOLDER|ZIP [--user LOGIN] [--json]
       station attach list   --ppe P --auditorium A [--json]`

func runAttach(ctx context.Context, e *env, args []string) error {
	verb, args, err := subcommand(e, attachUsage, args, "import", "list")
	if err != nil {
		return err
	}
	f := newFixFlags("attach " + verb)
	var kind, from *string
	if verb == "import" {
		kind = f.fs.String("kind", "", "kege (КЕГЭ answer files) or audio (oral-answer recordings, WAV or MP3)")
		from = f.fs.String("from", "", "folder or zip archive of the files, each named by the participant's kit number")
	}
	asJSON := f.fs.Bool("json", false, "print the result as JSON")
	ref, err := f.parsePlace(e, attachUsage, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if verb == "import" {
		if !attach.ValidKind(*kind) {
			return badInput("укажите вид файлов: --kind kege (файлы ответов КЕГЭ) или --kind audio (аудиозаписи устных ответов)")
		}
		if *from == "" {
			return badInput("укажите папку или архив zip с файлами участников (--from)")
		}
	}
	_, st, done, err := openOps(e, *f.data, false)
	if err != nil {
		return err
	}
	defer done()
	if verb == "list" {
		list, err := st.Attachments(ref.Place)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(e.stdout, list)
		}
		for _, a := range list {
			fmt.Fprintf(e.stdout, "%s: %d", a.Name, len(a.Files))
			if a.Kind == attach.Audio && len(a.Files) > 0 {
				fmt.Fprintf(e.stdout, ", общая длительность %s", attach.Clock(a.Seconds))
			}
			fmt.Fprintln(e.stdout)
			for _, fl := range a.Files {
				fmt.Fprintf(e.stdout, "  %s  %d байт", fl.Name, fl.Size)
				if fl.Seconds > 0 {
					fmt.Fprintf(e.stdout, "  %s", attach.Clock(fl.Seconds))
				}
				fmt.Fprintf(e.stdout, "  (%s, принят %s, %s)\n", fl.Original, fl.Imported.Local().Format("02.01.2006 15:04"), fl.By)
			}
			for _, m := range a.Missing {
				fmt.Fprintf(e.stdout, "  ! %s\n", m.Text)
			}
		}
		return nil
	}
	rep, err := st.ImportAttachments(ctx, *f.user, ref.Place, *kind, e.path(*from))
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(e.stdout, rep)
	}
	printAttachReport(e.stdout, ref.Place.PPE, ref.Place.Auditorium, rep)
	return nil
}

// printAttachReport prints an import's result for people.
func printAttachReport(w io.Writer, ppe, aud string, rep *attach.Report) {
	fmt.Fprintf(w, "Аудитория %s ППЭ %s, %s: принято файлов %d", aud, ppe, attach.KindName(rep.Kind), len(rep.Imported))
	if rep.Planned > 0 {
		fmt.Fprintf(w, "; есть у %d из %d комплектов", rep.Present, rep.Planned)
	}
	if rep.Kind == attach.Audio {
		fmt.Fprintf(w, "; общая длительность записей %s", attach.Clock(rep.Seconds))
	}
	fmt.Fprintln(w, ".")
	for _, f := range rep.Imported {
		fmt.Fprintf(w, "  + %s ← %s, %d байт", f.Name, f.Original, f.Size)
		if f.Seconds > 0 {
			fmt.Fprintf(w, ", %s", attach.Clock(f.Seconds))
		}
		fmt.Fprintln(w)
	}
	for _, p := range rep.Problems {
		fmt.Fprintf(w, "  ! %s\n", p.Text)
	}
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
