package tokensvc

import (
	"context"
	"time"

	"github.com/tapsim/tapsim/provision/wire"
)

// IDVRequest is what the token service asks the issuer to decide on: the
// card as the cardholder typed it, the phone and the wallet provider's
// risk assessment (ID&V, FACT: MDES Authorize Service, VTS Approve
// Provisioning).
type IDVRequest struct {
	// Card is the funding card (PAN, expiry, security code).
	Card wire.CardData
	// DeviceID is the phone's hardware device ID.
	DeviceID string
	// TokenRequestorID is the wallet's 11-digit token requestor ID.
	TokenRequestorID string
	// WalletAccountID names the cardholder's wallet account.
	WalletAccountID string
	// Risk is the wallet provider's assessment.
	Risk wire.RiskData
	// DeviceCVM is the cardholder verification on the phone at add-card
	// (R-G3f) when both the phone's signed card data and the wallet
	// provider's risk data claim it, "" otherwise: the claim is only as
	// good as the device key that signs it.
	DeviceCVM string
}

// IDVDecision is the issuer's answer to an IDVRequest.
type IDVDecision struct {
	// Decision is wire.DecisionApproved, wire.DecisionRequireAuthN or
	// wire.DecisionDeclined.
	Decision string
	// Methods are the step-up methods offered with
	// REQUIRE_ADDITIONAL_AUTHENTICATION (masked contact values).
	Methods []wire.AuthenticationMethod
	// Reason is the machine-readable reason of a decline (e.g.
	// "CARD_LOST", "CARD_BLOCKED", "INVALID_CARD_DATA").
	Reason string
}

// OTPRequest asks the issuer to send a one-time password to the
// cardholder by one of the methods it offered.
type OTPRequest struct {
	// PAN names the cardholder's account (the token service and the issuer
	// are the only parties that hold it).
	PAN string
	// TokenUniqueReference names the INACTIVE token the OTP activates.
	TokenUniqueReference string
	// MethodID is the ID of the chosen method.
	MethodID string
}

// String hides the PAN.
func (r OTPRequest) String() string { return "OTP request for " + r.TokenUniqueReference }

// OTPStatus is the issuer's verdict on a submitted OTP.
type OTPStatus int

// The verdicts of VerifyOTP.
const (
	// OTPVerified: the code is right, unexpired and unused; it is now used.
	OTPVerified OTPStatus = iota + 1
	// OTPWrong: the code is wrong; TriesLeft more wrong codes lock.
	OTPWrong
	// OTPExpired: the code's validity ended (or none was sent).
	OTPExpired
	// OTPUsed: the code already served once (R-G3e).
	OTPUsed
	// OTPLocked: too many wrong codes; nothing proceeds until the
	// issuer's service centre resets the cardholder (R-G3c).
	OTPLocked
)

// String names the verdict.
func (s OTPStatus) String() string {
	switch s {
	case OTPVerified:
		return "verified"
	case OTPWrong:
		return "wrong"
	case OTPExpired:
		return "expired"
	case OTPUsed:
		return "used"
	case OTPLocked:
		return "locked"
	}
	return "unknown"
}

// OTPVerdict is VerifyOTP's answer.
type OTPVerdict struct {
	// Status is the verdict.
	Status OTPStatus
	// TriesLeft counts the wrong codes still allowed before the lock
	// (meaningful with OTPWrong).
	TriesLeft int
}

// Issuer is the issuer's provisioning API as the token service uses it
// (in tapsim, issuerhost's ID&V/OTP API; in tests, MemoryIssuer). The
// issuer, not the token service, implements these semantics:
//
//   - Authorize decides green, yellow or red. A lost, stolen or blocked
//     card is DECLINED with a machine-readable reason.
//   - SendOTP issues a fresh one-time password (MODEL: 6 digits) and
//     sends it by the chosen method to the cardholder; it replaces any
//     unused one; it returns when the code stops being valid: 5 minutes
//     after issue (MODEL). A locked cardholder gets ErrOTPLocked.
//   - VerifyOTP checks a code: each code is usable once (R-G3e: OTPUsed
//     afterwards), only until it expires (OTPExpired), and at most 5
//     consecutive wrong codes are tolerated: the 5th locks the cardholder
//     and every later code, even the right one, is OTPLocked until the
//     issuer's service centre verifies the person and resets it (R-G3c).
//     A right code resets the count.
//   - Notify receives the token events (tokenCreated, downloadComplete,
//     suspended, resumed, deleted); it is idempotent on CorrelationID
//     (notifications may repeat, docs/provisioning.md pitfall 2).
//
// Errors other than those verdicts mean the issuer could not answer; the
// token service refuses with issuer_unavailable.
type Issuer interface {
	// Authorize is the ID&V decision.
	Authorize(ctx context.Context, req IDVRequest) (IDVDecision, error)
	// SendOTP sends a one-time password and returns its expiry.
	SendOTP(ctx context.Context, req OTPRequest) (time.Time, error)
	// VerifyOTP checks the code the cardholder typed for the token.
	VerifyOTP(ctx context.Context, pan, tokenUniqueReference, code string) (OTPVerdict, error)
	// Notify tells the issuer of a token event.
	Notify(ctx context.Context, n wire.Notification) error
}

// PasscodeIssuer is the part of an issuer that activates a token
// afterwards with the card's passcode (R-S2a). An Issuer without it
// refuses such activations (activation_unsupported).
type PasscodeIssuer interface {
	// ActivatePasscode verifies block, the clear ISO 9564 format 1 PIN
	// block the cardholder's phone sealed to the token service, against
	// the card of the token and activates the token on the issuer's
	// record: OTPVerified (also for a token already activated),
	// OTPWrong with the tries left (a wrong entry toward the lock,
	// R-G3c) or OTPLocked. Any other refusal of the issuer (a card
	// reported lost since, a card without a PIN) may come as a
	// *wire.Refusal with the issuer's own reason, which the token service
	// passes on. The issuer never keeps or logs the block; the caller
	// clears it afterwards.
	// pan names the cardholder's account, as for VerifyOTP.
	ActivatePasscode(ctx context.Context, pan, tokenUniqueReference string, block []byte) (OTPVerdict, error)
}
