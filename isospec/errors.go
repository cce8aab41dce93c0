package isospec

import (
	"errors"
	"fmt"
)

// Reasons a message or frame is malformed, carried by *FieldError.
var (
	// ErrTruncated reports a frame that ends inside a field, its length
	// prefix or a bitmap.
	ErrTruncated = errors.New("isospec: truncated")
	// ErrLength reports a length prefix that is not all digits, or a length
	// outside the field's bounds.
	ErrLength = errors.New("isospec: bad length")
	// ErrCharset reports a character the field's format does not allow.
	ErrCharset = errors.New("isospec: invalid character")
	// ErrBitmap reports a bitmap the dialect does not allow: a tertiary
	// bitmap (bit 65), or a secondary bitmap with no field in it.
	ErrBitmap = errors.New("isospec: bad bitmap")
	// ErrUndefinedField reports a bitmap bit for a field the dialect does not
	// use.
	ErrUndefinedField = errors.New("isospec: field not in the dialect")
	// ErrTrailingData reports bytes after the last field of a frame.
	ErrTrailingData = errors.New("isospec: data after the last field")
	// ErrMissing reports a field the message type requires but the message
	// lacks.
	ErrMissing = errors.New("isospec: mandatory field missing")
	// ErrUnexpected reports a field the message must not carry (a MAC in the
	// wrong place, for example).
	ErrUnexpected = errors.New("isospec: unexpected field")
	// ErrValue reports a well-formed field whose value is invalid: a date
	// that does not exist, DE55 that is not BER-TLV, an unknown MTI...
	ErrValue = errors.New("isospec: invalid value")
	// ErrType reports a Go value that does not fit the field it is tagged
	// for, or a message that is not a struct.
	ErrType = errors.New("isospec: unsuitable Go value")
	// ErrFrame reports a frame whose length header cannot be read or
	// written.
	ErrFrame = errors.New("isospec: bad frame")
	// ErrFrameTooLong reports a length header announcing more bytes than
	// the reader accepts; it also wraps ErrFrame.
	ErrFrameTooLong = fmt.Errorf("%w: too long", ErrFrame)
	// ErrMACMissing reports a message with no MAC field, or with it in the
	// wrong place (DE64 in a message with a secondary bitmap, or both DE64
	// and DE128).
	ErrMACMissing = errors.New("isospec: MAC field missing or misplaced")
	// ErrMACMismatch reports a MAC the verifier rejected.
	ErrMACMismatch = errors.New("isospec: MAC mismatch")
)

// FieldError describes a malformed message: which field and why. It never
// holds field contents, so it is safe to log.
type FieldError struct {
	// Field is the field number: 0 for the MTI, 1 for the bitmaps, 2 to 128
	// for data elements, -1 for the frame as a whole.
	Field int
	// Offset is the byte offset in the frame where the problem is, or -1
	// when the error does not come from a frame.
	Offset int
	// Err is one of the sentinel reasons (ErrTruncated, ErrLength...).
	Err error

	detail string
}

func fieldErr(id, off int, reason error, detail string) *FieldError {
	return &FieldError{Field: id, Offset: off, Err: reason, detail: detail}
}

// Error returns "isospec: field N (name): reason[: detail]".
func (e *FieldError) Error() string {
	reason := "invalid"
	if e.Err != nil {
		reason = trimPrefix(e.Err.Error())
	}
	var s string
	switch {
	case e.Field < 0:
		s = "isospec: frame: " + reason
	default:
		s = fmt.Sprintf("isospec: field %d (%s): %s", e.Field, fieldName(e.Field), reason)
	}
	if e.Offset >= 0 {
		s += fmt.Sprintf(" at offset %d", e.Offset)
	}
	if e.detail != "" {
		s += ": " + e.detail
	}
	return s
}

// Unwrap returns the sentinel reason.
func (e *FieldError) Unwrap() error { return e.Err }

func trimPrefix(s string) string {
	const p = "isospec: "
	if len(s) > len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}
