package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"giascan/forms"
	"giascan/hardware/sim"
	"giascan/station/layout"
	"giascan/station/web/browsertest"
	"giascan/transport/linktest"
)

// dayPassword is every account's password in the whole-day test.
const dayPassword = "пароль-экзаменационного-дня"

// freeAddr is a loopback address nobody listens on yet.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// buildReceiver builds the РЦОИ's receiver binary once for the test.
func buildReceiver(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "receiver")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/receiver")
	cmd.Dir = browsertest.ModuleRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the receiver: %v\n%s", err, out)
	}
	return bin
}

// receiverCmd runs one receiver command to its end.
func receiverCmd(t testing.TB, bin string, args ...string) string {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("receiver %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// receiverFolder builds the receiver and prepares its data folder: keys
// and the exam.
func receiverFolder(t testing.TB, examJSON []byte) (rbin, rdir string) {
	t.Helper()
	rbin, rdir = buildReceiver(t), t.TempDir()
	receiverCmd(t, rbin, "keys", "init", "--data", rdir)
	examFile := filepath.Join(t.TempDir(), "exam.json")
	os.WriteFile(examFile, examJSON, 0o600)
	receiverCmd(t, rbin, "exam", "import", "--data", rdir, examFile)
	return rbin, rdir
}

// serveReceiver runs `receiver serve` on addr until the test ends and
// waits until it says it listens; its output is in the buffer returned.
func serveReceiver(t testing.TB, rbin, rdir, addr string) *lockedBuffer {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	proc := exec.CommandContext(ctx, rbin, "serve", "--data", rdir, "--listen", addr)
	out := &lockedBuffer{}
	proc.Stdout, proc.Stderr = out, out
	if err := proc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(); proc.Wait() })
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(out.String(), addr) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	return out
}

// dropSheets writes the scans of sheets into the scanner's folder as its
// software would, named so that they are taken in order after what is
// there. A sheet fed twice gets a second, slightly different scan.
type scanFolder struct {
	t    testing.TB
	dir  string
	next int
}

func (f *scanFolder) drop(sheets []sim.Sheet, profile sim.Profile) {
	f.t.Helper()
	f.dropAs(sheets, sim.Settings{Profile: profile, DPI: 200, Mode: sim.ModeGray})
}

// dropAs is drop with the scanner's settings.
func (f *scanFolder) dropAs(sheets []sim.Sheet, set sim.Settings) {
	f.t.Helper()
	for _, s := range sheets {
		sc, err := sim.Render(s, set)
		if err != nil {
			f.t.Fatal(err)
		}
		f.next++
		name := filepath.Join(f.dir, fmt.Sprintf("scan-%04d.%s", f.next, sc.Ext))
		if err := os.WriteFile(name+".part", sc.Data, 0o644); err != nil {
			f.t.Fatal(err)
		}
		if err := os.Rename(name+".part", name); err != nil {
			f.t.Fatal(err)
		}
	}
}

// TestBrowserWholeExamDay is the exam day from an empty data folder to the
// РЦОИ's receipts, done in the browser only, as the people who do it:
// the administrator creates the first account with the daemon's one-time
// code, adds the head and an operator, and connects the station to the
// РЦОИ with its invitation file (which brings the exam); the operator
// scans two auditoriums from the scanner's folder — a sheet of another
// exam raises an alert at once, a sheet fed twice and a sheet that never
// reached the scanner are listed, the extra pages are deleted and the
// lost sheet is scanned when found — and goes through the review queue;
// the head confirms ППЭ-13-02-МАШ, the auditoriums are closed, the head
// views and signs ППЭ-15; the packages leave by themselves over a
// throttled link to a real `receiver serve`, and the delivery page shows
// every receipt verified. Screenshots: test-output/ui/day-*.png.
func TestBrowserWholeExamDay(t *testing.T) {
	browsertest.Need(t)
	started := time.Now()
	fastRetries(t)

	// The day's paper: one ППЭ, two auditoriums of three participants,
	// then the ППЭ's forms; and a sheet of another exam that got mixed in.
	p := planShapedPPE(t, 31, 2, 3)
	if len(p.auds) != 2 || p.forms == 0 {
		t.Fatalf("plan: auditoriums %v, forms at %d", p.auds, p.forms)
	}
	a, b := p.auds[0], p.auds[1]
	other, err := sim.PlanShape(77, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	foreign := other[0]
	if foreign.ID.PPE == p.ppe && foreign.ID.Date == p.sheets[0].ID.Date {
		t.Fatalf("the foreign sheet is of the same exam: %+v", foreign.ID)
	}

	// The РЦОИ: a real receiver process behind a 2 Mbit/s link.
	rbin, rdir := receiverFolder(t, p.exam)
	raddr := freeAddr(t)
	link := linktest.New(t, raddr, 250_000)
	proxied := strings.Replace(link.URL(), "http://", "https://", 1)
	invitation := filepath.Join(t.TempDir(), "enrol.json")
	receiverCmd(t, rbin, "station", "enrol", "--data", rdir, "--ppe", p.ppe, "--url", proxied, "--out", invitation)
	rlog := serveReceiver(t, rbin, rdir, raddr)

	// The station: an empty data folder, the daemon serving the browser,
	// a scanner that drops its files into a folder.
	dir := filepath.Join(t.TempDir(), "data")
	in := t.TempDir()
	scans := &scanFolder{t: t, dir: in}
	device := "folder:" + in + ",settle=1s"
	addr := freeAddr(t)
	sctx, sstop := context.WithCancel(context.Background())
	var sout, slog lockedBuffer
	sdone := make(chan int, 1)
	go func() {
		sdone <- run(sctx, &env{stdout: &sout, stderr: &slog, stdin: strings.NewReader("")},
			[]string{"serve", "--data", dir, "--listen", addr, "--device", device})
	}()
	t.Cleanup(func() {
		sstop()
		select {
		case <-sdone:
		case <-time.After(30 * time.Second):
			t.Error("the station's daemon did not stop")
		}
	})
	codeRE := regexp.MustCompile(`код первого запуска (\d{4}-\d{4}-\d{4})`)
	var code []string
	for deadline := time.Now().Add(30 * time.Second); code == nil; time.Sleep(20 * time.Millisecond) {
		code = codeRE.FindStringSubmatch(sout.String())
		if time.Now().After(deadline) {
			t.Fatalf("the daemon printed no first-start code:\n%s\n%s", sout.String(), slog.String())
		}
	}

	base := "http://" + addr
	br := browsertest.Start(t, base, 10*time.Minute)
	shot := br.Shot
	into := func(dst *string, sel string) chromedp.Action[chromedp.Void] {
		return browsertest.Into(dst, chromedp.Text(chromedp.CSS(sel)))
	}
	step := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		ctx, cancel := context.WithTimeout(br.Ctx, 2*time.Minute)
		defer cancel()
		if err := chromedp.Do(ctx, actions...); err != nil {
			var page string
			chromedp.Do(br.Ctx, into(&page, "body"), shot("day-failed.png"))
			t.Fatalf("%s: %v\npage:\n%s\nstation log:\n%s", name, err, page, slog.String())
		}
	}
	poll := func(js string, timeout time.Duration) chromedp.Action[chromedp.Void] {
		return browsertest.Into(new(bool), chromedp.Poll[bool](js, chromedp.WithPollingTimeout(timeout)))
	}
	signOut := chromedp.Steps(chromedp.Click(chromedp.CSS("#logout")), chromedp.WaitVisible(chromedp.CSS("#info")))
	addUser := func(login, role string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(
			chromedp.Navigate(base+"/users"),
			chromedp.WaitVisible(chromedp.CSS("#add-user")),
			chromedp.SendKeys(chromedp.CSS("#new-login"), login),
			chromedp.SetValue(chromedp.CSS("#new-role"), role),
			chromedp.SendKeys(chromedp.CSS("#new-password"), dayPassword),
			chromedp.SendKeys(chromedp.CSS("#new-password2"), dayPassword),
			chromedp.Click(chromedp.CSS("#add")),
			chromedp.WaitVisible(chromedp.CSS("#flash")),
		)
	}

	// 1. First start: the administrator, the accounts, the РЦОИ.
	var enrolled string
	step("first start",
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS("#setup-form")),
		shot("day-01-first-start.png"),
		chromedp.SendKeys(chromedp.CSS("#code"), code[1]),
		chromedp.SendKeys(chromedp.CSS("#login"), "admin"),
		chromedp.SendKeys(chromedp.CSS("#password"), dayPassword),
		chromedp.SendKeys(chromedp.CSS("#password2"), dayPassword),
		chromedp.Click(chromedp.CSS("#create")),
		chromedp.WaitVisible(chromedp.CSS("#flash")),
		addUser("ivanova", "head"),
		addUser("petrov", "operator"),
		shot("day-02-accounts.png"),
		chromedp.Navigate(base+"/settings"),
		chromedp.WaitVisible(chromedp.CSS("#enrol-form")),
		chromedp.SetUploadFiles(chromedp.CSS("#invitation-file"), []string{invitation}),
		chromedp.Click(chromedp.CSS("#enrol")),
		chromedp.WaitVisible(chromedp.CSS("#flash")),
		into(&enrolled, "#flash"),
		shot("day-03-enrolled.png"),
		signOut,
	)
	if !strings.Contains(enrolled, "Станция подключена к РЦОИ") || !strings.Contains(enrolled, "Экзамен получен от РЦОИ") {
		t.Fatalf("enrolment: %s", enrolled)
	}

	// 2. Before the exam: the head prints a blank ППЭ-13-02-МАШ and the
	// scanner's calibration sheet; the calibration sheet goes through the
	// scanner for the readiness check, whose protocol the operator gets.
	downloads := t.TempDir()
	var readiness string
	step("printing",
		br.SignIn("ivanova", dayPassword),
		browsertest.Downloads(downloads),
		chromedp.Click(chromedp.CSS("#nav-print")),
		chromedp.WaitVisible(chromedp.CSS("#form-form")),
		chromedp.SetValue(chromedp.CSS("#form-ppe"), p.ppe),
		chromedp.Click(chromedp.CSS("#print-form")),
		browsertest.WaitFile(downloads, "ppe-13-02-mash-"+p.ppe+".pdf"),
		chromedp.Click(chromedp.CSS("#calibration-link")),
		browsertest.WaitFile(downloads, "calibration.pdf"),
		chromedp.Navigate(base+"/print"),
		chromedp.WaitVisible(chromedp.CSS("#jobs")),
		shot("day-03b-printed.png"),
		signOut,
	)
	calib := filepath.Join(t.TempDir(), "calibration")
	if out, err := exec.Command("pdftoppm", "-r", "300", "-gray", "-png", "-singlefile", filepath.Join(downloads, "calibration.pdf"), calib).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v %s", err, out)
	}
	if b, err := os.ReadFile(calib + ".png"); err != nil {
		t.Fatal(err)
	} else {
		scans.next++
		os.WriteFile(filepath.Join(in, fmt.Sprintf("scan-%04d.png", scans.next)), b, 0o644)
	}
	step("readiness check",
		br.SignIn("petrov", dayPassword),
		chromedp.Navigate(base+"/scan"),
		chromedp.WaitVisible(chromedp.CSS("#readiness-check")),
		chromedp.SetValue(chromedp.CSS("#device"), device),
		chromedp.Click(chromedp.CSS("#readiness-check")),
		poll(`!!document.getElementById("readiness-protocol")`, 90*time.Second),
		into(&readiness, "#readiness-result"),
		shot("day-03c-readiness.png"),
	)
	if !strings.Contains(readiness, "ГОТОВ к экзамену") {
		t.Errorf("readiness check: %s", readiness)
	}

	// 3. The operator scans auditorium A: the sheet of another exam comes
	// third, sheet 2 is fed twice and sheet 4 never reaches the scanner.
	audA := p.sheets[p.first[a]-1 : p.last[a]]
	lost := audA[3]
	scans.drop(audA[:2], sim.Clean)
	scans.drop([]sim.Sheet{foreign}, sim.Clean)
	scans.drop(audA[1:2], sim.Real) // fed twice: a second, different scan
	scans.drop(audA[2:3], sim.Clean)
	scans.drop(audA[4:], sim.Clean)
	var alert, endState string
	// scan runs the stack in the scanner's folder, pages of it, to its end.
	scan := func(aud string, pages int, name string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(
			chromedp.Navigate(base+"/scan"),
			chromedp.WaitVisible(chromedp.CSS("#scan-form")),
			chromedp.SetValue(chromedp.CSS("#place"), p.ppe+"/"+aud),
			chromedp.SetValue(chromedp.CSS("#device"), device),
			chromedp.Click(chromedp.CSS("#start")),
			poll(fmt.Sprintf(`(function(){var s=document.getElementById("state").textContent;`+
				`return s.includes("завершено") && s.includes("Сохранено за сеанс: %d,")})()`, pages), 90*time.Second),
			shot(name),
		)
	}
	step("scan A",
		br.SignIn("petrov", dayPassword),
		scan(a, len(audA)+1, "day-04-scan-a.png"),
		into(&alert, "#misplaced"),
		into(&endState, "main"),
	)
	if !strings.Contains(alert, "Лист не из этой пачки") {
		t.Errorf("no alert for the sheet of another exam: %q", alert)
	}
	if strings.Contains(endState, "Scans dropped") {
		t.Errorf("the scanner is named in English at the end of the scan:\n%s", endState)
	}
	if !strings.Contains(endState, "Не хватает: БО №1 комплекта "+lost.ID.Kit) {
		t.Errorf("the end of the scan does not name the lost sheet (kit %s)", lost.ID.Kit)
	}

	// 3. On the auditorium page the problems are listed; the sheet of
	// another exam and the second scan are deleted, each with a reason.
	var problems string
	del := func(seq int, reason, name string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(
			chromedp.Navigate(fmt.Sprintf("%s/page/%s/%s/%d", base, p.ppe, a, seq)),
			chromedp.WaitVisible(chromedp.CSS("#delete-form")),
			chromedp.Sleep(200*time.Millisecond), // the page's image
			shot(name),
			chromedp.SendKeys(chromedp.CSS("#delete-reason"), reason),
			chromedp.Click(chromedp.CSS("#delete")),
			chromedp.WaitVisible(chromedp.CSS("#confirm-delete")),
			chromedp.Click(chromedp.CSS("#delete-yes")),
			chromedp.WaitVisible(chromedp.CSS("#flash")),
		)
	}
	step("problems of A",
		chromedp.Navigate(base+"/auditorium/"+p.ppe+"/"+a),
		chromedp.WaitVisible(chromedp.CSS("#problems")),
		into(&problems, "#problems"),
		shot("day-05-auditorium-a-problems.png"),
		del(3, "лист другого экзамена, передан руководителю", "day-06-page-foreign.png"),
		del(4, "повторно поданный лист", "day-07-page-second-scan.png"),
	)
	for _, want := range []string{"другому экзамену", lost.ID.Kit} {
		if !strings.Contains(problems, want) {
			t.Errorf("auditorium problems lack %q:\n%s", want, problems)
		}
	}

	// 4. The lost sheet is found under the table and scanned.
	scans.drop([]sim.Sheet{lost}, sim.Clean)
	var rescanned, afterFix string
	step("rescan the lost sheet",
		scan(a, 1, "day-08-scan-lost-sheet.png"),
		into(&rescanned, "#state"),
		chromedp.Navigate(base+"/auditorium/"+p.ppe+"/"+a),
		chromedp.WaitVisible(chromedp.CSS("#aud-status")),
		into(&afterFix, "main"),
		shot("day-09-auditorium-a-fixed.png"),
	)
	if strings.Contains(rescanned, "Не хватает") || strings.Contains(afterFix, "другому экзамену") || strings.Contains(afterFix, lost.ID.Kit+" не отсканирован") {
		t.Errorf("after the rescan:\n%s\n%s", rescanned, afterFix)
	}

	// 5. Auditorium B with the ППЭ's forms, all in one stack; the signed
	// ППЭ-15 comes back later.
	audB := p.sheets[p.first[b]-1 : p.count-1]
	// A fast scan of this stack: 150 dpi black and white, as a ППЭ in a
	// hurry scans; some values then wait for a person.
	scans.dropAs(audB, sim.Settings{Profile: sim.Real, DPI: 150, Mode: sim.ModeLineart})
	var pagesB string
	step("scan B", scan(b, len(audB), "day-10-scan-b.png"), into(&pagesB, "#pages"))
	if !strings.Contains(pagesB, "ППЭ-13-02-МАШ") || strings.Contains(pagesB, forms.NoKit) {
		t.Errorf("the scanned forms show no type or a kit number «%s»:\n%s", forms.NoKit, pagesB)
	}

	// 6. The review queue: each value a person must confirm is typed from
	// the paper — the simulator's truth of the sheet the page is a scan of.
	sheetOf := map[string]sim.Sheet{}
	for i, s := range audA[:2] {
		sheetOf[fmt.Sprintf("%s/%d", a, i+1)] = s
	}
	sheetOf[a+"/5"] = audA[2]
	for i, s := range audA[4:] {
		sheetOf[fmt.Sprintf("%s/%d", a, i+6)] = s
	}
	sheetOf[fmt.Sprintf("%s/%d", a, len(audA)+2)] = lost
	for i, s := range audB {
		sheetOf[fmt.Sprintf("%s/%d", b, i+1)] = s
	}
	truth := func(aud string, seq int, field string) string {
		t.Helper()
		s, ok := sheetOf[fmt.Sprintf("%s/%d", aud, seq)]
		if !ok {
			t.Fatalf("page %s/%d is no sheet of the day", aud, seq)
		}
		sc, err := sim.Render(s, sim.Settings{Profile: sim.Clean, DPI: 200, Mode: sim.ModeGray})
		if err != nil {
			t.Fatal(err)
		}
		if v, ok := sc.Truth.Digits[field]; ok {
			return v
		}
		switch sc.Truth.Marks[field] {
		case forms.MarkMarked:
			return "да"
		case forms.MarkEmpty:
			return "нет"
		}
		t.Fatalf("page %s/%d (%s) has no field %s", aud, seq, s.ID.Type, field)
		return ""
	}
	step("review", br.SignIn("petrov", dayPassword), chromedp.Navigate(base+"/review"), chromedp.WaitVisible(chromedp.CSS("#queue")))
	reviewed := 0
	for ; reviewed < 40; reviewed++ {
		var waiting bool
		step("review queue", browsertest.Into(&waiting, chromedp.Evaluate[bool](`document.querySelector(".value-input") !== null`)))
		if !waiting {
			break
		}
		if reviewed == 0 {
			step("review shot", chromedp.Sleep(200*time.Millisecond), shot("day-11-review.png"))
		}
		var item string
		step("review item", browsertest.Into(&item, chromedp.Evaluate[string](`(function(){var li=document.querySelector("li.item");`+
			`return [li.id, li.querySelector("input[name=aud]").value, li.querySelector("input[name=seq]").value, li.querySelector("input[name=field]").value].join("|")})()`)))
		parts := strings.Split(item, "|")
		var seq int
		fmt.Sscan(parts[2], &seq)
		right := truth(parts[1], seq, parts[3])
		if reviewed == 0 {
			// A wrong value typed in a hurry is refused and the item stays.
			wrong := "7з"
			if right == "да" || right == "нет" {
				wrong = "может быть"
			}
			var refused string
			step("wrong value "+parts[0], chromedp.SendKeys(chromedp.CSS(`[id="`+parts[0]+`"] .value-input`), wrong+"\r"),
				chromedp.WaitVisible(chromedp.CSS("#error")), into(&refused, "#error"),
				chromedp.WaitVisible(chromedp.CSS(`[id="`+parts[0]+`"] .value-input`)),
				shot("day-11b-review-wrong-value-refused.png"))
			if !strings.Contains(refused, "Ничего не изменено") {
				t.Errorf("wrong review value %q: %q", wrong, refused)
			}
		}
		step("confirm "+parts[0], chromedp.SendKeys(chromedp.CSS(`[id="`+parts[0]+`"] .value-input`), right+"\r"),
			chromedp.WaitNotPresent(chromedp.CSS(`[id="`+parts[0]+`"]`)),
			chromedp.WaitVisible(chromedp.CSS("#queue")))
	}
	t.Logf("%d values confirmed in the review queue", reviewed)

	// 7. The head confirms ППЭ-13-02-МАШ, typing what the scan left in
	// doubt from the paper form.
	var formSeq int
	var doubtful []string
	var formDone string
	step("form1302",
		signOut,
		br.SignIn("ivanova", dayPassword),
		chromedp.Click(chromedp.CSS("#form1302-"+p.ppe)),
		chromedp.WaitVisible(chromedp.CSS("#form1302")),
		browsertest.Into(&formSeq, chromedp.Evaluate[int](`Number(document.querySelector("#form1302 input[name=seq]").value)`)),
		browsertest.Into(&doubtful, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("input.uncertain")).map(i => i.name)`)),
	)
	for _, field := range doubtful {
		step("form1302 "+field, chromedp.SetValue(chromedp.CSS(`[id="f-`+field+`"]`), truth(b, formSeq, field)))
	}
	step("form1302 confirm",
		chromedp.Sleep(200*time.Millisecond),
		chromedp.Click(chromedp.CSS("#confirm")),
		chromedp.WaitVisible(chromedp.CSS("#flash")),
		into(&formDone, "#flash"),
		shot("day-12-form1302.png"),
	)
	if !strings.Contains(formDone, "Данные ППЭ-13-02-МАШ подтверждены") {
		t.Errorf("ППЭ-13-02-МАШ: %s", formDone)
	}

	// 8. Both auditoriums are closed: every count agrees, so no reason is
	// asked, and each closing seals a package that leaves by itself.
	closeAud := func(aud, name string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(
			chromedp.Navigate(base+"/auditorium/"+p.ppe+"/"+aud),
			chromedp.WaitVisible(chromedp.CSS("#close-form")),
			chromedp.Click(chromedp.CSS("#close")),
			chromedp.WaitVisible(chromedp.CSS("#flash")),
			shot(name),
		)
	}
	var closedA, closedB string
	step("close", closeAud(a, "day-13-closed-a.png"), into(&closedA, "#aud-status"),
		closeAud(b, "day-14-closed-b.png"), into(&closedB, "#aud-status"))
	if !strings.Contains(closedA, "закрыта") || !strings.Contains(closedB, "закрыта") {
		t.Errorf("closing: %q %q", closedA, closedB)
	}

	// 9. The head views ППЭ-15 and signs it; the closing set follows.
	var signed string
	step("sign ППЭ-15",
		chromedp.Navigate(base+"/"),
		chromedp.Click(chromedp.CSS("#signoff-"+p.ppe)),
		chromedp.WaitVisible(chromedp.CSS("#sign-form")),
		chromedp.Click(chromedp.CSS("#print")),
		chromedp.WaitVisible(chromedp.CSS("#pdf")),
		shot("day-15-ppe15.png"),
		chromedp.Click(chromedp.CSS("#agree")),
		chromedp.Click(chromedp.CSS("#sign")),
		chromedp.WaitVisible(chromedp.CSS("#signed")),
		into(&signed, "#flash"),
	)
	if !strings.Contains(signed, "подписан") {
		t.Errorf("sign-off: %q", signed)
	}

	// 10. The signed paper copy comes back and the operator scans it from
	// the scanning screen: it is matched and follows in a new version of
	// the ППЭ's package.
	pdfs, _ := filepath.Glob(filepath.Join(layout.Dir(dir).Protocols(p.ppe), "*.pdf"))
	if len(pdfs) == 0 {
		t.Fatal("no printed ППЭ-15 in the data folder")
	}
	raster := filepath.Join(t.TempDir(), "signed")
	if out, err := exec.Command("pdftoppm", "-r", "300", "-gray", "-png", "-singlefile", pdfs[len(pdfs)-1], raster).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v %s", err, out)
	}
	png, err := os.ReadFile(raster + ".png")
	if err != nil {
		t.Fatal(err)
	}
	scans.next++
	os.WriteFile(filepath.Join(in, fmt.Sprintf("scan-%04d.png", scans.next)), png, 0o644)
	var matched string
	step("scan the signed ППЭ-15",
		signOut,
		br.SignIn("petrov", dayPassword),
		chromedp.Navigate(base+"/scan"),
		chromedp.WaitVisible(chromedp.CSS("#scan-form")),
		chromedp.Click(chromedp.CSS("#protocol-scan summary")),
		chromedp.SetValue(chromedp.CSS("#protocol-ppe"), p.ppe),
		chromedp.SetValue(chromedp.CSS("#protocol-device"), device),
		shot("day-16-scan-signed-ppe15.png"),
		chromedp.Click(chromedp.CSS("#protocol-scan-start")),
		chromedp.WaitVisible(chromedp.CSS("#info")),
		into(&matched, "#info"),
		shot("day-17-signed-ppe15-matched.png"),
	)
	if !strings.Contains(matched, "сверен с пакетами") || !strings.Contains(matched, "новой версии пакета ППЭ") {
		t.Errorf("signed copy: %s", matched)
	}

	// 11. The delivery page: the auditoriums' packages and the ППЭ's, in
	// its second version, each with the РЦОИ's receipt verified, over the
	// throttled link; the first version of the ППЭ's package superseded.
	var delivery string
	deadline := time.Now().Add(2 * time.Minute)
	for {
		step("delivery", chromedp.Navigate(base+"/delivery/"+p.ppe), chromedp.WaitVisible(chromedp.CSS("#packages")), into(&delivery, "#packages"))
		if strings.Count(delivery, "квитанция проверена") >= 3 && strings.Contains(delivery, "ppe-02-"+p.sheets[0].ID.Date+"-v2") &&
			!strings.Contains(delivery, "отправляется") && !strings.Contains(delivery, "ждёт отправки") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not every package acknowledged after 2 min:\n%s\nreceiver:\n%s", delivery, rlog.String())
		}
		time.Sleep(time.Second)
	}
	step("delivered", shot("day-18-delivery.png"), chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#ppe-"+p.ppe)), shot("day-19-board.png"))
	fw, _ := link.Stats()
	status := receiverCmd(t, rbin, "status", "--data", rdir)
	if !strings.Contains(status, p.ppe) {
		t.Errorf("receiver status:\n%s", status)
	}
	t.Logf("delivery page:\n%s\n%d bytes through the link; РЦОИ:\n%s", delivery, fw, status)
	t.Logf("the exam day took %v", time.Since(started).Round(time.Millisecond))
}
