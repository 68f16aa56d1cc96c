package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"giascan/forms"
	"giascan/recognition/imagein"
	"giascan/station/ops"
	"giascan/station/packaging"
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
		if err := checkOutput("out", *out); err != nil {
			return err
		}
	} else if err := requireFlag("file", *file); err != nil {
		return err
	}
	p, done, err := openPackager(*data, string(packaging.Bilevel))
	if err != nil {
		return err
	}
	defer done()
	if verb == "print" {
		rep, err := ops.Report(p.Store)
		if err != nil {
			return opErr(err)
		}
		pdf, rec, err := p.PrintProtocol(ppe, rep)
		if err != nil {
			return err
		}
		if err := writeFileAtomic(*out, func(w io.Writer) error { _, err := w.Write(pdf); return err }); err != nil {
			return fmt.Errorf("протокол не записан: %w", err)
		}
		fmt.Fprintf(e.stdout, "Протокол ППЭ-15 ППЭ %s: %s (штрихкод %s, H=%s). Распечатайте, подпишите и отсканируйте: station protocol match --ppe %s --file СКАН\n",
			ppe, *out, rec.Barcode, rec.H, ppe)
		return nil
	}
	scan, err := os.ReadFile(*file)
	if err != nil {
		return badInput("скан %s не читается: %v", *file, err)
	}
	res, err := recognizeScan(scan, *file)
	if err != nil {
		return err
	}
	sum, err := p.MakeSummary(ppe)
	if err != nil {
		return err
	}
	m, err := packaging.MatchProtocol(*data, ppe, sum, res, scan, strings.ToLower(filepath.Ext(*file)))
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Подписанный протокол ППЭ-15 ППЭ %s принят (H=%s, штрихкод %s). Соберите пакет ППЭ: station package build --ppe %s --closing\n",
		ppe, m.H, m.Barcode, ppe)
	return nil
}

// recognizeScan reads the first page of a scan with the station's
// recognizer.
func recognizeScan(data []byte, name string) (forms.PageResult, error) {
	rc, err := newRecognizer()
	if err != nil {
		return forms.PageResult{}, err
	}
	start := time.Now()
	doc, err := imagein.FromBytes(data, name, imagein.Limits{})
	if err != nil {
		return forms.PageResult{}, badInput("скан %s не открывается как изображение: %v", name, err)
	}
	defer doc.Close()
	m, _, err := doc.Page(0)
	if err != nil {
		return forms.PageResult{}, badInput("скан %s не открывается как изображение: %v", name, err)
	}
	defer m.Close()
	res := rc.Page(m)
	res.File = name
	res.Ms = float64(time.Since(start).Microseconds()) / 1000
	return res, nil
}
