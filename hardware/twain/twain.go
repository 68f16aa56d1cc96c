// Package twain is the scanner adapter "twain": a TWAIN data source (the
// driver Windows document scanners come with) driven through the TWAIN
// Data Source Manager (TWAINDSM.dll, or the old twain_32.dll), in pure Go
// with no cgo. It exists on Windows, where the scan agent serves it over
// eSCL so that stations need no driver of their own.
//
// The spec is "twain:PRODUCT" with the data source's product name as the
// DSM lists it (scanagent --list), or "twain" for the default source, and
// optional settings after commas: xfer=native|memory (default native) and
// ui=hide|show (default hide; show lets a source that transfers only after
// its own dialog put it up).
//
// A Scan opens the source, negotiates the feeder (CAP_FEEDERENABLED),
// duplex (CAP_DUPLEXENABLED), resolution (ICAP_XRESOLUTION and
// ICAP_YRESOLUTION) and pixel type (ICAP_PIXELTYPE) — a value the source
// refuses is an error, a capability it does not have is left as it is —
// enables it without
// its user interface and transfers every image it has, natively (a DIB)
// or through memory buffers, until the feeder is empty. A paper jam, a
// double feed, an open cover and a device gone offline become the
// matching *hardware.Fault; an empty feeder at the start is an empty
// stack. A source gone offline (TWCC_CHECKDEVICEONLINE, or the DSM no
// longer finding it) stays gone until it is opened again (see
// hardware.Scanner).
//
// This file and the others without a build tag hold what does not need
// Windows: TWAIN's constants, the byte layout of its structures as
// twain.h declares them (packed to 2 bytes), capability containers, the
// mapping of condition codes to faults, and DIB and memory-strip decoding.
// They are tested on any platform; the DSM calls live in *_windows.go.
package twain

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"

	"giascan/hardware"
)

// Data groups, data argument types and messages (twain.h).
const (
	DGControl = 0x0001
	DGImage   = 0x0002

	DATCapability      = 0x0001
	DATEvent           = 0x0002
	DATIdentity        = 0x0003
	DATParent          = 0x0004
	DATPendingXfers    = 0x0005
	DATSetupMemXfer    = 0x0006
	DATStatus          = 0x0008
	DATUserInterface   = 0x0009
	DATCallback        = 0x0010
	DATImageInfo       = 0x0101
	DATImageMemXfer    = 0x0103
	DATImageNativeXfer = 0x0104
	DATEntryPoint      = 0x0403

	MSGGet              = 0x0001
	MSGGetCurrent       = 0x0002
	MSGGetDefault       = 0x0003
	MSGGetFirst         = 0x0004
	MSGGetNext          = 0x0005
	MSGSet              = 0x0006
	MSGReset            = 0x0007
	MSGXferReady        = 0x0101
	MSGCloseDSReq       = 0x0102
	MSGCloseDSOK        = 0x0103
	MSGDeviceEvent      = 0x0104
	MSGOpenDSM          = 0x0301
	MSGCloseDSM         = 0x0302
	MSGOpenDS           = 0x0401
	MSGCloseDS          = 0x0402
	MSGDisableDS        = 0x0501
	MSGEnableDS         = 0x0502
	MSGProcessEvent     = 0x0601
	MSGEndXfer          = 0x0701
	MSGRegisterCallback = 0x0902
)

// Return codes.
const (
	RCSuccess     = 0
	RCFailure     = 1
	RCCheckStatus = 2
	RCCancel      = 3
	RCDSEvent     = 4
	RCNotDSEvent  = 5
	RCXferDone    = 6
	RCEndOfList   = 7
)

// Condition codes.
const (
	CCSuccess           = 0
	CCBummer            = 1
	CCLowMemory         = 2
	CCNoDS              = 3
	CCOperationError    = 5
	CCBadCap            = 6
	CCBadValue          = 10
	CCSeqError          = 11
	CCCapUnsupported    = 13
	CCDenied            = 16
	CCPaperJam          = 20
	CCPaperDoubleFeed   = 21
	CCCheckDeviceOnline = 23
	CCInterlock         = 24
	CCNoMedia           = 29
)

// Capabilities, container and item types, and their values.
const (
	CapXferCount       = 0x0001
	ICapCompression    = 0x0100
	ICapPixelType      = 0x0101
	ICapUnits          = 0x0102
	ICapXferMech       = 0x0103
	CapFeederEnabled   = 0x1002
	CapFeederLoaded    = 0x1003
	CapAutoFeed        = 0x1007
	CapIndicators      = 0x100b
	CapPaperDetectable = 0x100d
	CapDuplex          = 0x1012
	CapDuplexEnabled   = 0x1013
	ICapXResolution    = 0x1118
	ICapYResolution    = 0x1119
	ICapBitDepth       = 0x112b

	ONArray       = 3
	ONEnumeration = 4
	ONOneValue    = 5
	ONRange       = 6

	TYInt8   = 0x0000
	TYInt16  = 0x0001
	TYInt32  = 0x0002
	TYUint8  = 0x0003
	TYUint16 = 0x0004
	TYUint32 = 0x0005
	TYBool   = 0x0006
	TYFix32  = 0x0007

	PTBW   = 0
	PTGray = 1
	PTRGB  = 2

	SXNative = 0
	SXMemory = 2

	UNInches = 0
	CPNone   = 0

	MFAppOwns = 0x0001
	MFPointer = 0x0008

	DFDSM2 = 0x10000000
	DFApp2 = 0x20000000
	DFDS2  = 0x40000000
	DGMask = DGControl | DGImage

	LGRussian = 78
	CYRussia  = 7
)

// Sizes of the string types.
const (
	str32 = 34
)

// Layout is the byte layout of TWAIN's structures for one pointer size:
// twain.h packs them to 2 bytes, which Go structs cannot express, so they
// are encoded field by field at the offsets below.
type Layout struct {
	Ptr int // size of a pointer or handle: 8 on 64-bit Windows, 4 on 32-bit
}

// Native is the layout of the running program.
var Native = Layout{Ptr: strconv.IntSize / 8}

// Sizes of the structures, as sizeof gives them under #pragma pack(2).
const (
	SizeIdentity     = 156
	SizeOneValue     = 6
	SizeStatus       = 4
	SizePendingXfers = 6
	SizeImageInfo    = 42
	SizeSetupMemXfer = 12
	SizeRange        = 22
)

// SizeUserInterface is sizeof(TW_USERINTERFACE).
func (l Layout) SizeUserInterface() int { return 4 + l.Ptr }

// SizeCapability is sizeof(TW_CAPABILITY).
func (l Layout) SizeCapability() int { return 4 + l.Ptr }

// SizeEvent is sizeof(TW_EVENT).
func (l Layout) SizeEvent() int { return l.Ptr + 2 }

// SizeImageMemXfer is sizeof(TW_IMAGEMEMXFER): the Memory member is a
// TW_MEMORY of two TW_UINT32 and a pointer.
func (l Layout) SizeImageMemXfer() int { return 2 + 6*4 + 8 + l.Ptr }

var le = binary.LittleEndian

// Version is TW_VERSION.
type Version struct {
	Major, Minor      uint16
	Language, Country uint16
	Info              string
}

// Identity is TW_IDENTITY: an application, the DSM or a data source.
type Identity struct {
	ID              uint32
	Version         Version
	ProtocolMajor   uint16
	ProtocolMinor   uint16
	SupportedGroups uint32
	Manufacturer    string
	ProductFamily   string
	ProductName     string
}

// Offsets in TW_IDENTITY.
const (
	offIDVersion       = 4
	offIDInfo          = 12
	offIDProtocolMajor = 46
	offIDProtocolMinor = 48
	offIDGroups        = 50
	offIDManufacturer  = 54
	offIDFamily        = 88
	offIDProduct       = 122
)

// Encode writes the identity into b, which holds SizeIdentity bytes.
func (id *Identity) Encode(b []byte) {
	clear(b[:SizeIdentity])
	le.PutUint32(b[0:], id.ID)
	le.PutUint16(b[offIDVersion:], id.Version.Major)
	le.PutUint16(b[offIDVersion+2:], id.Version.Minor)
	le.PutUint16(b[offIDVersion+4:], id.Version.Language)
	le.PutUint16(b[offIDVersion+6:], id.Version.Country)
	putStr(b[offIDInfo:offIDInfo+str32], id.Version.Info)
	le.PutUint16(b[offIDProtocolMajor:], id.ProtocolMajor)
	le.PutUint16(b[offIDProtocolMinor:], id.ProtocolMinor)
	le.PutUint32(b[offIDGroups:], id.SupportedGroups)
	putStr(b[offIDManufacturer:offIDManufacturer+str32], id.Manufacturer)
	putStr(b[offIDFamily:offIDFamily+str32], id.ProductFamily)
	putStr(b[offIDProduct:offIDProduct+str32], id.ProductName)
}

// DecodeIdentity reads a TW_IDENTITY.
func DecodeIdentity(b []byte) Identity {
	return Identity{
		ID: le.Uint32(b[0:]),
		Version: Version{Major: le.Uint16(b[offIDVersion:]), Minor: le.Uint16(b[offIDVersion+2:]),
			Language: le.Uint16(b[offIDVersion+4:]), Country: le.Uint16(b[offIDVersion+6:]),
			Info: getStr(b[offIDInfo : offIDInfo+str32])},
		ProtocolMajor:   le.Uint16(b[offIDProtocolMajor:]),
		ProtocolMinor:   le.Uint16(b[offIDProtocolMinor:]),
		SupportedGroups: le.Uint32(b[offIDGroups:]),
		Manufacturer:    getStr(b[offIDManufacturer : offIDManufacturer+str32]),
		ProductFamily:   getStr(b[offIDFamily : offIDFamily+str32]),
		ProductName:     getStr(b[offIDProduct : offIDProduct+str32]),
	}
}

// putStr writes a NUL-terminated string, cut to fit.
func putStr(b []byte, s string) {
	clear(b)
	copy(b[:len(b)-1], s)
}

func getStr(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// Fix32 is TW_FIX32: a signed whole part and a fraction in 1/65536.
type Fix32 struct {
	Whole int16
	Frac  uint16
}

// ToFix32 rounds f to TWAIN's fixed point, as the specification's
// FloatToFix32 does.
func ToFix32(f float64) Fix32 {
	v := int32(math.Round(f * 65536))
	return Fix32{Whole: int16(v >> 16), Frac: uint16(v)}
}

// Float is the value of a Fix32.
func (x Fix32) Float() float64 { return float64(x.Whole) + float64(x.Frac)/65536 }

// uint32 is the Fix32 as TW_ONEVALUE's Item holds it: Whole in the low
// half, Frac in the high half, as the struct lies in memory.
func (x Fix32) uint32() uint32 { return uint32(uint16(x.Whole)) | uint32(x.Frac)<<16 }

func fix32Of(v uint32) Fix32 { return Fix32{Whole: int16(uint16(v)), Frac: uint16(v >> 16)} }

// UserInterface encodes TW_USERINTERFACE.
func (l Layout) UserInterface(showUI, modalUI bool, parent uintptr) []byte {
	b := make([]byte, l.SizeUserInterface())
	le.PutUint16(b[0:], boolean(showUI))
	le.PutUint16(b[2:], boolean(modalUI))
	l.putPtr(b[4:], parent)
	return b
}

// Capability encodes TW_CAPABILITY around a container handle.
func (l Layout) Capability(cap, conType uint16, container uintptr) []byte {
	b := make([]byte, l.SizeCapability())
	le.PutUint16(b[0:], cap)
	le.PutUint16(b[2:], conType)
	l.putPtr(b[4:], container)
	return b
}

// DecodeCapability reads TW_CAPABILITY: the container type and handle the
// source filled in.
func (l Layout) DecodeCapability(b []byte) (conType uint16, container uintptr) {
	return le.Uint16(b[2:]), l.ptr(b[4:])
}

// Event encodes TW_EVENT around a pointer to a window message.
func (l Layout) Event(msg uintptr) []byte {
	b := make([]byte, l.SizeEvent())
	l.putPtr(b, msg)
	return b
}

// EventMessage reads TW_EVENT's TWMessage.
func (l Layout) EventMessage(b []byte) uint16 { return le.Uint16(b[l.Ptr:]) }

// ImageMemXfer encodes TW_IMAGEMEMXFER for a buffer the application owns.
func (l Layout) ImageMemXfer(buf uintptr, size uint32) []byte {
	b := make([]byte, l.SizeImageMemXfer())
	for i := 2; i < 26; i += 4 {
		le.PutUint32(b[i:], 0xFFFFFFFF) // TWON_DONTCARE32: the source fills them in
	}
	le.PutUint16(b[0:], 0xFFFF)
	le.PutUint32(b[26:], MFAppOwns|MFPointer)
	le.PutUint32(b[30:], size)
	l.putPtr(b[34:], buf)
	return b
}

// MemStrip is a filled TW_IMAGEMEMXFER: a strip of rows.
type MemStrip struct {
	Compression                    uint16
	BytesPerRow, Columns, Rows     uint32
	XOffset, YOffset, BytesWritten uint32
}

// DecodeImageMemXfer reads a filled TW_IMAGEMEMXFER.
func DecodeImageMemXfer(b []byte) MemStrip {
	return MemStrip{Compression: le.Uint16(b[0:]), BytesPerRow: le.Uint32(b[2:]), Columns: le.Uint32(b[6:]),
		Rows: le.Uint32(b[10:]), XOffset: le.Uint32(b[14:]), YOffset: le.Uint32(b[18:]), BytesWritten: le.Uint32(b[22:])}
}

// SetupMemXfer is TW_SETUPMEMXFER.
type SetupMemXfer struct{ Min, Max, Preferred uint32 }

// DecodeSetupMemXfer reads TW_SETUPMEMXFER.
func DecodeSetupMemXfer(b []byte) SetupMemXfer {
	return SetupMemXfer{le.Uint32(b[0:]), le.Uint32(b[4:]), le.Uint32(b[8:])}
}

// ImageInfo is TW_IMAGEINFO.
type ImageInfo struct {
	XResolution, YResolution float64
	Width, Length            int32
	SamplesPerPixel          int16
	BitsPerSample            [8]int16
	BitsPerPixel             int16
	Planar                   bool
	PixelType                int16
	Compression              uint16
}

// DecodeImageInfo reads TW_IMAGEINFO.
func DecodeImageInfo(b []byte) ImageInfo {
	i := ImageInfo{
		XResolution: fix32Of(le.Uint32(b[0:])).Float(), YResolution: fix32Of(le.Uint32(b[4:])).Float(),
		Width: int32(le.Uint32(b[8:])), Length: int32(le.Uint32(b[12:])),
		SamplesPerPixel: int16(le.Uint16(b[16:])),
		BitsPerPixel:    int16(le.Uint16(b[34:])), Planar: le.Uint16(b[36:]) != 0,
		PixelType: int16(le.Uint16(b[38:])), Compression: le.Uint16(b[40:]),
	}
	for k := range i.BitsPerSample {
		i.BitsPerSample[k] = int16(le.Uint16(b[18+2*k:]))
	}
	return i
}

// Status is TW_STATUS's condition code.
func DecodeStatus(b []byte) uint16 { return le.Uint16(b[0:]) }

// DecodePendingXfers reads TW_PENDINGXFERS' Count: the transfers left,
// -1 when the source does not know (a feeder).
func DecodePendingXfers(b []byte) int16 { return int16(le.Uint16(b[0:])) }

// OneValue encodes a TW_ONEVALUE container.
func OneValue(itemType uint16, item uint32) []byte {
	b := make([]byte, SizeOneValue)
	le.PutUint16(b[0:], itemType)
	le.PutUint32(b[2:], item)
	return b
}

// BoolValue and the others make the TW_ONEVALUE of a capability's value.
func BoolValue(v bool) []byte { return OneValue(TYBool, uint32(boolean(v))) }

// Uint16Value is a TWTY_UINT16 TW_ONEVALUE.
func Uint16Value(v uint16) []byte { return OneValue(TYUint16, uint32(v)) }

// Int16Value is a TWTY_INT16 TW_ONEVALUE (CAP_XFERCOUNT's -1 is "all").
func Int16Value(v int16) []byte { return OneValue(TYInt16, uint32(uint16(v))) }

// Fix32Value is a TWTY_FIX32 TW_ONEVALUE.
func Fix32Value(f float64) []byte { return OneValue(TYFix32, ToFix32(f).uint32()) }

// Value is a capability's current value and, for an enumeration or a
// range, the values it allows.
type Value struct {
	Type    uint16
	Current float64
	Allowed []float64 // enumeration items; for a range Min..Max by Step
	Min     float64
	Max     float64
	Step    float64
	IsRange bool
}

// DecodeContainer reads a container a source returned for MSG_GET.
func DecodeContainer(conType uint16, b []byte) (Value, error) {
	item := func(t uint16, p []byte) (float64, int, error) {
		size := 4
		switch t {
		case TYInt8, TYUint8:
			size = 1
		case TYInt16, TYUint16, TYBool:
			size = 2
		}
		if len(p) < size {
			return 0, 0, fmt.Errorf("twain: container item of type %d is cut short", t)
		}
		switch t {
		case TYInt8:
			return float64(int8(p[0])), 1, nil
		case TYUint8:
			return float64(p[0]), 1, nil
		case TYInt16:
			return float64(int16(le.Uint16(p))), 2, nil
		case TYUint16, TYBool:
			return float64(le.Uint16(p)), 2, nil
		case TYInt32:
			return float64(int32(le.Uint32(p))), 4, nil
		case TYUint32:
			return float64(le.Uint32(p)), 4, nil
		case TYFix32:
			return fix32Of(le.Uint32(p)).Float(), 4, nil
		}
		return 0, 0, fmt.Errorf("twain: item type %d", t)
	}
	// Range and one-value items are TW_UINT32 whatever the type.
	scalar := func(t uint16, v uint32) float64 {
		var p [4]byte
		le.PutUint32(p[:], v)
		f, _, _ := item(t, p[:])
		return f
	}
	short := fmt.Errorf("twain: container of %d bytes is short", len(b))
	if len(b) < 6 {
		return Value{}, short
	}
	t := le.Uint16(b[0:])
	switch conType {
	case ONOneValue:
		return Value{Type: t, Current: scalar(t, le.Uint32(b[2:]))}, nil
	case ONRange:
		if len(b) < SizeRange {
			return Value{}, short
		}
		v := Value{Type: t, IsRange: true, Min: scalar(t, le.Uint32(b[2:])), Max: scalar(t, le.Uint32(b[6:])),
			Step: scalar(t, le.Uint32(b[10:])), Current: scalar(t, le.Uint32(b[18:]))}
		return v, nil
	case ONEnumeration:
		if len(b) < 14 {
			return Value{}, short
		}
		n, cur := int(le.Uint32(b[2:])), int(le.Uint32(b[6:]))
		v := Value{Type: t}
		off := 14
		for k := 0; k < n; k++ {
			if off >= len(b) {
				return Value{}, short
			}
			f, size, err := item(t, b[off:])
			if err != nil {
				return Value{}, err
			}
			v.Allowed = append(v.Allowed, f)
			if k == cur {
				v.Current = f
			}
			off += size
		}
		return v, nil
	}
	return Value{}, fmt.Errorf("twain: container type %d", conType)
}

func boolean(b bool) uint16 {
	if b {
		return 1
	}
	return 0
}

func (l Layout) putPtr(b []byte, p uintptr) {
	if l.Ptr == 8 {
		le.PutUint64(b, uint64(p))
		return
	}
	le.PutUint32(b, uint32(p))
}

func (l Layout) ptr(b []byte) uintptr {
	if l.Ptr == 8 {
		return uintptr(le.Uint64(b))
	}
	return uintptr(le.Uint32(b))
}

// FaultOf maps a condition code to the device event it reports, "" for
// none.
func FaultOf(cc uint16) hardware.FaultKind {
	switch cc {
	case CCPaperJam:
		return hardware.PaperJam
	case CCPaperDoubleFeed:
		return hardware.DoubleFeed
	case CCInterlock:
		return hardware.CoverOpen
	case CCCheckDeviceOnline:
		return hardware.DeviceGone
	}
	return ""
}

// Error is a TWAIN call that failed.
type Error struct {
	Op   string // what was asked, e.g. "MSG_ENABLEDS"
	RC   uint16 // return code
	Cond uint16 // condition code, when the status could be read
}

func (e *Error) Error() string {
	return fmt.Sprintf("twain: %s: return code %d, condition %s", e.Op, e.RC, condName(e.Cond))
}

func condName(cc uint16) string {
	names := map[uint16]string{
		CCSuccess: "success", CCBummer: "bummer (failure)", CCLowMemory: "low memory", CCNoDS: "no data source",
		CCOperationError: "operation error", CCBadCap: "bad capability", CCBadValue: "bad value",
		CCSeqError: "sequence error", CCCapUnsupported: "capability unsupported", CCDenied: "denied",
		CCPaperJam: "paper jam", CCPaperDoubleFeed: "double feed", CCCheckDeviceOnline: "device offline",
		CCInterlock: "cover open", CCNoMedia: "no media",
	}
	if n, ok := names[cc]; ok {
		return n
	}
	return fmt.Sprint(cc)
}
