package imagein

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"gocv.io/x/gocv"
)

// decodeAll opens data and decodes every page, failing the test on any
// error; the caller closes the returned Mats.
func decodeAll(t *testing.T, data []byte, name string) ([]gocv.Mat, []Info) {
	t.Helper()
	doc, err := FromBytes(data, name, Limits{})
	if err != nil {
		t.Fatalf("FromBytes: %v", err)
	}
	defer doc.Close()
	var mats []gocv.Mat
	var infos []Info
	for i := 0; i < doc.Pages(); i++ {
		m, info, err := doc.Page(i)
		if err != nil {
			t.Fatalf("Page(%d): %v", i, err)
		}
		t.Cleanup(func() { m.Close() })
		mats, infos = append(mats, m), append(infos, info)
	}
	return mats, infos
}

func closeDPI(t *testing.T, info Info, want float64) {
	t.Helper()
	if math.Abs(info.DPIX-want) > 0.5 || math.Abs(info.DPIY-want) > 0.5 {
		t.Errorf("page %d: dpi %.2f×%.2f, want %v", info.Page, info.DPIX, info.DPIY, want)
	}
}

func TestJPEG(t *testing.T) {
	g := drawPage(400, 566, 1, true)
	grey := withJFIFDensity(encode(t, g, ".jpg", gocv.IMWriteJpegQuality, 92), 300)
	mats, infos := decodeAll(t, grey, "grey.jpg")
	checkPage(t, mats[0], 400, 566, 1, true, 12)
	if infos[0].Format != FormatJPEG || infos[0].Model != ModelGrey || infos[0].BitsPerSample != 8 || infos[0].Compression != "jpeg" {
		t.Errorf("info %+v", infos[0])
	}
	closeDPI(t, infos[0], 300)

	// Colour: the same page with a coloured block that must come out dark.
	src, _ := gocv.NewMatFromBytes(566, 400, gocv.MatTypeCV8UC1, g.Pix)
	defer src.Close()
	bgr := gocv.NewMat()
	defer bgr.Close()
	gocv.CvtColor(src, &bgr, gocv.ColorGrayToBGR)
	buf, err := gocv.IMEncode(".jpg", bgr)
	if err != nil {
		t.Fatal(err)
	}
	defer buf.Close()
	mats, infos = decodeAll(t, bytes.Clone(buf.GetBytes()), "colour.jpg")
	checkPage(t, mats[0], 400, 566, 1, true, 12)
	if infos[0].Model != ModelColour || infos[0].DPIX != 0 {
		t.Errorf("colour info %+v (JFIF units 0 must leave dpi unknown)", infos[0])
	}
}

func TestPNG(t *testing.T) {
	g := drawPage(400, 566, 2, true)
	mats, infos := decodeAll(t, withPHYs(encode(t, g, ".png"), 200), "grey.png")
	checkPage(t, mats[0], 400, 566, 2, true, 0)
	if infos[0].Format != FormatPNG || infos[0].Model != ModelGrey || infos[0].BitsPerSample != 8 {
		t.Errorf("info %+v", infos[0])
	}
	closeDPI(t, infos[0], 200)

	bw := drawPage(400, 566, 3, false)
	mats, infos = decodeAll(t, encode(t, bw, ".png", gocv.IMWritePngBilevel, 1), "bilevel.png")
	checkPage(t, mats[0], 400, 566, 3, false, 0)
	if infos[0].Model != ModelBilevel || infos[0].BitsPerSample != 1 || infos[0].DPIX != 0 {
		t.Errorf("bilevel info %+v", infos[0])
	}
}

// TestPNG16 checks that 16-bit samples are scaled to 8 bits, not cut.
func TestPNG16(t *testing.T) {
	g := drawPage(300, 424, 1, true)
	m16 := gocv.NewMatWithSize(424, 300, gocv.MatTypeCV16UC1)
	defer m16.Close()
	for y := 0; y < 424; y++ {
		for x := 0; x < 300; x++ {
			m16.SetShortAt(y, x, int16(uint16(g.GrayAt(x, y).Y)*257))
		}
	}
	buf, err := gocv.IMEncode(".png", m16)
	if err != nil {
		t.Fatal(err)
	}
	defer buf.Close()
	mats, infos := decodeAll(t, bytes.Clone(buf.GetBytes()), "deep.png")
	checkPage(t, mats[0], 300, 424, 1, true, 0)
	if infos[0].BitsPerSample != 16 || infos[0].Model != ModelGrey {
		t.Errorf("info %+v", infos[0])
	}
}

func TestTIFFVariants(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spec  tiffSpec
		bo    binary.ByteOrder
		model ColourModel
	}{
		{"1-bit min-is-white", tiffSpec{bits: 1, minIsWhite: true, dpi: 300}, binary.LittleEndian, ModelBilevel},
		{"1-bit min-is-black strips", tiffSpec{bits: 1, rowsPer: 7, dpi: 300}, binary.LittleEndian, ModelBilevel},
		{"8-bit grey", tiffSpec{bits: 8, rowsPer: 16, dpi: 200}, binary.LittleEndian, ModelGrey},
		{"8-bit grey min-is-white", tiffSpec{bits: 8, minIsWhite: true, dpi: 200}, binary.LittleEndian, ModelGrey},
		{"8-bit grey big-endian", tiffSpec{bits: 8, rowsPer: 50, dpi: 600}, binary.BigEndian, ModelGrey},
		{"24-bit RGB big-endian", tiffSpec{bits: 24, rowsPer: 33, dpi: 150}, binary.BigEndian, ModelColour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			grey := tc.spec.bits != 1
			tc.spec.img = drawPage(300, 424, 1, grey)
			mats, infos := decodeAll(t, writeTIFF([]tiffSpec{tc.spec}, tc.bo), "page.tif")
			checkPage(t, mats[0], 300, 424, 1, grey, 0)
			if infos[0].Model != tc.model || infos[0].Compression != "none" || infos[0].Format != FormatTIFF {
				t.Errorf("info %+v", infos[0])
			}
			closeDPI(t, infos[0], float64(tc.spec.dpi))
		})
	}
}

func TestTIFFMultiPageSkipsThumbnails(t *testing.T) {
	data := writeTIFF([]tiffSpec{
		{img: drawPage(300, 424, 1, false), bits: 1, dpi: 300},
		{img: drawPage(30, 42, 9, false), bits: 8, subfile: 1}, // thumbnail
		{img: drawPage(250, 354, 2, true), bits: 8, dpi: 250},
		{img: drawPage(200, 283, 3, true), bits: 24, dpi: 200},
	}, binary.LittleEndian)
	mats, infos := decodeAll(t, data, "multi.tif")
	if len(mats) != 3 {
		t.Fatalf("%d pages, want 3", len(mats))
	}
	checkPage(t, mats[0], 300, 424, 1, false, 0)
	checkPage(t, mats[1], 250, 354, 2, true, 0)
	checkPage(t, mats[2], 200, 283, 3, true, 0)
	for i, dpi := range []float64{300, 250, 200} {
		closeDPI(t, infos[i], dpi)
		if infos[i].Page != i+1 {
			t.Errorf("info %d has page %d", i, infos[i].Page)
		}
	}
}

// TestCommittedTIFF reads the file made by tiffcp: G4, LZW with predictor
// and deflate RGB pages in one file.
func TestCommittedTIFF(t *testing.T) {
	doc, err := Open(filepath.Join(testdataDir, "multipage.tif"), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer doc.Close()
	if doc.Pages() != 3 || doc.Format() != FormatTIFF {
		t.Fatalf("%d pages of %s, want 3 of tiff", doc.Pages(), doc.Format())
	}
	wantComp := []string{"ccitt-g4", "lzw", "deflate"}
	wantModel := []ColourModel{ModelBilevel, ModelGrey, ModelColour}
	for i, p := range committedPages {
		m, info, err := doc.Page(i)
		if err != nil {
			t.Fatalf("page %d: %v", i+1, err)
		}
		checkPage(t, m, p.w, p.h, i+1, p.grey, 0)
		m.Close()
		closeDPI(t, info, float64(p.dpi))
		if info.Compression != wantComp[i] || info.Model != wantModel[i] {
			t.Errorf("page %d: %+v", i+1, info)
		}
	}
}

// TestCommittedPDF reads the file made by img2pdf: CCITT G4, DCT and
// Flate-with-predictor pages, with dpi from the page size.
func TestCommittedPDF(t *testing.T) {
	doc, err := Open(filepath.Join(testdataDir, "scans.pdf"), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer doc.Close()
	if doc.Pages() != 3 || doc.Format() != FormatPDF {
		t.Fatalf("%d pages of %s, want 3 of pdf", doc.Pages(), doc.Format())
	}
	wantComp := []string{"ccitt-g4", "jpeg", "deflate"}
	tol := []int{0, 12, 0}
	for i, p := range committedPages {
		m, info, err := doc.Page(i)
		if err != nil {
			t.Fatalf("page %d: %v", i+1, err)
		}
		checkPage(t, m, p.w, p.h, i+1, p.grey, tol[i])
		m.Close()
		closeDPI(t, info, float64(p.dpi))
		if info.Compression != wantComp[i] {
			t.Errorf("page %d: %+v", i+1, info)
		}
	}
}

// pdfSamples packs a grey image as PDF samples of the given depth.
func pdfSamples(w, h, n int, grey bool, bits int, conv func(v uint8) []uint8) []byte {
	g := drawPage(w, h, n, grey)
	var out []byte
	for y := 0; y < h; y++ {
		var acc, nb uint
		for x := 0; x < w; x++ {
			for _, c := range conv(g.GrayAt(x, y).Y) {
				acc = acc<<bits | uint(c)>>(8-bits)
				nb += uint(bits)
				for nb >= 8 {
					out = append(out, byte(acc>>(nb-8)))
					nb -= 8
				}
			}
		}
		if nb > 0 {
			out = append(out, byte(acc<<(8-nb)))
		}
	}
	return out
}

func deflate(b []byte) []byte {
	var buf bytes.Buffer
	z := zlib.NewWriter(&buf)
	z.Write(b)
	z.Close()
	return buf.Bytes()
}

func TestPDFRawImages(t *testing.T) {
	const w, h = 200, 283
	id := func(v uint8) []uint8 { return []uint8{v} }
	inv := func(v uint8) []uint8 { return []uint8{255 - v} }
	rgb := func(v uint8) []uint8 { return []uint8{v, v, v} }
	cmyk := func(v uint8) []uint8 { return []uint8{0, 0, 0, 255 - v} }
	bw := func(v uint8) []uint8 {
		if v >= 128 {
			return []uint8{255}
		}
		return []uint8{0}
	}
	idx := func(v uint8) []uint8 { // palette: 0 white, 1 grey, 2 black
		switch v {
		case 255:
			return []uint8{0}
		case greyLevel:
			return []uint8{1 << 4}
		}
		return []uint8{2 << 4}
	}
	for _, tc := range []struct {
		name   string
		dict   string
		data   []byte
		grey   bool
		model  ColourModel
		comp   string
		maxErr int
	}{
		{"grey 8-bit", "/ColorSpace /DeviceGray /BitsPerComponent 8", pdfSamples(w, h, 1, true, 8, id), true, ModelGrey, "none", 0},
		{"grey flate", "/ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode", deflate(pdfSamples(w, h, 1, true, 8, id)), true, ModelGrey, "deflate", 0},
		{"grey decode inverted", "/ColorSpace /DeviceGray /BitsPerComponent 8 /Decode [1 0]", pdfSamples(w, h, 1, true, 8, inv), true, ModelGrey, "none", 0},
		{"bilevel", "/ColorSpace /DeviceGray /BitsPerComponent 1", pdfSamples(w, h, 1, false, 1, bw), false, ModelBilevel, "none", 0},
		{"image mask", "/ImageMask true /Filter [/ASCIIHexDecode /FlateDecode]", []byte(fmt.Sprintf("%x>", deflate(pdfSamples(w, h, 1, false, 1, bw)))), false, ModelBilevel, "deflate", 0},
		{"rgb", "/ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /FlateDecode", deflate(pdfSamples(w, h, 1, true, 8, rgb)), true, ModelColour, "deflate", 1},
		{"cmyk", "/ColorSpace /DeviceCMYK /BitsPerComponent 8", pdfSamples(w, h, 1, true, 8, cmyk), true, ModelColour, "none", 1},
		{"grey 4-bit", "/ColorSpace [/CalGray << /WhitePoint [1 1 1] >>] /BitsPerComponent 4", pdfSamples(w, h, 1, true, 4, id), true, ModelGrey, "none", 9},
		{"indexed", "/ColorSpace [/Indexed /DeviceRGB 2 <ffffff808080000000>] /BitsPerComponent 4", pdfSamples(w, h, 1, true, 4, idx), true, ModelPalette, "none", 0},
		{"separation", "/ColorSpace [/Separation /Black /DeviceGray 0 0 R] /BitsPerComponent 8", pdfSamples(w, h, 1, true, 8, inv), true, ModelGrey, "none", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := imagePDF(pdfObj{dict: fmt.Sprintf("/Width %d /Height %d %s", w, h, tc.dict), stream: tc.data})
			mats, infos := decodeAll(t, data, "raw.pdf")
			checkPage(t, mats[0], w, h, 1, tc.grey, tc.maxErr)
			if infos[0].Model != tc.model || infos[0].Compression != tc.comp {
				t.Errorf("info %+v", infos[0])
			}
			closeDPI(t, infos[0], 300)
		})
	}
}

func TestPDFMultiPageJPEGAndOrder(t *testing.T) {
	var imgs []pdfObj
	for n := 1; n <= 4; n++ {
		jpg := encode(t, drawPage(240, 340, n, true), ".jpg", gocv.IMWriteJpegQuality, 95)
		imgs = append(imgs, pdfObj{dict: "/Width 240 /Height 340 /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /DCTDecode", stream: jpg})
	}
	mats, infos := decodeAll(t, imagePDF(imgs...), "four.pdf")
	if len(mats) != 4 {
		t.Fatalf("%d pages", len(mats))
	}
	for i := range mats {
		checkPage(t, mats[i], 240, 340, i+1, true, 12)
		if infos[i].Page != i+1 || infos[i].Compression != "jpeg" {
			t.Errorf("info %+v", infos[i])
		}
	}
}

// TestPDFLargestImage: a logo next to the scan must not be taken for it.
func TestPDFLargestImage(t *testing.T) {
	scan := pdfSamples(200, 283, 2, true, 8, func(v uint8) []uint8 { return []uint8{v} })
	objs := []pdfObj{
		{dict: "<< /Type /Catalog /Pages 2 0 R >>"},
		{dict: "<< /Type /Pages /Kids [3 0 R] /Count 1 /Resources << /XObject << /Logo 5 0 R /Form 6 0 R >> >> /MediaBox [0 0 48 67.92] >>"},
		{dict: "<< /Type /Page /Parent 2 0 R /Contents 4 0 R >>"},
		{dict: "", stream: []byte("/Logo Do /Form Do")},
		{dict: "/Type /XObject /Subtype /Image /Width 20 /Height 20 /ColorSpace /DeviceGray /BitsPerComponent 8", stream: make([]byte, 400)},
		{dict: "/Type /XObject /Subtype /Form /BBox [0 0 1 1] /Resources << /XObject << /Scan 7 0 R /Self 6 0 R >> >>", stream: []byte("/Scan Do")},
		{dict: "/Type /XObject /Subtype /Image /Width 200 /Height 283 /ColorSpace /DeviceGray /BitsPerComponent 8", stream: scan},
	}
	mats, infos := decodeAll(t, buildPDF(objs), "inherit.pdf")
	checkPage(t, mats[0], 200, 283, 2, true, 0)
	closeDPI(t, infos[0], 300)
}

func expectErr(t *testing.T, err error, cause error, text string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %v", cause)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Errorf("error %T is not *Error: %v", err, err)
	}
	if !errors.Is(err, cause) {
		t.Errorf("error %q does not wrap %q", err, cause)
	}
	if text != "" && !strings.Contains(err.Error(), text) {
		t.Errorf("error %q does not mention %q", err, text)
	}
}

// pageErr opens data, which must succeed, and returns page i's error.
func pageErr(t *testing.T, data []byte, i int, limits Limits) error {
	t.Helper()
	doc, err := FromBytes(data, "bad", limits)
	if err != nil {
		t.Fatalf("FromBytes: %v", err)
	}
	defer doc.Close()
	m, _, err := doc.Page(i)
	if err == nil {
		m.Close()
	}
	return err
}

func TestBadInput(t *testing.T) {
	jpg := encode(t, drawPage(300, 424, 1, true), ".jpg")
	png := encode(t, drawPage(300, 424, 1, true), ".png")
	tif := writeTIFF([]tiffSpec{{img: drawPage(300, 424, 1, true), bits: 8, rowsPer: 10}}, binary.LittleEndian)
	pdf, err := os.ReadFile(filepath.Join(testdataDir, "scans.pdf"))
	if err != nil {
		t.Fatal(err)
	}

	t.Run("open errors", func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			data  []byte
			cause error
		}{
			{"empty", nil, ErrEmpty},
			{"text", []byte("Протокол проведения экзамена\n"), ErrFormat},
			{"gif", []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"), ErrFormat},
			{"jpeg signature only", jpg[:3], ErrTruncated},
			{"jpeg header cut", jpg[:40], ErrTruncated},
			{"png signature cut", png[:5], ErrTruncated},
			{"png without IHDR", append(bytes.Clone(png[:8]), "\x00\x00\x00\x00IEND\xaeB`\x82"...), ErrCorrupt},
			{"tiff header only", tif[:8], ErrTruncated},
			{"bigtiff", []byte("II+\x00\x08\x00\x00\x00\x10\x00\x00\x00\x00\x00\x00\x00"), ErrUnsupported},
			{"pdf cut", pdf[:len(pdf)/3], ErrCorrupt},
			{"pdf header only", []byte("%PDF-1.4\n"), ErrCorrupt},
		} {
			t.Run(tc.name, func(t *testing.T) {
				doc, err := FromBytes(tc.data, tc.name, Limits{})
				if err == nil {
					doc.Close()
				}
				expectErr(t, err, tc.cause, tc.name)
			})
		}
	})

	t.Run("truncated jpeg", func(t *testing.T) {
		expectErr(t, pageErr(t, jpg[:len(jpg)*2/3], 0, Limits{}), ErrTruncated, "page 1")
	})
	t.Run("truncated png", func(t *testing.T) {
		expectErr(t, pageErr(t, png[:len(png)*2/3], 0, Limits{}), ErrTruncated, "")
	})
	t.Run("truncated tiff", func(t *testing.T) {
		// Writers put the directory after the pixels, so a cut file has
		// lost it: the file cannot be opened.
		_, err := FromBytes(tif[:len(tif)-700], "cut.tif", Limits{})
		expectErr(t, err, ErrTruncated, "cut.tif")
		// A strip that runs past the end of the file fails its page.
		bad := bytes.Clone(tif)
		at := bytes.Index(bad, binary.LittleEndian.AppendUint32(nil, 3000)) // a 10-row strip
		binary.LittleEndian.PutUint32(bad[at:], uint32(len(bad)))
		expectErr(t, pageErr(t, bad, 0, Limits{}), ErrTruncated, "")
	})
	t.Run("damaged jpeg data", func(t *testing.T) {
		bad := bytes.Clone(jpg)
		sos := bytes.Index(bad, []byte{0xFF, 0xDA})
		for i := sos + 20; i < len(bad)-2; i++ {
			bad[i] = 0xFF // markers where entropy data should be
		}
		// libjpeg pads damaged scan data with grey and only warns, so
		// this page may decode; what must hold is that it never crashes
		// and that a failure is reported as corrupt data.
		if err := pageErr(t, bad, 0, Limits{}); err != nil {
			expectErr(t, err, ErrCorrupt, "")
		}
	})
	t.Run("absurd jpeg", func(t *testing.T) {
		bad := bytes.Clone(jpg)
		sof := bytes.Index(bad, []byte{0xFF, 0xC0})
		binary.BigEndian.PutUint16(bad[sof+5:], 65000)
		binary.BigEndian.PutUint16(bad[sof+7:], 65000)
		expectErr(t, pageErr(t, bad, 0, Limits{}), ErrTooLarge, "65000×65000")
	})
	t.Run("absurd png", func(t *testing.T) {
		bad := bytes.Clone(png)
		binary.BigEndian.PutUint32(bad[16:], 1<<30)
		binary.BigEndian.PutUint32(bad[20:], 3)
		expectErr(t, pageErr(t, bad, 0, Limits{}), ErrTooLarge, "")
	})
	t.Run("absurd tiff", func(t *testing.T) {
		bad := writeTIFF([]tiffSpec{{img: drawPage(300, 424, 1, false), bits: 1}}, binary.LittleEndian)
		// Width is the first entry: patch its value to 200000.
		ifd := binary.LittleEndian.Uint32(bad[4:])
		binary.LittleEndian.PutUint32(bad[ifd+2+8:], 100000)
		binary.LittleEndian.PutUint32(bad[ifd+2+12+8:], 100000)
		expectErr(t, pageErr(t, bad, 0, Limits{}), ErrTooLarge, "")
	})
	t.Run("tiff tiles larger than the page", func(t *testing.T) {
		// 1×1000000 pixels is within the limit, but 123 tiles of
		// 8192×8192 would make libtiff decode 8 Gpx.
		bad := rawTIFF([][2]uint32{{256, 1}, {257, 1000000}, {258, 8}, {259, 1}, {262, 1},
			{322, 8192}, {323, 8192}, {324, 8}, {325, 1}})
		expectErr(t, pageErr(t, bad, 0, Limits{}), ErrTooLarge, "tiles")
	})
	t.Run("tiff value count beyond the file", func(t *testing.T) {
		// A kept tag whose count points far outside the file must not
		// size any buffer (found by fuzzing).
		bad := rawTIFF([][2]uint32{{256, 10}, {257, 10}, {258, 8}, {262, 1}, {273, 8}, {279, 100}})
		ifd := binary.LittleEndian.Uint32(bad[4:])
		e := bad[ifd+2+12*3:] // 262 Photometric → ColorMap with 3 G entries
		binary.LittleEndian.PutUint16(e, 320)
		binary.LittleEndian.PutUint32(e[4:], 3<<30)
		expectErr(t, pageErr(t, bad, 0, Limits{}), ErrCorrupt, "outside the file")
	})
	t.Run("jpeg with too many scans", func(t *testing.T) {
		bad := append(bytes.Clone(jpg[:len(jpg)-2]), bytes.Repeat([]byte{0xFF, 0xDA, 0, 2}, 200)...)
		bad = append(bad, 0xFF, 0xD9)
		expectErr(t, pageErr(t, bad, 0, Limits{}), ErrUnsupported, "scans")
	})
	t.Run("pixel limit", func(t *testing.T) {
		expectErr(t, pageErr(t, png, 0, Limits{MaxPixels: 300*424 - 1}), ErrTooLarge, "limit")
		expectErr(t, pageErr(t, pdf, 0, Limits{MaxPixels: 1000}), ErrTooLarge, "")
	})
	t.Run("absurd pdf image", func(t *testing.T) {
		data := imagePDF(pdfObj{dict: "/Width 100000 /Height 100000 /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode", stream: deflate(make([]byte, 1<<16))})
		expectErr(t, pageErr(t, data, 0, Limits{}), ErrTooLarge, "100000×100000")
	})
	t.Run("pdf flate bomb", func(t *testing.T) {
		data := imagePDF(pdfObj{dict: "/Width 100 /Height 100 /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode", stream: deflate(make([]byte, 8<<20))})
		expectErr(t, pageErr(t, data, 0, Limits{}), ErrTooLarge, "")
	})
	t.Run("pdf short samples", func(t *testing.T) {
		data := imagePDF(pdfObj{dict: "/Width 100 /Height 100 /ColorSpace /DeviceGray /BitsPerComponent 8", stream: make([]byte, 5000)})
		expectErr(t, pageErr(t, data, 0, Limits{}), ErrTruncated, "")
	})
	t.Run("pdf jbig2", func(t *testing.T) {
		data := imagePDF(pdfObj{dict: "/Width 100 /Height 100 /ColorSpace /DeviceGray /BitsPerComponent 1 /Filter /JBIG2Decode", stream: make([]byte, 50)})
		expectErr(t, pageErr(t, data, 0, Limits{}), ErrUnsupported, "JBIG2")
	})
	t.Run("pdf without image", func(t *testing.T) {
		data := buildPDF([]pdfObj{
			{dict: "<< /Type /Catalog /Pages 2 0 R >>"},
			{dict: "<< /Type /Pages /Kids [3 0 R] /Count 1 >>"},
			{dict: "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>"},
			{dict: "", stream: []byte("BT /F1 24 Tf 72 720 Td (Vector page) Tj ET 0 0 m 100 100 l S")},
			{dict: "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"},
		})
		expectErr(t, pageErr(t, data, 0, Limits{}), ErrNoImage, "bad: page 1: no image on this page")
	})
	t.Run("page range and close", func(t *testing.T) {
		doc, err := FromBytes(png, "p.png", Limits{})
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = doc.Page(1)
		expectErr(t, err, ErrPageRange, "")
		_, _, err = doc.Page(-1)
		expectErr(t, err, ErrPageRange, "")
		doc.Close()
		_, _, err = doc.Page(0)
		expectErr(t, err, ErrClosed, "")
		if doc.Pages() != 0 {
			t.Error("Pages after Close")
		}
	})
	t.Run("tiff chain cut after a page", func(t *testing.T) {
		two := writeTIFF([]tiffSpec{
			{img: drawPage(100, 141, 1, false), bits: 1},
			{img: drawPage(100, 141, 2, false), bits: 1},
		}, binary.LittleEndian)
		// Point the first page's next-IFD link beyond the end of the file.
		first := binary.LittleEndian.Uint32(two[4:])
		n := binary.LittleEndian.Uint16(two[first:])
		binary.LittleEndian.PutUint32(two[first+2+12*uint32(n):], uint32(len(two)+100))
		doc, err := FromBytes(two, "cut.tif", Limits{})
		if err != nil {
			t.Fatal(err)
		}
		defer doc.Close()
		if doc.Pages() != 2 {
			t.Fatalf("%d pages, want the good one and the break", doc.Pages())
		}
		m, _, err := doc.Page(0)
		if err != nil {
			t.Fatal(err)
		}
		m.Close()
		_, _, err = doc.Page(1)
		expectErr(t, err, ErrTruncated, "page 2")
	})
	t.Run("open missing file and folder", func(t *testing.T) {
		_, err := Open(filepath.Join(t.TempDir(), "nope.jpg"), Limits{})
		if !errors.Is(err, os.ErrNotExist) {
			t.Errorf("missing file: %v", err)
		}
		_, err = Open(t.TempDir(), Limits{})
		if err == nil {
			t.Error("a folder opened")
		}
		big := filepath.Join(t.TempDir(), "big.png")
		os.WriteFile(big, png, 0o644)
		_, err = Open(big, Limits{MaxFileBytes: 100})
		expectErr(t, err, ErrTooLarge, "")
	})
}

// TestConcurrentPages decodes the pages of one document from several
// goroutines, as the recognizer's workers do (run with -race).
func TestConcurrentPages(t *testing.T) {
	for _, name := range []string{"scans.pdf", "multipage.tif"} {
		doc, err := Open(filepath.Join(testdataDir, name), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for r := 0; r < 4; r++ {
			for i := 0; i < doc.Pages(); i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					m, _, err := doc.Page(i)
					if err != nil {
						t.Error(err)
						return
					}
					p := committedPages[i]
					if m.Cols() != p.w || m.Rows() != p.h {
						t.Errorf("%s page %d: %d×%d", name, i+1, m.Cols(), m.Rows())
					}
					m.Close()
				}()
			}
		}
		wg.Wait()
		doc.Close()
	}
}

// TestPageReduced checks that a JPEG is decoded reduced as far as the
// requested longer side allows, shows the same page, and says by how much;
// other formats come out whole.
func TestPageReduced(t *testing.T) {
	g := drawPage(800, 1132, 2, true)
	jpg := encode(t, g, ".jpg", gocv.IMWriteJpegQuality, 92)
	for _, c := range []struct{ minLong, denom int }{{1132, 1}, {566, 2}, {400, 2}, {283, 4}, {100, 8}, {0, 8}} {
		d, err := FromBytes(jpg, "page.jpg", Limits{})
		if err != nil {
			t.Fatal(err)
		}
		m, info, err := d.PageReduced(0, c.minLong)
		d.Close()
		if err != nil {
			t.Fatalf("minLong %d: %v", c.minLong, err)
		}
		if info.Reduced != c.denom {
			t.Errorf("minLong %d: reduced by %d, want %d", c.minLong, info.Reduced, c.denom)
		}
		checkPage(t, m, (800+c.denom-1)/c.denom, (1132+c.denom-1)/c.denom, 2, true, 16) // libjpeg rounds up
		m.Close()
	}
	d, err := FromBytes(encode(t, g, ".png"), "page.png", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	m, info, err := d.PageReduced(0, 100)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if info.Reduced != 1 {
		t.Errorf("PNG reduced by %d, want 1", info.Reduced)
	}
	checkPage(t, m, 800, 1132, 2, true, 0)
	if _, _, err := d.PageReduced(1, 100); !errors.Is(err, ErrPageRange) {
		t.Errorf("page 2 of 1: %v", err)
	}
}
