package imagein

import (
	"encoding/binary"
	"fmt"
	"sort"

	"gocv.io/x/gocv"
)

// OpenCV 4.6 (and gocv) decode only the first page of a TIFF from memory.
// So the file is split here: each page's directory is re-wrapped, with its
// strips or tiles, as a small single-page TIFF that OpenCV (libtiff inside)
// decodes. Only the tags needed to decode pixels are carried over, which also
// keeps private and Exif sub-directories of a damaged file away from libtiff.

// TIFF tags the station reads or carries into the re-wrapped page.
const (
	tagNewSubfileType   = 254
	tagImageWidth       = 256
	tagImageLength      = 257
	tagBitsPerSample    = 258
	tagCompression      = 259
	tagPhotometric      = 262
	tagFillOrder        = 266
	tagStripOffsets     = 273
	tagSamplesPerPixel  = 277
	tagRowsPerStrip     = 278
	tagStripByteCounts  = 279
	tagXResolution      = 282
	tagYResolution      = 283
	tagPlanarConfig     = 284
	tagT4Options        = 292
	tagT6Options        = 293
	tagResolutionUnit   = 296
	tagPredictor        = 317
	tagColorMap         = 320
	tagTileWidth        = 322
	tagTileLength       = 323
	tagTileOffsets      = 324
	tagTileByteCounts   = 325
	tagExtraSamples     = 338
	tagSampleFormat     = 339
	tagJPEGTables       = 347
	tagYCbCrSubsampling = 530
	tagYCbCrPositioning = 531
	tagRefBlackWhite    = 532
)

// keepTags are copied into the re-wrapped page. Orientation is left out on
// purpose: OpenCV would honour it for 1-bit pages (libtiff's RGBA path) but
// not for 8-bit ones, and the recognizer finds the page's rotation itself.
var keepTags = map[uint16]bool{
	tagImageWidth: true, tagImageLength: true, tagBitsPerSample: true,
	tagCompression: true, tagPhotometric: true, tagFillOrder: true,
	tagSamplesPerPixel: true, tagRowsPerStrip: true, tagXResolution: true,
	tagYResolution: true, tagPlanarConfig: true, tagT4Options: true,
	tagT6Options: true, tagResolutionUnit: true, tagPredictor: true,
	tagColorMap: true, tagTileWidth: true, tagTileLength: true,
	tagExtraSamples: true, tagSampleFormat: true, tagJPEGTables: true,
	tagYCbCrSubsampling: true, tagYCbCrPositioning: true, tagRefBlackWhite: true,
}

// tiffCompression names the compressions libtiff decodes for us.
var tiffCompression = map[uint64]string{
	1: "none", 2: "ccitt-rle", 3: "ccitt-g3", 4: "ccitt-g4", 5: "lzw",
	7: "jpeg", 8: "deflate", 32946: "deflate", 32773: "packbits",
}

// Sizes in bytes of the TIFF field types; 0 for unknown types.
var tiffTypeSize = [...]uint64{1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}

const (
	tiffShort = 3
	tiffLong  = 4
)

// tiffFile is a parsed TIFF header over the whole file's bytes.
type tiffFile struct {
	data  []byte
	bo    binary.ByteOrder
	first uint32
}

// ifdEntry is one directory entry; val holds the value's bytes (in the
// file's byte order), nil when they lie outside the file.
type ifdEntry struct {
	tag   uint16
	typ   uint16
	count uint32
	val   []byte
}

type ifd map[uint16]ifdEntry

func parseTIFFHeader(b []byte) (*tiffFile, error) {
	if len(b) < 8 {
		return nil, errorf(ErrTruncated, "TIFF header")
	}
	t := &tiffFile{data: b}
	switch string(b[:2]) {
	case "II":
		t.bo = binary.LittleEndian
	case "MM":
		t.bo = binary.BigEndian
	default:
		return nil, errorf(ErrCorrupt, "TIFF byte order mark")
	}
	if v := t.bo.Uint16(b[2:]); v != 42 {
		if v == 43 {
			return nil, errorf(ErrUnsupported, "BigTIFF")
		}
		return nil, errorf(ErrCorrupt, "TIFF version %d", v)
	}
	t.first = t.bo.Uint32(b[4:])
	return t, nil
}

// readIFD parses the directory at off and returns it with the offset of the
// next one (0 at the end of the chain).
func (t *tiffFile) readIFD(off uint32) (ifd, uint32, error) {
	if off < 8 || uint64(off)+2 > uint64(len(t.data)) {
		if uint64(off) >= uint64(len(t.data)) {
			return nil, 0, errorf(ErrTruncated, "TIFF directory at %d beyond the end of the file", off)
		}
		return nil, 0, errorf(ErrCorrupt, "TIFF directory offset %d", off)
	}
	n := uint64(t.bo.Uint16(t.data[off:]))
	if n == 0 {
		return nil, 0, errorf(ErrCorrupt, "empty TIFF directory at %d", off)
	}
	end := uint64(off) + 2 + 12*n + 4
	if end > uint64(len(t.data)) {
		return nil, 0, errorf(ErrTruncated, "TIFF directory at %d", off)
	}
	d := make(ifd, n)
	for i := uint64(0); i < n; i++ {
		e := t.data[uint64(off)+2+12*i:][:12]
		en := ifdEntry{tag: t.bo.Uint16(e), typ: t.bo.Uint16(e[2:]), count: t.bo.Uint32(e[4:])}
		if int(en.typ) >= len(tiffTypeSize) || tiffTypeSize[en.typ] == 0 {
			continue // unknown type: readers must skip it
		}
		size := uint64(en.count) * tiffTypeSize[en.typ]
		if size <= 4 {
			en.val = e[8 : 8+size]
		} else if vo := uint64(t.bo.Uint32(e[8:])); vo+size <= uint64(len(t.data)) {
			en.val = t.data[vo : vo+size]
		}
		d[en.tag] = en
	}
	return d, t.bo.Uint32(t.data[end-4:]), nil
}

// uints returns an integer field's values; ok is false when the tag is
// absent, err when it is present but unusable.
func (t *tiffFile) uints(d ifd, tag uint16) (v []uint64, ok bool, err error) {
	e, ok := d[tag]
	if !ok {
		return nil, false, nil
	}
	if e.val == nil {
		return nil, true, errorf(ErrCorrupt, "TIFF tag %d points outside the file", tag)
	}
	v = make([]uint64, e.count)
	for i := range v {
		switch e.typ {
		case 1, 7:
			v[i] = uint64(e.val[i])
		case tiffShort:
			v[i] = uint64(t.bo.Uint16(e.val[2*i:]))
		case tiffLong, 13:
			v[i] = uint64(t.bo.Uint32(e.val[4*i:]))
		default:
			return nil, true, errorf(ErrCorrupt, "TIFF tag %d has type %d, want an integer", tag, e.typ)
		}
	}
	return v, true, nil
}

// uint returns the first value of an integer tag, or def when absent.
func (t *tiffFile) uint(d ifd, tag uint16, def uint64) (uint64, error) {
	v, ok, err := t.uints(d, tag)
	if err != nil {
		return 0, err
	}
	if !ok {
		return def, nil
	}
	if len(v) == 0 {
		return 0, errorf(ErrCorrupt, "TIFF tag %d has no value", tag)
	}
	return v[0], nil
}

// rational returns a RATIONAL tag's first value, 0 when absent or bad.
func (t *tiffFile) rational(d ifd, tag uint16) float64 {
	e, ok := d[tag]
	if !ok || e.typ != 5 || e.count < 1 || e.val == nil {
		return 0
	}
	num, den := t.bo.Uint32(e.val), t.bo.Uint32(e.val[4:])
	if den == 0 {
		return 0
	}
	return float64(num) / float64(den)
}

// resolution returns the directory's resolution in dots per inch; 0 when
// it is missing or given without a unit (ResolutionUnit 1).
func (t *tiffFile) resolution(d ifd) (float64, float64) {
	unit, err := t.uint(d, tagResolutionUnit, 2)
	if err != nil {
		return 0, 0
	}
	x, y := t.rational(d, tagXResolution), t.rational(d, tagYResolution)
	switch unit {
	case 2:
		return x, y
	case 3:
		return x * 2.54, y * 2.54
	}
	return 0, 0
}

// tiffPage is one page of a TIFF file: its directory, or the error that
// ended the directory chain there.
type tiffPage struct {
	ifd ifd
	err error
}

type tiffDoc struct {
	t      *tiffFile
	limits Limits
	list   []tiffPage
}

// openTIFF walks the directory chain. Thumbnails and transparency masks
// (NewSubfileType bits 0 and 2) are not pages. A chain that breaks after
// some good pages keeps them and reports the break as one more, failing,
// page, so the operator sees both what was read and that the file is cut.
func openTIFF(data []byte, limits Limits) (pager, error) {
	t, err := parseTIFFHeader(data)
	if err != nil {
		return nil, err
	}
	doc := &tiffDoc{t: t, limits: limits}
	seen := map[uint32]bool{}
	for off := t.first; off != 0 && !seen[off]; {
		seen[off] = true
		d, next, err := t.readIFD(off)
		if err != nil {
			if len(doc.list) == 0 {
				return nil, err
			}
			doc.list = append(doc.list, tiffPage{err: fmt.Errorf("directory chain broken: %w", err)})
			break
		}
		off = next
		if kind, err := t.uint(d, tagNewSubfileType, 0); err == nil && kind&5 != 0 {
			continue
		}
		if len(doc.list) >= limits.MaxPages {
			return nil, errorf(ErrTooLarge, "more than %d pages", limits.MaxPages)
		}
		doc.list = append(doc.list, tiffPage{ifd: d})
	}
	if len(doc.list) == 0 {
		return nil, errorf(ErrCorrupt, "TIFF has no page")
	}
	return doc, nil
}

func (d *tiffDoc) pages() int { return len(d.list) }

func (d *tiffDoc) page(i int) (gocv.Mat, Info, error) {
	p := d.list[i]
	if p.err != nil {
		return gocv.Mat{}, Info{}, p.err
	}
	s, err := d.single(p.ifd)
	if err != nil {
		return gocv.Mat{}, Info{}, err
	}
	m, info, err := s.page(0)
	if err != nil {
		return m, info, err
	}
	return m, info, nil
}

// single checks one page's directory and re-wraps it as a one-page TIFF.
func (d *tiffDoc) single(dir ifd) (*singleImage, error) {
	t := d.t
	w, err := t.uint(dir, tagImageWidth, 0)
	if err != nil {
		return nil, err
	}
	h, err := t.uint(dir, tagImageLength, 0)
	if err != nil {
		return nil, err
	}
	if w > maxSide || h > maxSide {
		return nil, errorf(ErrTooLarge, "%d×%d pixels", w, h)
	}
	if err := d.limits.checkSize(int64(w), int64(h)); err != nil {
		return nil, err
	}
	info := Info{}
	info.DPIX, info.DPIY = t.resolution(dir)
	comp, err := t.uint(dir, tagCompression, 1)
	if err != nil {
		return nil, err
	}
	name, ok := tiffCompression[comp]
	if !ok {
		if comp == 6 {
			return nil, errorf(ErrUnsupported, "old-style JPEG in TIFF")
		}
		return nil, errorf(ErrUnsupported, "TIFF compression %d", comp)
	}
	info.Compression = name
	bps, err := t.uint(dir, tagBitsPerSample, 1)
	if err != nil {
		return nil, err
	}
	spp, err := t.uint(dir, tagSamplesPerPixel, 1)
	if err != nil {
		return nil, err
	}
	switch bps {
	case 1, 2, 4, 8, 16:
	default:
		return nil, errorf(ErrUnsupported, "TIFF with %d bits per sample", bps)
	}
	if spp < 1 || spp > 4 {
		return nil, errorf(ErrUnsupported, "TIFF with %d samples per pixel", spp)
	}
	info.BitsPerSample = int(bps)
	photo, err := t.uint(dir, tagPhotometric, 1)
	if err != nil {
		return nil, err
	}
	switch photo {
	case 0, 1:
		info.Model = ModelGrey
		if bps == 1 {
			info.Model = ModelBilevel
		}
	case 2, 5, 6:
		info.Model = ModelColour
	case 3:
		info.Model = ModelPalette
	default:
		return nil, errorf(ErrUnsupported, "TIFF photometric interpretation %d", photo)
	}

	offTag, cntTag := uint16(tagStripOffsets), uint16(tagStripByteCounts)
	if _, tiled := dir[tagTileOffsets]; tiled {
		offTag, cntTag = tagTileOffsets, tagTileByteCounts
		tw, err := t.uint(dir, tagTileWidth, 0)
		if err != nil {
			return nil, err
		}
		th, err := t.uint(dir, tagTileLength, 0)
		if err != nil {
			return nil, err
		}
		// OpenCV allocates one tile's worth of pixels and libtiff decodes
		// every tile whole, so tiles much larger than the page would cost
		// far more than the page itself.
		if tw == 0 || th == 0 || tw > maxSide || th > maxSide {
			return nil, errorf(ErrCorrupt, "TIFF tile size %d×%d", tw, th)
		}
		if across, down := (w+tw-1)/tw, (h+th-1)/th; across*down*tw*th > 4*uint64(d.limits.MaxPixels) {
			return nil, errorf(ErrTooLarge, "TIFF tiles of %d×%d for a %d×%d page", tw, th, w, h)
		}
	}
	offs, ok, err := t.uints(dir, offTag)
	if err != nil {
		return nil, err
	}
	if !ok || len(offs) == 0 {
		return nil, errorf(ErrCorrupt, "TIFF page without image data offsets")
	}
	counts, ok, err := t.uints(dir, cntTag)
	if err != nil {
		return nil, err
	}
	if !ok || len(counts) != len(offs) {
		return nil, errorf(ErrCorrupt, "TIFF page with %d data offsets and %d byte counts", len(offs), len(counts))
	}
	var total uint64
	for k := range offs {
		end := offs[k] + counts[k]
		if end > uint64(len(t.data)) {
			if offs[k] < uint64(len(t.data)) {
				return nil, errorf(ErrTruncated, "TIFF image data ends at %d, file at %d", end, len(t.data))
			}
			return nil, errorf(ErrTruncated, "TIFF image data at %d beyond the end of the file", offs[k])
		}
		total += counts[k]
	}
	buf, err := t.rewrap(dir, offTag, cntTag, offs, counts, total)
	if err != nil {
		return nil, err
	}
	return &singleImage{data: buf, limits: d.limits, w: int64(w), h: int64(h), info: info}, nil
}

// rewrap writes a single-page TIFF: header, one directory with the kept
// tags, their out-of-line values, then the page's strips or tiles.
func (t *tiffFile) rewrap(dir ifd, offTag, cntTag uint16, offs, counts []uint64, total uint64) ([]byte, error) {
	tags := make([]uint16, 0, len(dir))
	for tag, e := range dir {
		if tag == offTag || tag == cntTag {
			tags = append(tags, tag)
			continue
		}
		if !keepTags[tag] {
			continue
		}
		// Checked before any sizing: the count of a value that is not in
		// the file is unbounded and must not size the new buffer.
		if e.val == nil {
			return nil, errorf(ErrCorrupt, "TIFF tag %d points outside the file", tag)
		}
		tags = append(tags, tag)
	}
	sort.Slice(tags, func(a, b int) bool { return tags[a] < tags[b] })
	n := uint64(len(tags))
	arrays := uint64(len(offs)) * 4
	// Pass 1: sizes. Out-of-line values start right after the directory,
	// each on an even offset as TIFF requires.
	pos := 8 + 2 + 12*n + 4
	valueSize := func(tag uint16) uint64 {
		if tag == offTag || tag == cntTag {
			return arrays
		}
		return uint64(len(dir[tag].val))
	}
	for _, tag := range tags {
		if s := valueSize(tag); s > 4 {
			pos += s + s&1
		}
	}
	if pos+total > 1<<32-1 {
		return nil, errorf(ErrTooLarge, "TIFF page over 4 GiB")
	}
	out := make([]byte, pos+total)
	bo := t.bo
	copy(out, t.data[:2])
	bo.PutUint16(out[2:], 42)
	bo.PutUint32(out[4:], 8)
	bo.PutUint16(out[8:], uint16(n))
	data := pos // pixel data goes after all values
	pos = 8 + 2 + 12*n + 4
	for i, tag := range tags {
		e := out[8+2+12*uint64(i):][:12]
		bo.PutUint16(e, tag)
		var val []byte
		if tag == offTag || tag == cntTag {
			bo.PutUint16(e[2:], tiffLong)
			bo.PutUint32(e[4:], uint32(len(offs)))
			val = make([]byte, arrays)
			at := data
			for k := range offs {
				v := counts[k]
				if tag == offTag {
					v = at
				}
				bo.PutUint32(val[4*k:], uint32(v))
				at += counts[k]
			}
		} else {
			src := dir[tag]
			bo.PutUint16(e[2:], src.typ)
			bo.PutUint32(e[4:], src.count)
			val = src.val
		}
		if len(val) <= 4 {
			copy(e[8:], val)
			continue
		}
		bo.PutUint32(e[8:], uint32(pos))
		copy(out[pos:], val)
		pos += uint64(len(val)) + uint64(len(val)&1)
	}
	// Next-directory offset stays 0: one page.
	at := data
	for k := range offs {
		copy(out[at:], t.data[offs[k]:offs[k]+counts[k]])
		at += counts[k]
	}
	return out, nil
}
