package usb

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
)

// MaxBody bounds an answer read over USB: a page at 600 dpi in colour is
// well below it.
const MaxBody = 512 << 20

// Bulk is the pair of bulk endpoints of an IPP-over-USB interface: HTTP
// requests are written to OUT and answers read from IN, as on a TCP
// connection that stays open.
type Bulk interface {
	io.Reader // bulk IN
	io.Writer // bulk OUT
}

// BulkTransport is an http.RoundTripper over the bulk endpoints of an
// IPP-over-USB interface (USB class 7, subclass 1, protocol 4), as
// ipp-usb and the IPP-USB specification have it: plain HTTP/1.1 messages,
// one at a time, each answer framed by its Content-Length or chunked
// encoding (a USB pipe has no end to read to).
type BulkTransport struct {
	mu   sync.Mutex
	bulk Bulk
	in   *bufio.Reader
	err  error // a broken pipe: every later request fails with it
}

// NewBulkTransport serves HTTP over b.
func NewBulkTransport(b Bulk) *BulkTransport {
	return &BulkTransport{bulk: b, in: bufio.NewReaderSize(b, 64<<10)}
}

// RoundTrip sends the request and reads its whole answer, so that the next
// request may go while the caller reads this body. A cancelled request
// context is honoured between requests only: a USB transfer in flight is
// finished, or the pipe would lose its framing.
func (t *BulkTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		defer req.Body.Close()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.err != nil {
		return nil, t.err
	}
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	out := req.Clone(req.Context())
	out.Close = false // the pipe stays open
	if out.Header.Get("Host") == "" && out.Host == "" {
		out.Host = "localhost"
	}
	var msg bytes.Buffer // one write: devices want whole messages
	if err := out.Write(&msg); err != nil {
		return nil, fmt.Errorf("usb: request: %w", err)
	}
	if _, err := t.bulk.Write(msg.Bytes()); err != nil {
		return nil, t.fail(fmt.Errorf("usb: writing to the scanner: %w", err))
	}
	resp, err := http.ReadResponse(t.in, req)
	if err != nil {
		return nil, t.fail(fmt.Errorf("usb: reading the scanner's answer: %w", err))
	}
	framed := resp.ContentLength >= 0 || slices.Contains(resp.TransferEncoding, "chunked") ||
		req.Method == http.MethodHead || resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusNotModified
	if !framed {
		resp.Body.Close()
		return nil, t.fail(errors.New("usb: the scanner's answer has neither a length nor chunks; it cannot be read over USB"))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
	resp.Body.Close()
	if err != nil {
		return nil, t.fail(fmt.Errorf("usb: reading the scanner's answer: %w", err))
	}
	if len(body) > MaxBody {
		return nil, t.fail(fmt.Errorf("usb: the scanner's answer is over %d bytes", MaxBody))
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.TransferEncoding = nil
	return resp, nil
}

// fail marks the pipe broken: its framing is lost.
func (t *BulkTransport) fail(err error) error {
	t.err = err
	return err
}
