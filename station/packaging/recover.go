package packaging

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"giascan/atomicfile"
	"giascan/station/layout"
	"giascan/transport/seal"
)

// Report is what Recover found in a data folder.
type Report struct {
	// Removed lists the files removed: temporaries and the files of
	// versions whose signature was never written.
	Removed []string
	// Damaged lists sealed versions whose files do not match their
	// signature. They are kept as evidence; readers skip them and a build
	// makes the next version.
	Damaged []error
}

// Recover puts the outboxes and protocol folders of a data folder back in
// order after a crash: it removes temporary files, removes the leftovers
// of versions a build did not get to sign, and reports sealed versions
// that are damaged. The station calls it on start, before it seals, sends
// or exports anything: it must not run beside a build, whose temporaries
// it would take for a crash's.
func Recover(data string) (*Report, error) {
	r := &Report{}
	for _, root := range []string{layout.Dir(data).OutboxRoot(), layout.Dir(data).Sub(layout.Protocols), layout.Dir(data).Sub(layout.ActsDir)} {
		ents, err := os.ReadDir(root)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return r, fmt.Errorf("папка %s не читается: %w", root, err)
		}
		for _, e := range ents {
			if !e.IsDir() {
				continue
			}
			dir := filepath.Join(root, e.Name())
			removed, err := atomicfile.Clean(dir, false)
			r.Removed = append(r.Removed, removed...)
			if err != nil {
				return r, err
			}
			if root != filepath.Join(data, "outbox") {
				continue
			}
			if err := recoverOutbox(data, e.Name(), r); err != nil {
				return r, err
			}
		}
	}
	return r, nil
}

// recoverOutbox removes unfinished versions from a ППЭ's outbox and checks
// every sealed one in full.
func recoverOutbox(data, ppe string, r *Report) error {
	dir := OutboxDir(data, ppe)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("папка исходящих пакетов не читается: %w", err)
	}
	var names []string
	for _, e := range ents {
		for _, ext := range []string{seal.CiphertextExt, ManifestExt, seal.SignatureExt} {
			if n, ok := strings.CutSuffix(e.Name(), ext); ok && !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	slices.Sort(names)
	for _, n := range names {
		base := filepath.Join(dir, n)
		removed, err := removeUnfinished(base)
		r.Removed = append(r.Removed, removed...)
		if err != nil {
			return err
		}
		if len(removed) > 0 {
			continue
		}
		s, err := load(data, ppe, n)
		if err == nil {
			err = Verify(s)
		}
		if errors.Is(err, ErrDamaged) {
			r.Damaged = append(r.Damaged, fmt.Errorf("ППЭ %s: %w", ppe, err))
		} else if err != nil {
			return err
		}
	}
	return nil
}

// removeUnfinished removes the ciphertext and manifest of a version whose
// signature does not exist, and returns what it removed. A version with a
// signature is left alone: sealed versions are never removed.
func removeUnfinished(base string) ([]string, error) {
	if _, err := os.Lstat(base + seal.SignatureExt); err == nil {
		return nil, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("подпись %s не читается: %w", base+seal.SignatureExt, err)
	}
	var removed []string
	for _, p := range []string{base + seal.CiphertextExt, base + ManifestExt} {
		err := os.Remove(p)
		if err == nil {
			removed = append(removed, p)
		} else if !errors.Is(err, os.ErrNotExist) {
			return removed, fmt.Errorf("недособранный пакет %s не удалён: %w", filepath.Base(base), err)
		}
	}
	if len(removed) > 0 {
		if err := atomicfile.SyncDir(filepath.Dir(base)); err != nil {
			return removed, fmt.Errorf("сброс на диск папки %s: %w", filepath.Dir(base), err)
		}
	}
	return removed, nil
}
