package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"giascan/forms"
)

// pngHeaderOnly is a PNG signature and an IHDR chunk claiming a huge
// image, with no pixel data: it must be refused from the header alone.
func pngHeaderOnly(w, h uint32) []byte {
	var b bytes.Buffer
	b.Write([]byte("\x89PNG\r\n\x1a\n"))
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 0 // 8-bit grey
	chunk := append([]byte("IHDR"), ihdr...)
	binary.Write(&b, binary.BigEndian, uint32(len(ihdr)))
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

// Bad input never crashes the recognizer and never yields a guess: each
// such file gets its line with an error or unknown_type, and the pages
// after it are still read.
func TestRecognizeBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := filepath.Join(dir, "z-good.png")
	barcode := writePage(t, good, forms.TypeBO1, 77)
	goodBytes, _ := os.ReadFile(good)

	// A page of another form entirely: a ruled sheet with text-like bars, no anchors.
	other := image.NewGray(image.Rect(0, 0, 1654, 2339))
	for i := range other.Pix {
		other.Pix[i] = 255
	}
	for y := 200; y < 2200; y += 60 {
		for x := 150; x < 1500; x++ {
			if (x/40)%3 != 0 {
				other.SetGray(x, y, color.Gray{Y: 30})
				other.SetGray(x, y+1, color.Gray{Y: 30})
			}
		}
	}
	var ob bytes.Buffer
	png.Encode(&ob, other)

	// A vector PDF with no image in it: the kits the station prints.
	pdf := filepath.Join(dir, "e-vector.pdf")
	if code, _, errs := runStation(t, "print", "kits", "--data", filepath.Join(dir, "data"), "--level", "9", "--region", "11",
		"--ppe", "0101", "--auditorium", "0012", "--subject", "02", "--date", "2025-05-27", "--count", "1", "--out", pdf); code != 0 {
		t.Fatalf("print kits: %s", errs)
	}

	files := []struct {
		path     string
		wantFlag string // "" = an error line
	}{
		{write("a-zero.jpg", nil), ""},
		{write("b-truncated.png", goodBytes[:len(goodBytes)/2]), ""},
		{write("c-not-an-image.jpg", []byte("Протокол ППЭ-15: это текст, а не скан\n")), ""},
		{write("d-huge.png", pngHeaderOnly(200000, 200000)), ""},
		{pdf, ""},
		{write("f-other-form.png", ob.Bytes()), forms.FlagUnknownType},
		{good, "good"},
	}
	args := []string{"recognize", "--workers", "2"}
	for _, f := range files {
		args = append(args, f.path)
	}
	code, out, errs := runStation(t, args...)
	if code != 0 && code != 1 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	byFile := map[string][]forms.PageResult{}
	for _, l := range lines {
		var r forms.PageResult
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("not a JSON line: %q", l)
		}
		byFile[r.File] = append(byFile[r.File], r)
	}
	for _, f := range files {
		got := byFile[f.path]
		if len(got) == 0 {
			t.Errorf("%s: no line", filepath.Base(f.path))
			continue
		}
		for _, r := range got {
			switch f.wantFlag {
			case "":
				if r.Error == "" {
					t.Errorf("%s: no error reported: %+v", filepath.Base(f.path), r)
				}
				if r.Barcode != "" || r.Type != "" {
					t.Errorf("%s: a guess from bad input: type %q barcode %q", filepath.Base(f.path), r.Type, r.Barcode)
				}
			case "good":
				if r.Barcode != barcode || r.Error != "" {
					t.Errorf("the good page after the bad ones: %+v", r)
				}
			default:
				if r.Type != "" || r.Barcode != "" || !slices.Contains(r.Flags, f.wantFlag) {
					t.Errorf("%s: want type \"\" and flag %s, got type %q barcode %q flags %v error %q",
						filepath.Base(f.path), f.wantFlag, r.Type, r.Barcode, r.Flags, r.Error)
				}
			}
		}
	}
}
