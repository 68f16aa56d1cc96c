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
	var page *hardware.Page
	err := sc.Scan(ctx, opts, func(p hardware.Page) error {
		if p.Side == hardware.Back {
			return nil // the back of the protocol has nothing to match
		}
		page = &p
		return errGotSheet
	})
	if page == nil {
		var f *hardware.Fault
		switch {
		case errors.As(err, &f):
			return nil, false, refuse("сканер", "протокол не отсканирован. %s; затем положите подписанный протокол в лоток и повторите", session.FaultMessage(f))
		case err != nil && !errors.Is(err, errGotSheet):
			return nil, false, fmt.Errorf("скан протокола не получен: %w", err)
		}
		return nil, false, refuse("сканер", "лоток сканера пуст: положите в него подписанный протокол ППЭ-15 лицевой стороной, как бланки, и повторите")
	}
	name := page.Name
	if name == "" {
		name = "ppe15." + page.Format
	}
	return s.MatchProtocol(ctx, actor, ppe, page.Data, name)
}
