package packaging

import (
	"bytes"
	"fmt"
	"sync"
	"time"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"

	"giascan/forms"
	"giascan/station/attach"
	"giascan/station/reconcile"
	"giascan/station/serials"
	"giascan/station/store"
	"giascan/transport/pkg"
)

// pdfcpuOnce keeps pdfcpu from creating its configuration folder in the
// user's home: the station must write only to its data folder.
var pdfcpuOnce sync.Once

// PrintProtocol makes the ППЭ-15 of a ППЭ over its summary manifest as it
// stands: a one-page PDF with the type-55 header (a barcode from the
// station's serials, H in the QR), the summary attached as an embedded
// file, and document properties naming the ППЭ and the hash. The PDF, the
// summary and the record are kept in ProtocolDir for matching the signed
// copy and for the closing set. rep is the station report (ops.Report).
func (p *Packager) PrintProtocol(ppe string, rep *reconcile.Report) ([]byte, Printed, error) {
	sum, err := p.MakeSummary(ppe)
	if err != nil {
		return nil, Printed{}, err
	}
	sb := sum.Encode()
	full := SHA256(sb)
	ex := sum.Exam
	job, err := serials.Allocate(p.Data, serials.PrintJob{What: "form 55", Level: ex.Level, Region: ex.Region, PPE: ppe,
		Auditorium: "0000", Subject: ex.Subject, Date: ex.Date, Pages: 1}, 1, 0)
	if err != nil {
		return nil, Printed{}, fmt.Errorf("номер для штрихкода протокола не выделен: %w", err)
	}
	pdf, rec, err := p.protocolPDF(ppe, rep, sum, sb, full, job.Serials.First)
	if err == nil {
		err = SaveProtocol(p.Data, rec, sb, pdf)
	}
	if ferr := serials.Finish(p.Data, job.ID, err); err == nil && ferr != nil {
		err = ferr
	}
	if err != nil {
		return nil, Printed{}, err
	}
	return pdf, rec, nil
}

func (p *Packager) protocolPDF(ppe string, rep *reconcile.Report, sum *Summary, sb []byte, full string, serial uint64) ([]byte, Printed, error) {
	ex := sum.Exam
	barcode, err := forms.MakeBarcode(forms.TypePPE15, serial)
	if err != nil {
		return nil, Printed{}, err
	}
	h := pkg.ShortHash(full)
	id := forms.Identity{Level: ex.Level, Region: ex.Region, PPE: ppe, Auditorium: "0000", Subject: ex.Subject, Date: ex.Date,
		Type: forms.TypePPE15, Barcode: barcode, Kit: forms.NoKit, Manifest: h}
	first, last, err := p.scanTimes(ppe)
	if err != nil {
		return nil, Printed{}, err
	}
	pr := forms.Protocol{Identity: id, Exam: examLine(ex), Station: sum.Station, First: first, Last: last,
		Manifest: full, Printed: p.now()}
	names := map[string]string{}
	var kege, audio int
	var secs float64
	for _, s := range sum.Packages {
		names[s.Auditorium] = fmt.Sprintf("версия %d", s.Version)
		if fl := s.FilesLine(); fl != "" {
			names[s.Auditorium] += " · " + fl
		}
		kege, audio, secs = kege+s.KEGE, audio+s.Audio, secs+s.AudioSeconds
	}
	if kege > 0 || audio > 0 {
		pr.Files = fmt.Sprintf("Файлы ответов КЕГЭ: %d; аудиозаписи устных ответов: %d, общая длительность %s", kege, audio, attach.Clock(secs))
	}
	for _, pp := range rep.PPE {
		if pp.Code != ppe {
			continue
		}
		for _, a := range pp.Auditoriums {
			row := forms.ProtocolRow{Auditorium: a.Number, Scanned: [4]int{a.Scanned.BO1, a.Scanned.BO2S1, a.Scanned.BO2S2, a.Scanned.DBO2},
				Reason: a.Reason}
			if names[a.Number] != "" {
				row.Package = names[a.Number]
			}
			if a.Expected != nil {
				row.Expected = &[4]int{a.Expected.BO1, a.Expected.BO2S1, a.Expected.BO2S2, a.Expected.DBO2}
			}
			count := map[string]int{}
			var kinds []string
			for _, pb := range a.Problems {
				if count[pb.Kind] == 0 {
					kinds = append(kinds, pb.Kind)
				}
				count[pb.Kind]++
			}
			for _, k := range kinds {
				row.Problems = append(row.Problems, fmt.Sprintf("%s ×%d", k, count[k]))
			}
			pr.Rows = append(pr.Rows, row)
		}
	}
	t, ok := forms.Builtin().Get(forms.TypePPE15)
	if !ok {
		return nil, Printed{}, fmt.Errorf("шаблон ППЭ-15 (тип 55) не найден")
	}
	d, err := forms.ComposeProtocol(t, pr)
	if err != nil {
		return nil, Printed{}, err
	}
	var raw bytes.Buffer
	if err := forms.WritePDF(&raw, []*forms.Drawing{d}, forms.PDFMeta{Title: "ППЭ-15 Протокол проведения процедуры сканирования, ППЭ " + ppe,
		Subject: "H=" + h, Creator: "giascan station", Created: pr.Printed}); err != nil {
		return nil, Printed{}, fmt.Errorf("протокол не напечатан: %w", err)
	}
	out, err := decoratePDF(raw.Bytes(), sb, map[string]string{
		"PPE": ppe, "ManifestSHA256": full, "H": h, "Barcode": barcode, "Station": sum.Station,
	}, pr.Printed)
	if err != nil {
		return nil, Printed{}, fmt.Errorf("протокол не напечатан: %w", err)
	}
	return out, Printed{PPE: ppe, Barcode: barcode, Manifest: full, H: h, PDF: "ppe15-" + h + ".pdf"}, nil
}

// decoratePDF attaches the summary manifest to the PDF (so the file on its
// own shows what was signed), sets the document properties and validates
// the result.
func decoratePDF(pdf, summary []byte, props map[string]string, at time.Time) ([]byte, error) {
	pdfcpuOnce.Do(api.DisableConfigDir)
	conf := model.NewDefaultConfiguration()
	conf.Cmd = model.ADDATTACHMENTS
	ctx, err := api.ReadValidateAndOptimize(bytes.NewReader(pdf), conf)
	if err != nil {
		return nil, fmt.Errorf("pdf: %w", err)
	}
	if err := ctx.AddAttachment(model.Attachment{Reader: bytes.NewReader(summary), ID: SummaryName,
		Desc: "Сводный манифест ППЭ, который удостоверяет протокол", ModTime: &at}, false); err != nil {
		return nil, fmt.Errorf("pdf: attach summary: %w", err)
	}
	if err := pdfcpu.PropertiesAdd(ctx, props); err != nil {
		return nil, fmt.Errorf("pdf: properties: %w", err)
	}
	var out bytes.Buffer
	if err := api.Write(ctx, &out, conf); err != nil {
		return nil, fmt.Errorf("pdf: write: %w", err)
	}
	vconf := model.NewDefaultConfiguration()
	if err := api.Validate(bytes.NewReader(out.Bytes()), vconf); err != nil {
		return nil, fmt.Errorf("pdf: validate: %w", err)
	}
	return out.Bytes(), nil
}

// examLine names the exam for the protocol's first line.
func examLine(e pkg.Exam) string {
	kind := "ЕГЭ"
	if e.Level == 9 {
		kind = "ОГЭ"
	}
	date := e.Date
	if len(date) == 8 {
		date = date[6:] + "." + date[4:6] + "." + date[:4]
	}
	name := forms.Subjects[e.Subject]
	if name == "" {
		name = "предмет " + e.Subject
	}
	return fmt.Sprintf("%s, %s, %s", kind, name, date)
}

// scanTimes returns the times of the first and last active page of a ППЭ.
func (p *Packager) scanTimes(ppe string) (first, last time.Time, err error) {
	places, err := p.Store.Places()
	if err != nil {
		return first, last, err
	}
	for _, pl := range places {
		if pl.PPE != ppe {
			continue
		}
		pages, err := p.Store.Pages(pl)
		if err != nil {
			return first, last, err
		}
		for _, pg := range pages {
			if pg.Status != store.Active {
				continue
			}
			if first.IsZero() || pg.Time.Before(first) {
				first = pg.Time
			}
			if pg.Time.After(last) {
				last = pg.Time
			}
		}
	}
	return first, last, nil
}
