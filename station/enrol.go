package station

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"giascan/station/exam"
	"giascan/transport/enrol"
	"giascan/transport/seal"
)

// Enrolled is what enrolment with the РЦОИ set up, with the fingerprints
// both sides read out to compare.
type Enrolled struct {
	PPE                string
	StationFingerprint string // of the key the РЦОИ registered
	ReceiptFingerprint string // of the key the РЦОИ signs receipts with
	Recipients         int
	Exam               *Imported // nil when the РЦОИ had no exam file yet
	RCOI               RCOI
}

// Enrol redeems the РЦОИ's one-time invitation file: the station's key
// (made now if missing) is registered with the РЦОИ, and the РЦОИ's
// encryption keys, receipt key, address and certificate and the exam file
// are taken from it. From then on packages leave by themselves.
func (s *Station) Enrol(ctx context.Context, actor string, invitation []byte) (*Enrolled, error) {
	inv, err := enrol.ParseInvitation(invitation)
	if err != nil {
		return nil, refuse("приглашение РЦОИ", "это не файл приглашения РЦОИ (%v): загрузите файл, выданный РЦОИ для этой станции", err)
	}
	if _, ok, err := s.StationKey(); err != nil {
		return nil, err
	} else if !ok {
		if _, err := s.CreateStationKey(actor); err != nil {
			return nil, err
		}
	}
	key, err := seal.LoadStationKey(s.Dir.Keys())
	if err != nil {
		return nil, err
	}
	res, err := enrol.Enrol(ctx, inv, key)
	if err != nil {
		return nil, fmt.Errorf("РЦОИ не принял приглашение: %w; проверьте связь и срок приглашения, при необходимости запросите новое", err)
	}
	out := &Enrolled{PPE: res.PPE, StationFingerprint: res.StationFingerprint, ReceiptFingerprint: res.ReceiptFingerprint, Recipients: len(res.Recipients)}
	if _, err := s.ImportRecipients(actor, strings.NewReader(strings.Join(res.Recipients, "\n")+"\n")); err != nil {
		return nil, err
	}
	if len(res.Exam) > 0 {
		ex, err := exam.Parse(res.Exam)
		if err != nil {
			return nil, fmt.Errorf("файл экзамена от РЦОИ не принят: %w", err)
		}
		imp, err := s.ImportExam(actor, ex, "РЦОИ (приглашение)", "")
		var ie *InputError
		switch {
		case errors.As(err, &ie):
			// Pages are there already and the exam differs: the head
			// decides; the rest of the enrolment stands.
			s.logger.Warn("exam from the РЦОИ not imported", "err", err)
		case err != nil:
			return nil, err
		default:
			out.Exam = imp
		}
	}
	conn := res.Connection(inv)
	r, err := s.SetRCOI(actor, conn.URL, conn.ReceiptKey, conn.TLS)
	if err != nil {
		return nil, err
	}
	out.RCOI = r
	return out, nil
}
