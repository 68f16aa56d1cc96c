package seal

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
)

type fixture struct {
	id       *age.X25519Identity
	key      ed25519.PrivateKey
	info     Info
	plain    []byte
	cipher   []byte
	sigFile  []byte
	stations ed25519.PublicKey
}

func newFixture(t *testing.T, pkgID string) *fixture {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pub, err := GenerateStationKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	key, err := LoadStationKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{id: id, key: key, stations: pub,
		info:  Info{Station: "st-1", Package: pkgID, Version: 1, ManifestHash: strings.Repeat("ab", 32)},
		plain: bytes.Repeat([]byte("package tar "+pkgID), 10000)}
	var buf bytes.Buffer
	f.sigFile, err = Seal(&buf, bytes.NewReader(f.plain), []age.Recipient{id.Recipient()}, key, f.info)
	if err != nil {
		t.Fatal(err)
	}
	f.cipher = buf.Bytes()
	return f
}

func TestSealOpen(t *testing.T) {
	f := newFixture(t, "11-77-0101-0012-02-20250527")
	plain, st, err := Open(f.sigFile, f.cipher, f.stations, f.info, f.id)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(plain, f.plain) {
		t.Fatal("decrypted package differs")
	}
	if st.Package != f.info.Package || st.Station != "st-1" || st.Size != int64(len(f.cipher)) || st.Key != FormatPublicKey(f.stations) {
		t.Errorf("statement %+v", st)
	}
	if bytes.Contains(f.cipher, []byte("package tar")) {
		t.Error("ciphertext holds plaintext")
	}
}

func TestRefused(t *testing.T) {
	f := newFixture(t, "pkg-a")
	other := newFixture(t, "pkg-b")
	flipped := bytes.Clone(f.cipher)
	flipped[len(flipped)/2] ^= 0x01
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	otherPub := otherKey.Public().(ed25519.PublicKey)
	editedSig := bytes.Replace(f.sigFile, []byte(`"version":1`), []byte(`"version":2`), 1)
	for _, c := range []struct {
		name    string
		sig     []byte
		cipher  []byte
		station ed25519.PublicKey
		want    Info
		reason  string
	}{
		{"flipped byte", f.sigFile, flipped, f.stations, f.info, "шифротекст пакета pkg-a v1 не тот, что подписан"},
		{"truncated", f.sigFile, f.cipher[:len(f.cipher)-1], f.stations, f.info, "не тот, что подписан"},
		{"wrong key", f.sigFile, f.cipher, otherPub, f.info, "подписан ключом " + FormatPublicKey(f.stations) + ", а не ключом станции " + FormatPublicKey(otherPub)},
		{"signature of another package", other.sigFile, f.cipher, other.stations, Info{}, "шифротекст пакета pkg-b v1 не тот, что подписан"},
		{"signed for another package", other.sigFile, other.cipher, other.stations, f.info, `подписан для пакета "pkg-b", ожидался "pkg-a"`},
		{"signed for another version", f.sigFile, f.cipher, f.stations, Info{Version: 3}, "подписан для версии 1 пакета pkg-a, ожидалась версия 3"},
		{"statement altered", editedSig, f.cipher, f.stations, Info{}, "не сходится: заявление изменено после подписи"},
		{"not a signature", []byte("hello\n"), f.cipher, f.stations, Info{}, "это не файл подписи"},
	} {
		_, _, err := Open(c.sig, c.cipher, c.station, c.want, f.id)
		if err == nil || !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), c.reason) {
			t.Errorf("%s: got %v, want refusal with %q", c.name, err, c.reason)
		}
	}
	// Verified, but for the wrong РЦОИ identity: decryption says so.
	stranger, _ := age.GenerateX25519Identity()
	if _, _, err := Open(f.sigFile, f.cipher, f.stations, f.info, stranger); err == nil || !strings.Contains(err.Error(), "пакет pkg-a v1 не расшифровывается") {
		t.Errorf("stranger's identity: %v", err)
	}
}

// The РЦОИ needs nothing of ours to read a package: the stock age tool
// decrypts it.
func TestStockAgeDecrypts(t *testing.T) {
	if _, err := exec.LookPath("age"); err != nil {
		t.Skip("age not installed (Debian package age)")
	}
	f := newFixture(t, "pkg-a")
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "rcoi.key")
	os.WriteFile(keyFile, []byte(f.id.String()+"\n"), 0o600)
	ct := filepath.Join(dir, "p"+CiphertextExt)
	os.WriteFile(ct, f.cipher, 0o600)
	var stderr bytes.Buffer
	cmd := exec.Command("age", "-d", "-i", keyFile, ct)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("age -d: %v: %s", err, stderr.String())
	}
	if !bytes.Equal(out, f.plain) {
		t.Fatal("age -d gave other bytes")
	}
}

func TestKeyFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	if _, err := LoadStationKey(dir); !errors.Is(err, ErrNoKey) {
		t.Errorf("no key yet: %v", err)
	}
	pub, err := GenerateStationKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{StationKeyFile, StationPubFile} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, mode %v", name, err, fi.Mode())
		}
	}
	if _, err := GenerateStationKey(dir); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("second key: %v", err)
	}
	if got, err := LoadStationPublicKey(dir); err != nil || !got.Equal(pub) {
		t.Errorf("public key %v, %v", got, err)
	}
	os.Chmod(filepath.Join(dir, StationKeyFile), 0o640)
	if _, err := LoadStationKey(dir); err == nil || !strings.Contains(err.Error(), "open to group or others (mode 0640)") {
		t.Errorf("group-readable key: %v", err)
	}

	a, _ := age.GenerateX25519Identity()
	b, _ := age.GenerateX25519Identity()
	list := "# РЦОИ 77\n" + a.Recipient().String() + "\n\n  " + b.Recipient().String() + "  \n" + a.Recipient().String() + "\n"
	texts, err := ImportRecipients(dir, strings.NewReader(list))
	if err != nil || len(texts) != 2 {
		t.Fatalf("import: %v %v", texts, err)
	}
	recs, _, err := LoadRecipients(dir)
	if err != nil || len(recs) != 2 {
		t.Fatalf("load: %v", err)
	}
	if _, err := ImportRecipients(dir, strings.NewReader(a.Recipient().String()+"\nage1notakey\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("bad line: %v", err)
	}
	if _, err := ImportRecipients(dir, strings.NewReader(a.String()+"\n")); err == nil {
		t.Error("a secret identity accepted as a recipient")
	}
	if _, err := ImportRecipients(dir, strings.NewReader("# nothing\n")); err == nil {
		t.Error("an empty list accepted")
	}
	if _, texts, _ := LoadRecipients(dir); len(texts) != 2 {
		t.Error("a refused import changed the stored recipients")
	}
	os.Chmod(filepath.Join(dir, RecipientsFile), 0o604)
	if _, _, err := LoadRecipients(dir); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("world-readable recipients: %v", err)
	}
}
