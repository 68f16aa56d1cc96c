package main

import (
	"context"
	"fmt"
	"os"

	"giascan/atomicfile"
)

// The ППЭ-15 protocol: printed over the ППЭ summary manifest (see
// station/packaging), signed on paper, scanned back and matched by the H
// in its QR code.

func init() {
	register(&command{name: "protocol", summary: "print the ППЭ-15 protocol of a ППЭ, or match its signed scan", run: runProtocol})
}

const protocolUsage = `usage: station protocol print --ppe P [--out FILE.pdf]
       station protocol match --ppe P --file SCAN`

func runProtocol(ctx context.Context, e *env, args []string) error {
	verb, args, err := subcommand(e, protocolUsage, args, "print", "match")
	if err != nil {
		return err
	}
	fs := newFlagSet("protocol " + verb)
	data := addDataFlag(fs)
	ppeF := fs.String("ppe", "", "ППЭ code, 4 digits")
	out := fs.String("out", "", "PDF file to write (default: ppe15-PPE.pdf in the current folder)")
	file := fs.String("file", "", "scan of the signed protocol (image or PDF)")
	user := fs.String("user", osUser(), "your login, for the audit log")
	help, err := parseCommand(e, fs, protocolUsage, args, data)
	if help || err != nil {
		return err
	}
	ppe, err := parsePPE(*ppeF)
	if err != nil {
		return err
	}
	if verb == "print" {
		if *out == "" {
			*out = "ppe15-" + ppe + ".pdf"
		}
		if err := checkOutput("out", e.path(*out)); err != nil {
			return err
		}
	} else if err := requireFlag("file", *file); err != nil {
		return err
	}
	st, done, err := e.openExamStation(*data)
	if err != nil {
		return err
	}
	defer done()
	if verb == "print" {
		pdf, rec, err := st.PrintProtocol(*user, ppe)
		if err != nil {
			return opErr(err)
		}
		out := e.path(*out)
		if err := atomicfile.WriteFile(out, pdf, 0o644); err != nil {
			return fmt.Errorf("протокол не записан: %w", err)
		}
		fmt.Fprintf(e.stdout, "Протокол ППЭ-15 ППЭ %s: %s (штрихкод %s, H=%s). Распечатайте, подпишите и отсканируйте: station protocol match --ppe %s --file СКАН\n",
			ppe, out, rec.Barcode, rec.H, ppe)
		return nil
	}
	scan, err := os.ReadFile(e.path(*file))
	if err != nil {
		return badInput("скан %s не читается: %v", *file, err)
	}
	m, first, err := st.MatchProtocol(ctx, *user, ppe, scan, *file)
	if err != nil {
		return err
	}
	again := ""
	if !first {
		again = " (этот протокол уже был подписан; подпись одна)"
	}
	fmt.Fprintf(e.stdout, "Подписанный протокол ППЭ-15 ППЭ %s принят (H=%s, штрихкод %s)%s. Пакет ППЭ запечатан и будет отправлен.\n",
		ppe, m.H, m.Barcode, again)
	return nil
}
