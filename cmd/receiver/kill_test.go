package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"

	"giascan/transport/linktest"
	"giascan/transport/pkg"
	"giascan/transport/receiver"
	"giascan/transport/receiver/pgstate/pgtest"
	"giascan/transport/receiver/receipt"
	"giascan/transport/receiver/s3test"
	"giascan/transport/seal"
	"giascan/transport/upload"
)

var reAddr = regexp.MustCompile(`msg=serving addr=(127\.0\.0\.1:\d+)`)

// startServe runs `receiver serve` as a process of its own and returns it
// with its address.
func startServe(t *testing.T, bin string, args ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve"}, args...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			if m := reAddr.FindStringSubmatch(sc.Text()); m != nil && !sent {
				addr <- m[1]
				sent = true
			}
		}
	}()
	select {
	case a := <-addr:
		return cmd, a
	case <-time.After(30 * time.Second):
		t.Fatal("receiver serve did not start")
	}
	return nil, ""
}

// Two receiver processes behind one address, on one database and one
// bucket of a real S3 server (SeaweedFS), each with its own copy of the
// data folder (keys and register): the one taking an upload is killed with
// SIGKILL half-way, and the other finishes it from the parts in the
// bucket, with nothing of the first one's disk.
func TestKillNineMidUpload(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the receiver: skipped in -short mode")
	}
	ctx := context.Background()
	url := pgtest.Start(t)
	bin := filepath.Join(t.TempDir(), "receiver")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	rdir := filepath.Join(t.TempDir(), "rcoi")
	if code, _, errOut := runCmd(t, "keys", "init", "--data", rdir); code != 0 {
		t.Fatal(errOut)
	}
	keys, err := receiver.LoadKeys(rdir)
	if err != nil {
		t.Fatal(err)
	}
	stationDir := t.TempDir()
	pub, err := seal.GenerateStationKey(seal.KeyDir(stationDir))
	if err != nil {
		t.Fatal(err)
	}
	key, _ := seal.LoadStationKey(seal.KeyDir(stationDir))
	if code, _, errOut := runCmd(t, "station", "add", "--data", rdir, "--ppe", "1234", "--pubkey", seal.FormatPublicKey(pub)); code != 0 {
		t.Fatal(errOut)
	}

	// A 3 MiB package, sealed for the РЦОИ, in the station's outbox.
	exam := pkg.Exam{Level: 9, Region: "50", PPE: "1234", Auditorium: "0007", Subject: "01", Date: "20250601"}
	b := pkg.NewBuilder(pkg.Manifest{Format: pkg.FormatVersion, Exam: exam, Station: "st-50-1234-1",
		ID: pkg.PackageID(exam), Version: 1, Created: time.Now().UTC()})
	scan := make([]byte, 3<<20)
	rand.Read(scan)
	b.AddPage(pkg.Page{Seq: 1, Type: "11", File: "p0001.tif"}, bytes.NewReader(scan))
	var tarball, sealed bytes.Buffer
	hash, err := b.Write(&tarball)
	if err != nil {
		t.Fatal(err)
	}
	id := pkg.PackageID(exam)
	sig, err := seal.Seal(&sealed, &tarball, []age.Recipient{keys.Identity.Recipient()}, key,
		seal.Info{Station: "st-50-1234-1", Package: id, Version: 1, ManifestHash: hash})
	if err != nil {
		t.Fatal(err)
	}
	cp, sp := filepath.Join(t.TempDir(), "p.tar.age"), filepath.Join(t.TempDir(), "p.sig")
	os.WriteFile(cp, sealed.Bytes(), 0o600)
	os.WriteFile(sp, sig, 0o600)
	ob, err := upload.OpenOutbox(stationDir)
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	if _, err := ob.Enqueue(ctx, cp, sp); err != nil {
		t.Fatal(err)
	}

	// The bucket's access keys reach the processes through the environment.
	s3 := s3test.StartServer(t)
	bucket := s3.Bucket(t, "rcoi")
	store, uploads := s3.URL(bucket, "packages"), s3.URL(bucket, "uploads")
	rdirB := filepath.Join(t.TempDir(), "rcoi-b")
	if out, err := exec.Command("cp", "-a", rdir, rdirB).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	args := []string{"--listen", "127.0.0.1:0", "--plain-http", "--postgres", url, "--store", store, "--uploads", uploads}
	procA, addrA := startServe(t, bin, append([]string{"--data", rdir}, args...)...)
	_, addrB := startServe(t, bin, append([]string{"--data", rdirB}, args...)...)
	front := linktest.NewFront(t, "http://"+addrA, "http://"+addrB)

	var once sync.Once
	killed := false
	u := &upload.Uploader{Outbox: ob, Endpoint: front.URL, ReceiverKey: keys.ReceiptPublic(), ChunkSize: 128 << 10,
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, Poll: time.Second,
		Progress: func(p upload.Progress) {
			if p.Sent >= 1<<20 && p.Sent < p.Total {
				once.Do(func() { killed = procA.Process.Kill() == nil; procA.Wait() })
			}
		}}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- u.Run(runCtx) }()
	var it upload.Item
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if it, err = ob.Item(id, 1); err != nil || it.State != upload.Queued {
			break
		}
	}
	stop()
	<-done
	if !killed {
		t.Fatal("the first receiver was not killed half-way")
	}
	if it.State != upload.Delivered {
		t.Fatalf("state %s after %d attempts: %s", it.State, it.Attempts, it.LastError)
	}
	if rc, err := receipt.Verify(it.Receipt, keys.ReceiptPublic()); err != nil || rc.Manifest != hash {
		t.Fatalf("receipt %+v %v", rc, err)
	}
	st, err := receiver.Open(rdir, store)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Receipt(ctx, id, 1); err != nil {
		t.Fatalf("the receipt is not in the bucket: %v", err)
	}
	if it.BytesSent > int64(sealed.Len())+2*(128<<10) {
		t.Fatalf("sent %d bytes for %d: the upload started over", it.BytesSent, sealed.Len())
	}
	left, err := receiver.OpenBlob(uploads)
	if err != nil {
		t.Fatal(err)
	}
	if keys, err := left.List(ctx, ""); err != nil || len(keys) != 0 {
		t.Fatalf("upload objects left in the bucket: %q %v", keys, err)
	}
	if front.Hits("http://"+addrA) == 0 || front.Hits("http://"+addrB) == 0 {
		t.Fatalf("requests: %d to the killed receiver, %d to the other", front.Hits("http://"+addrA), front.Hits("http://"+addrB))
	}
	t.Logf("%d bytes, %d sent; %d requests to the receiver killed with SIGKILL, %d to the other",
		sealed.Len(), it.BytesSent, front.Hits("http://"+addrA), front.Hits("http://"+addrB))
}
