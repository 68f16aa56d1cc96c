package receiver_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"giascan/atomicfile"
	"giascan/transport/receiver"
	"giascan/transport/receiver/s3test"
)

// Every store passes the same checks: put, get, lexical listing by
// prefix, and a missing key that says so.
func TestBlobStores(t *testing.T) {
	for name, open := range map[string]func(t *testing.T) string{
		"file": func(t *testing.T) string { return "file://" + filepath.Join(t.TempDir(), "store") },
		"s3":   func(t *testing.T) string { return s3test.Start(t, "rcoi", "region-50") },
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			b, err := receiver.OpenBlob(open(t))
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"1234/p/v2/receipt", "1234/p/v1/receipt", "1234/p/v1/tar.age", "4321/q/v1/receipt"} {
				if err := b.Put(ctx, k, strings.NewReader("data of "+k), int64(len("data of "+k))); err != nil {
					t.Fatal(err)
				}
			}
			if err := b.Put(ctx, "1234/p/v1/receipt", strings.NewReader("replaced"), 8); err != nil {
				t.Fatal(err)
			}
			got, err := b.Get(ctx, "1234/p/v1/receipt")
			if err != nil || string(got) != "replaced" {
				t.Fatalf("get: %q %v", got, err)
			}
			keys, err := b.List(ctx, "1234/")
			if err != nil || !slices.Equal(keys, []string{"1234/p/v1/receipt", "1234/p/v1/tar.age", "1234/p/v2/receipt"}) {
				t.Fatalf("list: %q %v", keys, err)
			}
			all, _ := b.List(ctx, "")
			if len(all) != 4 {
				t.Fatalf("list all: %q", all)
			}
			if _, err := b.Get(ctx, "1234/p/v9/receipt"); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("missing key: %v", err)
			}
			// A stream that ends before its announced size stores nothing.
			if err := b.Put(ctx, "1234/p/v3/tar.age", strings.NewReader("short"), 1000); err == nil {
				t.Fatal("a short stream was stored")
			}
			if _, err := b.Get(ctx, "1234/p/v3/tar.age"); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("a short stream left a blob: %v", err)
			}
		})
	}
	if _, err := receiver.OpenBlob("s3://bucket-without-endpoint"); err == nil {
		t.Fatal("an s3 store without a server address was opened")
	}
}

// A temporary a crash left in the store is removed when the store is
// opened again once it is stale; a fresh one may be another receiver's
// write in progress and stays.
func TestFileStoreCleansStaleTemporaries(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, "1234", atomicfile.TempPrefix+"pkg.tar.age.1")
	fresh := filepath.Join(dir, "1234", atomicfile.TempPrefix+"pkg.tar.age.2")
	os.MkdirAll(filepath.Dir(stale), 0o700)
	os.WriteFile(stale, []byte("half"), 0o600)
	os.WriteFile(fresh, []byte("half"), 0o600)
	old := time.Now().Add(-2 * time.Hour)
	os.Chtimes(stale, old, old)
	b, err := receiver.OpenBlob("file://" + dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("a stale temporary is still there: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("a fresh temporary was removed: %v", err)
	}
	if err := b.Put(context.Background(), "1234/pkg.tar.age", strings.NewReader("whole"), 5); err != nil {
		t.Fatal(err)
	}
	if got, _ := b.Get(context.Background(), "1234/pkg.tar.age"); string(got) != "whole" {
		t.Errorf("Get after Put = %q", got)
	}
}
