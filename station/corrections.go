package station

import (
	"context"
	"fmt"

	"giascan/hardware"
	"giascan/station/ops"
	"giascan/station/store"
)

// The corrections of single pages: the command line and the web
// interface both call these, so a rescan, a replacement, an insert, a
// second reading, a review and its undo mean the same wherever they are
// made. Each goes through package ops, which checks the input, refuses
// a closed auditorium with its sentence, changes the store and records
// the audit entry.

// oneSheet prepares a one-sheet scan into place on the scanner spec: the
// corrections with recognition, the place checked open before the device
// is touched, the scanner opened, and the feeder by default.
func (s *Station) oneSheet(place store.Place, spec string, opts hardware.Options) (*ops.Ops, hardware.Scanner, hardware.Options, error) {
	o, err := s.Ops(true)
	if err != nil {
		return nil, nil, opts, err
	}
	if err := o.St.CheckOpen(place); err != nil {
		return nil, nil, opts, err
	}
	if spec == "" {
		return nil, nil, opts, refuse("device", "не выбран сканер: выберите сканер, в лоток которого положен лист")
	}
	dev, err := hardware.Open(spec)
	if err != nil {
		return nil, nil, opts, refuse("device", "сканер %s не открывается (%v): проверьте, что он включён и подключён, или выберите другой", spec, err)
	}
	if opts.Source == "" {
		opts.Source = hardware.ADF
	}
	return o, dev, opts, nil
}

// RescanPage scans one sheet on the scanner spec into the place of page
// ref: the page keeps its number, the old image stays in its history.
func (s *Station) RescanPage(ctx context.Context, actor string, ref store.Ref, spec string, opts hardware.Options) (store.Page, error) {
	o, dev, opts, err := s.oneSheet(ref.Place, spec, opts)
	if err != nil {
		return store.Page{}, err
	}
	return o.Rescan(ctx, actor, ref, dev, opts)
}

// ReplacePage stores img, an image file of the sheet, in place of page
// ref; the old image stays in its history and on record.
func (s *Station) ReplacePage(ctx context.Context, actor string, ref store.Ref, img hardware.Page, reason string) (store.Page, error) {
	o, err := s.Ops(true)
	if err != nil {
		return store.Page{}, err
	}
	return o.Replace(ctx, actor, ref, img, reason)
}

// InsertPage adds img, an image file of a sheet, to an auditorium as a
// new page at pos.
func (s *Station) InsertPage(ctx context.Context, actor string, place store.Place, img hardware.Page, pos ops.Position, reason string) (store.Page, error) {
	o, err := s.Ops(true)
	if err != nil {
		return store.Page{}, err
	}
	return o.InsertAt(ctx, actor, place, img, "file", pos, reason)
}

// InsertScanned scans one sheet on the scanner spec and adds it to an
// auditorium as a new page at pos.
func (s *Station) InsertScanned(ctx context.Context, actor string, place store.Place, spec string, opts hardware.Options, pos ops.Position, reason string) (store.Page, error) {
	o, dev, opts, err := s.oneSheet(place, spec, opts)
	if err != nil {
		return store.Page{}, err
	}
	return o.InsertScan(ctx, actor, place, dev, opts, pos, reason)
}

// RecognizeAgain reads page ref again from its stored image.
func (s *Station) RecognizeAgain(ctx context.Context, actor string, ref store.Ref) (store.Page, error) {
	o, err := s.Ops(true)
	if err != nil {
		return store.Page{}, err
	}
	return o.Recognize(ctx, actor, ref)
}

// ReviewField confirms (value "") or corrects a recognised value of page
// ref. A value that is not this exam's (a ППЭ code, auditorium, subject,
// region or date) is refused, naming the field, and stays waiting.
func (s *Station) ReviewField(actor string, ref store.Ref, field, value string) (store.Page, error) {
	o, err := s.Ops(false)
	if err != nil {
		return store.Page{}, err
	}
	return o.Review(actor, ref, field, value)
}

// Corrections lists the reviews of page ref that can be undone.
func (s *Station) Corrections(ref store.Ref) ([]ops.Correction, error) {
	o, err := s.Ops(false)
	if err != nil {
		return nil, err
	}
	return o.Corrections(ref)
}

// UndoReview takes back the review recorded as audit entry seq on page
// ref: the previous value and its flag come back.
func (s *Station) UndoReview(actor string, ref store.Ref, seq int64) (store.Page, error) {
	o, err := s.Ops(false)
	if err != nil {
		return store.Page{}, err
	}
	p, err := o.Undo(actor, ref, seq)
	if err != nil {
		return p, err
	}
	s.logger.Info("review undone", "actor", actor, "page", fmt.Sprintf("%s/%s/%d", ref.PPE, ref.Auditorium, ref.Seq), "entry", seq)
	return p, nil
}
