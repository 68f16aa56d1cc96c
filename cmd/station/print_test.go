package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/oned"
	"github.com/makiuchi-d/gozxing/qrcode"
	bolt "go.etcd.io/bbolt"

	"giascan/forms"
	"giascan/station/serials"
)

// runStation runs one command line in-process.
func runStation(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), &env{stdout: &out, stderr: &errb, stdin: strings.NewReader("")}, args)
	return code, out.String(), errb.String()
}

func needPDFTools(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"qpdf", "pdftoppm", "pdfinfo"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (Debian qpdf, poppler-utils): %v", tool, err)
		}
	}
}

func tool(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func pageCount(t *testing.T, pdf string) int {
	t.Helper()
	for _, line := range strings.Split(tool(t, "pdfinfo", pdf), "\n") {
		if v, ok := strings.CutPrefix(line, "Pages:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				t.Fatalf("pdfinfo pages %q", v)
			}
			return n
		}
	}
	t.Fatal("pdfinfo: no page count")
	return 0
}

const dpi = 300

func px(mm float64) int { return int(mm * dpi / 25.4) }

// readCodes rasterises the header of every page at 300 dpi, as a scanner
// would see it, and decodes the barcode and the QR code in the places the
// template gives them.
func readCodes(t *testing.T, pdf string) (barcodes, qrs []string) {
	t.Helper()
	tpl, _ := forms.Builtin().Get(forms.TypeBO1) // the header is the same on every type
	n := pageCount(t, pdf)
	dir := t.TempDir()
	// Only the header band: the codes live there, and whole pages at
	// 300 dpi would make the test slow for nothing.
	tool(t, "pdftoppm", "-r", strconv.Itoa(dpi), "-gray", "-png",
		"-x", "0", "-y", "0", "-W", strconv.Itoa(px(210)), "-H", strconv.Itoa(px(45)),
		pdf, filepath.Join(dir, "p"))
	bc, q := tpl.Barcode, tpl.QR
	barArea := image.Rect(px(bc.X-bc.Quiet), px(bc.Y-1), px(64), px(bc.Y+bc.H+1))
	qrArea := image.Rect(px(q.X-3), px(q.Y-2.5), px(q.X+q.Size+3), px(q.Y+q.Size+2.5))
	width := len(strconv.Itoa(n))
	for i := 1; i <= n; i++ {
		img := loadGray(t, filepath.Join(dir, fmt.Sprintf("p-%0*d.png", width, i)))
		barcodes = append(barcodes, decodeArea(t, img.SubImage(barArea), oned.NewCode128Reader(), "barcode", i))
		qrs = append(qrs, decodeArea(t, img.SubImage(qrArea), qrcode.NewQRCodeReader(), "QR", i))
	}
	return barcodes, qrs
}

func loadGray(t *testing.T, path string) *image.Gray {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	g := image.NewGray(img.Bounds())
	draw.Draw(g, g.Bounds(), img, img.Bounds().Min, draw.Src)
	return g
}

func decodeArea(t *testing.T, img image.Image, r gozxing.Reader, what string, page int) string {
	t.Helper()
	bmp, err := gozxing.NewBinaryBitmap(gozxing.NewHybridBinarizer(gozxing.NewLuminanceSourceFromImage(img)))
	if err == nil {
		var res *gozxing.Result
		res, err = r.Decode(bmp, map[gozxing.DecodeHintType]interface{}{gozxing.DecodeHintType_TRY_HARDER: true})
		if err == nil {
			return res.GetText()
		}
	}
	t.Errorf("page %d: %s not readable: %v", page, what, err)
	return ""
}

// ctxFlags is a valid exam context.
var ctxFlags = []string{"--level", "9", "--region", "11", "--ppe", "0101", "--subject", "02", "--date", "2025-05-27"}

func args(base []string, more ...string) []string {
	return append(append(append([]string{}, base...), ctxFlags...), more...)
}

// oneLine checks that a command wrote exactly one line to stderr.
func oneLine(t *testing.T, stderr string) string {
	t.Helper()
	if strings.Count(stderr, "\n") != 1 || !strings.HasSuffix(stderr, "\n") {
		t.Fatalf("stderr is not one line: %q", stderr)
	}
	return strings.TrimSuffix(stderr, "\n")
}

// checkPages asserts that every page's barcode and QR read back as the
// identities expected, that barcodes pass the Luhn check, and returns the
// serials.
func checkPages(t *testing.T, pdf string, want []forms.Identity) []uint64 {
	t.Helper()
	tool(t, "qpdf", "--check", pdf)
	barcodes, qrs := readCodes(t, pdf)
	if len(barcodes) != len(want) {
		t.Fatalf("%s: %d pages, want %d", pdf, len(barcodes), len(want))
	}
	var serials []uint64
	for i, id := range want {
		if err := forms.CheckBarcode(barcodes[i]); err != nil {
			t.Errorf("page %d: %v", i+1, err)
		}
		if barcodes[i] != id.Barcode {
			t.Errorf("page %d: barcode %s, want %s", i+1, barcodes[i], id.Barcode)
		}
		if qrs[i] != id.QRText() {
			t.Errorf("page %d: QR\n %s\nwant\n %s", i+1, qrs[i], id.QRText())
		}
		if _, err := forms.ParseQR(qrs[i]); err != nil {
			t.Errorf("page %d: QR does not parse: %v", i+1, err)
		}
		s, _ := strconv.ParseUint(barcodes[i][2:12], 10, 64)
		serials = append(serials, s)
	}
	return serials
}

func barcode(t *testing.T, pt string, serial uint64) string {
	t.Helper()
	b, err := forms.MakeBarcode(pt, serial)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// lastJob is the print job the data folder recorded last.
func lastJob(t *testing.T, data string) serials.PrintJob {
	t.Helper()
	jobs, err := serials.Jobs(data)
	if err != nil || len(jobs) == 0 {
		t.Fatalf("print jobs: %v %v", jobs, err)
	}
	return jobs[len(jobs)-1]
}

// expectKits is what a kits job must have printed, from its recorded ranges.
func expectKits(t *testing.T, job serials.PrintJob) []forms.Identity {
	var want []forms.Identity
	types := []string{forms.TypeBO1, forms.TypeBO2Sheet1, forms.TypeBO2Sheet2}
	for k := range int(job.Kits.Count()) {
		for j, pt := range types {
			want = append(want, forms.Identity{Level: 9, Region: "11", PPE: "0101", Auditorium: "0012",
				Subject: "02", Date: "20250527", Type: pt, Sheet: j,
				Barcode: barcode(t, pt, job.Serials.At(3*k+j)), Kit: fmt.Sprintf("%010d", job.Kits.At(k))})
		}
	}
	return want
}

func TestPrintKitsTwiceIntoOneDataFolder(t *testing.T) {
	needPDFTools(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	seen := map[uint64]string{}
	var kitsSeen []serials.Range
	for run, count := range []int{3, 2} {
		out := filepath.Join(dir, fmt.Sprintf("kits%d.pdf", run))
		code, _, stderr := runStation(t, args([]string{"print", "kits"}, "--auditorium", "0012",
			"--count", strconv.Itoa(count), "--out", out, "--data", data)...)
		if code != 0 {
			t.Fatalf("run %d: exit %d: %s", run, code, stderr)
		}
		job := lastJob(t, data)
		line := oneLine(t, stderr)
		if job.Kits.Count() != uint64(count) || job.Serials.Count() != uint64(3*count) || job.Status != serials.JobPrinted {
			t.Fatalf("run %d: job %+v", run, job)
		}
		if !strings.Contains(line, job.Kits.String()) || !strings.Contains(line, fmt.Sprintf("%d pages", 3*count)) {
			t.Errorf("run %d: summary %q does not name kits %s and %d pages", run, line, job.Kits, 3*count)
		}
		for _, r := range kitsSeen {
			if r.Contains(job.Kits.First) || r.Contains(job.Kits.Last) {
				t.Errorf("kit numbers %s given again (earlier %s)", job.Kits, r)
			}
		}
		kitsSeen = append(kitsSeen, job.Kits)
		for i, s := range checkPages(t, out, expectKits(t, job)) {
			where := fmt.Sprintf("run %d page %d", run, i+1)
			if prev, dup := seen[s]; dup {
				t.Errorf("serial %010d on %s was already on %s", s, where, prev)
			}
			seen[s] = where
		}
	}
	if len(seen) != 3*(3+2) {
		t.Errorf("%d distinct serials, want 15", len(seen))
	}
}

func TestPrintDBOAndForms(t *testing.T) {
	needPDFTools(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	// The data folder may come from the environment instead of --data.
	t.Setenv(dataEnv, data)

	out := filepath.Join(dir, "dbo.pdf")
	code, _, stderr := runStation(t, args([]string{"print", "dbo", "--kit", "0000000042", "--sheet", "3", "--count", "2"},
		"--auditorium", "0012", "--out", out)...)
	if code != 0 {
		t.Fatalf("dbo: exit %d: %s", code, stderr)
	}
	oneLine(t, stderr)
	job := lastJob(t, data)
	if job.What != "dbo" || job.Kit != "0000000042" || job.FirstSheet != 3 || job.Kits.Count() != 0 {
		t.Errorf("dbo job %+v", job)
	}
	var want []forms.Identity
	for i := range 2 {
		want = append(want, forms.Identity{Level: 9, Region: "11", PPE: "0101", Auditorium: "0012", Subject: "02",
			Date: "20250527", Type: forms.TypeDBO2, Sheet: 3 + i, Kit: "0000000042",
			Barcode: barcode(t, forms.TypeDBO2, job.Serials.At(i))})
	}
	serials := checkPages(t, out, want)

	for _, pt := range []string{forms.TypePPE1302, forms.TypePPE18} {
		out := filepath.Join(dir, "form"+pt+".pdf")
		code, _, stderr := runStation(t, args([]string{"print", "form", pt}, "--out", out)...)
		if code != 0 {
			t.Fatalf("form %s: exit %d: %s", pt, code, stderr)
		}
		oneLine(t, stderr)
		job := lastJob(t, data)
		id := forms.Identity{Level: 9, Region: "11", PPE: "0101", Auditorium: "0000", Subject: "02",
			Date: "20250527", Type: pt, Sheet: 0, Kit: forms.NoKit, Barcode: barcode(t, pt, job.Serials.First)}
		serials = append(serials, checkPages(t, out, []forms.Identity{id})...)
	}
	// One counter across page types: no serial repeats.
	seen := map[uint64]bool{}
	for _, s := range serials {
		if seen[s] {
			t.Errorf("serial %010d printed twice", s)
		}
		seen[s] = true
	}
}

func TestPrintRefusesBadInput(t *testing.T) {
	kits := func(more ...string) []string {
		return args([]string{"print", "kits"}, append([]string{"--auditorium", "0012", "--count", "2"}, more...)...)
	}
	dbo := func(more ...string) []string {
		return args([]string{"print", "dbo"}, append([]string{"--auditorium", "0012"}, more...)...)
	}
	without := func(a []string, flag string) []string {
		var out []string
		for i := 0; i < len(a); i++ {
			if a[i] == flag {
				i++
				continue
			}
			out = append(out, a[i])
		}
		return out
	}
	with := func(a []string, flag, value string) []string {
		return append(without(a, flag), flag, value)
	}
	dir := t.TempDir()
	aFile := filepath.Join(dir, "plain-file")
	if err := os.WriteFile(aFile, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	outDir := filepath.Join(dir, "out")
	if err := os.Mkdir(outDir, 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(outDir, "x.pdf")

	cases := []struct {
		name string
		args []string
		want string // in the message
	}{
		{"nothing to print", []string{"print"}, "kits, dbo or form"},
		{"unknown thing", []string{"print", "labels"}, `"labels"`},
		{"unknown page type", args([]string{"print", "form", "12"}), `unknown form type "12"`},
		{"ППЭ-15", args([]string{"print", "form", "55"}), "protocol command"},
		{"form type missing", args([]string{"print", "form"}), "form type is missing"},
		{"region too short", with(kits(), "--region", "1"), "--region"},
		{"region not digits", with(kits(), "--region", "1a"), "--region"},
		{"ppe 3 digits", with(kits(), "--ppe", "101"), "--ppe"},
		{"auditorium 3 digits", with(kits(), "--auditorium", "012"), "--auditorium"},
		{"level 10", with(kits(), "--level", "10"), "--level"},
		{"unknown subject", with(kits(), "--subject", "14"), "--subject"},
		{"date not a day", with(kits(), "--date", "2025-02-30"), "--date"},
		{"date in Russian order", with(kits(), "--date", "27.05.2025"), "--date"},
		{"count 0", with(kits(), "--count", "0"), "--count"},
		{"count above the limit", with(kits(), "--count", "501"), "--count"},
		{"count not a number", with(kits(), "--count", "ten"), "--count"},
		{"missing region", without(kits(), "--region"), "missing --region"},
		{"missing count", without(kits(), "--count"), "missing --count"},
		{"missing out", kits(), "missing --out"},
		{"out folder missing", kits("--out", filepath.Join(dir, "nope", "x.pdf")), "does not exist"},
		{"out under a file", kits("--out", filepath.Join(aFile, "x.pdf")), "not a folder"},
		{"out is a folder", kits("--out", outDir), "is a folder"},
		{"data is a file", kits("--out", out, "--data", aFile), "--data"},
		{"unknown flag", kits("--out", out, "--colour", "red"), "unknown flag"},
		{"extra argument", append(kits("--out", out), "extra"), `"extra"`},
		{"dbo kit missing", dbo("--sheet", "3", "--out", out), "missing --kit"},
		{"dbo no kit", dbo("--kit", forms.NoKit, "--sheet", "3", "--out", out), "--kit"},
		{"dbo kit short", dbo("--kit", "42", "--sheet", "3", "--out", out), "--kit"},
		{"dbo sheet 2", dbo("--kit", "0000000042", "--sheet", "2", "--out", out), "--sheet"},
		{"dbo past sheet 99", dbo("--kit", "0000000042", "--sheet", "98", "--count", "3", "--out", out), "99"},
		{"dbo count 0", dbo("--kit", "0000000042", "--sheet", "3", "--count", "0", "--out", out), "--count"},
		{"form with auditorium", args([]string{"print", "form", "51"}, "--auditorium", "0012", "--out", out), "unknown flag"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			a := c.args
			if !contains(a, "--data") {
				a = append(a, "--data", data)
			}
			code, _, stderr := runStation(t, a...)
			if code != 2 {
				t.Fatalf("exit %d, want 2 (stderr %q)", code, stderr)
			}
			line := oneLine(t, stderr)
			if !strings.Contains(line, c.want) {
				t.Errorf("message %q does not say %q", line, c.want)
			}
			// Validation comes first: no file, no temporary, no numbers spent.
			if entries, _ := os.ReadDir(outDir); len(entries) != 0 {
				t.Errorf("left behind in the output folder: %v", entries)
			}
			if _, err := os.Stat(filepath.Join(data, serials.DBName)); err == nil {
				t.Errorf("the data folder was touched")
			}
		})
	}
}

func contains(a []string, s string) bool {
	for _, x := range a {
		if x == s {
			return true
		}
	}
	return false
}

func TestPrintWithLockedDatabaseLeavesNoFile(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	// Another station process holding the database.
	db, err := bolt.Open(filepath.Join(data, serials.DBName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	out := filepath.Join(dir, "kits.pdf")
	code, _, stderr := runStation(t, args([]string{"print", "kits"}, "--auditorium", "0012", "--count", "1",
		"--out", out, "--data", data)...)
	if code != 1 {
		t.Fatalf("exit %d, want 1: %s", code, stderr)
	}
	if line := oneLine(t, stderr); !strings.Contains(line, "in use by another process") {
		t.Errorf("message %q does not say the database is busy", line)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("left behind: %v", entries)
	}
}
