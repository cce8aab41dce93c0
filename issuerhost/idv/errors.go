package idv

import (
	"errors"
	"fmt"
	"net/http"
)

// Reason is a machine-readable reason: why an ID&V request was declined
// or stepped up, or why a call was refused.
type Reason string

// Reasons of declines and step-ups (in AuthorizeResponse) and of refusals
// (in *Error).
const (
	// Declines (red).
	ReasonCardNotFound      Reason = "card_not_found"
	ReasonCardLost          Reason = "card_lost"
	ReasonCardBlocked       Reason = "card_blocked"
	ReasonCardExpired       Reason = "card_expired"
	ReasonExpiryMismatch    Reason = "expiry_mismatch"
	ReasonSecurityCodeWrong Reason = "security_code_wrong"
	ReasonAccountClosed     Reason = "account_closed"
	ReasonUnknownRequestor  Reason = "unknown_requestor"
	ReasonRecommendDecline  Reason = "recommendation_decline"
	ReasonRiskTooHigh       Reason = "risk_too_high"
	ReasonNoStepUpMethod    Reason = "no_step_up_method"
	ReasonIDVLocked         Reason = "idv_locked"

	// Step-ups (yellow).
	ReasonLowDeviceScore  Reason = "low_device_score"
	ReasonLowAccountScore Reason = "low_account_score"
	ReasonRecommendStepUp Reason = "recommendation_step_up"
	ReasonNoRiskData      Reason = "no_risk_data"
	// ReasonNoDeviceCVM steps up a request the risk rules approve but
	// that carries no cardholder verification on the phone (R-G3f).
	ReasonNoDeviceCVM Reason = "no_device_cvm"

	// Refusals of a call.
	ReasonInvalidRequest     Reason = "invalid_request"
	ReasonBodyTooLarge       Reason = "body_too_large"
	ReasonMethodNotAllowed   Reason = "method_not_allowed"
	ReasonNotFound           Reason = "not_found"
	ReasonCorrelationReused  Reason = "correlation_reused"
	ReasonUnknownCorrelation Reason = "unknown_correlation"
	ReasonAttemptDeclined    Reason = "attempt_declined"
	ReasonUnknownMethod      Reason = "unknown_method"
	ReasonAlreadyVerified    Reason = "already_verified"
	ReasonOTPNotSent         Reason = "otp_not_sent"
	ReasonOTPWrong           Reason = "otp_wrong"
	ReasonOTPExpired         Reason = "otp_expired"
	ReasonOTPUsed            Reason = "otp_used"
	ReasonRequestorMismatch  Reason = "requestor_mismatch"
	ReasonDeviceMismatch     Reason = "device_mismatch"
	ReasonTokenConflict      Reason = "token_conflict"
	ReasonUnknownToken       Reason = "unknown_token"
	ReasonNotDownloaded      Reason = "not_downloaded"
	ReasonNotVerified        Reason = "not_verified"
	ReasonPasscodeWrong      Reason = "passcode_wrong"
	ReasonPasscodeLocked     Reason = "passcode_locked"
	ReasonCardNotActive      Reason = "card_not_active"
	ReasonOTPSendLimit       Reason = "otp_send_limit"
	ReasonInternal           Reason = "internal_error"
)

// statusOf is the HTTP status of each refusal.
var statusOf = map[Reason]int{
	ReasonInvalidRequest:     http.StatusBadRequest,
	ReasonBodyTooLarge:       http.StatusRequestEntityTooLarge,
	ReasonMethodNotAllowed:   http.StatusMethodNotAllowed,
	ReasonNotFound:           http.StatusNotFound,
	ReasonCorrelationReused:  http.StatusConflict,
	ReasonUnknownCorrelation: http.StatusNotFound,
	ReasonAttemptDeclined:    http.StatusConflict,
	ReasonUnknownMethod:      http.StatusUnprocessableEntity,
	ReasonAlreadyVerified:    http.StatusConflict,
	ReasonOTPNotSent:         http.StatusConflict,
	ReasonOTPWrong:           http.StatusUnauthorized,
	ReasonOTPExpired:         http.StatusGone,
	ReasonOTPUsed:            http.StatusConflict,
	ReasonRequestorMismatch:  http.StatusForbidden,
	ReasonDeviceMismatch:     http.StatusForbidden,
	ReasonTokenConflict:      http.StatusConflict,
	ReasonUnknownToken:       http.StatusNotFound,
	ReasonNotDownloaded:      http.StatusConflict,
	ReasonNotVerified:        http.StatusForbidden,
	ReasonPasscodeWrong:      http.StatusUnauthorized,
	ReasonPasscodeLocked:     http.StatusLocked,
	ReasonCardNotActive:      http.StatusForbidden,
	ReasonOTPSendLimit:       http.StatusTooManyRequests,
	ReasonIDVLocked:          http.StatusLocked,
	ReasonInternal:           http.StatusInternalServerError,
}

// HTTPStatus is the HTTP status the handler answers a refusal with (500
// for a reason that is not a refusal).
func (r Reason) HTTPStatus() int {
	if s, ok := statusOf[r]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Error is a refused call: its machine-readable reason, a lower-case
// message that names no PAN, security code or OTP and, for a wrong OTP or
// passcode, the entries left before the lock.
type Error struct {
	Reason    Reason
	Message   string
	TriesLeft int
}

// Error is "idv: " and the message.
func (e *Error) Error() string {
	if e.Message == "" {
		return "idv: " + string(e.Reason)
	}
	return "idv: " + e.Message
}

// Is matches another *Error of the same reason, so that errors.Is(err,
// ErrOTPWrong) holds whatever the message.
func (e *Error) Is(target error) bool {
	var t *Error
	return errors.As(target, &t) && t.Reason == e.Reason
}

// Refusals to compare with errors.Is.
var (
	ErrInvalidRequest     = &Error{Reason: ReasonInvalidRequest}
	ErrCorrelationReused  = &Error{Reason: ReasonCorrelationReused}
	ErrUnknownCorrelation = &Error{Reason: ReasonUnknownCorrelation}
	ErrAttemptDeclined    = &Error{Reason: ReasonAttemptDeclined}
	ErrUnknownMethod      = &Error{Reason: ReasonUnknownMethod}
	ErrAlreadyVerified    = &Error{Reason: ReasonAlreadyVerified}
	ErrOTPNotSent         = &Error{Reason: ReasonOTPNotSent}
	ErrOTPWrong           = &Error{Reason: ReasonOTPWrong}
	ErrOTPExpired         = &Error{Reason: ReasonOTPExpired}
	ErrOTPUsed            = &Error{Reason: ReasonOTPUsed}
	ErrRequestorMismatch  = &Error{Reason: ReasonRequestorMismatch}
	ErrDeviceMismatch     = &Error{Reason: ReasonDeviceMismatch}
	ErrTokenConflict      = &Error{Reason: ReasonTokenConflict}
	ErrUnknownToken       = &Error{Reason: ReasonUnknownToken}
	ErrNotDownloaded      = &Error{Reason: ReasonNotDownloaded}
	ErrNotVerified        = &Error{Reason: ReasonNotVerified}
	ErrPasscodeWrong      = &Error{Reason: ReasonPasscodeWrong}
	ErrPasscodeLocked     = &Error{Reason: ReasonPasscodeLocked}
	ErrCardNotActive      = &Error{Reason: ReasonCardNotActive}
	ErrOTPSendLimit       = &Error{Reason: ReasonOTPSendLimit}
	ErrLocked             = &Error{Reason: ReasonIDVLocked}
)

func refuse(r Reason, format string, args ...any) *Error {
	return &Error{Reason: r, Message: fmt.Sprintf(format, args...)}
}
