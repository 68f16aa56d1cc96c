package usb

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"giascan/hardware"
	"giascan/hardware/escl"
	"giascan/hardware/hardwaretest"
)

// packets hands over at most 512 bytes a read, as a bulk IN endpoint
// does one USB transfer at a time.
type packets struct{ io.Reader }

func (p packets) Read(b []byte) (int, error) { return p.Reader.Read(b[:min(len(b), 512)]) }

// fakeDevice is an IPP-over-USB scanner on the other end of the pipe: the
// eSCL server serving a simulated feeder, as the device's firmware would.
func fakeDevice(t *testing.T, s hardwaretest.Stack) Bulk {
	host, device := net.Pipe()
	srv := escl.NewServer(hardwaretest.OpenSim(t, s), nil)
	srv.Reopen = hardwaretest.ReplugSpec
	web := &http.Server{Handler: srv}
	done := make(chan struct{})
	go func() { // owned by the test: ends when the pipe closes
		defer close(done)
		web.Serve(&oneConn{c: device, closed: make(chan struct{})})
	}()
	t.Cleanup(func() {
		srv.Close()
		web.Close()
		host.Close()
		<-done
	})
	return struct {
		io.Reader
		io.Writer
	}{packets{host}, host}
}

// oneConn is a listener that accepts one connection: the USB interface.
type oneConn struct {
	c      net.Conn
	once   sync.Once
	closed chan struct{}
}

func (l *oneConn) Accept() (net.Conn, error) {
	var c net.Conn
	l.once.Do(func() { c = l.c })
	if c != nil {
		return c, nil
	}
	<-l.closed
	return nil, net.ErrClosed
}

func (l *oneConn) Close() error {
	select {
	case <-l.closed:
	default:
		close(l.closed)
	}
	return nil
}

func (l *oneConn) Addr() net.Addr { return &net.UnixAddr{Name: "usb", Net: "usb"} }

// The eSCL adapter passes the conformance suite over the bulk framing.
// Unplugged, the device's firmware (the eSCL server) stays down until the
// station opens the scanner again over the same interface.
func TestConformanceOverBulkPipe(t *testing.T) {
	clients := map[hardware.Scanner]*http.Client{}
	open := func(t *testing.T, client *http.Client) hardware.Scanner {
		dev, err := escl.New(context.Background(), escl.Config{URL: "http://localhost/eSCL", Client: client})
		if err != nil {
			t.Fatal(err)
		}
		clients[dev] = client
		return dev
	}
	hardwaretest.Run(t, func(t *testing.T, s hardwaretest.Stack) hardware.Scanner {
		return open(t, &http.Client{Transport: NewBulkTransport(fakeDevice(t, s))})
	}, hardwaretest.Caps{Reopen: func(t *testing.T, gone hardware.Scanner) hardware.Scanner {
		hardware.Close(gone)
		return open(t, clients[gone])
	}})
}

// script is a device whose answers are canned bytes; it records what it
// was sent.
type script struct {
	io.Reader
	sent bytes.Buffer
}

func (s *script) Write(p []byte) (int, error) { return s.sent.Write(p) }

func TestBulkFraming(t *testing.T) {
	dev := &script{Reader: packets{strings.NewReader(
		"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n" +
			"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nno pages.")}}
	tr := NewBulkTransport(dev)
	get := func(path string) (*http.Response, string) {
		req, _ := http.NewRequest(http.MethodGet, "http://localhost/eSCL/"+path, nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	if resp, body := get("ScanJobs/1/NextDocument"); resp.StatusCode != 200 || body != "abcde" || resp.ContentLength != 5 {
		t.Errorf("chunked answer: %d %q (length %d)", resp.StatusCode, body, resp.ContentLength)
	}
	if resp, body := get("ScanJobs/1/NextDocument"); resp.StatusCode != 404 || body != "no pages." {
		t.Errorf("second answer on the same pipe: %d %q", resp.StatusCode, body)
	}
	// What went down the pipe is two whole HTTP/1.1 requests.
	rd := bufio.NewReader(&dev.sent)
	for i := 0; i < 2; i++ {
		req, err := http.ReadRequest(rd)
		if err != nil || req.Host != "localhost" || req.URL.Path != "/eSCL/ScanJobs/1/NextDocument" || req.Close {
			t.Errorf("request %d as sent: %+v, %v", i+1, req, err)
		}
	}

	// An answer with no length cannot be framed: the pipe is given up.
	bad := NewBulkTransport(&script{Reader: strings.NewReader("HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n\r\nabc")})
	req, _ := http.NewRequest(http.MethodGet, "http://localhost/eSCL/ScannerStatus", nil)
	if _, err := bad.RoundTrip(req); err == nil || !strings.Contains(err.Error(), "length") {
		t.Errorf("unframed answer: %v", err)
	}
	if _, err := bad.RoundTrip(req); err == nil {
		t.Error("a broken pipe was used again")
	}
	// A device that stops talking mid-answer is an error, not a short page.
	cut := NewBulkTransport(&script{Reader: strings.NewReader("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")})
	if _, err := cut.RoundTrip(req); err == nil {
		t.Error("a cut answer was taken")
	}
}

func TestIPPUSBIDs(t *testing.T) {
	v, p, port, err := parseID("04f9:0468@1-2.3")
	if err != nil || v != 0x04f9 || p != 0x0468 || port != "1-2.3" {
		t.Errorf("%x %x %q %v", v, p, port, err)
	}
	for _, bad := range []string{"04f9:0468", "zz:0468@1", "04f9@1-2", ""} {
		if _, _, _, err := parseID(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	d := Device{Vendor: 0x1234, Classes: []uint8{7}, IPPUSB: true, Port: "1-4"}
	if !IsScanner(d) {
		t.Error("an IPP-over-USB device is not taken for a scanner")
	}
	devs, err := Discoverer{Enumerator: fixedBus{d}}.Discover(context.Background())
	if err != nil || len(devs) != 1 || devs[0].Spec != "ippusb:1234:0000@1-4" {
		t.Errorf("discovery of an IPP-over-USB device: %+v, %v", devs, err)
	}
}
