package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"giascan/forms"
	"giascan/hardware/sim"
	"giascan/station"
	"giascan/station/exam"
	"giascan/station/layout"
	"giascan/station/packaging"
	"giascan/station/store"
	"giascan/transport/linktest"
	"giascan/transport/receiver"
	"giascan/transport/receiver/receipt"
	"giascan/transport/seal"
	"giascan/transport/upload"
)

// mustRunTB runs a station command in-process and fails on a non-zero exit.
func mustRunTB(tb testing.TB, args ...string) string {
	tb.Helper()
	var out, errb bytes.Buffer
	if code := run(context.Background(), &env{stdout: &out, stderr: &errb, stdin: strings.NewReader("")}, args); code != 0 {
		tb.Fatalf("%s: exit %d: %s", strings.Join(args, " "), code, errb.String())
	}
	return out.String()
}

// lockedBuffer collects a command's output written from several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// simPPE is a simulated ППЭ: the planned stream and where each of its
// auditoriums' sheets lie in it (1-based, inclusive), then its forms.
type simPPE struct {
	spec        string // the sim device's stack, without from and drop
	count       int
	sheets      []sim.Sheet
	ppe         string
	auds        []string
	first, last map[string]int
	forms       int // first sheet of the ППЭ's forms
	exam        []byte
}

// planPPE lays out the first ППЭ of a simulated stream and its exam file.
func planPPE(tb testing.TB, seed, count int) *simPPE {
	tb.Helper()
	sheets, err := sim.Plan(int64(seed), count)
	if err != nil {
		tb.Fatal(err)
	}
	return ppeOfPlan(sheets, "seed="+strconv.Itoa(seed)+",count="+strconv.Itoa(count))
}

// planShapedPPE plans one ППЭ of auds auditoriums of kits participants.
func planShapedPPE(tb testing.TB, seed, auds, kits int) *simPPE {
	tb.Helper()
	sheets, err := sim.PlanShape(int64(seed), auds, kits)
	if err != nil {
		tb.Fatal(err)
	}
	return ppeOfPlan(sheets, fmt.Sprintf("seed=%d,shape=%dx%d", seed, auds, kits))
}

// ppeOfPlan reads the first ППЭ of a planned stack and writes its exam.
func ppeOfPlan(sheets []sim.Sheet, spec string) *simPPE {
	p := &simPPE{spec: spec, count: len(sheets), sheets: sheets, ppe: sheets[0].ID.PPE, first: map[string]int{}, last: map[string]int{}}
	kits := map[string][]string{}
	for i, s := range sheets {
		if s.ID.PPE != p.ppe {
			break
		}
		a := s.ID.Auditorium
		if a == "0000" {
			if p.forms == 0 {
				p.forms = i + 1
			}
			continue
		}
		if _, ok := p.first[a]; !ok {
			p.first[a] = i + 1
			p.auds = append(p.auds, a)
		}
		p.last[a] = i + 1
		if s.ID.Sheet == 0 && s.ID.Type == forms.TypeBO1 {
			kits[a] = append(kits[a], s.ID.Kit)
		}
	}
	id := sheets[0].ID
	var auds []any
	for _, a := range p.auds {
		auds = append(auds, map[string]any{"number": a, "kits": kits[a]})
	}
	p.exam, _ = json.Marshal(map[string]any{"level": id.Level, "subject": id.Subject, "region": id.Region,
		"date": id.Date[:4] + "-" + id.Date[4:6] + "-" + id.Date[6:],
		"ppe":  []any{map[string]any{"code": p.ppe, "auditoriums": auds}}})
	return p
}

// device is the sim spec that feeds sheets from..to of the stream.
func (p *simPPE) device(from, to int) string {
	spec := "sim:" + p.spec + ",profile=clean"
	if from > 1 {
		spec += ",from=" + strconv.Itoa(from)
	}
	var drop []string
	for i := to + 1; i <= p.count; i++ {
		drop = append(drop, strconv.Itoa(i))
	}
	if len(drop) > 0 {
		spec += ",drop=" + strings.Join(drop, "+")
	}
	return spec
}

// rcoi is an in-process receiver on a real loopback listener, which can be
// killed and started again on the same folder.
type rcoi struct {
	dir  string
	rcv  *receiver.Receiver
	srv  *http.Server
	done chan error
	addr string
}

func newRCOI(tb testing.TB, examFile []byte) *rcoi {
	tb.Helper()
	r := &rcoi{dir: tb.TempDir()}
	if _, err := receiver.InitKeys(r.dir); err != nil {
		tb.Fatal(err)
	}
	ex, err := exam.Parse(examFile)
	if err != nil {
		tb.Fatal(err)
	}
	owed := receiver.Owed{}
	for code, list := range ex.OwedPackages() {
		for _, p := range list {
			owed[code] = append(owed[code], receiver.Expected{Package: p.Package, Auditorium: p.Auditorium})
		}
	}
	if err := receiver.ImportExam(r.dir, examFile, owed); err != nil {
		tb.Fatal(err)
	}
	r.start(tb)
	return r
}

func (r *rcoi) start(tb testing.TB) {
	tb.Helper()
	rcv, err := receiver.Open(r.dir, "")
	if err != nil {
		tb.Fatal(err)
	}
	h, err := rcv.Handler(context.Background(), nil)
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	r.rcv, r.srv, r.done, r.addr = rcv, &http.Server{Handler: h}, make(chan error, 1), ln.Addr().String()
	go func() { r.done <- r.srv.Serve(ln) }()
}

// kill stops the receiver at once, cutting uploads in flight.
func (r *rcoi) kill() {
	if r.srv != nil {
		r.srv.Close()
		<-r.done
		r.srv = nil
	}
}

func (r *rcoi) receiptKey() string { return seal.FormatPublicKey(r.rcv.ReceiptKey()) }

// register makes the station's keys, registers the station at the РЦОИ and
// gives the station the РЦОИ's recipient.
func (r *rcoi) register(tb testing.TB, dir, ppe string) {
	tb.Helper()
	mustRunTB(tb, "keys", "init", "--data", dir)
	pub, err := seal.LoadStationPublicKey(seal.KeyDir(dir))
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := receiver.AddStation(r.dir, ppe, seal.FormatPublicKey(pub)); err != nil {
		tb.Fatal(err)
	}
	rc := filepath.Join(tb.TempDir(), "rcoi.txt")
	os.WriteFile(rc, []byte(r.rcv.Recipient()+"\n"), 0o644)
	mustRunTB(tb, "keys", "rcoi", "import", "--data", dir, rc)
}

// progress is the РЦОИ's view of one ППЭ.
func (r *rcoi) progress(tb testing.TB, ppe string) *receiver.PPEStatus {
	tb.Helper()
	st, err := r.rcv.Status(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	for i := range st.PPE {
		if st.PPE[i].PPE == ppe {
			return &st.PPE[i]
		}
	}
	return nil
}

// sendRun is `station send` running in the background of a test.
type sendRun struct {
	cancel context.CancelFunc
	done   chan int
	out    lockedBuffer
	log    lockedBuffer
}

func startSend(args ...string) *sendRun {
	ctx, cancel := context.WithCancel(context.Background())
	s := &sendRun{cancel: cancel, done: make(chan int, 1)}
	go func() {
		s.done <- run(ctx, &env{stdout: &s.out, stderr: &s.log, stdin: strings.NewReader("")}, append([]string{"send"}, args...))
	}()
	return s
}

func (s *sendRun) stop() int {
	s.cancel()
	return <-s.done
}

// fastRetries makes the sender look and retry quickly, for tests.
func fastRetries(tb testing.TB) {
	rescan, minB, maxB, chunk := station.DeliveryRescan, station.DeliveryMinBackoff, station.DeliveryMaxBackoff, station.DeliveryChunk
	station.DeliveryRescan, station.DeliveryMinBackoff, station.DeliveryMaxBackoff, station.DeliveryChunk = 200*time.Millisecond, 50*time.Millisecond, 500*time.Millisecond, 64<<10
	tb.Cleanup(func() {
		station.DeliveryRescan, station.DeliveryMinBackoff, station.DeliveryMaxBackoff, station.DeliveryChunk = rescan, minB, maxB, chunk
	})
}

// confirm1302 confirms the ППЭ-13-02-МАШ from its scan, typing in from the
// paper whatever the recognizer was unsure of.
func confirm1302(tb testing.TB, dir string, p *simPPE, place store.Place, seq int) {
	tb.Helper()
	sheet := p.sheets[p.forms-1]
	if sheet.ID.Type != forms.TypePPE1302 {
		tb.Fatalf("sheet %d is %s, not the ППЭ-13-02-МАШ", p.forms, sheet.ID.Type)
	}
	args := []string{"form1302", "confirm", "--data", dir, "--user", "ivanova", "--ppe", place.PPE,
		"--auditorium", place.Auditorium, "--page", strconv.Itoa(seq)}
	var out, errb bytes.Buffer
	if run(context.Background(), &env{stdout: &out, stderr: &errb, stdin: strings.NewReader("")}, args) == 0 {
		return
	}
	// The refusal names the fields the recognizer was unsure of; the
	// person types them from the paper.
	m := regexp.MustCompile(`значения полей (.+?) не подтверждены`).FindStringSubmatch(errb.String())
	if m == nil {
		tb.Fatalf("form1302 confirm: %s", errb.String())
	}
	truth, err := sim.Render(sheet, sim.Settings{Profile: sim.Clean})
	if err != nil {
		tb.Fatal(err)
	}
	for _, id := range strings.Split(m[1], ", ") {
		args = append(args, "--set", id+"="+truth.Truth.Digits[id])
	}
	mustRunTB(tb, args...)
}

// signProtocol prints the ППЭ-15, "signs" it — rasterises its page as a
// scan of the signed paper would look — and matches the scan.
func signProtocol(tb testing.TB, dir, ppe string) {
	tb.Helper()
	if _, err := exec.LookPath("pdftoppm"); err != nil {
		tb.Skip("pdftoppm is not installed: cannot rasterise the protocol")
	}
	pdf := filepath.Join(tb.TempDir(), "ppe15.pdf")
	mustRunTB(tb, "protocol", "print", "--data", dir, "--ppe", ppe, "--out", pdf)
	prefix := filepath.Join(tb.TempDir(), "scan")
	if b, err := exec.Command("pdftoppm", "-r", "300", "-gray", "-png", "-singlefile", pdf, prefix).CombinedOutput(); err != nil {
		tb.Fatalf("pdftoppm: %v %s", err, b)
	}
	mustRunTB(tb, "protocol", "match", "--data", dir, "--ppe", ppe, "--file", prefix+".png")
}

// outboxTotal is the bytes of every sealed package of a ППЭ.
func outboxTotal(tb testing.TB, dir, ppe string) (n int64, count int) {
	tb.Helper()
	list, err := packaging.List(dir, ppe)
	if err != nil {
		tb.Fatal(err)
	}
	for _, s := range list {
		n += s.Size
	}
	return n, len(list)
}

// The end-to-end run: a ППЭ of two auditoriums is scanned; the
// first auditorium's package leaves for the РЦОИ while the second is still
// being scanned, over a 1 Mbit/s link that is cut twice and a receiver
// that is killed and started again mid-upload; the ППЭ-15 is printed,
// signed and matched, the closing set follows, and in the end the РЦОИ
// sees the ППЭ complete and the station holds a valid receipt for each
// package.
func TestDeliverPPEEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("scans a simulated ППЭ and sends it over a throttled link")
	}
	start := time.Now()
	fastRetries(t)
	p := planPPE(t, 9, 22)
	if len(p.auds) != 2 {
		t.Fatalf("the plan has auditoriums %v, want two", p.auds)
	}
	a, b := store.Place{PPE: p.ppe, Auditorium: p.auds[0]}, store.Place{PPE: p.ppe, Auditorium: p.auds[1]}
	dir := filepath.Join(t.TempDir(), "data")
	examFile := filepath.Join(t.TempDir(), "exam.json")
	os.WriteFile(examFile, p.exam, 0o600)
	mustRunTB(t, "exam", "import", "--data", dir, examFile)
	r := newRCOI(t, p.exam)
	defer func() { r.kill() }()
	r.register(t, dir, p.ppe)
	net := linktest.New(t, r.addr, 125_000) // 1 Mbit/s

	// The station's daemon runs, with the РЦОИ set: from now on it seals
	// and sends by itself, and the commands below go through it.
	stopDaemon := startDaemon(t, dir)
	mustRunTB(t, "rcoi", "set", "--data", dir, "--url", net.URL(), "--key", r.receiptKey())

	// First auditorium: scanned and closed; closing seals its package.
	mustRunTB(t, "scan", "--data", dir, "--ppe", a.PPE, "--auditorium", a.Auditorium,
		"--device", p.device(1, p.last[a.Auditorium]), "--on-fault", "continue", "--workers", "2")
	mustRunTB(t, "auditorium", "close", "--data", dir, "--ppe", a.PPE, "--auditorium", a.Auditorium, "--reason", "сдано", "--user", "op1")
	sizeA, _ := outboxTotal(t, dir, p.ppe)
	t.Logf("auditorium %s sealed on closing: %d bytes, after %v", a.Auditorium, sizeA, time.Since(start).Round(time.Millisecond))

	// It leaves at once, by itself; the link is cut twice during it.
	net.SetCuts(sizeA/4, sizeA/2)

	// The РЦОИ goes down mid-upload and comes back on the same folder.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if fw, _ := net.Stats(); fw > sizeA*7/10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the first package is not going out")
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.kill()
	time.Sleep(300 * time.Millisecond) // the station's next tries find nobody
	r.start(t)
	net.SetBackend(r.addr)

	// Meanwhile the second auditorium is scanned, with the ППЭ's forms.
	mustRunTB(t, "scan", "--data", dir, "--ppe", b.PPE, "--auditorium", b.Auditorium,
		"--device", p.device(p.first[b.Auditorium], p.count-1), "--on-fault", "continue", "--workers", "2")
	confirm1302(t, dir, p, b, p.forms-p.first[b.Auditorium]+1)
	mustRunTB(t, "auditorium", "close", "--data", dir, "--ppe", b.PPE, "--auditorium", b.Auditorium, "--reason", "сдано", "--user", "op1")
	if pr := r.progress(t, p.ppe); pr == nil || pr.Progress == nil || pr.Complete {
		t.Fatalf("РЦОИ status before the closing set: %+v", pr)
	}
	// Matching the signed ППЭ-15 seals the closing set, which follows.
	signProtocol(t, dir, p.ppe)
	total, count := outboxTotal(t, dir, p.ppe)
	if count != 3 {
		t.Fatalf("%d packages in the outbox, want two auditoriums and the closing set", count)
	}

	// Everything arrives.
	deadline = time.Now().Add(40 * time.Second)
	for {
		pr := r.progress(t, p.ppe)
		if pr != nil && pr.Progress != nil && pr.Complete {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the ППЭ is not complete at the РЦОИ: %+v", pr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The station keeps the last receipt a moment after the РЦОИ stores it.
	deadline = time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if ents, _ := os.ReadDir(layout.Dir(dir).Receipts(p.ppe)); len(ents) == 3 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	out := mustRunTB(t, "send", "status", "--data", dir, "--rcoi-key", r.receiptKey())
	life := mustRunTB(t, "report", "--json", "--data", dir)
	stopDaemon()
	fw, cuts := net.Stats()
	if !strings.Contains(life, `"state":"acknowledged"`) {
		t.Errorf("report after delivery shows no acknowledged state:\n%s", life)
	}

	// Station side: every package delivered, receipts valid.
	if n := strings.Count(out, "квитанция проверена"); n != 3 || strings.Contains(out, "в очереди") {
		t.Errorf("send status:\n%s", out)
	}
	ob, err := upload.OpenOutbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	items, _ := ob.Items()
	ob.Close()
	var sent, size int64
	for _, it := range items {
		sent += it.BytesSent
		size += it.Size
		if _, err := receipt.Verify(it.Receipt, r.rcv.ReceiptKey()); err != nil {
			t.Errorf("%s: %v", it.Package, err)
		}
		if _, err := os.Stat(filepath.Join(layout.Dir(dir).Receipts(p.ppe), it.Package+"-v"+strconv.Itoa(it.Version)+".receipt")); err != nil {
			t.Errorf("receipt copy: %v", err)
		}
	}
	if size != total {
		t.Errorf("outbox holds %d bytes, the packages %d", size, total)
	}
	if cuts != 2 {
		t.Errorf("the link was cut %d times, want 2", cuts)
	}
	// Resumed, not restarted, across the cuts and the receiver's restart.
	if sent*2 >= size*3 {
		t.Errorf("%d bytes sent for %d bytes of packages: uploads started over", sent, size)
	}
	pr := r.progress(t, p.ppe)
	if len(pr.Missing) != 0 || len(pr.Expected) != 3 {
		t.Errorf("РЦОИ progress %+v", pr.Progress)
	}
	t.Logf("3 packages, %d bytes; %d bytes sent, %d forwarded by the link, %d cuts; %s\n%s", size, sent, fw, cuts, time.Since(start).Round(time.Millisecond), out)
}
