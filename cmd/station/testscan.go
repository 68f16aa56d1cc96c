package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"time"

	"giascan/hardware/sim"
)

// truthFile is the name of the expected recognizer output in a testscan
// folder: one forms.PageResult line per page, in page order.
const truthFile = "truth.jsonl"

func init() {
	register(&command{
		name:    "testscan",
		local:   true,
		summary: "write simulated scans of filled exam pages and their expected recognition (truth.jsonl)",
		run:     runTestscan,
	})
}

func runTestscan(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("testscan")
	out := fs.String("out", "", "output `folder` for the page images and "+truthFile+" (made if missing)")
	count := fs.String("count", "", fmt.Sprintf("number of pages, 1..%d", sim.MaxCount))
	seed := fs.Int64("seed", 1, "random seed: the same seed writes byte-identical files")
	profile := fs.String("profile", string(sim.Real), "scan quality: clean, real or hard")
	workers := fs.Int("workers", runtime.NumCPU(), "pages rendered in parallel")
	pos, err := parseFlags(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(e.stdout, "usage: station testscan --out DIR --count N [--seed S] [--profile clean|real|hard] [--workers N]")
		flagUsage(e.stdout, fs)
		return nil
	}
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return badInput("unexpected argument %q", pos[0])
	}
	n, err := parseCount("count", *count, sim.MaxCount)
	if err != nil {
		return err
	}
	prof, err := sim.ParseProfile(*profile)
	if err != nil {
		return badInput("--profile %q: want clean, real or hard", *profile)
	}
	if *workers < 1 || *workers > 256 {
		return badInput("--workers %d: want 1..256", *workers)
	}
	if err := requireFlag("out", *out); err != nil {
		return err
	}
	if err := prepareOutDir(*out); err != nil {
		return err
	}
	sheets, err := sim.Plan(*seed, n)
	if err != nil {
		return err
	}

	start := time.Now()
	if err := renderAll(ctx, *out, sheets, sim.Settings{Profile: prof}, *workers); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "testscan: %d pages (%s) and %s in %s, %.1f s\n",
		n, prof, truthFile, *out, time.Since(start).Seconds())
	return nil
}

// prepareOutDir makes the output folder if needed and checks that it
// takes new files, before anything is rendered.
func prepareOutDir(dir string) error {
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return badInput("--out %s: is not a folder", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return badInput("--out %s: cannot make the folder: %v", dir, unwrapPath(err))
	}
	probe, err := os.CreateTemp(dir, ".testscan-probe-*")
	if err != nil {
		return badInput("--out %s: cannot write to the folder: %v", dir, unwrapPath(err))
	}
	probe.Close()
	os.Remove(probe.Name())
	return nil
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// result is one rendered page: its file name and its truth line.
type result struct {
	index int
	name  string
	line  []byte
	err   error
}

// renderAll renders and writes every page with a pool of workers, then
// the truth in page order. Truth lines are written as pages complete, so
// memory stays small for long runs. On failure or cancellation it removes
// what it wrote, so a folder never holds half a run.
func renderAll(ctx context.Context, dir string, sheets []sim.Sheet, set sim.Settings, workers int) (err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	width := max(4, len(strconv.Itoa(len(sheets))))
	written := make([]string, 0, len(sheets))
	tmp, err := os.CreateTemp(dir, "."+truthFile+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", truthFile, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			for _, name := range written {
				os.Remove(filepath.Join(dir, name))
			}
		}
	}()

	jobs := make(chan int)
	results := make(chan result)
	var wg sync.WaitGroup
	for w := 0; w < min(workers, len(sheets)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				results <- renderOne(dir, sheets[i], set, i, width)
			}
		}()
	}
	go func() { // the feeder: stops early when the run is cancelled
		defer close(jobs)
		for i := range sheets {
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() {
		wg.Wait()
		close(results)
	}()

	// Collect every result, even after a failure, so that every worker
	// ends and every file written is known; lines go out in page order.
	out := bufio.NewWriter(tmp)
	pending := map[int][]byte{}
	next := 0
	var firstErr error
	for r := range results {
		if r.name != "" {
			written = append(written, r.name)
		}
		if r.err != nil {
			if firstErr == nil {
				firstErr = r.err
			}
			cancel()
			continue
		}
		pending[r.index] = r.line
		for line, ok := pending[next]; ok && firstErr == nil; line, ok = pending[next] {
			if _, werr := out.Write(line); werr != nil {
				firstErr = fmt.Errorf("write %s: %w", truthFile, werr)
				cancel()
			}
			delete(pending, next)
			next++
		}
	}
	if firstErr != nil {
		return firstErr
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if next != len(sheets) {
		return fmt.Errorf("testscan: %d of %d pages rendered", next, len(sheets))
	}
	// The truth goes last: a folder with truth.jsonl is complete.
	if err := out.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", truthFile, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", truthFile, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", truthFile, err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, truthFile)); err != nil {
		return fmt.Errorf("write %s: %w", truthFile, err)
	}
	return nil
}

// renderOne renders page i, writes its image and returns its truth line.
func renderOne(dir string, s sim.Sheet, set sim.Settings, i, width int) result {
	sc, err := sim.Render(s, set)
	if err != nil {
		return result{index: i, err: err}
	}
	name := fmt.Sprintf("%0*d.%s", width, i+1, sc.Ext)
	if err := writeAtomic(dir, name, sc.Data); err != nil {
		return result{index: i, err: err}
	}
	sc.Truth.File = filepath.Join(dir, name)
	line, err := json.Marshal(sc.Truth)
	if err != nil {
		return result{index: i, name: name, err: fmt.Errorf("truth of page %d: %w", i+1, err)}
	}
	return result{index: i, name: name, line: append(line, '\n')}
}

// writeAtomic writes data to dir/name so that a reader never sees a
// partial file (see writeFileAtomic).
func writeAtomic(dir, name string, data []byte) error {
	return writeFileAtomic(filepath.Join(dir, name), func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}
