package forms

import (
	"errors"
	"strings"
	"testing"
)

func TestLuhnKnownValues(t *testing.T) {
	// Classic published examples: 7992739871 → 3, and the contract's example barcode.
	for _, c := range []struct{ in, want string }{{"7992739871", "3"}, {"110000012345", "2"}} {
		d, err := LuhnDigit(c.in)
		if err != nil || string(d) != c.want {
			t.Errorf("LuhnDigit(%s) = %c, %v; want %s", c.in, d, err, c.want)
		}
	}
	if _, err := LuhnDigit("12a"); err == nil {
		t.Error("LuhnDigit accepted a letter")
	}
}

func TestMakeAndCheckBarcode(t *testing.T) {
	b, err := MakeBarcode("11", 12345)
	if err != nil {
		t.Fatal(err)
	}
	if b != "1100000123452" {
		t.Fatalf("MakeBarcode = %s, want the contract's example 1100000123452", b)
	}
	if err := CheckBarcode(b); err != nil {
		t.Fatal(err)
	}
	// Every single-digit change is caught by the Luhn digit.
	for i := 0; i < 13; i++ {
		for d := byte('0'); d <= '9'; d++ {
			if d == b[i] {
				continue
			}
			bad := b[:i] + string(d) + b[i+1:]
			if err := CheckBarcode(bad); !errors.Is(err, ErrCheckDigit) {
				t.Fatalf("CheckBarcode(%s) = %v, want a check-digit error", bad, err)
			}
		}
	}
	if err := CheckBarcode("123"); !errors.Is(err, ErrBarcodeFormat) {
		t.Errorf("short barcode: %v", err)
	}
	if _, err := MakeBarcode("1", 1); err == nil {
		t.Error("one-digit page type accepted")
	}
	if _, err := MakeBarcode("11", MaxSerial+1); err == nil {
		t.Error("an 11-digit serial accepted")
	}
}

func sampleIdentity() Identity {
	return Identity{Level: 9, Region: "11", PPE: "0101", Auditorium: "0012", Subject: "02", Date: "20250527",
		Type: "11", Barcode: "1100000123452", Kit: "0000012345", Sheet: 0}
}

func TestQRTextMatchesTheContractExample(t *testing.T) {
	want := "GIA1;V=1;E=9;R=11;P=0101;A=0012;S=02;D=20250527;T=11;B=1100000123452;K=0000012345;L=0"
	if got := sampleIdentity().QRText(); got != want {
		t.Fatalf("QRText\n got %s\nwant %s", got, want)
	}
	id, err := ParseQR(want)
	if err != nil {
		t.Fatal(err)
	}
	if id != sampleIdentity() {
		t.Fatalf("ParseQR = %+v", id)
	}
}

func TestParseQRRefusesWhatIsNotTheContract(t *testing.T) {
	good := sampleIdentity().QRText()
	cases := map[string]string{
		"no prefix":          strings.TrimPrefix(good, "GIA1;"),
		"missing kit":        strings.Replace(good, ";K=0000012345", "", 1),
		"short ppe":          strings.Replace(good, "P=0101", "P=101", 1),
		"bad date":           strings.Replace(good, "D=20250527", "D=20250231", 1),
		"level 10":           strings.Replace(good, "E=9", "E=10", 1),
		"B differs from T":   strings.Replace(good, "T=11", "T=21", 1),
		"bad check digit":    strings.Replace(good, "B=1100000123452", "B=1100000123453", 1),
		"version 2":          strings.Replace(good, "V=1", "V=2", 1),
		"duplicate key":      good + ";P=0102",
		"pair without equal": good + ";X",
		"type 55 without H":  "GIA1;V=1;E=9;R=11;P=0101;A=0000;S=02;D=20250527;T=55;B=5500000000010;K=0000000000;L=0",
	}
	for name, s := range cases {
		if _, err := ParseQR(s); err == nil {
			t.Errorf("%s: %q accepted", name, s)
		}
	}
	// Unknown keys are ignored, as the contract says.
	if _, err := ParseQR(good + ";Z=whatever"); err != nil {
		t.Errorf("unknown key refused: %v", err)
	}
	b55, _ := MakeBarcode("55", 1)
	id55 := Identity{Level: 11, Region: "77", PPE: "0001", Auditorium: "0000", Subject: "18", Date: "20250601",
		Type: "55", Barcode: b55, Kit: NoKit, Manifest: "0123456789abcdef"}
	got, err := ParseQR(id55.QRText())
	if err != nil || got != id55 {
		t.Errorf("type 55 round trip: %+v, %v", got, err)
	}
}

// FuzzParseQR: the parser never panics, and whatever it accepts is valid
// and encodes back to content that parses to the same identity.
func FuzzParseQR(f *testing.F) {
	f.Add(sampleIdentity().QRText())
	f.Add("GIA1;V=1;E=11;R=77;P=0001;A=0000;S=18;D=20250601;T=55;B=5500000000010;K=0000000000;L=0;H=0123456789abcdef")
	f.Add("GIA1;")
	f.Add("GIA1;V=1;E=9;;")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseQR(s)
		if err != nil {
			return
		}
		if err := id.Validate(); err != nil {
			t.Fatalf("accepted an invalid identity %+v: %v", id, err)
		}
		again, err := ParseQR(id.QRText())
		if err != nil || again != id {
			t.Fatalf("round trip of %q: %+v, %v", s, again, err)
		}
	})
}

func TestComposeChecksIdentityAgainstTemplate(t *testing.T) {
	set := Builtin()
	bo1, _ := set.Get(TypeBO1)
	d, err := Compose(bo1, sampleIdentity())
	if err != nil {
		t.Fatal(err)
	}
	fills := 0
	for _, op := range d.Ops {
		if op.Kind == OpFill {
			fills++
		}
	}
	if fills < 4+20 {
		t.Errorf("only %d filled shapes: anchors, bars and QR modules expected", fills)
	}
	bo2, _ := set.Get(TypeBO2Sheet1)
	if _, err := Compose(bo2, sampleIdentity()); err == nil {
		t.Error("a type 11 identity was drawn on a type 21 template")
	}
	f51, _ := set.Get(TypePPE1302)
	b51, _ := MakeBarcode("51", 7)
	id := Identity{Level: 9, Region: "11", PPE: "0101", Auditorium: "0012", Subject: "02", Date: "20250527", Type: "51", Barcode: b51, Kit: NoKit}
	if _, err := Compose(f51, id); err == nil {
		t.Error("a ППЭ-wide form with an auditorium was accepted")
	}
}

func TestCode128AndQRModules(t *testing.T) {
	mods, err := Code128Modules("1100000123452")
	if err != nil {
		t.Fatal(err)
	}
	// 13 digits: start, 6 digit pairs in set C, a switch and one digit, check, stop = 123 modules at most.
	if len(mods) == 0 || len(mods) > 123 || !mods[0] {
		t.Fatalf("Code 128 of 13 digits is %d modules", len(mods))
	}
	if w := float64(len(mods)) * 0.30; 20+w+3 > 65 {
		t.Errorf("barcode %.1f mm wide runs into the title box", w)
	}
	qr, err := QRModules(sampleIdentity().QRText(), "M")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(qr); n < 21 || (n-17)%4 != 0 {
		t.Fatalf("QR of %d modules is not a model 2 size", n)
	}
}
