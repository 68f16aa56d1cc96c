package readiness

import (
	"fmt"
	"strings"
	"time"

	"giascan/forms"
)

// Info is what the protocol says about the check besides the figures.
type Info struct {
	Station string    // the station's name
	Device  string    // the scanner: name and id, or the checked image file
	Source  string    // how the sheet was scanned, e.g. "ADF, 300 dpi, gray"
	Time    time.Time // when the check ran
}

// Protocol draws the readiness protocol, one A4 page to print and sign:
// «Протокол проверки готовности сканера» with every figure, its limit and
// its verdict, the explanation of each failure, the overall verdict and
// the signature lines.
func Protocol(r *Result, info Info) *forms.Drawing {
	d := &forms.Drawing{Width: 210, Height: 297}
	text := func(x, y, size float64, bold bool, align, s string) {
		d.Text(forms.Text{X: x, Y: y, Size: size, Bold: bold, Align: align, Text: s}, 1)
	}
	text(105, 20, 14, true, "center", "Протокол проверки готовности сканера")
	text(105, 27, 9, false, "center", "к проведению ГИА (калибровочный лист станции сканирования)")

	y := 40.0
	for _, kv := range [][2]string{
		{"Станция", info.Station},
		{"Сканер", info.Device},
		{"Режим сканирования", info.Source},
		{"Дата и время проверки", info.Time.Format("02.01.2006 15:04:05 MST")},
	} {
		text(20, y, 9, true, "left", kv[0]+":")
		for i, line := range wrap(kv[1], 80) {
			text(65, y+float64(i)*4.5, 9, false, "left", line)
			if i > 0 {
				y += 4.5
			}
		}
		y += 6
	}

	// The table: figure, measured value, limit, result.
	y += 2
	cols := []float64{20, 82, 150, 178, 190}
	d.Line(cols[0], y-4, cols[4], y-4, 0.3, 1)
	text(cols[0]+1, y, 8, true, "left", "Показатель")
	text(cols[1]+1, y, 8, true, "left", "Измерено")
	text(cols[2]+1, y, 8, true, "left", "Норма")
	text(cols[3]+1, y, 8, true, "left", "Итог")
	y += 2
	d.Line(cols[0], y, cols[4], y, 0.3, 1)
	for _, c := range r.Criteria {
		lines := max(len(wrap(c.Name, 34)), len(wrap(c.Value, 38)), len(wrap(c.Limit, 16)))
		row := y + 4
		for i, s := range wrap(c.Name, 34) {
			text(cols[0]+1, row+float64(i)*3.6, 8, false, "left", s)
		}
		for i, s := range wrap(c.Value, 38) {
			text(cols[1]+1, row+float64(i)*3.6, 8, false, "left", s)
		}
		for i, s := range wrap(c.Limit, 16) {
			text(cols[2]+1, row+float64(i)*3.6, 8, false, "left", s)
		}
		verdict := "норма"
		if !c.Pass {
			verdict = "НЕТ"
		}
		text(cols[3]+1, row, 8, !c.Pass, "left", verdict)
		y += 1.5 + 3.6*float64(lines)
		d.Line(cols[0], y, cols[4], y, 0.2, 1)
	}

	if failed := r.Failed(); len(failed) > 0 {
		y += 8
		text(20, y, 9, true, "left", "Замечания и что сделать:")
		for _, c := range r.Criteria {
			if c.Pass {
				continue
			}
			y += 5
			for i, line := range wrap("• "+c.Name+": "+c.Explain, 105) {
				if i > 0 {
					y += 3.8
				}
				text(22, y, 8, false, "left", line)
			}
		}
	}

	y = max(y+14, 215)
	text(20, y, 12, true, "left", "Заключение: сканер "+r.Verdict())
	if !r.Ready {
		text(20, y+6, 8, false, "left", "К сканированию экзаменационных материалов не допускается до устранения замечаний и повторной проверки.")
	}
	y += 22
	for _, who := range []string{"Технический специалист ППЭ", "Руководитель ППЭ", "Член ГЭК"} {
		text(20, y, 9, false, "left", who)
		d.Line(80, y+0.8, 130, y+0.8, 0.2, 1)
		d.Line(140, y+0.8, 190, y+0.8, 0.2, 1)
		text(105, y+4, 6, false, "center", "подпись")
		text(165, y+4, 6, false, "center", "ФИО")
		y += 12
	}
	text(105, 290, 6, false, "center", fmt.Sprintf("Сформировано станцией сканирования %s", info.Time.Format("02.01.2006 15:04")))
	return d
}

// wrap splits s into lines of at most n runes at spaces.
func wrap(s string, n int) []string {
	var out []string
	line := ""
	for _, w := range strings.Fields(s) {
		switch {
		case line == "":
			line = w
		case len([]rune(line))+1+len([]rune(w)) <= n:
			line += " " + w
		default:
			out = append(out, line)
			line = w
		}
	}
	if line != "" || len(out) == 0 {
		out = append(out, line)
	}
	return out
}
