// Package upload is the station side of package transport: an outbox of
// sealed packages that survives restarts, and a worker that sends them to
// the РЦОИ over the tus resumable-upload protocol and keeps the signed
// receipt of each.
package upload

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// The parts of the receiver's protocol the station relies on; see
// transport/receiver for the server side.
const (
	uploadPath    = "/uploads/"
	receiptPath   = "/receipts/"
	metaSignature = "sig"
	receiptHeader = "Giascan-Receipt"
	tusVersion    = "1.0.0"
)

// ErrGone means the server no longer knows an upload (finished, refused or
// expired): start a new one.
var ErrGone = errors.New("upload no longer on the server")

// RefusedError is the РЦОИ's refusal of a package: sending it again will
// not help; the station operator must act.
type RefusedError struct {
	Status int
	Reason string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("refused by the РЦОИ (HTTP %d): %s", e.Status, e.Reason)
}

// tusClient speaks tus 1.0 (core + creation) to one server.
type tusClient struct {
	base *url.URL
	http *http.Client
}

func newTusClient(endpoint string, hc *http.Client) (*tusClient, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("РЦОИ address %q: want http(s)://host:port", endpoint)
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	return &tusClient{base: u, http: hc}, nil
}

func (c *tusClient) url(path string) string {
	return c.base.ResolveReference(&url.URL{Path: path}).String()
}

// encodeMetadata is the Upload-Metadata header: key base64(value) pairs.
func encodeMetadata(meta map[string]string) string {
	keys := make([]string, 0, len(meta))
	for k := range meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+" "+base64.StdEncoding.EncodeToString([]byte(meta[k])))
	}
	return strings.Join(parts, ",")
}

// create makes a new upload of size bytes and returns its URL.
func (c *tusClient) create(ctx context.Context, size int64, meta map[string]string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url(uploadPath), nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Tus-Resumable", tusVersion)
	req.Header.Set("Upload-Length", strconv.FormatInt(size, 10))
	req.Header.Set("Upload-Metadata", encodeMetadata(meta))
	resp, err := c.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("create upload: %w", err)
	}
	defer drain(resp)
	if resp.StatusCode != http.StatusCreated {
		return "", statusError("create upload", resp)
	}
	loc, err := c.base.Parse(resp.Header.Get("Location"))
	if err != nil || resp.Header.Get("Location") == "" {
		return "", fmt.Errorf("create upload: bad Location %q", resp.Header.Get("Location"))
	}
	return loc.String(), nil
}

// offset asks how much of an upload the server holds.
func (c *tusClient) offset(ctx context.Context, loc string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, loc, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Tus-Resumable", tusVersion)
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("upload offset: %w", err)
	}
	defer drain(resp)
	switch resp.StatusCode {
	case http.StatusOK, http.StatusNoContent:
	case http.StatusNotFound, http.StatusGone, http.StatusForbidden:
		return 0, ErrGone
	default:
		return 0, statusError("upload offset", resp)
	}
	off, err := strconv.ParseInt(resp.Header.Get("Upload-Offset"), 10, 64)
	if err != nil || off < 0 {
		return 0, fmt.Errorf("upload offset: bad Upload-Offset %q", resp.Header.Get("Upload-Offset"))
	}
	return off, nil
}

// patch sends n bytes of body at offset and returns the new offset and,
// when this completed the upload, the receipt path the server named.
func (c *tusClient) patch(ctx context.Context, loc string, offset int64, body io.Reader, n int64) (int64, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPatch, loc, body)
	if err != nil {
		return 0, "", err
	}
	req.ContentLength = n
	req.Header.Set("Tus-Resumable", tusVersion)
	req.Header.Set("Content-Type", "application/offset+octet-stream")
	req.Header.Set("Upload-Offset", strconv.FormatInt(offset, 10))
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("send at %d: %w", offset, err)
	}
	defer drain(resp)
	switch resp.StatusCode {
	case http.StatusNoContent, http.StatusOK:
	case http.StatusNotFound, http.StatusGone, http.StatusForbidden:
		return 0, "", ErrGone
	case http.StatusConflict:
		// Our offset is stale (a chunk arrived but its answer was lost):
		// the caller asks the server again.
		return 0, "", fmt.Errorf("send at %d: offset conflict", offset)
	default:
		return 0, "", statusError(fmt.Sprintf("send at %d", offset), resp)
	}
	off, err := strconv.ParseInt(resp.Header.Get("Upload-Offset"), 10, 64)
	if err != nil {
		return 0, "", fmt.Errorf("send at %d: bad Upload-Offset %q", offset, resp.Header.Get("Upload-Offset"))
	}
	return off, resp.Header.Get(receiptHeader), nil
}

// receipt fetches a receipt file; ErrGone if there is none (yet).
func (c *tusClient) receipt(ctx context.Context, pkgID string, version int) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url(receiptPath+url.PathEscape(pkgID)+"/"+strconv.Itoa(version)), nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch receipt: %w", err)
	}
	defer drain(resp)
	if resp.StatusCode == http.StatusNotFound {
		return nil, ErrGone
	}
	if resp.StatusCode != http.StatusOK {
		return nil, statusError("fetch receipt", resp)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("fetch receipt: %w", err)
	}
	return data, nil
}

// statusError reads the server's reason. Only 422 (the receiver's verdict
// on the package) and 413 (too large) are refusals: tus answers 400 also
// for transient trouble such as an interrupted PATCH, so those are retried.
func statusError(what string, resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	reason := strings.TrimSpace(string(body))
	if resp.StatusCode == http.StatusUnprocessableEntity || resp.StatusCode == http.StatusRequestEntityTooLarge {
		return &RefusedError{Status: resp.StatusCode, Reason: reason}
	}
	return fmt.Errorf("%s: HTTP %d: %s", what, resp.StatusCode, reason)
}

// drain lets the connection be reused.
func drain(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}
