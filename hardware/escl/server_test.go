package escl

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"giascan/hardware/sim"
)

// brokenLink is a client that went away: the answer cannot be written.
type brokenLink struct {
	httptest.ResponseRecorder
	tried bytes.Buffer // what the server tried to send
}

func (b *brokenLink) Write(p []byte) (int, error) {
	b.tried.Write(p)
	return 0, errors.New("connection reset by peer")
}

func post(srv *Server, body string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, Root+"/ScanJobs", strings.NewReader(body)))
	return rec
}

const feederJob = `<scan:ScanSettings xmlns:scan="` + nsScan + `" xmlns:pwg="` + nsPWG + `"><pwg:InputSource>Feeder</pwg:InputSource><scan:XResolution>150</scan:XResolution></scan:ScanSettings>`

// A page whose answer could not be written is not delivered: the job
// ends, and the next job starts with that very page.
func TestPageLostOnTheWayComesAgain(t *testing.T) {
	feeder, err := sim.Open("seed=4,count=2,profile=clean")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(feeder, nil)
	defer srv.Close()
	rec := post(srv, feederJob)
	if rec.Code != http.StatusCreated {
		t.Fatalf("POST ScanJobs: %d %s", rec.Code, rec.Body)
	}
	job := rec.Header().Get("Location")
	lost := &brokenLink{ResponseRecorder: *httptest.NewRecorder()}
	srv.ServeHTTP(lost, httptest.NewRequest(http.MethodGet, job+"/NextDocument", nil))
	if lost.tried.Len() == 0 {
		t.Fatal("no page was offered")
	}
	// The job ended with the refusal; its next document is none.
	rec = httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, job+"/NextDocument", nil))
	if rec.Code == http.StatusOK {
		t.Fatalf("the job went on after a page was lost on the way")
	}
	rec = post(srv, feederJob)
	if rec.Code != http.StatusCreated {
		t.Fatalf("second job: %d %s", rec.Code, rec.Body)
	}
	got := httptest.NewRecorder()
	srv.ServeHTTP(got, httptest.NewRequest(http.MethodGet, rec.Header().Get("Location")+"/NextDocument", nil))
	if got.Code != http.StatusOK || !bytes.Equal(got.Body.Bytes(), lost.tried.Bytes()) {
		t.Errorf("second job's first page: %d, %d bytes; want the lost page again (%d bytes)", got.Code, got.Body.Len(), lost.tried.Len())
	}
}

func TestServerRefusesBadJobs(t *testing.T) {
	feeder, err := sim.Open("seed=4,count=2,profile=clean")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(feeder, nil)
	defer srv.Close()
	for body, want := range map[string]int{
		"<not xml": http.StatusBadRequest,
		strings.Replace(feederJob, "Feeder", "Camera", 1):   http.StatusConflict,
		strings.Replace(feederJob, "Feeder<", "Platen<", 1): http.StatusConflict, // the simulator has no glass
		strings.Replace(feederJob, "150", "333", 1):         http.StatusConflict,
		strings.Replace(feederJob, "</scan:ScanSettings>", "<pwg:DocumentFormat>image/bmp</pwg:DocumentFormat></scan:ScanSettings>", 1): http.StatusConflict,
	} {
		if rec := post(srv, body); rec.Code != want {
			t.Errorf("%.60s…: %d, want %d", body, rec.Code, want)
		}
	}
	if rec := post(srv, feederJob); rec.Code != http.StatusCreated {
		t.Fatalf("a good job: %d", rec.Code)
	}
	if rec := post(srv, feederJob); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("a second job while one runs: %d, want 503", rec.Code)
	}
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, Root+"/ScanJobs/99/NextDocument", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("an unknown job: %d", rec.Code)
	}
}
