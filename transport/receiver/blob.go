package receiver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"giascan/atomicfile"
)

// Blob is the store of accepted packages. It is deliberately small — put,
// get, list — so a file tree or an S3-compatible object store serve
// without touching the acceptance logic. gocloud.dev/blob would give that
// but pulls dozens of cloud SDK modules; this interface covers what the
// receiver needs.
type Blob interface {
	// Put stores the size bytes of r under key, streaming them: a package
	// is never held in memory whole. A reader never sees a half-written
	// blob, and one of another size is not stored.
	Put(ctx context.Context, key string, r io.Reader, size int64) error
	// Get returns the blob under key; a missing key wraps fs.ErrNotExist.
	Get(ctx context.Context, key string) ([]byte, error)
	// Open streams the blob under key, for blobs too big to hold (a
	// package); a missing key wraps fs.ErrNotExist.
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	// List returns the keys that start with prefix, in lexical order.
	List(ctx context.Context, prefix string) ([]string, error)
}

// OpenBlob opens a store by URL: file:///abs/dir or file://relative/dir,
// or s3://BUCKET/PREFIX?endpoint=HOST:PORT for an S3-compatible store.
func OpenBlob(rawURL string) (Blob, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("store %q: %w", rawURL, err)
	}
	if u.Scheme == "s3" {
		return openS3(u)
	}
	if u.Scheme != "file" {
		return nil, fmt.Errorf("store %q: want file:// or s3://", rawURL)
	}
	dir := u.Host + u.Path
	if dir == "" {
		return nil, fmt.Errorf("store %q: no directory", rawURL)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	// Temporaries of writes a crash cut short. Another receiver may share
	// the folder, so only those untouched for an hour go.
	if _, err := atomicfile.CleanOlder(dir, true, staleTemp); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return &fileBlob{dir: dir}, nil
}

// staleTemp is how old a temporary file of the store must be to be taken
// for a crash's leftover.
var staleTemp = time.Hour

// fileBlob keeps each blob as a file under dir, keys being slash paths.
type fileBlob struct{ dir string }

func (b *fileBlob) path(key string) (string, error) {
	if key == "" || strings.HasPrefix(key, "/") || strings.Contains(key, "\\") || !fs.ValidPath(key) {
		return "", fmt.Errorf("store: bad key %q", key)
	}
	return filepath.Join(b.dir, filepath.FromSlash(key)), nil
}

func (b *fileBlob) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p, err := b.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("store %s: %w", key, err)
	}
	// Written aside, synced and renamed: a crash leaves either the old
	// state or the whole blob, never a truncated package taken for an
	// accepted one; the temporary it may leave is cleaned on open.
	err = atomicfile.Write(p, 0o600, func(w io.Writer) error {
		n, err := io.Copy(w, io.LimitReader(r, size+1))
		if err == nil && n != size {
			err = fmt.Errorf("%d bytes, %d announced", n, size)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("store %s: %w", key, err)
	}
	return nil
}

func (b *fileBlob) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p, err := b.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", key, err)
	}
	return f, nil
}

func (b *fileBlob) Get(ctx context.Context, key string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p, err := b.path(key)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", key, err)
	}
	return data, nil
}

func (b *fileBlob) List(ctx context.Context, prefix string) ([]string, error) {
	var keys []string
	err := filepath.WalkDir(b.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		rel, err := filepath.Rel(b.dir, p)
		if err != nil {
			return err
		}
		if key := filepath.ToSlash(rel); strings.HasPrefix(key, prefix) {
			keys = append(keys, key)
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("store: list %q: %w", prefix, err)
	}
	return keys, nil // WalkDir visits in lexical order
}
