package tokensvc

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/tapsim/tapsim/emv/pan"
	"github.com/tapsim/tapsim/emv/pin"
	"github.com/tapsim/tapsim/provision/wire"
)

// OTP rules of MemoryIssuer (MODEL values of the brief: 5 minutes, 5
// wrong codes).
const (
	// OTPValidity is how long an OTP is accepted after it is sent.
	OTPValidity = 5 * time.Minute
	// MaxWrongOTP is how many consecutive wrong codes lock the
	// cardholder (R-G3c).
	MaxWrongOTP = 5
)

// Card is a card MemoryIssuer knows.
type Card struct {
	// Expiry (YYMM) and SecurityCode must match what the cardholder typed.
	Expiry, SecurityCode string
	// Blocked, when set, is the reason every request is declined (e.g.
	// "CARD_LOST").
	Blocked string
	// StepUp asks for additional authentication (the yellow path).
	StepUp bool
	// Phone is the cardholder's phone number; its last 4 digits are shown.
	Phone string
	// PIN is the card's PIN for an activation afterwards
	// (ActivatePasscode); none when empty.
	PIN string
}

// MemoryIssuer is an Issuer in memory with the semantics the interface
// documents, an injected clock and randomness, and a message centre the
// test reads the OTPs from. It stands in for issuerhost's API in tests.
type MemoryIssuer struct {
	clock func() time.Time
	rnd   io.Reader

	mu      sync.Mutex
	cards   map[string]Card
	otps    map[string]*otpState // by PAN
	wrong   map[string]int       // consecutive wrong codes, by PAN
	locked  map[string]bool
	sent    map[string]string // last OTP sent, by PAN (the cardholder's phone)
	notes   []wire.Notification
	seen    map[string]bool
	cvm     map[string]string // device CVM of the last request, by PAN
	changed chan struct{}
}

type otpState struct {
	code    string
	tur     string
	expires time.Time
	used    bool
}

// NewMemoryIssuer is an issuer with no card; clock and rnd default to
// time.Now and crypto/rand.
func NewMemoryIssuer(clock func() time.Time, rnd io.Reader) *MemoryIssuer {
	if clock == nil {
		clock = time.Now
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	return &MemoryIssuer{
		clock: clock, rnd: rnd, cards: map[string]Card{}, otps: map[string]*otpState{},
		wrong: map[string]int{}, locked: map[string]bool{}, sent: map[string]string{},
		seen: map[string]bool{}, cvm: map[string]string{}, changed: make(chan struct{}),
	}
}

// AddCard makes the issuer know a card.
func (m *MemoryIssuer) AddCard(p string, c Card) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cards[p] = c
}

// Authorize implements Issuer: declines unknown cards, wrong expiry or
// code (INVALID_CARD_DATA) and blocked cards (their reason); asks for a
// text message when the card says StepUp; approves otherwise.
func (m *MemoryIssuer) Authorize(_ context.Context, req IDVRequest) (IDVDecision, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cvm[req.Card.PAN] = req.DeviceCVM
	c, ok := m.cards[req.Card.PAN]
	switch {
	case !ok, c.Expiry != req.Card.Expiry, c.SecurityCode != "" && c.SecurityCode != req.Card.SecurityCode:
		return IDVDecision{Decision: wire.DecisionDeclined, Reason: "INVALID_CARD_DATA"}, nil
	case c.Blocked != "":
		return IDVDecision{Decision: wire.DecisionDeclined, Reason: c.Blocked}, nil
	case c.StepUp || req.Risk.Recommendation == wire.DecisionRequireAuthN:
		return IDVDecision{Decision: wire.DecisionRequireAuthN, Methods: []wire.AuthenticationMethod{{
			ID: "1", Type: wire.AuthTextToCardholder, Value: "*******" + pan.Last4(c.Phone),
		}}}, nil
	}
	return IDVDecision{Decision: wire.DecisionApproved}, nil
}

// DeviceCVM is the consumer-device CVM the token service passed on with
// the last ID&V request for card p ("" for none).
func (m *MemoryIssuer) DeviceCVM(p string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cvm[p]
}

// SendOTP implements Issuer: a fresh 6-digit code, valid OTPValidity.
func (m *MemoryIssuer) SendOTP(_ context.Context, req OTPRequest) (time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.cards[req.PAN]; !ok {
		return time.Time{}, ErrUnknownCard
	}
	if m.locked[req.PAN] {
		return time.Time{}, fmt.Errorf("%w: send OTP", ErrOTPLocked)
	}
	b := make([]byte, 4)
	if _, err := io.ReadFull(m.rnd, b); err != nil {
		return time.Time{}, fmt.Errorf("tokensvc: issuer: random source: %w", err)
	}
	n := (uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])) % 1000000
	code := fmt.Sprintf("%06d", n)
	exp := m.clock().Add(OTPValidity)
	m.otps[req.PAN] = &otpState{code: code, tur: req.TokenUniqueReference, expires: exp}
	m.sent[req.PAN] = code
	return exp, nil
}

// VerifyOTP implements Issuer.
func (m *MemoryIssuer) VerifyOTP(_ context.Context, p, tur, code string) (OTPVerdict, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.locked[p] {
		return OTPVerdict{Status: OTPLocked}, nil
	}
	o := m.otps[p]
	if o == nil || o.tur != tur {
		return OTPVerdict{Status: OTPExpired}, nil
	}
	if o.used {
		return OTPVerdict{Status: OTPUsed}, nil
	}
	if !m.clock().Before(o.expires) {
		return OTPVerdict{Status: OTPExpired}, nil
	}
	if subtle.ConstantTimeCompare([]byte(o.code), []byte(code)) != 1 {
		m.wrong[p]++
		if m.wrong[p] >= MaxWrongOTP {
			m.locked[p] = true
			return OTPVerdict{Status: OTPLocked}, nil
		}
		return OTPVerdict{Status: OTPWrong, TriesLeft: MaxWrongOTP - m.wrong[p]}, nil
	}
	o.used = true
	m.wrong[p] = 0
	return OTPVerdict{Status: OTPVerified}, nil
}

var _ PasscodeIssuer = (*MemoryIssuer)(nil)

// ActivatePasscode implements PasscodeIssuer: the clear ISO 9564 format 1
// block is decoded and compared with the card's PIN in constant time; a
// wrong PIN counts with the wrong OTPs toward the lock (R-G3c), a right
// one resets the count. A card without a PIN is refused
// passcode_unavailable.
func (m *MemoryIssuer) ActivatePasscode(_ context.Context, p, _ string, block []byte) (OTPVerdict, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.cards[p]
	switch {
	case !ok || c.PIN == "":
		return OTPVerdict{}, refuse(http.StatusConflict, ReasonPasscodeUnavailable, "the card has no PIN to activate with")
	case m.locked[p]:
		return OTPVerdict{Status: OTPLocked}, nil
	}
	got, err := pin.Decode(pin.Format1, block, "")
	if err != nil {
		got = ""
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(c.PIN)) != 1 {
		m.wrong[p]++
		if m.wrong[p] >= MaxWrongOTP {
			m.locked[p] = true
			return OTPVerdict{Status: OTPLocked}, nil
		}
		return OTPVerdict{Status: OTPWrong, TriesLeft: MaxWrongOTP - m.wrong[p]}, nil
	}
	m.wrong[p] = 0
	return OTPVerdict{Status: OTPVerified}, nil
}

// Notify implements Issuer: records each CorrelationID once.
func (m *MemoryIssuer) Notify(_ context.Context, n wire.Notification) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.seen[n.CorrelationID] {
		return nil
	}
	m.seen[n.CorrelationID] = true
	m.notes = append(m.notes, n)
	close(m.changed)
	m.changed = make(chan struct{})
	return nil
}

// ResetOTP is the service centre's reset after verifying the cardholder
// (R-G3c): the lock and the count of wrong codes are cleared.
func (m *MemoryIssuer) ResetOTP(p string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.locked, p)
	delete(m.wrong, p)
}

// LastOTP is the last code sent to the cardholder of p (what the message
// centre shows on the cardholder's phone).
func (m *MemoryIssuer) LastOTP(p string) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.sent[p]
	return c, ok
}

// Notifications lists the notifications received, in order.
func (m *MemoryIssuer) Notifications() []wire.Notification {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.notes)
}

// WaitNotification waits until a notification of event for tur has been
// received, or ctx ends.
func (m *MemoryIssuer) WaitNotification(ctx context.Context, event, tur string) (wire.Notification, error) {
	for {
		m.mu.Lock()
		for _, n := range m.notes {
			if n.Event == event && n.TokenUniqueReference == tur {
				m.mu.Unlock()
				return n, nil
			}
		}
		ch := m.changed
		m.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return wire.Notification{}, fmt.Errorf("tokensvc: issuer: waiting for %s: %w", event, ctx.Err())
		}
	}
}
