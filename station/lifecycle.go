package station

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"giascan/station/audit"
	"giascan/station/ops"
	"giascan/station/packaging"
	"giascan/station/reconcile"
	"giascan/station/store"
	"giascan/station/users"
	"giascan/transport/pkg"
	"giascan/transport/upload"
)

// The states of an auditorium, in the order it goes through them, and the
// extra states of a ППЭ between its auditoriums and its closing set.
const (
	StateOpen         = "open"
	StateClosed       = "closed"
	StateSealed       = "sealed"
	StateSent         = "sent"
	StateAcknowledged = "acknowledged"
	StatePrinted      = "printed" // ППЭ: every auditorium sealed, ППЭ-15 printed
	StateSigned       = "signed"  // ППЭ: ППЭ-15 signed, closing set not sealed yet
)

var stateNames = map[string]string{
	StateOpen:         "открыта",
	StateClosed:       "закрыта",
	StateSealed:       "пакет запечатан",
	StateSent:         "отправлен в РЦОИ",
	StateAcknowledged: "получен РЦОИ",
	StatePrinted:      "протокол ППЭ-15 распечатан",
	StateSigned:       "протокол ППЭ-15 подписан",
}

// StateName is the Russian name of a state.
func StateName(state string) string {
	if n, ok := stateNames[state]; ok {
		return n
	}
	return state
}

// PackageLife is where one package (its newest version) stands.
type PackageLife struct {
	ID             string     `json:"id"`
	Version        int        `json:"version"`
	Pages          int        `json:"pages"`
	Size           int64      `json:"size"`
	SealedAt       *time.Time `json:"sealed_at,omitempty"`
	Sent           bool       `json:"sent"`
	AcknowledgedAt *time.Time `json:"acknowledged_at,omitempty"`
	// Superseded are the older versions the РЦОИ may hold: the newest
	// version replaces them.
	Superseded []int `json:"superseded,omitempty"`
}

// AuditoriumLife is the lifecycle of one auditorium.
type AuditoriumLife struct {
	Auditorium string       `json:"auditorium"`
	State      string       `json:"state"`
	StateName  string       `json:"state_name"`
	ClosedBy   string       `json:"closed_by,omitempty"`
	ClosedAt   *time.Time   `json:"closed_at,omitempty"`
	Reason     string       `json:"close_reason,omitempty"`
	Package    *PackageLife `json:"package,omitempty"`
	// Reopened is how often the head opened it again after closing.
	Reopened     int        `json:"reopened,omitempty"`
	LastReopenAt *time.Time `json:"last_reopen_at,omitempty"`
}

// PPELife is the lifecycle of a ППЭ: its auditoriums, its ППЭ-15 and its
// closing set.
type PPELife struct {
	PPE         string           `json:"ppe"`
	State       string           `json:"state"`
	StateName   string           `json:"state_name"`
	Auditoriums []AuditoriumLife `json:"auditoriums,omitempty"`
	// H is the key of the summary of the auditorium packages as they
	// stand; empty until every auditorium is sealed.
	H         string         `json:"h,omitempty"`
	PrintedAt *time.Time     `json:"protocol_printed_at,omitempty"`
	Signoff   *store.Signoff `json:"signoff,omitempty"`
	Closing   *PackageLife   `json:"closing,omitempty"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// Life returns where every auditorium and ППЭ of the exam stands.
func (s *Station) Life() ([]PPELife, error) {
	ex, err := s.Store.Exam()
	if err != nil {
		return nil, err
	}
	closures, err := s.Store.Closures()
	if err != nil {
		return nil, err
	}
	closed := map[store.Place]store.Closure{}
	for _, c := range closures {
		closed[c.Place] = c
	}
	reopens, err := s.Store.Reopens()
	if err != nil {
		return nil, err
	}
	signoffs, err := s.Store.Signoffs()
	if err != nil {
		return nil, err
	}
	sealedAt, err := s.Store.SealedPlaces()
	if err != nil {
		return nil, err
	}
	items, err := s.uploadItems()
	if err != nil {
		return nil, err
	}
	var out []PPELife
	for _, p := range ex.PPE {
		list, err := packaging.List(string(s.Dir), p.Code)
		if err != nil {
			return nil, err
		}
		byAud := map[string]*packaging.Sealed{}
		var closing *packaging.Sealed
		for _, sl := range list {
			if sl.Manifest.Exam.Auditorium == "" {
				closing = sl
			} else {
				byAud[sl.Manifest.Exam.Auditorium] = sl
			}
		}
		pl := PPELife{PPE: p.Code}
		allSealed, allAck := len(p.Auditoriums) > 0, true
		for _, a := range p.Auditoriums {
			place := store.Place{PPE: p.Code, Auditorium: a.Number}
			al := AuditoriumLife{Auditorium: a.Number, State: StateOpen}
			if c, ok := closed[place]; ok {
				al.State, al.ClosedBy, al.ClosedAt, al.Reason = StateClosed, c.By, timePtr(c.At), c.Reason
				// Sealed after this closing, or found unchanged since (a
				// reopening that changed nothing keeps the version).
				mark, marked := sealedAt[place]
				if sl := byAud[a.Number]; sl != nil && (!sl.Manifest.Created.Before(c.At) ||
					(marked && mark.Version == sl.Manifest.Version && !mark.At.Before(c.At))) {
					al.Package = s.packageLife(sl, items)
					al.State = packageState(al.Package)
				}
			}
			if h := reopens[place]; len(h) > 0 {
				al.Reopened, al.LastReopenAt = len(h), timePtr(h[len(h)-1].At)
			}
			if al.State == StateOpen || al.State == StateClosed {
				allSealed = false
			}
			allAck = allAck && al.State == StateAcknowledged
			al.StateName = StateName(al.State)
			pl.Auditoriums = append(pl.Auditoriums, al)
		}
		pl.State = StateOpen
		if allSealed {
			pl.State = StateSealed
			if allAck {
				pl.State = StateAcknowledged
			}
			if sum, err := s.Packager("").MakeSummary(p.Code); err == nil {
				pl.H = pkg.ShortHash(packaging.SHA256(sum.Encode()))
				if fi, err := os.Stat(filepath.Join(s.Dir.Protocols(p.Code), "ppe15-"+pl.H+".pdf")); err == nil {
					pl.PrintedAt = timePtr(fi.ModTime())
					pl.State = StatePrinted
				}
				if sg, ok := signoffs[p.Code]; ok && sg.H == pl.H {
					pl.Signoff = &sg
					pl.State = StateSigned
					if closing != nil && !closing.Manifest.Created.Before(sg.At) {
						pl.Closing = s.packageLife(closing, items)
						pl.State = packageState(pl.Closing)
						if pl.State == StateAcknowledged && !allAck {
							pl.State = StateSent
						}
					}
				}
			}
		}
		pl.StateName = StateName(pl.State)
		out = append(out, pl)
	}
	return out, nil
}

func packageState(p *PackageLife) string {
	switch {
	case p.AcknowledgedAt != nil:
		return StateAcknowledged
	case p.Sent:
		return StateSent
	}
	return StateSealed
}

func (s *Station) packageLife(sl *packaging.Sealed, items map[string]upload.Item) *PackageLife {
	m := sl.Manifest
	pl := &PackageLife{ID: m.ID, Version: m.Version, Pages: len(m.Pages), Size: sl.Size, SealedAt: timePtr(m.Created)}
	if it, ok := items[fmt.Sprintf("%s-v%d", m.ID, m.Version)]; ok {
		pl.Sent = it.Size > 0 && it.Offset >= it.Size
		if it.State == upload.Delivered {
			pl.Sent, pl.AcknowledgedAt = true, timePtr(it.Delivered)
		}
	}
	if vs, err := packaging.Versions(string(s.Dir), m.Exam.PPE, m.ID); err == nil {
		for _, v := range vs {
			if v < m.Version {
				pl.Superseded = append(pl.Superseded, v)
			}
		}
	}
	return pl
}

// Closed is the outcome of closing an auditorium: the closing, and the
// package sealed at once, or why it could not be (the sealing service
// tries again; the closing stands).
type Closed struct {
	Closure store.Closure
	Sealed  *packaging.Sealed
	SealErr error
}

// CloseAuditorium closes an auditorium and seals its package at once.
// With problems left, reason is required (ops.Close).
func (s *Station) CloseAuditorium(ctx context.Context, actor string, place store.Place, reason string) (*Closed, error) {
	s.life.Lock()
	defer s.life.Unlock()
	o, _ := s.Ops(false)
	c, err := o.Close(actor, place, reason)
	if err != nil {
		return nil, err
	}
	out := &Closed{Closure: c}
	out.Sealed, out.SealErr = s.sealLocked(ctx, place, packaging.Bilevel)
	s.notify()
	return out, nil
}

// checkOpenForFiles refuses files for a closed auditorium: its package
// is sealed with what it had, and only the head's reopening lets more in.
func (s *Station) checkOpenForFiles(place store.Place) error {
	err := s.Store.CheckOpen(place)
	var ce *store.ClosedError
	if errors.As(err, &ce) {
		return refuse("аудитория", "Аудитория %s ППЭ %s закрыта (%s, %s), её пакет запечатан: файлы в неё не принимаются; "+
			"если файлы относятся к ней, попросите руководителя ППЭ открыть аудиторию заново с указанием причины.",
			place.Auditorium, place.PPE, ce.Closure.By, ce.Closure.At.Local().Format("02.01.2006 15:04"))
	}
	return err
}

// Seal seals the package of a closed auditorium, or returns the sealed
// version when its pages have not changed since.
func (s *Station) Seal(ctx context.Context, place store.Place, profile packaging.Profile) (*packaging.Sealed, error) {
	s.life.Lock()
	defer s.life.Unlock()
	sl, err := s.sealLocked(ctx, place, profile)
	if err == nil {
		s.notify()
	}
	return sl, err
}

func (s *Station) sealLocked(ctx context.Context, place store.Place, profile packaging.Profile) (*packaging.Sealed, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sl, err := s.Packager(profile).Auditorium(place)
	if errors.Is(err, packaging.ErrNotClosed) {
		return nil, refuse("аудитория", "%s", err)
	}
	if err != nil {
		return nil, err
	}
	if !sl.Reused {
		s.logSeal(sl)
	}
	if err := s.Store.SetSealed(store.Sealed{Place: place, Version: sl.Manifest.Version, At: time.Now().UTC()}); err != nil {
		return sl, err
	}
	return sl, nil
}

// SealClosing seals the closing set of a ППЭ.
func (s *Station) SealClosing(ctx context.Context, ppe string, profile packaging.Profile) (*packaging.Sealed, error) {
	s.life.Lock()
	defer s.life.Unlock()
	sl, err := s.sealClosingLocked(ctx, ppe, profile)
	if err == nil {
		s.notify()
	}
	return sl, err
}

func (s *Station) sealClosingLocked(ctx context.Context, ppe string, profile packaging.Profile) (*packaging.Sealed, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sl, err := s.Packager(profile).PPE(ppe)
	if err != nil {
		return nil, err
	}
	if !sl.Reused {
		s.logSeal(sl)
	}
	return sl, nil
}

func (s *Station) logSeal(sl *packaging.Sealed) {
	m := sl.Manifest
	subj := audit.Subject{PPE: m.Exam.PPE, Auditorium: m.Exam.Auditorium}
	after := map[string]any{"package": m.ID, "version": m.Version, "pages": len(m.Pages), "size": sl.Size, "manifest": sl.ManifestHash}
	if _, err := s.Log.Append(audit.Event{Actor: audit.Station, Action: audit.ActionPackageSeal, Subject: subj, After: jsonOf(after)}); err != nil {
		s.logger.Error("audit entry of a sealed package not written", "package", m.Name(), "err", err)
	}
	s.logger.Info("package sealed", "package", m.Name(), "pages", len(m.Pages), "bytes", sl.Size)
}

// Reopen opens a closed auditorium again. It is the head's action and
// needs a reason; it is logged, and the next closing seals the next
// package version, which supersedes the one the РЦОИ may already hold.
func (s *Station) Reopen(actor string, role users.Role, place store.Place, reason string) (store.Reopen, error) {
	if !users.Can(role, users.Reopen) {
		return store.Reopen{}, refuse("роль", "открыть закрытую аудиторию заново может только руководитель ППЭ: попросите его")
	}
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return store.Reopen{}, refuse("причина", "не указана причина: напишите, почему аудиторию %s нужно открыть заново (например, «найден лист 2 участника»)", place.Auditorium)
	}
	s.life.Lock()
	defer s.life.Unlock()
	before := map[string]any{"status": StateClosed}
	if list, err := packaging.List(string(s.Dir), place.PPE); err == nil {
		for _, sl := range list {
			if sl.Manifest.Exam.Auditorium == place.Auditorium {
				before["package"], before["version"] = sl.Manifest.ID, sl.Manifest.Version
			}
		}
	}
	r, err := s.Store.ReopenClosure(place, actor, reason, time.Now())
	if errors.Is(err, store.ErrNotClosed) {
		return r, refuse("аудитория", "аудитория %s ППЭ %s не закрыта: открывать её заново не нужно", place.Auditorium, place.PPE)
	}
	if err != nil {
		return r, err
	}
	s.notify()
	_, err = s.Log.Append(audit.Event{Actor: actor, Action: audit.ActionAuditoriumReopen,
		Subject: audit.Subject{PPE: place.PPE, Auditorium: place.Auditorium}, Before: jsonOf(before),
		After: jsonOf(map[string]any{"status": StateOpen}), Reason: reason})
	if err != nil {
		return r, fmt.Errorf("аудитория открыта заново, но журнал аудита не пишется: %w; обратитесь к техническому специалисту", err)
	}
	return r, nil
}

// RoleOf returns the role of a login, for front ends that name a person
// without signing in (the command line). A station without accounts has
// no roles to check: every login acts as the head.
func (s *Station) RoleOf(login string) (users.Role, error) {
	list, err := s.Users.List()
	if err != nil {
		return "", err
	}
	if len(list) == 0 {
		return users.Head, nil
	}
	for _, u := range list {
		if u.Login == login {
			return u.Role, nil
		}
	}
	return "", refuse("пользователь", "пользователя %q нет на станции: укажите свой логин", login)
}

// Report is the reconciliation report of the station.
func (s *Station) Report() (*reconcile.Report, error) { return ops.Report(s.Store) }

// PrintProtocol prints the ППЭ-15 of a ППЭ over its sealed packages as
// they stand: an explicit, logged action that spends one serial.
func (s *Station) PrintProtocol(actor, ppe string) ([]byte, packaging.Printed, error) {
	s.life.Lock()
	defer s.life.Unlock()
	rep, err := s.Report()
	if err != nil {
		return nil, packaging.Printed{}, err
	}
	pdf, rec, err := s.Packager(packaging.Bilevel).PrintProtocol(ppe, rep)
	if err != nil {
		return nil, rec, err
	}
	if _, err := s.Log.Append(audit.Event{Actor: actor, Action: audit.ActionProtocolPrint, Subject: audit.Subject{PPE: ppe, Barcode: rec.Barcode},
		After: jsonOf(map[string]any{"h": rec.H, "barcode": rec.Barcode})}); err != nil {
		return nil, rec, fmt.Errorf("протокол распечатан, но журнал аудита не пишется: %w", err)
	}
	s.notify()
	return pdf, rec, nil
}

// PrintedProtocol returns the ППЭ-15 printed last over the packages as
// they stand, without printing: nil when it has not been printed since
// they last changed.
func (s *Station) PrintedProtocol(ppe string) ([]byte, string, error) {
	sum, err := s.Packager("").MakeSummary(ppe)
	if err != nil {
		return nil, "", err
	}
	h := pkg.ShortHash(packaging.SHA256(sum.Encode()))
	pdf, err := os.ReadFile(filepath.Join(s.Dir.Protocols(ppe), "ppe15-"+h+".pdf"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, h, nil
	}
	return pdf, h, err
}

// SignProtocol records the head's sign-off of a ППЭ's ППЭ-15 in the web
// interface and seals the closing set. The protocol must have been printed
// over the packages as they stand. Signing twice keeps one signature:
// first is false then.
func (s *Station) SignProtocol(ctx context.Context, actor string, role users.Role, ppe string) (sg store.Signoff, first bool, err error) {
	if !users.Can(role, users.SignProtocol) {
		return sg, false, refuse("роль", "протокол ППЭ-15 подписывает руководитель ППЭ: попросите его")
	}
	pdf, h, err := s.PrintedProtocol(ppe)
	if err != nil {
		return sg, false, refuse("протокол", "протокол ППЭ-15 ППЭ %s ещё нельзя подписать: %v", ppe, err)
	}
	if pdf == nil {
		return sg, false, refuse("протокол", "протокол ППЭ-15 ППЭ %s не распечатан после последнего изменения пакетов: распечатайте его, проверьте и подпишите", ppe)
	}
	return s.signoff(ctx, store.Signoff{PPE: ppe, H: h, Via: "web", By: actor, At: time.Now().UTC()}, audit.ActionProtocolSign)
}

// MatchProtocol matches the scan of a signed ППЭ-15 paper copy to the
// protocol printed for the ППЭ's packages, keeps it, records the sign-off
// and seals the closing set.
func (s *Station) MatchProtocol(ctx context.Context, actor, ppe string, scan []byte, name string) (*packaging.Match, bool, error) {
	read, err := s.Reader()
	if err != nil {
		return nil, false, err
	}
	res := read(ctx, scan, name)
	sum, err := s.Packager("").MakeSummary(ppe)
	if err != nil {
		return nil, false, err
	}
	m, err := packaging.MatchProtocol(string(s.Dir), ppe, sum, res, scan, strings.ToLower(filepath.Ext(name)))
	if errors.Is(err, packaging.ErrProtocolMismatch) {
		return nil, false, refuse("скан протокола", "%s", err)
	}
	if err != nil {
		return nil, false, err
	}
	_, first, err := s.signoff(ctx, store.Signoff{PPE: ppe, H: m.H, Barcode: m.Barcode, Via: "scan", By: actor, At: time.Now().UTC()}, audit.ActionProtocolMatch)
	if err == nil && !first {
		// Signed in the browser before the paper copy came back: the
		// copy still goes to the РЦОИ, in a new version of the closing set.
		if _, serr := s.SealClosing(ctx, ppe, packaging.Bilevel); serr != nil {
			s.logger.Warn("closing set not sealed after the signed copy was matched", "ppe", ppe, "err", serr)
		}
	}
	return m, first, err
}

func (s *Station) signoff(ctx context.Context, sg store.Signoff, action string) (store.Signoff, bool, error) {
	s.life.Lock()
	defer s.life.Unlock()
	rec, first, err := s.Store.SetSignoff(sg)
	if err != nil {
		return rec, false, err
	}
	if first {
		if _, err := s.Log.Append(audit.Event{Actor: sg.By, Action: action, Subject: audit.Subject{PPE: sg.PPE, Barcode: sg.Barcode},
			After: jsonOf(map[string]any{"h": sg.H, "via": sg.Via})}); err != nil {
			return rec, first, fmt.Errorf("подпись записана, но журнал аудита не пишется: %w", err)
		}
	}
	if !first {
		return rec, false, nil
	}
	// The closing set goes as soon as the protocol is signed; when it
	// cannot be sealed now the sealing service tries again.
	if _, err := s.sealClosingLocked(ctx, sg.PPE, packaging.Bilevel); err != nil {
		s.logger.Warn("closing set not sealed after sign-off", "ppe", sg.PPE, "err", err)
	}
	s.notify()
	return rec, true, nil
}

// ReportWithLife is the reconciliation report with every ППЭ's and
// auditorium's lifecycle state and times under the key "life".
func (s *Station) ReportWithLife() (*reconcile.Report, error) {
	rep, err := s.Report()
	if err != nil {
		return nil, err
	}
	life, err := s.Life()
	if err != nil {
		return nil, err
	}
	for i := range rep.PPE {
		for _, pl := range life {
			if pl.PPE != rep.PPE[i].Code {
				continue
			}
			head := pl
			head.Auditoriums = nil
			rep.PPE[i].Life = head
			for j := range rep.PPE[i].Auditoriums {
				for _, al := range pl.Auditoriums {
					if al.Auditorium == rep.PPE[i].Auditoriums[j].Number {
						rep.PPE[i].Auditoriums[j].Life = al
					}
				}
			}
		}
	}
	return rep, nil
}

func placeOf(ppe, aud string) store.Place { return store.Place{PPE: ppe, Auditorium: aud} }
