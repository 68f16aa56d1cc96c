package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"giascan/transport/seal"
)

func init() {
	register(&command{
		name:    "keys",
		summary: "set up the station's signing key and the РЦОИ's encryption keys",
		run:     runKeys,
	})
}

const keysUsage = `usage: station keys init [--data DIR]              create the station's signing key, print its public key
       station keys rcoi import [--data DIR] FILE   store the РЦОИ's age recipients (age1…, one a line; - for stdin)
       station keys show [--data DIR]               print the station's public key and the РЦОИ's recipients`

func runKeys(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return badInput("want a subcommand: init, rcoi import or show (see `station keys --help`)")
	}
	switch args[0] {
	case "init":
		return runKeysInit(e, args[1:])
	case "rcoi":
		if len(args) < 2 || args[1] != "import" {
			return badInput("want `station keys rcoi import FILE`")
		}
		return runKeysImport(e, args[2:])
	case "show":
		return runKeysShow(e, args[1:])
	case "-h", "--help", "-help", "help":
		fmt.Fprintln(e.stdout, keysUsage)
		return nil
	}
	return badInput("unknown subcommand %q: want init, rcoi import or show", args[0])
}

// keysParse parses --data and the positional arguments of a keys
// subcommand; done is true when help was printed.
func keysParse(e *env, name string, args []string, npos int) (dir string, pos []string, done bool, err error) {
	fs := newFlagSet("keys " + name)
	data := addDataFlag(fs)
	pos, err = parseFlags(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(e.stdout, keysUsage)
		flagUsage(e.stdout, fs)
		return "", nil, true, nil
	}
	if err != nil {
		return "", nil, false, err
	}
	if len(pos) != npos {
		if npos == 0 {
			return "", nil, false, badInput("unexpected argument %q", pos[0])
		}
		return "", nil, false, badInput("want one FILE of age recipients (- for stdin), got %d arguments", len(pos))
	}
	if err := checkDataDir(*data); err != nil {
		return "", nil, false, err
	}
	return *data, pos, false, nil
}

func runKeysInit(e *env, args []string) error {
	data, _, done, err := keysParse(e, "init", args, 0)
	if done || err != nil {
		return err
	}
	dir := seal.KeyDir(data)
	pub, err := seal.GenerateStationKey(dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "station key created in %s (files 0600; keep them off copies and backups others can read)\n", dir)
	fmt.Fprintln(e.stdout, "give this public key to the РЦОИ, and check the fingerprint with them by phone:")
	fmt.Fprintf(e.stdout, "  %s\n  fingerprint %s\n", seal.FormatPublicKey(pub), seal.Fingerprint(pub))
	return nil
}

func runKeysImport(e *env, args []string) error {
	data, pos, done, err := keysParse(e, "rcoi import", args, 1)
	if done || err != nil {
		return err
	}
	var r io.Reader = e.stdin
	if pos[0] != "-" {
		f, err := os.Open(e.path(pos[0]))
		if err != nil {
			return badInput("recipients file: %v", err)
		}
		defer f.Close()
		r = f
	}
	list, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if err != nil {
		return badInput("recipients %s: %v", pos[0], err)
	}
	// Bad content is bad input (exit 2); a failure to store it is not.
	if _, _, err := seal.ParseRecipients(bytes.NewReader(list)); err != nil {
		return badInput("recipients %s: %v", pos[0], err)
	}
	texts, err := seal.ImportRecipients(seal.KeyDir(data), bytes.NewReader(list))
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%d РЦОИ recipient(s) stored; packages will be encrypted to each:\n", len(texts))
	for _, t := range texts {
		fmt.Fprintf(e.stdout, "  %s\n", t)
	}
	return nil
}

func runKeysShow(e *env, args []string) error {
	data, _, done, err := keysParse(e, "show", args, 0)
	if done || err != nil {
		return err
	}
	dir := seal.KeyDir(data)
	var problems []error
	pub, err := seal.LoadStationPublicKey(dir)
	switch {
	case errors.Is(err, seal.ErrNoKey):
		fmt.Fprintf(e.stdout, "station key: none (run `station keys init --data %s`)\n", data)
	case err != nil:
		problems = append(problems, err)
	default:
		// The private key must be usable too, and be the pair of the
		// public key that the РЦОИ was given.
		priv, err := seal.LoadStationKey(dir)
		if err == nil && !pub.Equal(priv.Public()) {
			err = fmt.Errorf("%s and %s are not a key pair", seal.StationKeyFile, seal.StationPubFile)
		}
		if err != nil {
			problems = append(problems, err)
		}
		fmt.Fprintf(e.stdout, "station key: %s\n  fingerprint %s\n", seal.FormatPublicKey(pub), seal.Fingerprint(pub))
	}
	_, texts, err := seal.LoadRecipients(dir)
	switch {
	case errors.Is(err, seal.ErrNoKey):
		fmt.Fprintf(e.stdout, "РЦОИ recipients: none (run `station keys rcoi import --data %s FILE`)\n", data)
	case err != nil:
		problems = append(problems, err)
	default:
		fmt.Fprintf(e.stdout, "РЦОИ recipients: %d\n", len(texts))
		for _, t := range texts {
			fmt.Fprintf(e.stdout, "  %s\n", t)
		}
	}
	return errors.Join(problems...)
}
