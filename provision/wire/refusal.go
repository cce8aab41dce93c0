package wire

import (
	"errors"
	"fmt"
	"net/http"
)

// Refusal reasons: the machine-readable "reason" of a Refusal body.
const (
	ReasonTooLarge          = "too_large"
	ReasonMalformed         = "malformed"
	ReasonAlgorithm         = "algorithm_not_accepted"
	ReasonUnknownKey        = "unknown_key"
	ReasonDecrypt           = "decrypt_failed"
	ReasonSignature         = "bad_signature"
	ReasonIssuer            = "wrong_issuer"
	ReasonAudience          = "wrong_audience"
	ReasonType              = "wrong_type"
	ReasonExpired           = "expired"
	ReasonReplay            = "replayed"
	ReasonCapacity          = "busy"
	ReasonUnavailable       = "unavailable"
	ReasonInvalid           = "invalid_message"
	ReasonMediaType         = "unsupported_media_type"
	ReasonMethod            = "method_not_allowed"
	ReasonTimeout           = "request_timeout"
	ReasonClientCertificate = "client_certificate_required"
	ReasonInternal          = "internal_error"
	ReasonNotFound          = "not_found"
)

// Refusal is the JSON body of every HTTP error a provisioning service
// answers (application/json), and the error a Client returns for it:
//
//	{"code":409,"reason":"replayed","message":"this message was already accepted"}
//
// A Refusal is an error: errors.Is(r, ErrRefused) holds for every one, and
// errors.Is(r, ErrReplay) (ErrExpired, ...) for the reason matching one of
// the envelope sentinels. Message is for people and never carries card
// data or keys.
type Refusal struct {
	// Code is the HTTP status.
	Code int `json:"code"`
	// Reason is machine-readable, snake_case (the Reason* constants or a
	// service's own).
	Reason string `json:"reason"`
	// Message explains the reason in a sentence.
	Message string `json:"message"`
	// TriesLeft, for a wrong one-time code or passcode, is the number of
	// wrong entries left before the lock.
	TriesLeft int `json:"tries_left,omitempty"`
}

// Refuse is a Refusal.
func Refuse(code int, reason, message string) *Refusal {
	return &Refusal{Code: code, Reason: reason, Message: message}
}

// Error implements error.
func (r *Refusal) Error() string {
	return fmt.Sprintf("wire: refused by peer: %d %s: %s", r.Code, r.Reason, r.Message)
}

// Is reports ErrRefused and the sentinel of the refusal's reason.
func (r *Refusal) Is(target error) bool {
	if target == ErrRefused {
		return true
	}
	for _, m := range refusals {
		if m.reason == r.Reason {
			return target == m.err
		}
	}
	return false
}

// refusals maps the sentinels to their reason, status and message.
var refusals = []struct {
	err     error
	reason  string
	code    int
	message string
}{
	{ErrTooLarge, ReasonTooLarge, http.StatusRequestEntityTooLarge, "the request is larger than accepted"},
	{ErrMalformed, ReasonMalformed, http.StatusBadRequest, "the message does not parse"},
	{ErrAlgorithm, ReasonAlgorithm, http.StatusBadRequest, "the message uses an algorithm that is not accepted"},
	{ErrUnknownKey, ReasonUnknownKey, http.StatusForbidden, "the message is signed with a key that is not trusted"},
	{ErrDecrypt, ReasonDecrypt, http.StatusBadRequest, "the message cannot be decrypted by this service"},
	{ErrSignature, ReasonSignature, http.StatusForbidden, "the signature does not verify"},
	{ErrIssuer, ReasonIssuer, http.StatusForbidden, "the sender is not the one expected"},
	{ErrAudience, ReasonAudience, http.StatusForbidden, "the message is addressed to another party"},
	{ErrType, ReasonType, http.StatusBadRequest, "the message is not of the type this endpoint takes"},
	{ErrExpired, ReasonExpired, http.StatusForbidden, "the message is outside its validity period"},
	{ErrReplay, ReasonReplay, http.StatusConflict, "this message was already accepted"},
	{ErrCapacity, ReasonCapacity, http.StatusServiceUnavailable, "the service is busy; try again"},
	{ErrInvalid, ReasonInvalid, http.StatusUnprocessableEntity, "a field of the message breaks its rules"},
	{ErrUnavailable, ReasonUnavailable, http.StatusServiceUnavailable, "the service cannot use its keys now; try again"},
}

// RefusalFor is the Refusal answering err: the one err is or wraps, the
// one of the sentinel it wraps, or 500 internal_error. The message is the
// fixed sentence of the reason, never err's text, so that nothing of the
// request leaks back.
func RefusalFor(err error) *Refusal {
	var r *Refusal
	if errors.As(err, &r) {
		return r
	}
	for _, m := range refusals {
		if errors.Is(err, m.err) {
			return Refuse(m.code, m.reason, m.message)
		}
	}
	return Refuse(http.StatusInternalServerError, ReasonInternal, "the service failed to handle the request")
}
