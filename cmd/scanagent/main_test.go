package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	_ "image/png"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"giascan/hardware"
	"giascan/hardware/escl"
)

// startAgent runs the agent in-process on a free port and returns its
// eSCL root URL; it stops when the test ends.
func startAgent(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	var stderr bytes.Buffer
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, &env{stdout: &bytes.Buffer{}, stderr: &stderr, ready: func(a string) { addr <- a }},
			append([]string{"--listen", "127.0.0.1:0"}, args...))
	}()
	t.Cleanup(func() {
		cancel()
		if c := <-code; c != 0 {
			t.Errorf("agent exited with %d: %s", c, stderr.String())
		}
	})
	select {
	case a := <-addr:
		return "http://" + a + escl.Root
	case c := <-code:
		code <- c
		t.Fatalf("agent exited with %d: %s", c, stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatal("agent did not start")
	}
	return ""
}

// saneTestConf makes a SANE configuration folder with only the test
// backend and points the agent's scanimage at it.
func saneTestConf(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("scanimage"); err != nil {
		t.Skip("scanimage (sane-utils) is not installed; make deps installs it")
	}
	conf := t.TempDir()
	if err := os.WriteFile(filepath.Join(conf, "dll.conf"), []byte("test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SANE_CONFIG_DIR", conf)
}

// TestAirscanScansFromAgent: Debian's sane-airscan, a third-party eSCL
// client, configured with the agent's URL, makes scanimage scan a full
// feeder of SANE's test backend served by the agent.
func TestAirscanScansFromAgent(t *testing.T) {
	const lib = "/usr/lib/x86_64-linux-gnu/sane/libsane-airscan.so.1"
	if _, err := os.Stat(lib); err != nil {
		t.Skip("sane-airscan is not installed (make deps installs it): " + err.Error())
	}
	saneTestConf(t)
	url := startAgent(t, "--device", "sane:test:0,--test-picture=Grid")

	// The client's SANE: only airscan, with the agent as its one device
	// and discovery off, so nothing on the LAN interferes.
	client := t.TempDir()
	os.WriteFile(filepath.Join(client, "dll.conf"), []byte("airscan\n"), 0o644)
	os.WriteFile(filepath.Join(client, "airscan.conf"), []byte(fmt.Sprintf(
		"[devices]\n\"giascan agent\" = %s, eSCL\n[options]\ndiscovery = disable\nws-discovery = off\n", url)), 0o644)
	clientEnv := append(os.Environ(), "SANE_CONFIG_DIR="+client)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	list := exec.CommandContext(ctx, "scanimage", "-f", "%d%n")
	list.Env = clientEnv
	out, err := list.CombinedOutput()
	if err != nil {
		t.Fatalf("scanimage -f: %v: %s", err, out)
	}
	device := ""
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "airscan:") {
			device = strings.TrimSpace(l)
		}
	}
	if device == "" {
		t.Fatalf("airscan does not list the agent: %q", out)
	}

	pages := t.TempDir()
	scan := exec.CommandContext(ctx, "scanimage", "-d", device, "--source", "ADF", "--mode", "Gray",
		"--resolution", "150", "-x", "80", "-y", "100", "--format=png", "--batch="+filepath.Join(pages, "p%02d.png"))
	scan.Env = clientEnv
	out, err = scan.CombinedOutput()
	// scanimage ends a batch on an empty feeder with "out of documents".
	if err != nil && !strings.Contains(string(out), "out of documents") {
		t.Fatalf("scanimage through airscan: %v: %s", err, out)
	}
	files, _ := filepath.Glob(filepath.Join(pages, "p*.png"))
	sort.Strings(files)
	// SANE's test backend feeds 10 sheets per run.
	if len(files) != 10 {
		t.Fatalf("%d pages scanned through airscan, want the test feeder's 10: %s", len(files), out)
	}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		img, format, err := image.Decode(bytes.NewReader(b))
		if err != nil || format != "png" {
			t.Fatalf("%s: %v (%s)", filepath.Base(f), err, format)
		}
		// The test backend's page is 80×100 mm: at 150 dpi 472×590
		// pixels, the region asked for.
		r := img.Bounds()
		if r.Dx() < 460 || r.Dx() > 485 || r.Dy() < 578 || r.Dy() > 602 {
			t.Errorf("%s: %d×%d pixels, want about 472×590 (80×100 mm at 150 dpi)", filepath.Base(f), r.Dx(), r.Dy())
		}
		// Its grid is black lines on white: both must be there, or the
		// pages are blank padding.
		dark, light := 0, 0
		for y := r.Min.Y; y < r.Max.Y; y += 3 {
			for x := r.Min.X; x < r.Max.X; x += 3 {
				if g, _, _, _ := img.At(x, y).RGBA(); g < 0x4000 {
					dark++
				} else if g > 0xC000 {
					light++
				}
			}
		}
		if dark*20 < dark+light || light*20 < dark+light {
			t.Errorf("%s: %d dark and %d light samples; the test grid did not come through", filepath.Base(f), dark, light)
		}
	}
}

// The station's own eSCL adapter scans from the agent process's HTTP
// server as from a network scanner, through the registry by spec.
func TestStationAdapterScansFromAgent(t *testing.T) {
	url := startAgent(t, "--device", "sim:seed=5,count=3,profile=clean,jam=2")
	dev, err := hardware.Open("escl:" + url)
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	scan := func() error {
		return dev.Scan(context.Background(), hardware.Options{Source: hardware.ADF}, func(p hardware.Page) error {
			got = append(got, p.Seq)
			return nil
		})
	}
	err = scan()
	if f, ok := err.(*hardware.Fault); !ok || f.Kind != hardware.PaperJam || f.After != 2 {
		t.Fatalf("first run: %v, want a paper jam after page 2", err)
	}
	if err := scan(); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[1 2 3]" {
		t.Errorf("pages %v, want 1 2 3", got)
	}
}

// A scanner unplugged from the agent's PC: the station's adapter reports
// it gone and keeps doing so; opened again through the registry once the
// scanner is back, it scans the rest of the stack, each sheet once.
func TestAgentDeviceUnpluggedAndBack(t *testing.T) {
	url := startAgent(t, "--device", "sim:seed=5,count=4,profile=clean,gone=2", "--announce=false")
	dev, err := hardware.Open("escl:" + url)
	if err != nil {
		t.Fatal(err)
	}
	var got [][]byte
	scan := func(dev hardware.Scanner) error {
		return dev.Scan(context.Background(), hardware.Options{Source: hardware.ADF}, func(p hardware.Page) error {
			got = append(got, p.Data)
			return nil
		})
	}
	for try := 0; try < 2; try++ {
		var f *hardware.Fault
		if err := scan(dev); !errors.As(err, &f) || f.Kind != hardware.DeviceGone || f.After != 2 || len(got) != 2 {
			t.Fatalf("run %d: %d pages, %v; want 2 and the device gone after page 2", try+1, len(got), err)
		}
	}
	if dev, err = hardware.Reopen("escl:"+url, dev); err != nil {
		t.Fatal(err)
	}
	if err := scan(dev); err != nil || len(got) != 4 {
		t.Fatalf("after reopening: %d pages in all, %v; want 4", len(got), err)
	}
	seen := map[string]bool{}
	for _, b := range got {
		seen[string(b)] = true
	}
	if len(seen) != 4 {
		t.Errorf("%d distinct pages of 4: a sheet came twice", len(seen))
	}
}

func TestBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "не указан сканер"},
		{[]string{"--device", "sim", "--idle", "0s"}, 2, "время ожидания"},
		{[]string{"--device", "nosuch:x"}, 1, "не открывается"},
		{[]string{"--device", "sim", "extra"}, 2, "лишний аргумент"},
		{[]string{"--device", "sim", "--listen", "256.1.1.1:1"}, 1, "адрес"},
	} {
		var stderr bytes.Buffer
		code := run(context.Background(), &env{stdout: &bytes.Buffer{}, stderr: &stderr}, tc.args)
		if code != tc.code || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%q: exit %d, %q; want %d and %q", tc.args, code, stderr.String(), tc.code, tc.want)
		}
	}
}

func TestList(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), &env{stdout: &stdout, stderr: &stderr}, []string{"--list"}); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "sim:profile=clean\t") {
		t.Errorf("the list lacks the simulator's entries:\n%s", stdout.String())
	}
}

// TestWindowsBuild cross-compiles the agent for Windows, with the TWAIN
// driver in it, and vets the driver there: the Windows build is pure Go,
// so this machine can check it.
func TestWindowsBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-compiling takes a while")
	}
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		t.Skip("the go tool is not at GOROOT: ", err)
	}
	for _, arch := range []string{"amd64", "386"} {
		out := filepath.Join(t.TempDir(), "scanagent.exe")
		for _, args := range [][]string{
			{"build", "-o", out, "giascan/cmd/scanagent"},
			{"vet", "giascan/hardware/twain/..."},
		} {
			cmd := exec.Command(goTool, args...)
			cmd.Env = append(os.Environ(), "GOOS=windows", "GOARCH="+arch, "CGO_ENABLED=0")
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("GOOS=windows GOARCH=%s go %s: %v\n%s", arch, strings.Join(args, " "), err, b)
			}
		}
		b, err := os.ReadFile(out)
		if err != nil || !bytes.HasPrefix(b, []byte("MZ")) {
			t.Fatalf("%s: no Windows executable (%v)", arch, err)
		}
		if !bytes.Contains(b, []byte("TWAINDSM.dll")) {
			t.Errorf("%s: the executable does not contain the TWAIN driver", arch)
		}
	}
}
