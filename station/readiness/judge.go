// Package readiness checks, before exam day, that a scanner is fit for
// the exam: it measures a scan of the calibration sheet (forms.Calibration)
// — real resolution in both directions, skew, contrast and grey steps,
// noise, resolving power, barcode and QR reads — judges each figure
// against a stated limit and draws the signed paper protocol.
package readiness

import (
	"errors"
	"fmt"
	"image"
	"math"
	"strings"
)

// Limits are the thresholds of the check. The recognizer copes with worse
// (the contract allows ±2 % dpi and ±5° skew on any page); a scanner that
// starts the exam already at that edge leaves no margin, so the limits for
// a fresh, well-fed calibration sheet are stricter where it matters.
type Limits struct {
	DPITolerance  float64 // relative, each direction, anchors and scales
	MaxSkew       float64 // degrees, on a sheet fed straight
	MinContrast   float64 // paper minus full ink, grey levels
	MinStepGap    float64 // neighbouring 10 % steps, grey levels
	MaxNoise      float64 // std-dev on white paper, grey levels
	MinModulation float64 // at ResolveWidth, fraction of the contrast
	ResolveWidth  float64 // line width the resolving power is judged at, mm
	MinReads      int     // reads of each code out of the tries
}

// DefaultLimits are the limits of the station's readiness check.
var DefaultLimits = Limits{
	DPITolerance:  0.02,
	MaxSkew:       1,
	MinContrast:   150,
	MinStepGap:    8,
	MaxNoise:      8,
	MinModulation: 0.3,
	ResolveWidth:  0.2,
	MinReads:      8,
}

// Criterion is one judged figure.
type Criterion struct {
	ID      string `json:"id"`
	Name    string `json:"name"`  // Russian, for the protocol
	Value   string `json:"value"` // what was measured
	Limit   string `json:"limit"` // what is required
	Pass    bool   `json:"pass"`
	Explain string `json:"explain,omitempty"` // Russian: what is wrong and what to do, when failed
}

// Result is the outcome of a check of one scan.
type Result struct {
	Figures  *Figures    `json:"figures,omitempty"` // nil when the sheet was not found
	Criteria []Criterion `json:"criteria"`
	Ready    bool        `json:"ready"`
}

// Failed lists the ids of the failed criteria.
func (r *Result) Failed() []string {
	var out []string
	for _, c := range r.Criteria {
		if !c.Pass {
			out = append(out, c.ID)
		}
	}
	return out
}

// Verdict is the protocol's word for the outcome.
func (r *Result) Verdict() string {
	if r.Ready {
		return "ГОТОВ"
	}
	return "НЕ ГОТОВ"
}

// Check measures a grey scan of the calibration sheet made at nominalDPI
// and judges it. An image that does not show the sheet is not an error:
// the result is not ready, with the reason in its one criterion, since a
// scanner bad enough to lose the sheet's marks is exactly what the check
// is for.
func Check(img *image.Gray, nominalDPI int, lim Limits) (*Result, error) {
	if img == nil {
		return nil, errors.New("readiness: no image")
	}
	if nominalDPI < 100 || nominalDPI > 1200 {
		return nil, fmt.Errorf("readiness: nominal resolution %d dpi is out of 100..1200", nominalDPI)
	}
	f, err := measure(img, nominalDPI)
	if err != nil {
		if !errors.Is(err, errNoSheet) {
			return nil, fmt.Errorf("readiness: %w", err)
		}
		return &Result{Criteria: []Criterion{{
			ID: "sheet", Name: "Калибровочный лист", Value: "не найден", Limit: "найден, все метки и шкалы",
			Explain: err.Error() + ": вложить калибровочный лист, напечатанный в масштабе 100 %, лицом к стеклу; " +
				"если лист вложен верно — скан слишком плохой, проверить сканер",
		}}}, nil
	}
	r := &Result{Figures: &f, Criteria: judge(f, lim)}
	r.Ready = len(r.Failed()) == 0
	return r, nil
}

// ru formats a number with a decimal comma, as Russian text writes it.
func ru(v float64, prec int) string {
	return strings.Replace(fmt.Sprintf("%.*f", prec, v), ".", ",", 1)
}

func signedPct(v float64) string {
	s := ru(v*100, 1)
	if v >= 0 {
		s = "+" + s
	}
	return s + " %"
}

func judge(f Figures, lim Limits) []Criterion {
	var out []Criterion
	nominal := float64(f.NominalDPI)
	for _, d := range []struct {
		id, name, axis string
		anchor, ruler  float64
	}{
		{"dpi_h", "Разрешение по горизонтали (поперёк подачи)", "по горизонтали", f.AnchorDPIH, f.RulerDPIH},
		{"dpi_v", "Разрешение по вертикали (вдоль подачи)", "по вертикали", f.AnchorDPIV, f.RulerDPIV},
	} {
		ea, er := d.anchor/nominal-1, d.ruler/nominal-1
		worst := ea
		if math.Abs(er) > math.Abs(ea) {
			worst = er
		}
		c := Criterion{ID: d.id, Name: d.name,
			Value: fmt.Sprintf("%s dpi по меткам, %s dpi по шкале (%s)", ru(d.anchor, 1), ru(d.ruler, 1), signedPct(worst)),
			Limit: fmt.Sprintf("%d dpi ± %s %%", f.NominalDPI, ru(lim.DPITolerance*100, 0)),
			Pass:  math.Abs(ea) <= lim.DPITolerance && math.Abs(er) <= lim.DPITolerance}
		if !c.Pass {
			c.Explain = fmt.Sprintf("реальное разрешение %s отличается от номинального %d dpi на %s (допуск ±%s %%): "+
				"скан растянут или сжат, поля бланков лягут мимо меток; проверить, что лист напечатан в масштабе 100 %%, "+
				"выполнить калибровку сканера в его утилите или заменить сканер",
				d.axis, f.NominalDPI, signedPct(worst), ru(lim.DPITolerance*100, 0))
		}
		out = append(out, c)
	}

	c := Criterion{ID: "skew", Name: "Перекос листа", Value: ru(math.Abs(f.Skew), 2) + "°",
		Limit: "не более " + ru(lim.MaxSkew, 0) + "°", Pass: math.Abs(f.Skew) <= lim.MaxSkew}
	if !c.Pass {
		c.Explain = fmt.Sprintf("лист прошёл с перекосом %s° (допуск %s°): податчик ведёт бумагу косо; "+
			"выставить направляющие по ширине листа, почистить ролики подачи и повторить проверку",
			ru(math.Abs(f.Skew), 2), ru(lim.MaxSkew, 0))
	}
	out = append(out, c)

	contrast := f.White - f.Black
	c = Criterion{ID: "contrast", Name: "Контраст (белое − чёрное)",
		Value: fmt.Sprintf("%s (белое %s, чёрное %s)", ru(contrast, 0), ru(f.White, 0), ru(f.Black, 0)),
		Limit: "не менее " + ru(lim.MinContrast, 0) + " уровней", Pass: contrast >= lim.MinContrast}
	if !c.Pass {
		c.Explain = fmt.Sprintf("между бумагой и чёрным всего %s уровней серого (нужно не менее %s): скан бледный, "+
			"метки и цифры могут не распознаться; проверить яркость и контраст в настройках сканера, почистить стекло, "+
			"проверить тонер принтера, которым напечатан лист", ru(contrast, 0), ru(lim.MinContrast, 0))
	}
	out = append(out, c)

	c = Criterion{ID: "steps", Name: "Шкала серого (разница соседних ступеней)",
		Value: fmt.Sprintf("наименьшая %s", ru(f.MinStepGap, 1)),
		Limit: "не менее " + ru(lim.MinStepGap, 0) + " уровней", Pass: f.MinStepGap >= lim.MinStepGap}
	if !c.Pass {
		c.Explain = fmt.Sprintf("соседние ступени серого различаются лишь на %s уровня (нужно не менее %s): "+
			"сканер сливает оттенки, слабый нажим ручки не отличить от фона; включить режим «оттенки серого» "+
			"вместо чёрно-белого, сбросить настройки гаммы и контраста", ru(f.MinStepGap, 1), ru(lim.MinStepGap, 0))
	}
	out = append(out, c)

	c = Criterion{ID: "noise", Name: "Шум на белом поле (СКО)", Value: ru(f.Noise, 1),
		Limit: "не более " + ru(lim.MaxNoise, 0) + " уровней", Pass: f.Noise <= lim.MaxNoise}
	if !c.Pass {
		c.Explain = fmt.Sprintf("шум на белом поле %s уровней серого (допуск %s): на чистой бумаге видны пятна, "+
			"их можно принять за метки; почистить стекло и датчик, отключить «улучшение» изображения, "+
			"проверить, что сканирование идёт не в режиме сжатия с потерями низкого качества", ru(f.Noise, 1), ru(lim.MaxNoise, 0))
	}
	out = append(out, c)

	mh, mv := modAt(f.LineWidths, f.ModulationH, lim.ResolveWidth), modAt(f.LineWidths, f.ModulationV, lim.ResolveWidth)
	worst := math.Min(mh, mv)
	c = Criterion{ID: "resolution", Name: fmt.Sprintf("Различимость штрихов %s мм", ru(lim.ResolveWidth, 1)),
		Value: fmt.Sprintf("%s %% по горизонтали, %s %% по вертикали", ru(mh*100, 0), ru(mv*100, 0)),
		Limit: "не менее " + ru(lim.MinModulation*100, 0) + " %", Pass: worst >= lim.MinModulation}
	if !c.Pass {
		c.Explain = fmt.Sprintf("штрихи шириной %s мм различимы лишь на %s %% (нужно не менее %s %%): скан размыт, "+
			"модули штрихкода и QR-кода сливаются; почистить стекло, проверить разрешение (не ниже 300 dpi) и фокус сканера",
			ru(lim.ResolveWidth, 1), ru(worst*100, 0), ru(lim.MinModulation*100, 0))
	}
	out = append(out, c)

	for _, code := range []struct {
		id, name string
		reads    int
	}{{"barcode", "Чтение штрихкода Code 128", f.BarcodeReads}, {"qr", "Чтение QR-кода", f.QRReads}} {
		c = Criterion{ID: code.id, Name: code.name, Value: fmt.Sprintf("%d из %d", code.reads, f.Tries),
			Limit: fmt.Sprintf("не менее %d из %d", lim.MinReads, f.Tries), Pass: code.reads >= lim.MinReads}
		if !c.Pass {
			what := "штрихкод"
			if code.id == "qr" {
				what = "QR-код"
			}
			c.Explain = fmt.Sprintf("%s прочитан в %d попытках из %d (нужно не менее %d): бланки не опознаются "+
				"надёжно; проверить разрешение, контраст и чистоту стекла, режим «оттенки серого»", what, code.reads, f.Tries, lim.MinReads)
		}
		out = append(out, c)
	}
	return out
}

// modAt is the modulation at a line width, 0 when the sheet has no such
// patch (every resolution then fails, as it should on a foreign sheet).
func modAt(widths, mods []float64, w float64) float64 {
	for i, x := range widths {
		if math.Abs(x-w) < 1e-9 && i < len(mods) {
			return mods[i]
		}
	}
	return 0
}

// Summary is the one-line report of a result: the verdict and the figures.
func (r *Result) Summary() string {
	var b strings.Builder
	b.WriteString(r.Verdict())
	if r.Figures == nil {
		for _, c := range r.Criteria {
			b.WriteString(": " + c.Explain)
		}
		return b.String()
	}
	f := r.Figures
	fmt.Fprintf(&b, ": dpi %.1f×%.1f (шкалы %.1f×%.1f, номинал %d), перекос %.2f°, контраст %.0f, ступени ≥ %.1f, шум %.1f, штрихи %.1f мм %.0f/%.0f %%, штрихкод %d/%d, QR %d/%d",
		f.AnchorDPIH, f.AnchorDPIV, f.RulerDPIH, f.RulerDPIV, f.NominalDPI, f.Skew, f.White-f.Black, f.MinStepGap, f.Noise,
		DefaultLimits.ResolveWidth, 100*modAt(f.LineWidths, f.ModulationH, DefaultLimits.ResolveWidth),
		100*modAt(f.LineWidths, f.ModulationV, DefaultLimits.ResolveWidth), f.BarcodeReads, f.Tries, f.QRReads, f.Tries)
	if failed := r.Failed(); len(failed) > 0 {
		b.WriteString("; не в норме: " + strings.Join(failed, ", "))
	}
	return b.String()
}
