package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"time"

	"giascan/forms"
	"giascan/hardware/sim"
)

// truthFile is the name of the expected recognizer output in a testscan
// folder: one forms.PageResult line per page, in page order.
const truthFile = "truth.jsonl"

func init() {
	register(&command{
		name:    "testscan",
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
	truth, err := renderAll(ctx, *out, sheets, sim.Settings{Profile: prof}, *workers)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, t := range truth {
		if err := enc.Encode(t); err != nil {
			return fmt.Errorf("truth: %w", err)
		}
	}
	// The truth goes last: a folder with truth.jsonl is complete.
	if err := writeAtomic(*out, truthFile, buf.Bytes()); err != nil {
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

// renderAll renders and writes every page with a pool of workers and
// returns the truth in page order. On failure or cancellation it removes
// the pages it wrote, so a folder never holds half a run.
func renderAll(ctx context.Context, dir string, sheets []sim.Sheet, set sim.Settings, workers int) ([]forms.PageResult, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	width := max(4, len(strconv.Itoa(len(sheets))))
	truth := make([]forms.PageResult, len(sheets))
	written := make([]string, len(sheets))
	jobs := make(chan int)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
		cancel()
	}
	for w := 0; w < min(workers, len(sheets)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				sc, err := sim.Render(sheets[i], set)
				if err != nil {
					fail(err)
					continue
				}
				name := fmt.Sprintf("%0*d.%s", width, i+1, sc.Ext)
				if err := writeAtomic(dir, name, sc.Data); err != nil {
					fail(err)
					continue
				}
				written[i] = name
				sc.Truth.File = filepath.Join(dir, name)
				truth[i] = sc.Truth
			}
		}()
	}
feed:
	for i := range sheets {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	err := firstErr
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		for _, name := range written {
			if name != "" {
				os.Remove(filepath.Join(dir, name))
			}
		}
		return nil, err
	}
	return truth, nil
}

// writeAtomic writes a file under a temporary name and renames it into
// place, so that a reader never sees a partial file.
func writeAtomic(dir, name string, data []byte) error {
	f, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, name))
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}
