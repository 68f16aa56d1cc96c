package linktest

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
)

// Front is the one address stations know in front of several receivers,
// as a load balancer with health checks: it sends each request to the
// first receiver still up (or, with RoundRobin, spreads them over those),
// and drops a receiver from the rotation when it stops answering.
type Front struct {
	URL string
	// RoundRobin spreads requests over the receivers that are up.
	RoundRobin bool

	mu       sync.Mutex
	backends []*url.URL
	hits     map[string]int
	next     int
}

// NewFront starts a front for the receivers at backends (http URLs),
// stopped when the test ends.
func NewFront(tb testing.TB, backends ...string) *Front {
	tb.Helper()
	f := &Front{hits: map[string]int{}}
	for _, b := range backends {
		u, err := url.Parse(b)
		if err != nil {
			tb.Fatal(err)
		}
		f.backends = append(f.backends, u)
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			f.mu.Lock()
			i := 0
			if f.RoundRobin {
				f.next++
				i = f.next % len(f.backends)
			}
			pr.SetURL(f.backends[i])
			f.hits[f.backends[i].String()]++
			f.mu.Unlock()
			pr.Out.Host = pr.In.Host // upload URLs name the front, not a receiver
		},
		ErrorHandler: func(w http.ResponseWriter, req *http.Request, err error) {
			f.mu.Lock()
			for i, b := range f.backends {
				if b.Host == req.URL.Host && len(f.backends) > 1 {
					f.backends = append(f.backends[:i:i], f.backends[i+1:]...)
					break
				}
			}
			f.mu.Unlock()
			http.Error(w, "receiver unavailable", http.StatusBadGateway)
		},
	}
	srv := httptest.NewServer(rp)
	tb.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

// Hits is how many requests went to the receiver at backend.
func (f *Front) Hits(backend string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits[backend]
}
