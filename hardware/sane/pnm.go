package sane

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strconv"
)

// PNMToPNG converts a binary PNM image as scanimage writes it (P4 bitmap,
// P5 grey, P6 colour; 8 or 16 bits) to PNG, since the station stores
// pages as JPEG, PNG or TIFF.
func PNMToPNG(data []byte) ([]byte, error) {
	img, err := decodePNM(data)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed} // scans are big; speed over a few percent of size
	if err := enc.Encode(&b, img); err != nil {
		return nil, fmt.Errorf("pnm to png: %w", err)
	}
	return b.Bytes(), nil
}

func decodePNM(data []byte) (image.Image, error) {
	if len(data) < 2 || data[0] != 'P' {
		return nil, errors.New("pnm: not a PNM image")
	}
	kind := data[1]
	fields := 3 // width, height, maxval
	if kind == '4' {
		fields = 2
	} else if kind != '5' && kind != '6' {
		return nil, fmt.Errorf("pnm: P%c images are not supported", kind)
	}
	// Header: magic, then whitespace-separated numbers with # comments,
	// then exactly one whitespace byte before the raster.
	pos := 2
	var nums []int
	for len(nums) < fields {
		for pos < len(data) && (isSpace(data[pos]) || data[pos] == '#') {
			if data[pos] == '#' {
				for pos < len(data) && data[pos] != '\n' {
					pos++
				}
				continue
			}
			pos++
		}
		start := pos
		for pos < len(data) && data[pos] >= '0' && data[pos] <= '9' {
			pos++
		}
		n, err := strconv.Atoi(string(data[start:pos]))
		if err != nil || n <= 0 {
			return nil, errors.New("pnm: bad header")
		}
		nums = append(nums, n)
	}
	pos++ // the single whitespace byte
	w, h := nums[0], nums[1]
	if w > 1<<16 || h > 1<<16 {
		return nil, fmt.Errorf("pnm: %dx%d is too large for a page", w, h)
	}
	raster := data[min(pos, len(data)):]
	switch kind {
	case '4':
		stride := (w + 7) / 8
		if len(raster) < stride*h {
			return nil, errors.New("pnm: short raster")
		}
		img := image.NewGray(image.Rect(0, 0, w, h))
		for y := range h {
			row := raster[y*stride:]
			for x := range w {
				if row[x/8]&(0x80>>(x%8)) == 0 { // 1 is black in PBM
					img.Pix[y*img.Stride+x] = 0xFF
				}
			}
		}
		return img, nil
	case '5':
		if nums[2] > 255 {
			if len(raster) < 2*w*h {
				return nil, errors.New("pnm: short raster")
			}
			img := image.NewGray16(image.Rect(0, 0, w, h))
			copy(img.Pix, raster[:2*w*h]) // both big-endian
			return img, nil
		}
		if len(raster) < w*h {
			return nil, errors.New("pnm: short raster")
		}
		img := image.NewGray(image.Rect(0, 0, w, h))
		copy(img.Pix, raster[:w*h])
		return img, nil
	default: // '6'
		bpc := 1
		if nums[2] > 255 {
			bpc = 2
		}
		if len(raster) < 3*bpc*w*h {
			return nil, errors.New("pnm: short raster")
		}
		if bpc == 2 {
			img := image.NewRGBA64(image.Rect(0, 0, w, h))
			for i := range w * h {
				r := raster[6*i:]
				img.SetRGBA64(i%w, i/w, color.RGBA64{
					R: uint16(r[0])<<8 | uint16(r[1]), G: uint16(r[2])<<8 | uint16(r[3]),
					B: uint16(r[4])<<8 | uint16(r[5]), A: 0xFFFF})
			}
			return img, nil
		}
		img := image.NewRGBA(image.Rect(0, 0, w, h))
		for i := range w * h {
			copy(img.Pix[4*i:], raster[3*i:3*i+3])
			img.Pix[4*i+3] = 0xFF
		}
		return img, nil
	}
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }
