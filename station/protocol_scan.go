package station

import (
	"context"
	"errors"
	"fmt"

	"giascan/hardware"
	"giascan/station/packaging"
	"giascan/station/session"
)

// errGotSheet stops a scan once the one sheet wanted has arrived.
var errGotSheet = errors.New("sheet taken")

// ScanProtocol scans the signed paper copy of a ППЭ's ППЭ-15 — the first
// sheet in the scanner — and matches it like MatchProtocol. Only one
// sheet is taken: the rest of the feeder stays where it is.
func (s *Station) ScanProtocol(ctx context.Context, actor, ppe string, sc hardware.Scanner, opts hardware.Options) (*packaging.Match, bool, error) {
	page, err := firstSheet(ctx, sc, opts, "подписанный протокол ППЭ-15")
	if err != nil {
		return nil, false, err
	}
	name := page.Name
	if name == "" {
		name = "ppe15." + page.Format
	}
	return s.MatchProtocol(ctx, actor, ppe, page.Data, name)
}

// firstSheet scans the front of the first sheet in the scanner (what, in
// Russian, names it for the refusals) and leaves the rest of the feeder.
func firstSheet(ctx context.Context, sc hardware.Scanner, opts hardware.Options, what string) (*hardware.Page, error) {
	var page *hardware.Page
	err := sc.Scan(ctx, opts, func(p hardware.Page) error {
		if p.Side == hardware.Back {
			return nil // the back of a signed form has nothing to match
		}
		page = &p
		return errGotSheet
	})
	if page == nil {
		var f *hardware.Fault
		switch {
		case errors.As(err, &f):
			return nil, refuse("сканер", "не отсканирован %s. %s; затем положите его в лоток и повторите", what, session.FaultMessage(f))
		case err != nil && !errors.Is(err, errGotSheet):
			return nil, fmt.Errorf("скан не получен (%s): %w", what, err)
		}
		return nil, refuse("сканер", "лоток сканера пуст: положите в него %s лицевой стороной, как бланки, и повторите", what)
	}
	return page, nil
}
