package sim

import (
	"fmt"
	"math"
	"math/rand/v2"

	"giascan/forms"
)

// Profile is how good the simulated scanner and paper are.
type Profile string

// Profiles of degradation.
const (
	// Clean is a perfect 300 dpi grey scan with a trace of sensor noise:
	// no skew, turn or shift, lossless PNG.
	Clean Profile = "clean"
	// Real is an ordinary ADF day: 200–400 dpi, skew up to ±2°, some
	// pages upside down, shift up to ±4 mm, real dpi off by up to ±1 %,
	// mild noise, blur and uneven light, JPEG quality 75–92 or PNG.
	Real Profile = "real"
	// Hard is the worst the layout contract allows: 150–600 dpi, skew up
	// to ±5°, any quarter turn, shift up to ±8 mm, dpi off by up to ±2 %,
	// strong noise, blur, uneven light, faint print, JPEG quality 45–70,
	// sometimes colour JPEG or 1-bit PNG, sometimes a corner torn off.
	Hard Profile = "hard"
)

// Profiles lists the profiles from best to worst.
var Profiles = []Profile{Clean, Real, Hard}

// ParseProfile checks a profile name.
func ParseProfile(s string) (Profile, error) {
	for _, p := range Profiles {
		if string(p) == s {
			return p, nil
		}
	}
	return "", fmt.Errorf("unknown profile %q (want clean, real or hard)", s)
}

// Scan modes a caller may force.
const (
	ModeGray    = "gray"
	ModeColor   = "color"
	ModeLineart = "lineart"
)

// Settings choose the degradation of a simulated scan.
type Settings struct {
	Profile Profile
	DPI     int    // nominal resolution; 0 lets the profile choose per page
	Mode    string // gray, color or lineart; "" lets the profile choose per page
}

func (s Settings) check() error {
	if _, err := ParseProfile(string(s.Profile)); err != nil {
		return err
	}
	switch s.Mode {
	case "", ModeGray, ModeColor, ModeLineart:
	default:
		return fmt.Errorf("unknown scan mode %q (want gray, color or lineart)", s.Mode)
	}
	if s.DPI != 0 && (s.DPI < 100 || s.DPI > 1200) {
		return fmt.Errorf("%d dpi is out of 100..1200", s.DPI)
	}
	return nil
}

// scanParams is one page's degradation, drawn from its profile.
type scanParams struct {
	dpi      int     // nominal resolution
	dpiErr   float64 // relative error of the real resolution
	skew     float64 // degrees the page content is turned clockwise on screen (y down)
	turn     int     // quarter turn applied to the upright page, degrees clockwise
	shiftX   float64 // mm
	shiftY   float64 // mm
	overscan float64 // mm of scanner background around the paper
	bg       float64 // grey level of the scanner background
	faint    float64 // contrast of the print, 1 = normal toner
	blur     float64 // Gaussian sigma in pixels at 300 dpi
	noise    float64 // sigma of sensor noise, grey levels
	sparse   int     // noise on one pixel in sparse; 0 for every pixel
	light    float64 // depth of uneven lighting, 0..1
	lightDir float64 // direction of the lighting gradient, radians
	white    float64 // grey level of paper
	black    float64 // grey level of full ink
	torn     int     // corner torn off: -1 none, 0 TL, 1 TR, 2 BR, 3 BL
	tornA    float64 // mm along the top or bottom edge
	tornB    float64 // mm along the side edge
	tornSeed uint64
	format   string // jpeg or png
	quality  int    // JPEG quality
	color    bool
	bilevel  bool
}

func uniform(r *rand.Rand, lo, hi float64) float64 { return lo + (hi-lo)*r.Float64() }

func pick[T any](r *rand.Rand, xs ...T) T { return xs[r.IntN(len(xs))] }

// drawParams draws a page's degradation. Every random number is drawn
// whatever the settings force, so a forced dpi or mode changes nothing
// else of the page.
func drawParams(r *rand.Rand, set Settings) (scanParams, error) {
	p := scanParams{torn: -1, white: 255, black: 0, faint: 1, format: "png"}
	switch set.Profile {
	case Clean:
		p.dpi = 300
		p.noise, p.sparse = 4, 24
	case Real:
		p.dpi = pick(r, 200, 240, 300, 300, 300, 400)
		p.dpiErr = uniform(r, -0.01, 0.01)
		p.skew = uniform(r, -2, 2)
		if r.IntN(100) < 15 {
			p.turn = 180
		}
		p.shiftX, p.shiftY = uniform(r, -4, 4), uniform(r, -4, 4)
		p.overscan = 6
		p.bg = uniform(r, 215, 250)
		p.blur = uniform(r, 0.3, 0.8)
		p.noise = uniform(r, 2.5, 6)
		p.light = uniform(r, 0.02, 0.08)
		p.lightDir = uniform(r, 0, 2*math.Pi)
		p.white = uniform(r, 238, 252)
		p.black = uniform(r, 8, 30)
		if r.IntN(100) < 70 {
			p.format, p.quality = "jpeg", 75+r.IntN(18)
		}
	case Hard:
		p.dpi = pick(r, 150, 200, 300, 300, 400, 600)
		p.dpiErr = uniform(r, -0.02, 0.02)
		p.skew = uniform(r, -5, 5)
		p.turn = pick(r, 0, 0, 90, 180, 270)
		p.shiftX, p.shiftY = uniform(r, -8, 8), uniform(r, -8, 8)
		p.overscan = 12
		p.bg = uniform(r, 200, 245)
		p.blur = uniform(r, 0.6, 1.5)
		p.noise = uniform(r, 7, 16)
		p.light = uniform(r, 0.08, 0.25)
		p.lightDir = uniform(r, 0, 2*math.Pi)
		p.white = uniform(r, 225, 250)
		p.black = uniform(r, 15, 55)
		if r.IntN(100) < 30 {
			p.faint = uniform(r, 0.45, 0.7)
		}
		if r.IntN(100) < 15 {
			p.torn = r.IntN(4)
			p.tornA, p.tornB = uniform(r, 14, 24), uniform(r, 14, 24)
			p.tornSeed = r.Uint64()
		}
		p.format, p.quality = "jpeg", 45+r.IntN(26)
		switch x := r.IntN(100); {
		case x < 20:
			p.color = true
		case x < 35:
			p.bilevel = true
			p.format = "png"
		}
	default:
		return p, fmt.Errorf("unknown profile %q", set.Profile)
	}
	if set.DPI != 0 {
		p.dpi = set.DPI
	}
	switch set.Mode {
	case "":
	case ModeGray:
		p.color, p.bilevel = false, false
	case ModeColor:
		p.color, p.bilevel, p.format = true, false, "jpeg"
		if p.quality == 0 {
			p.quality = 90
		}
	case ModeLineart:
		p.color, p.bilevel, p.format = false, true, "png"
	default:
		return p, fmt.Errorf("unknown scan mode %q (want gray, color or lineart)", set.Mode)
	}
	if p.bilevel {
		// A lineart scan is thresholded by the scanner after its shading
		// correction, on a quiet signal: speckle and shadows of a grey
		// scan do not survive into it.
		p.noise = math.Min(p.noise, 4)
		p.light = math.Min(p.light, 0.05)
	}
	return p, nil
}

// rotation is what the recognizer must turn clockwise to make the page
// upright again.
func (p scanParams) rotation() int { return (360 - p.turn) % 360 }

// Scan is one simulated page as the scanner delivers it, with the truth.
type Scan struct {
	Data   []byte
	Format string // jpeg or png
	Ext    string // file extension without the dot: jpg or png
	DPI    int    // nominal resolution, also written into the file
	// Truth is the recognizer's expected output for the page, File empty
	// and Page 1. Like the recognizer's, Rotation and Skew are the
	// corrections, not the errors: Rotation is the clockwise quarter turn
	// that makes the page upright, Skew the further clockwise turn in
	// degrees that straightens it. A page whose horizontal lines run down
	// to the right on screen (its content turned clockwise) has a
	// negative Skew.
	Truth forms.PageResult
}

// pageRNGs derives a page's independent random streams: one for what the
// people write, one for the scanner. The writing is therefore the same
// whatever profile scans it.
func pageRNGs(s Sheet) (fillRNG, scanRNG, bodyRNG *rand.Rand) {
	return rand.New(rand.NewPCG(s.seed[0], s.seed[1]<<2)),
		rand.New(rand.NewPCG(s.seed[0], s.seed[1]<<2|1)),
		rand.New(rand.NewPCG(s.seed[0], s.seed[1]<<2|2))
}

// Render prints, fills and scans one page of a stream.
func Render(s Sheet, set Settings) (Scan, error) {
	return render(s, set, false)
}

// RenderBack scans the empty back side of a page's sheet, with the same
// scanner settings as its front.
func RenderBack(s Sheet, set Settings) (Scan, error) {
	return render(s, set, true)
}

func render(s Sheet, set Settings, back bool) (Scan, error) {
	if err := set.check(); err != nil {
		return Scan{}, err
	}
	fillRNG, scanRNG, bodyRNG := pageRNGs(s)
	p, err := drawParams(scanRNG, set)
	if err != nil {
		return Scan{}, err
	}
	tpl, ok := forms.Builtin().Get(s.ID.Type)
	if !ok {
		return Scan{}, fmt.Errorf("page %d: no template of type %s", s.Index+1, s.ID.Type)
	}
	renderDPI := float64(p.dpi) * (1 + p.dpiErr)
	d := &forms.Drawing{Width: tpl.Width, Height: tpl.Height}
	if !back {
		if d, err = forms.Compose(tpl, s.ID); err != nil {
			return Scan{}, fmt.Errorf("page %d: %w", s.Index+1, err)
		}
		for _, tx := range body(s, bodyRNG) {
			d.Text(tx, 1)
		}
	}
	print, err := forms.Rasterize(d, renderDPI)
	if err != nil {
		return Scan{}, fmt.Errorf("page %d: %w", s.Index+1, err)
	}
	pen := newPenLayer(print.Rect.Dx(), print.Rect.Dy(), renderDPI)
	var res forms.PageResult
	var ink float64
	if !back {
		h, err := newHand(s.writer)
		if err != nil {
			return Scan{}, err
		}
		w := &writer{hand: h, pen: pen, rng: fillRNG}
		f, err := fill(s, tpl, w)
		if err != nil {
			return Scan{}, fmt.Errorf("page %d: %w", s.Index+1, err)
		}
		res = truth(s, tpl, f, pen, p.rotation(), -p.skew)
		ink = h.inkTop
	}
	data, err := degrade(print, pen, ink, p, renderDPI, scanRNG)
	if err != nil {
		return Scan{}, fmt.Errorf("page %d: %w", s.Index+1, err)
	}
	ext := "png"
	if p.format == "jpeg" {
		ext = "jpg"
	}
	return Scan{Data: data, Format: p.format, Ext: ext, DPI: p.dpi, Truth: res}, nil
}
