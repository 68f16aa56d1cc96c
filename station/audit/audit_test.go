package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// testClock is a clock that advances by step on every reading, so entry
// times are known and rising.
func testClock(start time.Time, step time.Duration) func() time.Time {
	var mu sync.Mutex
	t := start
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(step)
		return t
	}
}

func openLog(t testing.TB, dir string) *Log {
	t.Helper()
	l, err := Open(dir)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return l
}

// sampleEvent is the i-th event of a day's work at one station.
func sampleEvent(i int) Event {
	kinds := []Event{
		{Actor: Station, Action: ActionSessionStart, Subject: Subject{PPE: "0101", Auditorium: "0002", Session: "s1"}},
		{Actor: "ivanova", Action: ActionPageRescan, Subject: Subject{PPE: "0101", Auditorium: "0002", Session: "s1", Page: 7, Barcode: "2000000000071"},
			Before: json.RawMessage(`{"image":"p7.tif","sha256":"ab"}`), After: json.RawMessage(`{ "image": "p7-2.tif", "sha256": "cd" }`)},
		{Actor: "ivanova", Action: ActionPageDelete, Subject: Subject{PPE: "0101", Auditorium: "0002", Page: 9},
			Before: json.RawMessage(`{"barcode":"2000000000095"}`), Reason: "пустой лист <без & штрихкода>"},
		{Actor: "petrov", Action: ActionPageMove, Subject: Subject{PPE: "0101", Auditorium: "0003", Page: 2},
			Before: json.RawMessage(`{"auditorium":"0003"}`), After: json.RawMessage(`{"auditorium":"0004"}`)},
		{Actor: "petrov", Action: ActionReviewCorrect, Subject: Subject{PPE: "0101", Auditorium: "0004", Barcode: "1000000000011"},
			Before: json.RawMessage(`{"field":"A3","value":"7"}`), After: json.RawMessage(`{"field":"A3","value":"1"}`)},
		{Actor: "ivanova", Action: ActionAuditoriumClose, Subject: Subject{PPE: "0101", Auditorium: "0002"},
			Reason: "лист 12 не распознан,\nпередан в РЦОИ \"как есть\""},
	}
	return kinds[i%len(kinds)]
}

// writeLog makes a log of n sample entries and returns its folder and the
// entries Append returned.
func writeLog(t testing.TB, n int) (string, []Entry) {
	t.Helper()
	dir := t.TempDir()
	l := openLog(t, dir)
	l.now = testClock(time.Date(2025, 6, 3, 9, 0, 0, 0, time.UTC), 1500*time.Microsecond)
	var out []Entry
	for i := range n {
		e, err := l.Append(sampleEvent(i))
		if err != nil {
			t.Fatalf("Append %d: %v", i+1, err)
		}
		out = append(out, e)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return dir, out
}

func logLines(t testing.TB, dir string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		t.Fatalf("log does not end with a newline")
	}
	lines := bytes.SplitAfter(b, []byte("\n"))
	return lines[:len(lines)-1] // the empty rest after the last newline
}

func TestAppendThenVerify(t *testing.T) {
	dir, written := writeLog(t, 14)
	res, err := VerifyFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatalf("VerifyFile: %v", err)
	}
	last := written[len(written)-1]
	if res.Entries != 14 || res.Head != (Head{14, last.Hash}) || res.Partial != 0 || len(res.Warnings) != 0 {
		t.Fatalf("result %+v, want 14 entries, head %s, no warnings", res, last.Hash)
	}

	// What Walk reads back is what Append returned.
	f, err := os.Open(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	i := 0
	if _, err := Walk(f, func(e Entry) error {
		w := written[i]
		if e.Seq != w.Seq || !e.Time.Equal(w.Time) || e.Actor != w.Actor || e.Action != w.Action || e.Subject != w.Subject ||
			!bytes.Equal(e.Before, w.Before) || !bytes.Equal(e.After, w.After) || e.Reason != w.Reason ||
			e.Prev != w.Prev || e.Hash != w.Hash || !bytes.Equal(e.Text(), w.Text()) {
			return fmt.Errorf("entry %d read back as %+v, written as %+v", i+1, e, w)
		}
		i++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if written[0].Prev != ZeroHash || written[1].Prev != written[0].Hash {
		t.Errorf("prev links: first %s, second %s", written[0].Prev, written[1].Prev)
	}
	if got := written[1].Time.Format(TimeLayout); got != "2025-06-03T09:00:00.003Z" {
		t.Errorf("second entry time %s, want ms precision UTC 2025-06-03T09:00:00.003Z", got)
	}
	if !strings.Contains(string(written[2].Text()), `"reason":"пустой лист \u003cбез \u0026 штрихкода\u003e"`) {
		t.Errorf("reason not as documented (UTF-8, <>& escaped): %s", written[2].Text())
	}

	// Reopening continues the chain.
	l := openLog(t, dir)
	e, err := l.Append(Event{Actor: Station, Action: ActionSessionEnd})
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	if e.Seq != 15 || e.Prev != last.Hash {
		t.Fatalf("after reopen: seq %d prev %s, want 15 and %s", e.Seq, e.Prev, last.Hash)
	}
	if res, err := VerifyFile(filepath.Join(dir, FileName)); err != nil || res.Entries != 15 {
		t.Fatalf("after reopen: %+v, %v", res, err)
	}
}

// TestCanonicalRecipe checks every line with the recipe of the package
// doc, written with string operations only, as the РЦОИ would.
func TestCanonicalRecipe(t *testing.T) {
	dir, _ := writeLog(t, 7)
	prev := strings.Repeat("0", 64)
	for i, line := range logLines(t, dir) {
		s := strings.TrimSuffix(string(line), "\n")
		j := strings.LastIndex(s, `,"hash":"`)
		if j < 0 || !strings.HasSuffix(s, `"}`) || len(s)-j != len(`,"hash":"`)+64+2 {
			t.Fatalf("line %d does not end with its hash: %s", i+1, s)
		}
		hash := s[j+len(`,"hash":"`) : len(s)-2]
		sum := sha256.Sum256([]byte(s[:j] + `,"hash":""}`))
		if hex.EncodeToString(sum[:]) != hash {
			t.Errorf("line %d: recipe hash %x, entry says %s", i+1, sum, hash)
		}
		if !strings.HasPrefix(s, fmt.Sprintf(`{"seq":%d,"time":"`, i+1)) || !strings.Contains(s, `,"prev":"`+prev+`","hash":"`) {
			t.Errorf("line %d: members not in the documented order or prev not linked: %s", i+1, s)
		}
		prev = hash
	}
}

// reencode rewrites entry line with change applied and a correct hash of
// its own, as a forger who knows the format would.
func reencode(t *testing.T, line []byte, change func(*Entry)) []byte {
	t.Helper()
	e, err := parseEntry(bytes.TrimSuffix(line, []byte("\n")))
	if err != nil {
		t.Fatal(err)
	}
	change(&e)
	if err := encode(&e); err != nil {
		t.Fatal(err)
	}
	return append(e.Text(), '\n')
}

func TestVerifyNamesFirstBrokenEntry(t *testing.T) {
	const n = 8
	cases := []struct {
		name     string
		tamper   func(lines [][]byte) [][]byte
		seq      int64
		line     int
		reasonIn string
	}{
		{"flip a byte in a value", func(l [][]byte) [][]byte {
			l[3] = bytes.Replace(l[3], []byte(`"petrov"`), []byte(`"petrox"`), 1)
			return l
		}, 4, 4, "hash mismatch"},
		{"flip a byte of JSON syntax", func(l [][]byte) [][]byte {
			l[2][0] = '['
			return l
		}, 3, 3, "not valid JSON"},
		{"flip a byte of the hash", func(l [][]byte) [][]byte {
			l[4][len(l[4])-5] ^= 1
			return l
		}, 5, 5, ""},
		{"edit a field", func(l [][]byte) [][]byte {
			l[5] = bytes.Replace(l[5], []byte(`"auditorium":"0002"`), []byte(`"auditorium":"0005"`), 1)
			return l
		}, 6, 6, "hash mismatch"},
		{"edit a field and rehash it", func(l [][]byte) [][]byte {
			l[4] = reencode(t, l[4], func(e *Entry) { e.After = json.RawMessage(`{"field":"A3","value":"9"}`) })
			return l
		}, 6, 6, "prev"},
		{"edit the last entry and rehash it", func(l [][]byte) [][]byte {
			l[n-1] = reencode(t, l[n-1], func(e *Entry) { e.Actor = "nobody" })
			return l
		}, 0, 0, ""},
		{"delete a line", func(l [][]byte) [][]byte { return append(l[:4:4], l[5:]...) }, 6, 5, "seq 6 where 5"},
		{"delete the first line", func(l [][]byte) [][]byte { return l[1:] }, 2, 1, "seq 2 where 1"},
		{"reorder two lines", func(l [][]byte) [][]byte {
			l[2], l[3] = l[3], l[2]
			return l
		}, 4, 3, "seq 4 where 3"},
		{"duplicate a line", func(l [][]byte) [][]byte {
			return append(l[:3:3], append([][]byte{l[1]}, l[3:]...)...)
		}, 2, 4, "seq 2 where 4"},
		{"cut the middle of a line", func(l [][]byte) [][]byte {
			m := len(l[5]) / 2
			l[5] = append(l[5][:m:m], l[5][m+20:]...)
			return l
		}, 6, 6, ""},
		{"cut the end of a line but keep its newline", func(l [][]byte) [][]byte {
			l[6] = append(l[6][:30:30], '\n')
			return l
		}, 7, 7, "not valid JSON"},
		{"insert an empty line", func(l [][]byte) [][]byte {
			return append(l[:2:2], append([][]byte{[]byte("\n")}, l[2:]...)...)
		}, 3, 3, "empty line"},
		{"first entry with a prev", func(l [][]byte) [][]byte {
			l[0] = reencode(t, l[0], func(e *Entry) { e.Prev = strings.Repeat("1", 64) })
			return l
		}, 1, 1, "not all zeros"},
		{"renumber an entry and rehash it", func(l [][]byte) [][]byte {
			l[2] = reencode(t, l[2], func(e *Entry) { e.Seq = 33 })
			return l
		}, 33, 3, "seq 33 where 3"},
		{"move the hash off the end", func(l [][]byte) [][]byte {
			l[1] = bytes.Replace(l[1], []byte(`{"seq":2,`), []byte(`{"seq":2,"x":1,`), 1)
			l[1] = bytes.Replace(l[1], []byte(`"}`+"\n"), []byte(`","y":1}`+"\n"), 1)
			return l
		}, 2, 2, "does not end with its hash"},
		{"time in another form", func(l [][]byte) [][]byte {
			l[3] = reencode(t, l[3], func(e *Entry) {})
			l[3] = bytes.Replace(l[3], []byte(`Z","actor"`), []byte(`+00:00","actor"`), 1) // hash now wrong too; time is checked first
			return l
		}, 4, 4, "time"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir, _ := writeLog(t, n)
			path := filepath.Join(dir, FileName)
			lines := c.tamper(logLines(t, dir))
			tampered := bytes.Join(lines, nil)
			if err := os.WriteFile(path, tampered, 0o640); err != nil {
				t.Fatal(err)
			}
			res, err := VerifyFile(path)
			if c.line == 0 {
				// Undetectable by the chain alone: only an anchored head
				// (a hash printed in a protocol) shows it.
				if err != nil {
					t.Fatalf("VerifyFile: %v", err)
				}
				return
			}
			var be *BrokenError
			if !errors.As(err, &be) {
				t.Fatalf("VerifyFile = %+v, %v; want a BrokenError", res, err)
			}
			if be.Seq != c.seq || be.Line != c.line || !strings.Contains(be.Reason, c.reasonIn) {
				t.Fatalf("broken at seq %d line %d (%s); want seq %d line %d with %q", be.Seq, be.Line, be.Reason, c.seq, c.line, c.reasonIn)
			}
			if res.Entries != int64(c.line-1) {
				t.Errorf("Result counts %d good entries, want %d", res.Entries, c.line-1)
			}

			// Open refuses to append after it and repairs nothing.
			l, err := Open(dir)
			if err == nil {
				l.Close()
				t.Fatal("Open accepted a broken log")
			}
			if !errors.As(err, &be) || be.Line != c.line || !strings.Contains(err.Error(), "refusing to append") {
				t.Fatalf("Open error %v; want one naming line %d", err, c.line)
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(after, tampered) {
				t.Fatal("Open changed a broken log")
			}
		})
	}
}

func TestPartialLastLineRecovered(t *testing.T) {
	for _, tail := range []struct {
		name string
		make func(next []byte) []byte
	}{
		{"half an entry", func(next []byte) []byte { return next[:len(next)/2] }},
		{"whole entry without its newline", func(next []byte) []byte { return next[:len(next)-1] }},
		{"zeros after a power loss", func(next []byte) []byte { return make([]byte, 300) }},
	} {
		t.Run(tail.name, func(t *testing.T) {
			dir, written := writeLog(t, 5)
			path := filepath.Join(dir, FileName)
			// The line an interrupted sixth append would have written.
			next := reencode(t, append(written[4].Text(), '\n'), func(e *Entry) { e.Seq, e.Prev = 6, written[4].Hash })
			part := tail.make(next)
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.Write(part)
			f.Close()

			res, err := VerifyFile(path)
			if err != nil || res.Entries != 5 || res.Partial != int64(len(part)) || len(res.Warnings) != 1 {
				t.Fatalf("VerifyFile before recovery: %+v, %v; want 5 entries and a %d-byte partial line", res, err, len(part))
			}

			l := openLog(t, dir)
			rec := l.Head()
			e, err := l.Append(sampleEvent(1))
			if err != nil {
				t.Fatal(err)
			}
			l.Close()
			if rec.Seq != 6 || e.Seq != 7 {
				t.Fatalf("head after recovery %d, next append %d; want 6 and 7", rec.Seq, e.Seq)
			}
			res, err = VerifyFile(path)
			if err != nil || res.Entries != 7 || res.Partial != 0 || len(res.Warnings) != 0 {
				t.Fatalf("VerifyFile after recovery: %+v, %v", res, err)
			}
			got, err := parseEntry(bytes.TrimSuffix(logLines(t, dir)[5], []byte("\n")))
			if err != nil {
				t.Fatal(err)
			}
			var dropped struct {
				Bytes  int64
				Offset int64
				SHA256 string
				Text   string
				Base64 []byte
			}
			if err := json.Unmarshal(got.Before, &dropped); err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(part)
			quoted := append([]byte(dropped.Text), dropped.Base64...)
			if got.Action != ActionLogRecovered || got.Actor != Station || dropped.Bytes != int64(len(part)) ||
				dropped.SHA256 != hex.EncodeToString(sum[:]) || !bytes.Equal(quoted, part) ||
				!strings.Contains(got.Reason, fmt.Sprintf("dropped %d bytes", len(part))) {
				t.Fatalf("recovery entry %s does not record the %d dropped bytes", got.Text(), len(part))
			}
		})
	}
}

func TestBrokenLineBeforePartialIsNotRepaired(t *testing.T) {
	dir, _ := writeLog(t, 4)
	path := filepath.Join(dir, FileName)
	b, _ := os.ReadFile(path)
	b = bytes.Replace(b, []byte(`"ivanova"`), []byte(`"ivanovb"`), 1) // entry 2
	b = append(b, `{"seq":5,"ti`...)
	os.WriteFile(path, b, 0o640)
	if _, err := Open(dir); !IsBroken(err) {
		t.Fatalf("Open = %v, want a broken chain", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, b) {
		t.Fatal("Open cut a log whose chain is broken")
	}
}

func TestConcurrentAppends(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir)
	const workers, each = 6, 20
	var wg sync.WaitGroup
	got := make(chan Entry, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				ev := sampleEvent(i)
				ev.Subject.Session = fmt.Sprint("w", w)
				e, err := l.Append(ev)
				if err != nil {
					t.Error(err)
					return
				}
				got <- e
			}
		})
	}
	wg.Wait()
	close(got)
	l.Close()
	res, err := VerifyFile(filepath.Join(dir, FileName))
	if err != nil || res.Entries != workers*each {
		t.Fatalf("VerifyFile: %+v, %v", res, err)
	}
	seen := map[int64]string{}
	for e := range got {
		if _, dup := seen[e.Seq]; dup {
			t.Fatalf("seq %d returned twice", e.Seq)
		}
		seen[e.Seq] = e.Hash
	}
	for i, line := range logLines(t, dir) {
		e, _ := parseEntry(bytes.TrimSuffix(line, []byte("\n")))
		if seen[int64(i+1)] != e.Hash {
			t.Fatalf("entry %d in the log is not the one Append returned", i+1)
		}
	}
}

func TestOneWriterPerLog(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir)
	if _, err := Open(dir); !errors.Is(err, ErrBusy) {
		t.Fatalf("second Open = %v, want ErrBusy", err)
	}
	l.Close()
	if _, err := l.Append(sampleEvent(0)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close = %v, want ErrClosed", err)
	}
	l = openLog(t, dir)
	l.Close()
}

func TestClockGoingBackIsAWarning(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir)
	base := time.Date(2025, 6, 3, 9, 0, 0, 0, time.UTC)
	times := []time.Time{base, base.Add(-time.Second), base.Add(time.Hour), base.Add(time.Hour - 2*time.Minute), base.Add(time.Hour)}
	i := 0
	l.now = func() time.Time { i++; return times[i-1] }
	for range times {
		if _, err := l.Append(sampleEvent(0)); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	res, err := VerifyFile(filepath.Join(dir, FileName))
	if err != nil || res.Entries != 5 {
		t.Fatalf("VerifyFile: %+v, %v", res, err)
	}
	if len(res.Warnings) != 1 || res.Warnings[0].Seq != 4 || !strings.Contains(res.Warnings[0].Text, "2m0s before") {
		t.Fatalf("warnings %v; want one for entry 4, 2m back (1s back is within tolerance)", res.Warnings)
	}
}

func TestAppendRefusesBadEvents(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir)
	defer l.Close()
	for _, ev := range []Event{
		{Action: ActionPageDelete},
		{Actor: "ivanova"},
		{Actor: "ivanova", Action: "Page Delete"},
		{Actor: "ivanova", Action: ActionPageDelete, Before: json.RawMessage(`{"a":`)},
		{Actor: "ivanova", Action: ActionPageDelete, After: json.RawMessage("\"\xff\"")},
		{Actor: "ivan\xffova", Action: ActionPageDelete},
		{Actor: "ivanova", Action: ActionPageDelete, Subject: Subject{Page: -1}},
		{Actor: "ivanova", Action: ActionPageDelete, After: json.RawMessage(`"` + strings.Repeat("x", MaxEntrySize) + `"`)},
	} {
		if e, err := l.Append(ev); err == nil {
			t.Errorf("Append(%+v) accepted: %s", ev, e.Text())
		}
	}
	if l.Head().Seq != 0 {
		t.Fatalf("refused events were written: head %+v", l.Head())
	}
	if e, err := l.Append(Event{Actor: "ivanova", Action: ActionPageDelete}); err != nil || e.Seq != 1 {
		t.Fatalf("Append after refusals: %+v, %v", e, err)
	}
}

func TestOpenMissingFolderAndFileErrors(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "data")
	l := openLog(t, dir) // a new station: folder and log are made
	l.Close()
	if fi, err := os.Stat(filepath.Join(dir, FileName)); err != nil || fi.Size() != 0 {
		t.Fatalf("new log: %v", err)
	}
	file := filepath.Join(dir, FileName)
	if _, err := Open(file); err == nil || !strings.Contains(err.Error(), "not a folder") {
		t.Fatalf("Open(a file) = %v", err)
	}
	if _, err := VerifyFile(filepath.Join(dir, "missing.log")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("VerifyFile(missing) = %v", err)
	}
}

func TestExcerpt(t *testing.T) {
	dir, _ := writeLog(t, 12)
	l := openLog(t, dir)
	x, err := l.Excerpt(Filter{PPE: "0101", Auditorium: "0002", Station: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(x.Entries) == 0 || x.Head != l.Head() {
		t.Fatalf("excerpt: %d entries, head %+v, log head %+v", len(x.Entries), x.Head, l.Head())
	}
	for _, e := range x.Entries {
		if e.Subject.Auditorium != "0002" {
			t.Fatalf("excerpt holds entry %d of auditorium %s", e.Seq, e.Subject.Auditorium)
		}
	}
	if x2, _ := l.Excerpt(Filter{Action: "page."}); len(x2.Entries) != 6 {
		t.Fatalf("Filter{Action: page.} selected %d entries, want 6", len(x2.Entries))
	}
	// The log grows after the excerpt is made.
	if _, err := l.Append(sampleEvent(3)); err != nil {
		t.Fatal(err)
	}
	l.Close()

	// Sent as indented JSON, read back and checked at the РЦОИ.
	sent, err := json.MarshalIndent(x, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	var got Excerpt
	if err := json.Unmarshal(sent, &got); err != nil {
		t.Fatalf("read excerpt: %v", err)
	}
	if err := got.Check(); err != nil {
		t.Fatalf("Check: %v", err)
	}
	full, _ := os.ReadFile(filepath.Join(dir, FileName))
	if err := got.CheckLog(bytes.NewReader(full)); err != nil {
		t.Fatalf("CheckLog: %v", err)
	}

	// A changed value in the excerpt fails its entry's hash.
	forged := bytes.Replace(sent, []byte(`p7-2.tif`), []byte(`p7-3.tif`), 1)
	if bytes.Equal(forged, sent) {
		t.Fatal("test excerpt holds no rescan")
	}
	if err := json.Unmarshal(forged, &got); err == nil || !strings.Contains(err.Error(), "hash mismatch") {
		t.Fatalf("forged excerpt read with %v", err)
	}
	// An excerpt does not fit another log.
	other := t.TempDir()
	ol := openLog(t, other) // same events, other times
	for i := range 13 {
		ol.Append(sampleEvent(i))
	}
	ol.Close()
	otherLog, _ := os.ReadFile(filepath.Join(other, FileName))
	var fresh Excerpt
	json.Unmarshal(sent, &fresh)
	if err := fresh.CheckLog(bytes.NewReader(otherLog)); err == nil {
		t.Fatal("excerpt checked against another station's log")
	}
	// A log cut before the excerpt's head does not reach it.
	lines := bytes.SplitAfter(full, []byte("\n"))
	if err := fresh.CheckLog(bytes.NewReader(bytes.Join(lines[:5], nil))); err == nil || !strings.Contains(err.Error(), "before the excerpt's head") {
		t.Fatalf("CheckLog on a cut log = %v", err)
	}
	// ReadExcerpt works without the writer's lock and gives the same.
	x3, err := ReadExcerpt(dir, Filter{PPE: "0101", Auditorium: "0002", Station: true})
	if err != nil || len(x3.Entries) != len(x.Entries) || x3.Head.Seq != 13 {
		t.Fatalf("ReadExcerpt: %+v, %v", x3, err)
	}
}

func BenchmarkAppend(b *testing.B) {
	l := openLog(b, b.TempDir())
	defer l.Close()
	ev := sampleEvent(1)
	for b.Loop() {
		if _, err := l.Append(ev); err != nil {
			b.Fatal(err)
		}
	}
}
