package twain

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"giascan/hardware"
)

// layout64 is what twain.h gives on 64-bit Windows under #pragma
// pack(2): sizeof of each structure and offsetof of the fields the
// encoders write. TestLayoutAgainstTwainH checks these numbers against
// the header itself when one is given.
var layout64 = map[string]int{
	"sizeof(TW_IDENTITY)":                      SizeIdentity,
	"offsetof(TW_IDENTITY, Version)":           offIDVersion,
	"offsetof(TW_IDENTITY, Version.Info)":      offIDInfo,
	"offsetof(TW_IDENTITY, ProtocolMajor)":     offIDProtocolMajor,
	"offsetof(TW_IDENTITY, ProtocolMinor)":     offIDProtocolMinor,
	"offsetof(TW_IDENTITY, SupportedGroups)":   offIDGroups,
	"offsetof(TW_IDENTITY, Manufacturer)":      offIDManufacturer,
	"offsetof(TW_IDENTITY, ProductFamily)":     offIDFamily,
	"offsetof(TW_IDENTITY, ProductName)":       offIDProduct,
	"sizeof(TW_ONEVALUE)":                      SizeOneValue,
	"offsetof(TW_ONEVALUE, Item)":              2,
	"sizeof(TW_STATUS)":                        SizeStatus,
	"sizeof(TW_PENDINGXFERS)":                  SizePendingXfers,
	"sizeof(TW_IMAGEINFO)":                     SizeImageInfo,
	"offsetof(TW_IMAGEINFO, BitsPerSample)":    18,
	"offsetof(TW_IMAGEINFO, BitsPerPixel)":     34,
	"offsetof(TW_IMAGEINFO, PixelType)":        38,
	"offsetof(TW_IMAGEINFO, Compression)":      40,
	"sizeof(TW_SETUPMEMXFER)":                  SizeSetupMemXfer,
	"sizeof(TW_RANGE)":                         SizeRange,
	"offsetof(TW_RANGE, CurrentValue)":         18,
	"offsetof(TW_ENUMERATION, ItemList)":       14,
	"sizeof(TW_USERINTERFACE)":                 Layout{8}.SizeUserInterface(),
	"offsetof(TW_USERINTERFACE, hParent)":      4,
	"sizeof(TW_CAPABILITY)":                    Layout{8}.SizeCapability(),
	"offsetof(TW_CAPABILITY, hContainer)":      4,
	"sizeof(TW_EVENT)":                         Layout{8}.SizeEvent(),
	"offsetof(TW_EVENT, TWMessage)":            8,
	"sizeof(TW_IMAGEMEMXFER)":                  Layout{8}.SizeImageMemXfer(),
	"offsetof(TW_IMAGEMEMXFER, BytesWritten)":  22,
	"offsetof(TW_IMAGEMEMXFER, Memory.Flags)":  26,
	"offsetof(TW_IMAGEMEMXFER, Memory.Length)": 30,
	"offsetof(TW_IMAGEMEMXFER, Memory.TheMem)": 34,
}

// TestLayoutAgainstTwainH compiles a program with the real twain.h
// (TWAIN_H names it; the TWAIN Working Group's header is not shipped
// here) on a 64-bit Linux, where gcc honours its pack(2) and the types
// have their Windows x64 sizes, and compares every number.
func TestLayoutAgainstTwainH(t *testing.T) {
	header := os.Getenv("TWAIN_H")
	if header == "" {
		t.Skip("TWAIN_H is not set: the layout table is checked against twain.h only when the header is given")
	}
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("gcc is not installed")
	}
	var prog strings.Builder
	fmt.Fprintf(&prog, "#include <stddef.h>\n#include <stdio.h>\n#include %q\nint main(void) {\n", header)
	for expr := range layout64 {
		fmt.Fprintf(&prog, "printf(\"%%s=%%zu\\n\", %q, (size_t)(%s));\n", expr, expr)
	}
	prog.WriteString("return 0; }\n")
	dir := t.TempDir()
	src := filepath.Join(dir, "layout.c")
	os.WriteFile(src, []byte(prog.String()), 0o644)
	if out, err := exec.Command("gcc", "-o", filepath.Join(dir, "layout"), src).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v: %s", err, out)
	}
	out, err := exec.Command(filepath.Join(dir, "layout")).Output()
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		expr, v, _ := strings.Cut(line, "=")
		n, _ := strconv.Atoi(v)
		if want := layout64[expr]; n != want {
			t.Errorf("%s is %d in twain.h, %d here", expr, n, want)
		}
		seen++
	}
	if seen != len(layout64) {
		t.Errorf("%d of %d numbers checked", seen, len(layout64))
	}
}

func TestLayout32(t *testing.T) {
	l := Layout{4}
	if l.SizeUserInterface() != 8 || l.SizeCapability() != 8 || l.SizeEvent() != 6 || l.SizeImageMemXfer() != 38 {
		t.Errorf("32-bit sizes: ui %d cap %d event %d memxfer %d", l.SizeUserInterface(), l.SizeCapability(), l.SizeEvent(), l.SizeImageMemXfer())
	}
}

func TestIdentityRoundTrip(t *testing.T) {
	id := Identity{ID: 7, Version: Version{Major: 2, Minor: 5, Language: LGRussian, Country: CYRussia, Info: "Версия 2.5"},
		ProtocolMajor: 2, ProtocolMinor: 4, SupportedGroups: DGControl | DGImage | DFApp2,
		Manufacturer: "Fujitsu", ProductFamily: "fi Series", ProductName: strings.Repeat("x", 40)}
	b := make([]byte, SizeIdentity)
	id.Encode(b)
	got := DecodeIdentity(b)
	if got.ProductName != strings.Repeat("x", 33) {
		t.Errorf("a long product name is %q, want it cut to 33 bytes and NUL-terminated", got.ProductName)
	}
	got.ProductName = id.ProductName
	if fmt.Sprint(got) != fmt.Sprint(id) {
		t.Errorf("round trip:\n%+v\n%+v", got, id)
	}
	if b[offIDGroups+3] != 0x20 || b[offIDProduct+33] != 0 {
		t.Errorf("groups or terminator misplaced: % x", b[offIDGroups:offIDGroups+4])
	}
}

func TestCapabilityEncoding(t *testing.T) {
	if b := Fix32Value(300); !bytes.Equal(b, []byte{TYFix32, 0, 0x2c, 0x01, 0, 0}) {
		t.Errorf("300 dpi as TW_ONEVALUE: % x", b)
	}
	if b := Fix32Value(150.5); !bytes.Equal(b, []byte{TYFix32, 0, 150, 0, 0, 0x80}) {
		t.Errorf("150.5 as TW_ONEVALUE: % x", b)
	}
	if b := Int16Value(-1); !bytes.Equal(b, []byte{TYInt16, 0, 0xff, 0xff, 0, 0}) {
		t.Errorf("CAP_XFERCOUNT -1: % x", b)
	}
	if b := BoolValue(true); !bytes.Equal(b, []byte{TYBool, 0, 1, 0, 0, 0}) {
		t.Errorf("TRUE: % x", b)
	}
	if f := ToFix32(-0.25); f.Float() != -0.25 {
		t.Errorf("-0.25 → %+v → %v", f, f.Float())
	}
	c := Layout{8}.Capability(ICapXResolution, ONOneValue, 0x11223344)
	if ct, h := (Layout{8}).DecodeCapability(c); ct != ONOneValue || h != 0x11223344 || len(c) != 12 {
		t.Errorf("TW_CAPABILITY % x", c)
	}
	// Containers a source returns.
	one, err := DecodeContainer(ONOneValue, Fix32Value(200))
	if err != nil || one.Current != 200 {
		t.Errorf("one value: %+v, %v", one, err)
	}
	enum := []byte{TYUint16, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2, 0} // BW, GRAY, RGB; current GRAY
	v, err := DecodeContainer(ONEnumeration, enum)
	if err != nil || v.Current != PTGray || fmt.Sprint(v.Allowed) != "[0 1 2]" {
		t.Errorf("enumeration: %+v, %v", v, err)
	}
	rng := make([]byte, SizeRange)
	le.PutUint16(rng[0:], TYFix32)
	for i, f := range []float64{50, 600, 1, 300, 200} {
		le.PutUint32(rng[2+4*i:], ToFix32(f).uint32())
	}
	r, err := DecodeContainer(ONRange, rng)
	if err != nil || !r.IsRange || r.Min != 50 || r.Max != 600 || r.Current != 200 {
		t.Errorf("range: %+v, %v", r, err)
	}
	if _, err := DecodeContainer(ONEnumeration, enum[:15]); err == nil {
		t.Error("a cut enumeration was read")
	}
}

func TestMemXferEncoding(t *testing.T) {
	b := Layout{8}.ImageMemXfer(0xABCDEF, 65536)
	if len(b) != 42 || le.Uint32(b[26:]) != MFAppOwns|MFPointer || le.Uint32(b[30:]) != 65536 || le.Uint64(b[34:]) != 0xABCDEF {
		t.Errorf("TW_IMAGEMEMXFER % x", b)
	}
	le.PutUint32(b[2:], 100)  // BytesPerRow
	le.PutUint32(b[10:], 3)   // Rows
	le.PutUint32(b[18:], 6)   // YOffset
	le.PutUint32(b[22:], 300) // BytesWritten
	le.PutUint16(b[0:], CPNone)
	st := DecodeImageMemXfer(b)
	if st.BytesPerRow != 100 || st.Rows != 3 || st.YOffset != 6 || st.BytesWritten != 300 {
		t.Errorf("strip %+v", st)
	}
}

func TestFaults(t *testing.T) {
	for cc, want := range map[uint16]hardware.FaultKind{
		CCPaperJam: hardware.PaperJam, CCPaperDoubleFeed: hardware.DoubleFeed,
		CCInterlock: hardware.CoverOpen, CCCheckDeviceOnline: hardware.DeviceGone, CCBadValue: "", CCNoMedia: "",
	} {
		if got := FaultOf(cc); got != want {
			t.Errorf("condition %d: %q, want %q", cc, got, want)
		}
	}
	if e := (&Error{Op: "MSG_ENABLEDS", RC: RCFailure, Cond: CCPaperJam}); !strings.Contains(e.Error(), "paper jam") {
		t.Error(e)
	}
}

// dib builds a bottom-up DIB as Windows lays it out.
func dib(w, h, bits int, palette []color.RGBA, pixel func(x, y int) []byte) []byte {
	stride := (w*bits + 31) / 32 * 4
	var b bytes.Buffer
	hdr := make([]byte, 40)
	le.PutUint32(hdr[0:], 40)
	le.PutUint32(hdr[4:], uint32(w))
	le.PutUint32(hdr[8:], uint32(h))
	le.PutUint16(hdr[12:], 1)
	le.PutUint16(hdr[14:], uint16(bits))
	le.PutUint32(hdr[24:], 11811) // 300 dpi
	le.PutUint32(hdr[32:], uint32(len(palette)))
	b.Write(hdr)
	for _, c := range palette {
		b.Write([]byte{c.B, c.G, c.R, 0})
	}
	for y := h - 1; y >= 0; y-- {
		row := make([]byte, stride)
		for x := 0; x < w; x++ {
			p := pixel(x, y)
			switch bits {
			case 1:
				row[x/8] |= p[0] << (7 - x%8)
			case 8:
				row[x] = p[0]
			case 24:
				copy(row[3*x:], p)
			}
		}
		b.Write(row)
	}
	return b.Bytes()
}

func TestDIB(t *testing.T) {
	grays := make([]color.RGBA, 256)
	for i := range grays {
		grays[i] = color.RGBA{uint8(i), uint8(i), uint8(i), 255}
	}
	// 8-bit grey, odd width (rows padded), top row dark.
	g := dib(5, 3, 8, grays, func(x, y int) []byte { return []byte{uint8(y*100 + x)} })
	img, dpi, err := DIB(g)
	if err != nil || dpi != 300 {
		t.Fatalf("grey DIB: %v, %d dpi", err, dpi)
	}
	gray, ok := img.(*image.Gray)
	if !ok || gray.GrayAt(4, 0).Y != 4 || gray.GrayAt(1, 2).Y != 201 {
		t.Errorf("grey DIB: %T, (4,0)=%v (1,2)=%v; want top-down rows", img, gray.GrayAt(4, 0), gray.GrayAt(1, 2))
	}
	// 1-bit with a white/black palette.
	bw := dib(10, 2, 1, []color.RGBA{{0, 0, 0, 255}, {255, 255, 255, 255}}, func(x, y int) []byte { return []byte{uint8((x + y) % 2)} })
	img, _, err = DIB(bw)
	if err != nil {
		t.Fatal(err)
	}
	if g := img.(*image.Gray); g.GrayAt(0, 0).Y != 0 || g.GrayAt(1, 0).Y != 255 || g.GrayAt(0, 1).Y != 255 {
		t.Errorf("1-bit DIB pixels %v %v %v", g.GrayAt(0, 0), g.GrayAt(1, 0), g.GrayAt(0, 1))
	}
	// 24-bit BGR.
	c := dib(3, 2, 24, nil, func(x, y int) []byte { return []byte{10, 20, uint8(30 + x + 10*y)} })
	img, _, err = DIB(c)
	if err != nil {
		t.Fatal(err)
	}
	if r, g, b, _ := img.At(2, 1).RGBA(); r>>8 != 42 || g>>8 != 20 || b>>8 != 10 {
		t.Errorf("24-bit pixel (2,1) = %d %d %d, want 42 20 10 (BGR order read back)", r>>8, g>>8, b>>8)
	}
	png1, err := PNG(img)
	if err != nil {
		t.Fatal(err)
	}
	if back, err := png.Decode(bytes.NewReader(png1)); err != nil || back.Bounds().Dx() != 3 {
		t.Errorf("PNG of the DIB: %v", err)
	}
	// Broken input is refused, not read out of bounds.
	for name, b := range map[string][]byte{
		"short header": g[:20], "cut pixels": g[:len(g)-3], "cut palette": g[:40+100],
		"compressed": func() []byte { x := bytes.Clone(g); le.PutUint32(x[16:], 1); return x }(),
		"huge":       func() []byte { x := bytes.Clone(g); le.PutUint32(x[4:], 1<<20); return x }(),
	} {
		if _, _, err := DIB(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestStripsAndRaster(t *testing.T) {
	info := ImageInfo{Width: 4, Length: 3, PixelType: PTRGB, BitsPerPixel: 24}
	var s Strips
	row := func(v byte) []byte { return bytes.Repeat([]byte{v, v + 1, v + 2}, 4) }
	// Strips may come in any order, each at its YOffset.
	if err := s.Add(MemStrip{BytesPerRow: 12, Rows: 1, YOffset: 2, BytesWritten: 12}, row(90)); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(MemStrip{BytesPerRow: 12, Rows: 2, YOffset: 0, BytesWritten: 24}, append(row(10), row(50)...)); err != nil {
		t.Fatal(err)
	}
	img, err := s.Image(info)
	if err != nil {
		t.Fatal(err)
	}
	if r, g, b, _ := img.At(3, 2).RGBA(); r>>8 != 90 || g>>8 != 91 || b>>8 != 92 {
		t.Errorf("pixel (3,2) = %d %d %d", r>>8, g>>8, b>>8)
	}
	if r, _, _, _ := img.At(0, 1).RGBA(); r>>8 != 50 {
		t.Errorf("pixel (0,1) red %d", r>>8)
	}
	bw, err := Raster(ImageInfo{Width: 9, Length: 1, PixelType: PTBW, BitsPerPixel: 1}, []byte{0x80, 0x80}, 2)
	if err != nil || bw.(*image.Gray).GrayAt(0, 0).Y != 255 || bw.(*image.Gray).GrayAt(1, 0).Y != 0 || bw.(*image.Gray).GrayAt(8, 0).Y != 255 {
		t.Errorf("black and white raster: %v", err)
	}
	if _, err := Raster(info, make([]byte, 10), 12); err == nil {
		t.Error("a short raster was accepted")
	}
	if err := s.Add(MemStrip{BytesPerRow: 12, Rows: 5, BytesWritten: 12}, row(1)); err == nil {
		t.Error("a strip claiming more rows than its bytes was accepted")
	}
	if err := s.Add(MemStrip{Compression: 2, BytesPerRow: 12, Rows: 1}, row(1)); err == nil {
		t.Error("a compressed strip was accepted")
	}
}
