package forms

import (
	"fmt"
	"strings"
	"time"
)

// TypePPE15 pages (ППЭ-15) carry the contract's header and the station's
// own body. The body below is what the people signing need to check:
// which packages the signatures cover, and what was left unresolved.

// Protocol is the content of a ППЭ-15 body.
type Protocol struct {
	// Identity is the page identity (type 55, auditorium 0000, no kit),
	// with Manifest set to the short hash of what is signed off.
	Identity Identity
	// Exam is a line naming the exam, e.g. "ОГЭ, математика, 27.05.2025".
	Exam    string
	Station string
	// First and Last are the times of the first and last scanned page.
	First, Last time.Time
	Rows        []ProtocolRow
	// Manifest is the full SHA-256 of the summary manifest signed off.
	Manifest string
	Printed  time.Time
	// Files is a line on the files sent beside the scans (КЕГЭ answer
	// files, oral-answer audio), printed under the totals; "" for none.
	Files string
}

// ProtocolRow is one auditorium: counts per blank type (БО №1, БО №2
// лист 1, лист 2, ДБО №2), the problems left and the closing reason.
type ProtocolRow struct {
	Auditorium string
	// Expected is nil when no ППЭ-13-02-МАШ was confirmed.
	Expected *[4]int
	Scanned  [4]int
	Package  string   // package name (id and version), "" when not packaged
	Problems []string // kinds of problems left, e.g. "missing ×2"
	Reason   string   // operator's closing reason
}

// protocolTop and protocolBottom bound the body: the bottom keeps the problem lines so the body never runs into the
// signature block, whatever the number of auditoriums.
const protocolTop, protocolBottom = 30.0, 228.0

// ComposeProtocol draws a ППЭ-15 page: the header from template t (type
// 55, so the QR carries H) and the protocol body.
func ComposeProtocol(t *Template, p Protocol) (*Drawing, error) {
	if p.Identity.Type != TypePPE15 {
		return nil, fmt.Errorf("protocol: identity of type %s, want %s", p.Identity.Type, TypePPE15)
	}
	if p.Identity.Manifest == "" || len(p.Manifest) < 16 || !strings.HasPrefix(p.Manifest, p.Identity.Manifest) {
		return nil, fmt.Errorf("protocol: QR key H %q is not the start of the manifest hash %q", p.Identity.Manifest, p.Manifest)
	}
	d, err := Compose(t, p.Identity)
	if err != nil {
		return nil, fmt.Errorf("protocol: %w", err)
	}
	y := protocolTop
	line := func(x float64, s string, size float64, bold bool) {
		d.Text(Text{X: x, Y: y, Size: size, Bold: bold, Text: s}, 1)
	}
	line(15, p.Exam, 9, true)
	y += 5
	id := p.Identity
	line(15, fmt.Sprintf("Регион %s, ППЭ %s, станция %s", id.Region, id.PPE, p.Station), 8, false)
	y += 4.5
	line(15, fmt.Sprintf("Сканирование: первая страница %s, последняя %s", stamp(p.First), stamp(p.Last)), 8, false)
	y += 7

	// Table: auditorium, four blank types as expected/scanned, package.
	cols := []float64{15, 35, 60, 85, 110, 135, 195}
	heads := []string{"Аудитория", "БО №1", "БО №2 л.1", "БО №2 л.2", "ДБО №2", "Пакет"}
	for i, h := range heads {
		line(cols[i]+1, h, 7, true)
	}
	y += 1.5
	d.Line(15, y, 195, y, 0.2, 1)
	y += 4
	line(15, "ожидалось по ППЭ-13-02-МАШ / отсканировано", 6, false)
	y += 4.5
	var exp, got [4]int
	haveExp := true
	for _, r := range p.Rows {
		if y > protocolBottom-40 {
			line(15, fmt.Sprintf("… и ещё аудиторий: %d (см. отчёт станции)", len(p.Rows)-rowIndex(p.Rows, r)), 7, false)
			y += 4.5
			break
		}
		line(cols[0]+1, r.Auditorium, 8, false)
		for k := 0; k < 4; k++ {
			e := "—"
			if r.Expected != nil {
				e = fmt.Sprint(r.Expected[k])
				exp[k] += r.Expected[k]
			}
			got[k] += r.Scanned[k]
			line(cols[k+1]+1, fmt.Sprintf("%s / %d", e, r.Scanned[k]), 8, false)
		}
		if r.Expected == nil {
			haveExp = false
		}
		pkgName := r.Package
		if pkgName == "" {
			pkgName = "не упакована"
		}
		line(cols[5]+1, pkgName, 6, false)
		y += 4.5
	}
	d.Line(15, y-3, 195, y-3, 0.2, 1)
	y += 1
	line(cols[0]+1, "Итого", 8, true)
	for k := 0; k < 4; k++ {
		e := "—"
		if haveExp {
			e = fmt.Sprint(exp[k])
		}
		line(cols[k+1]+1, fmt.Sprintf("%s / %d", e, got[k]), 8, true)
	}
	y += 8
	if p.Files != "" {
		y -= 3
		line(15, clip(p.Files, 120), 7, false)
		y += 5
	}

	line(15, "Проблемы, оставшиеся при закрытии аудиторий, и причины закрытия:", 8, true)
	y += 4.5
	listed := false
	for _, r := range p.Rows {
		if len(r.Problems) == 0 {
			continue
		}
		listed = true
		if y > protocolBottom-12 {
			line(15, "… (полный список: station report)", 7, false)
			y += 4
			break
		}
		line(17, fmt.Sprintf("%s: %s", r.Auditorium, strings.Join(r.Problems, ", ")), 7, false)
		y += 3.8
		if r.Reason != "" {
			line(21, clip("причина: "+r.Reason, 110), 7, false)
			y += 3.8
		}
	}
	if !listed {
		line(17, "нет", 7, false)
		y += 3.8
	}

	y = protocolBottom - 4
	line(15, "Подписи удостоверяют пакеты, перечисленные в сводном манифесте ППЭ:", 7, false)
	y += 3.5
	d.Text(Text{X: 15, Y: y, Size: 7, Text: "SHA-256 " + p.Manifest}, 1)
	y += 3.5
	line(15, fmt.Sprintf("H = %s · напечатан %s", p.Identity.Manifest, stamp(p.Printed)), 7, true)
	return d, nil
}

func rowIndex(rows []ProtocolRow, r ProtocolRow) int {
	for i := range rows {
		if rows[i].Auditorium == r.Auditorium {
			return i
		}
	}
	return 0
}

// stamp writes a time for people at the ППЭ, in the station's time zone.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.Local().Format("02.01.2006 15:04")
}

// clip shortens s to n characters so a long reason cannot run off the page.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
