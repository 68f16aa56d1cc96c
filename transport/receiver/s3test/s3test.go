// Package s3test runs a real S3 server for tests: SeaweedFS (`weed server
// -s3`: master, volume server, filer and S3 gateway in one process), on
// loopback ports and a temporary folder, with access keys of its own, one
// per test process, a bucket per test. The
// weed binary is built by `make weed` from the Go module
// github.com/seaweedfs/seaweedfs; where it is missing the test is skipped,
// as PostgreSQL's tests are where PostgreSQL is not installed.
package s3test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Access keys of the test server; Start puts them in the environment the
// receiver reads them from.
const (
	AccessKey = "giascan-test"
	SecretKey = "giascan-test-secret-key"
)

// Binary finds the weed binary: $GIASCAN_WEED (the Makefile sets it), or
// the newest one `make weed` built into ~/.cache/giascan.
func Binary() string {
	if p := os.Getenv("GIASCAN_WEED"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	home, _ := os.UserHomeDir()
	found, _ := filepath.Glob(filepath.Join(home, ".cache", "giascan", "weed-*"))
	var bins []string
	for _, f := range found {
		if !strings.HasSuffix(f, ".tmp") {
			bins = append(bins, f)
		}
	}
	sort.Strings(bins)
	if len(bins) == 0 {
		return ""
	}
	return bins[len(bins)-1]
}

// Server is a running SeaweedFS.
type Server struct {
	// Endpoint is the S3 gateway's host:port.
	Endpoint string
	cmd      *exec.Cmd
	client   *minio.Client
}

// PID is the server's process, for its memory.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Bucket creates a bucket of a unique name starting with name and returns
// the store URL of prefix in it: s3://bucket/prefix?endpoint=…&tls=false.
func (s *Server) Bucket(tb testing.TB, name string) string {
	tb.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	bucket := name + "-" + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.client.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		tb.Fatalf("s3test: bucket %s: %v", bucket, err)
	}
	return "s3://" + bucket
}

// URL is the store URL of prefix in bucket (made by Bucket).
func (s *Server) URL(bucket, prefix string) string {
	return bucket + "/" + prefix + "?endpoint=" + s.Endpoint + "&tls=false"
}

var (
	shared     *Server
	sharedErr  error
	sharedSkip bool
	sharedOnce sync.Once
)

// StartServer returns the SeaweedFS of this test process, started by the
// first test that asks (it takes some ten seconds: raft election, then the
// filer's wait for peers), and sets the access keys in the test's
// environment. Each test makes its own bucket. The server dies with the
// test process; its folder is removed by the next run.
func StartServer(tb testing.TB) *Server {
	tb.Helper()
	sharedOnce.Do(func() {
		bin := Binary()
		if bin == "" {
			sharedSkip = true
			return
		}
		shared, sharedErr = start(bin)
	})
	if sharedSkip {
		tb.Skip("SeaweedFS is not built: run `make weed` (or make test)")
	}
	if sharedErr != nil {
		tb.Fatal(sharedErr)
	}
	tb.Setenv("AWS_ACCESS_KEY_ID", AccessKey)
	tb.Setenv("AWS_SECRET_ACCESS_KEY", SecretKey)
	return shared
}

// dirPrefix names the folders of test servers in the temporary folder.
const dirPrefix = "giascan-s3-"

// removeOrphans removes the folders of servers whose test process is gone
// (the server died with it).
func removeOrphans() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, "owner"))
		pid, perr := strconv.Atoi(string(b))
		if err != nil || perr != nil || syscall.Kill(pid, 0) == nil {
			continue
		}
		os.RemoveAll(dir)
	}
	// SeaweedFS also leaves gRPC sockets of its own in /tmp; one nothing
	// answers on any more is a dead server's.
	socks, _ := filepath.Glob("/tmp/seaweedfs-*-grpc-*.sock")
	for _, sock := range socks {
		if c, err := net.DialTimeout("unix", sock, time.Second); err == nil {
			c.Close()
		} else {
			os.Remove(sock)
		}
	}
}

func start(bin string) (*Server, error) {
	removeOrphans()
	dir, err := os.MkdirTemp("", dirPrefix)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "owner"), []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
		return nil, err
	}
	conf, _ := json.Marshal(map[string]any{"identities": []any{map[string]any{
		"name":        "giascan",
		"credentials": []any{map[string]string{"accessKey": AccessKey, "secretKey": SecretKey}},
		"actions":     []string{"Admin", "Read", "List", "Tagging", "Write"},
	}}})
	if err := os.WriteFile(filepath.Join(dir, "s3.json"), conf, 0o600); err != nil {
		return nil, err
	}
	p, err := freePorts(8)
	if err != nil {
		return nil, err
	}
	args := []string{"server",
		"-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-dir=" + dir,
		"-master.port=" + p[0], "-master.port.grpc=" + p[1],
		"-master.volumeSizeLimitMB=64", "-volume.max=100",
		// No usage reports leave the machine.
		"-master.telemetry=false",
		"-volume.port=" + p[2], "-volume.port.grpc=" + p[3], "-volume.preStopSeconds=0",
		"-filer", "-filer.port=" + p[4], "-filer.port.grpc=" + p[5],
		"-filer.localSocket=" + filepath.Join(dir, "filer.sock"),
		"-s3", "-s3.port=" + p[6], "-s3.port.grpc=" + p[7],
		"-s3.localSocket=" + filepath.Join(dir, "s3.sock"),
		"-s3.port.iceberg=0", "-s3.port.lance=0",
		"-s3.config=" + filepath.Join(dir, "s3.json"),
	}
	log, err := os.Create(filepath.Join(dir, "weed.log"))
	if err != nil {
		return nil, err
	}
	s := &Server{Endpoint: "127.0.0.1:" + p[6]}
	started := make(chan error, 1)
	exited := make(chan struct{})
	// The server dies with the test process: the parent-death signal is
	// bound to the thread that started it, which this goroutine keeps
	// until the server ends.
	go func() {
		runtime.LockOSThread()
		cmd := exec.Command(bin, args...)
		cmd.Dir, cmd.Stdout, cmd.Stderr = dir, log, log
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			started <- err
			close(exited)
			return
		}
		s.cmd = cmd
		started <- nil
		cmd.Wait()
		log.Close()
		close(exited)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("s3test: start %s: %w", bin, err)
	}
	s.client, err = minio.New(s.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(AccessKey, SecretKey, ""),
		Region: "us-east-1", BucketLookup: minio.BucketLookupPath})
	if err != nil {
		return nil, err
	}
	// Ready when the gateway answers for its filer and volume server: a
	// bucket made, written and read.
	deadline := time.Now().Add(90 * time.Second)
	for {
		err := s.probe()
		if err == nil {
			return s, nil
		}
		select {
		case <-exited:
			return nil, fmt.Errorf("s3test: SeaweedFS exited: %v\n%s", err, tail(filepath.Join(dir, "weed.log")))
		default:
		}
		if time.Now().After(deadline) {
			syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
			return nil, fmt.Errorf("s3test: SeaweedFS not ready: %v\n%s", err, tail(filepath.Join(dir, "weed.log")))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// probe makes, writes and reads a bucket.
func (s *Server) probe() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if ok, err := s.client.BucketExists(ctx, "probe"); err != nil {
		return err
	} else if !ok {
		if err := s.client.MakeBucket(ctx, "probe", minio.MakeBucketOptions{}); err != nil {
			return err
		}
	}
	if _, err := s.client.PutObject(ctx, "probe", "ready", bytes.NewReader([]byte("ready")), 5, minio.PutObjectOptions{}); err != nil {
		return err
	}
	_, err := s.client.StatObject(ctx, "probe", "ready", minio.StatObjectOptions{})
	return err
}

// Start takes the test process's server, creates a bucket and returns the store
// URL of prefix in it.
func Start(tb testing.TB, bucket, prefix string) string {
	tb.Helper()
	s := StartServer(tb)
	return s.URL(s.Bucket(tb, bucket), prefix)
}

// freePorts asks the kernel for n distinct free loopback ports.
func freePorts(n int) ([]string, error) {
	var out []string
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
		out = append(out, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
	}
	return out, nil
}

// tail is the end of the server's log, for a failure message.
func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return fmt.Sprintf("--- weed log ---\n%s", b)
}
