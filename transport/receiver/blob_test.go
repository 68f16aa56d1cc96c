package receiver_test

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
	"testing"

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
				if err := b.Put(ctx, k, []byte("data of "+k)); err != nil {
					t.Fatal(err)
				}
			}
			if err := b.Put(ctx, "1234/p/v1/receipt", []byte("replaced")); err != nil {
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
		})
	}
	if _, err := receiver.OpenBlob("s3://bucket-without-endpoint"); err == nil {
		t.Fatal("an s3 store without a server address was opened")
	}
}
