package seal

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"giascan/transport/g4"
	"giascan/transport/pkg"
)

// A G4 page in a package, sealed, verified, opened and read back: the path
// of an auditorium from the station to the РЦОИ.
func TestSealedPackageEndToEnd(t *testing.T) {
	page := g4.NewBitmap(200, 100)
	for x := 20; x < 180; x++ {
		page.Set(x, 50, true)
	}
	var tif bytes.Buffer
	if err := g4.WriteTIFF(&tif, g4.Page{Image: page, DPI: 300}); err != nil {
		t.Fatal(err)
	}
	exam := pkg.Exam{Level: 9, Region: "50", PPE: "1234", Auditorium: "0007", Subject: "01", Date: "20250601"}
	b := pkg.NewBuilder(pkg.Manifest{Format: pkg.FormatVersion, Exam: exam, Station: "st-50-1234-1",
		ID: pkg.PackageID(exam), Version: 1, Created: time.Date(2025, 6, 1, 13, 0, 0, 0, time.UTC)})
	if err := b.AddPage(pkg.Page{Seq: 1, Type: "11", File: "p0001.tif"}, bytes.NewReader(tif.Bytes())); err != nil {
		t.Fatal(err)
	}
	var tarball bytes.Buffer
	hash, err := b.Write(&tarball)
	if err != nil {
		t.Fatal(err)
	}
	m := b.Manifest()

	dir := t.TempDir()
	if _, err := GenerateStationKey(dir); err != nil {
		t.Fatal(err)
	}
	rcoi, _ := age.GenerateX25519Identity()
	if _, err := ImportRecipients(dir, strings.NewReader(rcoi.Recipient().String())); err != nil {
		t.Fatal(err)
	}
	key, _ := LoadStationKey(dir)
	recs, _, _ := LoadRecipients(dir)
	info := Info{Station: m.Station, Package: m.ID, Version: m.Version, ManifestHash: hash}
	var sealed bytes.Buffer
	sig, err := Seal(&sealed, &tarball, recs, key, info)
	if err != nil {
		t.Fatal(err)
	}

	pub, _ := LoadStationPublicKey(dir)
	plain, st, err := Open(sig, sealed.Bytes(), pub, Info{Package: m.ID, Version: 1}, rcoi)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pkg.Read(bytes.NewReader(plain), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if got.Hash() != st.Manifest || !bytes.Equal(got.Files["p0001.tif"], tif.Bytes()) {
		t.Fatalf("package read back: hash %s, signed %s", got.Hash(), st.Manifest)
	}
	t.Logf("%s: ППЭ-15 key H %s, %d bytes sealed", m.Name(), pkg.ShortHash(hash), sealed.Len())
}
