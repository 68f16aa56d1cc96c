//go:build windows

package twain

import (
	"errors"
	"fmt"
	"runtime"
	"syscall"
	"unsafe"
)

// Windows functions the session needs: a hidden parent window and its
// message queue, and movable global memory, which TWAIN hands images and
// capability containers in.
var (
	kernel32          = syscall.NewLazyDLL("kernel32.dll")
	user32            = syscall.NewLazyDLL("user32.dll")
	procGlobalAlloc   = kernel32.NewProc("GlobalAlloc")
	procGlobalLock    = kernel32.NewProc("GlobalLock")
	procGlobalUnlock  = kernel32.NewProc("GlobalUnlock")
	procGlobalFree    = kernel32.NewProc("GlobalFree")
	procGlobalSize    = kernel32.NewProc("GlobalSize")
	procMoveMemory    = kernel32.NewProc("RtlMoveMemory")
	procCreateWindow  = user32.NewProc("CreateWindowExW")
	procDestroyWindow = user32.NewProc("DestroyWindow")
	procPeekMessage   = user32.NewProc("PeekMessageW")
	procTranslate     = user32.NewProc("TranslateMessage")
	procDispatch      = user32.NewProc("DispatchMessageW")
)

const (
	gmemMoveable = 0x0002
	gmemZeroInit = 0x0040
	pmRemove     = 0x0001
	wsPopup      = 0x80000000
)

// winMsg is the MSG structure (naturally aligned, as Go lays it out).
type winMsg struct {
	hwnd    uintptr
	message uint32
	wParam  uintptr
	lParam  uintptr
	time    uint32
	x, y    int32
	private uint32
}

// ErrNoDSM is matched by the error of a PC without a TWAIN Data Source
// Manager.
var ErrNoDSM = errors.New("TWAIN не установлен на этом компьютере: нет TWAINDSM.dll; установите драйвер сканера с поддержкой TWAIN")

// dsm is an open Data Source Manager on one OS thread: every call must
// come from the goroutine that opened it, which stays locked to its
// thread until close.
type dsm struct {
	entry *syscall.LazyProc
	l     Layout
	app   []byte  // the application's TW_IDENTITY; the DSM writes its Id
	hwnd  uintptr // hidden parent window
	src   []byte  // the open source's TW_IDENTITY, nil when none
}

// openDSM locks the goroutine to its thread, makes the parent window and
// opens the DSM.
func openDSM() (*dsm, error) {
	var entry *syscall.LazyProc
	for _, name := range []string{"TWAINDSM.dll", "twain_32.dll"} {
		dll := syscall.NewLazyDLL(name)
		if dll.Load() != nil {
			continue
		}
		if p := dll.NewProc("DSM_Entry"); p.Find() == nil {
			entry = p
			break
		}
	}
	if entry == nil {
		return nil, ErrNoDSM
	}
	runtime.LockOSThread()
	d := &dsm{entry: entry, l: Native, app: make([]byte, SizeIdentity)}
	class, _ := syscall.UTF16PtrFromString("STATIC")
	title, _ := syscall.UTF16PtrFromString("giascan TWAIN")
	d.hwnd, _, _ = procCreateWindow.Call(0, uintptr(unsafe.Pointer(class)), uintptr(unsafe.Pointer(title)), wsPopup, 0, 0, 0, 0, 0, 0, 0, 0)
	if d.hwnd == 0 {
		runtime.UnlockOSThread()
		return nil, errors.New("twain: the parent window cannot be created")
	}
	id := Identity{
		Version:       Version{Major: 1, Minor: 0, Language: LGRussian, Country: CYRussia, Info: "giascan scan agent"},
		ProtocolMajor: 2, ProtocolMinor: 4,
		SupportedGroups: DGControl | DGImage | DFApp2,
		Manufacturer:    "giascan", ProductFamily: "giascan", ProductName: "giascan scan agent",
	}
	id.Encode(d.app)
	hwnd := d.hwnd
	if rc := d.call(nil, DGControl, DATParent, MSGOpenDSM, unsafe.Pointer(&hwnd)); rc != RCSuccess {
		procDestroyWindow.Call(d.hwnd)
		runtime.UnlockOSThread()
		return nil, &Error{Op: "MSG_OPENDSM", RC: rc, Cond: d.status(nil)}
	}
	return d, nil
}

// close closes the source, if open, and the DSM, and frees the thread.
func (d *dsm) close() {
	if d.src != nil {
		d.closeSource()
	}
	hwnd := d.hwnd
	d.call(nil, DGControl, DATParent, MSGCloseDSM, unsafe.Pointer(&hwnd))
	procDestroyWindow.Call(d.hwnd)
	runtime.UnlockOSThread()
}

// call is DSM_Entry from the application to dest (nil: the DSM).
func (d *dsm) call(dest []byte, dg uint32, dat, msg uint16, data unsafe.Pointer) uint16 {
	var dp unsafe.Pointer
	if dest != nil {
		dp = unsafe.Pointer(&dest[0])
	}
	rc, _, _ := d.entry.Call(uintptr(unsafe.Pointer(&d.app[0])), uintptr(dp), uintptr(dg), uintptr(dat), uintptr(msg), uintptr(data))
	runtime.KeepAlive(dest)
	runtime.KeepAlive(d.app)
	return uint16(rc)
}

// callBytes is call with a structure encoded in b as the data.
func (d *dsm) callBytes(dest []byte, dg uint32, dat, msg uint16, b []byte) uint16 {
	rc := d.call(dest, dg, dat, msg, unsafe.Pointer(&b[0]))
	runtime.KeepAlive(b)
	return rc
}

// status reads the condition code of the last call to dest.
func (d *dsm) status(dest []byte) uint16 {
	b := make([]byte, SizeStatus)
	if d.callBytes(dest, DGControl, DATStatus, MSGGet, b) != RCSuccess {
		return CCBummer
	}
	return DecodeStatus(b)
}

// fail makes the error of a failed call to the source.
func (d *dsm) fail(op string, rc uint16) *Error {
	return &Error{Op: op, RC: rc, Cond: d.status(d.src)}
}

// sources lists the data sources the DSM knows.
func (d *dsm) sources() []Identity {
	var out []Identity
	b := make([]byte, SizeIdentity)
	msg := uint16(MSGGetFirst)
	for d.callBytes(nil, DGControl, DATIdentity, msg, b) == RCSuccess {
		out = append(out, DecodeIdentity(b))
		msg = MSGGetNext
	}
	return out
}

// openSource opens the source named product, or the default one for "".
func (d *dsm) openSource(product string) error {
	src := make([]byte, SizeIdentity)
	if product != "" {
		found := false
		for _, id := range d.sources() {
			if id.ProductName == product {
				id.Encode(src)
				found = true
				break
			}
		}
		if !found {
			return &Error{Op: "MSG_OPENDS " + product, RC: RCFailure, Cond: CCNoDS}
		}
	}
	if rc := d.callBytes(nil, DGControl, DATIdentity, MSGOpenDS, src); rc != RCSuccess {
		return &Error{Op: "MSG_OPENDS", RC: rc, Cond: d.status(nil)}
	}
	d.src = src
	return nil
}

func (d *dsm) closeSource() {
	d.callBytes(nil, DGControl, DATIdentity, MSGCloseDS, d.src)
	d.src = nil
}

// setCap sets a capability to a TW_ONEVALUE.
func (d *dsm) setCap(cap uint16, value []byte) error {
	h, err := globalFrom(value)
	if err != nil {
		return err
	}
	defer procGlobalFree.Call(h)
	if rc := d.callBytes(d.src, DGControl, DATCapability, MSGSet, d.l.Capability(cap, ONOneValue, h)); rc != RCSuccess {
		return d.fail(fmt.Sprintf("MSG_SET capability %#04x", cap), rc)
	}
	return nil
}

// getCap reads a capability's current value and what it allows.
func (d *dsm) getCap(cap uint16, msg uint16) (Value, error) {
	b := d.l.Capability(cap, 0xFFFF, 0)
	if rc := d.callBytes(d.src, DGControl, DATCapability, msg, b); rc != RCSuccess {
		return Value{}, d.fail(fmt.Sprintf("MSG_GET capability %#04x", cap), rc)
	}
	conType, h := d.l.DecodeCapability(b)
	data, err := globalBytes(h)
	procGlobalFree.Call(h)
	if err != nil {
		return Value{}, err
	}
	return DecodeContainer(conType, data)
}

// waitEvent pumps the thread's messages through the source until it
// posts one of its own (MSG_XFERREADY, MSG_CLOSEDSREQ…) or stop says so.
func (d *dsm) waitEvent(stop func() bool) (uint16, bool) {
	var m winMsg
	for !stop() {
		r, _, _ := procPeekMessage.Call(uintptr(unsafe.Pointer(&m)), 0, 0, 0, pmRemove)
		if r == 0 {
			sleepBriefly()
			continue
		}
		ev := d.l.Event(uintptr(unsafe.Pointer(&m)))
		rc := d.callBytes(d.src, DGControl, DATEvent, MSGProcessEvent, ev)
		runtime.KeepAlive(&m)
		if rc == RCDSEvent {
			if msg := d.l.EventMessage(ev); msg != 0 {
				return msg, true
			}
			continue
		}
		procTranslate.Call(uintptr(unsafe.Pointer(&m)))
		procDispatch.Call(uintptr(unsafe.Pointer(&m)))
	}
	return 0, false
}

// globalFrom copies b into new movable global memory.
func globalFrom(b []byte) (uintptr, error) {
	h, _, err := procGlobalAlloc.Call(gmemMoveable|gmemZeroInit, uintptr(len(b)))
	if h == 0 {
		return 0, fmt.Errorf("twain: GlobalAlloc: %w", err)
	}
	p, _, err := procGlobalLock.Call(h)
	if p == 0 {
		procGlobalFree.Call(h)
		return 0, fmt.Errorf("twain: GlobalLock: %w", err)
	}
	procMoveMemory.Call(p, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	runtime.KeepAlive(b)
	procGlobalUnlock.Call(h)
	return h, nil
}

// globalBytes copies the contents of global memory out.
func globalBytes(h uintptr) ([]byte, error) {
	if h == 0 {
		return nil, errors.New("twain: the source returned no memory")
	}
	size, _, _ := procGlobalSize.Call(h)
	p, _, err := procGlobalLock.Call(h)
	if p == 0 {
		return nil, fmt.Errorf("twain: GlobalLock: %w", err)
	}
	defer procGlobalUnlock.Call(h)
	return copyOut(p, int(size)), nil
}

// copyOut copies n bytes from foreign memory at p.
func copyOut(p uintptr, n int) []byte {
	out := make([]byte, n)
	if n > 0 {
		procMoveMemory.Call(uintptr(unsafe.Pointer(&out[0])), p, uintptr(n))
	}
	return out
}
