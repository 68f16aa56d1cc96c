package forms

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ContractVersion is the value of the QR key V this code writes and reads.
const ContractVersion = 1

// Subjects maps the contract's subject codes to their Russian names.
var Subjects = map[string]string{
	"01": "Русский язык",
	"02": "Математика",
	"03": "Физика",
	"04": "Химия",
	"05": "Информатика",
	"06": "Биология",
	"07": "История",
	"08": "География",
	"09": "Английский язык",
	"10": "Немецкий язык",
	"11": "Французский язык",
	"12": "Обществознание",
	"13": "Испанский язык",
	"18": "Литература",
}

// Identity is what a page's barcode and QR code say about it.
type Identity struct {
	Level      int    `json:"level"`              // 9 or 11
	Region     string `json:"region"`             // 2 digits
	PPE        string `json:"ppe"`                // 4 digits
	Auditorium string `json:"auditorium"`         // 4 digits, 0000 on ППЭ-wide forms
	Subject    string `json:"subject"`            // 2 digits
	Date       string `json:"date"`               // YYYYMMDD
	Type       string `json:"type"`               // page type TT
	Barcode    string `json:"barcode"`            // 13 digits
	Kit        string `json:"kit"`                // 10 digits, 0000000000 where none
	Sheet      int    `json:"sheet"`              // L
	Manifest   string `json:"manifest,omitempty"` // H, type 55 only
}

// NoKit is the kit number of pages that belong to no participant.
const NoKit = "0000000000"

// LuhnDigit computes the Luhn check digit of a string of decimal digits.
func LuhnDigit(digits string) (byte, error) {
	if !isDigits(digits) {
		return 0, fmt.Errorf("luhn: %q is not a string of digits", digits)
	}
	sum := 0
	double := true // the rightmost payload digit is doubled
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return byte('0' + (10-sum%10)%10), nil
}

// MaxSerial is the largest 10-digit serial.
const MaxSerial = 9_999_999_999

// MakeBarcode builds the 13-digit barcode TT SSSSSSSSSS C.
func MakeBarcode(pageType string, serial uint64) (string, error) {
	if len(pageType) != 2 || !isDigits(pageType) {
		return "", fmt.Errorf("page type %q: want two digits", pageType)
	}
	if serial > MaxSerial {
		return "", fmt.Errorf("serial %d does not fit 10 digits", serial)
	}
	body := fmt.Sprintf("%s%010d", pageType, serial)
	c, _ := LuhnDigit(body)
	return body + string(c), nil
}

// Errors of barcode checks, to be told apart by callers.
var (
	ErrBarcodeFormat = errors.New("barcode is not 13 digits")
	ErrCheckDigit    = errors.New("barcode check digit is wrong")
)

// CheckBarcode verifies length, digits and the Luhn check digit.
func CheckBarcode(b string) error {
	if len(b) != 13 || !isDigits(b) {
		return fmt.Errorf("%w: %q", ErrBarcodeFormat, b)
	}
	c, _ := LuhnDigit(b[:12])
	if b[12] != c {
		return fmt.Errorf("%w: %s", ErrCheckDigit, b)
	}
	return nil
}

// QRText encodes the identity as the QR content of the contract.
func (id Identity) QRText() string {
	var b strings.Builder
	fmt.Fprintf(&b, "GIA1;V=%d;E=%d;R=%s;P=%s;A=%s;S=%s;D=%s;T=%s;B=%s;K=%s;L=%d",
		ContractVersion, id.Level, id.Region, id.PPE, id.Auditorium, id.Subject, id.Date,
		id.Type, id.Barcode, id.Kit, id.Sheet)
	if id.Manifest != "" {
		b.WriteString(";H=" + id.Manifest)
	}
	return b.String()
}

// Validate checks every value against the contract's formats.
func (id Identity) Validate() error {
	switch {
	case id.Level != 9 && id.Level != 11:
		return fmt.Errorf("E (level) %d: want 9 or 11", id.Level)
	case !fixedDigits(id.Region, 2):
		return fmt.Errorf("R (region) %q: want 2 digits", id.Region)
	case !fixedDigits(id.PPE, 4):
		return fmt.Errorf("P (ППЭ) %q: want 4 digits", id.PPE)
	case !fixedDigits(id.Auditorium, 4):
		return fmt.Errorf("A (auditorium) %q: want 4 digits", id.Auditorium)
	case !fixedDigits(id.Subject, 2):
		return fmt.Errorf("S (subject) %q: want 2 digits", id.Subject)
	case !validDate(id.Date):
		return fmt.Errorf("D (date) %q: want YYYYMMDD", id.Date)
	case !fixedDigits(id.Type, 2):
		return fmt.Errorf("T (type) %q: want 2 digits", id.Type)
	case !fixedDigits(id.Kit, 10):
		return fmt.Errorf("K (kit) %q: want 10 digits", id.Kit)
	case id.Sheet < 0 || id.Sheet > 99:
		return fmt.Errorf("L (sheet) %d: want 0..99", id.Sheet)
	}
	if err := CheckBarcode(id.Barcode); err != nil {
		return fmt.Errorf("B: %w", err)
	}
	if id.Barcode[:2] != id.Type {
		return fmt.Errorf("B %s does not start with T %s", id.Barcode, id.Type)
	}
	if id.Type == TypePPE15 {
		if !isHex16(id.Manifest) {
			return fmt.Errorf("H (manifest) %q: want 16 hex digits", id.Manifest)
		}
	} else if id.Manifest != "" {
		return fmt.Errorf("H is only for type %s", TypePPE15)
	}
	return nil
}

// ParseQR reads QR content of the contract. Unknown keys are ignored; a
// missing or malformed required key is an error, never a guess.
func ParseQR(s string) (Identity, error) {
	const prefix = "GIA1;"
	if !strings.HasPrefix(s, prefix) {
		return Identity{}, errors.New("QR content does not start with GIA1;")
	}
	kv := map[string]string{}
	for _, part := range strings.Split(s[len(prefix):], ";") {
		k, v, ok := strings.Cut(part, "=")
		if !ok || k == "" {
			return Identity{}, fmt.Errorf("QR pair %q is not KEY=VALUE", part)
		}
		if _, dup := kv[k]; dup {
			return Identity{}, fmt.Errorf("QR key %s given twice", k)
		}
		kv[k] = v
	}
	for _, k := range []string{"V", "E", "R", "P", "A", "S", "D", "T", "B", "K", "L"} {
		if _, ok := kv[k]; !ok {
			return Identity{}, fmt.Errorf("QR key %s is missing", k)
		}
	}
	if kv["V"] != strconv.Itoa(ContractVersion) {
		return Identity{}, fmt.Errorf("QR contract version %q is not supported", kv["V"])
	}
	var id Identity
	var err error
	if id.Level, err = smallInt(kv["E"], 2); err != nil {
		return Identity{}, fmt.Errorf("E: %w", err)
	}
	if id.Sheet, err = smallInt(kv["L"], 2); err != nil {
		return Identity{}, fmt.Errorf("L: %w", err)
	}
	id.Region, id.PPE, id.Auditorium = kv["R"], kv["P"], kv["A"]
	id.Subject, id.Date, id.Type = kv["S"], kv["D"], kv["T"]
	id.Barcode, id.Kit, id.Manifest = kv["B"], kv["K"], kv["H"]
	if id.Type != TypePPE15 {
		id.Manifest = "" // H means nothing on other types; unknown keys are ignored
	}
	if err := id.Validate(); err != nil {
		return Identity{}, err
	}
	return id, nil
}

func smallInt(s string, maxLen int) (int, error) {
	if len(s) == 0 || len(s) > maxLen || !isDigits(s) {
		return 0, fmt.Errorf("%q is not a number of 1..%d digits", s, maxLen)
	}
	return strconv.Atoi(s)
}

func fixedDigits(s string, n int) bool { return len(s) == n && isDigits(s) }

func isHex16(s string) bool {
	if len(s) != 16 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func validDate(s string) bool {
	if !fixedDigits(s, 8) {
		return false
	}
	_, err := time.Parse("20060102", s)
	return err == nil
}
