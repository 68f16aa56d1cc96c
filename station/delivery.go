package station

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"giascan/transport/tlspin"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"giascan/atomicfile"
	"giascan/station/audit"
	"giascan/station/packaging"
	"giascan/transport/receiver/receipt"
	"giascan/transport/seal"
	"giascan/transport/upload"
)

// RCOI is where the station delivers: the receiver's address and the key
// the РЦОИ signs its receipts with. It is kept in the data folder.
type RCOI struct {
	URL string `json:"url"`
	Key string `json:"key"` // ed25519:… as the РЦОИ gave it
	// TLS pins the receiver's certificate (sha256:…) when it is its own,
	// not one a public CA signed.
	TLS string    `json:"tls,omitempty"`
	By  string    `json:"by,omitempty"`
	At  time.Time `json:"at,omitzero"`
}

// Client is the HTTP client that reaches the receiver, trusting its
// certificate as configured.
func (r RCOI) Client() (*http.Client, error) {
	if r.TLS == "" {
		return http.DefaultClient, nil
	}
	return tlspin.Trust{Fingerprint: r.TLS}.Client()
}

// ParseRCOI checks an address, a receipt key and a certificate pin (may
// be empty) as people type them.
func ParseRCOI(rawURL, key, pin string) (RCOI, ed25519.PublicKey, error) {
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if rawURL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") != "" || u.RawQuery != "" {
		return RCOI{}, nil, refuse("адрес РЦОИ", "адрес приёмника РЦОИ %q не подходит: укажите его в виде https://host:port, как его выдал РЦОИ", rawURL)
	}
	pub, err := seal.ParsePublicKey(strings.TrimSpace(key))
	if err != nil {
		return RCOI{}, nil, refuse("ключ РЦОИ", "это не ключ квитанций РЦОИ: укажите его в виде ed25519:… (32 байта в base64), как его выдал РЦОИ")
	}
	r := RCOI{URL: strings.TrimSuffix(u.String(), "/"), Key: strings.TrimSpace(key)}
	if pin = strings.TrimSpace(pin); pin != "" {
		if r.TLS, err = tlspin.ParseFingerprint(pin); err != nil {
			return RCOI{}, nil, refuse("отпечаток сертификата РЦОИ", "отпечаток сертификата РЦОИ %q не подходит: укажите его в виде sha256:… (64 шестнадцатеричные цифры), как его выдал РЦОИ", pin)
		}
	}
	return r, pub, nil
}

// SetRCOI keeps the РЦОИ's address and receipt key. From then on the
// daemon sends every sealed package by itself.
func (s *Station) SetRCOI(actor, rawURL, key, pin string) (RCOI, error) {
	r, _, err := ParseRCOI(rawURL, key, pin)
	if err != nil {
		return r, err
	}
	r.By, r.At = actor, time.Now().UTC()
	b, _ := json.MarshalIndent(r, "", "  ")
	if err := atomicfile.WriteFile(s.Dir.RCOI(), append(b, '\n'), 0o600); err != nil {
		return r, fmt.Errorf("адрес РЦОИ не сохранён: %w", err)
	}
	if _, err := s.Log.Append(audit.Event{Actor: actor, Action: audit.ActionRCOISet, After: jsonOf(map[string]string{"url": r.URL, "key": r.Key, "tls": r.TLS})}); err != nil {
		return r, fmt.Errorf("адрес РЦОИ сохранён, но журнал аудита не пишется: %w", err)
	}
	s.notify()
	return r, nil
}

// RCOI returns the РЦОИ's address and key, ok false when not set.
func (s *Station) RCOI() (r RCOI, pub ed25519.PublicKey, ok bool, err error) {
	b, err := os.ReadFile(s.Dir.RCOI())
	if errors.Is(err, os.ErrNotExist) {
		return r, nil, false, nil
	}
	if err != nil {
		return r, nil, false, err
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, nil, false, fmt.Errorf("файл %s повреждён (%v): задайте адрес и ключ РЦОИ заново", s.Dir.RCOI(), err)
	}
	pub, err = seal.ParsePublicKey(r.Key)
	if err != nil {
		return r, nil, false, fmt.Errorf("ключ РЦОИ в %s повреждён: задайте адрес и ключ РЦОИ заново", s.Dir.RCOI())
	}
	return r, pub, true, nil
}

// Outbox is the station's upload queue, opened once.
func (s *Station) Outbox() (*upload.Outbox, error) {
	s.outMu.Lock()
	defer s.outMu.Unlock()
	if s.outbox == nil {
		ob, err := upload.OpenOutbox(string(s.Dir))
		if err != nil {
			return nil, fmt.Errorf("очередь отправки не открывается: %w", err)
		}
		s.outbox = ob
	}
	return s.outbox, nil
}

// uploadItems returns the upload queue by package name, empty when
// nothing was ever queued.
func (s *Station) uploadItems() (map[string]upload.Item, error) {
	out := map[string]upload.Item{}
	if _, err := os.Stat(filepath.Join(string(s.Dir), upload.OutboxDB)); err != nil {
		return out, nil
	}
	ob, err := s.Outbox()
	if err != nil {
		return nil, err
	}
	items, err := ob.Items()
	for _, it := range items {
		out[fmt.Sprintf("%s-v%d", it.Package, it.Version)] = it
	}
	return out, err
}

// Enqueue puts the newest version of every sealed package of the given
// ППЭ (every ППЭ when none) in the upload queue, once. It returns the
// items it queued now.
func (s *Station) Enqueue(ctx context.Context, ppes ...string) ([]upload.Item, error) {
	ob, err := s.Outbox()
	if err != nil {
		return nil, err
	}
	if len(ppes) == 0 {
		ents, err := os.ReadDir(s.Dir.OutboxRoot())
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("папка исходящих пакетов не читается: %w", err)
		}
		for _, e := range ents {
			if e.IsDir() {
				ppes = append(ppes, e.Name())
			}
		}
	}
	var queued []upload.Item
	for _, ppe := range ppes {
		list, err := packaging.List(string(s.Dir), ppe)
		if err != nil {
			return queued, err
		}
		for _, p := range list {
			if _, err := ob.Item(p.Manifest.ID, p.Manifest.Version); err == nil {
				continue
			}
			it, err := ob.Enqueue(ctx, p.Ciphertext, p.Signature)
			if err != nil {
				return queued, fmt.Errorf("пакет %s не поставлен в очередь отправки; соберите его заново: %w", p.Manifest.Name(), err)
			}
			queued = append(queued, it)
		}
	}
	return queued, nil
}

// KeepReceipt verifies a delivered item's receipt with the РЦОИ's key and
// keeps a copy under receipts/PPE, the one the operator shows or exports.
func (s *Station) KeepReceipt(it upload.Item, key ed25519.PublicKey) (*receipt.Receipt, error) {
	rc, err := receipt.Verify(it.Receipt, key)
	if err != nil {
		return nil, fmt.Errorf("квитанция пакета %s-v%d не читается: %w", it.Package, it.Version, err)
	}
	dir := s.Dir.Receipts(rc.PPE)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("папка квитанций не создаётся: %w", err)
	}
	path := filepath.Join(dir, fmt.Sprintf("%s-v%d.receipt", it.Package, it.Version))
	if err := atomicfile.WriteFile(path, it.Receipt, 0o640); err != nil {
		return nil, fmt.Errorf("квитанция %s не сохранена: %w", path, err)
	}
	return rc, nil
}

// ErrDelivering refuses a second sender while the daemon delivers.
var ErrDelivering = &InputError{Field: "отправка", Msg: "пакеты уже отправляет сама станция (адрес РЦОИ задан): следите за отправкой на странице ППЭ"}

// Delivery timing: how often the queue is looked at again, and the waits
// after a failed attempt, short enough that a link that comes back is used
// within seconds.
var (
	DeliveryRescan     = 2 * time.Second
	DeliveryMinBackoff = 500 * time.Millisecond
	DeliveryMaxBackoff = 15 * time.Second
	DeliveryChunk      = int64(256 << 10)
)

// Uploader returns an uploader of the station's queue to a РЦОИ. Only one
// may run at a time: release must be called when it stops.
func (s *Station) Uploader(endpoint string, key ed25519.PublicKey, progress func(upload.Progress)) (up *upload.Uploader, release func(), err error) {
	if !s.sending.TryLock() {
		return nil, nil, ErrDelivering
	}
	ob, err := s.Outbox()
	if err != nil {
		s.sending.Unlock()
		return nil, nil, err
	}
	up = &upload.Uploader{Outbox: ob, Endpoint: endpoint, ReceiverKey: key, ChunkSize: DeliveryChunk,
		MinBackoff: DeliveryMinBackoff, MaxBackoff: DeliveryMaxBackoff, Poll: DeliveryRescan, Progress: progress}
	return up, s.sending.Unlock, nil
}

// RunDelivery is the daemon's delivery service: once the РЦОИ is set, it
// queues every sealed package as it appears and sends the queue, keeping
// each verified receipt. It returns when ctx ends.
func (s *Station) RunDelivery(ctx context.Context) error {
	for {
		changed := s.Changed()
		r, key, ok, err := s.RCOI()
		if err != nil {
			return err
		}
		if !ok {
			select {
			case <-ctx.Done():
				return nil
			case <-changed:
			case <-time.After(DeliveryRescan):
			}
			continue
		}
		err = s.deliverTo(ctx, r, key)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// deliverTo sends to one РЦОИ until ctx ends or its address changes.
func (s *Station) deliverTo(ctx context.Context, r RCOI, key ed25519.PublicKey) error {
	hc, err := r.Client()
	if err != nil {
		return err
	}
	up, release, err := s.Uploader(r.URL, key, nil)
	if err != nil {
		return err
	}
	defer release()
	up.HTTP = hc
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- up.Run(ctx) }()
	defer func() { cancel(); <-done }()
	s.logger.Info("delivery to the РЦОИ started", "url", r.URL)
	kept := map[string]bool{}
	tick := time.NewTicker(DeliveryRescan)
	defer tick.Stop()
	for {
		changed := s.Changed()
		if _, err := s.Enqueue(ctx); err != nil && ctx.Err() == nil {
			s.logger.Warn("packages not queued", "err", err)
		}
		if err := s.keepReceipts(key, kept); err != nil {
			s.logger.Warn("receipts not kept", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case err := <-done:
			done <- err
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return fmt.Errorf("отправка остановилась: %w", err)
		case <-changed:
		case <-tick.C:
		}
		if now, _, ok, _ := s.RCOI(); !ok || now.URL != r.URL || now.Key != r.Key || now.TLS != r.TLS {
			return nil // the РЦОИ changed: start over with the new one
		}
	}
}

// keepReceipts keeps every newly delivered item's receipt and logs it.
func (s *Station) keepReceipts(key ed25519.PublicKey, kept map[string]bool) error {
	ob, err := s.Outbox()
	if err != nil {
		return err
	}
	items, err := ob.Items()
	if err != nil {
		return err
	}
	for _, it := range items {
		name := fmt.Sprintf("%s-v%d", it.Package, it.Version)
		if it.State != upload.Delivered || kept[name] {
			continue
		}
		path := filepath.Join(s.Dir.Receipts(ppeOf(it.Package)), name+".receipt")
		if _, err := os.Stat(path); err == nil {
			kept[name] = true
			continue
		}
		rc, err := s.KeepReceipt(it, key)
		if err != nil {
			return err
		}
		kept[name] = true
		s.logger.Info("package acknowledged by the РЦОИ", "package", name, "received", rc.Received)
		if _, err := s.Log.Append(audit.Event{Actor: audit.Station, Action: audit.ActionPackageSent,
			Subject: audit.Subject{PPE: rc.PPE}, After: jsonOf(map[string]any{"package": it.Package, "version": it.Version, "received": rc.Received})}); err != nil {
			return err
		}
	}
	return nil
}

// ppeOf reads the ППЭ code out of a package id (LEVEL-REGION-PPE-…).
func ppeOf(id string) string {
	parts := strings.Split(id, "-")
	if len(parts) > 2 {
		return parts[2]
	}
	return ""
}

// Delivery is one sealed package version of a ППЭ on its way to the РЦОИ.
type Delivery struct {
	Name       string // package id and version
	Auditorium string // "" for the closing set
	Version    int
	Pages      int
	Size       int64
	Superseded bool // a newer version of the package replaces it
	Queued     bool
	Sent       int64 // bytes the РЦОИ confirmed holding
	BytesSent  int64 // bytes put on the wire, all attempts
	Attempts   int
	LastError  string
	Refused    bool
	Received   time.Time // the РЦОИ's receipt time, verified; zero until then
}

// Deliveries lists every sealed version of a ППЭ's packages, newest of
// each package first, with where its upload stands.
func (s *Station) Deliveries(ppe string) ([]Delivery, error) {
	items, err := s.uploadItems()
	if err != nil {
		return nil, err
	}
	_, key, haveKey, _ := s.RCOI()
	list, err := packaging.List(string(s.Dir), ppe)
	if err != nil {
		return nil, err
	}
	var out []Delivery
	for _, newest := range list {
		m := newest.Manifest
		vs, err := packaging.Versions(string(s.Dir), ppe, m.ID)
		if err != nil {
			return nil, err
		}
		for i := len(vs) - 1; i >= 0; i-- {
			name := fmt.Sprintf("%s-v%d", m.ID, vs[i])
			d := Delivery{Name: name, Auditorium: m.Exam.Auditorium, Version: vs[i], Superseded: vs[i] < m.Version}
			if vs[i] == m.Version {
				d.Pages, d.Size = len(m.Pages), newest.Size
			}
			if it, ok := items[name]; ok {
				d.Queued, d.Sent, d.BytesSent, d.Attempts, d.LastError = true, it.Offset, it.BytesSent, it.Attempts, it.LastError
				d.Size = it.Size
				d.Refused = it.State == upload.Refused
				if it.State == upload.Delivered && haveKey {
					if rc, err := receipt.Verify(it.Receipt, key); err == nil {
						d.Received = rc.Received
					}
				}
			}
			out = append(out, d)
		}
	}
	return out, nil
}
