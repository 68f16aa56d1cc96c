package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"giascan/forms"
	"giascan/hardware"
	"giascan/hardware/sim"
	"giascan/recognition"
	"giascan/recognition/imagein"
)

func init() {
	register(&command{
		name:    "demo",
		summary: "show the station at work with no hardware: print a demo auditorium's blanks, scan it with the simulated ADF, recognise every page",
		run:     runDemo,
	})
}

// typeNames are the Russian short names of the page types, as operators say them.
var typeNames = map[string]string{
	forms.TypeBO1:       "БО №1",
	forms.TypeBO2Sheet1: "БО №2 лист 1",
	forms.TypeBO2Sheet2: "БО №2 лист 2",
	forms.TypeDBO2:      "ДБО №2",
	forms.TypePPE1302:   "ППЭ-13-02-МАШ",
	forms.TypePPE18:     "ППЭ-18-МАШ",
	forms.TypePPE15:     "ППЭ-15",
}

func runDemo(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("demo")
	data := addDataFlag(fs)
	count := fs.String("count", "40", "pages in the simulated stack")
	seed := fs.String("seed", "2025", "seed of the simulated stack")
	profile := fs.String("profile", "real", "scan quality: clean, real or hard")
	if _, err := parseFlags(fs, args); err != nil {
		return helpOrError(e, fs, err)
	}
	n, err := parseCount("count", *count, 2000)
	if err != nil {
		return err
	}
	s, err := strconv.ParseInt(*seed, 10, 64)
	if err != nil {
		return badInput("--seed %q is not a whole number", *seed)
	}
	prof, err := sim.ParseProfile(*profile)
	if err != nil {
		return badInput("--profile: %v", err)
	}
	if err := checkDataDir(*data); err != nil {
		return err
	}
	// The feeder jams a third of the way through and double-feeds later on,
	// so the demo shows how the station handles both without losing a page.
	adf, err := sim.New(s, n, sim.Settings{Profile: prof}, sim.Faults{JamAfter: n / 3, DoubleFeedAt: 2 * n / 3})
	if err != nil {
		return badInput("simulated scanner: %v", err)
	}
	dir := filepath.Join(*data, "demo")
	scans := filepath.Join(dir, "scans")
	if err := os.RemoveAll(scans); err != nil {
		return fmt.Errorf("clear previous demo scans: %w", err)
	}
	if err := os.MkdirAll(scans, 0o755); err != nil {
		return fmt.Errorf("demo folder: %w", err)
	}
	out := e.stdout
	fmt.Fprintf(out, "Станция сканирования — демонстрация без оборудования\nДанные станции: %s\n\n", *data)

	first := adf.Sheets()[0].ID
	examFile := filepath.Join(dir, "exam.json")
	if err := writeDemoExam(examFile, adf.Sheets()); err != nil {
		return err
	}
	kitsPDF, formPDF := filepath.Join(dir, "kits.pdf"), filepath.Join(dir, "ppe-13-02-mash.pdf")
	if err := printDemoBlanks(ctx, e, *data, first, kitsPDF, formPDF); err != nil {
		return err
	}
	fmt.Fprintf(out, "1. Напечатаны бланки аудитории %s ППЭ %s: %s\n   и форма ППЭ-13-02-МАШ: %s\n", first.Auditorium, first.PPE, kitsPDF, formPDF)
	fmt.Fprintf(out, "   Файл экзамена для РЦОИ-формата: %s\n\n", examFile)

	rc, err := newRecognizer()
	if err != nil {
		return err
	}
	dev := adf.Device()
	fmt.Fprintf(out, "2. Сканирование: %s, автоподатчик, %d страниц в лотке\n", dev.Name, n)
	stats := demoStats{}
	deliver := func(p hardware.Page) error {
		return stats.page(out, rc, adf, scans, p)
	}
	start := time.Now()
	for {
		err := adf.Scan(ctx, hardware.Options{Source: hardware.ADF}, deliver)
		var fault *hardware.Fault
		if errors.As(err, &fault) {
			fmt.Fprintf(out, "   ⚠ %s.\n     (в демонстрации лист возвращается в лоток сам)\n", faultMessage(fault))
			continue
		}
		if err != nil {
			return fmt.Errorf("scan: %w", err)
		}
		break
	}
	elapsed := time.Since(start)
	fmt.Fprintf(out, "\n   Лоток пуст. Страниц: %d за %.1f с; опознано верно: %d; на проверку оператору: %d; расхождений с эталоном без пометки: %d\n\n",
		stats.pages, elapsed.Seconds(), stats.identified, stats.review, stats.silent)
	fmt.Fprintf(out, "Что дальше:\n")
	fmt.Fprintf(out, "  • откройте %s — так выглядят напечатанные комплекты (БО №1, БО №2 листы 1 и 2);\n", kitsPDF)
	fmt.Fprintf(out, "  • сканы лежат в %s, эталон заполнения — в %s;\n", scans, filepath.Join(scans, "truth.jsonl"))
	fmt.Fprintf(out, "  • распознайте их заново: bin/station recognize %s\n", scans)
	fmt.Fprintf(out, "  • сделайте свой тестовый набор: bin/station testscan --out /tmp/corpus --count 100 --seed 7 --profile hard\n")
	return nil
}

// demoStats counts what the demo scan showed.
type demoStats struct {
	pages, identified, review, silent int
	truth                             []forms.PageResult
}

// page stores, recognises and reports one delivered page, and compares it
// with what the simulator drew.
func (st *demoStats) page(out io.Writer, rc *recognition.Recognizer, adf *sim.ADF, dir string, p hardware.Page) error {
	name := p.Name
	if name == "" {
		name = fmt.Sprintf("%04d.%s", p.Seq, p.Format)
	}
	if err := writeAtomic(dir, name, p.Data); err != nil {
		return err
	}
	res := forms.NewPageResult(filepath.Join(dir, name), 1)
	doc, err := imagein.FromBytes(p.Data, name, imagein.Limits{})
	if err == nil {
		mat, _, perr := doc.Page(0)
		if perr == nil {
			res = rc.Page(mat)
			res.File, res.Page = filepath.Join(dir, name), 1
			mat.Close()
		} else {
			res.Error = perr.Error()
		}
		doc.Close()
	} else {
		res.Error = err.Error()
	}
	st.pages++
	truth, _ := adf.Truth(p.Seq)
	truth.File = filepath.Join(dir, name)
	st.truth = append(st.truth, truth)
	if err := writeTruth(filepath.Join(dir, "truth.jsonl"), st.truth); err != nil {
		return err
	}
	verdict := "✓"
	switch {
	case res.Error != "":
		verdict = "не прочитана: " + res.Error
		st.review++
	case res.NeedsReview:
		verdict = fmt.Sprintf("на проверку: %v", res.Review)
		st.review++
	}
	score := recognition.Score([]forms.PageResult{truth}, []forms.PageResult{res})
	if len(score.Silent) > 0 {
		st.silent++
		verdict += " (расходится с эталоном)"
	} else if res.Error == "" && !res.NeedsReview {
		st.identified++
	}
	kind := typeNames[res.Type]
	if kind == "" {
		kind = "?"
	}
	kit := ""
	if res.Context.Kit != "" && res.Context.Kit != forms.NoKit {
		kit = "ИК " + res.Context.Kit
	}
	fmt.Fprintf(out, "   стр. %3d  %-14s %-13s %-13s %s\n", p.Seq, kind, res.Barcode, kit, verdict)
	return nil
}

func writeTruth(path string, lines []forms.PageResult) error {
	var buf []byte
	for _, l := range lines {
		b, err := json.Marshal(l)
		if err != nil {
			return err
		}
		buf = append(append(buf, b...), '\n')
	}
	return writeAtomic(filepath.Dir(path), filepath.Base(path), buf)
}

// writeDemoExam writes the exam file (exam.md) of the simulated stack's
// first ППЭ: its auditoriums and the kits planned for them.
func writeDemoExam(path string, sheets []sim.Sheet) error {
	type aud struct {
		Number string   `json:"number"`
		Kits   []string `json:"kits,omitempty"`
	}
	type ppe struct {
		Code        string `json:"code"`
		Auditoriums []aud  `json:"auditoriums"`
	}
	first := sheets[0].ID
	exam := struct {
		Level   int    `json:"level"`
		Subject string `json:"subject"`
		Date    string `json:"date"`
		Region  string `json:"region"`
		PPE     []ppe  `json:"ppe"`
	}{Level: first.Level, Subject: first.Subject, Region: first.Region,
		Date: first.Date[0:4] + "-" + first.Date[4:6] + "-" + first.Date[6:8]}
	p := ppe{Code: first.PPE}
	index := map[string]int{}
	for _, s := range sheets {
		id := s.ID
		if id.PPE != first.PPE || id.Auditorium == "0000" {
			continue
		}
		i, ok := index[id.Auditorium]
		if !ok {
			i = len(p.Auditoriums)
			index[id.Auditorium] = i
			p.Auditoriums = append(p.Auditoriums, aud{Number: id.Auditorium})
		}
		if id.Type == forms.TypeBO1 {
			p.Auditoriums[i].Kits = append(p.Auditoriums[i].Kits, id.Kit)
		}
	}
	exam.PPE = []ppe{p}
	b, err := json.MarshalIndent(exam, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(filepath.Dir(path), filepath.Base(path), append(b, '\n'))
}

// printDemoBlanks prints kits for the demo auditorium and a blank
// ППЭ-13-02-МАШ with the station's own print command.
func printDemoBlanks(ctx context.Context, e *env, data string, id forms.Identity, kits, form string) error {
	date := id.Date[0:4] + "-" + id.Date[4:6] + "-" + id.Date[6:8]
	common := []string{"--data", data, "--level", strconv.Itoa(id.Level), "--region", id.Region,
		"--ppe", id.PPE, "--subject", id.Subject, "--date", date}
	quiet := &env{stdout: io.Discard, stderr: io.Discard, stdin: e.stdin}
	if err := runPrint(ctx, quiet, append([]string{"kits", "--auditorium", id.Auditorium, "--count", "3", "--out", kits}, common...)); err != nil {
		return fmt.Errorf("print demo kits: %w", err)
	}
	if err := runPrint(ctx, quiet, append([]string{"form", "51", "--out", form}, common...)); err != nil {
		return fmt.Errorf("print demo form: %w", err)
	}
	return nil
}
