// Package apperr classifies errors once, so that the HTTP layer can render them once: a
// code that picks the status, and a message that is safe to show. The wrapped error keeps
// the internals for the logs.
package apperr

import (
	"errors"
	"fmt"
)

// Code is the class of an error.
type Code string

// Codes.
const (
	Invalid      Code = "invalid"      // bad input: 422 (forms) or 400
	NotFound     Code = "not_found"    // 404
	Conflict     Code = "conflict"     // 409
	Unauthorized Code = "unauthorized" // 401
	Forbidden    Code = "forbidden"    // 403
	Unavailable  Code = "unavailable"  // 503: try again
	Upstream     Code = "upstream"     // 502: Meta or Positus answered with an error
	Internal     Code = "internal"     // 500
)

// Error is a classified error.
type Error struct {
	Code   Code
	Safe   string            // message for users; never holds secrets or internals
	Fields map[string]string // per-field messages for forms (Invalid)
	Err    error             // the cause, for logs
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Safe, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Safe)
}

func (e *Error) Unwrap() error { return e.Err }

// New returns a classified error with a safe message.
func New(code Code, safe string) *Error { return &Error{Code: code, Safe: safe} }

// Wrap classifies err with a safe message.
func Wrap(code Code, safe string, err error) *Error { return &Error{Code: code, Safe: safe, Err: err} }

// InvalidFields is a form validation error; fields maps a field name to its message.
func InvalidFields(fields map[string]string) *Error {
	return &Error{Code: Invalid, Safe: "Please correct the highlighted fields.", Fields: fields}
}

// As returns the classified error in err's chain, or an Internal one.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: Internal, Safe: "Something went wrong on our side. Please try again.", Err: err}
}

// Is reports whether err is classified with code.
func Is(err error, code Code) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}
