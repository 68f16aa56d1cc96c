package escl

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"giascan/hardware"
)

// DNS-SD service types of eSCL scanners: plain HTTP and HTTPS.
const (
	ServiceType    = "_uscan._tcp.local."
	ServiceTypeTLS = "_uscans._tcp.local."
)

// mdnsGroup is where multicast DNS queries go.
const mdnsGroup = "224.0.0.251:5353"

// DiscoverEvery is how often the station looks for eSCL scanners again.
const DiscoverEvery = 15 * time.Second

func init() {
	hardware.RegisterDiscoverer("escl", &Discoverer{}, DiscoverEvery)
}

// Service is an eSCL scanner announced by DNS-SD.
type Service struct {
	Instance string            // the service instance name, e.g. "Kyocera MFP Scanner"
	Host     string            // the target host of its SRV record
	Port     int               // its port
	Addrs    []net.IP          // the host's addresses that came with the answer
	TXT      map[string]string // its TXT keys: rs (resource path), ty (model), UUID…
	TLS      bool              // announced as _uscans
}

// URL is the scanner's eSCL root, by address when one came with the
// answer (a station need not resolve .local names).
func (s Service) URL() string {
	scheme := "http"
	if s.TLS {
		scheme = "https"
	}
	host := strings.TrimSuffix(s.Host, ".")
	if len(s.Addrs) > 0 {
		host = s.Addrs[0].String()
	}
	rs := strings.Trim(s.TXT["rs"], "/")
	if rs == "" {
		rs = "eSCL"
	}
	return fmt.Sprintf("%s://%s/%s", scheme, net.JoinHostPort(host, strconv.Itoa(s.Port)), rs)
}

// Name is the scanner for people: its model when announced, else its
// instance name.
func (s Service) Name() string {
	if ty := s.TXT["ty"]; ty != "" {
		return ty
	}
	return s.Instance
}

// Browse asks the LAN for eSCL scanners by multicast DNS and collects the
// answers that come within wait (default 1.5s, or until ctx ends). The
// query goes from an ordinary port, so responders answer it by unicast
// (RFC 6762 §6.7) and no multicast membership or port 5353 is needed.
// addr is where the query goes; "" means the mDNS group.
func Browse(ctx context.Context, addr string, wait time.Duration) ([]Service, error) {
	if addr == "" {
		addr = mdnsGroup
	}
	if wait <= 0 {
		wait = 1500 * time.Millisecond
	}
	to, err := net.ResolveUDPAddr("udp4", addr)
	if err != nil {
		return nil, fmt.Errorf("dns-sd: %w", err)
	}
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{})
	if err != nil {
		return nil, fmt.Errorf("dns-sd: %w", err)
	}
	defer conn.Close()
	q, err := query()
	if err != nil {
		return nil, err
	}
	if _, err := conn.WriteToUDP(q, to); err != nil {
		return nil, fmt.Errorf("dns-sd: sending the query to %s: %w", addr, err)
	}
	deadline := time.Now().Add(wait)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = conn.SetReadDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetReadDeadline(time.Now()) })
	defer stop()
	var found records
	buf := make([]byte, 9000)
	for {
		n, _, err := conn.ReadFromUDP(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				break
			}
			return nil, fmt.Errorf("dns-sd: %w", err)
		}
		found.add(buf[:n]) // a malformed answer is someone else's problem
	}
	return found.services(), ctx.Err()
}

// query is a PTR question for both service types, asking for unicast
// answers.
func query() ([]byte, error) {
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{})
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	for _, t := range []string{ServiceType, ServiceTypeTLS} {
		name, err := dnsmessage.NewName(t)
		if err != nil {
			return nil, err
		}
		// The top bit of the class asks for a unicast answer.
		if err := b.Question(dnsmessage.Question{Name: name, Type: dnsmessage.TypePTR, Class: dnsmessage.ClassINET | 1<<15}); err != nil {
			return nil, err
		}
	}
	return b.Finish()
}

// records are the answers collected so far, by owner name.
type records struct {
	ptr  map[string][]string // service type → instance names
	srv  map[string]dnsmessage.SRVResource
	txt  map[string][]string
	addr map[string][]net.IP
}

func (r *records) add(msg []byte) {
	var p dnsmessage.Parser
	if _, err := p.Start(msg); err != nil {
		return
	}
	if err := p.SkipAllQuestions(); err != nil {
		return
	}
	if r.ptr == nil {
		r.ptr, r.srv, r.txt, r.addr = map[string][]string{}, map[string]dnsmessage.SRVResource{}, map[string][]string{}, map[string][]net.IP{}
	}
	// Answers, authorities and additionals alike: responders put the SRV,
	// TXT and address records where they like.
	for {
		h, err := p.AnswerHeader()
		if err != nil {
			break
		}
		r.resource(&p, h)
	}
	_ = p.SkipAllAuthorities()
	for {
		h, err := p.AdditionalHeader()
		if err != nil {
			break
		}
		r.resource(&p, h)
	}
}

func (r *records) resource(p *dnsmessage.Parser, h dnsmessage.ResourceHeader) {
	name := strings.ToLower(h.Name.String())
	var err error
	switch h.Type {
	case dnsmessage.TypePTR:
		var res dnsmessage.PTRResource
		if res, err = p.PTRResource(); err == nil && !slices.Contains(r.ptr[name], res.PTR.String()) {
			r.ptr[name] = append(r.ptr[name], res.PTR.String())
		}
	case dnsmessage.TypeSRV:
		var res dnsmessage.SRVResource
		if res, err = p.SRVResource(); err == nil {
			r.srv[name] = res
		}
	case dnsmessage.TypeTXT:
		var res dnsmessage.TXTResource
		if res, err = p.TXTResource(); err == nil {
			r.txt[name] = res.TXT
		}
	case dnsmessage.TypeA:
		var res dnsmessage.AResource
		if res, err = p.AResource(); err == nil {
			r.addr[name] = append(r.addr[name], net.IP(res.A[:]))
		}
	default:
		err = p.SkipAnswer()
	}
	_ = err
}

// services joins the records into services, in instance order; an
// instance without an SRV record has no port and is left out.
func (r *records) services() []Service {
	var out []Service
	for _, t := range []string{ServiceType, ServiceTypeTLS} {
		for _, inst := range r.ptr[strings.ToLower(t)] {
			srv, ok := r.srv[strings.ToLower(inst)]
			if !ok {
				continue
			}
			s := Service{
				Instance: unescape(strings.TrimSuffix(strings.TrimSuffix(inst, "."+t), t)),
				Host:     srv.Target.String(), Port: int(srv.Port),
				Addrs: r.addr[strings.ToLower(srv.Target.String())],
				TXT:   map[string]string{}, TLS: t == ServiceTypeTLS,
			}
			for _, kv := range r.txt[strings.ToLower(inst)] {
				k, v, _ := strings.Cut(kv, "=")
				s.TXT[strings.ToLower(k)] = v
			}
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b Service) int { return strings.Compare(a.Instance, b.Instance) })
	return out
}

// unescape undoes the escaping of dots and spaces in an instance label.
func unescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isDigit(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
			n, _ := strconv.Atoi(s[i+1 : i+4])
			b.WriteByte(byte(n))
			i += 3
			continue
		}
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// Discoverer lists eSCL scanners for hardware.Discover: those DNS-SD
// finds on the LAN and those the station was told of by spec
// (hardware.Remember), each checked by reading its capabilities.
type Discoverer struct {
	// Addr is where DNS-SD queries go; "" is the mDNS group. NoBrowse
	// turns DNS-SD off (a network that forbids multicast).
	Addr     string
	NoBrowse bool
	Wait     time.Duration // how long answers are collected; default 1.5s
	Client   *http.Client  // for the capability checks; nil: a client of its own
}

// Discover browses and checks the remembered URLs at once. A remembered
// scanner that does not answer is listed with a note saying so, as the
// operator expects to see it; a failed browse is the error.
func (d *Discoverer) Discover(ctx context.Context) ([]hardware.Device, error) {
	var (
		services []Service
		berr     error
		wg       sync.WaitGroup
	)
	if !d.NoBrowse {
		wg.Add(1)
		go func() { // owned by Discover, which waits for it
			defer wg.Done()
			services, berr = Browse(ctx, d.Addr, d.Wait)
		}()
	}
	known := hardware.Remembered("escl")
	checked := make([]hardware.Device, len(known))
	for i, spec := range known {
		wg.Add(1)
		go func() { // owned by Discover, which waits for it
			defer wg.Done()
			checked[i] = d.check(ctx, strings.TrimPrefix(spec, "escl:"))
		}()
	}
	wg.Wait()
	out := checked
	for _, s := range services {
		u := s.URL()
		if slices.ContainsFunc(out, func(dev hardware.Device) bool { return dev.Spec == "escl:"+u }) {
			continue
		}
		out = append(out, hardware.Device{ID: "escl:" + u, Name: s.Name() + " (" + strings.TrimSuffix(s.Host, ".") + ")",
			Adapter: "escl", Spec: "escl:" + u, Note: "Найден в локальной сети (DNS-SD)."})
	}
	if berr != nil && !errors.Is(berr, context.Canceled) && !errors.Is(berr, context.DeadlineExceeded) {
		return out, berr
	}
	return out, nil
}

// check reads a remembered scanner's capabilities to name it.
func (d *Discoverer) check(ctx context.Context, url string) hardware.Device {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s, err := New(cctx, Config{URL: url, Client: d.Client})
	if err != nil {
		return hardware.Device{ID: "escl:" + url, Name: "eSCL " + url, Adapter: "escl", Spec: "escl:" + url,
			Note: "Сканер не отвечает: проверьте, что он включён и подключён к сети, и его адрес."}
	}
	return s.Device()
}
