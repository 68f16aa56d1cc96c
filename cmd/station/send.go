package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"giascan/station"
	"giascan/station/layout"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"giascan/transport/receiver/receipt"
	"giascan/transport/seal"
	"giascan/transport/upload"
)

// Sending packages to the РЦОИ. `station send` watches the outbox the
// packager seals into, queues every package as soon as it is sealed — an
// auditorium's package leaves while the others are still being scanned —
// and runs the uploader, which resumes across cut links and restarts and
// keeps the РЦОИ's signed receipt of each package.

func init() {
	register(&command{name: "send", summary: "send the sealed packages to the РЦОИ and keep its receipts; send status lists them", run: runSend})
}

const sendUsage = `usage: station send --to URL --rcoi-key ed25519:… [--ppe P] [--once] [--data DIR]
       station send status [--rcoi-key ed25519:…] [--data DIR]`

func runSend(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 && args[0] == "status" {
		return runSendStatus(e, args[1:])
	}
	fs := newFlagSet("send")
	data := addDataFlag(fs)
	to := fs.String("to", "", "the РЦОИ receiver, http(s)://host:port")
	keyF := fs.String("rcoi-key", "", "the РЦОИ's receipt key, ed25519:…")
	ppeF := fs.String("ppe", "", "send only this ППЭ (default: every ППЭ in the outbox)")
	once := fs.Bool("once", false, "return once every queued package is delivered or refused")
	help, err := parseCommand(e, fs, sendUsage, args, data)
	if help || err != nil {
		return err
	}
	endpoint, err := parseEndpoint(*to)
	if err != nil {
		return err
	}
	key, err := parseReceiptKey(*keyF)
	if err != nil {
		return err
	}
	var ppes []string
	if *ppeF != "" {
		p, err := parsePPE(*ppeF)
		if err != nil {
			return err
		}
		ppes = []string{p}
	}
	if e.app == nil {
		if _, err := os.Stat(layout.Dir(*data).OutboxRoot()); err != nil && *once {
			return badInput("в папке %s нет пакетов: соберите их командой station package build", *data)
		}
	}
	st, done, err := e.openStation(*data)
	if err != nil {
		return err
	}
	defer done()
	s := &sender{st: st, ppes: ppes, key: key, out: e.stdout, log: e.stderr, seen: map[string]upload.State{}, lastErr: map[string]string{}}
	up, release, err := st.Uploader(endpoint, key, s.progress)
	if err != nil {
		return err
	}
	defer release()
	s.outbox = up.Outbox
	if err := s.enqueue(ctx); err != nil {
		return err
	}
	items, err := s.outbox.Items()
	if err != nil {
		return err
	}
	if len(items) == 0 && *once {
		return badInput("в папке %s нет запечатанных пакетов: соберите их командой station package build", *data)
	}
	return s.run(ctx, up, *once)
}

// parseEndpoint checks --to: an http or https URL with a host and no path.
func parseEndpoint(s string) (string, error) {
	if err := requireFlag("to", s); err != nil {
		return "", err
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") != "" || u.RawQuery != "" {
		return "", badInput("--to %q: укажите адрес приёмника РЦОИ вида https://host:port", s)
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}

// parseReceiptKey checks --rcoi-key: the key the РЦОИ signs receipts with.
func parseReceiptKey(s string) (ed25519.PublicKey, error) {
	if err := requireFlag("rcoi-key", s); err != nil {
		return nil, err
	}
	k, err := seal.ParsePublicKey(s)
	if err != nil {
		return nil, badInput("--rcoi-key: это не ключ квитанций РЦОИ; укажите его в виде ed25519:… (32 байта в base64), как его выдал РЦОИ")
	}
	return k, nil
}

// sender is one run of `station send`.
type sender struct {
	st     *station.Station
	ppes   []string // nil: every ППЭ in the outbox
	outbox *upload.Outbox
	key    ed25519.PublicKey // the РЦОИ's receipt key
	out    io.Writer         // one line per delivered package
	log    io.Writer         // progress and retries, for the operator

	mu       sync.Mutex // the uploader's progress callback runs on its goroutine
	lastShow time.Time
	lastPct  map[string]int
	seen     map[string]upload.State // what was last reported per item
	lastErr  map[string]string       // the error last reported per item
}

// enqueue queues the newest version of every sealed package not queued
// yet.
func (s *sender) enqueue(ctx context.Context) error {
	items, err := s.st.Enqueue(ctx, s.ppes...)
	for _, it := range items {
		fmt.Fprintf(s.log, "в очереди: %s-v%d, %s\n", it.Package, it.Version, sizeRU(it.Size))
	}
	return err
}

// run runs the uploader until ctx ends or, with once, until nothing is
// left queued; meanwhile it queues newly sealed packages and reports
// deliveries and failures.
func (s *sender) run(ctx context.Context, up *upload.Uploader, once bool) error {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- up.Run(ctx) }()
	stop := func() error {
		cancel()
		err := <-done
		if errors.Is(err, context.Canceled) {
			return nil
		}
		return err
	}
	tick := time.NewTicker(station.DeliveryRescan / 4)
	defer tick.Stop()
	lastScan := time.Now()
	for {
		select {
		case <-ctx.Done():
			stop()
			return nil
		case err := <-done:
			cancel()
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return fmt.Errorf("отправка остановилась; запустите station send снова: %w", err)
		case <-tick.C:
		}
		if time.Since(lastScan) >= station.DeliveryRescan {
			lastScan = time.Now()
			if err := s.enqueue(ctx); err != nil {
				stop()
				return err
			}
		}
		queued, refused, err := s.report()
		if err != nil {
			stop()
			return err
		}
		if once && queued == 0 {
			// One last look: a package sealed during the run goes too.
			if err := s.enqueue(ctx); err != nil {
				stop()
				return err
			}
			if q, _, err := s.report(); err != nil || q > 0 {
				if err != nil {
					stop()
					return err
				}
				continue
			}
			if err := stop(); err != nil {
				return err
			}
			if len(refused) > 0 {
				return fmt.Errorf("РЦОИ отклонил пакеты %s; причины — в station send status; исправьте и соберите новую версию", strings.Join(refused, ", "))
			}
			return nil
		}
	}
}

// report prints what changed in the queue since the last look: a line
// on stdout per delivered package, a line on stderr per failed attempt or
// refusal. It returns how many items are still queued and the refused
// ones.
func (s *sender) report() (queued int, refused []string, err error) {
	items, err := s.outbox.Items()
	if err != nil {
		return 0, nil, err
	}
	for _, it := range items {
		name := fmt.Sprintf("%s-v%d", it.Package, it.Version)
		switch it.State {
		case upload.Queued:
			queued++
			// The record of an attempt in progress still carries the
			// previous attempt's error: report each error once.
			if it.LastError != "" && it.LastError != s.lastErr[name] {
				fmt.Fprintf(s.log, "%s: связь с РЦОИ прервалась (%s); отправка продолжится с места обрыва\n", name, it.LastError)
			}
			s.lastErr[name] = it.LastError
		case upload.Delivered:
			if s.seen[name] != upload.Delivered {
				rc, err := s.keep(it)
				if err != nil {
					return 0, nil, err
				}
				fmt.Fprintf(s.out, "доставлен %s\t%s\tквитанция РЦОИ %s\n", name, sizeRU(it.Size), rc.Received.Local().Format("2006-01-02 15:04:05"))
			}
		case upload.Refused:
			refused = append(refused, name)
			if s.seen[name] != upload.Refused {
				fmt.Fprintf(s.log, "%s отклонён РЦОИ: %s\n", name, it.LastError)
			}
		}
		s.seen[name] = it.State
	}
	return queued, refused, nil
}

// keep verifies and keeps a delivered item's receipt.
func (s *sender) keep(it upload.Item) (*receipt.Receipt, error) { return s.st.KeepReceipt(it, s.key) }

// progress shows bytes sent per package on stderr: at each tenth and at
// most once a second, so a log of a slow link stays readable.
func (s *sender) progress(p upload.Progress) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lastPct == nil {
		s.lastPct = map[string]int{}
	}
	name := fmt.Sprintf("%s-v%d", p.Package, p.Version)
	pct := 0
	if p.Total > 0 {
		pct = int(p.Sent * 100 / p.Total)
	}
	if last, ok := s.lastPct[name]; ok && pct/10 == last/10 && (pct < 100 || last == 100) && time.Since(s.lastShow) < time.Second {
		return
	}
	s.lastPct[name], s.lastShow = pct, time.Now()
	fmt.Fprintf(s.log, "отправка %s: %s из %s (%d%%)\n", name, sizeRU(p.Sent), sizeRU(p.Total), pct)
}

// sizeRU formats a byte count for the operator.
func sizeRU(n int64) string {
	switch {
	case n >= 10<<20:
		return fmt.Sprintf("%d МБ", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f МБ", float64(n)/(1<<20))
	case n >= 10<<10:
		return fmt.Sprintf("%d КБ", n>>10)
	}
	return fmt.Sprintf("%d байт", n)
}

// runSendStatus lists the packages of the outbox and where each is.
func runSendStatus(e *env, args []string) error {
	fs := newFlagSet("send status")
	data := addDataFlag(fs)
	keyF := fs.String("rcoi-key", "", "check every receipt with the РЦОИ's receipt key, ed25519:…")
	help, err := parseCommand(e, fs, sendUsage, args, data)
	if help || err != nil {
		return err
	}
	var key ed25519.PublicKey
	if *keyF != "" {
		if key, err = parseReceiptKey(*keyF); err != nil {
			return err
		}
	}
	if e.app == nil {
		if _, err := os.Stat(filepath.Join(*data, upload.OutboxDB)); err != nil {
			return badInput("в папке %s ещё ничего не отправлялось: запустите station send", *data)
		}
	}
	st, done, err := e.openStation(*data)
	if err != nil {
		return err
	}
	defer done()
	ob, err := st.Outbox()
	if err != nil {
		return err
	}
	items, err := ob.Items()
	if err != nil {
		return err
	}
	sort.Slice(items, func(i, j int) bool { return items[i].Key() < items[j].Key() })
	bad := 0
	for _, it := range items {
		name := fmt.Sprintf("%s-v%d", it.Package, it.Version)
		switch it.State {
		case upload.Delivered:
			line := fmt.Sprintf("%s\tдоставлен\t%s", name, it.Delivered.Local().Format("2006-01-02 15:04:05"))
			if key != nil {
				rc, err := receipt.Verify(it.Receipt, key)
				switch {
				case err != nil:
					bad++
					line += "\tквитанция НЕ ПРОШЛА ПРОВЕРКУ: " + err.Error()
				case rc.Package != it.Package || rc.Version != it.Version || rc.Manifest != it.Manifest:
					bad++
					line += "\tквитанция выдана на другой пакет"
				default:
					line += "\tквитанция проверена, принят РЦОИ " + rc.Received.Local().Format("2006-01-02 15:04:05")
				}
			}
			fmt.Fprintln(e.stdout, line)
		case upload.Refused:
			fmt.Fprintf(e.stdout, "%s\tотклонён\t%s\n", name, it.LastError)
		default:
			line := fmt.Sprintf("%s\tв очереди\t%s из %s", name, sizeRU(it.Offset), sizeRU(it.Size))
			if it.LastError != "" {
				line += fmt.Sprintf("\tпопыток %d, последняя ошибка: %s", it.Attempts, it.LastError)
			}
			fmt.Fprintln(e.stdout, line)
		}
	}
	if bad > 0 {
		return fmt.Errorf("%d квитанций не прошли проверку ключом РЦОИ: сверьте ключ с РЦОИ", bad)
	}
	return nil
}
