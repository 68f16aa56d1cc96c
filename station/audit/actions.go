package audit

// Actions the station records. Callers may use other actions of the same
// form; these constants keep the common ones spelt the same everywhere,
// which matters when the РЦОИ filters an excerpt by action.
const (
	// Page corrections by an operator.
	ActionPageRescan   = "page.rescan"   // one page scanned again in place
	ActionPageReplace  = "page.replace"  // a page replaced by another scan
	ActionPageInsert   = "page.insert"   // a page inserted into a stack
	ActionPageDelete   = "page.delete"   // a page removed from a stack
	ActionPageMove     = "page.move"     // a page moved to another auditorium
	ActionPageIdentify = "page.identify" // an unreadable page identified by its typed barcode

	// Review of recognised values.
	ActionReviewConfirm = "review.confirm" // a value shown for review confirmed as read
	ActionReviewCorrect = "review.correct" // a value shown for review corrected

	// Auditoriums and scan sessions.
	ActionAuditoriumClose = "auditorium.close" // closed; with a reason when problems are left
	ActionSessionStart    = "session.start"
	ActionSessionEnd      = "session.end"
	ActionSessionAbort    = "session.abort"

	// The log itself.
	ActionLogRecovered = "log.recovered" // an unfinished last line was cut off on Open
)
