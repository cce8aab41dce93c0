package idv

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tapsim/tapsim/emv/pan"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/issuerhost/store"
)

// Event is the kind of a token service notification.
type Event string

// The notifications (FACT: VTS Token Create Notification / MDES Notify
// Service Activated, the download complete of R-M5).
const (
	EventTokenCreated     Event = "TOKEN_CREATED"
	EventDownloadComplete Event = "DOWNLOAD_COMPLETE"
)

// Notification is what the token service tells the issuer about a token
// made under an ID&V attempt.
type Notification struct {
	Event         Event  `json:"event"`
	CorrelationID string `json:"correlationId"`
	TokenRef      string `json:"tokenRef"` // token unique reference, never the token number
	DeviceID      string `json:"deviceId"`
	RequestorID   string `json:"tokenRequestorId"`
}

// Token states of a token record, as the issuer sees it.
const (
	StatusInactive = "INACTIVE"
	StatusActive   = "ACTIVE"
)

// TokenStatus is the issuer's record of a token after a notification or an
// activation.
type TokenStatus struct {
	TokenRef     string    `json:"tokenRef"`
	Status       string    `json:"status"` // INACTIVE until activated, then ACTIVE
	Created      bool      `json:"created"`
	Downloaded   bool      `json:"downloaded"`
	ActivatedAt  time.Time `json:"activatedAt,omitzero"`
	VerifiedWith string    `json:"verifiedWith,omitempty"` // otp, passcode, device-cvm:<method>
}

func tokenStatus(k store.CardToken) TokenStatus {
	st := TokenStatus{TokenRef: k.TokenRef, Status: StatusInactive, Created: !k.CreatedAt.IsZero(),
		Downloaded: !k.DownloadedAt.IsZero(), ActivatedAt: k.ActivatedAt, VerifiedWith: k.ActivatedBy}
	if !k.ActivatedAt.IsZero() {
		st.Status = StatusActive
	}
	return st
}

// NotifyTokenCreated records that the token service made token tokenRef
// for the attempt of correlationID.
func (s *Service) NotifyTokenCreated(ctx context.Context, correlationID, tokenRef, deviceID, requestorID string) (TokenStatus, error) {
	return s.Notify(ctx, Notification{Event: EventTokenCreated, CorrelationID: correlationID, TokenRef: tokenRef,
		DeviceID: deviceID, RequestorID: requestorID})
}

// NotifyDownloadComplete records that token tokenRef reached the device.
func (s *Service) NotifyDownloadComplete(ctx context.Context, correlationID, tokenRef, deviceID, requestorID string) (TokenStatus, error) {
	return s.Notify(ctx, Notification{Event: EventDownloadComplete, CorrelationID: correlationID, TokenRef: tokenRef,
		DeviceID: deviceID, RequestorID: requestorID})
}

// Notify records a notification on the card's record: which token, device
// and token requestor the card has. Notifications may come twice or out of
// order (a download complete before the token created): each sets what it
// says once, and a repeat changes nothing. The device and requestor must
// be the attempt's, and a token reference belongs to one attempt.
func (s *Service) Notify(ctx context.Context, n Notification) (TokenStatus, error) {
	switch {
	case n.Event != EventTokenCreated && n.Event != EventDownloadComplete:
		return TokenStatus{}, refuse(ReasonInvalidRequest, "event must be TOKEN_CREATED or DOWNLOAD_COMPLETE")
	case !correlationRE.MatchString(n.CorrelationID) || !refRE.MatchString(n.TokenRef) ||
		!deviceRE.MatchString(n.DeviceID) || !requestorRE.MatchString(n.RequestorID):
		return TokenStatus{}, refuse(ReasonInvalidRequest, "correlationId, tokenRef, deviceId or tokenRequestorId malformed")
	}
	now := s.now()
	var out TokenStatus
	err := s.db.Update(ctx, func(tx *store.Tx) error {
		a, err := tx.IDVAttempt(ctx, n.CorrelationID)
		if errors.Is(err, store.ErrNotFound) {
			return refuse(ReasonUnknownCorrelation, "no ID&V attempt %s", n.CorrelationID)
		}
		if err != nil {
			return err
		}
		switch {
		case Decision(a.Decision) == Declined || a.CardID == "":
			return refuse(ReasonAttemptDeclined, "ID&V attempt %s was declined", n.CorrelationID)
		case a.RequestorID != n.RequestorID:
			return refuse(ReasonRequestorMismatch, "the attempt was made by another token requestor")
		case a.DeviceID != n.DeviceID:
			return refuse(ReasonDeviceMismatch, "the attempt was made for another device")
		}
		k, err := tx.CardToken(ctx, n.TokenRef)
		switch {
		case errors.Is(err, store.ErrNotFound):
			k = store.CardToken{TokenRef: n.TokenRef, CardID: a.CardID, CorrelationID: a.CorrelationID,
				DeviceID: n.DeviceID, RequestorID: n.RequestorID, FirstSeenAt: now}
		case err != nil:
			return err
		case k.CorrelationID != n.CorrelationID:
			return refuse(ReasonTokenConflict, "token %s belongs to another attempt", n.TokenRef)
		}
		changed := false
		if n.Event == EventTokenCreated && k.CreatedAt.IsZero() {
			k.CreatedAt, changed = now, true
		}
		if n.Event == EventDownloadComplete && k.DownloadedAt.IsZero() {
			k.DownloadedAt, changed = now, true
		}
		out = tokenStatus(k)
		if !changed {
			return nil
		}
		if err := tx.PutCardToken(ctx, k); err != nil {
			return err
		}
		card, err := tx.Card(ctx, a.CardID)
		if err != nil {
			return err
		}
		action := "idv.token.created"
		if n.Event == EventDownloadComplete {
			action = "idv.token.downloaded"
			if err := s.notice(ctx, tx, card, now, "token-downloaded", fmt.Sprintf("tapsim bank: the card ending %s was "+
				"added to a device (wallet %s). If this was not you, call us.", pan.Last4(card.PAN), n.RequestorID)); err != nil {
				return err
			}
		}
		return tx.Audit(ctx, store.AuditEvent{At: now, Actor: Actor, Action: action, Subject: subject(card),
			Detail: fmt.Sprintf("correlation %s: token %s, device %s, requestor %s", n.CorrelationID, n.TokenRef,
				n.DeviceID, n.RequestorID)})
	})
	if err != nil {
		return TokenStatus{}, s.refused("notify", n.CorrelationID, err)
	}
	s.log.Info("idv: notification", "event", n.Event, "correlation", n.CorrelationID, "token", n.TokenRef)
	return out, nil
}

// notice posts a message to the cardholder's phone, else e-mail address.
func (s *Service) notice(ctx context.Context, tx *store.Tx, card store.Card, now time.Time, kind, body string) error {
	c, err := tx.CardContact(ctx, card.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	ch, to := "sms", c.Phone
	if to == "" {
		ch, to = "email", c.Email
	}
	if to == "" {
		return nil
	}
	_, err = tx.PostMessage(ctx, store.Message{At: now, Recipient: to, Channel: ch, Kind: kind, Body: body})
	return err
}

// Proof methods of an activation.
const (
	ProofOTP      = "OTP"
	ProofPasscode = "PASSCODE"
	// ProofDeviceCVM relies on the consumer-device CVM the green decision
	// of the token's attempt was made on (R-G3f, DecisioningData.DeviceCVM).
	ProofDeviceCVM = "DEVICE_CVM"
)

// ActivateRequest asks to activate a downloaded token. Method OTP relies
// on the OTP verified for the token's attempt; method PASSCODE carries the
// card's PIN as an ISO 9564 PIN block enciphered under the zone PIN key
// shared with the issuer (hex), so that the passcode travels encrypted
// (R-S2a, R-G1).
type ActivateRequest struct {
	TokenRef string `json:"tokenRef"`
	Method   string `json:"method"`             // OTP, PASSCODE or DEVICE_CVM
	PINBlock string `json:"pinBlock,omitempty"` // hex, PASSCODE only
}

// String shows the request without its PIN block.
func (r ActivateRequest) String() string {
	return fmt.Sprintf("activation of token %s by %s", r.TokenRef, r.Method)
}

// GoString is String.
func (r ActivateRequest) GoString() string { return r.String() }

// Activate activates a token once the cardholder is verified (R-S2a, per
// R-G3): after its download, by the OTP verified for the token's ID&V
// attempt (R-G3e) or by the consumer-device CVM its green decision was
// made on (R-G3f); at any time, by the card's PIN (R-G3a: activation
// afterwards, also of a token whose step-up was never completed), checked
// in the security module against the card's PIN verification value. A
// wrong PIN is a wrong entry counted toward the lock (R-G3c); a locked
// card's provisioning refuses idv_locked. A token not downloaded is
// ErrNotDownloaded (OTP, device CVM), one without verification
// ErrNotVerified. Activating an active token again answers the same.
func (s *Service) Activate(ctx context.Context, req ActivateRequest) (TokenStatus, error) {
	if !refRE.MatchString(req.TokenRef) {
		return TokenStatus{}, refuse(ReasonInvalidRequest, "tokenRef malformed")
	}
	var block []byte
	switch req.Method {
	case ProofOTP, ProofDeviceCVM:
		if req.PINBlock != "" {
			return TokenStatus{}, refuse(ReasonInvalidRequest, "pinBlock goes with method PASSCODE only")
		}
	case ProofPasscode:
		b, err := hex.DecodeString(req.PINBlock)
		if err != nil || (len(b) != 8 && len(b) != 16) {
			return TokenStatus{}, refuse(ReasonInvalidRequest, "pinBlock must be 8 or 16 bytes in hex")
		}
		block = b
	default:
		return TokenStatus{}, refuse(ReasonInvalidRequest, "method must be OTP, PASSCODE or DEVICE_CVM")
	}
	now := s.now()
	var out TokenStatus
	var refusal error
	err := s.db.Update(ctx, func(tx *store.Tx) error {
		refusal = nil
		k, err := tx.CardToken(ctx, req.TokenRef)
		if errors.Is(err, store.ErrNotFound) {
			return refuse(ReasonUnknownToken, "no token %s", req.TokenRef)
		}
		if err != nil {
			return err
		}
		if !k.ActivatedAt.IsZero() {
			out = tokenStatus(k)
			return nil
		}
		if k.DownloadedAt.IsZero() && req.Method != ProofPasscode {
			return refuse(ReasonNotDownloaded, "token %s is not downloaded yet", req.TokenRef)
		}
		a, card, prov, err := s.attempt(ctx, tx, k.CorrelationID)
		if err != nil {
			return err
		}
		by := map[string]string{ProofOTP: "otp", ProofPasscode: "passcode"}[req.Method]
		switch req.Method {
		case ProofOTP:
			if !a.Verified {
				return refuse(ReasonNotVerified, "the cardholder is not verified for this token's attempt")
			}
		case ProofDeviceCVM:
			st, err := storedOf(a)
			if err != nil {
				return err
			}
			if Decision(a.Decision) != Approved || st.DeviceCVM == "" {
				return refuse(ReasonNotVerified, "the token's attempt was not approved on a cardholder verification on the device")
			}
			by = "device-cvm:" + strings.ToLower(st.DeviceCVM)
		case ProofPasscode:
			if card.PINLocked {
				return refuse(ReasonPasscodeLocked, "the card's PIN is locked")
			}
			if card.PVV == "" {
				return refuse(ReasonNotVerified, "the card has no PIN")
			}
			wrong, err := s.wrongPasscode(ctx, tx, card, &prov, &a, block, now)
			if err != nil {
				return err
			}
			if wrong != nil {
				refusal = wrong
				return nil
			}
			if err := clearFailures(ctx, tx, &prov, now); err != nil {
				return err
			}
		}
		k.ActivatedAt, k.ActivatedBy = now, by
		if err := tx.PutCardToken(ctx, k); err != nil {
			return err
		}
		out = tokenStatus(k)
		if _, err := tx.PostMessage(ctx, store.Message{At: now, Recipient: k.DeviceID, Channel: "device", Kind: "token-activated",
			Body: fmt.Sprintf("the card ending %s is ready to pay on this device", pan.Last4(card.PAN))}); err != nil {
			return err
		}
		if err := s.notice(ctx, tx, card, now, "token-activated", fmt.Sprintf("tapsim bank: the card ending %s is now "+
			"active on a device. If this was not you, call us.", pan.Last4(card.PAN))); err != nil {
			return err
		}
		return tx.Audit(ctx, store.AuditEvent{At: now, Actor: Actor, Action: "idv.token.activated", Subject: subject(card),
			Detail: fmt.Sprintf("token %s on device %s, cardholder verified by %s", k.TokenRef, k.DeviceID, k.ActivatedBy)})
	})
	if err == nil {
		err = refusal
	}
	if err != nil {
		return TokenStatus{}, s.refused("activate", req.TokenRef, err)
	}
	s.log.Info("idv: token activated", "token", req.TokenRef, "by", out.VerifiedWith)
	return out, nil
}

// wrongPasscode checks the PIN block against the card's PIN (checkPIN): a
// wrong passcode is counted toward the provisioning lock and its refusal
// returned (wrongAnswer), the right one is nil.
func (s *Service) wrongPasscode(ctx context.Context, tx *store.Tx, card store.Card, prov *store.Provisioning, a *store.IDVAttempt, block []byte, now time.Time) (*Error, error) {
	ok, err := s.checkPIN(card, block)
	if err != nil || ok {
		return nil, err
	}
	return s.wrongAnswer(ctx, tx, card, prov, a, ReasonPasscodeWrong, "passcode", now)
}

// checkPIN verifies a PIN block against the card's PVV in the module: a
// wrong PIN is false, a block that does not decode is a refusal.
func (s *Service) checkPIN(card store.Card, block []byte) (bool, error) {
	zpk, err := s.hsm.Lookup(s.zpkLabel)
	if err != nil {
		return false, fmt.Errorf("idv: zone PIN key: %w", err)
	}
	pvk, err := s.hsm.Lookup(s.pvkLabel)
	if err != nil {
		return false, fmt.Errorf("idv: PIN verification key: %w", err)
	}
	switch err := s.hsm.VerifyPIN(zpk, block, card.PAN, pvk, card.PVKI, card.PVV); {
	case err == nil:
		return true, nil
	case errors.Is(err, hsm.ErrPIN):
		return false, nil
	case errors.Is(err, hsm.ErrPINBlock):
		return false, refuse(ReasonInvalidRequest, "the PIN block does not decode under the zone PIN key")
	default:
		return false, fmt.Errorf("idv: PIN check: %w", err)
	}
}

// Message is one message of the message centre, as Inbox shows it.
type Message struct {
	Seq       int64     `json:"seq"`
	At        time.Time `json:"at"`
	Recipient string    `json:"recipient"`
	Channel   string    `json:"channel"`
	Kind      string    `json:"kind"`
	Body      string    `json:"body"`
}

// InboxSize is the number of messages Inbox returns at most.
const InboxSize = 50

// Inbox returns the last messages the message centre holds for a
// recipient: a registered phone number or e-mail address, AppRecipient of
// a card, or a device ID; oldest first. It is the one place an OTP shows,
// as a real SMS would (a test and admin view: the phone panel and the CLI
// read it).
func (s *Service) Inbox(ctx context.Context, recipient string) ([]Message, error) {
	if recipient == "" || len(recipient) > 254 {
		return nil, refuse(ReasonInvalidRequest, "recipient must be 1 to 254 characters")
	}
	var out []Message
	err := s.db.View(ctx, func(tx *store.Tx) error {
		ms, err := tx.Inbox(ctx, recipient, InboxSize)
		if err != nil {
			return err
		}
		out = make([]Message, len(ms))
		for i, m := range ms {
			out[i] = Message{Seq: m.Seq, At: m.At, Recipient: m.Recipient, Channel: m.Channel, Kind: m.Kind, Body: m.Body}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("idv: inbox: %w", err)
	}
	return out, nil
}
