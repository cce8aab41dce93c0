package idv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/tapsim/tapsim/issuerhost/store"
)

// SERequestor is the requestor ID the issuer records on the attempts of
// its own over-the-air personalisations into a secure element (seed 3.2):
// no token requestor is involved there.
const SERequestor = "issuer-se-ota"

// ReasonSEDownload is the step-up reason of such an attempt: the
// cardholder is always verified at download (R-S3c).
const ReasonSEDownload Reason = "se_download"

// purposeSE marks an attempt whose OTP puts the card in a secure element.
const purposeSE = "se"

// BeginSE opens the ID&V attempt of correlationID for the issuer's own
// personalisation of card cardID into the secure element of deviceID over
// the air (R-M6, R-S3c). The issuer orders it, so no card data is checked;
// the attempt always steps up to an OTP to one of the card's registered
// contacts (the answer: the methods, as SendOTP takes them), and its OTPs
// then follow the rules of every attempt: 5 minutes, single use, and at
// most 5 wrong entries in a row across the card's attempts before its
// provisioning locks until the service centre resets it (R-G3c). A locked,
// lost or blocked card is refused with its reason.
func (s *Service) BeginSE(ctx context.Context, correlationID, cardID, deviceID string) ([]Method, error) {
	if !correlationRE.MatchString(correlationID) || cardID == "" || len(cardID) > 64 || len(deviceID) > 64 {
		return nil, refuse(ReasonInvalidRequest, "correlation, card or device malformed")
	}
	now := s.now()
	var methods []Method
	err := s.db.Update(ctx, func(tx *store.Tx) error {
		if _, err := tx.IDVAttempt(ctx, correlationID); err == nil {
			return refuse(ReasonCorrelationReused, "correlation %s already used", correlationID)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		c, err := tx.Card(ctx, cardID)
		if errors.Is(err, store.ErrNotFound) {
			return refuse(ReasonCardNotFound, "no card %s", cardID)
		}
		if err != nil {
			return err
		}
		prov, err := tx.Provisioning(ctx, c.ID)
		if err != nil {
			return err
		}
		if prov.Locked {
			return refuse(ReasonIDVLocked, "provisioning of this card is locked until the service centre resets it")
		}
		if c.Status != store.CardActive {
			return refuse(ReasonCardNotActive, "the card is %s", c.Status)
		}
		if methods, err = s.methods(ctx, tx, c.ID); err != nil {
			return err
		}
		var sms []Method
		for _, m := range methods {
			if m.ID == "sms" {
				sms = append(sms, m)
			}
		}
		if methods = sms; len(methods) == 0 {
			return refuse(ReasonNoStepUpMethod, "no registered phone for this card")
		}
		enc, err := json.Marshal(stored{Methods: methods, Offered: true, Purpose: purposeSE})
		if err != nil {
			return fmt.Errorf("idv: %w", err)
		}
		if err := tx.PutIDVAttempt(ctx, store.IDVAttempt{CorrelationID: correlationID, CardID: c.ID, RequestorID: SERequestor,
			DeviceID: deviceID, Decision: string(StepUp), Reason: string(ReasonSEDownload), Answer: string(enc),
			RequestDigest: "se|" + correlationID, CreatedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
		return tx.Audit(ctx, store.AuditEvent{At: now, Actor: Actor, Action: "idv.decision", Subject: subject(c),
			Detail: fmt.Sprintf("correlation %s: %s %s; SE personalisation over the air, device %s", correlationID, StepUp,
				ReasonSEDownload, deviceID)})
	})
	if err != nil {
		return nil, s.refused("begin SE", correlationID, err)
	}
	s.log.Info("idv: SE download attempt", "correlation", correlationID, "device", deviceID)
	return methods, nil
}
