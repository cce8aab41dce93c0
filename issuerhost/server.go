package issuerhost

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/moov-io/iso8583"

	"github.com/tapsim/tapsim/emv/pan"
	"github.com/tapsim/tapsim/emv/tlv"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/isospec/frameserver"
	"github.com/tapsim/tapsim/isospec/rules"
	"github.com/tapsim/tapsim/issuerhost/authz"
	"github.com/tapsim/tapsim/issuerhost/store"
	"github.com/tapsim/tapsim/issuerhost/vault"
)

// Keys names the issuer's keys in its security module.
type Keys struct {
	ZPK string // zone PIN key, acquirer to issuer (online PINs arrive under it)
	ZAK string // zone MAC key, acquirer to issuer (DE64/DE128)
	PVK string // PIN verification key (Visa PVV)
	KEK string // key-encryption key: wraps the data keys issuer instances share
}

// DefaultKeys returns the labels the sample issuer uses.
func DefaultKeys() Keys {
	return Keys{ZPK: "issuer/zpk", ZAK: "issuer/zak", PVK: "issuer/pvk", KEK: "issuer/kek"}
}

// HSM is the part of the security module the issuer host uses.
type HSM interface {
	authz.HSM
	// GenerateMAC and VerifyMAC compute and check MACs under the ZAK.
	GenerateMAC(key hsm.Handle, data []byte) ([]byte, error)
	VerifyMAC(key hsm.Handle, data, mac []byte) error
}

// Config sets up a Server.
type Config struct {
	// Listen is the TCP address to listen on ("127.0.0.1:0" when empty).
	Listen string
	// TLS, when set, makes the listener speak TLS with this server
	// configuration (isospec/tlsconf.Server: mutual, the acquirers'
	// certificates required); nil listens in plain TCP. A connection whose
	// handshake fails is logged (one line, rate-limited) and closed; the
	// others go on.
	TLS *tls.Config
	// IdleTimeout closes an acquirer connection on which no frame starts
	// for that long (frameserver.DefaultIdleTimeout, 5 min, when 0).
	IdleTimeout time.Duration
	// FrameTimeout is the deadline of one frame, from its first header byte
	// to its last byte (frameserver.DefaultFrameTimeout, 10 s, when 0).
	FrameTimeout time.Duration
	// MaxFrame is the longest frame accepted, checked on the length header
	// before anything is allocated; a longer one closes the connection
	// (frameserver.DefaultMaxFrame, 8 KiB, when 0).
	MaxFrame int
	// MaxConns caps the acquirer connections served at once
	// (frameserver.DefaultMaxConns, 256, when 0); one more takes the place
	// of an unproved one, else it is closed at once: a connection not
	// proved by a frame whose MAC verified under the ZAK (at most two
	// connections per acquirer) or a verified TLS client certificate,
	// EvictIdle after its last byte before its first frame.
	MaxConns int
	// EvictIdle is how long after its last byte before its first frame an
	// unproved acquirer connection keeps its place at MaxConns
	// (frameserver.DefaultEvictIdle, 2 s, when 0; as long as IdleTimeout or
	// longer: never).
	EvictIdle time.Duration
	// MaxInFlight caps the frames of one connection in hand at once
	// (frameserver.DefaultMaxInFlight when 0).
	MaxInFlight int
	// Keys names the issuer's keys (DefaultKeys when zero).
	Keys Keys
	// Policy is the authorisation policy (authz.DefaultPolicy for zero
	// fields).
	Policy authz.Policy
	// CloudVerifier checks the cryptograms of the cards and tokens served
	// by the issuer's cloud-payment platform (CVN "visa-cloud" or
	// "mc-cloud"; issuerhost/cloud.Verifier over the platform's key
	// ledger). Without it they are declined.
	CloudVerifier authz.CloudVerifier
	// MACOptional lets requests without a MAC through (R-G2 opt-out for an
	// integrator whose acquirer cannot MAC yet): a MAC present is still
	// checked, and a reversal or advice without one is still refused, since
	// it would release a hold on nobody's word. By default every request
	// needs a valid MAC under the ZAK (63 otherwise). Start logs a warning
	// when it is set.
	MACOptional bool
	// Rules, when set, are the host response rules consulted for every
	// authorisation and financial request whose MAC and format are good,
	// before the authorisation engine: a rule's answer replaces the
	// engine's decision (and is MACed like any answer unless the rule
	// corrupts the MAC); a rule may also delay or withhold the answer or
	// close the connection. nil leaves every decision to the engine.
	Rules *rules.Set
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Rand draws authorisation codes (crypto/rand when nil).
	Rand io.Reader
	// Logger receives one line per message, masked; nil discards. Lines a
	// peer can provoke at will (malformed frames, refused connections) are
	// rate-limited: the first is logged, then a count per minute.
	Logger *slog.Logger
}

// ErrClose reports a frame that cannot be answered (no message type, or
// one with no response, such as 9999): the connection it came on is
// closed.
var ErrClose = errors.New("issuerhost: frame cannot be answered")

// Server is the issuer host: the ISO 8583 server in front of the
// authorisation engine and the token vault. It
// answers sign-on, sign-off and echo (0810), authorisations (0100 ->
// 0110, 0200 -> 0210), reversals (0400 -> 0410) and reversal advices
// (0420/0421 -> 0430); every request needs a valid MAC under the ZAK
// (63 without one or with a wrong one, R-G2; Config.MACOptional relaxes
// that for all but reversals) and a malformed message is answered with 30,
// then the server keeps serving.
type Server struct {
	db     *store.DB
	hsm    HSM
	cfg    Config
	log    *slog.Logger
	engine *authz.Engine
	vault  *vault.Vault

	noisy  *frameserver.Limiter // malformed and unanswerable frames (info)
	alarms *frameserver.Limiter // MAC failures (warning)

	mu      sync.Mutex
	srv     *frameserver.Server
	addr    string
	closed  bool
	baseCtx context.Context
	stop    context.CancelFunc

	// ruleCtx ends when Close begins, cutting short the delays of rules.
	ruleCtx  context.Context
	ruleStop context.CancelFunc
}

// New returns a server over the store and security module; Start starts
// listening.
func New(db *store.DB, h HSM, cfg Config) (*Server, error) {
	if db == nil || h == nil {
		return nil, fmt.Errorf("issuerhost: store and security module are required")
	}
	if cfg.Keys == (Keys{}) {
		cfg.Keys = DefaultKeys()
	}
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	eng, err := authz.New(db, h, authz.Config{ZPK: cfg.Keys.ZPK, PVK: cfg.Keys.PVK, Policy: cfg.Policy, Now: cfg.Now, Rand: cfg.Rand,
		Cloud: cfg.CloudVerifier})
	if err != nil {
		return nil, err
	}
	srv := &Server{db: db, hsm: h, cfg: cfg, log: cfg.Logger, engine: eng, vault: vault.New(db, cfg.Now),
		noisy:  &frameserver.Limiter{Logger: cfg.Logger, Level: slog.LevelInfo},
		alarms: &frameserver.Limiter{Logger: cfg.Logger, Level: slog.LevelWarn, Burst: 10}}
	srv.ruleCtx, srv.ruleStop = context.WithCancel(context.Background())
	return srv, nil
}

// Engine returns the authorisation engine.
func (s *Server) Engine() *authz.Engine { return s.engine }

// TestSettingTolerateReplay arms the issuer's replay-tolerance TEST
// SETTING for one cryptogram (authz.Engine.TestSettingTolerateReplay) and
// logs it; the authorisation it lets through is logged too. It is off
// unless a tester asks for it, for the replay of one saved trace.
func (s *Server) TestSettingTolerateReplay(arqc []byte) error {
	if err := s.engine.TestSettingTolerateReplay(arqc); err != nil {
		return err
	}
	s.log.Warn("issuer TEST SETTING armed: the next replay of one cryptogram is tolerated once (R-G4 relaxed)")
	return nil
}

// Vault returns the token service.
func (s *Server) Vault() *vault.Vault { return s.vault }

// Store returns the store.
func (s *Server) Store() *store.DB { return s.db }

// Start listens on the configured address and serves until Close or until
// ctx is done.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.srv != nil {
		return fmt.Errorf("issuerhost: server already started or closed")
	}
	base, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.baseCtx, s.stop = base, stop
	var tcfg *tls.Config
	if s.cfg.TLS != nil {
		tcfg = s.cfg.TLS.Clone()
	}
	srv, err := frameserver.Listen(frameserver.Config{
		Addr: s.cfg.Listen, TLS: tcfg,
		IdleTimeout: s.cfg.IdleTimeout, FrameTimeout: s.cfg.FrameTimeout,
		MaxFrame: s.cfg.MaxFrame, MaxConns: s.cfg.MaxConns, EvictIdle: s.cfg.EvictIdle, MaxInFlight: s.cfg.MaxInFlight,
		Handler: s.serveFrame, Peer: "acquirer", Logger: s.log,
	})
	if err != nil {
		stop()
		return fmt.Errorf("issuerhost: listen: %w", err)
	}
	s.srv, s.addr = srv, srv.Addr().String()
	s.log.Info("issuer host listening", "addr", s.addr, "tls", s.cfg.TLS != nil)
	if s.cfg.MACOptional {
		s.log.Warn("MAC optional: requests without a MAC are authorised on their unauthenticated content (R-G2 off); reversals still need one")
	}
	go func() {
		select {
		case <-ctx.Done():
			_ = s.Close()
		case <-base.Done():
		}
	}()
	return nil
}

// Addr returns the address the server listens on ("" before Start).
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Close stops listening, closes the connections and waits for the
// requests in progress (whose state is committed) to finish. The store and
// security module stay open.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	srv := s.srv
	s.mu.Unlock()
	s.ruleStop()
	if srv != nil {
		// Stops reading and waits for the requests in hand to be answered.
		_ = srv.Close()
	}
	if s.stop != nil {
		s.stop()
	}
	s.noisy.Flush()
	s.alarms.Flush()
	return nil
}

// NetStats returns the listener's counters (zero before Start).
func (s *Server) NetStats() frameserver.Stats {
	s.mu.Lock()
	srv := s.srv
	s.mu.Unlock()
	if srv == nil {
		return frameserver.Stats{}
	}
	return srv.Stats()
}

// serveFrame is the listener's handler: one frame in, its answer out; a
// frame that cannot be answered closes the connection.
func (s *Server) serveFrame(ctx context.Context, frame []byte) ([]byte, bool) {
	resp, err := s.HandleFrame(frameserver.Carry(s.baseCtx, ctx), frame)
	if errors.Is(err, errHangUp) {
		return nil, true
	}
	if err != nil {
		if !errors.Is(err, ErrClose) {
			s.log.Warn("issuer frame not answered, closing the connection", "error", err.Error())
		}
		return nil, true
	}
	return resp, false
}

// HandleFrame is the message entry: one packed message in (length header
// excluded), its packed answer out. A malformed message, and a response
// sent to the host (0110...), is answered with 30 in the response type of
// its class, echoing what can be read of DE7, DE11 and DE41 (isospec.Peek)
// and MACed under the ZAK; a frame whose type has no response (no digits,
// 9999) gives an error wrapping ErrClose. Each such frame is logged,
// rate-limited. It never panics and reads nothing past frame.
func (s *Server) HandleFrame(ctx context.Context, frame []byte) ([]byte, error) {
	msg, err := isospec.Unpack(frame)
	if err != nil {
		return s.malformed(frame, err)
	}
	mtiS, _ := msg.GetMTI()
	mti := isospec.MTI(mtiS)
	if !mti.IsRequest() {
		return s.unexpected(frame, mti)
	}
	// A request that carries a MAC gets a MACed answer, whatever it is,
	// so that the sender can trust the answer.
	macked := msg.GetField(isospec.FieldMAC) != nil || msg.GetField(isospec.FieldMAC2) != nil
	if err := isospec.Validate(msg); err != nil {
		s.noisy.Log("issuer format error", "mti", mtiS, "error", err.Error())
		return s.answer(msg, mti, isospec.RCFormatError, isospec.ReasonFormat, macked)
	}
	switch {
	case macked:
		if err := s.verifyMAC(frame); err != nil {
			s.alarms.Log("issuer MAC check failed", "mti", mtiS, "summary", isospec.Summary(msg), "error", err.Error())
			return s.answer(msg, mti, isospec.RCSecurityViolation, isospec.ReasonMACInvalid, true)
		}
		// The MAC proves the acquirer DE32 names: a newcomer at the
		// connection cap does not take its connection's place (two
		// connections per acquirer ID; a request without DE32 proves
		// nothing).
		if aid, _ := msg.GetString(isospec.FieldAcquirerID); aid != "" {
			frameserver.Vouch(ctx, "acquirer "+aid)
		}
	case !s.cfg.MACOptional || mti.Class() == '4':
		s.alarms.Log("issuer request without MAC refused", "mti", mtiS, "summary", isospec.Summary(msg))
		return s.answer(msg, mti, isospec.RCSecurityViolation, isospec.ReasonMACInvalid, false)
	}
	if mti == isospec.MTIAuthorizationAdvice || mti == isospec.MTIAuthorizationAdviceRepeat {
		return s.standInAdvice(msg, macked)
	}
	switch mti.Class() {
	case '1', '2':
		return s.authorize(ctx, msg, macked)
	case '4':
		return s.reverse(ctx, msg, macked)
	case '8':
		return s.network(msg, macked)
	}
	return s.answer(msg, mti, isospec.RCFormatError, isospec.ReasonFormat, false)
}

// malformed answers a frame that does not parse: 30 in the response type
// of its type, echoing what can be read, else ErrClose.
func (s *Server) malformed(frame []byte, cause error) ([]byte, error) {
	g := isospec.Peek(frame)
	rmti, ok := isospec.ResponseMTI(g.MTI)
	if !ok {
		s.noisy.Log("issuer frame without an answerable message type, connection closed", "bytes", len(frame), "error", cause.Error())
		return nil, fmt.Errorf("%w: %w", ErrClose, cause)
	}
	s.noisy.Log("issuer malformed message", "mti", string(g.MTI), "stan", g.STAN, "error", cause.Error())
	return s.echo(g, rmti, isospec.RCFormatError, isospec.ReasonFormat)
}

// unexpected answers a well-formed message that is not a request: a
// response gets 30 in its own type, echoing its identifiers; a type with
// no response closes the connection.
func (s *Server) unexpected(frame []byte, mti isospec.MTI) ([]byte, error) {
	g := isospec.Peek(frame)
	rmti, ok := isospec.ResponseMTI(mti)
	if !ok {
		s.noisy.Log("issuer message type without a response, connection closed", "mti", string(mti))
		return nil, fmt.Errorf("%w: message type %s", ErrClose, string(mti))
	}
	s.noisy.Log("issuer got a message that is not a request, answered 30", "mti", string(mti), "stan", g.STAN)
	return s.echo(g, rmti, isospec.RCFormatError, isospec.ReasonFormat)
}

// echo is an answer of type rmti with code rc and decline reason reason
// that carries the identifiers read from the request (DE7, DE11, DE41),
// MACed under the ZAK when the key is there.
func (s *Server) echo(g isospec.Glimpse, rmti isospec.MTI, rc isospec.ResponseCode, reason isospec.DeclineReason) ([]byte, error) {
	m, err := g.Answer(rmti, rc, reason)
	if err != nil {
		return nil, fmt.Errorf("issuerhost: %w", err)
	}
	zak, err := s.hsm.Lookup(s.cfg.Keys.ZAK)
	if err != nil {
		return isospec.Pack(m)
	}
	return isospec.PackWithMAC(m, func(data []byte) ([]byte, error) { return s.hsm.GenerateMAC(zak, data) })
}

// answer is a response with code rc and decline reason reason to msg,
// echoing what the message type's response echoes.
func (s *Server) answer(msg *iso8583.Message, mti isospec.MTI, rc isospec.ResponseCode, reason isospec.DeclineReason, mac bool) ([]byte, error) {
	pd, err := isospec.PrivateData{DeclineReason: reason}.Encode()
	if err != nil {
		return nil, fmt.Errorf("issuerhost: %w", err)
	}
	var v any
	switch mti.Class() {
	case '1', '2':
		var req isospec.AuthorizationRequest
		_ = isospec.Decode(msg, &req)
		req.MTI = mti
		r, err := isospec.NewAuthorizationResponse(&req, rc)
		if err != nil {
			return nil, err
		}
		r.PrivateData = pd
		v = r
	case '4':
		var req isospec.ReversalRequest
		_ = isospec.Decode(msg, &req)
		req.MTI = mti
		r, err := isospec.NewReversalResponse(&req, rc)
		if err != nil {
			return nil, err
		}
		r.PrivateData = pd
		v = r
	case '8':
		var req isospec.NetworkManagement
		_ = isospec.Decode(msg, &req)
		req.MTI = mti
		r, err := req.Response(rc)
		if err != nil {
			return nil, err
		}
		r.PrivateData = pd
		v = r
	default:
		rmti, err := mti.Response()
		if err != nil {
			return nil, err
		}
		g := isospec.Glimpse{MTI: mti}
		g.TransmissionDateTime, _ = msg.GetString(isospec.FieldTransmissionDateTime)
		g.STAN, _ = msg.GetString(isospec.FieldSTAN)
		g.TerminalID, _ = msg.GetString(isospec.FieldTerminalID)
		return s.echo(g, rmti, rc, reason)
	}
	return s.pack(v, mac)
}

// pack encodes a typed response, with a MAC under the ZAK when the request
// carried one.
func (s *Server) pack(v any, mac bool) ([]byte, error) {
	m, err := isospec.Encode(v)
	if err != nil {
		// A value echoed from the request does not fit its field: answer
		// with as little as possible rather than not at all.
		return nil, fmt.Errorf("issuerhost: encode response: %w", err)
	}
	if !mac {
		return isospec.Pack(m)
	}
	zak, err := s.hsm.Lookup(s.cfg.Keys.ZAK)
	if err != nil {
		return nil, fmt.Errorf("issuerhost: zone MAC key: %w", err)
	}
	return isospec.PackWithMAC(m, func(data []byte) ([]byte, error) { return s.hsm.GenerateMAC(zak, data) })
}

// verifyMAC checks the frame's MAC under the ZAK.
func (s *Server) verifyMAC(frame []byte) error {
	zak, err := s.hsm.Lookup(s.cfg.Keys.ZAK)
	if err != nil {
		return fmt.Errorf("issuerhost: zone MAC key: %w", err)
	}
	return isospec.VerifyMAC(frame, func(data, mac []byte) error { return s.hsm.VerifyMAC(zak, data, mac) })
}

// authorize runs an 0100 or 0200 through the engine.
func (s *Server) authorize(ctx context.Context, msg *iso8583.Message, mac bool) ([]byte, error) {
	var req isospec.AuthorizationRequest
	if err := isospec.Decode(msg, &req); err != nil {
		return s.answer(msg, isospec.MTIAuthorizationRequest, isospec.RCFormatError, isospec.ReasonFormat, mac)
	}
	ar, err := authzRequest(&req)
	if err != nil {
		return s.answer(msg, req.MTI, isospec.RCFormatError, isospec.ReasonFormat, mac)
	}
	if s.cfg.Rules != nil {
		if rd, ok := s.cfg.Rules.Match(s.ruleRequest(ctx, ar)); ok {
			return s.applyRule(ctx, rd, msg, &req, mac)
		}
	}
	return s.decide(ctx, msg, &req, ar, mac)
}

// decide answers an authorisation with the engine's decision.
func (s *Server) decide(ctx context.Context, msg *iso8583.Message, reqp *isospec.AuthorizationRequest, ar authz.Request, mac bool) ([]byte, error) {
	req := *reqp
	d, err := s.engine.Authorize(ctx, ar)
	if err != nil {
		s.log.Error("issuer authorisation failed", "summary", isospec.Summary(msg), "error", err.Error())
	}
	resp, err := isospec.NewAuthorizationResponse(&req, isospec.ResponseCode(d.Code))
	if err != nil {
		return nil, err
	}
	resp.AuthCode = d.AuthCode
	pd := isospec.PrivateData{DeclineReason: d.Reason.DeclineReason(), DeviceID: d.DeviceID}
	if d.TokenID != "" && ar.PAN != "" {
		pd.TokenRequestorID = tokenRequestor(ctx, s.db, d.TokenID)
	}
	if resp.PrivateData, err = pd.Encode(); err != nil {
		return nil, err
	}
	if len(d.IssuerAuthData) > 0 {
		if resp.ICCData, err = tlv.Encode(0x91, d.IssuerAuthData); err != nil {
			return nil, err
		}
	}
	s.log.Info("issuer authorisation", "mti", string(req.MTI), "stan", req.STAN, "pan", pan.Mask(ar.PAN),
		"amount", ar.Amount, "code", d.Code, "reason", string(d.Reason), "cvm", string(d.CVM))
	if d.ReplayTolerated {
		s.log.Warn("issuer TEST SETTING used: a replayed cryptogram was not refused (R-G4 relaxed once)",
			"stan", req.STAN, "pan", pan.Mask(ar.PAN), "code", d.Code)
	}
	return s.pack(resp, mac)
}

// tokenRequestor returns the token requestor ID of token id, or "".
func tokenRequestor(ctx context.Context, db *store.DB, id string) string {
	var r string
	_ = db.View(ctx, func(tx *store.Tx) error {
		k, err := tx.Token(ctx, id)
		if err == nil && len(k.RequestorID) == 11 {
			r = k.RequestorID
		}
		return nil
	})
	return r
}

// authzRequest maps a decoded 0100/0200 to the engine's request.
func authzRequest(r *isospec.AuthorizationRequest) (authz.Request, error) {
	p, exp := r.PAN, r.Expiry
	if r.Track2 != "" {
		tp, texp, _, err := isospec.SplitTrack2(r.Track2)
		if err != nil {
			return authz.Request{}, err
		}
		// Track 2 equivalent data and DE2/DE14 describe one card: a
		// message whose two copies disagree is not trusted for either.
		switch {
		case p != "" && p != tp:
			return authz.Request{}, fmt.Errorf("issuerhost: track 2 names another PAN than DE2")
		case exp != "" && exp != texp:
			return authz.Request{}, fmt.Errorf("issuerhost: track 2 names another expiry than DE14")
		}
		p, exp = tp, texp
	}
	cur, err := strconv.Atoi(r.Currency)
	if err != nil {
		return authz.Request{}, fmt.Errorf("issuerhost: currency: %w", err)
	}
	psn := r.CardSequenceNumber
	if len(psn) == 3 {
		psn = psn[1:]
	}
	out := authz.Request{
		MTI: string(r.MTI), PAN: p, Expiry: exp, PSN: psn, ProcessingCode: string(r.ProcessingCode),
		Amount: r.Amount, Currency: cur, EntryMode: string(r.POSEntryMode), TransmissionTime: r.TransmissionDateTime,
		STAN: r.STAN, RRN: r.RRN, AcquirerID: r.AcquirerID, TerminalID: r.TerminalID, MerchantID: r.MerchantID,
		ICC: r.ICCData, Track2: r.Track2, PINBlock: r.PINBlock, LocalDate: r.LocalDate, MCC: r.MCC, ConditionCode: r.POSConditionCode,
	}
	if r.PrivateData != "" {
		pd, err := isospec.ParsePrivateData(r.PrivateData)
		if err != nil {
			return authz.Request{}, err
		}
		out.DeviceID = pd.DeviceID
		out.TokenRequestorID = pd.TokenRequestorID
		out.KeyATC, out.HasKeyATC = pd.HCEKeyATC, pd.HasHCEKeyATC
		if pd.CDCVM {
			out.CVM = authz.CVMCDCVM
		}
	}
	return out, nil
}

// reverse runs an 0400, 0420 or 0421 through the engine.
func (s *Server) reverse(ctx context.Context, msg *iso8583.Message, mac bool) ([]byte, error) {
	var req isospec.ReversalRequest
	if err := isospec.Decode(msg, &req); err != nil {
		return s.answer(msg, isospec.MTIReversalRequest, isospec.RCFormatError, isospec.ReasonFormat, mac)
	}
	od, err := isospec.ParseOriginalData(req.OriginalData)
	if err != nil {
		return s.answer(msg, req.MTI, isospec.RCFormatError, isospec.ReasonFormat, mac)
	}
	cur, _ := strconv.Atoi(req.Currency)
	d, err := s.engine.Reverse(ctx, authz.Reversal{
		MTI: string(req.MTI), Original: authz.OriginalKey(string(od.MTI), od.STAN, od.TransmissionDateTime, od.AcquirerID),
		PAN: req.PAN, Amount: req.Amount, Currency: cur, STAN: req.STAN, RRN: req.RRN, TerminalID: req.TerminalID,
		MerchantID: req.MerchantID, AcquirerID: req.AcquirerID, TransmissionTime: req.TransmissionDateTime,
	})
	if err != nil {
		s.log.Error("issuer reversal failed", "summary", isospec.Summary(msg), "error", err.Error())
	}
	resp, err := isospec.NewReversalResponse(&req, isospec.ResponseCode(d.Code))
	if err != nil {
		return nil, err
	}
	if dr := d.Reason.DeclineReason(); dr != "" {
		if resp.PrivateData, err = (isospec.PrivateData{DeclineReason: dr}).Encode(); err != nil {
			return nil, err
		}
	}
	s.log.Info("issuer reversal", "mti", string(req.MTI), "stan", req.STAN, "pan", pan.Mask(req.PAN),
		"code", d.Code, "outcome", string(d.Reason))
	return s.pack(resp, mac)
}

// network answers sign-on, sign-off and echo; key change is not offered
// on this link (12).
func (s *Server) network(msg *iso8583.Message, mac bool) ([]byte, error) {
	var req isospec.NetworkManagement
	if err := isospec.Decode(msg, &req); err != nil {
		return s.answer(msg, isospec.MTINetworkRequest, isospec.RCFormatError, isospec.ReasonFormat, mac)
	}
	rc := isospec.RCApproved
	var reason isospec.DeclineReason
	switch req.NetworkCode {
	case isospec.NetSignOn, isospec.NetSignOff, isospec.NetEcho:
	case isospec.NetKeyChange:
		rc, reason = isospec.RCInvalidTransaction, isospec.ReasonKeyChange
	default:
		rc, reason = isospec.RCInvalidTransaction, isospec.ReasonTransactionNotAllowed
	}
	resp, err := req.Response(rc)
	if err != nil {
		return nil, err
	}
	if reason != "" {
		if resp.PrivateData, err = (isospec.PrivateData{DeclineReason: reason}).Encode(); err != nil {
			return nil, err
		}
	}
	s.log.Info("issuer network management", "code", string(req.NetworkCode), "name", req.NetworkCode.Name(), "rc", string(rc))
	return s.pack(resp, mac)
}
