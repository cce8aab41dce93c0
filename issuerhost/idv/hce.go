package idv

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm"
)

// HCEVerifier is the issuer's verification of the cardholder when a phone
// registers with the issuer's HCE cloud platform (R-S3d): the card data
// the cardholder typed is checked as for a wallet (Authorize) and the
// verification always steps up to a one-time password sent to the
// cardholder's registered contact through the message centre (R-G3), so
// that nothing is bound before the cardholder proves to hold that
// contact. Its method set is the one the cloud platform
// (provision/cloudsvc.CardholderVerifier) asks for.
type HCEVerifier struct {
	// Service is the issuer's ID&V.
	Service *Service
	// RequestorID is the ID the cloud platform is known under among the
	// issuer's requestors (11 digits).
	RequestorID string
	// Zone is the issuer's security module, which brings a phone's
	// passcode under the zone PIN key (VerifyPasscode); without it a
	// passcode registration is refused.
	Zone PINZone
	// Rand draws the one-time PIN transport key (crypto/rand when nil).
	Rand io.Reader
}

// PINZone is the part of the security module that re-enciphers a PIN
// block under the zone PIN key: the key never leaves it.
type PINZone interface {
	ImportKey(label string, usage hsm.Usage, k keys.Key) (hsm.Handle, error)
	DeleteKey(h hsm.Handle) error
	Lookup(label string) (hsm.Handle, error)
	TranslatePIN(src hsm.Handle, block []byte, dst hsm.Handle, pan string) ([]byte, error)
}

// HCEError is a refused verification, with its Reason for the platform.
type HCEError struct{ Err error }

// Error implements error.
func (e *HCEError) Error() string { return e.Err.Error() }

// Unwrap returns the ID&V error.
func (e *HCEError) Unwrap() error { return e.Err }

// VerificationReason is the machine-readable reason (the ID&V Reason).
func (e *HCEError) VerificationReason() string {
	var ie *Error
	if errors.As(e.Err, &ie) {
		return string(ie.Reason)
	}
	return ""
}

func hceErr(err error) error {
	if err == nil {
		return nil
	}
	var ie *Error
	if errors.As(err, &ie) {
		return &HCEError{Err: err}
	}
	return err
}

// Begin checks the card data and opens the attempt; the answer is the
// step-up methods offered. A declined request is an *HCEError of the
// decline's reason.
func (v HCEVerifier) Begin(ctx context.Context, correlationID, pan, expiry, securityCode, deviceID string) ([]string, error) {
	resp, err := v.Service.Authorize(ctx, AuthorizeRequest{
		CorrelationID: correlationID, RequestorID: v.RequestorID, TokenType: "CLOUD",
		PAN: pan, Expiry: expiry, SecurityCode: securityCode, DeviceID: deviceID,
		Decisioning: DecisioningData{Recommendation: string(StepUp)},
	})
	if err != nil {
		return nil, hceErr(err)
	}
	if resp.Decision == Declined {
		return nil, &HCEError{Err: refuse(resp.Reason, "registration declined")}
	}
	if resp.Decision != StepUp || len(resp.Methods) == 0 {
		return nil, &HCEError{Err: refuse(ReasonNoStepUpMethod, "no way to reach the cardholder")}
	}
	ids := make([]string, 0, len(resp.Methods))
	for _, m := range resp.Methods {
		ids = append(ids, m.ID)
	}
	return ids, nil
}

// SendOTP sends an OTP by method; the answer is the masked contact.
func (v HCEVerifier) SendOTP(ctx context.Context, correlationID, method string) (string, error) {
	r, err := v.Service.SendOTP(ctx, correlationID, method)
	if err != nil {
		return "", hceErr(err)
	}
	return r.Value, nil
}

// VerifyOTP checks the OTP the cardholder typed.
func (v HCEVerifier) VerifyOTP(ctx context.Context, correlationID, otp string) error {
	r, err := v.Service.VerifyOTP(ctx, correlationID, otp)
	if err != nil {
		return hceErr(err)
	}
	if !r.Verified {
		return &HCEError{Err: refuse(ReasonOTPWrong, "not verified")}
	}
	return nil
}

// VerifyPasscode checks the cardholder's issuer-set passcode (R-G3a)
// for the registration of correlationID: block is the clear ISO 9564
// format 1 PIN block the phone sealed to the platform. It is enciphered
// under a one-time PIN transport key drawn for this call, imported into
// the security module, re-enciphered there under the zone PIN key and
// the one-time key deleted; Service.VerifyPasscode then checks it against
// the card's PIN verification value, a wrong one counting toward the lock
// (R-G3c). MODEL: the clear block is in memory for this call only.
func (v HCEVerifier) VerifyPasscode(ctx context.Context, correlationID, pan string, block []byte) error {
	if v.Zone == nil {
		return &HCEError{Err: refuse(ReasonNotVerified, "no passcode verification here")}
	}
	if len(block) != 8 || block[0]>>4 != 1 {
		return &HCEError{Err: refuse(ReasonInvalidRequest, "the passcode is not a format 1 PIN block")}
	}
	rnd := v.Rand
	if rnd == nil {
		rnd = rand.Reader
	}
	raw := make([]byte, 16)
	if _, err := io.ReadFull(rnd, raw); err != nil {
		return fmt.Errorf("idv: random source: %w", err)
	}
	tk, err := keys.New(keys.TDES, raw)
	clear(raw)
	if err != nil {
		return fmt.Errorf("idv: transport key: %w", err)
	}
	enc, err := tk.EncryptECB(block)
	if err != nil {
		return fmt.Errorf("idv: passcode: %w", err)
	}
	h, err := v.Zone.ImportKey("idv/passcode-"+correlationID, hsm.UsageTPK, tk)
	if err != nil {
		return fmt.Errorf("idv: transport key: %w", err)
	}
	defer func() { _ = v.Zone.DeleteKey(h) }()
	zpk, err := v.Zone.Lookup(v.Service.zpkLabel)
	if err != nil {
		return fmt.Errorf("idv: zone PIN key: %w", err)
	}
	underZPK, err := v.Zone.TranslatePIN(h, enc, zpk, pan)
	if err != nil {
		return fmt.Errorf("idv: passcode translation: %w", err)
	}
	_, err = v.Service.VerifyPasscode(ctx, correlationID, underZPK)
	clear(underZPK)
	return hceErr(err)
}
