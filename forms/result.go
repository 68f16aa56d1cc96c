package forms

// Mark states of a box, as the recognizer contract names them.
const (
	MarkMarked    = "marked"
	MarkEmpty     = "empty"
	MarkAmbiguous = "ambiguous"
)

// Flags of the recognizer contract (recognize-cli.md). Never rename one.
const (
	FlagNoBarcode         = "no_barcode"
	FlagNoQR              = "no_qr"
	FlagBarcodeQRMismatch = "barcode_qr_mismatch"
	FlagBadCheckDigit     = "bad_check_digit"
	FlagUnknownType       = "unknown_type"
	FlagBlankPage         = "blank_page"
	FlagAnchorMissing     = "anchor_missing"
	FlagLowResolution     = "low_resolution"
	FlagTooDark           = "too_dark"
	FlagTooLight          = "too_light"
	FlagSkewExceeded      = "skew_exceeded"
	FlagMultipleMarks     = "multiple_marks"
	FlagAmbiguousMark     = "ambiguous_mark"
	FlagUnreadableDigit   = "unreadable_digit"
	FlagEmptyAnswerArea   = "empty_answer_area"
	FlagNoSignature       = "no_signature"
	// FlagBarcodeFromDigits: the bars did not read, and the barcode is the
	// human-readable digits printed under them, whose check digit verifies
	// and which equal the QR code's B.
	FlagBarcodeFromDigits = "barcode_from_digits"
)

// Context is the QR context of a page as the recognizer reports it.
type Context struct {
	Level      int    `json:"level,omitempty"`
	Region     string `json:"region,omitempty"`
	PPE        string `json:"ppe,omitempty"`
	Auditorium string `json:"auditorium,omitempty"`
	Subject    string `json:"subject,omitempty"`
	Date       string `json:"date,omitempty"`
	Kit        string `json:"kit,omitempty"`
	Sheet      *int   `json:"sheet,omitempty"`
	Manifest   string `json:"manifest,omitempty"`
}

// ContextOf returns the reported context of a page identity.
func ContextOf(id Identity) Context {
	sheet := id.Sheet
	return Context{Level: id.Level, Region: id.Region, PPE: id.PPE, Auditorium: id.Auditorium,
		Subject: id.Subject, Date: id.Date, Kit: id.Kit, Sheet: &sheet, Manifest: id.Manifest}
}

// PageResult is one line of `station recognize` output (recognize-cli.md);
// the simulated scanner writes the same shape as ground truth.
type PageResult struct {
	File    string `json:"file"`
	Page    int    `json:"page"`
	Error   string `json:"error,omitempty"`
	Type    string `json:"type"`
	Barcode string `json:"barcode"`
	// BarcodeDigits is what the digits printed under the bars read as,
	// '?' for one not legible; only on pages whose bars did not read.
	BarcodeDigits string             `json:"barcode_digits,omitempty"`
	Context       Context            `json:"context"`
	Rotation      int                `json:"rotation"`
	Skew          float64            `json:"skew"`
	Marks         map[string]string  `json:"marks"`
	Digits        map[string]string  `json:"digits"`
	Ink           map[string]float64 `json:"ink"`
	Flags         []string           `json:"flags"`
	NeedsReview   bool               `json:"needs_review"`
	Review        []string           `json:"review"`
	Ms            float64            `json:"ms"`
}

// NewPageResult returns a result with every collection empty but not nil,
// so that JSON shows {} and [] rather than null.
func NewPageResult(file string, page int) PageResult {
	return PageResult{File: file, Page: page, Marks: map[string]string{}, Digits: map[string]string{},
		Ink: map[string]float64{}, Flags: []string{}, Review: []string{}}
}
