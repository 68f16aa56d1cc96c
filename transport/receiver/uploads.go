package receiver

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/tus/tusd/v2/pkg/filestore"
	"github.com/tus/tusd/v2/pkg/handler"
	"github.com/tus/tusd/v2/pkg/s3store"
)

// uploadStore is where tus keeps unfinished uploads: tus's file store in
// the data folder of a receiver on its own, or tus's S3 store in a bucket
// that receivers behind one address share, so that an upload begun on
// one is resumed on another.
type uploadStore interface {
	handler.DataStore
	AsTerminatableUpload(handler.Upload) handler.TerminatableUpload
}

// openUploads opens the store of unfinished uploads by URL: "" is
// DIR/uploads; s3://BUCKET/PREFIX?endpoint=HOST:PORT[&region=R][&tls=false]
// a bucket, with the keys of the store of packages. dir is the folder of a
// file store, whose uploads a restarted receiver finds again; "" for S3,
// whose uploads are in the shared table.
func openUploads(rawURL, dataDir string) (store uploadStore, dir string, err error) {
	if rawURL == "" {
		dir = filepath.Join(dataDir, UploadsDir)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, "", fmt.Errorf("uploads: %w", err)
		}
		return filestore.New(dir), dir, nil
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, "", fmt.Errorf("незавершённые загрузки %q: %w", rawURL, err)
	}
	if u.Scheme != "s3" {
		return nil, "", fmt.Errorf("незавершённые загрузки %s: укажите s3://КОРЗИНА/ПРЕФИКС?endpoint=host:port или ничего (папка данных)", u.Redacted())
	}
	c, err := s3Config(u)
	if err != nil {
		return nil, "", err
	}
	scheme := "https://"
	if !c.tls {
		scheme = "http://"
	}
	client := s3.New(s3.Options{
		Region:       c.region,
		Credentials:  credentials.NewStaticCredentialsProvider(c.id, c.secret, ""),
		BaseEndpoint: aws.String(scheme + c.endpoint),
		UsePathStyle: true,
		// Checksums only where S3 requires them: S3-compatible servers
		// differ in the newer optional ones.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
	st := s3store.New(u.Host, client)
	st.ObjectPrefix = c.prefix
	// Parts of the least size S3 allows: tus buffers a part in a
	// temporary file before it goes to the bucket.
	st.PreferredPartSize = st.MinPartSize
	st.TemporaryDirectory = filepath.Join(dataDir, UploadsDir)
	if err := os.MkdirAll(st.TemporaryDirectory, 0o700); err != nil {
		return nil, "", fmt.Errorf("uploads: %w", err)
	}
	return st, "", nil
}

// s3Params is what an s3:// URL and the environment say of a bucket.
type s3Params struct {
	endpoint, region, prefix string
	id, secret               string
	tls                      bool
}

// s3Config reads s3://BUCKET[/PREFIX]?endpoint=HOST:PORT[&region=R][&tls=false].
// The credentials come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY,
// never from the URL, which is shown in logs.
func s3Config(u *url.URL) (s3Params, error) {
	q := u.Query()
	p := s3Params{endpoint: q.Get("endpoint"), region: q.Get("region"), tls: q.Get("tls") != "false",
		id: os.Getenv("AWS_ACCESS_KEY_ID"), secret: os.Getenv("AWS_SECRET_ACCESS_KEY")}
	if u.Host == "" || p.endpoint == "" {
		return p, fmt.Errorf("хранилище %s: укажите корзину и адрес сервера S3: s3://КОРЗИНА/ПРЕФИКС?endpoint=host:port", u.Redacted())
	}
	if p.id == "" || p.secret == "" {
		return p, fmt.Errorf("хранилище %s: задайте ключи доступа S3 в переменных AWS_ACCESS_KEY_ID и AWS_SECRET_ACCESS_KEY", u.Redacted())
	}
	if p.region == "" {
		p.region = "us-east-1" // what S3-compatible servers take when they have no regions
	}
	p.prefix = strings.Trim(u.Path, "/")
	if p.prefix != "" {
		p.prefix += "/"
	}
	return p, nil
}
