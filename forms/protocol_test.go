package forms

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func protocolFixture(rows int) Protocol {
	id := Identity{Level: 9, Region: "11", PPE: "0101", Auditorium: "0000", Subject: "02", Date: "20250527",
		Type: TypePPE15, Barcode: mustBarcode(TypePPE15, 7), Kit: NoKit, Manifest: "0123456789abcdef"}
	p := Protocol{Identity: id, Exam: "ОГЭ, математика, 27.05.2025", Station: "st-1", First: time.Now(), Last: time.Now(),
		Manifest: "0123456789abcdef" + strings.Repeat("0", 48), Printed: time.Now()}
	for i := 0; i < rows; i++ {
		p.Rows = append(p.Rows, ProtocolRow{Auditorium: fmt.Sprintf("%04d", i+1), Expected: &[4]int{15, 15, 15, 2},
			Scanned: [4]int{15, 15, 14, 2}, Package: "версия 1", Problems: []string{"missing ×1"}, Reason: strings.Repeat("причина ", 30)})
	}
	return p
}

func mustBarcode(tt string, serial uint64) string {
	b, err := MakeBarcode(tt, serial)
	if err != nil {
		panic(err)
	}
	return b
}

func TestComposeProtocolKeepsHeaderAndSignatures(t *testing.T) {
	tpl, _ := Builtin().Get(TypePPE15)
	for _, rows := range []int{0, 3, 60} {
		d, err := ComposeProtocol(tpl, protocolFixture(rows))
		if err != nil {
			t.Fatalf("%d rows: %v", rows, err)
		}
		for _, op := range d.Ops {
			// Body text stays between the header and the signature block.
			if op.Kind == OpText && op.Rect.Y > protocolBottom+5 && op.Rect.Y < 234 {
				t.Errorf("%d rows: text %q at y %.1f runs into the signatures", rows, op.Text, op.Rect.Y)
			}
		}
		img, err := Rasterize(d, 100)
		if err != nil || img.Bounds().Dx() == 0 {
			t.Fatalf("rasterize: %v", err)
		}
	}
	bad := protocolFixture(1)
	bad.Manifest = strings.Repeat("f", 64)
	if _, err := ComposeProtocol(tpl, bad); err == nil {
		t.Error("protocol whose H is not the manifest's start was drawn")
	}
	bad = protocolFixture(1)
	bad.Identity.Type = TypeBO1
	if _, err := ComposeProtocol(tpl, bad); err == nil {
		t.Error("protocol with a type-11 identity was drawn")
	}
}
