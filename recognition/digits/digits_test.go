package digits

import (
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"testing"

	"giascan/recognition/digits/internal/synth"
	"giascan/recognition/digits/internal/train"
)

// heldOut is the font ./gen keeps out of training.
const heldOut = "stevehand"

func loadModel(t testing.TB) *Model {
	t.Helper()
	m, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// heldOutGenerator draws cells in the held-out font only.
func heldOutGenerator(t testing.TB) *synth.Generator {
	t.Helper()
	_, held, err := train.LoadFonts(heldOut)
	if err != nil {
		t.Skipf("handwriting fonts not installed: %v", err)
	}
	return synth.NewGenerator([]*synth.Font{held})
}

// TestHeldOutFont measures the shipped model on digits of a font it never
// saw, drawn with the training augmentations (size, slant, shear,
// distortion, pen width, blur, noise, faint ink, border remnants, JPEG,
// 150–600 dpi). Besides top-1 accuracy it checks the rule that matters:
// among the digits reported as certain, wrong ones must be very rare.
func TestHeldOutFont(t *testing.T) {
	m := loadModel(t)
	g := heldOutGenerator(t)
	const perDigit = 200
	type band struct{ n, right, sure, sureWrong int }
	var all band
	bands := map[string]*band{}
	confusion := map[string]int{}
	for d := 0; d < 10; d++ {
		for i := 0; i < perDigit; i++ {
			rng := rand.New(rand.NewPCG(7, uint64(d*perDigit+i)))
			crop := g.Cell(rng, d)
			r := m.Classify(crop)
			name := "150–300 dpi"
			if crop.Bounds().Dy() > 2*45 {
				name = "300–600 dpi"
			}
			b := bands[name]
			if b == nil {
				b = &band{}
				bands[name] = b
			}
			right := !r.Empty && r.Digit == d
			sure := !r.Empty && r.Confidence >= Threshold
			for _, x := range []*band{&all, b} {
				x.n++
				if right {
					x.right++
				}
				if sure {
					x.sure++
					if !right {
						x.sureWrong++
					}
				}
			}
			if sure && !right {
				confusion[fmt.Sprintf("%d→%d", d, r.Digit)]++
			}
		}
	}
	report := func(name string, b *band) (acc, cover, prec float64) {
		acc = float64(b.right) / float64(b.n)
		cover = float64(b.sure) / float64(b.n)
		prec = 1
		if b.sure > 0 {
			prec = 1 - float64(b.sureWrong)/float64(b.sure)
		}
		t.Logf("%s: %d cells, top-1 %.1f%%, at confidence ≥ %.2f: %.1f%% of cells, precision %.2f%%",
			name, b.n, 100*acc, Threshold, 100*cover, 100*prec)
		return
	}
	for _, name := range []string{"150–300 dpi", "300–600 dpi"} {
		if b := bands[name]; b != nil {
			report(name, b)
		}
	}
	acc, cover, prec := report("held-out font "+heldOut, &all)
	if len(confusion) > 0 {
		t.Logf("confident mistakes: %v", confusion)
	}
	// Floors a little under what the shipped model reaches (98.0 %,
	// 99.8 %, 85.7 %), so that a retrained model that reads worse fails.
	if acc < 0.96 {
		t.Errorf("held-out top-1 accuracy %.1f%%, want ≥ 96%%", 100*acc)
	}
	if prec < 0.995 {
		t.Errorf("held-out precision at the threshold %.2f%%, want ≥ 99.5%%", 100*prec)
	}
	if cover < 0.8 {
		t.Errorf("only %.1f%% of held-out digits reach the threshold, want ≥ 80%%", 100*cover)
	}
}

// TestRejectsNonDigits checks that scribbles, crossed-out digits, letters,
// two digits in one cell and blots are not read as a certain digit.
func TestRejectsNonDigits(t *testing.T) {
	m := loadModel(t)
	g := heldOutGenerator(t)
	const n = 600
	sure := 0
	for i := 0; i < n; i++ {
		rng := rand.New(rand.NewPCG(8, uint64(i)))
		if r := m.Classify(g.Cell(rng, synth.Reject)); r.Certain() && !r.Empty {
			sure++
		}
	}
	rate := float64(sure) / n
	t.Logf("non-digit marks read as a certain digit: %.1f%% of %d", 100*rate, n)
	if rate > 0.03 {
		t.Errorf("%.1f%% of non-digit marks read as certain digits, want ≤ 3%%", 100*rate)
	}
}

// TestBlankCells checks that cells without writing (nothing, border
// remnants, specks, a stray dot, all with the scan augmentations) read as
// empty.
func TestBlankCells(t *testing.T) {
	m := loadModel(t)
	g := heldOutGenerator(t)
	const n = 600
	empty, sureDigit := 0, 0
	for i := 0; i < n; i++ {
		rng := rand.New(rand.NewPCG(9, uint64(i)))
		r := m.Classify(g.Cell(rng, synth.Blank))
		if r.Empty {
			empty++
		} else if r.Certain() {
			sureDigit++
		}
	}
	t.Logf("blank cells: %.1f%% empty, %d of %d read as a certain digit", 100*float64(empty)/n, sureDigit, n)
	if float64(empty)/n < 0.98 {
		t.Errorf("only %d of %d blank cells read as empty, want ≥ 98%%", empty, n)
	}
	if sureDigit > 0 {
		t.Errorf("%d blank cells read as a certain digit", sureDigit)
	}
}

// paint returns a w × h crop of paper grey, with noise of deviation sigma.
func paint(w, h int, paper uint8, sigma float64, seed uint64) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(seed, 1))
	for i := range img.Pix {
		img.Pix[i] = uint8(math.Max(0, math.Min(255, float64(paper)+rng.NormFloat64()*sigma)))
	}
	return img
}

func fillRect(img *image.Gray, x0, y0, x1, y1 int, v uint8) {
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			img.Pix[img.PixOffset(x, y)] = v
		}
	}
}

// TestEmptyCases pins the empty-cell rules on hand-made crops.
func TestEmptyCases(t *testing.T) {
	m := loadModel(t)
	cases := map[string]*image.Gray{}
	cases["white"] = paint(35, 47, 250, 0, 1)
	cases["grey paper with noise"] = paint(35, 47, 200, 6, 2)
	b := paint(40, 52, 235, 3, 3)
	fillRect(b, 0, 0, 40, 2, 30)   // top border
	fillRect(b, 0, 0, 2, 52, 30)   // left border
	fillRect(b, 38, 0, 40, 52, 90) // right border, anti-aliased grey
	fillRect(b, 0, 50, 40, 51, 170)
	cases["border remnants on every side"] = b
	d := paint(142, 189, 240, 2, 4)
	fillRect(d, 60, 80, 66, 86, 20) // a 0.25 mm dot at 600 dpi
	cases["stray dot at 600 dpi"] = d
	s := paint(35, 47, 240, 2, 5)
	fillRect(s, 10, 12, 12, 14, 40)
	fillRect(s, 25, 30, 26, 31, 40)
	cases["specks at 150 dpi"] = s
	for name, img := range cases {
		if r := m.Classify(img); !r.Empty {
			t.Errorf("%s: got digit %d at %.2f, want empty", name, r.Digit, r.Confidence)
		}
	}
}

// TestOddCrops checks that crops far from the expected sizes neither panic
// nor read as a certain digit when they hold nothing.
func TestOddCrops(t *testing.T) {
	m := loadModel(t)
	for _, sz := range [][2]int{{0, 0}, {1, 1}, {5, 9}, {12, 18}, {400, 30}} {
		r := m.Classify(paint(sz[0], sz[1], 230, 2, 6))
		if !r.Empty {
			t.Errorf("%d×%d paper: got digit %d at %.2f, want empty", sz[0], sz[1], r.Digit, r.Confidence)
		}
	}
	// A crop that is a sub-image (non-zero origin) of a larger scan.
	big := paint(100, 100, 240, 2, 7)
	sub := big.SubImage(image.Rect(30, 20, 65, 67)).(*image.Gray)
	fillRect(sub, 45, 30, 49, 58, 20) // a vertical bar: a "1"
	if r := m.Classify(sub); r.Empty {
		t.Errorf("sub-image with a stroke read as empty")
	}
}

func TestParseRejectsGarbage(t *testing.T) {
	if _, err := Parse([]byte("not a model")); err == nil {
		t.Error("garbage parsed as a model")
	}
}

func BenchmarkClassify(b *testing.B) {
	m := loadModel(b)
	g := heldOutGenerator(b)
	for _, dpi := range []float64{150, 300, 600} {
		g.MinDPI, g.MaxDPI = dpi, dpi
		crops := make([]*image.Gray, 16)
		for i := range crops {
			crops[i] = g.Cell(rand.New(rand.NewPCG(10, uint64(i))), i%10)
		}
		b.Run(fmt.Sprintf("%gdpi", dpi), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				m.Classify(crops[i%len(crops)])
			}
		})
	}
}

// TestFaintCellIsUnreadable checks that a very light mark of digit size
// is neither empty nor certain: it must go to review.
func TestFaintCellIsUnreadable(t *testing.T) {
	m := loadModel(t)
	img := paint(60, 80, 235, 1, 11)
	fillRect(img, 28, 15, 33, 65, 215) // a "1" 20 grey levels darker than paper
	r := m.Classify(img)
	if r.Empty || r.Certain() {
		t.Errorf("faint stroke: empty %v, digit %d at %.2f; want unreadable", r.Empty, r.Digit, r.Confidence)
	}
}

// TestBelowRangeNeverCertain draws cells at 60–95 dpi, below the range the
// model was built for (crops down to about 13 × 17 pixels): nothing may be
// read as a certain digit, and digits must not pass for empty cells.
func TestBelowRangeNeverCertain(t *testing.T) {
	m := loadModel(t)
	g := heldOutGenerator(t)
	g.MinDPI, g.MaxDPI = 60, 95
	const n = 500
	sure, empty := 0, 0
	for i := 0; i < n; i++ {
		r := m.Classify(g.Cell(rand.New(rand.NewPCG(12, uint64(i))), i%10))
		if r.Empty {
			empty++
		} else if r.Certain() {
			sure++
		}
	}
	t.Logf("below 100 dpi: %d of %d digits empty, %d certain", empty, n, sure)
	if sure > 0 {
		t.Errorf("%d digits read as certain below the supported resolution", sure)
	}
	if empty > n/100 {
		t.Errorf("%d of %d digits read as empty below the supported resolution", empty, n)
	}
}
