package receiver

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
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

// openS3 opens s3://BUCKET[/PREFIX]?endpoint=HOST:PORT[&region=R][&tls=false].
// The credentials come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY,
// never from the URL, which is shown in logs.
func openS3(u *url.URL) (Blob, error) {
	q := u.Query()
	endpoint := q.Get("endpoint")
	if u.Host == "" || endpoint == "" {
		return nil, fmt.Errorf("хранилище %s: укажите корзину и адрес сервера S3: s3://КОРЗИНА/ПРЕФИКС?endpoint=host:port", u.Redacted())
	}
	id, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if id == "" || secret == "" {
		return nil, fmt.Errorf("хранилище %s: задайте ключи доступа S3 в переменных AWS_ACCESS_KEY_ID и AWS_SECRET_ACCESS_KEY", u.Redacted())
	}
	c, err := minio.New(endpoint, &minio.Options{
		Creds:        credentials.NewStaticV4(id, secret, ""),
		Secure:       q.Get("tls") != "false",
		Region:       q.Get("region"),
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		return nil, fmt.Errorf("хранилище %s: %w", u.Redacted(), err)
	}
	prefix := strings.Trim(u.Path, "/")
	if prefix != "" {
		prefix += "/"
	}
	return &s3Blob{c: c, bucket: u.Host, prefix: prefix}, nil
}

func (b *s3Blob) Put(ctx context.Context, key string, data []byte) error {
	if _, err := b.c.PutObject(ctx, b.bucket, b.prefix+key, bytes.NewReader(data), int64(len(data)),
		minio.PutObjectOptions{ContentType: "application/octet-stream"}); err != nil {
		return fmt.Errorf("store %s: %w", key, err)
	}
	return nil
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
