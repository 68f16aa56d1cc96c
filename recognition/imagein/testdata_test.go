package imagein

import (
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Files in testdata/imagein at the repository root are made by real
// scanner-side tools (libtiff's tiffcp for G4, LZW and deflate TIFFs,
// img2pdf for PDFs as scanner software writes them) from pages this
// package draws. They are committed so the tests need no tools; set
// IMAGEIN_REGENERATE=1 to make them again (needs Debian's libtiff-tools and
// img2pdf).

const testdataDir = "../../testdata/imagein"

// Sizes and resolutions of the committed pages, used by the tests.
var committedPages = []struct {
	w, h, dpi int
	grey      bool
}{
	{w: 620, h: 877, dpi: 300},             // 1: bilevel, G4
	{w: 413, h: 585, dpi: 200, grey: true}, // 2: 8-bit grey, LZW
	{w: 310, h: 438, dpi: 150, grey: true}, // 3: 8-bit RGB, deflate
}

func TestRegenerateTestdata(t *testing.T) {
	if os.Getenv("IMAGEIN_REGENERATE") == "" {
		t.Skip("set IMAGEIN_REGENERATE=1 to remake testdata/imagein")
	}
	tmp := t.TempDir()
	run := func(name string, args ...string) {
		t.Helper()
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
	}
	write := func(name string, data []byte) string {
		p := filepath.Join(tmp, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var plain []string
	for i, p := range committedPages {
		spec := tiffSpec{img: drawPage(p.w, p.h, i+1, p.grey), bits: 8, dpi: uint32(p.dpi), rowsPer: 64}
		switch i {
		case 0:
			spec.bits, spec.minIsWhite = 1, true
		case 2:
			spec.bits = 24
		}
		plain = append(plain, write("p"+string(rune('1'+i))+".tif", writeTIFF([]tiffSpec{spec}, binary.LittleEndian)))
	}
	g4 := filepath.Join(tmp, "g4.tif")
	lzw := filepath.Join(tmp, "lzw.tif")
	zip := filepath.Join(tmp, "zip.tif")
	run("tiffcp", "-c", "g4", plain[0], g4)
	run("tiffcp", "-c", "lzw:2", plain[1], lzw)
	run("tiffcp", "-c", "zip", plain[2], zip)
	if err := os.MkdirAll(testdataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	run("tiffcp", g4, lzw, zip, filepath.Join(testdataDir, "multipage.tif"))

	// The PDF: the G4 page as CCITTFaxDecode, a JPEG page as DCTDecode
	// and a PNG page as FlateDecode, in that order.
	jpg := write("p2.jpg", withJFIFDensity(encode(t, drawPage(committedPages[1].w, committedPages[1].h, 2, true), ".jpg", 1, 90), 200))
	png := write("p3.png", withPHYs(encode(t, drawPage(committedPages[2].w, committedPages[2].h, 3, true), ".png"), 150))
	run("img2pdf", "-o", filepath.Join(testdataDir, "scans.pdf"), g4, jpg, png)
}
