package models

import (
	"errors"
	"fmt"
)

// Error codes. The api package holds the one table mapping them to HTTP statuses.
const (
	EINTERNAL     = "internal"
	EINVALID      = "invalid_request"
	ENOTFOUND     = "not_found"
	EUNAVAILABLE  = "unavailable"
	EUNAUTHORIZED = "unauthenticated"
	EFORBIDDEN    = "forbidden"
	ETOOLARGE     = "payload_too_large"
	EMEDIATYPE    = "unsupported_media_type"
)

// Error is an error meant for the client: its Message is safe to show. Any other error is internal.
type Error struct {
	Code    string
	Message string
}

// Error implements error.
func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// Errorf returns an *Error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err: the Code of an *Error in its chain, else EINTERNAL.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the client-safe message of err, or a generic one for internal errors.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}
