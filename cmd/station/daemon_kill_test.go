package main

import (
	"bytes"
	"encoding/json"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"giascan/hardware/sim"
	"giascan/station/layout"
	"giascan/station/localapi"
	"giascan/station/reconcile"
)

// daemonProc is `station serve` as a process of its own, to be killed.
type daemonProc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

func startDaemonProc(t *testing.T, bin, dir string) *daemonProc {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--data", dir, "--listen", "127.0.0.1:0")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &daemonProc{cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); close(d.done) }()
	deadline := time.Now().Add(30 * time.Second)
	for !localapi.Alive(dir, layout.SocketFile) {
		select {
		case <-d.done:
			t.Fatalf("the daemon ended at start: %s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			d.kill()
			t.Fatalf("the daemon's local API did not come up: %s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return d
}

func (d *daemonProc) kill() {
	d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.done
}

func (d *daemonProc) alive() bool {
	select {
	case <-d.done:
		return false
	default:
		return true
	}
}

// The random-kill run: the daemon is killed with SIGKILL at random
// moments of an exam day — while it scans, closes, seals and sends — 20
// times, and started again each time. In the end the РЦОИ holds every
// package exactly once and the station every page once.
func TestDaemonKilledAtRandomMomentsLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("runs an exam day with 20 kills of the daemon")
	}
	bin := buildStation(t)
	fastRetries(t) // the in-process parts; the daemon process keeps its defaults
	p := planPPE(t, 9, 22)
	a, b := p.auds[0], p.auds[1]
	dir := filepath.Join(t.TempDir(), "data")
	examFile := filepath.Join(t.TempDir(), "exam.json")
	os.WriteFile(examFile, p.exam, 0o600)
	runBin(t, bin, "exam", "import", "--data", dir, examFile)
	r := newRCOI(t, p.exam)
	defer r.kill()
	r.register(t, dir, p.ppe)
	cmd := exec.Command(bin, "user", "add", "--data", dir, "--login", "head1", "--role", "head", "--password-stdin")
	cmd.Stdin = strings.NewReader("pw-kill-test-1\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("user add: %v %s", err, out)
	}
	net := "http://" + r.addr

	// try runs one step; done tells whether it took effect (or had).
	try := func(args ...string) (bool, string) {
		c := exec.Command(bin, append(args, "--data", dir)...)
		var out bytes.Buffer
		c.Stdout, c.Stderr = &out, &out
		err := c.Run()
		if err == nil {
			return true, out.String()
		}
		// Closing what is closed is done already.
		return strings.Contains(out.String(), "уже закрыта") || (args[0] == "auditorium" && strings.Contains(out.String(), "закрыта (")), out.String()
	}
	pdf := filepath.Join(t.TempDir(), "ppe15.pdf")
	scanPrefix := filepath.Join(t.TempDir(), "scan")
	formSeq := p.forms - p.first[b] + 1
	steps := []func() (bool, string){
		func() (bool, string) { return try("rcoi", "set", "--url", net, "--key", r.receiptKey()) },
		func() (bool, string) {
			return try("scan", "--ppe", p.ppe, "--auditorium", a, "--device", p.device(1, p.last[a]), "--on-fault", "continue", "--workers", "2")
		},
		func() (bool, string) {
			return try("auditorium", "close", "--ppe", p.ppe, "--auditorium", a, "--reason", "сдано", "--user", "op1")
		},
		func() (bool, string) {
			return try("scan", "--ppe", p.ppe, "--auditorium", b, "--device", p.device(p.first[b], p.count-1), "--on-fault", "continue", "--workers", "2")
		},
		func() (bool, string) {
			args := []string{"form1302", "confirm", "--user", "ivanova", "--ppe", p.ppe, "--auditorium", b, "--page", strconv.Itoa(formSeq)}
			ok, out := try(args...)
			if ok {
				return ok, out
			}
			m := regexp.MustCompile(`значения полей (.+?) не подтверждены`).FindStringSubmatch(out)
			if m == nil {
				return false, out
			}
			truth, _ := sim.Render(p.sheets[p.forms-1], sim.Settings{Profile: sim.Clean})
			for _, id := range strings.Split(m[1], ", ") {
				args = append(args, "--set", id+"="+truth.Truth.Digits[id])
			}
			return try(args...)
		},
		func() (bool, string) {
			return try("auditorium", "close", "--ppe", p.ppe, "--auditorium", b, "--reason", "сдано", "--user", "op1")
		},
		func() (bool, string) {
			if ok, out := try("protocol", "print", "--ppe", p.ppe, "--out", pdf); !ok {
				return false, out
			}
			if out, err := exec.Command("pdftoppm", "-r", "300", "-gray", "-png", "-singlefile", pdf, scanPrefix).CombinedOutput(); err != nil {
				return false, string(out)
			}
			return try("protocol", "match", "--ppe", p.ppe, "--file", scanPrefix+".png")
		},
	}
	rng := rand.New(rand.NewSource(20261204))
	next, kills, midStep, midSend := 0, 0, 0, 0
	var lastOut string
	var during []string
	for kills < 20 {
		d := startDaemonProc(t, bin, dir)
		// The kill is timed from the start of the step, not of the
		// daemon, whose start takes longer on a loaded machine: it lands
		// in the middle of the work, or in the sending that follows.
		wait := time.Duration(30+rng.Intn(1500)) * time.Millisecond
		timer := time.AfterFunc(wait, d.kill)
		// At most one step a life, so that the kills spread over the
		// whole day: scanning, closing and sealing, signing, sending.
		for done := next + 1; next < done && next < len(steps) && d.alive(); {
			ok, out := steps[next]()
			lastOut = out
			if ok {
				next++
			} else if !d.alive() {
				midStep++
				during = append(during, strconv.Itoa(next))
			}
		}
		<-d.done // every step done: the daemon goes on sending until killed
		timer.Stop()
		kills++
		// A kill after the first closing, before the РЦОИ has it all,
		// cut the sealing or the sending.
		if pr := r.progress(t, p.ppe); next > 2 && (pr == nil || pr.Progress == nil || !pr.Complete) {
			midSend++
		}
	}
	t.Logf("20 kills: %d in the middle of a step (steps %s), %d while packages were being sealed or sent; steps done before the last one: %d of %d",
		midStep, strings.Join(during, ","), midSend, next, len(steps))
	if midStep+midSend < 5 {
		t.Errorf("only %d kills landed in the middle of work: the test hardly tests", midStep+midSend)
	}

	// The rest of the day, with no more kills.
	d := startDaemonProc(t, bin, dir)
	defer d.kill()
	deadline := time.Now().Add(3 * time.Minute)
	for next < len(steps) {
		if ok, out := steps[next](); ok {
			next++
		} else if lastOut = out; time.Now().After(deadline) {
			t.Fatalf("step %d does not succeed: %s", next, out)
		} else {
			time.Sleep(200 * time.Millisecond)
		}
	}
	for {
		pr := r.progress(t, p.ppe)
		if pr != nil && pr.Progress != nil && pr.Complete {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the ППЭ is not complete at the РЦОИ: %+v (last output %s)", pr, lastOut)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// The РЦОИ holds each package once: no version accepted twice, and
	// one package per auditorium and the closing set.
	pr := r.progress(t, p.ppe)
	seen := map[string]bool{}
	ids := map[string]bool{}
	for _, rc := range pr.Packages {
		k := rc.Package + "/" + strconv.Itoa(rc.Version)
		if seen[k] {
			t.Errorf("the РЦОИ accepted %s twice", k)
		}
		seen[k], ids[rc.Package] = true, true
	}
	if len(ids) != 3 {
		t.Errorf("the РЦОИ holds packages %v, want two auditoriums and the closing set", ids)
	}
	// The station holds every page once.
	out := runBin(t, bin, "report", "--json", "--data", dir)
	var rep reconcile.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	scanned := 0
	for _, au := range rep.PPE[0].Auditoriums {
		s := au.Scanned
		scanned += s.BO1 + s.BO2S1 + s.BO2S2 + s.DBO2 + s.Other
		for _, pb := range au.Problems {
			if pb.Kind == reconcile.KindDuplicateScan || pb.Kind == reconcile.KindDuplicateBarcode {
				t.Errorf("auditorium %s: %s %s", au.Number, pb.Kind, pb.Detail)
			}
		}
	}
	want := p.last[a] + (p.count - 1 - p.first[b] + 1)
	if scanned != want {
		t.Errorf("the station holds %d pages, %d were fed", scanned, want)
	}
	runBin(t, bin, "audit", "verify", "--data", dir)
}

// SIGTERM stops the daemon in the middle of a scan without losing a
// page: it exits cleanly, and the stack fed again completes the
// auditorium with every page once.
func TestDaemonSIGTERMLosesNoPage(t *testing.T) {
	bin := buildStation(t)
	p := planPPE(t, 9, 22)
	a := p.auds[0]
	dir := filepath.Join(t.TempDir(), "data")
	examFile := filepath.Join(t.TempDir(), "exam.json")
	os.WriteFile(examFile, p.exam, 0o600)
	runBin(t, bin, "exam", "import", "--data", dir, examFile)
	cmd := exec.Command(bin, "user", "add", "--data", dir, "--login", "head1", "--role", "head", "--password-stdin")
	cmd.Stdin = strings.NewReader("pw-term-test-1\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("user add: %v %s", err, out)
	}
	d := startDaemonProc(t, bin, dir)
	scan := []string{"scan", "--data", dir, "--ppe", p.ppe, "--auditorium", a, "--device", p.device(1, p.last[a]), "--on-fault", "continue", "--workers", "1"}
	sc := exec.Command(bin, scan...)
	var out bytes.Buffer
	sc.Stdout, sc.Stderr = &out, &out
	if err := sc.Start(); err != nil {
		t.Fatal(err)
	}
	// Once a few pages are stored, the daemon is told to stop.
	deadline := time.Now().Add(30 * time.Second)
	for strings.Count(out.String(), `"seq"`) < 3 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(30 * time.Second):
		d.kill()
		t.Fatal("the daemon did not stop within 30 s of SIGTERM")
	}
	if code := d.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("the daemon exited %d after SIGTERM, want 0", code)
	}
	sc.Wait()
	stored := strings.Count(out.String(), `"seq"`)
	// Fed again, with no daemon: the pages stored before are recognised
	// as already there, the rest are added.
	runBin(t, bin, scan...)
	var rep reconcile.Report
	if err := json.Unmarshal([]byte(runBin(t, bin, "report", "--json", "--data", dir)), &rep); err != nil {
		t.Fatal(err)
	}
	s := rep.PPE[0].Auditoriums[0].Scanned
	if n := s.BO1 + s.BO2S1 + s.BO2S2 + s.DBO2 + s.Other; n != p.last[a] {
		t.Errorf("the auditorium holds %d pages, %d were fed (%d stored before SIGTERM)", n, p.last[a], stored)
	}
	for _, pb := range rep.PPE[0].Auditoriums[0].Problems {
		if pb.Kind == reconcile.KindDuplicateScan {
			t.Errorf("a page was stored twice: %s", pb.Detail)
		}
	}
	runBin(t, bin, "audit", "verify", "--data", dir)
	t.Logf("%d pages stored before SIGTERM, %d in all", stored, p.last[a])
}
