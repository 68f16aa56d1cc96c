package receiver_test

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"giascan/transport/receiver"
	"giascan/transport/seal"
	"giascan/transport/stationauth"
)

// Attacks at the door: each is refused when the upload is created or as
// its bytes arrive, with nothing stored beyond what the station may hold.

// statementFor signs a statement for size bytes whose SHA-256 is sum, as a
// station with key would for package version v of ППЭ ppe.
func statementFor(key ed25519.PrivateKey, ppe string, v int, size int64, sum string) []byte {
	st := seal.Statement{Station: "st-50-" + ppe + "-1", Package: "9-50-" + ppe + "-0007-01-20250601", Version: v,
		Manifest: strings.Repeat("ab", 32), Ciphertext: sum, Size: size,
		Key: seal.FormatPublicKey(key.Public().(ed25519.PublicKey)), Signed: time.Now().UTC().Truncate(time.Second)}
	line, _ := json.Marshal(st)
	signed := "giascan-seal/v1\n" + string(line) + "\n"
	return []byte(signed + base64.StdEncoding.EncodeToString(ed25519.Sign(key, []byte(signed))) + "\n")
}

// tus is a bare tus client for attacks the station's uploader never makes.
type tus struct {
	t    testing.TB
	base string
	hc   *http.Client
}

func (c tus) do(method, url string, body io.Reader, n int64, hdr map[string]string) (*http.Response, string) {
	c.t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.ContentLength = n
	}
	req.Header.Set("Tus-Resumable", "1.0.0")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// create starts an upload and returns the status and its URL.
func (c tus) create(size int64, sig []byte) (int, string, string) {
	c.t.Helper()
	resp, body := c.do(http.MethodPost, c.base+receiver.UploadPath, nil, 0, map[string]string{
		"Upload-Length":   strconv.FormatInt(size, 10),
		"Upload-Metadata": receiver.MetaSignature + " " + base64.StdEncoding.EncodeToString(sig),
	})
	loc := resp.Header.Get("Location")
	if loc != "" && !strings.HasPrefix(loc, "http") {
		loc = c.base + loc
	}
	return resp.StatusCode, loc, body
}

func (c tus) patch(loc string, off int64, body io.Reader, n int64) (int, string) {
	c.t.Helper()
	resp, b := c.do(http.MethodPatch, loc, body, n, map[string]string{
		"Content-Type": "application/offset+octet-stream", "Upload-Offset": strconv.FormatInt(off, 10)})
	return resp.StatusCode, b
}

func (c tus) head(loc string) (int, int64) {
	c.t.Helper()
	resp, _ := c.do(http.MethodHead, loc, nil, 0, nil)
	off, _ := strconv.ParseInt(resp.Header.Get("Upload-Offset"), 10, 64)
	return resp.StatusCode, off
}

func (f *fixture) serve(t testing.TB, ctx context.Context) string {
	t.Helper()
	h, err := f.rcv.Handler(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// uploadFiles lists what the receiver holds of unfinished uploads.
func uploadFiles(t testing.TB, rdir string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(rdir, receiver.UploadsDir))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// A station's public key is no secret: a statement naming it with random
// signature bytes, or an upload nobody signed, is refused at creation and
// nothing is stored.
func TestForgedUploadRefusedAtCreation(t *testing.T) {
	f := newFixture(t)
	base := f.serve(t, t.Context())
	good := statementFor(f.station, "1234", 1, 1<<20, strings.Repeat("00", 32))
	forged := []byte(string(good[:strings.LastIndex(string(good[:len(good)-1]), "\n")+1]) +
		base64.StdEncoding.EncodeToString(make([]byte, ed25519.SignatureSize)) + "\n")

	station := tus{t, base, signing(f.station)}
	code, loc, body := station.create(1<<20, forged)
	if code != http.StatusUnprocessableEntity || loc != "" || !strings.Contains(body, "не сходится") {
		t.Fatalf("forged signature: %d %q %s", code, loc, body)
	}
	// The real statement, sent by someone without the station's key.
	anon := tus{t, base, http.DefaultClient}
	if code, loc, body := anon.create(1<<20, good); code != http.StatusUnauthorized || loc != "" {
		t.Fatalf("unsigned request: %d %q %s", code, loc, body)
	}
	// The real statement, sent by another registered station.
	other := tus{t, base, signing(f.addStation(t, "1234"))}
	if code, loc, body := other.create(1<<20, good); code != http.StatusUnprocessableEntity || !strings.Contains(body, "а отправлен станцией") {
		t.Fatalf("statement of another station: %d %q %s", code, loc, body)
	}
	// A length other than the signed one.
	if code, _, body := station.create(1<<20+1, good); code != http.StatusUnprocessableEntity {
		t.Fatalf("wrong length: %d %s", code, body)
	}
	if files := uploadFiles(t, f.rdir); len(files) != 0 {
		t.Fatalf("refused uploads left files: %v", files)
	}
	rj, err := receiver.Rejects(f.rdir)
	if err != nil || len(rj) != 3 {
		t.Fatalf("rejects log: %d entries, %v", len(rj), err)
	}
}

// zeros is n bytes of a repeating pattern, made as they are read.
type pattern struct{ n int64 }

func (p *pattern) Read(b []byte) (int, error) {
	if p.n == 0 {
		return 0, io.EOF
	}
	k := min(int64(len(b)), p.n)
	for i := range b[:k] {
		b[i] = byte(i)
	}
	p.n -= k
	return int(k), nil
}

// sendForgedBody sends size bytes that are not the ones the (valid)
// statement signs, in 8 MiB PATCHes, and returns the last answer.
func sendForgedBody(t testing.TB, f *fixture, base string, size int64) (int, string) {
	t.Helper()
	sum := sha256.Sum256([]byte("the real ciphertext"))
	sig := statementFor(f.station, "1234", 1, size, hex.EncodeToString(sum[:]))
	c := tus{t, base, signing(f.station)}
	code, loc, body := c.create(size, sig)
	if code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, body)
	}
	const chunk = 8 << 20
	for off := int64(0); off < size; off += chunk {
		n := min(chunk, size-off)
		code, body = c.patch(loc, off, &pattern{n}, n)
		if off+n < size && code != http.StatusNoContent {
			t.Fatalf("PATCH at %d: %d %s", off, code, body)
		}
	}
	return code, body
}

// A body that is not the signed ciphertext is hashed as it streams and
// refused when it is complete, without being read into memory: the
// receiver allocates a small fraction of the upload.
func TestForgedBodyRefusedWithoutMemory(t *testing.T) {
	f := newFixture(t)
	base := f.serve(t, t.Context())
	const size = 48 << 20
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	code, body := sendForgedBody(t, f, base, size)
	runtime.ReadMemStats(&after)
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "не тот, что подписан") {
		t.Fatalf("last PATCH: %d %s", code, body)
	}
	// Client and server share this process: the whole exchange, both
	// sides, must allocate far less than the body.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > size/8 {
		t.Fatalf("a %d MiB forged upload allocated %d MiB", size>>20, alloc>>20)
	} else {
		t.Logf("a %d MiB forged upload allocated %.1f MiB", size>>20, float64(alloc)/(1<<20))
	}
	if files := uploadFiles(t, f.rdir); len(files) != 0 {
		t.Fatalf("refused upload left files: %v", files)
	}
}

// Not one byte past the signed size is taken.
func TestNoBytePastSignedSize(t *testing.T) {
	f := newFixture(t)
	base := f.serve(t, t.Context())
	sig := statementFor(f.station, "1234", 1, 1000, strings.Repeat("00", 32))
	c := tus{t, base, signing(f.station)}
	_, loc, _ := c.create(1000, sig)
	if code, body := c.patch(loc, 0, &pattern{1001}, 1001); code != http.StatusRequestEntityTooLarge {
		t.Fatalf("PATCH of 1001 bytes into 1000: %d %s", code, body)
	}
	if code, off := c.head(loc); code != http.StatusOK || off != 0 {
		t.Fatalf("after the refused PATCH: %d offset %d", code, off)
	}
	fi, err := os.Stat(filepath.Join(f.rdir, receiver.UploadsDir, filepath.Base(loc)))
	if err != nil || fi.Size() != 0 {
		t.Fatalf("stored: %v %v", fi, err)
	}
}

// One station cannot open uploads without end, nor declare gigabytes.
func TestPerStationLimits(t *testing.T) {
	f := newFixture(t)
	f.rcv.Limits = receiver.Limits{ActivePerStation: 3, DeclaredPerStation: 5 << 20}
	base := f.serve(t, t.Context())
	c := tus{t, base, signing(f.station)}
	for v := 1; v <= 3; v++ {
		if code, _, body := c.create(1<<20, statementFor(f.station, "1234", v, 1<<20, strings.Repeat("00", 32))); code != http.StatusCreated {
			t.Fatalf("upload %d: %d %s", v, code, body)
		}
	}
	code, _, body := c.create(1<<20, statementFor(f.station, "1234", 4, 1<<20, strings.Repeat("00", 32)))
	if code != http.StatusTooManyRequests || !strings.Contains(body, "незавершённых загрузок") {
		t.Fatalf("fourth upload: %d %s", code, body)
	}
	// Another station is not held back by the first one's uploads.
	other := f.addStation(t, "1234")
	o := tus{t, base, signing(other)}
	if code, _, body := o.create(1<<20, statementFor(other, "1234", 1, 1<<20, strings.Repeat("00", 32))); code != http.StatusCreated {
		t.Fatalf("other station: %d %s", code, body)
	}
	if code, _, body := o.create(5<<20, statementFor(other, "1234", 2, 5<<20, strings.Repeat("00", 32))); code != http.StatusTooManyRequests {
		t.Fatalf("declaring over the limit: %d %s", code, body)
	}
	if n := len(uploadFiles(t, f.rdir)); n != 2*4 {
		t.Fatalf("%d upload files, want 4 uploads", n)
	}
}

// An upload abandoned half-way expires, while the receiver runs and on a
// restart after a long stop; the station then starts it again.
func TestAbandonedUploadExpires(t *testing.T) {
	f := newFixture(t)
	f.rcv.Limits = receiver.Limits{UploadTTL: 300 * time.Millisecond}
	base := f.serve(t, t.Context())
	c := tus{t, base, signing(f.station)}
	_, loc, _ := c.create(1<<20, statementFor(f.station, "1234", 1, 1<<20, strings.Repeat("00", 32)))
	if code, body := c.patch(loc, 0, &pattern{1000}, 1000); code != http.StatusNoContent {
		t.Fatalf("PATCH: %d %s", code, body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(uploadFiles(t, f.rdir)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("abandoned upload still there: %v", uploadFiles(t, f.rdir))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code, _ := c.head(loc); code != http.StatusNotFound {
		t.Fatalf("HEAD of the expired upload: %d", code)
	}

	// Restart: an upload last touched long before the receiver started.
	g := newFixture(t)
	ctx, cancel := context.WithCancel(t.Context())
	base = g.serve(t, ctx)
	c = tus{t, base, signing(g.station)}
	_, loc, _ = c.create(1<<20, statementFor(g.station, "1234", 1, 1<<20, strings.Repeat("00", 32)))
	c.patch(loc, 0, &pattern{1000}, 1000)
	cancel()
	old := time.Now().Add(-48 * time.Hour)
	for _, name := range uploadFiles(t, g.rdir) {
		os.Chtimes(filepath.Join(g.rdir, receiver.UploadsDir, name), old, old)
	}
	rcv, err := receiver.Open(g.rdir, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rcv.Handler(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	if files := uploadFiles(t, g.rdir); len(files) != 0 {
		t.Fatalf("upload idle for two days kept across the restart: %v", files)
	}
}

// Nobody terminates an upload, and no station touches another's.
func TestOtherStationsCannotTouchAnUpload(t *testing.T) {
	f := newFixture(t)
	base := f.serve(t, t.Context())
	c := tus{t, base, signing(f.station)}
	_, loc, _ := c.create(1<<20, statementFor(f.station, "1234", 1, 1<<20, strings.Repeat("00", 32)))
	c.patch(loc, 0, &pattern{1000}, 1000)
	other := tus{t, base, signing(f.addStation(t, "1234"))}
	for _, cl := range []tus{other, c} {
		resp, body := cl.do(http.MethodDelete, loc, nil, 0, nil)
		if resp.StatusCode < 400 {
			t.Fatalf("DELETE: %d %s", resp.StatusCode, body)
		}
	}
	if code, _ := other.head(loc); code != http.StatusForbidden {
		t.Fatalf("HEAD by another station: %d", code)
	}
	if code, _ := other.patch(loc, 1000, &pattern{10}, 10); code != http.StatusForbidden {
		t.Fatalf("PATCH by another station: %d", code)
	}
	if code, off := c.head(loc); code != http.StatusOK || off != 1000 {
		t.Fatalf("the owner's upload after the attempts: %d offset %d", code, off)
	}
}

// Status, board, exam and receipts need a station's signature or a staff
// account; a station sees only its own ППЭ's receipts.
func TestReadsNeedAuthentication(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t)
	tarball, m, hash := build(t, "1234", 1, image(t, 100))
	ct, sig := f.sealTar(t, tarball, f.station, m, hash)
	if _, err := f.rcv.Accept(ctx, sig, ct); err != nil {
		t.Fatal(err)
	}
	if err := receiver.ImportExam(f.rdir, []byte(testExam), receiver.Owed{"1234": {{Package: m.ID}}}); err != nil {
		t.Fatal(err)
	}
	base := f.serve(t, ctx)
	receiptURL := base + receiver.ReceiptPath + m.ID + "/1"
	for _, path := range []string{"/", "/status.json", receiver.ExamPath, receiver.ReceiptPath + m.ID + "/1"} {
		if code, body := get(t, http.DefaultClient, base+path); code != http.StatusUnauthorized {
			t.Errorf("GET %s without credentials: %d %s", path, code, body)
		}
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		req.SetBasicAuth(staffLogin, "не тот пароль")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s with a wrong password: %d", path, resp.StatusCode)
		}
	}
	// Stations do not see the board.
	if code, _ := get(t, signing(f.station), base+"/status.json"); code != http.StatusUnauthorized {
		t.Errorf("status.json to a station: %d", code)
	}
	if code, body := get(t, signing(f.station), receiptURL); code != http.StatusOK || !strings.Contains(body, hash) {
		t.Errorf("own receipt: %d %s", code, body)
	}
	if code, _ := get(t, signing(f.addStation(t, "4321")), receiptURL); code != http.StatusForbidden {
		t.Errorf("receipt of another ППЭ: %d", code)
	}
	stranger := ed25519.NewKeyFromSeed(make([]byte, 32))
	if code, body := get(t, signing(stranger), receiptURL); code != http.StatusUnauthorized || !strings.Contains(body, "не зарегистрирован") {
		t.Errorf("unregistered key: %d %s", code, body)
	}
	// A signed request replayed after the allowed clock skew.
	stale := &http.Client{Transport: &stationauth.Transport{Key: f.station, Now: func() time.Time { return time.Now().Add(-time.Hour) }}}
	if code, _ := get(t, stale, receiptURL); code != http.StatusUnauthorized {
		t.Errorf("request signed an hour ago: %d", code)
	}
	if code, _ := get(t, nil, base+"/status.json"); code != http.StatusOK {
		t.Errorf("status.json to staff: %d", code)
	}
}

// The rejects log is rotated, so a flood of refusals never fills the disk.
func TestRejectsLogBounded(t *testing.T) {
	f := newFixture(t)
	f.rcv.RejectsMax = 4000
	sig := statementFor(f.station, "1234", 1, 10, strings.Repeat("00", 32))
	for i := range 200 {
		if err := f.rcv.LogReject(sig, "127.0.0.1:"+strconv.Itoa(i), receiver.ErrRefused); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{receiver.RejectsFile, receiver.RejectsFile + ".1"} {
		fi, err := os.Stat(filepath.Join(f.rdir, name))
		if err != nil || fi.Size() > 4000 {
			t.Fatalf("%s: %v %v", name, fi, err)
		}
	}
	rj, err := receiver.Rejects(f.rdir)
	if err != nil {
		t.Fatal(err)
	}
	if len(rj) < 10 || len(rj) >= 200 || rj[len(rj)-1].Remote != "127.0.0.1:199" {
		t.Fatalf("%d rejects kept, last %+v", len(rj), rj[len(rj)-1])
	}
}

// slowAccounts is an account check that takes time, counting how many run
// at once.
type slowAccounts struct {
	mu       sync.Mutex
	now, max int
}

func (s *slowAccounts) Authenticate(login, password string) (bool, error) {
	s.mu.Lock()
	s.now++
	s.max = max(s.max, s.now)
	s.mu.Unlock()
	time.Sleep(20 * time.Millisecond)
	s.mu.Lock()
	s.now--
	s.mu.Unlock()
	return false, nil
}

// Guessing passwords in parallel does not run more than a few of the
// (memory-hungry) password checks at once.
func TestPasswordChecksBounded(t *testing.T) {
	f := newFixture(t)
	acc := &slowAccounts{}
	f.rcv.People = acc
	base := f.serve(t, t.Context())
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodGet, base+"/status.json", nil)
			req.SetBasicAuth("guess", strconv.Itoa(i))
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	if acc.max < 1 || acc.max > receiver.PasswordChecks {
		t.Fatalf("%d password checks ran at once, want at most %d", acc.max, receiver.PasswordChecks)
	}
}
