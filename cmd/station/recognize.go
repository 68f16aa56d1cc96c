package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"gocv.io/x/gocv"

	"giascan/forms"
	"giascan/recognition"
	"giascan/recognition/imagein"
)

func init() {
	register(&command{
		name:    "recognize",
		local:   true,
		summary: "read scanned pages (files or folders): one JSON line per page on stdout",
		run:     runRecognize,
	})
}

// maxWorkers bounds --workers; more than this only costs memory.
const maxWorkers = 256

// scanExts are the file name endings read from folders; a file named on
// the command line is read whatever its name.
var scanExts = map[string]bool{".jpg": true, ".jpeg": true, ".png": true, ".tif": true, ".tiff": true, ".pdf": true}

func runRecognize(ctx context.Context, e *env, args []string) error {
	fset := newFlagSet("recognize")
	workersFlag := fset.String("workers", "", "pages read in parallel (default: the number of CPUs)")
	paths, err := parseFlags(fset, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(e.stdout, "usage: station recognize [--workers N] PATH...")
		flagUsage(e.stdout, fset)
		return nil
	}
	if err != nil {
		return err
	}
	workers := runtime.NumCPU()
	if *workersFlag != "" {
		if workers, err = parseCount("workers", *workersFlag, maxWorkers); err != nil {
			return err
		}
	}
	if len(paths) == 0 {
		return badInput("no PATH given: want image files or folders")
	}
	rc, err := recognition.NewDefault()
	if err != nil {
		return err
	}
	files := expandPaths(paths)
	out := bufio.NewWriter(e.stdout)
	defer out.Flush()
	failed := recognizeFiles(ctx, rc, files, workers, out)
	if err := out.Flush(); err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if failed > 0 {
		return fmt.Errorf("%d input(s) could not be opened", failed)
	}
	return nil
}

// input is one file to read, or a path that could not be listed.
type input struct {
	path string
	err  error
}

// expandPaths lists the files to read in input order: a file as given, a
// folder recursively in lexical order (scan files only).
func expandPaths(paths []string) []input {
	var out []input
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			out = append(out, input{path: p, err: err})
			continue
		}
		if !fi.IsDir() {
			out = append(out, input{path: p})
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				out = append(out, input{path: path, err: err})
				return nil
			}
			if !d.IsDir() && scanExts[strings.ToLower(filepath.Ext(path))] {
				out = append(out, input{path: path})
			}
			return nil
		})
		if err != nil {
			out = append(out, input{path: p, err: err})
		}
	}
	return out
}

// scanFile is an opened scan: a number of pages, each decoded on demand
// into an 8-bit grey Mat that the caller closes, or read by a recognizer
// in the way that costs least.
type scanFile interface {
	Pages() int
	Page(i int) (gocv.Mat, error)
	Read(rc *recognition.Recognizer, i int) (forms.PageResult, error)
	Close() error
}

// openScan opens a scan file (JPEG, PNG, TIFF, PDF) with the station's
// default size limits; pages are decoded on demand.
func openScan(path string) (scanFile, error) {
	d, err := imagein.Open(path, imagein.Limits{})
	if err != nil {
		return nil, err
	}
	return docFile{d}, nil
}

// docFile adapts an imagein.Document to scanFile.
type docFile struct{ *imagein.Document }

func (d docFile) Page(i int) (gocv.Mat, error) {
	m, _, err := d.Document.Page(i)
	return m, err
}

func (d docFile) Read(rc *recognition.Recognizer, i int) (forms.PageResult, error) {
	return rc.Document(d.Document, i)
}

// job is one page to read; seq is its place in the output.
type job struct {
	seq  int
	path string
	page int // 1-based
	file *sharedFile
	err  error // the input could not be opened: the line says so
}

// sharedFile closes an opened scan when its last page is done.
type sharedFile struct {
	scanFile
	mu   sync.Mutex
	left int
}

func (s *sharedFile) done() {
	s.mu.Lock()
	s.left--
	last := s.left == 0
	s.mu.Unlock()
	if last {
		s.Close()
	}
}

// recognizeFiles reads every page with a pool of workers and writes the
// lines in input order. It returns how many inputs could not be opened.
func recognizeFiles(ctx context.Context, rc *recognition.Recognizer, files []input, workers int, out *bufio.Writer) int {
	jobs := make(chan job)
	results := make(chan struct {
		seq  int
		line []byte
	}, workers)
	// At most this many pages are between being opened and being
	// written, so memory stays flat whatever the order of completion.
	window := make(chan struct{}, 4*workers)
	failed := 0

	go func() {
		defer close(jobs)
		seq := 0
		send := func(j job) bool {
			select {
			case window <- struct{}{}:
			case <-ctx.Done():
				return false
			}
			j.seq = seq
			seq++
			jobs <- j
			return true
		}
		for _, in := range files {
			if in.err != nil {
				failed++
				if !send(job{path: in.path, page: 1, err: in.err}) {
					return
				}
				continue
			}
			f, err := openScan(in.path)
			if err != nil {
				failed++
				if !send(job{path: in.path, page: 1, err: err}) {
					return
				}
				continue
			}
			n := f.Pages()
			if n == 0 {
				f.Close()
				failed++
				if !send(job{path: in.path, page: 1, err: errors.New("the file holds no pages")}) {
					return
				}
				continue
			}
			sf := &sharedFile{scanFile: f, left: n}
			for i := 0; i < n; i++ {
				if !send(job{path: in.path, page: i + 1, file: sf}) {
					for ; i < n; i++ {
						sf.done()
					}
					return
				}
			}
		}
	}()

	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				line := recognizeJob(rc, j)
				results <- struct {
					seq  int
					line []byte
				}{j.seq, line}
			}
		}()
	}
	go func() {
		wg.Wait()
		close(results)
	}()

	pending := map[int][]byte{}
	next := 0
	for r := range results {
		pending[r.seq] = r.line
		for {
			line, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			out.Write(line)
			out.WriteByte('\n')
			next++
			<-window
		}
		if len(pending) == 0 {
			out.Flush()
		}
	}
	// failed is written by the producer only, which has finished once
	// jobs is closed and every result is in.
	return failed
}

// recognizeJob decodes and reads one page and returns its JSON line.
func recognizeJob(rc *recognition.Recognizer, j job) []byte {
	start := time.Now()
	var res forms.PageResult
	switch {
	case j.err != nil:
		res = forms.NewPageResult(j.path, j.page)
		res.Error = openError(j.err)
	default:
		var err error
		res, err = j.file.Read(rc, j.page-1)
		j.file.done()
		if err != nil {
			res = forms.NewPageResult(j.path, j.page)
			res.Error = err.Error()
			break
		}
		res.File, res.Page = j.path, j.page
	}
	res.Ms = float64(time.Since(start).Microseconds()) / 1000
	line, err := json.Marshal(res)
	if err != nil {
		// Every field is plain data; this cannot happen short of a bug.
		line = []byte(fmt.Sprintf(`{"file":%q,"page":%d,"error":%q}`, j.path, j.page, err.Error()))
	}
	return line
}

// openError phrases why an input could not be opened.
func openError(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Sprintf("cannot open: %v", pe.Err)
	}
	return err.Error()
}
