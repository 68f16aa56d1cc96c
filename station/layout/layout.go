// Package layout names every path in a station's data folder, so that the
// layout is written down once. The packages that own a file (the store,
// the audit log, the users, the outbox) take its name from here.
//
//	store.db                 page index and operator decisions (station/store)
//	pages/PPE/AUD/           page images (station/store)
//	orphans/                 images found without a record on start (station/store)
//	station.db               serial and kit counters, print jobs (station/serials)
//	audit.log                hash-chained audit log (station/audit)
//	users.json               accounts (station/users)
//	setup-code.txt           one-time code of the first start, while there are no accounts
//	keys/                    station key and the РЦОИ's recipients (transport/seal)
//	outbox/PPE/              sealed packages (station/packaging)
//	protocols/PPE/           ППЭ-15 prints, summaries, signed copies (station/packaging)
//	acts/PPE/                a ППЭ's acts: data, PDFs, signed scans (station/acts)
//	sending/, outbox.db      upload queue and its copies (transport/upload)
//	receipts/PPE/            the РЦОИ's signed receipts
//	rcoi.json                the РЦОИ's address and receipt key
//	print/                   PDFs printed by the demo
//	attachments/PPE/AUD/     КЕГЭ answer files and oral-answer audio with their index.json (station/attach)
//	station.sock             the daemon's local API (0600)
package layout

import "path/filepath"

// File and folder names inside the data folder.
const (
	StoreDB    = "store.db"
	PagesDir   = "pages"
	OrphansDir = "orphans"
	SerialsDB  = "station.db"
	AuditLog   = "audit.log"
	UsersFile  = "users.json"
	SetupCode  = "setup-code.txt"
	KeysDir    = "keys"
	OutboxDir  = "outbox"
	Protocols  = "protocols"
	ActsDir    = "acts"
	UploadDir  = "sending"   // transport/upload.OutboxDir
	UploadDB   = "outbox.db" // transport/upload.OutboxDB
	ReceiptDir = "receipts"
	RCOIFile   = "rcoi.json"
	PrintDir   = "print"
	SocketFile = "station.sock"
	AttachDir  = "attachments"
)

// Dir is a data folder.
type Dir string

func (d Dir) join(parts ...string) string {
	return filepath.Join(append([]string{string(d)}, parts...)...)
}

// Sub is a top-level file or folder of the data folder by its name.
func (d Dir) Sub(name string) string { return d.join(name) }

// Store is the page index.
func (d Dir) Store() string { return d.join(StoreDB) }

// Serials is the counters database.
func (d Dir) Serials() string { return d.join(SerialsDB) }

// AuditLog is the audit log.
func (d Dir) AuditLog() string { return d.join(AuditLog) }

// Users is the accounts file.
func (d Dir) Users() string { return d.join(UsersFile) }

// Keys is the folder of the station's and the РЦОИ's keys.
func (d Dir) Keys() string { return d.join(KeysDir) }

// Outbox is the folder of a ППЭ's sealed packages.
func (d Dir) Outbox(ppe string) string { return d.join(OutboxDir, ppe) }

// OutboxRoot is the folder of every ППЭ's sealed packages.
func (d Dir) OutboxRoot() string { return d.join(OutboxDir) }

// Protocols is the folder of a ППЭ's ППЭ-15 prints and signed copies.
func (d Dir) Protocols(ppe string) string { return d.join(Protocols, ppe) }

// Acts is the folder of a ППЭ's acts (acceptance, incidents, the list of
// removed and unfinished participants).
func (d Dir) Acts(ppe string) string { return d.join(ActsDir, ppe) }

// Receipts is the folder of the РЦОИ's receipts for a ППЭ.
func (d Dir) Receipts(ppe string) string { return d.join(ReceiptDir, ppe) }

// RCOI is the file of the РЦОИ's address and receipt key.
func (d Dir) RCOI() string { return d.join(RCOIFile) }

// Print is the folder of PDFs the station printed for the demo.
func (d Dir) Print() string { return d.join(PrintDir) }

// Socket is the daemon's local API.
func (d Dir) Socket() string { return d.join(SocketFile) }

// Attachments is the folder of an auditorium's КЕГЭ answer files and
// oral-answer audio.
func (d Dir) Attachments(ppe, auditorium string) string { return d.join(AttachDir, ppe, auditorium) }
