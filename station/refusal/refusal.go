// Package refusal is the station's one input-error type: a use case
// refused for what it was given, with nothing changed. Its text is one
// Russian sentence that names the field — never a command-line flag —
// and says what to do, so the command line and the web show it as is.
package refusal

import (
	"errors"
	"fmt"
)

// Error is a refusal. Field names what was wrong in words for people
// ("причина удаления"); it may be empty when the sentence says it all.
type Error struct {
	Field string
	Msg   string
}

func (e *Error) Error() string { return e.Msg }

// New makes a refusal of field with a formatted sentence.
func New(field, format string, a ...any) error {
	return &Error{Field: field, Msg: fmt.Sprintf(format, a...)}
}

// Of wraps an error whose text is already the sentence to show.
func Of(err error) error { return &Error{Msg: err.Error()} }

// Is tells whether err is, or wraps, a refusal.
func Is(err error) bool {
	var e *Error
	return errors.As(err, &e)
}
