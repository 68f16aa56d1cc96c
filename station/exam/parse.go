package exam

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"giascan/forms"
)

// Problem is one thing wrong with an exam file, at a JSON path such as
// `ppe[0].auditoriums[1].number` (empty for the file as a whole).
type Problem struct {
	Path string
	Msg  string
}

// String renders the problem as `path: message`.
func (p Problem) String() string {
	if p.Path == "" {
		return p.Msg
	}
	return p.Path + ": " + p.Msg
}

// InvalidError refuses an exam file and lists every problem found, so the
// sender can fix the file in one round rather than one error at a time.
type InvalidError struct {
	Problems []Problem
}

// Error lists every problem in one line, in the order they were found.
func (e *InvalidError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	return "exam file refused: " + strings.Join(parts, "; ")
}

// maxDepth bounds nesting: a valid exam file is four levels deep, and a
// hostile file must not make the checker recurse without limit.
const maxDepth = 32

// maxProblems bounds the list: past this the file is plainly not an exam
// file and more lines do not help the sender.
const maxProblems = 100

// Parse reads and checks an exam file (exam.md). It refuses the file as a
// whole, with an *InvalidError naming every bad path, when anything is
// malformed. Keys it does not know are accepted and ignored: exam.md lets
// the project (and the РЦОИ's tools) add keys.
func Parse(data []byte) (*Exam, error) {
	c := &checker{}
	root, err := decodeTree(data, c)
	if err != nil {
		return nil, &InvalidError{Problems: []Problem{{Msg: err.Error()}}}
	}
	e := c.exam(root)
	if len(c.problems) > 0 {
		if len(c.problems) > maxProblems {
			n := len(c.problems) - maxProblems
			c.problems = append(c.problems[:maxProblems], Problem{Msg: fmt.Sprintf("and %d more problems", n)})
		}
		return nil, &InvalidError{Problems: c.problems}
	}
	return e, nil
}

// object is a JSON object with its keys in file order (the checker walks
// them in order so that its messages are deterministic).
type object struct {
	keys []string
	vals map[string]any
}

// decodeTree decodes one JSON value into nil, bool, json.Number, string,
// []any and *object. Keys given twice are recorded as problems: the
// standard decoder would silently keep the last one, and an exam file
// whose level is both 9 and 11 means nothing.
func decodeTree(data []byte, c *checker) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeValue(dec, "", 0, c)
	if err != nil {
		return nil, notJSON(dec, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("not valid JSON: data after the exam object (byte %d)", dec.InputOffset())
	}
	return v, nil
}

func notJSON(dec *json.Decoder, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("not valid JSON: unexpected end of file")
	}
	return fmt.Errorf("not valid JSON near byte %d: %w", dec.InputOffset(), err)
}

func decodeValue(dec *json.Decoder, path string, depth int, c *checker) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("nested deeper than %d levels at %s", maxDepth, orTop(path))
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			o := &object{vals: map[string]any{}}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, ok := kt.(string)
				if !ok {
					return nil, fmt.Errorf("object key expected at %s", orTop(path))
				}
				v, err := decodeValue(dec, join(path, k), depth+1, c)
				if err != nil {
					return nil, err
				}
				if _, dup := o.vals[k]; dup {
					c.add(join(path, k), "given twice")
					continue
				}
				o.keys = append(o.keys, k)
				o.vals[k] = v
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return o, nil
		case '[':
			a := []any{}
			for dec.More() {
				v, err := decodeValue(dec, fmt.Sprintf("%s[%d]", path, len(a)), depth+1, c)
				if err != nil {
					return nil, err
				}
				a = append(a, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return a, nil
		}
		return nil, fmt.Errorf("unexpected %q", rune(t))
	default:
		return t, nil
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func orTop(path string) string {
	if path == "" {
		return "the top level"
	}
	return path
}

// checker collects problems while it builds the Exam.
type checker struct {
	problems []Problem
}

func (c *checker) add(path, format string, args ...any) {
	c.problems = append(c.problems, Problem{Path: path, Msg: fmt.Sprintf(format, args...)})
}

// describe renders a JSON value for a message, short and unambiguous.
func describe(v any) string {
	switch t := v.(type) {
	case nil:
		return "null"
	case string:
		if len(t) > 40 {
			t = t[:40] + "…"
		}
		return fmt.Sprintf("%q", t)
	case json.Number:
		return t.String()
	case bool:
		return fmt.Sprint(t)
	case []any:
		return "an array"
	case *object:
		return "an object"
	}
	return fmt.Sprintf("%v", v)
}

// field returns a key of an object; missing required keys are problems.
func (c *checker) field(o *object, path, key string, required bool) (any, bool) {
	v, ok := o.vals[key]
	if !ok {
		if required {
			c.add(join(path, key), "missing")
		}
		return nil, false
	}
	return v, true
}

// digits checks a code written as a string of exactly n digits. Codes are
// strings because they keep their leading zeros; a bare number is refused
// with that hint.
func (c *checker) digits(v any, path string, n int) (string, bool) {
	s, ok := v.(string)
	if !ok {
		if _, num := v.(json.Number); num {
			c.add(path, "%s is a number: write the code as a string of %d digits, leading zeros kept", describe(v), n)
		} else {
			c.add(path, "%s is not a string of %d digits", describe(v), n)
		}
		return "", false
	}
	if len(s) != n || strings.Trim(s, "0123456789") != "" {
		c.add(path, "%s is not %d digits", describe(s), n)
		return "", false
	}
	return s, true
}

func (c *checker) exam(root any) *Exam {
	o, ok := root.(*object)
	if !ok {
		c.add("", "the exam file must be a JSON object, not %s", describe(root))
		return nil
	}
	e := &Exam{}
	if v, ok := c.field(o, "", "level", true); ok {
		n, isNum := v.(json.Number)
		switch {
		case !isNum:
			c.add("level", "%s is not a number", describe(v))
		case n.String() == "9":
			e.Level = 9
		case n.String() == "11":
			e.Level = 11
		default:
			c.add("level", "%s: want 9 (ОГЭ/ГВЭ-9) or 11 (ЕГЭ/ГВЭ-11)", n)
		}
	}
	if v, ok := c.field(o, "", "subject", true); ok {
		if s, ok := c.digits(v, "subject", 2); ok {
			if _, known := forms.Subjects[s]; !known {
				c.add("subject", "%q is not a known subject code", s)
			} else {
				e.Subject = s
			}
		}
	}
	if v, ok := c.field(o, "", "date", true); ok {
		s, isStr := v.(string)
		if _, err := time.Parse("2006-01-02", s); !isStr || len(s) != 10 || err != nil {
			c.add("date", "%s is not a date YYYY-MM-DD", describe(v))
		} else {
			e.Date = s
		}
	}
	if v, ok := c.field(o, "", "region", true); ok {
		e.Region, _ = c.digits(v, "region", 2)
	}
	if v, ok := c.field(o, "", "ends", false); ok {
		s, isStr := v.(string)
		if _, err := time.Parse("15:04", s); !isStr || len(s) != 5 || err != nil {
			c.add("ends", "%s is not a time HH:MM", describe(v))
		} else {
			e.Ends = s
		}
	}
	if v, ok := c.field(o, "", "ppe", true); ok {
		e.PPE = c.ppeList(v)
	}
	return e
}

func (c *checker) ppeList(v any) []PPE {
	arr, ok := v.([]any)
	if !ok {
		c.add("ppe", "%s is not an array", describe(v))
		return nil
	}
	if len(arr) == 0 {
		c.add("ppe", "empty: the exam needs at least one ППЭ")
		return nil
	}
	seenPPE := map[string]string{} // code → path of first use
	seenKit := map[string]string{}
	out := make([]PPE, 0, len(arr))
	for i, pv := range arr {
		path := fmt.Sprintf("ppe[%d]", i)
		po, ok := pv.(*object)
		if !ok {
			c.add(path, "%s is not an object", describe(pv))
			continue
		}
		var p PPE
		if v, ok := c.field(po, path, "code", true); ok {
			if code, ok := c.digits(v, path+".code", 4); ok {
				if first, dup := seenPPE[code]; dup {
					c.add(path+".code", "%q is already used by %s", code, first)
				} else {
					seenPPE[code] = path
				}
				p.Code = code
			}
		}
		if v, ok := c.field(po, path, "auditoriums", true); ok {
			p.Auditoriums = c.auditoriums(v, path+".auditoriums", seenKit)
		}
		out = append(out, p)
	}
	return out
}

func (c *checker) auditoriums(v any, path string, seenKit map[string]string) []Auditorium {
	arr, ok := v.([]any)
	if !ok {
		c.add(path, "%s is not an array", describe(v))
		return nil
	}
	if len(arr) == 0 {
		c.add(path, "empty: a ППЭ needs at least one auditorium")
		return nil
	}
	seen := map[string]string{}
	out := make([]Auditorium, 0, len(arr))
	for i, av := range arr {
		ap := fmt.Sprintf("%s[%d]", path, i)
		ao, ok := av.(*object)
		if !ok {
			c.add(ap, "%s is not an object", describe(av))
			continue
		}
		var a Auditorium
		if v, ok := c.field(ao, ap, "number", true); ok {
			if n, ok := c.digits(v, ap+".number", 4); ok {
				switch first, dup := seen[n]; {
				case n == "0000":
					// 0000 stands for "the whole ППЭ" on ППЭ forms.
					c.add(ap+".number", "0000 is reserved for ППЭ-wide forms")
				case dup:
					c.add(ap+".number", "%q is already used by %s", n, first)
				default:
					seen[n] = ap
				}
				a.Number = n
			}
		}
		if v, ok := c.field(ao, ap, "kits", false); ok {
			a.Kits = c.kits(v, ap+".kits", seenKit)
		}
		out = append(out, a)
	}
	return out
}

func (c *checker) kits(v any, path string, seen map[string]string) []string {
	arr, ok := v.([]any)
	if !ok {
		c.add(path, "%s is not an array of kit numbers", describe(v))
		return nil
	}
	out := make([]string, 0, len(arr))
	for i, kv := range arr {
		kp := fmt.Sprintf("%s[%d]", path, i)
		k, ok := c.digits(kv, kp, 10)
		if !ok {
			continue
		}
		if k == forms.NoKit {
			c.add(kp, "%s means \"no kit\" and cannot be planned", forms.NoKit)
			continue
		}
		if first, dup := seen[k]; dup {
			c.add(kp, "%q is already planned at %s", k, first)
			continue
		}
		seen[k] = kp
		out = append(out, k)
	}
	return out
}
