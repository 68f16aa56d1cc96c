package escl

import (
	"context"
	"errors"
	"net"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"giascan/hardware"
	"giascan/hardware/sim"
)

// responder answers mDNS PTR questions for _uscan._tcp as a scanner
// does, by unicast to the asking port, with SRV, TXT and A records in the
// additional section. It returns its address.
func responder(t *testing.T, port int) string {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { conn.Close(); <-done })
	go func() { // owned by the test: ends when conn closes
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, from, err := conn.ReadFromUDP(buf)
			if err != nil {
				return
			}
			var p dnsmessage.Parser
			if _, err := p.Start(buf[:n]); err != nil {
				continue
			}
			q, err := p.Question()
			if err != nil || q.Type != dnsmessage.TypePTR || q.Name.String() != ServiceType {
				continue
			}
			conn.WriteToUDP(answer(t, port), from)
			conn.WriteToUDP([]byte("garbage that is no DNS message"), from)
		}
	}()
	return conn.LocalAddr().String()
}

func answer(t *testing.T, port int) []byte {
	name := func(s string) dnsmessage.Name { return dnsmessage.MustNewName(s) }
	inst := `Office\ MFP\.2.` + ServiceType
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{Response: true, Authoritative: true})
	b.StartAnswers()
	b.PTRResource(dnsmessage.ResourceHeader{Name: name(ServiceType), Class: dnsmessage.ClassINET, TTL: 120},
		dnsmessage.PTRResource{PTR: name(inst)})
	b.StartAdditionals()
	b.SRVResource(dnsmessage.ResourceHeader{Name: name(inst), Class: dnsmessage.ClassINET, TTL: 120},
		dnsmessage.SRVResource{Target: name("mfp.local."), Port: uint16(port)})
	b.TXTResource(dnsmessage.ResourceHeader{Name: name(inst), Class: dnsmessage.ClassINET, TTL: 120},
		dnsmessage.TXTResource{TXT: []string{"txtvers=1", "rs=eSCL", "ty=Vendor MFP 5000", "UUID=1234"}})
	b.AResource(dnsmessage.ResourceHeader{Name: name("mfp.local."), Class: dnsmessage.ClassINET, TTL: 120},
		dnsmessage.AResource{A: [4]byte{127, 0, 0, 1}})
	msg, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

func TestBrowseFindsAnnouncedScanner(t *testing.T) {
	addr := responder(t, 8080)
	found, err := Browse(context.Background(), addr, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 {
		t.Fatalf("%d services, want 1: %+v", len(found), found)
	}
	s := found[0]
	if s.Instance != "Office MFP.2" || s.Name() != "Vendor MFP 5000" || s.URL() != "http://127.0.0.1:8080/eSCL" {
		t.Errorf("service %+v: instance %q, name %q, url %q", s, s.Instance, s.Name(), s.URL())
	}
}

// Discovery lists what DNS-SD announced and what the station remembered,
// with the remembered scanner that does not answer noted as such.
func TestDiscovererListsAnnouncedAndRemembered(t *testing.T) {
	feeder, err := sim.Open("seed=1,count=1,profile=clean")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(feeder, nil)
	web := httptest.NewServer(srv)
	defer web.Close()
	defer srv.Close()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(web.URL, "http://"))
	p, _ := strconv.Atoi(port)
	hardware.Remember("escl:http://127.0.0.1:1/eSCL") // nothing listens there
	hardware.Remember("escl:" + web.URL + Root)
	d := &Discoverer{Addr: responder(t, p), Wait: 300 * time.Millisecond}
	devs, err := d.Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(devs) != 2 {
		t.Fatalf("%d devices, want the dead remembered one and the live one once: %+v", len(devs), devs)
	}
	dead := slices.IndexFunc(devs, func(d hardware.Device) bool { return strings.Contains(d.Spec, ":1/") })
	if dead < 0 || !strings.Contains(devs[dead].Note, "не отвечает") {
		t.Errorf("the remembered scanner that does not answer: %+v", devs)
	}
	live := devs[1-dead]
	if live.Spec != "escl:"+web.URL+Root || !strings.Contains(live.Name, "Имитатор сканера") {
		t.Errorf("live device %+v", live)
	}
	if _, err := hardware.Open(live.Spec); err != nil {
		t.Errorf("the listed spec does not open: %v", err)
	}
}

// The agent's announcement answers the station's browse: the station
// finds the served scanner, with its URL and model, and opens it.
func TestAnnouncementIsFoundAndOpens(t *testing.T) {
	feeder, err := sim.Open("seed=1,count=1,profile=clean")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(feeder, nil)
	web := httptest.NewServer(srv)
	defer web.Close()
	defer srv.Close()
	a := NewAnnouncement(feeder.Device(), PortOf(strings.TrimPrefix(web.URL, "http://")))
	a.Host, a.Addrs = "scan-pc", []net.IP{net.IPv4(127, 0, 0, 1)}
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serveAnnouncement(ctx, conn, nil, a) }() // owned by the test
	defer func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("announcement: %v", err)
		}
	}()
	found, err := Browse(context.Background(), conn.LocalAddr().String(), 300*time.Millisecond)
	if err != nil || len(found) != 1 {
		t.Fatalf("browse: %+v, %v", found, err)
	}
	s := found[0]
	if s.URL() != web.URL+Root || s.Name() != feeder.Device().Name || s.TXT["is"] != "adf" || s.TXT["duplex"] != "T" {
		t.Errorf("found %+v (url %s)", s, s.URL())
	}
	dev, err := Open(s.URL())
	if err != nil || dev.Device().Name == "" {
		t.Errorf("opening the announced scanner: %v", err)
	}
	// Other questions get no answer.
	if reply, err := a.answer([]byte{0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, true); reply != nil || err != nil {
		t.Errorf("a query without questions got %v, %v", reply, err)
	}
}
