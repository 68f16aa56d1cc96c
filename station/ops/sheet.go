package ops

import (
	"context"
	"errors"
	"fmt"
	"os"

	"giascan/hardware"
	"giascan/scanner"
	"giascan/station/audit"
	"giascan/station/store"
)

// faultNames are the Russian names of device events, with what to do.
var faultNames = map[hardware.FaultKind]string{
	hardware.PaperJam:   "замятие бумаги: откройте сканер, осторожно извлеките лист, расправьте его и положите в лоток снова",
	hardware.DoubleFeed: "захвачено два листа сразу: разделите листы и положите в лоток один лист",
	hardware.CoverOpen:  "открыта крышка сканера: закройте её",
	hardware.DeviceGone: "сканер недоступен: проверьте кабель и питание",
	hardware.Rejected:   "лист не принят",
}

// ScanOne scans exactly one sheet from dev, for a rescan or an insert.
// An empty tray or a device event is refused with a sentence that says
// what to do; nothing is stored.
func ScanOne(ctx context.Context, dev hardware.Scanner, opts hardware.Options) (hardware.Page, error) {
	var got hardware.Page
	sess := scanner.New(dev, nil, opts, nil)
	_, err := sess.Rescan(ctx, func(ctx context.Context, p hardware.Page) (scanner.Stored, error) {
		got = p
		return scanner.Stored{Seq: 1}, nil
	})
	if got.Data != nil {
		return got, nil
	}
	var f *hardware.Fault
	switch {
	case errors.As(err, &f):
		what := faultNames[f.Kind]
		if what == "" {
			what = string(f.Kind)
		}
		if f.Detail != "" {
			what += " (" + f.Detail + ")"
		}
		return got, refuse("лист не отсканирован: %s; затем повторите", what)
	case ctx.Err() != nil:
		return got, fmt.Errorf("сканирование листа прервано: %w", ctx.Err())
	default:
		return got, refuse("в лотке сканера нет листа: положите в лоток один лист и повторите")
	}
}

// Rescan scans one sheet on dev and stores it in place of page ref: the
// page keeps its number, the old image stays in its history.
func (o *Ops) Rescan(ctx context.Context, actor string, ref store.Ref, dev hardware.Scanner, opts hardware.Options) (store.Page, error) {
	if err := o.begin(actor); err != nil {
		return store.Page{}, err
	}
	old, err := o.activePage(ref)
	if err != nil {
		return store.Page{}, err
	}
	img, err := ScanOne(ctx, dev, opts)
	if err != nil {
		return store.Page{}, err
	}
	rec, err := o.St.Replace(ctx, ref, img, dev.Device().ID)
	if err != nil {
		return store.Page{}, fmt.Errorf("страница %d не пересканирована: %w", ref.Seq, err)
	}
	if err := o.record(actor, audit.ActionPageRescan, subjectOf(old), stateOf(old), stateOf(rec), ""); err != nil {
		return rec, err
	}
	return o.read(ctx, rec, img.Data)
}

// Position is where an inserted sheet lay in the stack: after page After
// or before page Before (0: not said). It goes on record; the new page
// takes the next number, so that no page's number (and no audit entry
// about it) ever changes.
type Position struct {
	After, Before int
}

// Insert adds the image img to an auditorium as a new page that lay after
// page after (0: not said).
func (o *Ops) Insert(ctx context.Context, actor string, place store.Place, img hardware.Page, after int, reason string) (store.Page, error) {
	return o.InsertAt(ctx, actor, place, img, "file", Position{After: after}, reason)
}

// InsertAt adds the image img, from device (a device id, or "file" for
// an uploaded image), to an auditorium as a new page at pos.
func (o *Ops) InsertAt(ctx context.Context, actor string, place store.Place, img hardware.Page, device string, pos Position, reason string) (store.Page, error) {
	if err := o.begin(actor); err != nil {
		return store.Page{}, err
	}
	if err := o.checkOpen(place); err != nil {
		return store.Page{}, err
	}
	if pos.After != 0 && pos.Before != 0 {
		return store.Page{}, refuse("укажите одно: после какой страницы или перед какой страницей лежал лист")
	}
	for _, n := range []int{pos.After, pos.Before} {
		if n != 0 {
			if _, err := o.activePage(store.Ref{Place: place, Seq: n}); err != nil {
				return store.Page{}, err
			}
		}
	}
	rec, dup, err := o.St.Add(ctx, place, img, device)
	if err != nil {
		return store.Page{}, fmt.Errorf("страница не добавлена: %w", err)
	}
	if dup {
		return rec, refuse("это изображение уже есть в аудитории %s как страница %d: добавлять его второй раз не нужно", place.Auditorium, rec.Seq)
	}
	after := map[string]any{"page": stateOf(rec), "source": img.Name, "after": pos.After}
	if pos.Before != 0 {
		after["before"] = pos.Before
	}
	if err := o.record(actor, audit.ActionPageInsert, subjectOf(rec), nil, after, reason); err != nil {
		return rec, err
	}
	return o.read(ctx, rec, img.Data)
}

// InsertScan scans one sheet on dev and adds it to an auditorium as a new
// page at pos.
func (o *Ops) InsertScan(ctx context.Context, actor string, place store.Place, dev hardware.Scanner, opts hardware.Options, pos Position, reason string) (store.Page, error) {
	if err := o.begin(actor); err != nil {
		return store.Page{}, err
	}
	if err := o.checkOpen(place); err != nil {
		return store.Page{}, err
	}
	img, err := ScanOne(ctx, dev, opts)
	if err != nil {
		return store.Page{}, err
	}
	return o.InsertAt(ctx, actor, place, img, dev.Device().ID, pos, reason)
}

// Recognize reads page ref again from its stored image, after a template
// or recognizer change or when its first reading failed. The result
// replaces the old one; the audit entry shows both identities.
func (o *Ops) Recognize(ctx context.Context, actor string, ref store.Ref) (store.Page, error) {
	if err := o.begin(actor); err != nil {
		return store.Page{}, err
	}
	if o.Read == nil {
		return store.Page{}, errors.New("распознавание не подключено: обратитесь к техническому специалисту")
	}
	p, err := o.activePage(ref)
	if err != nil {
		return store.Page{}, err
	}
	data, err := o.St.Image(p)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return store.Page{}, fmt.Errorf("изображение страницы %d не найдено: пересканируйте лист: %w", ref.Seq, err)
		}
		return store.Page{}, err
	}
	before := identity(p.Result)
	if p.Result != nil {
		before["review"] = p.Result.Review
	}
	rec, err := o.read(ctx, p, data)
	if err != nil {
		return store.Page{}, err
	}
	after := identity(rec.Result)
	after["review"] = rec.Result.Review
	return rec, o.record(actor, audit.ActionPageRead, subjectOf(rec), before, after, "")
}
