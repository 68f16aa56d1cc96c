package readiness

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"

	"giascan/hardware"
	"giascan/recognition/imagein"
)

// Image is a decoded scan of the calibration sheet.
type Image struct {
	Gray *image.Gray
	DPI  int // nominal resolution the file declares; 0 when it does not say
}

// Decode reads a scan file held in memory (JPEG, PNG, TIFF or PDF; the
// first page) as grey; name is used in errors only.
func Decode(data []byte, name string) (Image, error) {
	doc, err := imagein.FromBytes(data, name, imagein.Limits{})
	if err != nil {
		return Image{}, fmt.Errorf("read scan %s: %w", name, err)
	}
	defer doc.Close()
	m, info, err := doc.Page(0)
	if err != nil {
		return Image{}, fmt.Errorf("read scan %s: %w", name, err)
	}
	defer m.Close()
	g := image.NewGray(image.Rect(0, 0, m.Cols(), m.Rows()))
	copy(g.Pix, m.ToBytes())
	dpi := int(math.Round((info.DPIX + info.DPIY) / 2))
	return Image{Gray: g, DPI: dpi}, nil
}

// errEnough stops a scan run once the calibration sheet has been taken.
var errEnough = errors.New("calibration sheet taken")

// ScanSheet feeds one sheet through dev and returns its front page. A
// second page in the feeder stays there.
func ScanSheet(ctx context.Context, dev hardware.Scanner, opts hardware.Options) (hardware.Page, error) {
	var got *hardware.Page
	err := dev.Scan(ctx, opts, func(p hardware.Page) error {
		if got != nil {
			return errEnough
		}
		if p.Side == hardware.Back {
			return nil // the calibration sheet's back is empty
		}
		got = &p
		return nil
	})
	if err != nil && !errors.Is(err, errEnough) {
		return hardware.Page{}, fmt.Errorf("scan the calibration sheet: %w", err)
	}
	if got == nil {
		return hardware.Page{}, errors.New("scan the calibration sheet: the feeder is empty")
	}
	return *got, nil
}
