// Package s3test serves the S3 API on loopback for tests, with gofakes3
// (an S3-compatible server in Go keeping objects in memory), and returns
// the store URL of a fresh bucket.
package s3test

import (
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Start serves S3 until the test ends, creates bucket, sets the access
// keys in the environment the receiver reads them from, and returns
// s3://bucket/prefix?endpoint=…&tls=false.
func Start(tb testing.TB, bucket, prefix string) string {
	tb.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket(bucket); err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	tb.Cleanup(srv.Close)
	tb.Setenv("AWS_ACCESS_KEY_ID", "giascan-test")
	tb.Setenv("AWS_SECRET_ACCESS_KEY", "giascan-test-secret")
	u, _ := url.Parse(srv.URL)
	return "s3://" + bucket + "/" + prefix + "?endpoint=" + u.Host + "&tls=false"
}
