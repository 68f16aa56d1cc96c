// Command gen trains the digit network from the handwriting fonts and
// writes its weights (model.bin) for the digits package to embed. It is
// run by `go generate ./recognition/digits/...`; with the same fonts and
// options it writes the same file.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"giascan/recognition/digits/internal/train"
)

func main() {
	o := train.Defaults()
	out := flag.String("out", "model.bin", "file to write the weights to")
	flag.Uint64Var(&o.Seed, "seed", o.Seed, "random seed of rendering and training")
	flag.StringVar(&o.Holdout, "holdout", o.Holdout, "font kept out of training, for the tests")
	flag.IntVar(&o.Samples, "samples", o.Samples, "training cells to render")
	flag.IntVar(&o.Epochs, "epochs", o.Epochs, "passes over the training cells")
	flag.IntVar(&o.Workers, "workers", o.Workers, "goroutines (the result does not depend on it)")
	flag.Parse()
	o.Log = os.Stderr
	if err := run(o, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(o train.Options, out string) error {
	start := time.Now()
	net, err := train.Run(o)
	if err != nil {
		return fmt.Errorf("training: %w", err)
	}
	b, err := net.MarshalBinary()
	if err != nil {
		return fmt.Errorf("encoding weights: %w", err)
	}
	if err := os.WriteFile(out, b, 0o644); err != nil {
		return fmt.Errorf("writing weights: %w", err)
	}
	fmt.Fprintf(os.Stderr, "wrote %s (%d bytes) in %s\n", out, len(b), time.Since(start).Round(time.Second))
	return nil
}
