package idv

import (
	"context"
	"errors"
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
