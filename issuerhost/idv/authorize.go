package idv

import (
	"context"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tapsim/tapsim/emv/pan"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/hsm/cvv"
	"github.com/tapsim/tapsim/issuerhost/store"
)

// validate checks the form of a request; the message names the field,
// never its value.
func (r AuthorizeRequest) validate() error {
	switch {
	case !correlationRE.MatchString(r.CorrelationID):
		return refuse(ReasonInvalidRequest, "correlationId must be 1 to 64 letters, digits or . _ : -")
	case !requestorRE.MatchString(r.RequestorID):
		return refuse(ReasonInvalidRequest, "tokenRequestorId must be 11 digits")
	case !digits(r.PAN, 12, 19) || !pan.LuhnValid(r.PAN):
		return refuse(ReasonInvalidRequest, "pan must be 12 to 19 digits with a valid check digit")
	case !digits(r.Expiry, 4, 4) || r.Expiry[2:] < "01" || r.Expiry[2:] > "12":
		return refuse(ReasonInvalidRequest, "expiry must be YYMM")
	case !digits(r.SecurityCode, cvv.Len, cvv.Len):
		return refuse(ReasonInvalidRequest, "securityCode must be 3 digits")
	case !deviceRE.MatchString(r.DeviceID):
		return refuse(ReasonInvalidRequest, "deviceId must be 1 to 64 letters, digits or . _ : -")
	case len(r.WalletID) > 64 || len(r.TokenType) > 32:
		return refuse(ReasonInvalidRequest, "walletId or tokenType too long")
	}
	d := r.Decisioning
	switch {
	case d.DeviceScore < 0 || d.DeviceScore > 5 || d.AccountScore < 0 || d.AccountScore > 5:
		return refuse(ReasonInvalidRequest, "deviceScore and accountScore must be 1 to 5")
	case d.Recommendation != "" && d.Recommendation != recommendApproved && d.Recommendation != string(Declined) &&
		d.Recommendation != string(StepUp):
		return refuse(ReasonInvalidRequest, "unknown recommendation")
	case len(d.RecommendationReasons) > 16 || len(d.DeviceIPAddress) > 64 || len(d.MobileNumberSuffix) > 8:
		return refuse(ReasonInvalidRequest, "decisioningData too long")
	case d.DeviceCVM != "" && !ValidDeviceCVM(d.DeviceCVM):
		return refuse(ReasonInvalidRequest, "deviceCvm must be PASSCODE, BIOMETRIC or PATTERN")
	}
	return nil
}

// digest is a keyed hash of the whole request under the OTP key of the
// module (a plain hash of a PAN and a 3-digit code could be inverted): a
// retry of the same request matches it, another request under the same
// correlation ID does not.
func (s *Service) digest(r AuthorizeRequest) (string, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return "", fmt.Errorf("idv: request digest: %w", err)
	}
	h, err := s.hsm.HashData(s.otpKey, append([]byte("tapsim-idv-request\x00"), b...))
	clear(b)
	if err != nil {
		return "", fmt.Errorf("idv: request digest: %w", err)
	}
	return hex.EncodeToString(h), nil
}

// stored is what an attempt keeps of its answer, to give it again.
type stored struct {
	Methods   []Method `json:"methods,omitempty"`
	Offered   bool     `json:"offered,omitempty"` // methods shown in the answer (yellow)
	PANSuffix string   `json:"panSuffix,omitempty"`
	TriesLeft int      `json:"triesLeft,omitempty"`
	// DeviceCVM is the consumer-device CVM a green decision relied on
	// (R-G3f): the proof of an activation by ProofDeviceCVM.
	DeviceCVM string `json:"deviceCvm,omitempty"`
	// Purpose is "se" for an attempt of the issuer's own SE
	// personalisation (BeginSE), "" for a token requestor's.
	Purpose string `json:"purpose,omitempty"`
}

// Authorize decides an ID&V request (green, yellow or red) and records it
// under its correlation ID. The same request again gets the same answer
// and is not a second attempt; another request under a used correlation
// ID is ErrCorrelationReused. A wrong security code or expiry is a wrong
// entry (R-G3c): the card's provisioning locks after MaxFailures of them
// in a row, counted with wrong OTPs and passcodes; the entry that locks it
// and every request after it are declined idv_locked. A malformed request is
// ErrInvalidRequest and records nothing.
func (s *Service) Authorize(ctx context.Context, req AuthorizeRequest) (AuthorizeResponse, error) {
	if err := req.validate(); err != nil {
		s.log.Warn("idv: request refused", "reason", ReasonInvalidRequest, "correlation", safeID(req.CorrelationID))
		return AuthorizeResponse{}, err
	}
	digest, err := s.digest(req)
	if err != nil {
		return AuthorizeResponse{}, err
	}
	now := s.now()
	var resp AuthorizeResponse
	var replay bool
	err = s.db.Update(ctx, func(tx *store.Tx) error {
		replay = false
		a, err := tx.IDVAttempt(ctx, req.CorrelationID)
		switch {
		case err == nil:
			if subtle.ConstantTimeCompare([]byte(a.RequestDigest), []byte(digest)) != 1 {
				return refuse(ReasonCorrelationReused, "correlationId already used for another request")
			}
			replay = true
			resp, err = answerOf(a)
			return err
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		var card *store.Card
		var st stored
		resp, card, st, err = s.decide(ctx, tx, req, now)
		if err != nil {
			return err
		}
		st.PANSuffix, st.TriesLeft = resp.PANSuffix, resp.TriesLeft
		enc, err := json.Marshal(st)
		if err != nil {
			return fmt.Errorf("idv: %w", err)
		}
		a = store.IDVAttempt{CorrelationID: req.CorrelationID, RequestorID: req.RequestorID, DeviceID: req.DeviceID,
			Decision: string(resp.Decision), Reason: string(resp.Reason), Answer: string(enc), RequestDigest: digest,
			CreatedAt: now, UpdatedAt: now}
		subj := "pan " + pan.Mask(req.PAN)
		if card != nil {
			a.CardID, subj = card.ID, subject(*card)
		}
		if err := tx.PutIDVAttempt(ctx, a); err != nil {
			return err
		}
		return tx.Audit(ctx, store.AuditEvent{At: now, Actor: Actor, Action: "idv.decision", Subject: subj,
			Detail: fmt.Sprintf("correlation %s: %s %s; requestor %s, device %s", req.CorrelationID, resp.Decision,
				resp.Reason, req.RequestorID, req.DeviceID)})
	})
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			s.log.Warn("idv: request refused", "reason", e.Reason, "correlation", req.CorrelationID)
			return AuthorizeResponse{}, err
		}
		return AuthorizeResponse{}, fmt.Errorf("idv: authorize: %w", err)
	}
	s.log.Info("idv: decision", "correlation", req.CorrelationID, "pan", pan.Mask(req.PAN), "decision", resp.Decision,
		"reason", resp.Reason, "replay", replay)
	return resp, nil
}

// answerOf rebuilds the answer an attempt gave.
func answerOf(a store.IDVAttempt) (AuthorizeResponse, error) {
	st, err := storedOf(a)
	if err != nil {
		return AuthorizeResponse{}, err
	}
	r := AuthorizeResponse{CorrelationID: a.CorrelationID, Decision: Decision(a.Decision), Reason: Reason(a.Reason),
		PANSuffix: st.PANSuffix, TriesLeft: st.TriesLeft}
	if st.Offered {
		r.Methods = st.Methods
	}
	return r, nil
}

func storedOf(a store.IDVAttempt) (stored, error) {
	var st stored
	if a.Answer != "" {
		if err := json.Unmarshal([]byte(a.Answer), &st); err != nil {
			return stored{}, fmt.Errorf("idv: attempt %s: stored answer: %w", a.CorrelationID, err)
		}
	}
	return st, nil
}

// decide runs the checks in order: requestor, card, lock, card status,
// expiry, security code, account, risk rules, step-up methods. A request
// the rules approve is approved only when it carries the cardholder's
// verification on the phone (DecisioningData.DeviceCVM, R-G3f): card
// data is not a cardholder verification, so without it the cardholder
// steps up (no_device_cvm).
func (s *Service) decide(ctx context.Context, tx *store.Tx, req AuthorizeRequest, now time.Time) (AuthorizeResponse, *store.Card, stored, error) {
	resp := AuthorizeResponse{CorrelationID: req.CorrelationID, Decision: Declined}
	decline := func(r Reason) (AuthorizeResponse, *store.Card, stored, error) {
		resp.Reason = r
		return resp, nil, stored{}, nil
	}
	if !s.requestors[req.RequestorID] {
		return decline(ReasonUnknownRequestor)
	}
	c, err := tx.CardByPAN(ctx, req.PAN)
	if errors.Is(err, store.ErrNotFound) {
		return decline(ReasonCardNotFound)
	}
	if err != nil {
		return resp, nil, stored{}, err
	}
	card := &c
	resp.PANSuffix = pan.Last4(c.PAN)
	declineCard := func(r Reason) (AuthorizeResponse, *store.Card, stored, error) {
		resp.Reason = r
		return resp, card, stored{}, nil
	}
	prov, err := tx.Provisioning(ctx, c.ID)
	if err != nil {
		return resp, nil, stored{}, err
	}
	if prov.Locked {
		return declineCard(ReasonIDVLocked)
	}
	switch c.Status {
	case store.CardLost:
		return declineCard(ReasonCardLost)
	case store.CardBlocked:
		return declineCard(ReasonCardBlocked)
	}
	wrong := func(r Reason) (AuthorizeResponse, *store.Card, stored, error) {
		left, err := s.wrongEntry(ctx, tx, c, &prov, r, now)
		if err != nil {
			return resp, nil, stored{}, err
		}
		resp.TriesLeft = left
		if prov.Locked {
			// This entry locked the card's provisioning.
			return declineCard(ReasonIDVLocked)
		}
		return declineCard(r)
	}
	if subtle.ConstantTimeCompare([]byte(req.Expiry), []byte(c.Expiry)) != 1 {
		return wrong(ReasonExpiryMismatch)
	}
	if expired(c.Expiry, now) {
		return declineCard(ReasonCardExpired)
	}
	switch err := s.hsm.VerifyCVV(s.cvk, req.PAN, c.Expiry, cvv.ServiceCodeCVV2, req.SecurityCode); {
	case errors.Is(err, hsm.ErrCVV):
		return wrong(ReasonSecurityCodeWrong)
	case err != nil:
		return resp, nil, stored{}, fmt.Errorf("idv: security code check: %w", err)
	}
	acct, err := tx.Account(ctx, c.AccountID)
	if err != nil {
		return resp, nil, stored{}, err
	}
	if acct.Status != store.AccountActive {
		return declineCard(ReasonAccountClosed)
	}
	resp.Decision, resp.Reason = Evaluate(s.rules, req.Decisioning)
	if resp.Decision == Approved && req.Decisioning.DeviceCVM == "" {
		resp.Decision, resp.Reason = StepUp, ReasonNoDeviceCVM
	}
	if resp.Decision == Declined {
		return resp, card, stored{}, nil
	}
	methods, err := s.methods(ctx, tx, c.ID)
	if err != nil {
		return resp, nil, stored{}, err
	}
	st := stored{Methods: methods}
	if resp.Decision == Approved {
		st.DeviceCVM = req.Decisioning.DeviceCVM
	}
	if resp.Decision == StepUp {
		if len(methods) == 0 {
			return declineCard(ReasonNoStepUpMethod)
		}
		resp.Methods, st.Offered = methods, true
	}
	return resp, card, st, nil
}

// expired reports whether a card valid through the month yymm has
// expired at now.
func expired(yymm string, now time.Time) bool {
	y := 2000 + int(yymm[0]-'0')*10 + int(yymm[1]-'0')
	m := time.Month(int(yymm[2]-'0')*10 + int(yymm[3]-'0'))
	return !now.Before(time.Date(y, m+1, 1, 0, 0, 0, 0, time.UTC))
}

// methods are the step-up methods of a card's registered contacts.
func (s *Service) methods(ctx context.Context, tx *store.Tx, cardID string) ([]Method, error) {
	c, err := tx.CardContact(ctx, cardID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Method
	if c.Phone != "" {
		out = append(out, Method{ID: "sms", Type: MethodSMS, Value: MaskPhone(c.Phone)})
	}
	if c.Email != "" {
		out = append(out, Method{ID: "email", Type: MethodEmail, Value: MaskEmail(c.Email)})
	}
	if c.IssuerApp {
		out = append(out, Method{ID: "app", Type: MethodIssuerApp, Value: "issuer app"})
	}
	return out, nil
}

// MaskPhone keeps a phone number's last 4 digits and its leading "+".
func MaskPhone(p string) string {
	b := []byte(p)
	keep := 0
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] >= '0' && b[i] <= '9' {
			if keep < 4 {
				keep++
				continue
			}
			b[i] = '*'
		}
	}
	return string(b)
}

// MaskEmail keeps the first letter of an address and its domain.
func MaskEmail(e string) string {
	at := strings.LastIndexByte(e, '@')
	if at < 1 {
		return "***"
	}
	return e[:1] + "***" + e[at:]
}

// wrongEntry counts a wrong security code, expiry, OTP or passcode against
// the card and locks its provisioning at the limit (R-G3c). It returns the
// entries left.
func (s *Service) wrongEntry(ctx context.Context, tx *store.Tx, c store.Card, p *store.Provisioning, r Reason, now time.Time) (int, error) {
	p.Failures++
	p.UpdatedAt = now
	if p.Failures >= s.maxFail {
		p.Locked, p.LockedAt, p.LockReason = true, now, string(r)
	}
	if err := tx.PutProvisioning(ctx, *p); err != nil {
		return 0, err
	}
	action, detail := "idv.wrong-entry", fmt.Sprintf("%s: %d of %d", r, p.Failures, s.maxFail)
	if p.Locked {
		action, detail = "idv.locked", fmt.Sprintf("provisioning locked after %d consecutive wrong entries (last: %s)", p.Failures, r)
	}
	if err := tx.Audit(ctx, store.AuditEvent{At: now, Actor: Actor, Action: action, Subject: subject(c), Detail: detail}); err != nil {
		return 0, err
	}
	return max(s.maxFail-p.Failures, 0), nil
}

// wrongAnswer counts a wrong OTP or passcode (wrongEntry) given for
// attempt a and returns the refusal: what's tries left, or ReasonIDVLocked
// once the limit locks the card's provisioning (the attempt is marked
// locked too).
func (s *Service) wrongAnswer(ctx context.Context, tx *store.Tx, c store.Card, p *store.Provisioning, a *store.IDVAttempt, r Reason, what string, now time.Time) (*Error, error) {
	left, err := s.wrongEntry(ctx, tx, c, p, r, now)
	if err != nil {
		return nil, err
	}
	if !p.Locked {
		return &Error{Reason: r, Message: fmt.Sprintf("wrong %s, %d tries left", what, left), TriesLeft: left}, nil
	}
	a.Locked, a.UpdatedAt = true, now
	if err := tx.UpdateIDVAttempt(ctx, *a); err != nil {
		return nil, err
	}
	return &Error{Reason: ReasonIDVLocked, Message: "too many wrong entries: provisioning of this card is locked until the service centre resets it"}, nil
}

// safeID is an identifier fit for a log line: itself when well formed,
// else a placeholder (it may be anything the caller sent).
func safeID(id string) string {
	if correlationRE.MatchString(id) {
		return id
	}
	return "(malformed)"
}
