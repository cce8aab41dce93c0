package walletsvc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/tapsim/tapsim/provision/wire"
)

// Paths of the token service's endpoints (provision/tokensvc).
const (
	tspTokenize   = "/tokenize"
	tspRequestOTP = "/otp/request"
	tspSubmitOTP  = "/otp/submit"
	tspActivate   = "/activate"
	tspAck        = "/tokendata/ack"
	tspLifecycle  = "/lifecycle"
)

// ErrConfig reports a missing or inconsistent configuration.
var ErrConfig = errors.New("walletsvc: configuration")

// Refusal reasons of the wallet provider (besides package wire's and the
// token service's, which it passes on).
const (
	ReasonUnknownAccount   = "unknown_account"
	ReasonUnknownToken     = "unknown_token"
	ReasonDeviceMismatch   = "device_mismatch"
	ReasonTokenServiceDown = "token_service_unavailable"
	// ReasonDeviceKeyMismatch refuses an add-card for an account bound to
	// other device keys (or with keys already bound to another account).
	ReasonDeviceKeyMismatch = "device_key_mismatch"
	// ReasonUnauthenticated refuses a phone's request that is not an
	// envelope signed by a device bound to a wallet account.
	ReasonUnauthenticated = "unauthenticated"
	// ReasonWrongDevice refuses a request signed by a device that is not
	// the one bound to the wallet account it names.
	ReasonWrongDevice = "wrong_device"
	// ReasonReplay refuses a signed request already accepted (R-G4), with
	// the envelope's own reason.
	ReasonReplay = wire.ReasonReplay
	// ReasonExpired refuses a signed request outside its validity.
	ReasonExpired = wire.ReasonExpired
	// ReasonNotOwner refuses a request about a token of another account.
	ReasonNotOwner = "not_owner"
)

var (
	errUnknownAccount = wire.Refuse(http.StatusNotFound, ReasonUnknownAccount, "no such wallet account")
	errUnknownToken   = wire.Refuse(http.StatusNotFound, ReasonUnknownToken, "no such token in this wallet account")
	errDeviceMismatch = wire.Refuse(http.StatusForbidden, ReasonDeviceMismatch, "the wallet account belongs to another device")
	errTSPDown        = wire.Refuse(http.StatusBadGateway, ReasonTokenServiceDown, "the token service did not answer")

	errDeviceKeyMismatch = wire.Refuse(http.StatusForbidden, ReasonDeviceKeyMismatch, "the wallet account is bound to other device keys")
	errUnauthenticated   = wire.Refuse(http.StatusUnauthorized, ReasonUnauthenticated, "the request must be signed by the device bound to the wallet account")
	errWrongDevice       = wire.Refuse(http.StatusForbidden, ReasonWrongDevice, "the request is signed by another device than the wallet account's")
	errReplay            = wire.Refuse(http.StatusConflict, ReasonReplay, "this request was already accepted")
	errExpired           = wire.Refuse(http.StatusForbidden, ReasonExpired, "the request is outside its validity period")
	errNotOwner          = wire.Refuse(http.StatusForbidden, ReasonNotOwner, "the token belongs to another wallet account")
)

// Config configures a Service.
type Config struct {
	// Me is the wallet provider's party.
	Me *wire.Party
	// Trust holds the token service's public keys.
	Trust *wire.TrustList
	// TSPParty is the token service's party name.
	TSPParty string
	// TSPURL is the token service's base URL (https://host:port).
	TSPURL string
	// TSP is the mutual-TLS client to the token service.
	TSP *wire.Client
	// RequestorID is the wallet's 11-digit token requestor ID.
	RequestorID string
	// Store keeps the accounts; a fresh MemoryStore when nil.
	Store *MemoryStore
	// Replay remembers accepted envelopes; a fresh cache when nil.
	Replay wire.ReplayCache
	// Clock is the service's time; time.Now when nil.
	Clock func() time.Time
	// Rand gives nonces and task IDs; crypto/rand when nil.
	Rand io.Reader
	// Log receives one audit line per request (references only).
	Log *slog.Logger
}

// Service is the wallet provider.
type Service struct {
	cfg Config
	tsp wire.PublicKeys
}

// New checks cfg and makes a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Me == nil || cfg.Trust == nil || cfg.TSP == nil || cfg.TSPURL == "" || cfg.RequestorID == "" {
		return nil, fmt.Errorf("%w: wallet provider: party, trust list, token service client and URL, requestor ID are required", ErrConfig)
	}
	tsp, ok := cfg.Trust.Party(cfg.TSPParty)
	if !ok {
		return nil, fmt.Errorf("%w: wallet provider: the token service is not in the trust list", ErrConfig)
	}
	if cfg.Store == nil {
		cfg.Store = NewMemoryStore()
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
	cfg.TSPURL = strings.TrimRight(cfg.TSPURL, "/")
	return &Service{cfg: cfg, tsp: tsp}, nil
}

// Store is the service's store.
func (s *Service) Store() *MemoryStore { return s.cfg.Store }

// Handler serves the phones' API and the notification endpoint.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	js := wire.HandlerOptions{MediaTypes: []string{wire.MediaJSON}, Log: s.cfg.Log}
	// The phone's later requests come as envelopes; a plain JSON one is
	// accepted as a media type only to be refused as unauthenticated.
	signed := wire.HandlerOptions{MediaTypes: []string{wire.MediaJOSE, wire.MediaJSON}, Log: s.cfg.Log}
	mux.Handle(PathCards, wire.Handle(jsonHandler(s.addCard), js))
	mux.Handle(PathRequestOTP, wire.Handle(signedHandler(s, "request-otp", TypeRequestOTP, s.requestOTP), signed))
	mux.Handle(PathSubmitOTP, wire.Handle(signedHandler(s, "submit-otp", TypeSubmitOTP, s.submitOTP), signed))
	mux.Handle(PathActivate, wire.Handle(signedHandler(s, "activate", TypeActivate, s.activate), signed))
	mux.Handle(PathAck, wire.Handle(signedHandler(s, "ack", TypeAck, s.ack), signed))
	mux.Handle(PathLifecycle, wire.Handle(signedHandler(s, "lifecycle", TypeLifecycle, s.lifecycle), signed))
	mux.Handle(PathTokens, wire.Handle(signedHandler(s, "tokens", TypeTokens, s.tokens), signed))
	mux.Handle(PathNotify, wire.Handle(s.notify, wire.HandlerOptions{Log: s.cfg.Log}))
	return mux
}

// jsonHandler decodes the JSON request strictly and answers JSON.
func jsonHandler[In, Out any](fn func(context.Context, In) (Out, error)) wire.HandlerFunc {
	return func(r *wire.Request) (wire.Response, error) {
		var in In
		dec := json.NewDecoder(strings.NewReader(string(r.Body)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			return wire.Response{}, fmt.Errorf("%w: request body", wire.ErrMalformed)
		}
		out, err := fn(r.HTTP.Context(), in)
		if err != nil {
			return wire.Response{}, err
		}
		return wire.JSONResponse(http.StatusOK, out)
	}
}

// caller is the authenticated sender of a phone's request: the wallet
// account and device its signing key is bound to.
type caller struct {
	account  string
	deviceID string
}

// signedHandler opens the phone's envelope of type typ, signed by a bound
// device's key and sealed to the wallet provider, decodes the request
// strictly and answers JSON. The handler decides on the caller, never on
// the account the body names alone.
func signedHandler[In, Out any](s *Service, op, typ string, fn func(context.Context, caller, In) (Out, error)) wire.HandlerFunc {
	return func(r *wire.Request) (wire.Response, error) {
		var in In
		who, err := s.authenticate(r, typ, &in)
		if err != nil {
			s.audit(op, err, "device", who.deviceID)
			return wire.Response{}, err
		}
		out, err := fn(r.HTTP.Context(), who, in)
		if err != nil {
			return wire.Response{}, err
		}
		return wire.JSONResponse(http.StatusOK, out)
	}
}

// authenticate opens a phone's request: unauthenticated unless it is an
// envelope signed by a device bound to a wallet account (expired, replay
// and wire's other refusals for a bad one), wrong_device when it names
// another wallet account than the signer's.
func (s *Service) authenticate(r *wire.Request, typ string, in any) (caller, error) {
	if r.MediaType != wire.MediaJOSE {
		return caller{}, errUnauthenticated
	}
	c, err := wire.Open(string(r.Body), s.cfg.Me, devices{s.cfg.Store}, wire.Expect{
		Type: typ, Replay: s.cfg.Replay, Clock: s.cfg.Clock,
	})
	switch {
	case errors.Is(err, wire.ErrUnknownKey):
		return caller{}, errUnauthenticated
	case errors.Is(err, wire.ErrReplay):
		return caller{}, errReplay
	case errors.Is(err, wire.ErrExpired):
		return caller{}, errExpired
	case err != nil:
		return caller{}, err
	}
	b, ok := s.cfg.Store.device(c.Sender.SignKID)
	if !ok {
		return caller{}, errUnauthenticated
	}
	who := caller{account: b.account, deviceID: b.deviceID}
	if err := c.Decode(in); err != nil {
		return who, err
	}
	var named struct {
		WalletAccountID string `json:"walletAccountId"`
	}
	if err := json.Unmarshal(c.Payload, &named); err != nil || named.WalletAccountID != who.account {
		return who, errWrongDevice
	}
	return who, nil
}

func (s *Service) audit(op string, err error, attrs ...any) {
	if s.cfg.Log == nil {
		return
	}
	a := append([]any{"op", op}, attrs...)
	if err != nil {
		s.cfg.Log.Warn("wallet provider", append(a, "outcome", "refused", "reason", wire.RefusalFor(err).Reason)...)
		return
	}
	s.cfg.Log.Info("wallet provider", append(a, "outcome", "ok")...)
}

func (s *Service) taskID() (string, error) {
	b := make([]byte, 8)
	if _, err := io.ReadFull(s.cfg.Rand, b); err != nil {
		return "", fmt.Errorf("walletsvc: random source: %w", err)
	}
	return "wp-" + hex.EncodeToString(b), nil
}

// call seals in to the token service, posts it to path (or posts raw
// when in is a string: a phone's envelope relayed untouched) and opens
// the answer of type typ into out. A transport failure is
// token_service_unavailable; the token service's refusals pass through.
func (s *Service) call(ctx context.Context, path string, in any, typ, answer string, out any) error {
	env, ok := in.(string)
	if !ok {
		var err error
		env, err = wire.Seal(in, s.cfg.Me, s.tsp, wire.Header{Type: typ, Clock: s.cfg.Clock, Rand: s.cfg.Rand})
		if err != nil {
			return err
		}
	}
	ans, err := s.cfg.TSP.PostEnvelope(ctx, s.cfg.TSPURL+path, env)
	if err != nil {
		var ref *wire.Refusal
		if errors.As(err, &ref) {
			return ref
		}
		return errTSPDown
	}
	if _, err := wire.OpenInto(ans, s.cfg.Me, s.cfg.Trust, wire.Expect{
		Type: answer, From: s.cfg.TSPParty, Replay: s.cfg.Replay, Clock: s.cfg.Clock,
	}, out); err != nil {
		return errTSPDown
	}
	if v, ok := out.(wire.Validator); ok {
		if err := v.Validate(); err != nil {
			return errTSPDown
		}
	}
	return nil
}

// risk is the wallet provider's assessment (MODEL: a fixed
// recommendation; a device new to the account scores lower).
func risk() wire.RiskData {
	return wire.RiskData{Recommendation: wire.DecisionApproved, DeviceScore: 4, AccountScore: 4}
}

func (s *Service) addCard(ctx context.Context, in AddCardRequest) (AddCardResponse, error) {
	at := []any{"account", in.WalletAccountID, "device", in.DeviceID, "request", in.RequestID}
	req := wire.TokenizeRequest{
		TaskID: in.RequestID, TokenRequestorID: s.cfg.RequestorID, WalletAccountID: in.WalletAccountID,
		DeviceID: in.DeviceID, DevicePublicKeys: in.DevicePublicKeys,
		FundingAccountInfo: wire.FundingAccountInfo{EncryptedPayload: in.CardData},
		DecisioningData:    risk(), ConsumerLanguage: in.Language,
	}
	req.DecisioningData.DeviceCVM = in.DeviceCVM
	if err := req.Validate(); err != nil {
		s.audit("add-card", err, at...)
		return AddCardResponse{}, err
	}
	dev, err := in.DevicePublicKeys.PublicKeys()
	if err == nil && dev.Sign == nil {
		err = fmt.Errorf("%w: the device's signing key is required", wire.ErrInvalid)
	}
	if err != nil {
		s.audit("add-card", err, at...)
		return AddCardResponse{}, err
	}
	if err := s.cfg.Store.check(in.WalletAccountID, in.DeviceID, dev); err != nil {
		s.audit("add-card", err, at...)
		return AddCardResponse{}, err
	}
	var resp wire.TokenizeResponse
	if err := s.call(ctx, tspTokenize, req, wire.TypeTokenizeRequest, wire.TypeTokenizeResponse, &resp); err != nil {
		s.audit("add-card", err, at...)
		return AddCardResponse{}, err
	}
	out := AddCardResponse{Decision: resp.Decision, TokenUniqueReference: resp.TokenUniqueReference,
		Methods: resp.AuthenticationMethods, Reason: resp.Reason, TokenData: resp.TokenData}
	if ti := resp.TokenInfo; ti != nil {
		if err := s.cfg.Store.bind(in.WalletAccountID, in.DeviceID, dev); err != nil {
			s.audit("add-card", err, at...)
			return AddCardResponse{}, err
		}
		out.AccountPanSuffix, out.TokenPanSuffix, out.Status = ti.AccountPanSuffix, ti.TokenPanSuffix, ti.Status
		if _, known := s.cfg.Store.Token(resp.TokenUniqueReference); !known {
			s.cfg.Store.put(TokenRecord{
				WalletAccountID: in.WalletAccountID, DeviceID: in.DeviceID, TokenUniqueReference: resp.TokenUniqueReference,
				Status: ti.Status, AccountPanSuffix: ti.AccountPanSuffix, TokenPanSuffix: ti.TokenPanSuffix,
			})
		}
	}
	s.audit("add-card", nil, append(at, "decision", resp.Decision, "tur", resp.TokenUniqueReference, "reason", resp.Reason)...)
	return out, nil
}

// own is the record of tur when the caller's account holds it:
// unknown_token when nobody's does, not_owner when another account's
// does.
func (s *Service) own(who caller, tur string) (TokenRecord, error) {
	r, ok := s.cfg.Store.Token(tur)
	switch {
	case !ok:
		return TokenRecord{}, errUnknownToken
	case r.WalletAccountID != who.account:
		return TokenRecord{}, errNotOwner
	}
	return r, nil
}

func (s *Service) requestOTP(ctx context.Context, who caller, in OTPRequest) (OTPRequestResult, error) {
	at := []any{"account", who.account, "device", who.deviceID, "tur", in.TokenUniqueReference}
	if _, err := s.own(who, in.TokenUniqueReference); err != nil {
		s.audit("request-otp", err, at...)
		return OTPRequestResult{}, err
	}
	id, err := s.taskID()
	if err != nil {
		return OTPRequestResult{}, err
	}
	var res wire.RequestOTPResult
	if err := s.call(ctx, tspRequestOTP, wire.RequestOTP{TaskID: id, TokenUniqueReference: in.TokenUniqueReference, AuthenticationMethodID: in.MethodID},
		wire.TypeRequestOTP, wire.TypeRequestOTPResult, &res); err != nil {
		s.audit("request-otp", err, at...)
		return OTPRequestResult{}, err
	}
	s.audit("request-otp", nil, at...)
	return OTPRequestResult{Result: res.Result, ExpiresAt: res.ExpiresAt}, nil
}

func (s *Service) submitOTP(ctx context.Context, who caller, in OTPSubmit) (OTPSubmitResult, error) {
	at := []any{"account", who.account, "device", who.deviceID, "tur", in.TokenUniqueReference}
	if _, err := s.own(who, in.TokenUniqueReference); err != nil {
		s.audit("submit-otp", err, at...)
		return OTPSubmitResult{}, err
	}
	var res wire.SubmitOTPResult
	if err := s.call(ctx, tspSubmitOTP, in.SubmitOTP, "", wire.TypeSubmitOTPResult, &res); err != nil {
		s.audit("submit-otp", err, at...)
		return OTPSubmitResult{}, err
	}
	if res.Result == wire.ResultSuccess {
		s.cfg.Store.setStatus(in.TokenUniqueReference, wire.StatusActive, nil)
	}
	s.audit("submit-otp", nil, append(at, "result", res.Result)...)
	return OTPSubmitResult{Result: res.Result, RetriesRemaining: res.RetriesRemaining, TokenData: res.TokenData}, nil
}

func (s *Service) activate(ctx context.Context, who caller, in ActivateRequest) (ActivateResult, error) {
	at := []any{"account", who.account, "device", who.deviceID, "tur", in.TokenUniqueReference}
	if _, err := s.own(who, in.TokenUniqueReference); err != nil {
		s.audit("activate", err, at...)
		return ActivateResult{}, err
	}
	var res wire.ActivateResult
	if err := s.call(ctx, tspActivate, in.Activation, "", wire.TypeActivateResult, &res); err != nil {
		s.audit("activate", err, at...)
		return ActivateResult{}, err
	}
	if res.Result == wire.ResultSuccess {
		s.cfg.Store.setStatus(in.TokenUniqueReference, wire.StatusActive, nil)
	}
	s.audit("activate", nil, append(at, "result", res.Result)...)
	return ActivateResult{Result: res.Result, RetriesRemaining: res.RetriesRemaining, TokenData: res.TokenData}, nil
}

func (s *Service) ack(ctx context.Context, who caller, in AckRequest) (AckResult, error) {
	at := []any{"account", who.account, "device", who.deviceID, "tur", in.TokenUniqueReference}
	if _, err := s.own(who, in.TokenUniqueReference); err != nil {
		s.audit("ack", err, at...)
		return AckResult{}, err
	}
	var n wire.Notification
	if err := s.call(ctx, tspAck, in.Ack, "", wire.TypeNotification, &n); err != nil {
		s.audit("ack", err, at...)
		return AckResult{}, err
	}
	if n.TokenUniqueReference != in.TokenUniqueReference {
		s.audit("ack", errTSPDown, at...)
		return AckResult{}, errTSPDown
	}
	s.cfg.Store.setStatus(n.TokenUniqueReference, n.Status, nil)
	s.audit("ack", nil, append(at, "status", n.Status)...)
	return AckResult{Status: n.Status}, nil
}

func (s *Service) lifecycle(ctx context.Context, who caller, in LifecycleRequest) (LifecycleResult, error) {
	at := []any{"account", who.account, "device", who.deviceID, "tur", in.TokenUniqueReference, "lost", in.DeviceID, "action", in.Action}
	req := wire.LifecycleRequest{Action: in.Action, Actor: wire.ActorCardholder, Reason: in.Reason, DeviceID: in.DeviceID}
	switch {
	case in.DeviceID != "":
		// A lost-phone report (R-C1): the account must own that device.
		if len(s.cfg.Store.Account(who.account)) == 0 {
			s.audit("lifecycle", errUnknownAccount, at...)
			return LifecycleResult{}, errUnknownAccount
		}
		if !s.cfg.Store.bound(who.account, in.DeviceID) {
			s.audit("lifecycle", errDeviceMismatch, at...)
			return LifecycleResult{}, errDeviceMismatch
		}
	default:
		if _, err := s.own(who, in.TokenUniqueReference); err != nil {
			s.audit("lifecycle", err, at...)
			return LifecycleResult{}, err
		}
		req.TokenUniqueReferences = []string{in.TokenUniqueReference}
	}
	id, err := s.taskID()
	if err != nil {
		return LifecycleResult{}, err
	}
	req.TaskID = id
	if err := req.Validate(); err != nil {
		s.audit("lifecycle", err, at...)
		return LifecycleResult{}, err
	}
	var resp wire.LifecycleResponse
	if err := s.call(ctx, tspLifecycle, req, wire.TypeLifecycleRequest, wire.TypeLifecycleResponse, &resp); err != nil {
		s.audit("lifecycle", err, at...)
		return LifecycleResult{}, err
	}
	for _, t := range resp.Tokens {
		if t.Reason == "" {
			s.cfg.Store.setStatus(t.TokenUniqueReference, t.Status, t.SuspendedBy)
		}
	}
	s.audit("lifecycle", nil, at...)
	return LifecycleResult{Tokens: resp.Tokens}, nil
}

func (s *Service) tokens(_ context.Context, who caller, _ TokensRequest) (TokensResult, error) {
	list := s.cfg.Store.Account(who.account)
	if list == nil {
		list = []TokenRecord{}
	}
	s.audit("tokens", nil, "account", who.account, "device", who.deviceID, "count", len(list))
	return TokensResult{Tokens: list}, nil
}

// notify handles the token service's notifications: each correlation ID
// once (a repeat is acknowledged as a duplicate), the token's state
// updated.
func (s *Service) notify(r *wire.Request) (wire.Response, error) {
	var n wire.Notification
	c, err := wire.OpenInto(string(r.Body), s.cfg.Me, s.cfg.Trust, wire.Expect{
		Type: wire.TypeNotification, From: s.cfg.TSPParty, Replay: s.cfg.Replay, Clock: s.cfg.Clock,
	}, &n)
	if err == nil {
		err = n.Validate()
	}
	if err != nil {
		s.audit("notify", err)
		return wire.Response{}, err
	}
	first := s.cfg.Store.firstTime(n.CorrelationID)
	if first {
		var by []string
		if rec, ok := s.cfg.Store.Token(n.TokenUniqueReference); ok && n.Status == wire.StatusSuspended {
			by = rec.SuspendedBy
			switch {
			case n.Event == wire.EventSuspended && !contains(by, wire.ActorIssuer):
				by = append(by, wire.ActorIssuer)
			case n.Event == wire.EventResumed:
				by = remove(by, wire.ActorIssuer)
			}
		}
		s.cfg.Store.setStatus(n.TokenUniqueReference, n.Status, by)
	}
	s.audit("notify", nil, "tur", n.TokenUniqueReference, "event", n.Event, "status", n.Status, "duplicate", !first)
	ack, err := wire.Seal(wire.NotificationAck{CorrelationID: n.CorrelationID, Duplicate: !first}, s.cfg.Me, c.Sender,
		wire.Header{Type: wire.TypeNotificationAck, Clock: s.cfg.Clock, Rand: s.cfg.Rand})
	if err != nil {
		return wire.Response{}, err
	}
	return wire.EnvelopeResponse(ack), nil
}

func remove(list []string, s string) []string {
	var out []string
	for _, v := range list {
		if v != s {
			out = append(out, v)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
