package packaging

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"giascan/atomicfile"
	"giascan/transport/pkg"
	"giascan/transport/seal"
)

// outboxFixture seals made-up packages into the outbox of a data folder
// the way Packager.seal lays them out.
type outboxFixture struct {
	data, ppe string
	key       ed25519.PrivateKey
	rcpt      age.Recipient
}

func newOutbox(t *testing.T) *outboxFixture {
	t.Helper()
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	id, _ := age.GenerateX25519Identity()
	f := &outboxFixture{data: t.TempDir(), ppe: "0101", key: key, rcpt: id.Recipient()}
	os.MkdirAll(OutboxDir(f.data, f.ppe), 0o750)
	return f
}

// seal writes version v of the package of auditorium aud and returns its
// base path (without extension).
func (f *outboxFixture) seal(t *testing.T, aud string, v int) string {
	t.Helper()
	ex := pkg.Exam{Level: 11, Region: "77", PPE: f.ppe, Auditorium: aud, Subject: "02", Date: "20250527"}
	m := pkg.Manifest{Format: pkg.FormatVersion, Exam: ex, Station: "st-test", ID: pkg.PackageID(ex), Version: v, Created: time.Now().UTC(), Pages: []pkg.Page{}}
	mb, _ := json.Marshal(m)
	hash := pkg.ManifestHash(mb)
	var ct bytes.Buffer
	sig, err := seal.Seal(&ct, bytes.NewReader(bytes.Repeat([]byte("страница "), 2000)), []age.Recipient{f.rcpt}, f.key,
		seal.Info{Station: "st-test", Package: m.ID, Version: v, ManifestHash: hash})
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(OutboxDir(f.data, f.ppe), m.Name())
	for ext, b := range map[string][]byte{seal.CiphertextExt: ct.Bytes(), ManifestExt: mb, seal.SignatureExt: sig} {
		if err := os.WriteFile(base+ext, b, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	return base
}

func names(list []*Sealed) []string {
	var out []string
	for _, s := range list {
		out = append(out, s.Manifest.Name())
	}
	return out
}

func TestRecoverRemovesTemporariesAndUnfinishedVersions(t *testing.T) {
	f := newOutbox(t)
	v1 := f.seal(t, "0012", 1)
	// v2 was killed after its ciphertext and manifest, before its
	// signature; the ciphertext's temporary was never removed.
	v2 := f.seal(t, "0012", 2)
	os.Remove(v2 + seal.SignatureExt)
	tmp := filepath.Join(OutboxDir(f.data, f.ppe), atomicfile.TempPrefix+filepath.Base(v2)+seal.SignatureExt+".123")
	os.WriteFile(tmp, []byte("half"), 0o600)
	protoTmp := filepath.Join(ProtocolDir(f.data, f.ppe), atomicfile.TempPrefix+"ppe15-x.pdf.1")
	os.MkdirAll(filepath.Dir(protoTmp), 0o750)
	os.WriteFile(protoTmp, []byte("%PDF"), 0o600)

	// Readers do not see the unfinished version.
	list, err := List(f.data, f.ppe)
	if err != nil || len(list) != 1 || list[0].Manifest.Version != 1 {
		t.Fatalf("List before recovery = %v, %v; want v1 only", names(list), err)
	}

	r, err := Recover(f.data)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{tmp, v2 + seal.CiphertextExt, v2 + ManifestExt, protoTmp}
	for _, w := range want {
		if !strings.Contains(strings.Join(r.Removed, "\n"), w) {
			t.Errorf("Recover did not report removing %s; removed %v", filepath.Base(w), r.Removed)
		}
		if _, err := os.Lstat(w); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s is still there after recovery", filepath.Base(w))
		}
	}
	if len(r.Removed) != len(want) || len(r.Damaged) != 0 {
		t.Errorf("Recover removed %v, damaged %v; want exactly %d removals and no damage", r.Removed, r.Damaged, len(want))
	}
	for _, ext := range []string{seal.CiphertextExt, ManifestExt, seal.SignatureExt} {
		if _, err := os.Stat(v1 + ext); err != nil {
			t.Errorf("the sealed v1 lost its %s: %v", ext, err)
		}
	}
	// A second recovery finds nothing to do.
	if r, err := Recover(f.data); err != nil || len(r.Removed)+len(r.Damaged) != 0 {
		t.Errorf("second Recover: %+v, %v", r, err)
	}
}

func TestDamagedVersionIsNotServedAndIsReported(t *testing.T) {
	f := newOutbox(t)
	f.seal(t, "0012", 1)
	v2 := f.seal(t, "0012", 2)
	other := f.seal(t, "0013", 1)
	// v2's ciphertext was cut short after its signature was written (a
	// power loss on a disk that reorders writes).
	ct, _ := os.ReadFile(v2 + seal.CiphertextExt)
	os.WriteFile(v2+seal.CiphertextExt, ct[:len(ct)/2], 0o640)
	// The other package's ciphertext has one bit flipped: same size.
	ct, _ = os.ReadFile(other + seal.CiphertextExt)
	ct[len(ct)/2] ^= 1
	os.WriteFile(other+seal.CiphertextExt, ct, 0o640)

	list, err := List(f.data, f.ppe)
	if err != nil {
		t.Fatal(err)
	}
	// Neither v2 nor an older v1 in its place is offered for sending.
	if got := names(list); len(got) != 1 || !strings.Contains(got[0], "-0013-") {
		t.Errorf("List = %v, want only the 0013 package (the flipped bit is for Verify)", got)
	}
	id := strings.TrimSuffix(filepath.Base(v2), "-v2")
	if s, err := Latest(f.data, f.ppe, id); s != nil || err != nil {
		t.Errorf("Latest with a damaged newest version = %v, %v; want nil, nil", s, err)
	}
	r, err := Recover(f.data)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Removed) != 0 || len(r.Damaged) != 2 {
		t.Fatalf("Recover: removed %v, damaged %v; want nothing removed and two damaged", r.Removed, r.Damaged)
	}
	for i, base := range []string{v2, other} {
		msg := r.Damaged[i].Error()
		if !errors.Is(r.Damaged[i], ErrDamaged) || !strings.Contains(msg, filepath.Base(base)) || !strings.Contains(msg, "соберите этот пакет заново") {
			t.Errorf("damage report %q: want ErrDamaged naming %s and saying what to do", msg, filepath.Base(base))
		}
		// Damaged versions are kept: they are evidence, and their number
		// stays taken so a rebuild never reuses it.
		if _, err := os.Stat(base + seal.SignatureExt); err != nil {
			t.Errorf("%s: signature removed: %v", filepath.Base(base), err)
		}
	}
	if vs, _ := Versions(f.data, f.ppe, id); len(vs) != 2 || vs[1] != 2 {
		t.Errorf("Versions = %v, want [1 2]: the damaged number stays taken", vs)
	}
}
