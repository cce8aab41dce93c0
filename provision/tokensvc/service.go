package tokensvc

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/tapsim/tapsim/emv/pan"
	"github.com/tapsim/tapsim/provision/wire"
)

// Endpoint paths.
const (
	PathTokenize        = "/tokenize"
	PathRequestOTP      = "/otp/request"
	PathSubmitOTP       = "/otp/submit"
	PathActivate        = "/activate"
	PathTokenDataAck    = "/tokendata/ack"
	PathLifecycle       = "/lifecycle"
	PathIssuerLifecycle = "/issuer/lifecycle"
)

// Requestor is a token requestor (wallet provider) the service knows.
type Requestor struct {
	// ID is the 11-digit token requestor ID.
	ID string
	// Party is the wallet provider's party name: the signer of its
	// envelopes and the common name of its TLS client certificate.
	Party string
	// NotifyURL is the https URL of its notification endpoint; the
	// service posts token events the issuer caused there. None when empty.
	NotifyURL string
}

// Config configures a Service.
type Config struct {
	// Me is the token service's party (its signing and encryption keys).
	Me *wire.Party
	// Trust holds the public keys of the wallet providers and the issuer.
	Trust *wire.TrustList
	// Requestors are the token requestors served.
	Requestors []Requestor
	// IssuerParty is the issuer's party name, the only signer accepted on
	// the issuer's endpoints.
	IssuerParty string
	// Issuer is the issuer's ID&V, OTP and notification API.
	Issuer Issuer
	// Vault keeps the tokens.
	Vault Vault
	// Store keeps the service's own state (token records, device keys,
	// answers to tasks); a fresh MemoryStore when nil, which ends with
	// the process.
	Store Store
	// Notifier posts notifications to the wallet providers (a mutual-TLS
	// wire.Client); none are sent when nil.
	Notifier *wire.Client
	// Replay remembers accepted envelopes; a fresh memory cache when nil.
	Replay wire.ReplayCache
	// Clock is the service's time; time.Now when nil.
	Clock func() time.Time
	// Rand gives the nonces of the envelopes sealed and the random part
	// of notifications' correlation IDs; crypto/rand when nil.
	Rand io.Reader
	// Log receives the audit lines; none when nil.
	Log *slog.Logger
}

// Service is the token service. Its Handler serves the endpoints.
type Service struct {
	cfg   Config
	reqs  map[string]Requestor // by ID
	devs  *wire.TrustList      // device keys seen in tokenize requests
	tokMu sync.Mutex           // serialises tokenize, for the taskId rule

	mu  sync.Mutex
	seq int
}

// New checks cfg and makes a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Me == nil || cfg.Trust == nil || cfg.Issuer == nil || cfg.Vault == nil || len(cfg.Requestors) == 0 {
		return nil, fmt.Errorf("%w: token service: party, trust list, issuer, vault and requestors are required", ErrConfig)
	}
	if cfg.Replay == nil {
		cfg.Replay = wire.NewMemoryReplayCache(0)
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Store == nil {
		cfg.Store = NewMemoryStore()
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	s := &Service{cfg: cfg, reqs: map[string]Requestor{}, devs: &wire.TrustList{}}
	for _, r := range cfg.Requestors {
		if _, ok := cfg.Trust.Party(r.Party); !ok {
			return nil, fmt.Errorf("%w: token service: requestor %s's party is not trusted", ErrConfig, r.ID)
		}
		s.reqs[r.ID] = r
	}
	return s, nil
}

// Handler serves the endpoints; every refusal is audited too.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	opt := wire.HandlerOptions{Log: s.cfg.Log}
	mux.Handle(PathTokenize, wire.Handle(s.tokenize, opt))
	mux.Handle(PathRequestOTP, wire.Handle(s.requestOTP, opt))
	mux.Handle(PathSubmitOTP, wire.Handle(s.submitOTP, opt))
	mux.Handle(PathActivate, wire.Handle(s.activate, opt))
	mux.Handle(PathTokenDataAck, wire.Handle(s.ack, opt))
	mux.Handle(PathLifecycle, wire.Handle(s.lifecycle, opt))
	mux.Handle(PathIssuerLifecycle, wire.Handle(s.issuerLifecycle, opt))
	return mux
}

// audit writes one line: operation, outcome, reason and references; a
// PAN only masked.
func (s *Service) audit(op string, err error, attrs ...any) {
	if s.cfg.Log == nil {
		return
	}
	a := append([]any{"op", op}, attrs...)
	if err != nil {
		a = append(a, "outcome", "refused", "reason", wire.RefusalFor(err).Reason)
		s.cfg.Log.Warn("token service", a...)
		return
	}
	s.cfg.Log.Info("token service", append(a, "outcome", "ok")...)
}

func (s *Service) open(r *wire.Request, typ, from string, trust wire.Directory, v any) (wire.Claims, error) {
	c, err := wire.OpenInto(string(r.Body), s.cfg.Me, trust, wire.Expect{
		Type: typ, From: from, Replay: s.cfg.Replay, Clock: s.cfg.Clock,
	}, v)
	if err != nil {
		return c, err
	}
	if val, ok := v.(wire.Validator); ok {
		if err := val.Validate(); err != nil {
			return c, err
		}
	}
	return c, nil
}

func (s *Service) seal(v any, to wire.PublicKeys, typ string) (wire.Response, error) {
	tok, err := wire.Seal(v, s.cfg.Me, to, wire.Header{Type: typ, Clock: s.cfg.Clock, Rand: s.cfg.Rand})
	if err != nil {
		return wire.Response{}, err
	}
	return wire.EnvelopeResponse(tok), nil
}

// requestorOf is the requestor whose party signed c.
func (s *Service) requestorOf(c wire.Claims) (Requestor, bool) {
	for _, r := range s.reqs {
		if r.Party == c.Issuer {
			return r, true
		}
	}
	return Requestor{}, false
}

func fingerprint(parts ...string) [32]byte {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s;", len(p), p)
	}
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

func (s *Service) tokenize(r *wire.Request) (wire.Response, error) {
	var req wire.TokenizeRequest
	c, err := s.open(r, wire.TypeTokenizeRequest, "", s.cfg.Trust, &req)
	if err != nil {
		s.audit("tokenize", err)
		return wire.Response{}, err
	}
	resp, err := s.doTokenize(r.HTTP.Context(), c, req)
	if err != nil {
		return wire.Response{}, err
	}
	return s.seal(resp, c.Sender, wire.TypeTokenizeResponse)
}

func (s *Service) doTokenize(ctx context.Context, c wire.Claims, req wire.TokenizeRequest) (wire.TokenizeResponse, error) {
	at := []any{"requestor", req.TokenRequestorID, "task", req.TaskID, "device", req.DeviceID}
	rq, ok := s.reqs[req.TokenRequestorID]
	if !ok {
		s.audit("tokenize", errUnknownRequestor, at...)
		return wire.TokenizeResponse{}, errUnknownRequestor
	}
	if rq.Party != c.Issuer {
		s.audit("tokenize", errRequestorMismatch, at...)
		return wire.TokenizeResponse{}, errRequestorMismatch
	}
	dev, err := req.DeviceKeys()
	if err != nil {
		s.audit("tokenize", err, at...)
		return wire.TokenizeResponse{}, err
	}
	fp := fingerprint(req.DeviceID, req.WalletAccountID, req.FundingAccountInfo.EncryptedPayload, dev.SignKID, dev.EncKID)
	key := "tokenize/" + req.TokenRequestorID + "/" + req.TaskID

	s.tokMu.Lock()
	defer s.tokMu.Unlock()
	prev, seen, err := s.cfg.Store.Task(ctx, key)
	if err != nil {
		s.audit("tokenize", errStore, at...)
		return wire.TokenizeResponse{}, errStore
	}
	if seen {
		if prev.Fingerprint != fp {
			s.audit("tokenize", errTaskIDReused, at...)
			return wire.TokenizeResponse{}, errTaskIDReused
		}
		var resp wire.TokenizeResponse
		if err := json.Unmarshal(prev.Answer, &resp); err != nil {
			s.audit("tokenize", errStore, at...)
			return wire.TokenizeResponse{}, errStore
		}
		if resp.TokenUniqueReference != "" {
			// The same answer, with the token as it is now: its data
			// again only while it is ACTIVE and was approved outright.
			tok, err := s.cfg.Vault.Get(ctx, resp.TokenUniqueReference)
			if err != nil {
				s.audit("tokenize", errVault, at...)
				return wire.TokenizeResponse{}, errVault
			}
			resp.TokenInfo = tok.Info()
			want := resp.Decision == wire.DecisionApproved && tok.Status == wire.StatusActive
			if err := s.withTokenData(ctx, &resp.TokenData, resp.TokenUniqueReference, want); err != nil {
				return wire.TokenizeResponse{}, err
			}
		}
		s.audit("tokenize", nil, append(at, "repeat", true, "decision", resp.Decision, "tur", resp.TokenUniqueReference)...)
		return resp, nil
	}

	card, _, err := req.OpenCardData(s.cfg.Me, wire.Expect{Replay: s.cfg.Replay, Clock: s.cfg.Clock})
	if err != nil {
		s.audit("tokenize", err, at...)
		return wire.TokenizeResponse{}, err
	}
	at = append(at, "pan", pan.Mask(card.PAN))
	if err := s.devs.Add(dev); err != nil {
		s.audit("tokenize", errDeviceKeys, at...)
		return wire.TokenizeResponse{}, errDeviceKeys
	}
	// R-G3f: the cardholder's verification on the phone counts only as
	// the device signed it (in the card data) and as the wallet provider
	// forwarded it; the card data is not passed on with it.
	cvm := ""
	if card.DeviceCVM != "" && card.DeviceCVM == req.DecisioningData.DeviceCVM {
		cvm = card.DeviceCVM
	}
	card.DeviceCVM = ""
	dec, err := s.cfg.Issuer.Authorize(ctx, IDVRequest{
		Card: card, DeviceID: req.DeviceID, TokenRequestorID: req.TokenRequestorID,
		WalletAccountID: req.WalletAccountID, Risk: req.DecisioningData, DeviceCVM: cvm,
	})
	if err != nil {
		s.audit("tokenize", errIssuer, at...)
		return wire.TokenizeResponse{}, errIssuer
	}
	resp := wire.TokenizeResponse{TaskID: req.TaskID, Decision: dec.Decision}
	status := wire.StatusActive
	switch dec.Decision {
	case wire.DecisionDeclined:
		resp.Reason = dec.Reason
		if resp.Reason == "" {
			resp.Reason = "DECLINED"
		}
		if err := s.remember(ctx, key, fp, resp); err != nil {
			s.audit("tokenize", err, at...)
			return wire.TokenizeResponse{}, err
		}
		if s.cfg.Log != nil {
			s.cfg.Log.Warn("token service", append([]any{"op", "tokenize", "outcome", "declined", "reason", resp.Reason}, at...)...)
		}
		return resp, nil
	case wire.DecisionRequireAuthN:
		if len(dec.Methods) == 0 {
			s.audit("tokenize", errIssuer, at...)
			return wire.TokenizeResponse{}, errIssuer
		}
		status = wire.StatusInactive // yellow: INACTIVE until step-up succeeds
		resp.AuthenticationMethods = dec.Methods
	case wire.DecisionApproved:
	default:
		s.audit("tokenize", errIssuer, at...)
		return wire.TokenizeResponse{}, errIssuer
	}
	tok, err := s.cfg.Vault.Create(ctx, NewToken{
		PAN: card.PAN, Expiry: card.Expiry, TokenRequestorID: req.TokenRequestorID,
		WalletAccountID: req.WalletAccountID, DeviceID: req.DeviceID, Status: status,
	})
	if err != nil {
		s.audit("tokenize", errVault, at...)
		return wire.TokenizeResponse{}, errVault
	}
	resp.TokenUniqueReference, resp.PanUniqueReference, resp.TokenInfo = tok.TokenUniqueReference, tok.PanUniqueReference, tok.Info()
	if err := s.cfg.Store.PutRecord(ctx, Record{TokenUniqueReference: tok.TokenUniqueReference, RequestorID: rq.ID,
		DeviceID: req.DeviceID, Device: dev, Methods: dec.Methods}); err != nil {
		// Nothing could serve the token without its record: it is
		// deactivated, so that nothing half-made can pay.
		_, _ = s.cfg.Vault.Change(ctx, tok.TokenUniqueReference, wire.ActionDelete, wire.ActorTokenRequestor)
		s.audit("tokenize", errStore, append(at, "tur", tok.TokenUniqueReference)...)
		return wire.TokenizeResponse{}, errStore
	}
	if err := s.remember(ctx, key, fp, resp); err != nil {
		s.audit("tokenize", err, at...)
		return wire.TokenizeResponse{}, err
	}
	s.notifyIssuer(ctx, wire.EventTokenCreated, tok, "")
	if err := s.withTokenData(ctx, &resp.TokenData, tok.TokenUniqueReference, status == wire.StatusActive); err != nil {
		return wire.TokenizeResponse{}, err
	}
	s.audit("tokenize", nil, append(at, "decision", dec.Decision, "tur", tok.TokenUniqueReference, "status", status)...)
	return resp, nil
}

// remember records the answer to a task (without token data).
func (s *Service) remember(ctx context.Context, key string, fp [32]byte, resp any) error {
	b, err := json.Marshal(resp)
	if err != nil {
		return errStore
	}
	if err := s.cfg.Store.PutTask(ctx, key, Task{Fingerprint: fp, Answer: b}); err != nil {
		return errStore
	}
	return nil
}

// withTokenData seals the token's data to its device (R-G1), signed by
// the service (R-G2), into *dst when want.
func (s *Service) withTokenData(ctx context.Context, dst *string, tur string, want bool) error {
	if !want {
		return nil
	}
	tok, err := s.cfg.Vault.Get(ctx, tur)
	if err != nil {
		return errVault
	}
	rec, err := s.cfg.Store.Record(ctx, tur)
	switch {
	case errors.Is(err, ErrUnknownToken):
		return errUnknownTok
	case err != nil:
		return errStore
	}
	d := tok.Data()
	if d.WrappedICCMasterKey, d.ICCMasterKeyKCV, err = s.cfg.Vault.WrapKey(ctx, tur, rec.Device.Enc); err != nil {
		return errVault
	}
	env, err := wire.Seal(d, s.cfg.Me, rec.Device, wire.Header{Type: wire.TypeTokenData, Clock: s.cfg.Clock, Rand: s.cfg.Rand})
	if err != nil {
		return err
	}
	if !rec.Delivered {
		rec.Delivered = true
		if err := s.cfg.Store.PutRecord(ctx, rec); err != nil {
			return errStore
		}
	}
	*dst = env
	return nil
}

// record is the record of tur and its requestor: errUnknownTok when
// there is none (or its requestor is no longer served), errStore when
// the store fails.
func (s *Service) record(ctx context.Context, tur string) (Record, Requestor, error) {
	rec, err := s.cfg.Store.Record(ctx, tur)
	switch {
	case errors.Is(err, ErrUnknownToken):
		return Record{}, Requestor{}, errUnknownTok
	case err != nil:
		return Record{}, Requestor{}, errStore
	}
	rq, ok := s.reqs[rec.RequestorID]
	if !ok {
		return Record{}, Requestor{}, errUnknownTok
	}
	return rec, rq, nil
}

// ownRecord is the record of tur when it belongs to the requestor whose
// party is party (errUnknownTok otherwise).
func (s *Service) ownRecord(ctx context.Context, tur string, party string) (Record, error) {
	rec, rq, err := s.record(ctx, tur)
	if err != nil {
		return Record{}, err
	}
	if rq.Party != party {
		return Record{}, errUnknownTok
	}
	return rec, nil
}

func (s *Service) requestOTP(r *wire.Request) (wire.Response, error) {
	var req wire.RequestOTP
	c, err := s.open(r, wire.TypeRequestOTP, "", s.cfg.Trust, &req)
	if err != nil {
		s.audit("request-otp", err)
		return wire.Response{}, err
	}
	ctx := r.HTTP.Context()
	at := []any{"tur", req.TokenUniqueReference}
	fail := func(e error) (wire.Response, error) { s.audit("request-otp", e, at...); return wire.Response{}, e }
	rec, err := s.ownRecord(ctx, req.TokenUniqueReference, c.Issuer)
	if err != nil {
		return fail(err)
	}
	tok, err := s.cfg.Vault.Get(ctx, req.TokenUniqueReference)
	if err != nil {
		return fail(errVault)
	}
	if tok.Status != wire.StatusInactive {
		return fail(errNotAwaiting)
	}
	if !slices.ContainsFunc(rec.Methods, func(m wire.AuthenticationMethod) bool { return m.ID == req.AuthenticationMethodID }) {
		return fail(errUnknownMethod)
	}
	exp, err := s.cfg.Issuer.SendOTP(ctx, OTPRequest{PAN: tok.FundingPAN, TokenUniqueReference: tok.TokenUniqueReference, MethodID: req.AuthenticationMethodID})
	switch {
	case errors.Is(err, ErrOTPLocked):
		return fail(errOTPLocked)
	case err != nil:
		return fail(errIssuer)
	}
	s.audit("request-otp", nil, at...)
	return s.seal(wire.RequestOTPResult{Result: wire.ResultSuccess, ExpiresAt: exp}, c.Sender, wire.TypeRequestOTPResult)
}

// relayed opens a phone's envelope relayed by its wallet provider: the
// TLS client must be the wallet provider of the token, the signer the
// device key of the tokenize request.
func (s *Service) relayed(r *wire.Request, typ string, v any, tur func() string) (wire.Claims, Record, Requestor, error) {
	c, err := s.open(r, typ, "", storeDirectory{seen: s.devs, store: s.cfg.Store}, v)
	if err != nil {
		return c, Record{}, Requestor{}, err
	}
	rec, rq, err := s.record(r.HTTP.Context(), tur())
	if err != nil {
		return c, Record{}, Requestor{}, err
	}
	if r.Peer == nil || r.Peer.Subject.CommonName != rq.Party {
		return c, Record{}, Requestor{}, errPeer
	}
	if c.Sender.SignKID != rec.Device.SignKID {
		return c, Record{}, Requestor{}, errWrongDevice
	}
	return c, rec, rq, nil
}

func (s *Service) sealTo(party string, v any, typ string) (wire.Response, error) {
	to, ok := s.cfg.Trust.Party(party)
	if !ok {
		return wire.Response{}, errUnknownRequestor
	}
	return s.seal(v, to, typ)
}

func (s *Service) submitOTP(r *wire.Request) (wire.Response, error) {
	var req wire.SubmitOTP
	_, _, rq, err := s.relayed(r, wire.TypeSubmitOTP, &req, func() string { return req.TokenUniqueReference })
	at := []any{"tur", req.TokenUniqueReference}
	fail := func(e error) (wire.Response, error) { s.audit("submit-otp", e, at...); return wire.Response{}, e }
	if err != nil {
		return fail(err)
	}
	ctx := r.HTTP.Context()
	tok, err := s.cfg.Vault.Get(ctx, req.TokenUniqueReference)
	if err != nil {
		return fail(errVault)
	}
	if tok.Status != wire.StatusInactive && tok.Status != wire.StatusActive {
		return fail(errNotAwaiting)
	}
	v, err := s.cfg.Issuer.VerifyOTP(ctx, tok.FundingPAN, tok.TokenUniqueReference, req.OTP)
	if err != nil {
		return fail(errIssuer)
	}
	res := wire.SubmitOTPResult{}
	switch v.Status {
	case OTPVerified:
		if tok.Status == wire.StatusInactive {
			if _, err := s.cfg.Vault.Change(ctx, tok.TokenUniqueReference, ActionActivate, wire.ActorIssuer); err != nil {
				return fail(errVault)
			}
		}
		res.Result = wire.ResultSuccess
		if err := s.withTokenData(ctx, &res.TokenData, tok.TokenUniqueReference, true); err != nil {
			return fail(err)
		}
	case OTPWrong:
		res.Result, res.RetriesRemaining = wire.ResultIncorrectCode, v.TriesLeft
	case OTPExpired:
		res.Result = wire.ResultExpiredCode
	case OTPLocked:
		res.Result = wire.ResultRetriesExceeded
	case OTPUsed:
		return fail(errOTPUsed)
	default:
		return fail(errIssuer)
	}
	s.audit("submit-otp", nil, append(at, "result", res.Result)...)
	return s.sealTo(rq.Party, res, wire.TypeSubmitOTPResult)
}

// activate is the cardholder's activation afterwards with the card's
// passcode (R-S2a): the phone's envelope, signed by the token's device
// (another phone is wrong_device) and relayed by its wallet provider,
// carries a PIN block the wallet provider cannot read; it goes to the
// issuer and is cleared here after the call. A token already active
// answers SUCCESS again, without token data; an inactive one becomes
// ACTIVE and its data is sealed to the device.
func (s *Service) activate(r *wire.Request) (wire.Response, error) {
	var req wire.ActivatePasscode
	_, _, rq, err := s.relayed(r, wire.TypeActivate, &req, func() string { return req.TokenUniqueReference })
	var block []byte
	defer func() {
		clear(block)
		req.PINBlock = ""
	}()
	at := []any{"tur", req.TokenUniqueReference}
	fail := func(e error) (wire.Response, error) { s.audit("activate", e, at...); return wire.Response{}, e }
	if err != nil {
		return fail(err)
	}
	pi, ok := s.cfg.Issuer.(PasscodeIssuer)
	if !ok {
		return fail(errNoPasscode)
	}
	ctx := r.HTTP.Context()
	tok, err := s.cfg.Vault.Get(ctx, req.TokenUniqueReference)
	if err != nil {
		return fail(errVault)
	}
	if tok.Status != wire.StatusInactive && tok.Status != wire.StatusActive {
		return fail(errNotAwaiting)
	}
	if block, err = hex.DecodeString(req.PINBlock); err != nil {
		return fail(fmt.Errorf("%w: activate: pinBlock", wire.ErrInvalid))
	}
	v, err := pi.ActivatePasscode(ctx, tok.FundingPAN, tok.TokenUniqueReference, block)
	var ref *wire.Refusal
	switch {
	case errors.As(err, &ref):
		return fail(ref)
	case err != nil:
		return fail(errIssuer)
	}
	res := wire.ActivateResult{}
	switch v.Status {
	case OTPVerified:
		res.Result = wire.ResultSuccess
		if tok.Status == wire.StatusInactive {
			if _, err := s.cfg.Vault.Change(ctx, tok.TokenUniqueReference, ActionActivate, wire.ActorIssuer); err != nil {
				return fail(errVault)
			}
			if err := s.withTokenData(ctx, &res.TokenData, tok.TokenUniqueReference, true); err != nil {
				return fail(err)
			}
		}
	case OTPWrong:
		res.Result, res.RetriesRemaining = wire.ResultIncorrectCode, v.TriesLeft
	case OTPLocked:
		res.Result = wire.ResultRetriesExceeded
	default:
		return fail(errIssuer)
	}
	s.audit("activate", nil, append(at, "result", res.Result)...)
	return s.sealTo(rq.Party, res, wire.TypeActivateResult)
}

// nextCorrelation is a notification's correlation ID: a sequence number,
// random bytes (so that a restarted service does not repeat the IDs it
// used, which the receivers deduplicate on) and the token's reference.
func (s *Service) nextCorrelation(tur string) string {
	var r [4]byte
	_, _ = io.ReadFull(s.cfg.Rand, r[:])
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	id := fmt.Sprintf("N%08d-%s-%s", s.seq, hex.EncodeToString(r[:]), tur)
	if len(id) > 64 {
		id = id[:64]
	}
	return id
}

func (s *Service) notification(event string, tok Token, reason string) wire.Notification {
	return wire.Notification{
		CorrelationID: s.nextCorrelation(tok.TokenUniqueReference), Event: event,
		TokenUniqueReference: tok.TokenUniqueReference, PanUniqueReference: tok.PanUniqueReference,
		Status: tok.Status, Reason: reason, OccurredAt: s.cfg.Clock(),
	}
}

func (s *Service) notifyIssuer(ctx context.Context, event string, tok Token, reason string) error {
	err := s.cfg.Issuer.Notify(ctx, s.notification(event, tok, reason))
	if err != nil {
		s.audit("notify-issuer", refuse(http.StatusBadGateway, ReasonNotificationFailed, ""), "tur", tok.TokenUniqueReference, "event", event)
	}
	return err
}

func (s *Service) ack(r *wire.Request) (wire.Response, error) {
	var a wire.TokenDataAck
	_, rec, rq, err := s.relayed(r, wire.TypeTokenDataAck, &a, func() string { return a.TokenUniqueReference })
	at := []any{"tur", a.TokenUniqueReference, "device", a.DeviceID}
	fail := func(e error) (wire.Response, error) { s.audit("token-data-ack", e, at...); return wire.Response{}, e }
	if err != nil {
		return fail(err)
	}
	if a.DeviceID != rec.DeviceID {
		return fail(errWrongDevice)
	}
	if a.Result != wire.AckInstalled {
		return fail(errDownloadFailed)
	}
	ctx := r.HTTP.Context()
	done := rec.Downloaded
	if !rec.Delivered {
		return fail(errNotDelivered)
	}
	tok, err := s.cfg.Vault.Get(ctx, a.TokenUniqueReference)
	if err != nil {
		return fail(errVault)
	}
	n := s.notification(wire.EventDownloadComplete, tok, "")
	if !done {
		// The last step of R-M5: the issuer learns the download completed.
		if err := s.cfg.Issuer.Notify(ctx, n); err != nil {
			return fail(errIssuer)
		}
		rec.Downloaded = true
		if err := s.cfg.Store.PutRecord(ctx, rec); err != nil {
			return fail(errStore)
		}
	}
	s.audit("token-data-ack", nil, append(at, "repeat", done)...)
	return s.sealTo(rq.Party, n, wire.TypeNotification)
}

func (s *Service) lifecycle(r *wire.Request) (wire.Response, error) {
	var req wire.LifecycleRequest
	c, err := s.open(r, wire.TypeLifecycleRequest, "", s.cfg.Trust, &req)
	if err != nil {
		s.audit("lifecycle", err)
		return wire.Response{}, err
	}
	if _, ok := s.requestorOf(c); !ok {
		s.audit("lifecycle", errUnknownRequestor)
		return wire.Response{}, errUnknownRequestor
	}
	if req.Actor != wire.ActorTokenRequestor && req.Actor != wire.ActorCardholder {
		s.audit("lifecycle", errActor, "actor", req.Actor)
		return wire.Response{}, errActor
	}
	resp, err := s.applyLifecycle(r.HTTP.Context(), c, req, false)
	if err != nil {
		return wire.Response{}, err
	}
	return s.seal(resp, c.Sender, wire.TypeLifecycleResponse)
}

func (s *Service) issuerLifecycle(r *wire.Request) (wire.Response, error) {
	var req wire.LifecycleRequest
	if s.cfg.IssuerParty == "" {
		return wire.Response{}, errActor
	}
	c, err := s.open(r, wire.TypeLifecycleRequest, s.cfg.IssuerParty, s.cfg.Trust, &req)
	if err != nil {
		s.audit("issuer-lifecycle", err)
		return wire.Response{}, err
	}
	if req.Actor != wire.ActorIssuer && req.Actor != wire.ActorMobilePINLocked {
		s.audit("issuer-lifecycle", errActor, "actor", req.Actor)
		return wire.Response{}, errActor
	}
	resp, err := s.applyLifecycle(r.HTTP.Context(), c, req, true)
	if err != nil {
		return wire.Response{}, err
	}
	return s.seal(resp, c.Sender, wire.TypeLifecycleResponse)
}

var eventOf = map[string]string{wire.ActionSuspend: wire.EventSuspended, wire.ActionResume: wire.EventResumed, wire.ActionDelete: wire.EventDeleted}

// applyLifecycle changes the tokens of req: a wallet provider only its
// own, the issuer any; a device ID names every token bound to it (R-C1).
// Changes are notified to the other side.
func (s *Service) applyLifecycle(ctx context.Context, c wire.Claims, req wire.LifecycleRequest, byIssuer bool) (wire.LifecycleResponse, error) {
	op := "lifecycle"
	if byIssuer {
		op = "issuer-lifecycle"
	}
	key := "lifecycle/" + c.Issuer + "/" + req.TaskID
	fp := fingerprint(append([]string{req.Action, req.Actor, req.Reason, req.DeviceID}, req.TokenUniqueReferences...)...)
	prev, seen, err := s.cfg.Store.Task(ctx, key)
	if err != nil {
		s.audit(op, errStore, "task", req.TaskID)
		return wire.LifecycleResponse{}, errStore
	}
	if seen {
		if prev.Fingerprint != fp {
			s.audit(op, errTaskIDReused, "task", req.TaskID)
			return wire.LifecycleResponse{}, errTaskIDReused
		}
		var resp wire.LifecycleResponse
		if err := json.Unmarshal(prev.Answer, &resp); err != nil {
			s.audit(op, errStore, "task", req.TaskID)
			return wire.LifecycleResponse{}, errStore
		}
		return resp, nil
	}
	turs := slices.Clone(req.TokenUniqueReferences)
	if req.DeviceID != "" {
		toks, err := s.cfg.Vault.ByDevice(ctx, req.DeviceID)
		if err != nil {
			return wire.LifecycleResponse{}, errVault
		}
		for _, t := range toks {
			if t.Status == wire.StatusDeactivated || slices.Contains(turs, t.TokenUniqueReference) {
				continue
			}
			if byIssuer || s.ownedBy(ctx, t.TokenUniqueReference, c.Issuer) {
				turs = append(turs, t.TokenUniqueReference)
			}
		}
		if len(turs) == 0 {
			s.audit(op, errNoTokens, "device", req.DeviceID)
			return wire.LifecycleResponse{}, errNoTokens
		}
		if len(turs) > wire.MaxLifecycleTokens {
			turs = turs[:wire.MaxLifecycleTokens]
		}
	}
	resp := wire.LifecycleResponse{TaskID: req.TaskID}
	for _, tur := range turs {
		st := wire.TokenStatus{TokenUniqueReference: tur}
		if !byIssuer && !s.ownedBy(ctx, tur, c.Issuer) {
			// An unknown token (or somebody else's) is reported as
			// DEACTIVATED with the reason: nothing about it is revealed.
			st.Status, st.Reason = wire.StatusDeactivated, ReasonUnknownToken
			resp.Tokens = append(resp.Tokens, st)
			s.audit(op, errUnknownTok, "tur", tur)
			continue
		}
		tok, err := s.cfg.Vault.Change(ctx, tur, req.Action, req.Actor)
		st.Status, st.SuspendedBy = tok.Status, tok.SuspendedBy
		switch {
		case errors.Is(err, ErrUnknownToken):
			st.Status, st.Reason = wire.StatusDeactivated, ReasonUnknownToken
		case errors.Is(err, ErrNotSuspendedBy):
			st.Reason = ReasonNotSuspendedBy
		case errors.Is(err, ErrState):
			st.Reason = ReasonTokenState
		case err != nil:
			return wire.LifecycleResponse{}, errVault
		}
		resp.Tokens = append(resp.Tokens, st)
		if st.Reason != "" {
			s.audit(op, refuse(http.StatusConflict, st.Reason, ""), "tur", tur, "action", req.Action, "actor", req.Actor)
			continue
		}
		s.audit(op, nil, "tur", tur, "action", req.Action, "actor", req.Actor, "reason", req.Reason, "status", tok.Status)
		if byIssuer {
			s.notifyWallet(ctx, s.notification(eventOf[req.Action], tok, req.Reason))
		} else {
			_ = s.notifyIssuer(ctx, eventOf[req.Action], tok, req.Reason)
		}
	}
	if err := s.remember(ctx, key, fp, resp); err != nil {
		s.audit(op, err, "task", req.TaskID)
		return wire.LifecycleResponse{}, err
	}
	return resp, nil
}

func (s *Service) ownedBy(ctx context.Context, tur, party string) bool {
	_, err := s.ownRecord(ctx, tur, party)
	return err == nil
}

// notifyWallet posts n to the wallet provider of its token and checks
// the acknowledgement; a failure is audited (the wallet provider
// reconciles on its next request).
func (s *Service) notifyWallet(ctx context.Context, n wire.Notification) {
	at := []any{"tur", n.TokenUniqueReference, "event", n.Event}
	failed := refuse(http.StatusBadGateway, ReasonNotificationFailed, "")
	_, rq, err := s.record(ctx, n.TokenUniqueReference)
	if err != nil {
		if !errors.Is(err, errUnknownTok) {
			s.audit("notify-wallet", failed, at...)
		}
		return
	}
	if s.cfg.Notifier == nil || rq.NotifyURL == "" {
		return
	}
	to, ok := s.cfg.Trust.Party(rq.Party)
	if !ok {
		s.audit("notify-wallet", failed, at...)
		return
	}
	env, err := wire.Seal(n, s.cfg.Me, to, wire.Header{Type: wire.TypeNotification, Clock: s.cfg.Clock, Rand: s.cfg.Rand})
	if err != nil {
		s.audit("notify-wallet", failed, at...)
		return
	}
	ans, err := s.cfg.Notifier.PostEnvelope(ctx, rq.NotifyURL, env)
	if err != nil {
		s.audit("notify-wallet", failed, at...)
		return
	}
	var ack wire.NotificationAck
	if _, err := wire.OpenInto(ans, s.cfg.Me, s.cfg.Trust, wire.Expect{
		Type: wire.TypeNotificationAck, From: rq.Party, Replay: s.cfg.Replay, Clock: s.cfg.Clock,
	}, &ack); err != nil || ack.CorrelationID != n.CorrelationID {
		s.audit("notify-wallet", failed, at...)
		return
	}
	s.audit("notify-wallet", nil, at...)
}
