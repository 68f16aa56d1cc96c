// Package reconcile compares what was scanned for an exam with what should
// have been: the exam plan, the confirmed ППЭ-13-02-МАШ counts and the
// blanks' own marks. It is a pure function from those inputs to the report
// of exam.md; storing pages and confirming values belong to its callers.
package reconcile

import "giascan/station/exam"

// Problem kinds of exam.md. Never rename one: outside tools read them.
const (
	KindMissing            = "missing"
	KindChainGap           = "chain_gap"
	KindDuplicateScan      = "duplicate_scan"
	KindDuplicateBarcode   = "duplicate_barcode"
	KindForeign            = "foreign"
	KindUnknownKit         = "unknown_kit"
	KindUnreadable         = "unreadable"
	KindCountMismatch      = "count_mismatch"
	KindRemovedMismatch    = "removed_mismatch"
	KindUnfinishedMismatch = "unfinished_mismatch"
	KindNeedsReview        = "needs_review"
	// KindFormMissing is this project's addition: the ППЭ-13-02-МАШ counts
	// for the auditorium are not confirmed yet, so nothing can be
	// reconciled against them.
	KindFormMissing = "form_missing"
)

// kindRank orders problems in a report: page identity first, then what is
// missing, then counts, then what waits for a person.
var kindRank = map[string]int{
	KindUnreadable: 0, KindForeign: 1, KindDuplicateBarcode: 2, KindDuplicateScan: 3,
	KindUnknownKit: 4, KindMissing: 5, KindChainGap: 6, KindFormMissing: 7,
	KindCountMismatch: 8, KindRemovedMismatch: 9, KindUnfinishedMismatch: 10, KindNeedsReview: 11,
}

// Statuses of an auditorium.
const (
	StatusOpen       = "open"
	StatusReconciled = "reconciled"
	StatusClosed     = "closed"
)

// Blank names of the counts, as keys of Expected and Scanned.
const (
	BlankBO1   = "bo1"
	BlankBO2S1 = "bo2s1"
	BlankBO2S2 = "bo2s2"
	BlankDBO2  = "dbo2"
)

// Report is the report of exam.md (`station report --json`).
type Report struct {
	Exam       exam.Header `json:"exam"`
	PPE        []PPE       `json:"ppe"`
	Unassigned []Problem   `json:"unassigned"`
}

// PPE is the report of one ППЭ: its auditoriums in exam file order.
type PPE struct {
	Code        string       `json:"code"`
	Auditoriums []Auditorium `json:"auditoriums"`
	// Life is where the ППЭ stands on its way to the РЦОИ (its ППЭ-15,
	// its closing set), filled in by the station; absent in a bare report.
	Life any `json:"life,omitempty"`
}

// Auditorium is the report of one auditorium.
type Auditorium struct {
	Number   string    `json:"number"`
	Expected *Counts   `json:"expected,omitempty"` // absent until confirmed
	Scanned  Scanned   `json:"scanned"`
	Problems []Problem `json:"problems"`
	Status   string    `json:"status"`
	Reason   string    `json:"reason,omitempty"` // operator's reason for closing with problems
	// Life is where the auditorium stands (closed, sealed, sent,
	// acknowledged, with times), filled in by the station.
	Life any `json:"life,omitempty"`
}

// Counts are one auditorium's row of the ППЭ-13-02-МАШ.
type Counts struct {
	Listed     int `json:"listed"`     // участников по списку
	Present    int `json:"present"`    // явились
	Absent     int `json:"absent"`     // не явились
	Removed    int `json:"removed"`    // удалены с экзамена
	Unfinished int `json:"unfinished"` // не закончили по уважительной причине
	BO1        int `json:"bo1"`        // бланков ответов №1
	BO2S1      int `json:"bo2s1"`      // бланков ответов №2 лист 1
	BO2S2      int `json:"bo2s2"`      // бланков ответов №2 лист 2
	DBO2       int `json:"dbo2"`       // дополнительных бланков ответов №2
	Defective  int `json:"defective"`  // испорченных и бракованных ИК
}

// Scanned counts the distinct sheets of an auditorium by blank type; a
// sheet scanned twice counts once. Other holds pages that are no answer
// blank of the auditorium's participants: ППЭ forms and unreadable pages.
type Scanned struct {
	BO1   int `json:"bo1"`
	BO2S1 int `json:"bo2s1"`
	BO2S2 int `json:"bo2s2"`
	DBO2  int `json:"dbo2"`
	Other int `json:"other"`
}

// Problem is one thing that stands between an auditorium and a clean
// package. Detail says in Russian what to do about it.
type Problem struct {
	Kind    string `json:"kind"`
	Kit     string `json:"kit,omitempty"`
	Sheet   *int   `json:"sheet,omitempty"` // L: 0 is БО №1, so it is a pointer
	Barcode string `json:"barcode,omitempty"`
	Seq     int    `json:"seq,omitempty"`  // scan sequence number within the auditorium
	File    string `json:"file,omitempty"` // where the page came from a file
	// Blank names the count a count_mismatch is about (bo1, bo2s1, …).
	Blank string `json:"blank,omitempty"`
	// PPE and Auditorium say where an unassigned page was scanned.
	PPE        string `json:"ppe,omitempty"`
	Auditorium string `json:"auditorium,omitempty"`
	// MoveTo is the auditorium of this ППЭ a foreign page belongs to.
	MoveTo string `json:"move_to,omitempty"`
	Detail string `json:"detail"`
}
