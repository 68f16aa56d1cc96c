package ops

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"time"

	"giascan/station/audit"
	"giascan/station/store"
)

// Correction is one review of a page's field that can still be undone:
// the audit entry that made it and the value and flag it replaced.
type Correction struct {
	Seq     int64 // the audit entry
	At      time.Time
	Actor   string
	Action  string // audit.ActionReviewConfirm or audit.ActionReviewCorrect
	Field   string
	Before  string // the value before
	After   string // the value it set
	Waiting bool   // the field waited for review before
	Rev     int    // the page's image revision it was made on
}

// Corrections lists the reviews of page ref that are not undone, oldest
// first, from the audit log: the log is the record of who changed what,
// so an undo never trusts anything else.
func (o *Ops) Corrections(ref store.Ref) ([]Correction, error) {
	if o.Log == nil {
		return nil, nil
	}
	entries, err := reviewEntries(o.Log.Path(), ref)
	if err != nil {
		return nil, fmt.Errorf("журнал аудита не читается: %w; обратитесь к техническому специалисту", err)
	}
	var out []Correction
	for _, e := range entries {
		if e.Action == audit.ActionPageRead {
			// Read again: the values reviewed were of the old reading.
			out = nil
			continue
		}
		var before, after reviewState
		if json.Unmarshal(e.Before, &before) != nil || json.Unmarshal(e.After, &after) != nil {
			continue
		}
		switch e.Action {
		case audit.ActionReviewConfirm, audit.ActionReviewCorrect:
			waiting := before.Review
			if e.Action == audit.ActionReviewConfirm {
				waiting = true // only a waiting value can be confirmed
			}
			out = append(out, Correction{Seq: e.Seq, At: e.Time, Actor: e.Actor, Action: e.Action, Field: after.Field,
				Before: before.Value, After: after.Value, Waiting: waiting, Rev: after.Rev})
		case audit.ActionReviewUndo:
			out = slices.DeleteFunc(out, func(c Correction) bool { return c.Seq == after.Undoes })
		}
	}
	return out, nil
}

// Undo takes back review seq (an audit entry of Corrections) of page
// ref: the field gets its value back, and waits for review again when it
// did before. It refuses when the page has been scanned again or the
// value changed since, naming what happened.
func (o *Ops) Undo(actor string, ref store.Ref, seq int64) (store.Page, error) {
	if err := o.begin(actor); err != nil {
		return store.Page{}, err
	}
	p, err := o.activePage(ref)
	if err != nil {
		return store.Page{}, err
	}
	all, err := o.Corrections(ref)
	if err != nil {
		return store.Page{}, err
	}
	i := slices.IndexFunc(all, func(c Correction) bool { return c.Seq == seq })
	if i < 0 {
		return store.Page{}, refuse("исправления №%d на странице %d нет или оно уже отменено: обновите страницу", seq, ref.Seq)
	}
	c := all[i]
	name := FieldName(resultType(p), c.Field)
	for _, later := range all[i+1:] {
		if later.Field == c.Field {
			return store.Page{}, refuse("поле «%s» после этого исправлено ещё раз (%s): сначала отмените более позднее исправление", name, later.Actor)
		}
	}
	if p.Result == nil || c.Rev != p.Rev {
		return store.Page{}, refuse("страница %d с тех пор отсканирована заново: исправление относится к прежнему изображению и отменить его нельзя", ref.Seq)
	}
	res := cloneResult(p.Result)
	var cur string
	_, isDigit := res.Digits[c.Field]
	if isDigit {
		cur = res.Digits[c.Field]
	} else if m, ok := res.Marks[c.Field]; ok {
		cur = m
	} else {
		return store.Page{}, refuse("на странице %d нет поля «%s»: страница распознана заново, отменять нечего", ref.Seq, name)
	}
	if cur != c.After {
		return store.Page{}, refuse("поле «%s» сейчас «%s», а не «%s»: его изменили после этого исправления, отменять нечего", name, cur, c.After)
	}
	if isDigit {
		res.Digits[c.Field] = c.Before
	} else {
		res.Marks[c.Field] = c.Before
	}
	waitingNow := slices.Contains(res.Review, c.Field)
	if c.Waiting && !waitingNow {
		res.Review = append(res.Review, c.Field)
		slices.Sort(res.Review)
	}
	res.NeedsReview = len(res.Review) > 0
	if err := o.St.SetResult(ref, p.Rev, res); err != nil {
		return store.Page{}, err
	}
	p.Result = &res
	before := reviewState{Field: c.Field, Value: c.After, Review: waitingNow, Rev: p.Rev}
	after := reviewState{Field: c.Field, Value: c.Before, Review: c.Waiting, Rev: p.Rev, Undoes: c.Seq}
	return p, o.record(actor, audit.ActionReviewUndo, subjectOf(p), before, after, "")
}

func resultType(p store.Page) string {
	if p.Result == nil {
		return ""
	}
	return p.Result.Type
}

// reviewEntries reads the entries of page ref's reviews and of its
// readings again from the audit log at path, in order. Only lines that
// name one are parsed: the page viewer lists a page's corrections on every
// view, and a day's log holds an entry for every page scanned. The log's chain was verified when the
// station opened it; an unfinished last line (an append in progress) is
// left out.
func reviewEntries(path string, ref store.Ref) ([]audit.Entry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	review, read := []byte(`"action":"review.`), []byte(`"action":"`+audit.ActionPageRead+`"`)
	page := []byte(`"page":` + strconv.Itoa(ref.Seq))
	r := bufio.NewReaderSize(f, 1<<16)
	var out []audit.Entry
	for {
		line, err := r.ReadBytes('\n')
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if !bytes.Contains(line, review) && !bytes.Contains(line, read) || !bytes.Contains(line, page) {
			continue
		}
		var e audit.Entry
		if err := json.Unmarshal(line, &e); err != nil {
			return nil, fmt.Errorf("запись журнала не читается: %w", err)
		}
		if e.Subject.PPE == ref.PPE && e.Subject.Auditorium == ref.Auditorium && e.Subject.Page == ref.Seq {
			out = append(out, e)
		}
	}
}
