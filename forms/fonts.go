package forms

import (
	"fmt"
	"os"
	"sort"
)

// Printed text uses DejaVu from Debian's fonts-dejavu-core: it has Cyrillic
// and is on every machine that ran `make deps`.
var fontCandidates = map[string][]string{
	FontRegular: {"/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"},
	FontBold:    {"/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"},
	FontMono:    {"/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"},
}

// FontPath returns the file of the font that prints a font role.
func FontPath(role string) (string, error) {
	for _, p := range fontCandidates[role] {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("font for %q text not found (%v): install Debian's fonts-dejavu-core (make deps)", role, fontCandidates[role])
}

// HandwritingFont is a handwriting typeface from a Debian package, used to
// simulate handwritten digits and to train the digit recogniser.
type HandwritingFont struct {
	Name    string // short stable name
	Package string // Debian package that ships it
	Path    string
}

// HandwritingFonts lists the handwriting fonts the project uses, in a
// stable order. The files come from Debian packages installed by make deps.
var HandwritingFonts = []HandwritingFont{
	{"dkg", "fonts-dkg-handwriting", "/usr/share/fonts/truetype/fifthhorseman/dkg.ttf"},
	{"breip", "fonts-breip", "/usr/share/fonts/truetype/breip/Breip.ttf"},
	{"femkeklaver", "fonts-femkeklaver", "/usr/share/fonts/truetype/femkeklaver/femkeklaver.ttf"},
	{"humor", "fonts-humor-sans", "/usr/share/fonts/truetype/humor-sans/Humor-Sans.ttf"},
	{"purisa", "fonts-tlwg-purisa-ttf", "/usr/share/fonts/truetype/tlwg/Purisa.ttf"},
	{"build", "fonts-bwht", "/usr/share/fonts/opentype/bwht/BecauseWeBuild-Regular.otf"},
	{"create", "fonts-bwht", "/usr/share/fonts/opentype/bwht/BecauseWeCreate-Regular.otf"},
	{"learn", "fonts-bwht", "/usr/share/fonts/opentype/bwht/BecauseWeLearn-Regular.otf"},
	{"stevehand", "fonts-sjfonts", "/usr/share/fonts/truetype/sjfonts/SteveHand.ttf"},
	{"delphine", "fonts-sjfonts", "/usr/share/fonts/truetype/sjfonts/Delphine.ttf"},
}

// AvailableHandwritingFonts returns the handwriting fonts present on this
// machine, or an error naming the packages to install when none is.
func AvailableHandwritingFonts() ([]HandwritingFont, error) {
	var out, missing []HandwritingFont
	for _, f := range HandwritingFonts {
		if _, err := os.Stat(f.Path); err == nil {
			out = append(out, f)
		} else {
			missing = append(missing, f)
		}
	}
	if len(out) == 0 {
		pkgs := map[string]bool{}
		for _, f := range missing {
			pkgs[f.Package] = true
		}
		names := make([]string, 0, len(pkgs))
		for p := range pkgs {
			names = append(names, p)
		}
		sort.Strings(names)
		return nil, fmt.Errorf("no handwriting font found: install %v (make deps)", names)
	}
	return out, nil
}
