package receiver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"giascan/transport/receiver"
)

// An upload that was complete when the receiver stopped, before it was
// checked, is checked when the receiver starts again, so the station finds
// its receipt instead of sending it all once more.
func TestCompletedUploadCheckedOnStart(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	tarball, m, hash := build(t, "1234", 1, image(t, 10_000))
	ct, sig := f.sealTar(t, tarball, f.station, m, hash)
	dir := filepath.Join(f.rdir, receiver.UploadsDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	info, _ := json.Marshal(map[string]any{
		"ID": "abc", "Size": len(ct), "Offset": len(ct), "MetaData": map[string]string{receiver.MetaSignature: string(sig)},
	})
	os.WriteFile(filepath.Join(dir, "abc"), ct, 0o600)
	os.WriteFile(filepath.Join(dir, "abc.info"), info, 0o600)
	// And one still in progress, which must be left for the station to resume.
	os.WriteFile(filepath.Join(dir, "def"), ct[:100], 0o600)
	info2, _ := json.Marshal(map[string]any{"ID": "def", "Size": len(ct), "Offset": 100})
	os.WriteFile(filepath.Join(dir, "def.info"), info2, 0o600)

	if _, err := f.rcv.Handler(ctx, nil); err != nil {
		t.Fatal(err)
	}
	got, err := f.rcv.Receipt(ctx, m.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(got, []byte(hash)) {
		t.Fatalf("receipt %s", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "abc")); !os.IsNotExist(err) {
		t.Fatalf("checked upload left behind: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "def.info")); err != nil {
		t.Fatalf("upload in progress removed: %v", err)
	}
}
