package receiver_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/tus/tusd/v2/pkg/handler"
	"github.com/tus/tusd/v2/pkg/s3store"

	"giascan/transport/receiver"
	"giascan/transport/receiver/s3test"
	"giascan/transport/seal"
)

// tusS3 is tus's S3 store on the bucket and prefix of an s3:// URL, as
// another receiver's would be.
func tusS3(t *testing.T, rawURL string) s3store.S3Store {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	client := s3.New(s3.Options{
		Region:                     "us-east-1",
		Credentials:                credentials.NewStaticCredentialsProvider(s3test.AccessKey, s3test.SecretKey, ""),
		BaseEndpoint:               aws.String("http://" + u.Query().Get("endpoint")),
		UsePathStyle:               true,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
	st := s3store.New(u.Host, client)
	st.ObjectPrefix = strings.Trim(u.Path, "/") + "/"
	st.TemporaryDirectory = t.TempDir()
	return st
}

// An upload that another receiver had taken whole into the bucket, but
// died before checking, is checked when a receiver on the same table and
// bucket starts, and removed from the bucket; one still in progress is
// left for the station to resume.
func TestCompletedUploadInBucketCheckedOnStart(t *testing.T) {
	ctx := context.Background()
	srv := s3test.StartServer(t)
	uploads := srv.URL(srv.Bucket(t, "rcoi"), "uploads")
	f := newFixture(t)
	tarball, m, hash := build(t, "1234", 1, image(t, 10_000))
	ct, sig := f.sealTar(t, tarball, f.station, m, hash)
	coord := receiver.NewMemoryCoordinator()
	store := tusS3(t, uploads)
	key := seal.FormatPublicKey(f.station.Public().(ed25519.PublicKey))

	put := func(data []byte, finish bool) string {
		up, err := store.NewUpload(ctx, handler.FileInfo{Size: int64(len(ct)), MetaData: handler.MetaData{receiver.MetaSignature: string(sig)}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := up.WriteChunk(ctx, 0, bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		if finish {
			if err := up.FinishUpload(ctx); err != nil {
				t.Fatal(err)
			}
		}
		info, err := up.GetInfo(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := coord.AddUpload(ctx, receiver.Pending{ID: info.ID, Key: key, Size: info.Size, Touched: time.Now()}, receiver.Limits{}); err != nil {
			t.Fatal(err)
		}
		return info.ID
	}
	done := put(ct, true)
	partial := put(ct[:100], false)

	f.rcv.Share(coord)
	f.rcv.Uploads = uploads
	if _, err := f.rcv.Handler(ctx, nil); err != nil {
		t.Fatal(err)
	}
	got, err := f.rcv.Receipt(ctx, m.ID, 1)
	if err != nil || !bytes.Contains(got, []byte(hash)) {
		t.Fatalf("receipt %s %v", got, err)
	}
	if _, ok, _ := coord.Upload(ctx, done); ok {
		t.Fatal("the checked upload is still in the table")
	}
	if _, err := mustUpload(t, store, done).GetInfo(ctx); err == nil {
		t.Fatal("the checked upload is still in the bucket")
	}
	if _, ok, _ := coord.Upload(ctx, partial); !ok {
		t.Fatal("the upload in progress was forgotten")
	}
	if info, err := mustUpload(t, store, partial).GetInfo(ctx); err != nil || info.Offset != 100 {
		t.Fatalf("the upload in progress: %+v %v", info, err)
	}
}

func mustUpload(t *testing.T, store s3store.S3Store, id string) handler.Upload {
	t.Helper()
	up, err := store.GetUpload(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return up
}
