package cloudsvc

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/tapsim/tapsim/emv/cloud"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/provision/wire"
)

// ErrConfig reports a missing or inconsistent configuration.
var ErrConfig = errors.New("cloudsvc: configuration")

// Refusal reasons of the platform (besides package wire's).
const (
	ReasonUnknownCard          = "unknown_card"
	ReasonAlreadyBound         = "already_bound"
	ReasonBoundToOtherHolder   = "device_bound_to_other_cardholder"
	ReasonDeviceKeyInUse       = "device_key_in_use"
	ReasonUnknownRegistration  = "unknown_registration"
	ReasonNotVerified          = "cardholder_not_verified"
	ReasonVerifierDown         = "verifier_unavailable"
	ReasonNotBound             = "device_not_bound"
	ReasonDeviceMismatch       = "device_mismatch"
	ReasonDeviceSuspended      = "device_suspended"
	ReasonChallengeInvalid     = "challenge_invalid"
	ReasonChallengeSignature   = "challenge_signature_invalid"
	ReasonAlreadyDownloaded    = "already_downloaded"
	ReasonNotDownloaded        = "not_downloaded"
	ReasonTooFrequent          = "too_frequent"
	ReasonKeySpaceExhausted    = "key_space_exhausted"
	ReasonProofOfPossession    = "proof_of_possession_failed"
	ReasonRegistrationMismatch = "registration_mismatch"
	ReasonMobilePINRequired    = "mobile_pin_required"
	ReasonATCExhausted         = "atc_exhausted"
	ReasonTransactionLog       = "transaction_log_mismatch"
	ReasonNotAllowed           = "not_allowed"
	// ReasonMobilePINLocked: the issuer locked the phone's card after
	// too many wrong mobile PINs (R-G3c); its service centre resets it
	// (ResetMobilePIN).
	ReasonMobilePINLocked = "mobile_pin_locked"
	// ReasonPasscodeNotOffered: the issuer's verification takes no
	// passcode.
	ReasonPasscodeNotOffered = "passcode_not_offered"
)

func refuse(code int, reason, msg string) *wire.Refusal { return wire.Refuse(code, reason, msg) }

var idRE = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

var (
	errUnknownCard         = refuse(http.StatusNotFound, ReasonUnknownCard, "no such card account")
	errAlreadyBound        = refuse(http.StatusConflict, ReasonAlreadyBound, "this phone is bound to this card account already")
	errOtherHolder         = refuse(http.StatusForbidden, ReasonBoundToOtherHolder, "this phone is bound to another cardholder's card account")
	errKeyInUse            = refuse(http.StatusForbidden, ReasonDeviceKeyInUse, "the device key is bound to another phone")
	errUnknownRegistration = refuse(http.StatusNotFound, ReasonUnknownRegistration, "no such registration, or it expired")
	errVerifierDown        = refuse(http.StatusBadGateway, ReasonVerifierDown, "the issuer's verification did not answer")
	errNotBound            = refuse(http.StatusUnauthorized, ReasonNotBound, "the request must be signed by a phone bound to the card account")
	errDeviceMismatch      = refuse(http.StatusForbidden, ReasonDeviceMismatch, "the device ID is not the one bound to the signing key")
	errSuspended           = refuse(http.StatusForbidden, ReasonDeviceSuspended, "this phone's binding is suspended")
	errChallenge           = refuse(http.StatusForbidden, ReasonChallengeInvalid, "the challenge is unknown, used or expired")
	errChallengeSig        = refuse(http.StatusForbidden, ReasonChallengeSignature, "the challenge signature does not verify with the bound device key")
	errDownloaded          = refuse(http.StatusConflict, ReasonAlreadyDownloaded, "the card was downloaded to this phone already; replenish instead")
	errNotDownloaded       = refuse(http.StatusConflict, ReasonNotDownloaded, "the card was not downloaded to this phone yet")
	errTooFrequent         = refuse(http.StatusTooManyRequests, ReasonTooFrequent, "keys were issued to this phone too recently")
	errKeySpace            = refuse(http.StatusServiceUnavailable, ReasonKeySpaceExhausted, "no more keys can be issued this hour")
	errPoP                 = refuse(http.StatusForbidden, ReasonProofOfPossession, "the registration is not signed by the device key it carries")
	errNoPasscode          = refuse(http.StatusForbidden, ReasonPasscodeNotOffered, "the issuer does not verify cardholders by passcode here")
	errRegMismatch         = refuse(http.StatusForbidden, ReasonRegistrationMismatch, "the registration belongs to another device key")
	errMobilePIN           = refuse(http.StatusUnprocessableEntity, ReasonMobilePINRequired, "this card needs a mobile PIN of 4 to 12 digits, not all one digit")
	errATC                 = refuse(http.StatusServiceUnavailable, ReasonATCExhausted, "the card account has no transaction counters left")
	errLog                 = refuse(http.StatusConflict, ReasonTransactionLog, "the phone reports keys the platform did not issue to it")
	errLogMissing          = refuse(http.StatusConflict, ReasonTransactionLog, "the issuer saw keys serve transactions that the phone does not report")
	errBusy                = refuse(http.StatusServiceUnavailable, wire.ReasonCapacity, "too many registrations are waiting; try again")
	errExpired             = refuse(http.StatusForbidden, wire.ReasonExpired, "the request is outside its validity period")
	errReplay              = refuse(http.StatusConflict, wire.ReasonReplay, "this request was already accepted")
	errPINLocked           = refuse(http.StatusForbidden, ReasonMobilePINLocked, "too many wrong mobile PINs: the issuer's service centre must reset this phone's card")
)

// CardholderVerifier is the issuer's verification of the cardholder at
// registration (its ID&V): Begin checks the card data and opens an
// attempt offering step-up methods, SendOTP sends a one-time password to
// the cardholder's registered contact, VerifyOTP checks what the
// cardholder typed. A refusal should carry its machine-readable reason by
// a method VerificationReason() string.
type CardholderVerifier interface {
	Begin(ctx context.Context, correlationID, pan, expiry, securityCode, deviceID string) (methods []string, err error)
	SendOTP(ctx context.Context, correlationID, method string) (maskedContact string, err error)
	VerifyOTP(ctx context.Context, correlationID, otp string) error
}

// PasscodeVerifier is a CardholderVerifier that also verifies the
// cardholder by the issuer-set passcode (R-G3a): block is the clear ISO
// 9564 format 1 PIN block the phone sealed to the platform, pan the card's
// number; the issuer checks it in its security module, and a wrong one
// counts toward the lock of the card's provisioning (R-G3c). A platform
// whose verifier is not one refuses a passcode registration
// (passcode_not_offered).
type PasscodeVerifier interface {
	VerifyPasscode(ctx context.Context, correlationID, pan string, block []byte) error
}

// KeyLedger is the issuer's record of the keys issued, which its
// authorisation reads and counts each key's uses in
// (issuerhost/cloud.Ledger). Served is the IDs of the keys issued to a
// phone that served a transaction (a limited-use key's index, a
// single-use key pair's cloud.SUKID), against which a replenishment's
// transaction log is reconciled.
type KeyLedger interface {
	IssueLUK(cardRef, deviceID string, ki cloud.KeyIndex, api uint16) error
	IssueSUK(cardRef, deviceID string, atc uint16) error
	SuspendDevice(cardRef, deviceID string) error
	Served(cardRef, deviceID string) ([]string, error)
}

// PINLedger is a KeyLedger that also counts the wrong mobile PINs the
// issuer sees (issuerhost/cloud.Ledger, R-G3c): a phone it locked gets no
// challenge, download or replenishment until the issuer's service centre
// resets it (ResetMobilePIN).
type PINLedger interface {
	PINLocked(cardRef, deviceID string) bool
	ResetPIN(cardRef, deviceID string) error
}

// HSM is the part of the security module the platform uses.
type HSM interface {
	Lookup(label string) (hsm.Handle, error)
	hsm.CloudDevice
	EncryptData(dek hsm.Handle, plain, aad []byte) ([]byte, error)
	DecryptData(dek hsm.Handle, sealed, aad []byte) ([]byte, error)
}

// Defaults.
const (
	DefaultBatchSize            = 5
	DefaultMinReplenishInterval = time.Minute
	DefaultChallengeTTL         = 2 * time.Minute
	DefaultRegistrationTTL      = 10 * time.Minute
	// DefaultMaxPending bounds the registrations waiting for their OTP.
	DefaultMaxPending = 1024
	DefaultDEKLabel   = "cloud/card-data"
	maxKeysPerHour    = 100
	challengeBytes    = 32
)

// Config configures a Service.
type Config struct {
	// Me is the platform's party (its signing and encryption keys). The
	// soft security module holds no P-256 keys, so the platform holds
	// them; a module that does would hold them instead.
	Me *wire.Party
	// HSM derives and wraps the keys and seals the card data.
	HSM HSM
	// DEK labels the data key the card data is sealed under
	// (DefaultDEKLabel when empty).
	DEK string
	// Verifier is the issuer's cardholder verification.
	Verifier CardholderVerifier
	// Ledger receives every key issued and every suspension.
	Ledger KeyLedger
	// BatchSize is the number of keys per batch (DefaultBatchSize).
	BatchSize int
	// MinReplenishInterval is the shortest time between two batches of
	// one phone (DefaultMinReplenishInterval).
	MinReplenishInterval time.Duration
	// Replay remembers accepted envelopes; a fresh cache when nil.
	Replay wire.ReplayCache
	// Clock is the service's time; time.Now when nil.
	Clock func() time.Time
	// Rand gives challenges and IDs; crypto/rand when nil.
	Rand io.Reader
	// Log receives one line per request (references only).
	Log *slog.Logger
	// Store keeps the platform's state across restarts; in memory only
	// when nil.
	Store Store
	// CardReaders are the staff members allowed to read a card account's
	// real data (ReadCard, R-S5e); nobody when empty.
	CardReaders []string
}

// Service is the cloud platform.
type Service struct {
	cfg Config
	st  *memStore
}

// New checks cfg and makes a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Me == nil || cfg.HSM == nil || cfg.Verifier == nil || cfg.Ledger == nil {
		return nil, fmt.Errorf("%w: party, security module, verifier and ledger are required", ErrConfig)
	}
	if cfg.DEK == "" {
		cfg.DEK = DefaultDEKLabel
	}
	if _, err := cfg.HSM.Lookup(cfg.DEK); err != nil {
		return nil, fmt.Errorf("%w: data key %q: %w", ErrConfig, cfg.DEK, err)
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.MinReplenishInterval <= 0 {
		cfg.MinReplenishInterval = DefaultMinReplenishInterval
	}
	if cfg.Replay == nil {
		cfg.Replay = wire.NewMemoryReplayCache(0)
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	s := &Service{cfg: cfg, st: newMemStore()}
	if cfg.Store != nil {
		if err := s.load(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Public is the platform's public keys, for the phones' trust lists.
func (s *Service) Public() wire.PublicKeys { return s.cfg.Me.Public() }

// Dump is the platform's stored state, as stored.
func (s *Service) Dump() Dump { return s.st.dump() }

// Audit is the audit trail.
func (s *Service) Audit() []AuditEntry { return s.st.dump().Audit }

// Handler serves the phones' API.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	js := wire.HandlerOptions{MediaTypes: []string{wire.MediaJSON}, Log: s.cfg.Log}
	signed := wire.HandlerOptions{MediaTypes: []string{wire.MediaJOSE, wire.MediaJSON}, Log: s.cfg.Log}
	mux.Handle(wire.PathHCERegister, wire.Handle(s.register, js))
	mux.Handle(wire.PathHCEVerify, wire.Handle(s.verify, signed))
	mux.Handle(wire.PathHCEChallenge, wire.Handle(s.challenge, signed))
	mux.Handle(wire.PathHCEDownload, wire.Handle(s.download, signed))
	mux.Handle(wire.PathHCEReplenish, wire.Handle(s.replenish, signed))
	return mux
}

// Serve serves the phones' API over mutual TLS on ln (cfg must ask for
// and verify client certificates; wire.NewServer's limits apply) until
// the returned server is shut down. Serve returns once the server runs.
func (s *Service) Serve(ln net.Listener, cfg *tls.Config, lim wire.Limits) (*http.Server, error) {
	srv, err := wire.NewServer(s.Handler(), cfg, lim)
	if err != nil {
		return nil, err
	}
	go func() { _ = srv.Serve(tls.NewListener(ln, srv.TLSConfig)) }()
	return srv, nil
}

func (s *Service) now() time.Time { return s.cfg.Clock() }

func (s *Service) auditLocked(actor, action, cardRef, device string, err error, detail string) {
	out := "ok"
	if err != nil {
		out = "refused: " + wire.RefusalFor(err).Reason
	}
	e := AuditEntry{At: s.now(), Actor: actor, Action: action, CardRef: cardRef, Device: device, Outcome: out, Detail: detail}
	s.st.audit = append(s.st.audit, e)
	if s.cfg.Store != nil {
		if err := s.cfg.Store.Audit(e); err != nil && s.cfg.Log != nil {
			s.cfg.Log.Error("cloud platform: audit trail not stored", "action", action, "err", err)
		}
	}
	if s.cfg.Log != nil {
		s.cfg.Log.Info("cloud platform", "actor", actor, "action", action, "card", cardRef, "device", device, "outcome", out)
	}
}

func (s *Service) audit(actor, action, cardRef, device string, err error, detail string) {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	s.auditLocked(actor, action, cardRef, device, err, detail)
}

func (s *Service) randomID(prefix string, n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(s.cfg.Rand, b); err != nil {
		return "", fmt.Errorf("cloudsvc: random source: %w", err)
	}
	if prefix == "" {
		return base64.RawURLEncoding.EncodeToString(b), nil
	}
	return prefix + hex.EncodeToString(b), nil
}

func jsonOK(v any) (wire.Response, error) { return wire.JSONResponse(http.StatusOK, v) }

// openErr maps the envelope's refusals.
func openErr(err error, unknown *wire.Refusal) error {
	switch {
	case errors.Is(err, wire.ErrUnknownKey):
		return unknown
	case errors.Is(err, wire.ErrReplay):
		return errReplay
	case errors.Is(err, wire.ErrExpired):
		return errExpired
	}
	return err
}

// verificationRefusal is the refusal of a failed cardholder verification:
// the verifier's own reason when it gives one.
func verificationRefusal(err error) error {
	var r interface{ VerificationReason() string }
	if errors.As(err, &r) && r.VerificationReason() != "" {
		return refuse(http.StatusForbidden, r.VerificationReason(), "the issuer did not verify the cardholder")
	}
	var ref *wire.Refusal
	if errors.As(err, &ref) {
		return ref
	}
	return errVerifierDown
}

func (s *Service) register(r *wire.Request) (wire.Response, error) {
	var in wire.HCERegisterRequest
	if err := strictJSON(r.Body, &in); err != nil {
		return wire.Response{}, err
	}
	trust, err := wire.NewTrustList(in.DevicePublicKeys)
	if err != nil {
		return wire.Response{}, fmt.Errorf("%w: device keys", wire.ErrInvalid)
	}
	var reg wire.HCERegister
	if _, err := wire.OpenInto(in.Envelope, s.cfg.Me, trust, wire.Expect{
		Type: wire.TypeHCERegister, Replay: s.cfg.Replay, Clock: s.cfg.Clock,
	}, &reg); err != nil {
		err = openErr(err, errPoP)
		if errors.Is(err, wire.ErrSignature) {
			err = errPoP
		}
		s.audit("phone", "register", "", "", err, "")
		return wire.Response{}, err
	}
	if err := reg.Validate(); err != nil {
		return wire.Response{}, err
	}
	res, err := s.registerChecked(r.HTTP.Context(), in.DevicePublicKeys, reg)
	s.audit("phone", "register", reg.CardRef, reg.DeviceID, err, "")
	if err != nil {
		return wire.Response{}, err
	}
	return jsonOK(res)
}

func (s *Service) registerChecked(ctx context.Context, keys wire.PublicKeys, reg wire.HCERegister) (wire.HCERegisterResult, error) {
	s.st.mu.Lock()
	card, ok := s.st.cards[reg.CardRef]
	if !ok {
		s.st.mu.Unlock()
		return wire.HCERegisterResult{}, errUnknownCard
	}
	mc := card.CVN == wire.HCECVNMCCloud
	if mc != (reg.MobilePIN != "") {
		s.st.mu.Unlock()
		return wire.HCERegisterResult{}, errMobilePIN
	}
	if err := s.conflictLocked(reg.CardRef, reg.DeviceID, keys); err != nil {
		s.st.mu.Unlock()
		return wire.HCERegisterResult{}, err
	}
	sealed := card.Sealed
	s.st.mu.Unlock()

	sec, err := s.openCard(reg.CardRef, sealed)
	if err != nil {
		return wire.HCERegisterResult{}, err
	}
	// The registration's ID (the issuer's correlation ID) is the
	// platform's own: a phone cannot name, or collide with, another's.
	regID, err := s.randomID("reg-", 12)
	if err != nil {
		return wire.HCERegisterResult{}, err
	}
	var pin []byte
	if mc {
		if pin, err = s.sealPIN(reg.CardRef, reg.DeviceID, reg.MobilePIN); err != nil {
			return wire.HCERegisterResult{}, err
		}
	}
	var pv PasscodeVerifier
	if reg.Passcode != "" {
		var ok bool
		if pv, ok = s.cfg.Verifier.(PasscodeVerifier); !ok {
			return wire.HCERegisterResult{}, errNoPasscode
		}
	}
	methods, err := s.cfg.Verifier.Begin(ctx, regID, sec.PAN, sec.Expiry, reg.SecurityCode, reg.DeviceID)
	if err != nil {
		return wire.HCERegisterResult{}, verificationRefusal(err)
	}
	if pv != nil {
		// Verified by the issuer-set passcode: no OTP, the phone is bound
		// at once.
		block, err := hex.DecodeString(reg.Passcode)
		if err != nil {
			return wire.HCERegisterResult{}, fmt.Errorf("%w: passcode", wire.ErrInvalid)
		}
		err = pv.VerifyPasscode(ctx, regID, sec.PAN, block)
		clear(block)
		if err != nil {
			return wire.HCERegisterResult{}, verificationRefusal(err)
		}
		b, err := s.bind(pending{ID: regID, CardRef: reg.CardRef, DeviceID: reg.DeviceID, Keys: keys, PIN: pin}, "passcode")
		if err != nil {
			return wire.HCERegisterResult{}, err
		}
		pub := b.public()
		return wire.HCERegisterResult{RegistrationID: regID, Method: wire.HCEMethodPasscode, Binding: &pub}, nil
	}
	method := reg.Method
	if method == "" && len(methods) > 0 {
		method = methods[0]
	}
	contact, err := s.cfg.Verifier.SendOTP(ctx, regID, method)
	if err != nil {
		return wire.HCERegisterResult{}, verificationRefusal(err)
	}
	exp := s.now().Add(DefaultRegistrationTTL)
	s.st.mu.Lock()
	for id, p := range s.st.pending {
		if !s.now().Before(p.Expires) {
			if err := s.deletePendingLocked(id); err != nil {
				s.st.mu.Unlock()
				return wire.HCERegisterResult{}, err
			}
			delete(s.st.pending, id)
		}
	}
	if len(s.st.pending) >= DefaultMaxPending {
		s.st.mu.Unlock()
		return wire.HCERegisterResult{}, errBusy
	}
	p := &pending{ID: regID, CardRef: reg.CardRef, DeviceID: reg.DeviceID, Keys: keys, Expires: exp, PIN: pin}
	if err := s.putPendingLocked(p); err != nil {
		s.st.mu.Unlock()
		return wire.HCERegisterResult{}, err
	}
	s.st.pending[regID] = p
	s.st.mu.Unlock()
	return wire.HCERegisterResult{RegistrationID: regID, Method: method, Contact: contact, ExpiresAt: exp}, nil
}

// conflictLocked refuses binding the phone deviceID with keys to card
// account cardRef when the phone is bound to it already, or to a card
// account of another cardholder, or when the keys are bound to another
// phone. The store is locked.
func (s *Service) conflictLocked(cardRef, deviceID string, keys wire.PublicKeys) error {
	holder := s.st.cards[cardRef].Holder
	for _, b := range s.st.bindings {
		if b.DeviceID == deviceID {
			other := s.st.cards[b.CardRef]
			switch {
			case b.CardRef == cardRef:
				return errAlreadyBound
			case other == nil || other.Holder != holder:
				return errOtherHolder
			}
		}
		if (b.Keys.SignKID == keys.SignKID || b.Keys.EncKID == keys.EncKID) && b.DeviceID != deviceID {
			return errKeyInUse
		}
	}
	return nil
}

// caller is the authenticated sender of a phone's request.
type caller struct {
	keys wire.PublicKeys
	b    *binding
	p    *pending
}

// open opens a phone's envelope of type typ signed by a known device key.
func (s *Service) open(r *wire.Request, typ string, v any) (caller, error) {
	if r.MediaType != wire.MediaJOSE {
		return caller{}, errNotBound
	}
	c, err := wire.OpenInto(string(r.Body), s.cfg.Me, directory{s.st}, wire.Expect{
		Type: typ, Replay: s.cfg.Replay, Clock: s.cfg.Clock,
	}, v)
	if err != nil {
		return caller{}, openErr(err, errNotBound)
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	k, b, p := s.st.signer(c.Sender.SignKID)
	if b == nil && p == nil {
		return caller{}, errNotBound
	}
	if val, ok := v.(interface{ Validate() error }); ok {
		if err := val.Validate(); err != nil {
			return caller{}, err
		}
	}
	return caller{keys: k, b: b, p: p}, nil
}

func (s *Service) verify(r *wire.Request) (wire.Response, error) {
	var in wire.HCEVerifyRegistration
	who, err := s.open(r, wire.TypeHCEVerify, &in)
	if err != nil {
		s.audit("phone", "verify-registration", "", "", err, "")
		return wire.Response{}, err
	}
	s.st.mu.Lock()
	p := s.st.pending[in.RegistrationID]
	switch {
	case p == nil || !s.now().Before(p.Expires):
		s.st.mu.Unlock()
		return wire.Response{}, errUnknownRegistration
	case p.Keys.SignKID != who.keys.SignKID:
		s.st.mu.Unlock()
		s.audit("phone", "verify-registration", p.CardRef, p.DeviceID, errRegMismatch, "")
		return wire.Response{}, errRegMismatch
	}
	pend := *p
	s.st.mu.Unlock()

	if err := s.cfg.Verifier.VerifyOTP(r.HTTP.Context(), pend.ID, in.OTP); err != nil {
		err = verificationRefusal(err)
		s.audit("phone", "verify-registration", pend.CardRef, pend.DeviceID, err, "")
		return wire.Response{}, err
	}
	b, err := s.bind(pend, "OTP")
	if err != nil {
		return wire.Response{}, err
	}
	return jsonOK(b.public())
}

// bind binds the phone of registration pend, whose cardholder the issuer
// verified by how (OTP or passcode): the registration is forgotten, its
// checks made again (another registration may have bound the phone in
// the meantime) and the binding stored.
func (s *Service) bind(pend pending, how string) (*binding, error) {
	id, err := s.randomID("bind-", 8)
	if err != nil {
		return nil, err
	}
	salt := make([]byte, 16)
	if _, err := io.ReadFull(s.cfg.Rand, salt); err != nil {
		return nil, fmt.Errorf("cloudsvc: random source: %w", err)
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	if _, ok := s.st.pending[pend.ID]; ok {
		if err := s.deletePendingLocked(pend.ID); err != nil {
			return nil, err
		}
		delete(s.st.pending, pend.ID)
	}
	if err := s.conflictLocked(pend.CardRef, pend.DeviceID, pend.Keys); err != nil {
		s.auditLocked("phone", "bind", pend.CardRef, pend.DeviceID, err, "")
		return nil, err
	}
	b := &binding{ID: id, CardRef: pend.CardRef, DeviceID: pend.DeviceID, Keys: pend.Keys, Status: wire.HCEBindingActive,
		CreatedAt: s.now(), PIN: pend.PIN, Salt: salt, issued: map[string]bool{}, reconciled: true}
	if err := s.putBindingLocked(b); err != nil {
		return nil, err
	}
	s.st.bindings[id] = b
	s.auditLocked("issuer", "bind", b.CardRef, b.DeviceID, nil, "cardholder verified by "+how+"; binding "+id)
	return b, nil
}

// boundCaller checks that the signer is bound to cardRef as deviceID and
// not suspended. The store is locked.
func (s *Service) boundLocked(who caller, cardRef, deviceID string) (*binding, error) {
	if who.b == nil {
		return nil, errNotBound
	}
	if who.b.CardRef != cardRef {
		// The key is bound to another card account: look for this one.
		b := s.st.bindingOf(cardRef, who.b.DeviceID)
		if b == nil || b.Keys.SignKID != who.keys.SignKID {
			return nil, errNotBound
		}
		who.b = b
	}
	if who.b.DeviceID != deviceID {
		return nil, errDeviceMismatch
	}
	if who.b.Status != wire.HCEBindingActive {
		return nil, errSuspended
	}
	if l, ok := s.cfg.Ledger.(PINLedger); ok && l.PINLocked(cardRef, deviceID) {
		return nil, errPINLocked
	}
	return who.b, nil
}

func (s *Service) challenge(r *wire.Request) (wire.Response, error) {
	var in wire.HCEChallengeRequest
	who, err := s.open(r, wire.TypeHCEChallenge, &in)
	if err != nil {
		s.audit("phone", "challenge", in.CardRef, in.DeviceID, err, "")
		return wire.Response{}, err
	}
	c, err := s.randomID("", challengeBytes)
	if err != nil {
		return wire.Response{}, err
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	b, err := s.boundLocked(who, in.CardRef, in.DeviceID)
	if err != nil {
		s.auditLocked("phone", "challenge", in.CardRef, in.DeviceID, err, "")
		return wire.Response{}, err
	}
	b.challenge, b.challengeEnds = c, s.now().Add(DefaultChallengeTTL)
	if err := s.putBindingLocked(b); err != nil {
		return wire.Response{}, err
	}
	return jsonOK(wire.HCEChallenge{Challenge: c, ExpiresAt: b.challengeEnds})
}

func (s *Service) download(r *wire.Request) (wire.Response, error) {
	var in wire.HCEDownloadRequest
	who, err := s.open(r, wire.TypeHCEDownload, &in)
	if err != nil {
		s.audit("phone", "download", in.CardRef, in.DeviceID, err, "")
		return wire.Response{}, err
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	tok, err := s.downloadLocked(who, in)
	if perr := s.persistLocked(who, in.CardRef, in.DeviceID); perr != nil && err == nil {
		err = perr
	}
	s.auditLocked("phone", "download", in.CardRef, in.DeviceID, err, "")
	if err != nil {
		return wire.Response{}, err
	}
	return wire.EnvelopeResponse(tok), nil
}

func (s *Service) downloadLocked(who caller, in wire.HCEDownloadRequest) (string, error) {
	b, err := s.boundLocked(who, in.CardRef, in.DeviceID)
	if err != nil {
		return "", err
	}
	// The challenge is spent whatever happens next.
	c, ends := b.challenge, b.challengeEnds
	b.challenge = ""
	if c == "" || !s.now().Before(ends) || subtle.ConstantTimeCompare([]byte(c), []byte(in.Challenge)) != 1 {
		return "", errChallenge
	}
	if wire.HCEVerifyChallenge(b.Keys, in.Challenge, in.DeviceID, in.CardRef, in.Signature) != nil {
		return "", errChallengeSig
	}
	if b.Downloaded {
		return "", errDownloaded
	}
	card := s.st.cards[b.CardRef]
	sec, err := s.openCard(card.Ref, card.Sealed)
	if err != nil {
		return "", err
	}
	batch, err := s.issueLocked(card, b, sec)
	if err != nil {
		return "", err
	}
	batch.Profile = &wire.HCEProfile{AccountNumber: sec.CloudPAN, Expiry: sec.CloudExpiry, PSN: card.PSN, CVN: card.CVN,
		DKI: card.DKI, API: card.API}
	if card.CVN == wire.HCECVNMCCloud {
		batch.Profile.Salt, batch.Profile.TokenRef = b.Salt, b.ID
	}
	tok, err := s.seal(b, batch)
	if err != nil {
		return "", err
	}
	b.Downloaded = true
	return tok, nil
}

func (s *Service) replenish(r *wire.Request) (wire.Response, error) {
	var in wire.HCEReplenishRequest
	who, err := s.open(r, wire.TypeHCEReplenish, &in)
	if err != nil {
		s.audit("phone", "replenish", in.CardRef, in.DeviceID, err, "")
		return wire.Response{}, err
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	tok, err := s.replenishLocked(who, in)
	if perr := s.persistLocked(who, in.CardRef, in.DeviceID); perr != nil && err == nil {
		err = perr
	}
	s.auditLocked("phone", "replenish", in.CardRef, in.DeviceID, err, fmt.Sprintf("%d keys reported used", len(in.Used)))
	if err != nil {
		return wire.Response{}, err
	}
	return wire.EnvelopeResponse(tok), nil
}

// persistLocked writes the binding of the caller (as boundLocked finds
// it) and its card account through to the store after a download or a
// replenishment, whatever its outcome: a challenge spent stays spent.
func (s *Service) persistLocked(who caller, cardRef, deviceID string) error {
	if s.cfg.Store == nil || who.b == nil {
		return nil
	}
	b := who.b
	if b.CardRef != cardRef {
		if b = s.st.bindingOf(cardRef, who.b.DeviceID); b == nil {
			return nil
		}
	}
	if err := s.putBindingLocked(b); err != nil {
		return err
	}
	if c := s.st.cards[b.CardRef]; c != nil {
		return s.putCardLocked(c)
	}
	return nil
}

func (s *Service) replenishLocked(who caller, in wire.HCEReplenishRequest) (string, error) {
	b, err := s.boundLocked(who, in.CardRef, in.DeviceID)
	if err != nil {
		return "", err
	}
	if !b.Downloaded {
		return "", errNotDownloaded
	}
	if s.now().Before(b.LastIssue.Add(s.cfg.MinReplenishInterval)) {
		return "", errTooFrequent
	}
	// The transaction log: the keys the phone reports spent must be keys
	// issued to it (a log sent again, its answer lost, names keys
	// reported already: they pass), and every key the issuer saw serve a
	// transaction that is not reported yet must be among them (a key
	// that served while the phone says it still holds it served
	// somewhere else).
	inLog := make(map[string]bool, len(in.Used))
	for _, id := range in.Used {
		if _, ok := b.issued[id]; !ok || inLog[id] {
			return "", errLog
		}
		inLog[id] = true
	}
	served, err := s.cfg.Ledger.Served(b.CardRef, b.DeviceID)
	if err != nil {
		return "", fmt.Errorf("cloudsvc: ledger: %w", err)
	}
	if !b.reconciled {
		for _, id := range served {
			if _, ok := b.issued[id]; ok {
				b.issued[id] = true
			}
		}
		b.reconciled = true
	}
	for _, id := range served {
		if reported, ok := b.issued[id]; ok && !reported && !inLog[id] {
			return "", errLogMissing
		}
	}
	card := s.st.cards[b.CardRef]
	sec, err := s.openCard(card.Ref, card.Sealed)
	if err != nil {
		return "", err
	}
	batch, err := s.issueLocked(card, b, sec)
	if err != nil {
		return "", err
	}
	for id := range inLog {
		b.issued[id] = true
	}
	return s.seal(b, batch)
}

// issueLocked derives a batch of keys for the phone of b, wrapped for
// its encryption key, and records them in the ledger.
func (s *Service) issueLocked(card *cardAccount, b *binding, sec cardSecrets) (wire.HCEBatch, error) {
	if card.CVN == wire.HCECVNMCCloud {
		return s.issueSUKsLocked(card, b, sec)
	}
	now := s.now().UTC()
	hour := now.Truncate(time.Hour).Unix()
	first := card.issued[hour]
	if first+s.cfg.BatchSize > maxKeysPerHour {
		return wire.HCEBatch{}, errKeySpace
	}
	kis := make([]cloud.KeyIndex, 0, s.cfg.BatchSize)
	for i := range s.cfg.BatchSize {
		ki, err := cloud.NewKeyIndex(now, first+i)
		if err != nil {
			return wire.HCEBatch{}, fmt.Errorf("cloudsvc: key index: %w", err)
		}
		kis = append(kis, ki)
	}
	imk, err := s.cfg.HSM.Lookup(card.IMK)
	if err != nil {
		return wire.HCEBatch{}, fmt.Errorf("cloudsvc: issuer master key: %w", err)
	}
	keys, err := s.cfg.HSM.ExportLUKsToDevice(imk, sec.CloudPAN, card.PSN, card.API, kis, b.Keys.Enc)
	if err != nil {
		return wire.HCEBatch{}, fmt.Errorf("cloudsvc: export keys: %w", err)
	}
	out := make([]wire.HCEKey, 0, len(keys))
	for _, k := range keys {
		out = append(out, wire.HCEKey{KeyIndex: k.KeyIndex, API: k.API, KCV: k.KCV, Wrapped: k.Wrapped})
	}
	for _, ki := range kis {
		if err := s.cfg.Ledger.IssueLUK(card.Ref, b.DeviceID, ki, card.API); err != nil {
			return wire.HCEBatch{}, fmt.Errorf("cloudsvc: ledger: %w", err)
		}
	}
	card.issued[hour] = first + len(kis)
	for _, ki := range kis {
		b.issued[ki.String()] = false
	}
	b.LastIssue = s.now()
	return wire.HCEBatch{CardRef: card.Ref, DeviceID: b.DeviceID, Keys: out,
		NextReplenish: b.LastIssue.Add(s.cfg.MinReplenishInterval)}, nil
}

func (s *Service) seal(b *binding, batch wire.HCEBatch) (string, error) {
	return wire.Seal(batch, s.cfg.Me, b.Keys, wire.Header{Type: wire.TypeHCEBatch, Clock: s.cfg.Clock, Rand: s.cfg.Rand})
}

func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: request body", wire.ErrMalformed)
	}
	if dec.More() {
		return fmt.Errorf("%w: request body", wire.ErrMalformed)
	}
	return nil
}

// issueSUKsLocked derives a batch of mc-cloud key pairs for the next ATCs
// of the card account, masked with the phone's mobile PIN and wrapped
// for its encryption key, and records them in the ledger.
func (s *Service) issueSUKsLocked(card *cardAccount, b *binding, sec cardSecrets) (wire.HCEBatch, error) {
	first, n := card.nextATC, s.cfg.BatchSize
	if first == 0 || int(first)+n-1 > 0xFFFF {
		return wire.HCEBatch{}, errATC
	}
	md, err := s.cfg.HSM.Lookup(card.IMK)
	if err != nil {
		return wire.HCEBatch{}, fmt.Errorf("cloudsvc: issuer master key: %w", err)
	}
	umd, err := s.cfg.HSM.Lookup(card.UMDIMK)
	if err != nil {
		return wire.HCEBatch{}, fmt.Errorf("cloudsvc: issuer master key: %w", err)
	}
	pin, err := s.openPIN(b.CardRef, b.DeviceID, b.PIN)
	if err != nil {
		return wire.HCEBatch{}, err
	}
	pairs, err := s.cfg.HSM.ExportSUKsToDevice(md, umd, sec.CloudPAN, card.PSN, first, n, pin, b.Salt, b.ID, b.Keys.Enc)
	if err != nil {
		return wire.HCEBatch{}, fmt.Errorf("cloudsvc: export keys: %w", err)
	}
	out := make([]wire.HCESUK, 0, len(pairs))
	for _, k := range pairs {
		if err := s.cfg.Ledger.IssueSUK(card.Ref, b.DeviceID, k.ATC); err != nil {
			return wire.HCEBatch{}, fmt.Errorf("cloudsvc: ledger: %w", err)
		}
		b.issued[cloud.SUKID(k.ATC)] = false
		out = append(out, wire.HCESUK{ATC: k.ATC, MDKCV: k.MDKCV, MDWrapped: k.MDWrapped, SUKKCV: k.SUKKCV, SUKWrapped: k.SUKWrapped})
	}
	card.nextATC = first + uint16(n)
	if card.nextATC == 0 {
		card.nextATC = 0xFFFF // spent: the next batch is refused
	}
	b.LastIssue = s.now()
	return wire.HCEBatch{CardRef: card.Ref, DeviceID: b.DeviceID, SUKs: out,
		NextReplenish: b.LastIssue.Add(s.cfg.MinReplenishInterval)}, nil
}

func pinAAD(cardRef, deviceID string) []byte {
	return []byte("tapsim cloud mobile pin v1\x00" + cardRef + "\x00" + deviceID)
}

// sealPIN seals a mobile PIN under the data key, bound to the card
// account and phone: the platform needs it to mask every later SUK, and
// keeps it only sealed.
func (s *Service) sealPIN(cardRef, deviceID, pin string) ([]byte, error) {
	if err := cloud.CheckPIN(pin); err != nil || weakPIN(pin) {
		return nil, errMobilePIN
	}
	dek, err := s.cfg.HSM.Lookup(s.cfg.DEK)
	if err != nil {
		return nil, fmt.Errorf("cloudsvc: data key: %w", err)
	}
	sealed, err := s.cfg.HSM.EncryptData(dek, []byte(pin), pinAAD(cardRef, deviceID))
	if err != nil {
		return nil, fmt.Errorf("cloudsvc: seal mobile PIN: %w", err)
	}
	return sealed, nil
}

func (s *Service) openPIN(cardRef, deviceID string, sealed []byte) (string, error) {
	dek, err := s.cfg.HSM.Lookup(s.cfg.DEK)
	if err != nil {
		return "", fmt.Errorf("cloudsvc: data key: %w", err)
	}
	pin, err := s.cfg.HSM.DecryptData(dek, sealed, pinAAD(cardRef, deviceID))
	if err != nil {
		return "", fmt.Errorf("cloudsvc: open mobile PIN: %w", err)
	}
	return string(pin), nil
}

// weakPIN refuses a PIN of one digit repeated or a run of consecutive
// digits up or down (R-G3b).
func weakPIN(pin string) bool {
	same, up, down := true, true, true
	for i := 1; i < len(pin); i++ {
		d := int(pin[i]) - int(pin[i-1])
		same = same && d == 0
		up = up && (d == 1 || d == -9)
		down = down && (d == -1 || d == 9)
	}
	return same || up || down
}
