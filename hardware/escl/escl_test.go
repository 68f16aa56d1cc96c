package escl

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"giascan/hardware"
	"giascan/hardware/sim"
)

// serve serves a simulated feeder over eSCL and opens the adapter on it.
func serve(t *testing.T, spec string) (*Scanner, *Server) {
	t.Helper()
	feeder, err := sim.Open(spec)
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(feeder, nil)
	web := httptest.NewServer(srv)
	t.Cleanup(func() { srv.Close(); web.Close() })
	dev, err := Open(web.URL + Root)
	if err != nil {
		t.Fatal(err)
	}
	return dev, srv
}

func scanAll(s *Scanner, src hardware.Source) ([]hardware.Page, error) {
	var got []hardware.Page
	err := s.Scan(context.Background(), hardware.Options{Source: src, DPI: 150}, func(p hardware.Page) error {
		got = append(got, p)
		return nil
	})
	return got, err
}

// Each ADF state the server reports becomes the fault the simulated
// feeder raised, and the next job goes on with the rest of the stack.
func TestFaultsCrossTheNetwork(t *testing.T) {
	for _, tc := range []struct {
		spec  string
		kind  hardware.FaultKind
		adf   string
		after int
	}{
		{"seed=2,count=4,profile=clean,jam=2", hardware.PaperJam, AdfJam, 2},
		{"seed=2,count=4,profile=clean,cover=1", hardware.CoverOpen, AdfHatchOpen, 1},
		{"seed=2,count=4,profile=clean,double=3", hardware.DoubleFeed, AdfMultipick, 2},
	} {
		dev, _ := serve(t, tc.spec)
		first, err := scanAll(dev, hardware.ADF)
		var f *hardware.Fault
		if !errors.As(err, &f) || f.Kind != tc.kind || f.After != tc.after || len(first) != tc.after {
			t.Errorf("%s: %d pages, %v; want %d pages and a %s after page %d", tc.spec, len(first), err, tc.after, tc.kind, tc.after)
			continue
		}
		st, err := dev.Status(context.Background())
		if err != nil || st.AdfState != tc.adf {
			t.Errorf("%s: status %+v, %v; want AdfState %s", tc.spec, st, err, tc.adf)
		}
		rest, err := scanAll(dev, hardware.ADF)
		if err != nil || len(rest) != 4-tc.after || rest[0].Seq != tc.after+1 {
			t.Errorf("%s: after the fault %d pages, %v", tc.spec, len(rest), err)
		}
		if st, _ := dev.Status(context.Background()); st == nil || st.AdfState != AdfEmpty || st.State != "Idle" {
			t.Errorf("%s: status after the stack %+v, want Idle and ScannerAdfEmpty", tc.spec, st)
		}
	}
}

func TestDuplexSidesAndCapabilities(t *testing.T) {
	dev, _ := serve(t, "seed=2,count=2,profile=clean")
	d := dev.Device()
	if d.Adapter != "escl" || !strings.HasPrefix(d.Spec, "escl:http://") || len(d.Caps.Sources) != 2 || d.Caps.Sources[1] != hardware.Duplex {
		t.Errorf("device %+v", d)
	}
	if len(d.Caps.DPIs) != 6 || len(d.Caps.Modes) != 3 {
		t.Errorf("caps %+v, want the simulator's 6 resolutions and 3 modes", d.Caps)
	}
	pages, err := scanAll(dev, hardware.Duplex)
	if err != nil || len(pages) != 4 {
		t.Fatalf("%d pages, %v", len(pages), err)
	}
	for i, p := range pages {
		want := hardware.Front
		if i%2 == 1 {
			want = hardware.Back
		}
		if p.Side != want || p.Format != "png" || p.DPI != 150 {
			t.Errorf("page %d: %s %s %d dpi, want %s png 150 dpi", p.Seq, p.Side, p.Format, p.DPI, want)
		}
	}
	if _, err := dev.settings(hardware.Options{Source: hardware.Flatbed}); err == nil {
		t.Error("a flatbed scan was accepted by a feeder-only scanner")
	}
	if _, err := dev.settings(hardware.Options{DPI: 333}); err == nil {
		t.Error("333 dpi was accepted")
	}
}

// A device that went away is a DeviceGone fault, not an error of the
// station.
func TestUnreachableDeviceIsGone(t *testing.T) {
	dev, _ := serve(t, "seed=2,count=2,profile=clean")
	dev.base.Host = "127.0.0.1:1" // nothing listens there
	_, err := scanAll(dev, hardware.ADF)
	var f *hardware.Fault
	if !errors.As(err, &f) || f.Kind != hardware.DeviceGone {
		t.Errorf("scan of an unreachable device: %v, want a device-gone fault", err)
	}
}

// Real devices refuse a job on an empty feeder (409 and ScannerAdfEmpty)
// and ask to come back (503) while busy.
func TestDeviceRefusalsAndBusy(t *testing.T) {
	dev, _ := serve(t, "seed=2,count=1,profile=clean")
	var busy atomic.Int32
	refuse := false
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost && refuse:
			http.Error(w, "empty", http.StatusConflict)
		case r.Method == http.MethodPost:
			w.Header().Set("Location", "http://printer.local:80/eSCL/ScanJobs/7")
			w.WriteHeader(http.StatusCreated)
		case strings.HasSuffix(r.URL.Path, "/ScanJobs/7/NextDocument"):
			switch busy.Add(1) {
			case 1:
				http.Error(w, "warming up", http.StatusServiceUnavailable)
			case 2:
				w.Header().Set("Content-Type", "image/jpeg")
				w.Write([]byte("\xff\xd8\xff\xe0 a jpeg"))
			default:
				http.NotFound(w, r)
			}
		case strings.HasSuffix(r.URL.Path, "/ScannerStatus"):
			w.Write([]byte(`<?xml version="1.0"?><scan:ScannerStatus xmlns:scan="` + nsScan + `" xmlns:pwg="` + nsPWG + `"><pwg:State>Idle</pwg:State><scan:AdfState>ScannerAdfEmpty</scan:AdfState></scan:ScannerStatus>`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer web.Close()
	dev.base.Host = strings.TrimPrefix(web.URL, "http://")
	pages, err := scanAll(dev, hardware.ADF)
	if err != nil || len(pages) != 1 || pages[0].Format != "jpeg" || pages[0].Name != "0001.jpg" {
		t.Fatalf("busy then one page: %+v, %v", pages, err)
	}
	refuse = true
	if pages, err := scanAll(dev, hardware.ADF); err != nil || len(pages) != 0 {
		t.Errorf("a refused job on an empty feeder: %d pages, %v; want none and no error", len(pages), err)
	}
}

func TestOpenRefusesBadSpecs(t *testing.T) {
	for _, spec := range []string{"192.168.1.5/eSCL", "http://127.0.0.1:1/eSCL", "http://h/eSCL,format=bmp", "http://h/eSCL,speed=9"} {
		if _, err := Open(spec); err == nil {
			t.Errorf("%s: accepted", spec)
		}
	}
}

// A capabilities document of a real device (prefixes of its own, a
// resolution range) is read by local names.
func TestParseVendorCapabilities(t *testing.T) {
	doc := `<?xml version="1.0" encoding="UTF-8"?>
<s:ScannerCapabilities xmlns:s="http://schemas.hp.com/imaging/escl/2011/05/03" xmlns:p="http://www.pwg.org/schemas/2010/12/sm">
<p:Version>2.6</p:Version><p:MakeAndModel>Vendor MFP 5000</p:MakeAndModel>
<s:Platen><s:PlatenInputCaps><s:SettingProfiles><s:SettingProfile>
<s:ColorModes><s:ColorMode>RGB24</s:ColorMode></s:ColorModes>
<s:SupportedResolutions><s:ResolutionRange><s:XResolutionRange><s:Min>75</s:Min><s:Max>600</s:Max><s:Step>1</s:Step></s:XResolutionRange></s:ResolutionRange></s:SupportedResolutions>
</s:SettingProfile></s:SettingProfiles></s:PlatenInputCaps></s:Platen>
<s:Adf><s:AdfSimplexInputCaps><s:SettingProfiles><s:SettingProfile>
<s:ColorModes><s:ColorMode>Grayscale8</s:ColorMode></s:ColorModes>
<s:SupportedResolutions><s:DiscreteResolutions><s:DiscreteResolution><s:XResolution>200</s:XResolution><s:YResolution>200</s:YResolution></s:DiscreteResolution></s:DiscreteResolutions></s:SupportedResolutions>
</s:SettingProfile></s:SettingProfiles></s:AdfSimplexInputCaps><s:AdfOptions><s:AdfOption>Duplex</s:AdfOption></s:AdfOptions></s:Adf>
</s:ScannerCapabilities>`
	c, err := ParseCapabilities([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	hc := c.station()
	if c.MakeAndModel != "Vendor MFP 5000" || len(hc.Sources) != 3 || hc.Sources[2] != hardware.Duplex {
		t.Errorf("sources %v of %q", hc.Sources, c.MakeAndModel)
	}
	if len(hc.Modes) != 2 || hc.DPIs[0] != 100 || hc.DPIs[len(hc.DPIs)-1] != 600 {
		t.Errorf("modes %v, dpis %v", hc.Modes, hc.DPIs)
	}
	if _, err := ParseCapabilities([]byte(`<ScannerCapabilities/>`)); err == nil {
		t.Error("capabilities without a source accepted")
	}
}

// A device that sends something that is no image, or fails a page, stops
// the run with an error that says so; it is not taken for a device gone.
func TestBadPagesAreErrorsNotUnplugs(t *testing.T) {
	dev, _ := serve(t, "seed=2,count=1,profile=clean")
	for _, tc := range []struct {
		answer func(w http.ResponseWriter)
		want   string
	}{
		{func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte("<html>login</html>"))
		}, "unknown type"},
		{func(w http.ResponseWriter) {
			http.Error(w, "scanner firmware error 42", http.StatusInternalServerError)
		}, "firmware error 42"},
	} {
		web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch {
			case r.Method == http.MethodPost:
				w.Header().Set("Location", "/eSCL/ScanJobs/1")
				w.WriteHeader(http.StatusCreated)
			case strings.HasSuffix(r.URL.Path, "/NextDocument"):
				tc.answer(w)
			case strings.HasSuffix(r.URL.Path, "/ScannerStatus"):
				w.Write([]byte(`<scan:ScannerStatus xmlns:scan="` + nsScan + `" xmlns:pwg="` + nsPWG + `"><pwg:State>Idle</pwg:State></scan:ScannerStatus>`))
			}
		}))
		dev.base.Host = strings.TrimPrefix(web.URL, "http://")
		pages, err := scanAll(dev, hardware.ADF)
		var f *hardware.Fault
		if len(pages) != 0 || err == nil || errors.As(err, &f) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%d pages, %v; want an error naming %q", len(pages), err, tc.want)
		}
		web.Close()
	}
}

// A device that restarted (switched off and on, replugged) forgets the
// job it was running: NextDocument answers 404 while its status lists
// other jobs, and the sheets still in the feeder are not an empty stack
// but a device gone. A device that lists no jobs, or lists this one, ended
// the job as its ADF state says.
func TestForgottenJobIsDeviceGone(t *testing.T) {
	for _, tc := range []struct {
		jobs string
		gone bool
	}{
		{`<scan:Jobs><scan:JobInfo><pwg:JobUri>/eSCL/ScanJobs/1</pwg:JobUri><pwg:JobState>Completed</pwg:JobState></scan:JobInfo></scan:Jobs>`, true},
		{`<scan:Jobs><scan:JobInfo><pwg:JobUri>http://printer.local/eSCL/ScanJobs/7/</pwg:JobUri><pwg:JobState>Completed</pwg:JobState></scan:JobInfo></scan:Jobs>`, false},
		{`<scan:Jobs><scan:JobInfo><pwg:JobUuid>urn:uuid:7</pwg:JobUuid></scan:JobInfo></scan:Jobs>`, false},
		{``, false},
	} {
		dev, _ := serve(t, "seed=2,count=1,profile=clean")
		web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch {
			case r.Method == http.MethodPost:
				w.Header().Set("Location", "/eSCL/ScanJobs/7")
				w.WriteHeader(http.StatusCreated)
			case strings.HasSuffix(r.URL.Path, "/ScannerStatus"):
				w.Write([]byte(`<scan:ScannerStatus xmlns:scan="` + nsScan + `" xmlns:pwg="` + nsPWG + `"><pwg:State>Idle</pwg:State><scan:AdfState>ScannerAdfLoaded</scan:AdfState>` + tc.jobs + `</scan:ScannerStatus>`))
			default:
				http.NotFound(w, r)
			}
		}))
		dev.base.Host = strings.TrimPrefix(web.URL, "http://")
		_, err := scanAll(dev, hardware.ADF)
		web.Close()
		var f *hardware.Fault
		if gone := errors.As(err, &f) && f.Kind == hardware.DeviceGone; gone != tc.gone {
			t.Errorf("jobs %q: %v; want device gone %v", tc.jobs, err, tc.gone)
		}
	}
}

// A scanner gone on the agent's side stays Down: a client's next job
// reopens it, and while it is not back the job is refused and the client
// sees the device gone; once it is back the job scans the rest.
func TestServerReopensAGoneDevice(t *testing.T) {
	const spec = "sim:seed=2,count=3,profile=clean,gone=1"
	feeder, err := hardware.Open(spec)
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(feeder, nil)
	back := errors.New("still unplugged")
	srv.Reopen = func(gone hardware.Scanner) (hardware.Scanner, error) {
		if back != nil {
			return nil, back
		}
		return hardware.Reopen(spec, gone)
	}
	web := httptest.NewServer(srv)
	defer func() { srv.Close(); web.Close() }()
	open := func() *Scanner {
		dev, err := Open(web.URL + Root)
		if err != nil {
			t.Fatal(err)
		}
		return dev
	}
	wantGone := func(err error) {
		t.Helper()
		var f *hardware.Fault
		if !errors.As(err, &f) || f.Kind != hardware.DeviceGone {
			t.Fatalf("%v, want the device gone", err)
		}
	}
	first, err := scanAll(open(), hardware.ADF)
	wantGone(err)
	if len(first) != 1 {
		t.Fatalf("%d pages before the unplug", len(first))
	}
	dev := open()
	_, err = scanAll(dev, hardware.ADF)
	wantGone(err)
	if st, _ := open().Status(context.Background()); st == nil || st.State != "Down" {
		t.Fatalf("status %+v while the scanner is away, want Down", st)
	}
	back = nil
	rest, err := scanAll(open(), hardware.ADF)
	if err != nil || len(rest) != 2 {
		t.Fatalf("after replugging: %d pages, %v; want the 2 left", len(rest), err)
	}
}
