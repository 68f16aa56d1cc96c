//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	_ "image/png"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"giascan/hardware"
)

// TestTWAINUnderWine runs the agent's Windows build under Wine, driving
// Wine's own DSM (twain_32.dll) and data source (gphoto2.ds), which reads
// a folder presented to libgphoto2 as a camera, and scans its pages
// through the station's escl adapter. It needs root (a bind mount), Wine,
// Xvfb and mingw's binutils, so it runs only when asked:
// GIASCAN_WINE_TWAIN=1. See docs/hardware.md for what it shows.
func TestTWAINUnderWine(t *testing.T) {
	if os.Getenv("GIASCAN_WINE_TWAIN") == "" {
		t.Skip("set GIASCAN_WINE_TWAIN=1 to run the TWAIN driver under Wine (needs root, wine64, xvfb, binutils-mingw-w64-x86-64)")
	}
	wine := "/usr/lib/wine/wine64"
	for _, tool := range []string{wine, "/usr/lib/wine/wineserver", "xvfb-run", "x86_64-w64-mingw32-as", "x86_64-w64-mingw32-ld"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s: %v", tool, err)
		}
	}
	dir := t.TempDir()
	prefix := filepath.Join(dir, "prefix")
	env := append(os.Environ(), "WINEPREFIX="+prefix, "WINEDEBUG=-all")
	run := func(name string, args ...string) {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Env, cmd.Dir = env, dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
	}
	t.Cleanup(func() {
		cmd := exec.Command("/usr/lib/wine/wineserver", "-k")
		cmd.Env = env
		cmd.Run()
	})

	// The agent for Windows, and a prefix where gphoto2.ds hands over
	// every image without its dialog.
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	build := exec.Command(goTool, "build", "-o", filepath.Join(dir, "scanagent.exe"), "giascan/cmd/scanagent")
	build.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	run("xvfb-run", "-a", wine, "reg", "add", `HKCU\Software\Wine\Gphoto2`, "/v", "SkipUI", "/t", "REG_DWORD", "/d", "1", "/f")
	run("/usr/lib/wine/wineserver", "-w")
	// Go's runtime needs bcryptprimitives.dll!ProcessPrng, which Wine 8.0
	// lacks: a DLL that forwards it to advapi32's RtlGenRandom, whose
	// signature is the same.
	os.WriteFile(filepath.Join(dir, "bp.def"), []byte("LIBRARY bcryptprimitives.dll\nEXPORTS\n  ProcessPrng = advapi32.SystemFunction036\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "bp.s"), []byte(".text\n.globl DllMain\nDllMain:\n  mov $1, %eax\n  ret\n"), 0o644)
	run("x86_64-w64-mingw32-as", "-o", "bp.o", "bp.s")
	run("x86_64-w64-mingw32-ld", "-shared", "--entry", "DllMain", "-o",
		filepath.Join(prefix, "drive_c", "windows", "system32", "bcryptprimitives.dll"), "bp.o", "bp.def")

	// The "camera": a mounted folder with DCIM, as libgphoto2 looks for.
	cam, mnt := filepath.Join(dir, "cam"), filepath.Join(dir, "mnt")
	os.MkdirAll(filepath.Join(cam, "DCIM", "100GIASC"), 0o755)
	os.MkdirAll(mnt, 0o755)
	const pages = 3
	for n := 1; n <= pages; n++ {
		img := image.NewGray(image.Rect(0, 0, 400, 300))
		for y := 0; y < 300; y++ {
			for x := 0; x < 400; x++ {
				if (x/40+y/40+n)%2 != 0 {
					img.SetGray(x, y, color.Gray{255})
				}
			}
		}
		var b bytes.Buffer
		jpeg.Encode(&b, img, &jpeg.Options{Quality: 95})
		os.WriteFile(filepath.Join(cam, "DCIM", "100GIASC", fmt.Sprintf("IMG_%04d.JPG", n)), b.Bytes(), 0o644)
	}
	run("mount", "--bind", cam, mnt)
	t.Cleanup(func() { exec.Command("umount", mnt).Run() })

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	agent := exec.Command("xvfb-run", "-a", wine, "scanagent.exe", "--device", "twain:Mass Storage Camera,ui=show,xfer=memory", "--listen", addr)
	agent.Env, agent.Dir = env, dir
	var logs bytes.Buffer
	agent.Stdout, agent.Stderr = &logs, &logs
	agent.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-agent.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { agent.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			syscall.Kill(-agent.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})
	var dev hardware.Scanner
	for deadline := time.Now().Add(90 * time.Second); dev == nil; {
		dev, err = hardware.Open("escl:http://" + addr + "/eSCL")
		if err != nil && time.Now().After(deadline) {
			t.Fatalf("the agent under Wine does not answer: %v\n%s", err, logs.String())
		}
		if err != nil {
			time.Sleep(time.Second)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var got []hardware.Page
	err = dev.Scan(ctx, hardware.Options{Source: hardware.Flatbed}, func(p hardware.Page) error {
		got = append(got, p)
		return nil
	})
	// Wine's gphoto2.ds keeps saying images are pending after the last
	// one, so the run ends with the next transfer's sequence error.
	t.Logf("end of the run: %v", err)
	if len(got) != pages {
		t.Fatalf("%d pages through TWAIN under Wine, want %d\n%s", len(got), pages, logs.String())
	}
	for i, p := range got {
		img, _, err := image.Decode(bytes.NewReader(p.Data))
		if err != nil {
			t.Fatalf("page %d: %v", p.Seq, err)
		}
		// Page n has a black square at the top left when n is even.
		r, _, _, _ := img.At(5, 5).RGBA()
		if want := (i+1)%2 == 0; (r < 0x8000) != want || img.Bounds().Dx() != 400 {
			t.Errorf("page %d: %v, top-left red %d; not the camera's image %d", p.Seq, img.Bounds(), r>>8, i+1)
		}
	}
}
