package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// TimeLayout is the layout of an entry's time: RFC 3339 in UTC with
// exactly three fraction digits, so every time has the same length and
// sorts as text.
const TimeLayout = "2006-01-02T15:04:05.000Z"

// ZeroHash is the prev of the first entry.
const ZeroHash = "0000000000000000000000000000000000000000000000000000000000000000"

// MaxEntrySize bounds the canonical text of one entry. Before and after
// values describe a page or a reviewed value, not whole images; the bound
// keeps a damaged file from making Verify read gigabytes into one line.
const MaxEntrySize = 1 << 20

// Station is the actor of the entries the station writes itself, as
// opposed to an operator's login.
const Station = "station"

// Subject names what an entry is about. Members that do not apply are
// left empty and are left out of the entry.
type Subject struct {
	PPE        string `json:"ppe,omitempty"`        // ППЭ code, 4 digits
	Auditorium string `json:"auditorium,omitempty"` // auditorium number, 4 digits
	Session    string `json:"session,omitempty"`    // scan session id
	Page       int    `json:"page,omitempty"`       // page sequence number in the session, from 1
	Barcode    string `json:"barcode,omitempty"`    // page barcode
}

// Event is what a caller appends: the log adds seq, time and the hashes.
type Event struct {
	// Actor is the operator's login, or Station.
	Actor string
	// Action says what happened; see the Action constants.
	Action string
	// Subject names what it happened to.
	Subject Subject
	// Before and After are the state before and after the change, as JSON;
	// nil when there is none (nothing before an insert, say).
	Before, After json.RawMessage
	// Reason is the operator's reason, when one is given.
	Reason string
}

// Entry is one entry of the log, as written.
type Entry struct {
	Seq     int64           // position in the log, from 1
	Time    time.Time       // UTC, whole milliseconds
	Actor   string          // operator login or Station
	Action  string          // see the Action constants
	Subject Subject         // what the entry is about
	Before  json.RawMessage // state before, compacted; nil when none
	After   json.RawMessage // state after, compacted; nil when none
	Reason  string          // operator's reason; "" when none
	Prev    string          // Hash of the previous entry; ZeroHash for the first
	Hash    string          // SHA-256 of the canonical bytes, lowercase hex

	text []byte // canonical text, as written; what Hash covers
}

// wire is the JSON form of an entry. Its field order is the order of the
// members in the log; Hash must stay last (see the package doc).
type wire struct {
	Seq     int64           `json:"seq"`
	Time    string          `json:"time"`
	Actor   string          `json:"actor"`
	Action  string          `json:"action"`
	Subject Subject         `json:"subject"`
	Before  json.RawMessage `json:"before,omitempty"`
	After   json.RawMessage `json:"after,omitempty"`
	Reason  string          `json:"reason,omitempty"`
	Prev    string          `json:"prev"`
	Hash    string          `json:"hash"`
}

// hashTail is how the canonical bytes end; the written text has the hash
// between its quotes.
const hashTail = `,"hash":""}`

// Text returns the entry's canonical text as written in the log (without
// the newline). It is nil for an Entry that was not written or read.
func (e Entry) Text() []byte { return e.text }

// MarshalJSON writes the entry's text exactly as it is in the log, so an
// excerpt made by encoding entries can be verified against their hashes.
func (e Entry) MarshalJSON() ([]byte, error) {
	if e.text == nil {
		return nil, errors.New("audit: entry was not read from or written to a log")
	}
	return e.text, nil
}

// UnmarshalJSON reads an entry and checks its own hash (not its place in a
// chain). Indentation added around it is allowed: it is not part of the
// canonical text.
func (e *Entry) UnmarshalJSON(b []byte) error {
	got, err := parseEntry(b)
	if err != nil {
		return err
	}
	*e = got
	return nil
}

// encode makes the entry's canonical text and hash from its fields.
func encode(e *Entry) error {
	w := wire{
		Seq: e.Seq, Time: e.Time.UTC().Format(TimeLayout), Actor: e.Actor, Action: e.Action,
		Subject: e.Subject, Before: e.Before, After: e.After, Reason: e.Reason, Prev: e.Prev,
	}
	// json.Marshal escapes <, > and & in strings and raw values; that is
	// kept on purpose, since it makes the text stable when an encoder with
	// the same default embeds it again (Entry.MarshalJSON in an excerpt).
	canon, err := json.Marshal(w)
	if err != nil {
		return fmt.Errorf("encode entry %d: %w", e.Seq, err)
	}
	if !bytes.HasSuffix(canon, []byte(hashTail)) {
		return fmt.Errorf("encode entry %d: hash is not the last member", e.Seq) // a broken wire struct
	}
	if len(canon)+64 > MaxEntrySize {
		return fmt.Errorf("entry %d is %d bytes, more than the %d allowed", e.Seq, len(canon)+64, MaxEntrySize)
	}
	sum := sha256.Sum256(canon)
	e.Hash = hex.EncodeToString(sum[:])
	text := make([]byte, 0, len(canon)+64)
	text = append(text, canon[:len(canon)-2]...)
	text = append(text, e.Hash...)
	text = append(text, `"}`...)
	e.text = text
	// Read back what Marshal made of the raw values (compacted, escaped),
	// so the returned entry equals what a reader of the log gets.
	var back wire
	if err := json.Unmarshal(text, &back); err != nil {
		return fmt.Errorf("encode entry %d: %w", e.Seq, err)
	}
	e.Before, e.After = back.Before, back.After
	e.Time = e.Time.UTC().Truncate(time.Millisecond)
	return nil
}

// parseEntry reads one entry's text and checks it against its own hash.
// The error says what is wrong, for a BrokenError's Reason.
func parseEntry(b []byte) (Entry, error) {
	var canon bytes.Buffer
	if err := json.Compact(&canon, b); err != nil {
		return Entry{}, fmt.Errorf("not valid JSON: %v", err)
	}
	text := canon.Bytes()
	if len(text) > MaxEntrySize {
		return Entry{}, fmt.Errorf("entry is %d bytes, more than the %d allowed", len(text), MaxEntrySize)
	}
	const tailLen = len(`,"hash":"`) + 64 + len(`"}`)
	if len(text) < tailLen || !bytes.HasPrefix(text[len(text)-tailLen:], []byte(`,"hash":"`)) ||
		!bytes.HasSuffix(text, []byte(`"}`)) || !isHex(text[len(text)-66:len(text)-2]) {
		return Entry{}, errors.New(`entry does not end with its hash ("hash":"<64 hex digits>")`)
	}
	var w wire
	if err := json.Unmarshal(text, &w); err != nil {
		return Entry{}, fmt.Errorf("not an entry: %v", err)
	}
	hash := string(text[len(text)-66 : len(text)-2])
	if w.Hash != hash {
		return Entry{}, errors.New("hash member does not match the end of the entry")
	}
	t, err := time.Parse(TimeLayout, w.Time)
	if err != nil || t.Format(TimeLayout) != w.Time {
		return Entry{}, fmt.Errorf("time %q is not in the form %s", w.Time, TimeLayout)
	}
	if len(w.Prev) != 64 || !isHex([]byte(w.Prev)) {
		return Entry{}, fmt.Errorf("prev %q is not 64 hex digits", w.Prev)
	}
	h := sha256.New()
	h.Write(text[:len(text)-tailLen])
	h.Write([]byte(hashTail))
	if sum := hex.EncodeToString(h.Sum(nil)); sum != hash {
		return Entry{}, fmt.Errorf("hash mismatch: entry says %s, its content hashes to %s", short(hash), short(sum))
	}
	return Entry{
		Seq: w.Seq, Time: t, Actor: w.Actor, Action: w.Action, Subject: w.Subject,
		Before: w.Before, After: w.After, Reason: w.Reason, Prev: w.Prev, Hash: hash,
		text: bytes.Clone(text),
	}, nil
}

// validate refuses events that would make a useless or ambiguous record.
func (ev *Event) validate() error {
	if ev.Actor == "" {
		return errors.New("audit event without an actor (use audit.Station for the station itself)")
	}
	if ev.Action == "" {
		return errors.New("audit event without an action")
	}
	if strings.Trim(ev.Action, "abcdefghijklmnopqrstuvwxyz0123456789._-") != "" {
		return fmt.Errorf("audit action %q: want lowercase letters, digits, '.', '_' and '-'", ev.Action)
	}
	if ev.Subject.Page < 0 {
		return fmt.Errorf("audit event %s: page %d is negative", ev.Action, ev.Subject.Page)
	}
	// encoding/json would silently replace invalid UTF-8 with U+FFFD; a
	// legal record must not say something other than what was given.
	for _, s := range []string{ev.Actor, ev.Reason, ev.Subject.PPE, ev.Subject.Auditorium, ev.Subject.Session, ev.Subject.Barcode} {
		if !utf8.ValidString(s) {
			return fmt.Errorf("audit event %s: text %q is not valid UTF-8", ev.Action, s)
		}
	}
	for _, r := range []struct {
		name string
		v    json.RawMessage
	}{{"before", ev.Before}, {"after", ev.After}} {
		if len(r.v) > 0 && (!json.Valid(r.v) || !utf8.Valid(r.v)) {
			return fmt.Errorf("audit event %s: %s is not valid UTF-8 JSON", ev.Action, r.name)
		}
	}
	return nil
}

func isHex(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// short shortens a hash for messages; 12 digits tell hashes apart.
func short(h string) string {
	if len(h) > 12 {
		return h[:12] + "…"
	}
	return h
}
