package receiver_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"filippo.io/age"

	"giascan/transport/pkg"
	"giascan/transport/receiver"
)

// largeSealed seals a package of pages scans of size bytes each into a
// file, and returns its path, its signature file and its size; nothing of
// it stays in memory.
func largeSealed(t testing.TB, f *fixture, pages, size int) (path string, sig []byte, n int64) {
	t.Helper()
	scans := make([][]byte, pages)
	for i := range scans {
		scans[i] = image(t, size)
	}
	tarball, m, hash := build(t, "1234", 1, scans...)
	ct, sig := f.sealTar(t, tarball, f.station, m, hash)
	path = filepath.Join(t.TempDir(), "p.tar.age")
	if err := os.WriteFile(path, ct, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, sig, int64(len(ct))
}

// fileSource reads the ciphertext from its file, as the tus store serves it.
func fileSource(path string) receiver.Source {
	return func(context.Context) (io.ReadCloser, error) { return os.Open(path) }
}

// A 48 MiB package is accepted with a few MiB of live heap: acceptance
// streams it through the hash, decryption, the package's checks and the
// store, never holding it whole. The bound is a quarter of the package;
// holding the ciphertext alone would take all of it.
func TestAcceptLargePackageInBoundedMemory(t *testing.T) {
	f := newFixture(t)
	path, sig, size := largeSealed(t, f, 6, 8<<20)
	runtime.GC()
	var acc *receiver.Accepted
	var err error
	_, peak := measure(func() { acc, err = f.rcv.AcceptFrom(context.Background(), sig, fileSource(path)) })
	if err != nil {
		t.Fatal(err)
	}
	if acc.Receipt.Size != size {
		t.Fatalf("receipt of %d bytes for %d", acc.Receipt.Size, size)
	}
	stored, err := os.ReadFile(filepath.Join(f.rdir, receiver.DefaultStore, "1234", acc.Receipt.Package, "v1", "tar.age"))
	if want, _ := os.ReadFile(path); err != nil || !bytes.Equal(stored, want) {
		t.Fatalf("the stored ciphertext is not the one sent (%d bytes, %v)", len(stored), err)
	}
	if peak > float64(size)/4 {
		t.Fatalf("accepting %d MiB took %.1f MiB of heap", size>>20, peak/(1<<20))
	}
	t.Logf("%d MiB accepted with a peak heap of %.1f MiB", size>>20, peak/(1<<20))
}

// BenchmarkAcceptLargePackage accepts a 64 MiB package from a file and
// reports its peak heap against the baseline of the same run: the same
// package read whole and checked in memory (its file, then pkg.Read of
// the decryption), which is what acceptance cost before it streamed.
// Streaming keeps the ratio far below 1 whatever the package's size.
func BenchmarkAcceptLargePackage(b *testing.B) {
	for b.Loop() {
		f := newFixture(b)
		path, sig, size := largeSealed(b, f, 8, 8<<20)
		keys, err := receiver.LoadKeys(f.rdir)
		if err != nil {
			b.Fatal(err)
		}
		id := keys.Identity
		_, basePeak := measure(func() {
			ct, err := os.ReadFile(path)
			if err != nil {
				b.Fatal(err)
			}
			dec, err := age.Decrypt(bytes.NewReader(ct), id)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := pkg.Read(dec, receiver.MaxPackageSize); err != nil {
				b.Fatal(err)
			}
			runtime.KeepAlive(ct)
		})
		_, peak := measure(func() {
			if _, err := f.rcv.AcceptFrom(context.Background(), sig, fileSource(path)); err != nil {
				b.Fatal(err)
			}
		})
		b.ReportMetric(float64(size)/(1<<20), "package-MiB")
		b.ReportMetric(peak/(1<<20), "peak-heap-MiB")
		b.ReportMetric(basePeak/(1<<20), "whole-read-peak-heap-MiB")
		b.ReportMetric(peak/basePeak, "peak-x-whole-read")
		b.SetBytes(size)
	}
}

// A source whose bytes change between the check and the copy into the
// store (a tampered store of uploads) is not accepted: the copy is hashed
// on its way, and without a receipt what was copied counts for nothing.
func TestAcceptRefusesCiphertextChangedWhileStored(t *testing.T) {
	f := newFixture(t)
	tarball, m, hash := build(t, "1234", 1, image(t, 200_000))
	ct, sig := f.sealTar(t, tarball, f.station, m, hash)
	opened := 0
	src := func(context.Context) (io.ReadCloser, error) {
		opened++
		b := ct
		if opened == 3 { // the copy into the store
			b = bytes.Clone(ct)
			b[len(b)/2] ^= 1
		}
		return io.NopCloser(bytes.NewReader(b)), nil
	}
	if _, err := f.rcv.AcceptFrom(context.Background(), sig, src); err == nil || !strings.Contains(err.Error(), "changed") {
		t.Fatalf("accepted a ciphertext that changed while stored: %v", err)
	}
	if opened != 3 {
		t.Fatalf("the source was opened %d times, want 3 (hash, check, store)", opened)
	}
	if _, err := f.rcv.Receipt(context.Background(), m.ID, 1); err == nil {
		t.Fatal("a receipt was written")
	}
	// Sent again, unchanged, it is accepted as the first version.
	acc, err := f.rcv.Accept(context.Background(), sig, ct)
	if err != nil || acc.Repeated {
		t.Fatalf("accept after the failed copy: %+v %v", acc, err)
	}
}
