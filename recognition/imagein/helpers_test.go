package imagein

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"sort"
	"testing"

	"gocv.io/x/gocv"
)

// Test pages are drawn, not photographed, so every check is exact: white
// paper, a black block near the top left, n small black squares along the
// bottom (the page number, to check page order) and, on grey pages, a
// mid-grey patch.

const greyLevel = 128

// drawPage draws test page n (1-based) at w×h.
func drawPage(w, h, n int, grey bool) *image.Gray {
	g := image.NewGray(image.Rect(0, 0, w, h))
	for i := range g.Pix {
		g.Pix[i] = 255
	}
	fill := func(x0, y0, x1, y1 int, v uint8) {
		for y := y0; y < y1; y++ {
			for x := x0; x < x1; x++ {
				g.SetGray(x, y, color.Gray{Y: v})
			}
		}
	}
	fill(w/10, h/10, w*3/10, h*2/10, 0)
	for k := 0; k < n; k++ {
		x := w/10 + k*w/10
		fill(x, h*85/100, x+w/20, h*85/100+w/20, 0)
	}
	if grey {
		fill(w*6/10, h*6/10, w*8/10, h*7/10, greyLevel)
	}
	return g
}

// checkPage verifies that m shows test page n; tol is the allowed error of
// a pixel value (lossy formats need some).
func checkPage(t *testing.T, m gocv.Mat, w, h, n int, grey bool, tol int) {
	t.Helper()
	if m.Type() != gocv.MatTypeCV8UC1 {
		t.Fatalf("Mat type %v, want 8-bit grey", m.Type())
	}
	if m.Cols() != w || m.Rows() != h {
		t.Fatalf("Mat %d×%d, want %d×%d", m.Cols(), m.Rows(), w, h)
	}
	at := func(x, y int) int { return int(m.GetUCharAt(y, x)) }
	near := func(what string, x, y, want int) {
		t.Helper()
		if v := at(x, y); v < want-tol || v > want+tol {
			t.Errorf("page %d: %s at (%d,%d) = %d, want %d±%d", n, what, x, y, v, want, tol)
		}
	}
	near("paper", w/2, h/20, 255)
	near("block", w/5, h*15/100, 0)
	for k := 0; k < 8; k++ {
		x := w/10 + k*w/10 + w/40
		want := 255
		if k < n {
			want = 0
		}
		near(fmt.Sprintf("page mark %d", k+1), x, h*85/100+w/40, want)
	}
	if grey {
		near("grey patch", w*7/10, h*65/100, greyLevel)
	}
}

// tiffSpec describes one page for the test TIFF writer.
type tiffSpec struct {
	img        *image.Gray
	bits       int  // 1 or 8 (grey), 24 (RGB from the grey image)
	minIsWhite bool // photometric 0
	rowsPer    int  // rows per strip; 0 means one strip
	dpi        uint32
	subfile    uint32 // NewSubfileType, e.g. 1 for a thumbnail
}

// writeTIFF writes an uncompressed TIFF with the given pages; tiffcp turns
// such files into G4, LZW and deflate ones.
func writeTIFF(pages []tiffSpec, bo binary.ByteOrder) []byte {
	var buf bytes.Buffer
	if bo == binary.BigEndian {
		buf.WriteString("MM\x00*")
	} else {
		buf.WriteString("II*\x00")
	}
	u32 := func(v uint32) []byte { b := make([]byte, 4); bo.PutUint32(b, v); return b }
	buf.Write(u32(0)) // first IFD offset, patched below
	prevNext := 4
	for _, p := range pages {
		w, h := p.img.Rect.Dx(), p.img.Rect.Dy()
		rowBytes := w
		switch p.bits {
		case 1:
			rowBytes = (w + 7) / 8
		case 24:
			rowBytes = 3 * w
		}
		rows := p.rowsPer
		if rows <= 0 || rows > h {
			rows = h
		}
		// Pixel data first, strip by strip.
		var offs, counts []uint32
		for y0 := 0; y0 < h; y0 += rows {
			offs = append(offs, uint32(buf.Len()))
			n := 0
			for y := y0; y < min(y0+rows, h); y++ {
				row := make([]byte, rowBytes)
				for x := 0; x < w; x++ {
					v := p.img.GrayAt(x, y).Y
					if p.minIsWhite {
						v = 255 - v
					}
					switch p.bits {
					case 1:
						if v >= 128 {
							row[x/8] |= 0x80 >> (x % 8)
						}
					case 8:
						row[x] = v
					case 24:
						row[3*x], row[3*x+1], row[3*x+2] = v, v, v
					}
				}
				buf.Write(row)
				n += len(row)
			}
			counts = append(counts, uint32(n))
		}
		if buf.Len()%2 == 1 {
			buf.WriteByte(0)
		}
		// Out-of-line values.
		arr := func(v []uint32) (uint32, uint32) {
			if len(v) == 1 {
				return v[0], 1
			}
			at := uint32(buf.Len())
			for _, x := range v {
				buf.Write(u32(x))
			}
			return at, uint32(len(v))
		}
		offAt, nOff := arr(offs)
		cntAt, _ := arr(counts)
		resAt := uint32(buf.Len())
		buf.Write(u32(p.dpi))
		buf.Write(u32(1))
		bpsAt := uint32(0)
		if p.bits == 24 {
			bpsAt = uint32(buf.Len())
			buf.Write([]byte{8, 0, 8, 0, 8, 0}) // little-endian shorts; fixed below
			if bo == binary.BigEndian {
				copy(buf.Bytes()[bpsAt:], []byte{0, 8, 0, 8, 0, 8})
			}
			buf.WriteByte(0)
		}
		type ent struct {
			tag, typ uint16
			n, v     uint32
		}
		photo := uint32(1)
		if p.minIsWhite {
			photo = 0
		}
		bps, spp := uint32(p.bits), uint32(1)
		if p.bits == 24 {
			bps, spp, photo = bpsAt, 3, 2
		}
		ents := []ent{
			{256, 4, 1, uint32(w)}, {257, 4, 1, uint32(h)},
			{259, 3, 1, 1}, {262, 3, 1, photo}, {273, 4, nOff, offAt},
			{277, 3, 1, spp}, {278, 4, 1, uint32(rows)}, {279, 4, nOff, cntAt},
			{296, 3, 1, 2},
		}
		if p.bits == 24 {
			ents = append(ents, ent{258, 3, 3, bps})
		} else {
			ents = append(ents, ent{258, 3, 1, bps})
		}
		if p.dpi > 0 {
			ents = append(ents, ent{282, 5, 1, resAt}, ent{283, 5, 1, resAt})
		}
		if p.subfile != 0 {
			ents = append(ents, ent{254, 4, 1, p.subfile})
		}
		sort.Slice(ents, func(a, b int) bool { return ents[a].tag < ents[b].tag })
		ifdAt := uint32(buf.Len())
		bo.PutUint32(buf.Bytes()[prevNext:], ifdAt)
		b := make([]byte, 2)
		bo.PutUint16(b, uint16(len(ents)))
		buf.Write(b)
		for _, e := range ents {
			x := make([]byte, 12)
			bo.PutUint16(x, e.tag)
			bo.PutUint16(x[2:], e.typ)
			bo.PutUint32(x[4:], e.n)
			if e.typ == 3 && e.n == 1 {
				bo.PutUint16(x[8:], uint16(e.v))
			} else {
				bo.PutUint32(x[8:], e.v)
			}
			buf.Write(x)
		}
		prevNext = buf.Len()
		buf.Write(u32(0))
	}
	return buf.Bytes()
}

// pdfObj is one object of a hand-built PDF; stream is appended as the
// object's stream when not nil.
type pdfObj struct {
	dict   string
	stream []byte
}

// buildPDF writes objects 1…n with a correct cross-reference table. Object
// 1 must be the catalog.
func buildPDF(objs []pdfObj) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	offs := make([]int, len(objs))
	for i, o := range objs {
		offs[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n", i+1)
		if o.stream != nil {
			fmt.Fprintf(&b, "<< %s /Length %d >>\nstream\n", o.dict, len(o.stream))
			b.Write(o.stream)
			b.WriteString("\nendstream\nendobj\n")
		} else {
			fmt.Fprintf(&b, "%s\nendobj\n", o.dict)
		}
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

// imagePDF builds a PDF whose pages each show one image XObject, given as
// its dictionary entries and data; the page is sized for 300 dpi.
func imagePDF(images ...pdfObj) []byte {
	n := len(images)
	objs := []pdfObj{{dict: "<< /Type /Catalog /Pages 2 0 R >>"}}
	kids := ""
	for i := 0; i < n; i++ {
		kids += fmt.Sprintf("%d 0 R ", 3+3*i)
	}
	objs = append(objs, pdfObj{dict: fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", kids, n)})
	for i, im := range images {
		page, content, img := 3+3*i, 4+3*i, 5+3*i
		_ = page
		w, h := 0, 0
		fmt.Sscanf(im.dict[bytes.Index([]byte(im.dict), []byte("/Width")):], "/Width %d /Height %d", &w, &h)
		pw, ph := float64(w)*72/300, float64(h)*72/300
		objs = append(objs,
			pdfObj{dict: fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.2f %.2f] /Resources << /XObject << /Im0 %d 0 R >> >> /Contents %d 0 R >>", pw, ph, img, content)},
			pdfObj{dict: "", stream: []byte(fmt.Sprintf("q %.2f 0 0 %.2f 0 0 cm /Im0 Do Q", pw, ph))},
			pdfObj{dict: "/Type /XObject /Subtype /Image " + im.dict, stream: im.stream},
		)
	}
	return buildPDF(objs)
}

// encode writes a Gray image with OpenCV in the given format (".png", ".jpg").
func encode(t testing.TB, g *image.Gray, ext gocv.FileExt, params ...int) []byte {
	t.Helper()
	m, err := gocv.NewMatFromBytes(g.Rect.Dy(), g.Rect.Dx(), gocv.MatTypeCV8UC1, g.Pix)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var buf *gocv.NativeByteBuffer
	if len(params) > 0 {
		buf, err = gocv.IMEncodeWithParams(ext, m, params)
	} else {
		buf, err = gocv.IMEncode(ext, m)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer buf.Close()
	return bytes.Clone(buf.GetBytes())
}

// withJFIFDensity sets the density of the JFIF segment that OpenCV writes
// (units 0, 1:1) to dpi dots per inch.
func withJFIFDensity(jpg []byte, dpi uint16) []byte {
	out := bytes.Clone(jpg)
	i := bytes.Index(out, []byte("JFIF\x00"))
	if i < 0 {
		panic("no JFIF segment")
	}
	out[i+7] = 1
	binary.BigEndian.PutUint16(out[i+8:], dpi)
	binary.BigEndian.PutUint16(out[i+10:], dpi)
	return out
}

// withPHYs inserts a pHYs chunk declaring dpi after the PNG's IHDR.
func withPHYs(png []byte, dpi float64) []byte {
	body := make([]byte, 13)
	copy(body, "pHYs")
	ppm := uint32(dpi/0.0254 + 0.5)
	binary.BigEndian.PutUint32(body[4:], ppm)
	binary.BigEndian.PutUint32(body[8:], ppm)
	body[12] = 1
	chunk := binary.BigEndian.AppendUint32(nil, 9)
	chunk = append(chunk, body...)
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(body))
	at := 8 + 12 + 13 // signature, IHDR
	return append(append(bytes.Clone(png[:at]), chunk...), png[at:]...)
}

// rawTIFF writes a little-endian TIFF with one directory at offset 8 whose
// entries are LONG values with count 1, in the order given.
func rawTIFF(entries [][2]uint32) []byte {
	b := []byte("II*\x00\x08\x00\x00\x00")
	b = binary.LittleEndian.AppendUint16(b, uint16(len(entries)))
	for _, e := range entries {
		b = binary.LittleEndian.AppendUint16(b, uint16(e[0]))
		b = binary.LittleEndian.AppendUint16(b, 4)
		b = binary.LittleEndian.AppendUint32(b, 1)
		b = binary.LittleEndian.AppendUint32(b, e[1])
	}
	b = binary.LittleEndian.AppendUint32(b, 0)
	return append(b, make([]byte, 128)...)
}
