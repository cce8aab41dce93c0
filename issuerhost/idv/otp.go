package idv

import (
	"context"
	"crypto/hmac"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/tapsim/tapsim/emv/pan"
	"github.com/tapsim/tapsim/issuerhost/store"
)

// otpLimit is the largest multiple of 10^6 below 2^32: draws at or above
// it are drawn again, so that every 6-digit OTP is equally likely.
const otpLimit = 4294000000

// drawOTP draws a random 6-digit OTP.
func (s *Service) drawOTP() (string, error) {
	var b [4]byte
	for range 64 {
		if _, err := io.ReadFull(s.rnd, b[:]); err != nil {
			return "", fmt.Errorf("idv: random source: %w", err)
		}
		if v := binary.BigEndian.Uint32(b[:]); v < otpLimit {
			return fmt.Sprintf("%06d", v%1000000), nil
		}
	}
	return "", errors.New("idv: random source gives no usable value")
}

// otpHash is the keyed hash of an OTP, bound to its correlation ID: the
// OTP of one attempt does not verify for another.
func (s *Service) otpHash(correlationID, otp string) ([]byte, error) {
	h, err := s.hsm.HashData(s.otpKey, []byte("tapsim-otp\x00"+correlationID+"\x00"+otp))
	if err != nil {
		return nil, fmt.Errorf("idv: OTP hash: %w", err)
	}
	return h, nil
}

// channel is the message centre's channel of a method and the recipient
// it goes to.
func channel(m string, c store.CardContact) (string, string) {
	switch m {
	case "sms":
		return "sms", c.Phone
	case "email":
		return "email", c.Email
	case "app":
		return "app", AppRecipient(c.CardID)
	}
	return "", ""
}

// AppRecipient is the message centre's recipient of the issuer app of a
// card's holder.
func AppRecipient(cardID string) string { return "app:" + cardID }

// SendOTP draws an OTP for the attempt of correlationID and sends it by
// the step-up method methodID (one the attempt offered) to the
// cardholder's registered contact, through the message centre. Only its
// keyed hash is kept; it expires after the configured time (5 minutes by
// default), and a new one replaces the one before (R-G3e). An attempt is
// sent at most MaxSends OTPs (ErrOTPSendLimit).
func (s *Service) SendOTP(ctx context.Context, correlationID, methodID string) (SendResult, error) {
	if !correlationRE.MatchString(correlationID) || len(methodID) > 16 {
		return SendResult{}, refuse(ReasonInvalidRequest, "correlationId or methodId malformed")
	}
	now := s.now()
	var res SendResult
	err := s.db.Update(ctx, func(tx *store.Tx) error {
		a, card, _, err := s.attempt(ctx, tx, correlationID)
		if err != nil {
			return err
		}
		if a.Verified {
			return refuse(ReasonAlreadyVerified, "the cardholder is already verified for this attempt")
		}
		st, err := storedOf(a)
		if err != nil {
			return err
		}
		var m *Method
		for i := range st.Methods {
			if st.Methods[i].ID == methodID {
				m = &st.Methods[i]
			}
		}
		contact, err := tx.CardContact(ctx, card.ID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		ch, to := "", ""
		if m != nil {
			ch, to = channel(m.ID, contact)
		}
		if m == nil || to == "" {
			return refuse(ReasonUnknownMethod, "no step-up method %q for this attempt", methodID)
		}
		prev, err := tx.OTP(ctx, correlationID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if prev.Sends >= s.maxSends {
			return refuse(ReasonOTPSendLimit, "%d OTPs were sent for this attempt already", prev.Sends)
		}
		otp, err := s.drawOTP()
		if err != nil {
			return err
		}
		h, err := s.otpHash(correlationID, otp)
		if err != nil {
			return err
		}
		exp := now.Add(s.ttl)
		if err := tx.PutOTP(ctx, store.OTP{CorrelationID: correlationID, MethodID: methodID, Hash: hex.EncodeToString(h),
			Sends: prev.Sends + 1, IssuedAt: now, ExpiresAt: exp}); err != nil {
			return err
		}
		what := "to add the card ending %s to a wallet"
		if st.Purpose == purposeSE {
			what = "to put the card ending %s in your phone's secure element"
		}
		body := fmt.Sprintf("tapsim bank: %s is your one-time password %s. It expires in %s. Never share it.",
			otp, fmt.Sprintf(what, pan.Last4(card.PAN)), s.ttl)
		if _, err := tx.PostMessage(ctx, store.Message{At: now, Recipient: to, Channel: ch, Kind: "otp", Body: body}); err != nil {
			return err
		}
		res = SendResult{CorrelationID: correlationID, MethodID: methodID, Value: m.Value, ExpiresAt: exp}
		return tx.Audit(ctx, store.AuditEvent{At: now, Actor: Actor, Action: "idv.otp.sent", Subject: subject(card),
			Detail: fmt.Sprintf("correlation %s: by %s to %s, valid until %s", correlationID, m.Type, m.Value,
				exp.UTC().Format(time.RFC3339))})
	})
	if err != nil {
		return SendResult{}, s.refused("send OTP", correlationID, err)
	}
	s.log.Info("idv: OTP sent", "correlation", correlationID, "method", methodID)
	return res, nil
}

// attempt finds an attempt that may still go on: recorded, not declined,
// not locked, its card's provisioning not locked, its card still active.
func (s *Service) attempt(ctx context.Context, tx *store.Tx, correlationID string) (store.IDVAttempt, store.Card, store.Provisioning, error) {
	a, err := tx.IDVAttempt(ctx, correlationID)
	if errors.Is(err, store.ErrNotFound) {
		return a, store.Card{}, store.Provisioning{}, refuse(ReasonUnknownCorrelation, "no ID&V attempt %s", correlationID)
	}
	if err != nil {
		return a, store.Card{}, store.Provisioning{}, err
	}
	if Decision(a.Decision) == Declined || a.CardID == "" {
		return a, store.Card{}, store.Provisioning{}, refuse(ReasonAttemptDeclined, "ID&V attempt %s was declined", correlationID)
	}
	card, err := tx.Card(ctx, a.CardID)
	if err != nil {
		return a, store.Card{}, store.Provisioning{}, err
	}
	prov, err := tx.Provisioning(ctx, a.CardID)
	if err != nil {
		return a, store.Card{}, store.Provisioning{}, err
	}
	if a.Locked || prov.Locked {
		return a, card, prov, refuse(ReasonIDVLocked, "provisioning of this card is locked until the service centre resets it")
	}
	if card.Status != store.CardActive {
		// Reported lost or blocked since the decision (R-C1).
		return a, card, prov, refuse(ReasonCardNotActive, "the card is %s", card.Status)
	}
	return a, card, prov, nil
}

// VerifyOTP checks the OTP the cardholder typed for the attempt of
// correlationID, in constant time. The right OTP verifies the cardholder
// for the attempt and is then used up (ErrOTPUsed the next time). A wrong
// one is ErrOTPWrong with the entries left; at the limit the attempt and
// the card's provisioning lock (ErrLocked), and nothing goes on, not even
// with the right OTP, until ResetProvisioning (R-G3c). An expired OTP is
// ErrOTPExpired.
func (s *Service) VerifyOTP(ctx context.Context, correlationID, otp string) (VerifyResult, error) {
	if !correlationRE.MatchString(correlationID) || len(otp) > 32 {
		return VerifyResult{}, refuse(ReasonInvalidRequest, "correlationId or otp malformed")
	}
	now := s.now()
	return s.verifyAnswer(ctx, correlationID, "otp", "OTP", now, func(tx *store.Tx, a *store.IDVAttempt, card store.Card, prov *store.Provisioning) (*Error, error) {
		o, err := tx.OTP(ctx, correlationID)
		if errors.Is(err, store.ErrNotFound) {
			return nil, refuse(ReasonOTPNotSent, "no OTP was sent for this attempt")
		}
		if err != nil {
			return nil, err
		}
		if !o.UsedAt.IsZero() {
			return nil, refuse(ReasonOTPUsed, "the OTP of this attempt was used already")
		}
		if !now.Before(o.ExpiresAt) {
			return nil, refuse(ReasonOTPExpired, "the OTP expired; ask for another")
		}
		want, err := hex.DecodeString(o.Hash)
		if err != nil {
			return nil, fmt.Errorf("idv: stored OTP hash: %w", err)
		}
		got, err := s.otpHash(correlationID, otp)
		if err != nil {
			return nil, err
		}
		if !digits(otp, OTPDigits, OTPDigits) || !hmac.Equal(got, want) {
			return s.wrongAnswer(ctx, tx, card, prov, a, ReasonOTPWrong, "OTP", now)
		}
		return nil, tx.UseOTP(ctx, correlationID, now)
	})
}

// verifyAnswer checks, in one transaction, the cardholder's answer for
// the attempt of correlationID: check returns the refusal of a wrong
// answer, counted already, or nil for the right one, which verifies the
// attempt (verified) by by, label naming it in the audit trail and logs.
func (s *Service) verifyAnswer(ctx context.Context, correlationID, by, label string, now time.Time,
	check func(tx *store.Tx, a *store.IDVAttempt, card store.Card, prov *store.Provisioning) (*Error, error)) (VerifyResult, error) {
	var refusal error
	err := s.db.Update(ctx, func(tx *store.Tx) error {
		refusal = nil
		a, card, prov, err := s.attempt(ctx, tx, correlationID)
		if err != nil {
			return err
		}
		wrong, err := check(tx, &a, card, &prov)
		if err != nil {
			return err
		}
		if wrong != nil {
			refusal = wrong
			return nil
		}
		return s.verified(ctx, tx, card, prov, a, by, label, now)
	})
	if err == nil {
		err = refusal
	}
	if err != nil {
		return VerifyResult{}, s.refused("verify "+label, correlationID, err)
	}
	s.log.Info("idv: "+label+" verified", "correlation", correlationID)
	return VerifyResult{CorrelationID: correlationID, Verified: true}, nil
}

// verified marks attempt a verified by the cardholder's answer by (label
// in the audit trail), clears the count of wrong entries of the card's
// provisioning and audits it.
func (s *Service) verified(ctx context.Context, tx *store.Tx, card store.Card, prov store.Provisioning, a store.IDVAttempt, by, label string, now time.Time) error {
	a.Verified, a.VerifiedBy, a.VerifiedAt, a.UpdatedAt = true, by, now, now
	if err := tx.UpdateIDVAttempt(ctx, a); err != nil {
		return err
	}
	if err := clearFailures(ctx, tx, &prov, now); err != nil {
		return err
	}
	return tx.Audit(ctx, store.AuditEvent{At: now, Actor: Actor, Action: "idv." + by + ".verified", Subject: subject(card),
		Detail: "correlation " + a.CorrelationID + ": cardholder verified by " + label})
}

// clearFailures sets the count of wrong entries of the card's
// provisioning back to 0 after a right answer.
func clearFailures(ctx context.Context, tx *store.Tx, prov *store.Provisioning, now time.Time) error {
	if prov.Failures == 0 {
		return nil
	}
	prov.Failures, prov.UpdatedAt = 0, now
	return tx.PutProvisioning(ctx, *prov)
}

// ResetProvisioning is the issuer's service centre unlocking a card's
// provisioning after it verified the cardholder by other means (R-G3c):
// the count of wrong entries goes back to 0. Attempts locked stay locked:
// the token service starts a new one. operator names who reset it, for the
// audit trail.
func (s *Service) ResetProvisioning(ctx context.Context, cardID, operator string) error {
	if cardID == "" || len(cardID) > 64 || operator == "" || len(operator) > 64 {
		return refuse(ReasonInvalidRequest, "card ID and operator are required")
	}
	now := s.now()
	err := s.db.Update(ctx, func(tx *store.Tx) error {
		card, err := tx.Card(ctx, cardID)
		if err != nil {
			return err
		}
		p, err := tx.Provisioning(ctx, cardID)
		if err != nil {
			return err
		}
		was := p.Locked
		p.Failures, p.Locked, p.ResetAt, p.ResetBy, p.UpdatedAt = 0, false, now, operator, now
		if err := tx.PutProvisioning(ctx, p); err != nil {
			return err
		}
		return tx.Audit(ctx, store.AuditEvent{At: now, Actor: "service-centre", Action: "idv.reset", Subject: subject(card),
			Detail: fmt.Sprintf("provisioning reset by operator %s (was locked: %t)", operator, was)})
	})
	if err != nil {
		return fmt.Errorf("idv: reset provisioning of card %s: %w", cardID, err)
	}
	s.log.Info("idv: provisioning reset", "card", cardID, "operator", operator)
	return nil
}

// refused logs a refusal (its reason only) and returns it; other errors
// are wrapped with what failed.
func (s *Service) refused(op, correlationID string, err error) error {
	var e *Error
	if errors.As(err, &e) {
		s.log.Warn("idv: refused", "op", op, "correlation", correlationID, "reason", e.Reason)
		return err
	}
	s.log.Error("idv: failed", "op", op, "correlation", correlationID, "err", err)
	return fmt.Errorf("idv: %s: %w", op, err)
}

// VerifyPasscode checks the cardholder's passcode for the attempt of
// correlationID (R-G3a): block is the PIN block under the issuer's zone
// PIN key, checked in the security module against the card's PIN
// verification value (the issuer-set passcode is the card's PIN). The
// right passcode verifies the cardholder for the attempt. A wrong one is
// ErrPasscodeWrong with the entries left, counted with wrong OTPs and
// security codes toward the lock of the card's provisioning (R-G3c); a
// card whose PIN is locked is ErrPasscodeLocked.
func (s *Service) VerifyPasscode(ctx context.Context, correlationID string, block []byte) (VerifyResult, error) {
	if !correlationRE.MatchString(correlationID) || (len(block) != 8 && len(block) != 16) {
		return VerifyResult{}, refuse(ReasonInvalidRequest, "correlationId or PIN block malformed")
	}
	now := s.now()
	return s.verifyAnswer(ctx, correlationID, "passcode", "passcode", now, func(tx *store.Tx, a *store.IDVAttempt, card store.Card, prov *store.Provisioning) (*Error, error) {
		if a.Verified {
			return nil, refuse(ReasonAlreadyVerified, "the cardholder is verified for this attempt already")
		}
		if card.PINLocked {
			return nil, refuse(ReasonPasscodeLocked, "the card's PIN is locked")
		}
		if card.PVV == "" {
			return nil, refuse(ReasonNotVerified, "the card has no passcode")
		}
		return s.wrongPasscode(ctx, tx, card, prov, a, block, now)
	})
}
