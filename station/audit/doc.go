// Package audit keeps the station's audit log: an append-only, hash-chained
// record of every correction an operator makes to the scanned pages and of
// every scan session event. The log is a legal record: the руководитель ППЭ
// signs protocols based on it and an excerpt of it goes to the РЦОИ, so an
// entry is only reported as written once it is on disk, and an entry that
// was changed afterwards is detected and never repaired.
//
// # File
//
// The log is the file audit.log in the station data folder. It holds one
// entry per line in JSON (UTF-8, each line ended by "\n"). Entries are
// numbered by seq from 1 and line N holds entry N.
//
// # Entry
//
// An entry is a JSON object with these members, always in this order:
//
//	seq      number   1, 2, 3, …
//	time     string   UTC time of the append, "2006-01-02T15:04:05.000Z"
//	                  (RFC 3339, exactly three fraction digits, "Z")
//	actor    string   operator login, or "station" for the station itself
//	action   string   what happened, e.g. "page.rescan", "auditorium.close"
//	subject  object   ids of what it happened to: ppe, auditorium, session,
//	                  page, barcode; members that do not apply are left out
//	before   any      state before the change (left out when none)
//	after    any      state after the change (left out when none)
//	reason   string   operator's reason (left out when none)
//	prev     string   hash of the previous entry; 64 "0" for entry 1
//	hash     string   hash of this entry, 64 lowercase hex digits
//
// # Canonical bytes and hash
//
// The canonical text of an entry is its JSON text with insignificant
// whitespace removed (the entry's line in the log is already in this form;
// re-indenting an entry, for instance in an excerpt, does not change it).
// The canonical bytes are the canonical text with the value of the final
// member emptied: the text must end with
//
//	,"hash":"<64 lowercase hex digits>"}
//
// and that end is replaced by
//
//	,"hash":""}
//
// hash is the lowercase hex SHA-256 of the canonical bytes, and prev of
// entry N is the hash of entry N-1. Because the hash covers the text as
// written, a verifier needs no JSON encoder that matches this package's:
// it cuts and replaces the end of the text, hashes, and compares. A
// verifier must not decode and re-encode an entry before hashing, as
// another encoder may escape characters differently.
//
// In shell, for line N of audit.log:
//
//	sed -n Np audit.log | sed 's/"hash":"[0-9a-f]*"}$/"hash":""}/' | tr -d '\n' | sha256sum
//
// # What verification checks
//
// Verify reads the log from the start and stops at the first broken entry:
// a line that is not a JSON object, lacks the hash at its end or has an
// invalid time, a seq that is not the previous one plus 1, a prev that is
// not the previous entry's hash, or a hash that does not match. The error
// names the entry by its line and, when it could be read, its seq.
//
// The chain shows that no entry was changed, removed, inserted or reordered
// relative to the entries after it. It cannot show that entries were cut
// off the end or that the whole log was rewritten: the head hash (the hash
// of the last entry) printed in a signed protocol anchors the log up to
// that entry, and Walk lets a verifier check that a known head is still in
// the log.
//
// A clock that goes back is not a broken chain: the station clock may be
// corrected while it runs. Verify reports a step back of more than
// ClockTolerance as a warning and goes on.
//
// # Crashes
//
// Each append is one write of a whole line followed by fsync, made under a
// lock, so a crash (power loss, SIGKILL) can leave at most one unfinished
// line at the end of the file, without its "\n". Open cuts such a line off
// and records a "log.recovered" entry saying how many bytes were dropped
// (and what they were), since the append they belonged to never returned.
// Verify reports such a line as a warning, not as a broken entry. A line
// that ends with "\n" but does not verify is never cut: Open refuses to
// append after it.
package audit
