//go:build windows

package twain

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unsafe"

	"giascan/hardware"
)

func init() {
	hardware.Register("twain", func(arg string) (hardware.Scanner, error) { return Open(arg) })
	hardware.RegisterDiscoverer("twain", hardware.DiscoverFunc(discover), 30*time.Second)
}

func sleepBriefly() { time.Sleep(10 * time.Millisecond) }

// Config says which data source to drive and how.
type Config struct {
	Product string // the source's product name; "" for the DSM's default source
	Memory  bool   // transfer through memory buffers instead of a native DIB
	ShowUI  bool   // enable the source with its own dialog: some sources transfer only after it
}

// Scanner is a TWAIN data source. It implements hardware.Scanner.
type Scanner struct {
	cfg  Config
	dev  hardware.Device
	mu   sync.Mutex
	held hardware.Held // scanned, numbered, not yet accepted
	next int
	gone hardware.Gone
}

// Open opens a source from a spec argument; see the package comment. It
// checks that the DSM is there and knows the source.
func Open(arg string) (*Scanner, error) {
	fields := strings.Split(arg, ",")
	cfg := Config{Product: fields[0]}
	for _, f := range fields[1:] {
		switch f {
		case "xfer=native":
		case "xfer=memory":
			cfg.Memory = true
		case "ui=show":
			cfg.ShowUI = true
		case "ui=hide":
		default:
			return nil, fmt.Errorf("twain: неизвестная настройка %q (есть xfer=native, xfer=memory, ui=hide и ui=show)", f)
		}
	}
	done := make(chan error, 1)
	var name string
	go func() { // owned by Open, which waits for it; a thread of its own for the DSM
		d, err := openDSM()
		if err != nil {
			done <- err
			return
		}
		defer d.close()
		for _, id := range d.sources() {
			if cfg.Product == "" || id.ProductName == cfg.Product {
				name = strings.TrimSpace(id.Manufacturer + " " + id.ProductName)
				done <- nil
				return
			}
		}
		done <- fmt.Errorf("twain: источник %q не найден; установленные источники: scanagent --list", cfg.Product)
	}()
	if err := <-done; err != nil {
		return nil, err
	}
	id := "twain:" + cfg.Product
	return &Scanner{cfg: cfg, next: 1, dev: hardware.Device{ID: id, Name: name + " (TWAIN)", Adapter: "twain", Spec: id,
		Caps: hardware.Capabilities{Sources: []hardware.Source{hardware.Flatbed, hardware.ADF, hardware.Duplex},
			DPIs: []int{150, 200, 300, 400, 600}, Modes: []string{"gray", "color", "lineart"}}}}, nil
}

// discover lists the sources the DSM knows.
func discover(ctx context.Context) ([]hardware.Device, error) {
	type result struct {
		ids []Identity
		err error
	}
	done := make(chan result, 1)
	go func() { // a thread of its own for the DSM; ends by itself
		d, err := openDSM()
		if err != nil {
			done <- result{err: err}
			return
		}
		defer d.close()
		done <- result{ids: d.sources()}
	}()
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if errors.Is(r.err, ErrNoDSM) {
		return nil, nil // no TWAIN on this PC: nothing to list
	}
	var out []hardware.Device
	for _, id := range r.ids {
		spec := "twain:" + id.ProductName
		out = append(out, hardware.Device{ID: spec, Spec: spec, Adapter: "twain",
			Name: strings.TrimSpace(id.Manufacturer+" "+id.ProductName) + " (TWAIN)"})
	}
	return out, r.err
}

// Device describes the source.
func (s *Scanner) Device() hardware.Device { return s.dev }

// Scan runs the source's feeder once; see hardware.Scanner and the package
// comment. The DSM lives on a thread of its own for the whole run.
func (s *Scanner) Scan(ctx context.Context, opts hardware.Options, deliver func(hardware.Page) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.gone.Err(); err != nil {
		return err
	}
	return s.gone.Keep(s.scan(ctx, opts, deliver))
}

func (s *Scanner) scan(ctx context.Context, opts hardware.Options, deliver func(hardware.Page) error) error {
	if deliver == nil {
		return errors.New("twain: scan without a receiver for the pages")
	}
	if err := s.held.Deliver(ctx, deliver); err != nil {
		return err
	}
	// Pages go from the DSM's thread to this goroutine one at a time, so
	// deliver runs here and the transfer waits for its answer.
	type handover struct {
		page  hardware.Page
		reply chan error
	}
	pages := make(chan handover)
	result := make(chan error, 1)
	go func() { // owned by Scan, which waits for result
		result <- s.run(ctx, opts, func(p hardware.Page) error {
			reply := make(chan error, 1)
			pages <- handover{p, reply}
			return <-reply
		})
	}()
	for {
		select {
		case h := <-pages:
			err := deliver(h.page)
			if err != nil {
				s.held.Keep(h.page)
			}
			h.reply <- err
		case err := <-result:
			return err
		}
	}
}

// run is one feeder run on the DSM's thread.
func (s *Scanner) run(ctx context.Context, opts hardware.Options, deliver func(hardware.Page) error) error {
	d, err := openDSM()
	if err != nil {
		return err
	}
	defer d.close()
	if err := d.openSource(s.cfg.Product); err != nil {
		var te *Error
		if errors.As(err, &te) && te.Cond == CCNoDS {
			return s.fault(hardware.DeviceGone)
		}
		return err
	}
	if err := s.negotiate(d, opts); err != nil {
		return err
	}
	feeder := opts.Source != hardware.Flatbed
	if feeder {
		if v, err := d.getCap(CapFeederLoaded, MSGGetCurrent); err == nil && v.Current == 0 {
			return nil // nothing in the feeder: the stack is done
		}
	}
	ui := d.l.UserInterface(s.cfg.ShowUI, false, d.hwnd)
	if rc := d.callBytes(d.src, DGControl, DATUserInterface, MSGEnableDS, ui); rc != RCSuccess {
		err := d.fail("MSG_ENABLEDS", rc)
		if err.Cond == CCNoMedia {
			return nil
		}
		return s.faultOr(err)
	}
	defer d.callBytes(d.src, DGControl, DATUserInterface, MSGDisableDS, ui)
	duplex := opts.Source == hardware.Duplex
	side := 0
	for {
		msg, ok := d.waitEvent(func() bool { return ctx.Err() != nil })
		if !ok {
			return ctx.Err()
		}
		switch msg {
		case MSGCloseDSReq:
			return nil
		case MSGXferReady:
		default:
			continue
		}
		for {
			if ctx.Err() != nil {
				d.callBytes(d.src, DGControl, DATPendingXfers, MSGReset, make([]byte, SizePendingXfers))
				return ctx.Err()
			}
			page, err := s.transfer(d)
			if err != nil {
				d.callBytes(d.src, DGControl, DATPendingXfers, MSGReset, make([]byte, SizePendingXfers))
				if errors.Is(err, errNoMedia) {
					return nil
				}
				return s.faultOr(err)
			}
			px := make([]byte, SizePendingXfers)
			d.callBytes(d.src, DGControl, DATPendingXfers, MSGEndXfer, px)
			left := DecodePendingXfers(px)
			page.Side = hardware.Front
			if duplex && side%2 == 1 {
				page.Side = hardware.Back
			}
			side++
			if err := deliver(page); err != nil {
				if left != 0 {
					d.callBytes(d.src, DGControl, DATPendingXfers, MSGReset, make([]byte, SizePendingXfers))
				}
				return err
			}
			if left == 0 {
				return nil // the feeder ran empty
			}
		}
	}
}

// errNoMedia is a transfer that found no paper.
var errNoMedia = errors.New("twain: no paper")

// negotiate sets the source's capabilities for opts. A feeder or duplex
// the source refuses is an error; resolution and pixel type are
// requests.
func (s *Scanner) negotiate(d *dsm, opts hardware.Options) error {
	feeder := opts.Source != hardware.Flatbed
	if err := d.setCap(CapFeederEnabled, BoolValue(feeder)); err != nil && feeder {
		return fmt.Errorf("twain %s: the source has no feeder: %w", s.cfg.Product, err)
	}
	if feeder {
		_ = d.setCap(CapAutoFeed, BoolValue(true))
	}
	if err := d.setCap(CapDuplexEnabled, BoolValue(opts.Source == hardware.Duplex)); err != nil && opts.Source == hardware.Duplex {
		return fmt.Errorf("twain %s: the source does not scan both sides: %w", s.cfg.Product, err)
	}
	dpi := opts.DPI
	if dpi == 0 {
		dpi = 300
	}
	_ = d.setCap(ICapUnits, Uint16Value(UNInches))
	if err := d.setCap(ICapXResolution, Fix32Value(float64(dpi))); err != nil && opts.DPI != 0 && !unsupported(err) {
		return fmt.Errorf("twain %s: %d dpi: %w", s.cfg.Product, dpi, err)
	}
	_ = d.setCap(ICapYResolution, Fix32Value(float64(dpi)))
	pt := map[string]uint16{"": PTGray, "gray": PTGray, "color": PTRGB, "lineart": PTBW}[opts.Mode]
	if err := d.setCap(ICapPixelType, Uint16Value(pt)); err != nil && opts.Mode != "" && !unsupported(err) {
		return fmt.Errorf("twain %s: mode %s: %w", s.cfg.Product, opts.Mode, err)
	}
	mech := uint16(SXNative)
	if s.cfg.Memory {
		mech = SXMemory
	}
	if err := d.setCap(ICapXferMech, Uint16Value(mech)); err != nil && s.cfg.Memory {
		return fmt.Errorf("twain %s: memory transfer: %w", s.cfg.Product, err)
	}
	_ = d.setCap(CapXferCount, Int16Value(-1)) // every sheet in the feeder
	return nil
}

// unsupported tells a capability the source has no control for (it scans
// as it does, a camera say) from a value it refuses.
func unsupported(err error) bool {
	var te *Error
	return errors.As(err, &te) && (te.Cond == CCCapUnsupported || te.Cond == CCBadCap)
}

// transfer takes one image from the source (state 6 to 7) as a PNG page.
func (s *Scanner) transfer(d *dsm) (hardware.Page, error) {
	ib := make([]byte, SizeImageInfo)
	if rc := d.callBytes(d.src, DGImage, DATImageInfo, MSGGet, ib); rc != RCSuccess {
		return hardware.Page{}, d.fail("DAT_IMAGEINFO", rc)
	}
	info := DecodeImageInfo(ib)
	var (
		data []byte
		err  error
	)
	if s.cfg.Memory {
		data, err = memoryTransfer(d, info)
	} else {
		data, err = nativeTransfer(d)
	}
	if err != nil {
		return hardware.Page{}, err
	}
	p := hardware.Page{Seq: s.next, Data: data, Format: "png", DPI: int(info.XResolution + 0.5),
		Name: fmt.Sprintf("%04d.png", s.next)}
	s.next++
	return p, nil
}

func nativeTransfer(d *dsm) ([]byte, error) {
	var h uintptr
	rc := d.call(d.src, DGImage, DATImageNativeXfer, MSGGet, unsafe.Pointer(&h))
	switch rc {
	case RCXferDone:
	case RCCancel:
		return nil, errNoMedia
	default:
		err := d.fail("DAT_IMAGENATIVEXFER", rc)
		if err.Cond == CCNoMedia {
			return nil, errNoMedia
		}
		return nil, err
	}
	dib, err := globalBytes(h)
	procGlobalFree.Call(h)
	if err != nil {
		return nil, err
	}
	img, _, err := DIB(dib)
	if err != nil {
		return nil, err
	}
	return PNG(img)
}

func memoryTransfer(d *dsm, info ImageInfo) ([]byte, error) {
	sb := make([]byte, SizeSetupMemXfer)
	if rc := d.callBytes(d.src, DGControl, DATSetupMemXfer, MSGGet, sb); rc != RCSuccess {
		return nil, d.fail("DAT_SETUPMEMXFER", rc)
	}
	setup := DecodeSetupMemXfer(sb)
	size := max(setup.Preferred, setup.Min, 64<<10)
	buf, _, err := procGlobalAlloc.Call(0 /* GMEM_FIXED: the handle is the pointer */, uintptr(size))
	if buf == 0 {
		return nil, fmt.Errorf("twain: GlobalAlloc: %w", err)
	}
	defer procGlobalFree.Call(buf)
	var strips Strips
	for {
		mx := d.l.ImageMemXfer(buf, size)
		rc := d.callBytes(d.src, DGImage, DATImageMemXfer, MSGGet, mx)
		if rc != RCSuccess && rc != RCXferDone {
			if rc == RCCancel {
				return nil, errNoMedia
			}
			err := d.fail("DAT_IMAGEMEMXFER", rc)
			if err.Cond == CCNoMedia {
				return nil, errNoMedia
			}
			return nil, err
		}
		st := DecodeImageMemXfer(mx)
		if err := strips.Add(st, copyOut(buf, int(min(st.BytesWritten, size)))); err != nil {
			return nil, err
		}
		if rc == RCXferDone {
			break
		}
	}
	img, err := strips.Image(info)
	if err != nil {
		return nil, err
	}
	return PNG(img)
}

// faultOr turns a failure the source explained as a device event into a
// fault, and leaves other errors as they are.
func (s *Scanner) faultOr(err error) error {
	var te *Error
	if errors.As(err, &te) {
		if k := FaultOf(te.Cond); k != "" {
			return s.fault(k)
		}
	}
	return err
}

func (s *Scanner) fault(kind hardware.FaultKind) error {
	return &hardware.Fault{Kind: kind, Device: s.dev.ID, After: s.next - 1 - s.held.Len()}
}
