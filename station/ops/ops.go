// Package ops holds the operator's corrections of an exam's scans and the
// report they lead to: rescanning, replacing, inserting, deleting and
// moving pages, identifying unreadable pages, confirming reviewed values
// and the ППЭ-13-02-МАШ, and closing auditoriums. Each correction checks
// its input before it changes anything, changes the store, and records an
// audit entry with who, what, before and after. The command line and the
// web interface both call these functions, so a correction means the same
// wherever it is made.
package ops

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"giascan/forms"
	"giascan/hardware"
	"giascan/recognition/imagein"
	"giascan/station/audit"
	"giascan/station/exam"
	"giascan/station/refusal"
	"giascan/station/store"
)

// InputError is a correction refused for its input: nothing was changed.
// Its text is one Russian sentence naming the problem and what to do.
type InputError = refusal.Error

func refuse(format string, a ...any) error { return refusal.New("", format, a...) }

// IsInput tells whether err is a refusal of the input: a correction that
// is wrong in itself, or one in an auditorium that is closed.
func IsInput(err error) bool {
	var ie *InputError
	var ce *store.ClosedError
	return errors.As(err, &ie) || errors.As(err, &ce)
}

// Reader recognises one page image; file names it in messages. The
// station's recognizer is passed in so that this package need not build
// one for corrections that never read a page.
type Reader func(ctx context.Context, data []byte, file string) forms.PageResult

// Ops applies corrections to one data folder's store and audit log.
type Ops struct {
	St  *store.Store
	Log *audit.Log
	// Read recognises new images (rescan, replace, insert). Without it
	// they stay unrecognised and the report calls them unreadable until
	// they are recognised again.
	Read Reader
}

// New returns the corrections of a store and its audit log.
func New(st *store.Store, log *audit.Log, read Reader) *Ops {
	return &Ops{St: st, Log: log, Read: read}
}

func jsonOf(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

// record appends an audit entry. A correction already stored but not on
// record is an error the operator must hear about.
func (o *Ops) record(actor, action string, subj audit.Subject, before, after any, reason string) error {
	ev := audit.Event{Actor: actor, Action: action, Subject: subj, Reason: reason}
	if before != nil {
		ev.Before = jsonOf(before)
	}
	if after != nil {
		ev.After = jsonOf(after)
	}
	if _, err := o.Log.Append(ev); err != nil {
		return fmt.Errorf("исправление сохранено, но журнал аудита не пишется: %w; обратитесь к техническому специалисту", err)
	}
	return nil
}

// begin checks, before a correction changes anything, that it names its
// actor and that the audit log can record it.
func (o *Ops) begin(actor string) error {
	if err := checkActor(actor); err != nil {
		return err
	}
	if o.Log != nil {
		if err := o.Log.Ready(); err != nil {
			return refusal.Of(err)
		}
	}
	return nil
}

func checkActor(actor string) error {
	if strings.TrimSpace(actor) == "" || actor == audit.Station {
		return refuse("не указан оператор: укажите свой логин")
	}
	return nil
}

func subjectOf(p store.Page) audit.Subject {
	s := audit.Subject{PPE: p.PPE, Auditorium: p.Auditorium, Page: p.Seq}
	if p.Result != nil {
		s.Barcode = p.Result.Barcode
	}
	return s
}

// pageState is what an audit entry shows of a page.
type pageState struct {
	Seq     int    `json:"seq"`
	Status  string `json:"status"`
	SHA256  string `json:"sha256"`
	File    string `json:"file"`
	Rev     int    `json:"rev"`
	Barcode string `json:"barcode,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

func stateOf(p store.Page) pageState {
	s := pageState{Seq: p.Seq, Status: string(p.Status), SHA256: p.SHA256, File: p.File, Rev: p.Rev, Reason: p.Reason}
	if p.Result != nil {
		s.Barcode = p.Result.Barcode
	}
	return s
}

// examOf returns the imported exam, refusing when there is none.
func (o *Ops) examOf() (*exam.Exam, error) {
	e, err := o.St.Exam()
	if errors.Is(err, store.ErrNoExam) {
		return nil, refusal.Of(err)
	}
	return e, err
}

// checkOpen refuses a change in an auditorium that is closed or not
// planned.
func (o *Ops) checkOpen(place store.Place) error {
	e, err := o.examOf()
	if err != nil {
		return err
	}
	if e.FindAuditorium(place.PPE, place.Auditorium) == nil {
		return refuse("аудитории %s ППЭ %s нет в импортированном экзамене: проверьте код ППЭ и номер аудитории", place.Auditorium, place.PPE)
	}
	return o.St.CheckOpen(place)
}

// activePage returns an active page of an open auditorium.
func (o *Ops) activePage(ref store.Ref) (store.Page, error) {
	if err := o.checkOpen(ref.Place); err != nil {
		return store.Page{}, err
	}
	p, err := o.St.Page(ref)
	if errors.Is(err, store.ErrNotFound) {
		return p, refuse("в аудитории %s ППЭ %s нет страницы %d: проверьте номер страницы по отчёту о сверке", ref.Auditorium, ref.PPE, ref.Seq)
	}
	if err != nil {
		return p, err
	}
	if p.Status != store.Active {
		return p, refuse("страница %d аудитории %s удалена (%s): исправлять можно только действующие страницы", ref.Seq, ref.Auditorium, p.Reason)
	}
	return p, nil
}

// read recognises a stored page and keeps the result with it.
func (o *Ops) read(ctx context.Context, p store.Page, data []byte) (store.Page, error) {
	if o.Read == nil {
		return p, nil
	}
	res := o.Read(ctx, data, p.File)
	res.File, res.Page = p.File, 1
	if err := o.St.SetResult(p.Ref, p.Rev, res); err != nil {
		return p, err
	}
	p.Result = &res
	return p, nil
}

// ImageFile reads a page image for replace and insert, refusing a file
// that is missing or not an image the recognizer can open.
func ImageFile(path string) (hardware.Page, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return hardware.Page{}, refuse("файл %s не читается (%v): укажите файл изображения страницы", path, errors.Unwrap(err))
	}
	return ImageData(data, filepath.Base(path))
}

// ImageData takes an image uploaded as name for replace and insert,
// refusing one that is not an image the recognizer can open.
func ImageData(data []byte, name string) (hardware.Page, error) {
	if len(data) == 0 {
		return hardware.Page{}, refuse("файл %s пуст: выберите файл изображения страницы", name)
	}
	doc, err := imagein.FromBytes(data, name, imagein.Limits{})
	if err != nil {
		return hardware.Page{}, refuse("файл %s — не изображение страницы (%v): выберите JPEG, PNG, TIFF или PDF", name, err)
	}
	doc.Close()
	format := sniffFormat(data)
	if format == "" {
		format = strings.TrimPrefix(strings.ToLower(filepath.Ext(name)), ".")
	}
	return hardware.Page{Seq: 1, Data: data, Format: format, Side: hardware.Front, Name: name}, nil
}

// sniffFormat names an image's format by its first bytes, whatever its
// file is called; "" when they say nothing.
func sniffFormat(data []byte) string {
	switch {
	case bytes.HasPrefix(data, []byte("\x89PNG")):
		return "png"
	case bytes.HasPrefix(data, []byte{0xFF, 0xD8}):
		return "jpeg"
	case bytes.HasPrefix(data, []byte("II*\x00")), bytes.HasPrefix(data, []byte("MM\x00*")):
		return "tiff"
	case bytes.HasPrefix(data, []byte("%PDF")):
		return "pdf"
	}
	return ""
}

// Replace stores the image img in place of page ref.
func (o *Ops) Replace(ctx context.Context, actor string, ref store.Ref, img hardware.Page, reason string) (store.Page, error) {
	if err := o.begin(actor); err != nil {
		return store.Page{}, err
	}
	old, err := o.activePage(ref)
	if err != nil {
		return store.Page{}, err
	}
	rec, err := o.St.Replace(ctx, ref, img, "file")
	if err != nil {
		return store.Page{}, fmt.Errorf("страница %d не заменена: %w", ref.Seq, err)
	}
	after := stateOf(rec)
	if err := o.record(actor, audit.ActionPageReplace, subjectOf(old), stateOf(old), map[string]any{"page": after, "source": img.Name}, reason); err != nil {
		return rec, err
	}
	return o.read(ctx, rec, img.Data)
}

// Delete removes page ref from its auditorium; the reason is required.
func (o *Ops) Delete(actor string, ref store.Ref, reason string) (store.Page, error) {
	if err := o.begin(actor); err != nil {
		return store.Page{}, err
	}
	if strings.TrimSpace(reason) == "" {
		return store.Page{}, refuse("не указана причина удаления: укажите её, например «повторный скан»")
	}
	old, err := o.activePage(ref)
	if err != nil {
		return store.Page{}, err
	}
	rec, err := o.St.Delete(ref, reason)
	if err != nil {
		return store.Page{}, fmt.Errorf("страница %d не удалена: %w", ref.Seq, err)
	}
	return rec, o.record(actor, audit.ActionPageDelete, subjectOf(old), stateOf(old), stateOf(rec), reason)
}

// Move moves page ref to auditorium to of the same ППЭ: the page is added
// there with what was recognised on it and deleted where it was.
func (o *Ops) Move(ctx context.Context, actor string, ref store.Ref, to string, reason string) (store.Page, error) {
	if err := o.begin(actor); err != nil {
		return store.Page{}, err
	}
	dst := store.Place{PPE: ref.PPE, Auditorium: to}
	if dst == ref.Place {
		return store.Page{}, refuse("страница %d уже в аудитории %s: укажите другую аудиторию, куда перенести страницу", ref.Seq, to)
	}
	old, err := o.activePage(ref)
	if err != nil {
		return store.Page{}, err
	}
	if err := o.checkOpen(dst); err != nil {
		return store.Page{}, err
	}
	data, err := o.St.Image(old)
	if err != nil {
		return store.Page{}, err
	}
	img := hardware.Page{Seq: 1, Data: data, Format: old.Format, DPI: old.DPI, Side: old.Side, Name: old.Source}
	rec, dup, err := o.St.Add(ctx, dst, img, old.Device)
	if err != nil {
		return store.Page{}, fmt.Errorf("страница не перенесена: %w", err)
	}
	if !dup && old.Result != nil {
		if err := o.St.SetResult(rec.Ref, rec.Rev, *old.Result); err != nil {
			return store.Page{}, err
		}
		rec.Result = old.Result
	}
	why := fmt.Sprintf("перенесена в аудиторию %s (страница %d)", to, rec.Seq)
	if reason != "" {
		why += ": " + reason
	}
	gone, err := o.St.Delete(ref, why)
	if err != nil {
		return store.Page{}, fmt.Errorf("страница добавлена в аудиторию %s как %d, но не удалена из аудитории %s: удалите её там: %w", to, rec.Seq, ref.Auditorium, err)
	}
	after := map[string]any{"ppe": dst.PPE, "auditorium": to, "seq": rec.Seq, "page": stateOf(gone)}
	return rec, o.record(actor, audit.ActionPageMove, subjectOf(old), stateOf(old), after, reason)
}
