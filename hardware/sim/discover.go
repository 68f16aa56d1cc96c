package sim

import (
	"context"

	"giascan/hardware"
)

// Offered are the simulated scanners discovery lists: one per profile, so
// a station without a scanner (training, a demo) can pick how good the
// scans are. Other settings go into a spec by hand (see Open).
var Offered = []string{"sim", "sim:profile=clean", "sim:profile=hard"}

func init() {
	hardware.RegisterDiscoverer("sim", hardware.DiscoverFunc(discover), 0)
}

// discover opens each offered spec, so what is listed is what Open gives.
func discover(ctx context.Context) ([]hardware.Device, error) {
	var out []hardware.Device
	for _, spec := range Offered {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		s, err := hardware.Open(spec)
		if err != nil {
			return out, err
		}
		d := s.Device()
		d.Spec = spec
		out = append(out, d)
	}
	return out, nil
}
