package receiver

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// s3Blob keeps blobs as objects of an S3-compatible store, under a prefix
// of one bucket, so that receivers on several machines share accepted
// packages without a shared file system for them. An object appears whole
// or not at all, as Blob requires.
type s3Blob struct {
	c      *minio.Client
	bucket string
	prefix string
}

// openS3 opens s3://BUCKET[/PREFIX]?endpoint=HOST:PORT[&region=R][&tls=false]
// (see s3Config).
func openS3(u *url.URL) (Blob, error) {
	p, err := s3Config(u)
	if err != nil {
		return nil, err
	}
	c, err := minio.New(p.endpoint, &minio.Options{
		Creds:        credentials.NewStaticV4(p.id, p.secret, ""),
		Secure:       p.tls,
		Region:       p.region,
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		return nil, fmt.Errorf("хранилище %s: %w", u.Redacted(), err)
	}
	return &s3Blob{c: c, bucket: u.Host, prefix: p.prefix}, nil
}

func (b *s3Blob) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	// Parts of the smallest size S3 allows: what the client buffers of a
	// large package at a time.
	if _, err := b.c.PutObject(ctx, b.bucket, b.prefix+key, r, size,
		minio.PutObjectOptions{ContentType: "application/octet-stream", PartSize: s3PartSize}); err != nil {
		return fmt.Errorf("store %s: %w", key, err)
	}
	return nil
}

// s3PartSize is the part size of multipart puts, S3's least.
const s3PartSize = 5 << 20

func (b *s3Blob) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	obj, err := b.c.GetObject(ctx, b.bucket, b.prefix+key, minio.GetObjectOptions{})
	if err == nil {
		// GetObject is lazy: Stat makes the request, so a missing key is
		// told here rather than at the first read.
		if _, err = obj.Stat(); err == nil {
			return obj, nil
		}
		obj.Close()
	}
	if minio.ToErrorResponse(err).Code == minio.NoSuchKey {
		return nil, fmt.Errorf("store %s: %w", key, fs.ErrNotExist)
	}
	return nil, fmt.Errorf("store %s: %w", key, err)
}

func (b *s3Blob) Get(ctx context.Context, key string) ([]byte, error) {
	obj, err := b.c.GetObject(ctx, b.bucket, b.prefix+key, minio.GetObjectOptions{})
	if err == nil {
		var data []byte
		data, err = io.ReadAll(obj)
		obj.Close()
		if err == nil {
			return data, nil
		}
	}
	if minio.ToErrorResponse(err).Code == minio.NoSuchKey {
		return nil, fmt.Errorf("store %s: %w", key, fs.ErrNotExist)
	}
	return nil, fmt.Errorf("store %s: %w", key, err)
}

func (b *s3Blob) List(ctx context.Context, prefix string) ([]string, error) {
	var keys []string
	for o := range b.c.ListObjects(ctx, b.bucket, minio.ListObjectsOptions{Prefix: b.prefix + prefix, Recursive: true}) {
		if o.Err != nil {
			return nil, fmt.Errorf("store: list %q: %w", prefix, o.Err)
		}
		keys = append(keys, strings.TrimPrefix(o.Key, b.prefix))
	}
	return keys, nil // S3 lists in lexical order
}
