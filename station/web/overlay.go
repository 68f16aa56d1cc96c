package web

import (
	"fmt"
	"strconv"
	"sync"

	"giascan/recognition"
	"giascan/station/store"
)

// The page image under the overlay is drawn through the page's
// registration: the recognizer's map from template millimetres to image
// pixels. The SVG frame is the template's, in millimetres and upright;
// the image is placed in it by the inverse of that map, so every box of
// the template lies on its cell however the sheet lay on the glass
// (turned, skewed, shifted, scanned with margins).

// geometry is a page's template frame for the SVG overlay.
type geometry struct {
	W, H   float64 // the template frame, mm
	Rotate int     // the page's correction, degrees clockwise (without a registration)
	Image  string
	// IW and IH are the image's size in pixels and M the map from image
	// pixels to template millimetres, when the page is registered.
	IW, IH float64
	M      *[6]float64
}

// Transform places the image in the SVG frame: through the registration
// when there is one, else turned upright and stretched to the frame.
func (g geometry) Transform() string {
	if g.M != nil {
		m := g.M
		return fmt.Sprintf("matrix(%s %s %s %s %s %s)", f6(m[0]), f6(m[1]), f6(m[2]), f6(m[3]), f6(m[4]), f6(m[5]))
	}
	return fmt.Sprintf("rotate(%d %g %g)", g.Rotate, g.W/2, g.H/2)
}

// ImageW and ImageH are the image element's size in its own units.
func (g geometry) ImageW() float64 {
	if g.M != nil {
		return g.IW
	}
	return g.W
}

// ImageH is the image element's height; see ImageW.
func (g geometry) ImageH() float64 {
	if g.M != nil {
		return g.IH
	}
	return g.H
}

// ToTemplate maps an image pixel to template millimetres (tests, and the
// check that the overlay lies on the cells).
func (g geometry) ToTemplate(x, y float64) (float64, float64) {
	if g.M == nil {
		return x, y
	}
	m := g.M
	return m[0]*x + m[2]*y + m[4], m[1]*x + m[3]*y + m[5]
}

func f6(v float64) string { return strconv.FormatFloat(v, 'f', 6, 64) }

// registrations caches the registration of page images by their hash
// and the turn their reading chose: an image never changes under its
// hash, and finding the anchors again costs a full decode.
type registrations struct {
	mu sync.Mutex
	m  map[string]regEntry
}

type regEntry struct {
	r  recognition.Registration
	ok bool
}

const maxRegistrations = 2048

// registration returns where the template lies on page p's image; false
// when the page cannot be registered (no anchors, not an image), and the
// viewer then draws the image stretched to the frame.
func (s *Server) registration(p store.Page) (recognition.Registration, bool) {
	rot := 0
	if p.Result != nil {
		rot = p.Result.Rotation
	}
	key := p.SHA256 + "/" + strconv.Itoa(rot)
	s.regs.mu.Lock()
	e, hit := s.regs.m[key]
	s.regs.mu.Unlock()
	if hit {
		return e.r, e.ok
	}
	rc, err := s.cfg.App.Recognizer()
	if err != nil {
		return recognition.Registration{}, false
	}
	data, err := s.cfg.Store.Image(p)
	if err != nil {
		s.logger.Warn("page image not read for the overlay", "page", p.File, "err", err)
		return recognition.Registration{}, false
	}
	r, err := rc.Register(data, p.File, rot)
	e = regEntry{r: r, ok: err == nil}
	s.regs.mu.Lock()
	if s.regs.m == nil || len(s.regs.m) >= maxRegistrations {
		s.regs.m = map[string]regEntry{}
	}
	s.regs.m[key] = e
	s.regs.mu.Unlock()
	return e.r, e.ok
}

// geometryOf is page p's frame for the overlay, through its registration
// when it has one.
func (s *Server) geometryOf(p store.Page) geometry {
	g := geometry{W: 210, H: 297, Image: pageURL(p.Ref) + "/image?rev=" + strconv.Itoa(p.Rev)}
	if t := templateOf(p.Result); t != nil {
		g.W, g.H = t.Width, t.Height
	}
	if p.Result != nil {
		g.Rotate = ((p.Result.Rotation % 360) + 360) % 360
	}
	if templateOf(p.Result) == nil {
		return g // no boxes to draw
	}
	if r, ok := s.registration(p); ok {
		if m, ok := r.Affine(g.W, g.H); ok {
			g.M, g.IW, g.IH = &m, float64(r.Width), float64(r.Height)
		}
	}
	return g
}
