package packaging

import (
	"bytes"
	"fmt"
	"image"

	"gocv.io/x/gocv"

	"giascan/recognition/imagein"
	"giascan/transport/g4"
)

// Profile is how page images are re-encoded for the РЦОИ.
type Profile string

// Profiles. Bilevel is the default: a G4 page is a tenth of a JPEG and
// the recogniser reads marks, digits and codes from black and white alone.
// Grey keeps pencil-faint strokes and smudges that a threshold would drop,
// for regions whose verifiers want to see the paper as it was.
const (
	Bilevel Profile = "bilevel"
	Grey    Profile = "grey"
)

// ParseProfile checks a profile name.
func ParseProfile(s string) (Profile, error) {
	switch Profile(s) {
	case Bilevel, Grey:
		return Profile(s), nil
	}
	return "", fmt.Errorf("профиль изображений %q не поддерживается: укажите bilevel или grey", s)
}

// Ext is the file extension of a page image in this profile.
func (p Profile) Ext() string {
	if p == Grey {
		return ".jpg"
	}
	return ".tif"
}

// JPEGQuality is the quality of grey pages: at 80 the ringing around
// strokes stays below what moves a mark's ink share, and a 300 dpi A4 page
// is a few hundred kilobytes.
const JPEGQuality = 80

// DefaultDPI is assumed for a stored image whose file and record both
// lack a resolution: the contract's nominal scan resolution.
const DefaultDPI = 300

// Encode decodes a stored scan (any format the station accepts) and
// re-encodes its first page in profile p. dpi is the resolution recorded
// for the scan (0: the file's own, else DefaultDPI).
func Encode(data []byte, name string, dpi int, p Profile) ([]byte, error) {
	doc, err := imagein.FromBytes(data, name, imagein.Limits{})
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", name, err)
	}
	defer doc.Close()
	m, info, err := doc.Page(0)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", name, err)
	}
	defer m.Close()
	if dpi <= 0 {
		dpi = int(info.DPIX + 0.5)
	}
	if dpi <= 0 {
		dpi = DefaultDPI
	}
	switch p {
	case Grey:
		return encodeJPEG(m, dpi)
	case Bilevel:
		return encodeG4(m, dpi)
	}
	return nil, fmt.Errorf("image profile %q is unknown", p)
}

// encodeG4 thresholds with Otsu's level, so a faint scan keeps its pencil
// marks and a dark one does not turn its paper black, then writes a
// one-page G4 TIFF at the scan's resolution.
func encodeG4(m gocv.Mat, dpi int) ([]byte, error) {
	bin := gocv.NewMat()
	defer bin.Close()
	level := gocv.Threshold(m, &bin, 0, 255, gocv.ThresholdBinary|gocv.ThresholdOtsu)
	// Otsu on a nearly blank page can land anywhere; keep the level where
	// paper stays white and pencil stays black.
	level = min(max(level, 96), 200)
	img, err := m.ToImage()
	if err != nil {
		return nil, fmt.Errorf("bilevel image: %w", err)
	}
	gray, ok := img.(*image.Gray)
	if !ok {
		return nil, fmt.Errorf("bilevel image: decoded page is %T, not grey", img)
	}
	var buf bytes.Buffer
	if err := g4.WriteTIFF(&buf, g4.Page{Image: g4.Threshold(gray, uint8(level)+1), DPI: float64(dpi)}); err != nil {
		return nil, fmt.Errorf("bilevel image: %w", err)
	}
	return buf.Bytes(), nil
}

// encodeJPEG writes a grey JPEG and records the resolution in its JFIF
// header, which OpenCV leaves at 1:1 aspect with no unit.
func encodeJPEG(m gocv.Mat, dpi int) ([]byte, error) {
	nb, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, m, []int{gocv.IMWriteJpegQuality, JPEGQuality})
	if err != nil {
		return nil, fmt.Errorf("grey image: %w", err)
	}
	defer nb.Close()
	out := bytes.Clone(nb.GetBytes())
	setJFIFDensity(out, dpi)
	return out, nil
}

// setJFIFDensity writes dpi into a JFIF APP0 segment right after SOI, if
// there is one; otherwise the JPEG is left as it is.
func setJFIFDensity(b []byte, dpi int) {
	// SOI, APP0 marker, length(2), "JFIF\0", version(2), units, Xd(2), Yd(2)
	if len(b) < 18 || b[0] != 0xFF || b[1] != 0xD8 || b[2] != 0xFF || b[3] != 0xE0 || string(b[6:11]) != "JFIF\x00" || dpi > 0xFFFF {
		return
	}
	b[13] = 1 // dots per inch
	b[14], b[15] = byte(dpi>>8), byte(dpi)
	b[16], b[17] = byte(dpi>>8), byte(dpi)
}
