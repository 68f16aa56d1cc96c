package receiver_test

import (
	"archive/tar"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"net/http"

	"filippo.io/age"

	"giascan/transport/pkg"
	"giascan/transport/receiver"
	"giascan/transport/seal"
	"giascan/transport/upload"
)

// fixture is a РЦОИ with one registered station of ППЭ 1234.
type fixture struct {
	rdir    string
	rcv     *receiver.Receiver
	station ed25519.PrivateKey
	recs    []age.Recipient
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	rdir := t.TempDir()
	if _, err := receiver.InitKeys(rdir); err != nil {
		t.Fatal(err)
	}
	rcv, err := receiver.Open(rdir, "")
	if err != nil {
		t.Fatal(err)
	}
	rec, err := age.ParseX25519Recipient(rcv.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	rcv.People = accounts{staffLogin: staffPassword}
	f := &fixture{rdir: rdir, rcv: rcv, recs: []age.Recipient{rec}}
	f.station = f.addStation(t, "1234")
	return f
}

// addStation makes a station key and registers it for ppe.
func (f *fixture) addStation(t testing.TB, ppe string) ed25519.PrivateKey {
	t.Helper()
	dir := t.TempDir()
	pub, err := seal.GenerateStationKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := receiver.AddStation(f.rdir, ppe, seal.FormatPublicKey(pub)); err != nil {
		t.Fatal(err)
	}
	key, err := seal.LoadStationKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// image is incompressible filler standing in for a scanned page.
func image(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// build makes a package of ppe, auditorium 0007, with the given pages.
func build(t testing.TB, ppe string, version int, pages ...[]byte) ([]byte, pkg.Manifest, string) {
	t.Helper()
	exam := pkg.Exam{Level: 9, Region: "50", PPE: ppe, Auditorium: "0007", Subject: "01", Date: "20250601"}
	b := pkg.NewBuilder(pkg.Manifest{Format: pkg.FormatVersion, Exam: exam, Station: "st-50-" + ppe + "-1",
		ID: pkg.PackageID(exam), Version: version, Created: time.Date(2025, 6, 1, 13, version, 0, 0, time.UTC)})
	for i, p := range pages {
		name := "p000" + string(rune('1'+i)) + ".tif"
		if err := b.AddPage(pkg.Page{Seq: i + 1, Type: "11", File: name}, bytes.NewReader(p)); err != nil {
			t.Fatal(err)
		}
	}
	var tarball bytes.Buffer
	hash, err := b.Write(&tarball)
	if err != nil {
		t.Fatal(err)
	}
	return tarball.Bytes(), b.Manifest(), hash
}

// sealTar seals a tarball as the station key would, claiming info.
func (f *fixture) sealTar(t testing.TB, tarball []byte, key ed25519.PrivateKey, m pkg.Manifest, hash string) (ct, sig []byte) {
	t.Helper()
	var out bytes.Buffer
	sig, err := seal.Seal(&out, bytes.NewReader(tarball), f.recs, key,
		seal.Info{Station: m.Station, Package: m.ID, Version: m.Version, ManifestHash: hash})
	if err != nil {
		t.Fatal(err)
	}
	return out.Bytes(), sig
}

// writeSealed writes ct and sig as files for the outbox.
func writeSealed(t testing.TB, ct, sig []byte) (string, string) {
	t.Helper()
	dir := t.TempDir()
	cp, sp := filepath.Join(dir, "p"+seal.CiphertextExt), filepath.Join(dir, "p"+seal.SignatureExt)
	if err := os.WriteFile(cp, ct, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sp, sig, 0o600); err != nil {
		t.Fatal(err)
	}
	return cp, sp
}

// rewriteTar copies a tarball, letting edit change each entry's data.
func rewriteTar(t testing.TB, tarball []byte, edit func(name string, data []byte) []byte) []byte {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(tarball))
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr)
		data = edit(hdr.Name, data)
		hdr.Size = int64(len(data))
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		tw.Write(data)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// accounts is the test double of the РЦОИ staff accounts: login to password.
type accounts map[string]string

func (a accounts) Authenticate(login, password string) (bool, error) {
	p, ok := a[login]
	return ok && p == password, nil
}

const staffLogin, staffPassword = "petrova", "пароль-сотрудника-РЦОИ"

// get fetches url as the given client, or as staff when hc is nil.
func get(t testing.TB, hc *http.Client, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if hc == nil {
		req.SetBasicAuth(staffLogin, staffPassword)
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// signing is an HTTP client that signs as the station key does.
func signing(key ed25519.PrivateKey) *http.Client { return upload.SigningClient(nil, key) }
