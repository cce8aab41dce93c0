package issuerhost

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/moov-io/iso8583"
	connection "github.com/moov-io/iso8583-connection"
	"github.com/moov-io/iso8583-connection/server"

	"github.com/tapsim/tapsim/emv/pan"
	"github.com/tapsim/tapsim/emv/tlv"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/isospec/tlsconf"
	"github.com/tapsim/tapsim/issuerhost/authz"
	"github.com/tapsim/tapsim/issuerhost/cloud"
	"github.com/tapsim/tapsim/issuerhost/store"
	"github.com/tapsim/tapsim/issuerhost/vault"
)

// Keys names the issuer's keys in its security module.
type Keys struct {
	ZPK string // zone PIN key, acquirer to issuer (online PINs arrive under it)
	ZAK string // zone MAC key, acquirer to issuer (DE64/DE128)
	PVK string // PIN verification key (Visa PVV)
	KEK string // transport key of the HCE phones' single-use keys
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
	// handshake fails is logged (one line) and closed; the others go on.
	TLS *tls.Config
	// Keys names the issuer's keys (DefaultKeys when zero).
	Keys Keys
	// Policy is the authorisation policy (authz.DefaultPolicy for zero
	// fields).
	Policy authz.Policy
	// Cloud configures the HCE cloud platform; its KEK defaults to
	// Keys.KEK.
	Cloud cloud.Config
	// MACOptional lets requests without a MAC through (R-G2 opt-out for an
	// integrator whose acquirer cannot MAC yet): a MAC present is still
	// checked, and a reversal or advice without one is still refused, since
	// it would release a hold on nobody's word. By default every request
	// needs a valid MAC under the ZAK (63 otherwise). Start logs a warning
	// when it is set.
	MACOptional bool
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Rand draws authorisation codes (crypto/rand when nil).
	Rand io.Reader
	// Logger receives one line per message, masked; nil discards.
	Logger *slog.Logger
}

// ErrClose reports a frame that cannot be answered (no readable message
// type): the connection it came on is closed.
var ErrClose = errors.New("issuerhost: frame cannot be answered")

// Server is the issuer host: the ISO 8583 server in front of the
// authorisation engine, the token vault and the HCE cloud platform. It
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
	cloud  *cloud.Platform

	raw sync.Map // *iso8583.Message (stand-in) -> []byte (the frame)

	mu       sync.Mutex
	srv      *server.Server
	addr     string
	closed   bool
	inflight sync.WaitGroup
	baseCtx  context.Context
	stop     context.CancelFunc
	// handshakes ends the TLS handshakes under way when the server closes.
	handshakes context.Context
	endShakes  context.CancelFunc
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
	if cfg.Cloud.KEK == "" {
		cfg.Cloud.KEK = cfg.Keys.KEK
	}
	if cfg.Cloud.Now == nil {
		cfg.Cloud.Now = cfg.Now
	}
	eng, err := authz.New(db, h, authz.Config{ZPK: cfg.Keys.ZPK, PVK: cfg.Keys.PVK, Policy: cfg.Policy, Now: cfg.Now, Rand: cfg.Rand})
	if err != nil {
		return nil, err
	}
	cp, err := cloud.New(db, h, cfg.Cloud)
	if err != nil {
		return nil, err
	}
	return &Server{db: db, hsm: h, cfg: cfg, log: cfg.Logger, engine: eng, vault: vault.New(db, cfg.Now), cloud: cp}, nil
}

// Engine returns the authorisation engine.
func (s *Server) Engine() *authz.Engine { return s.engine }

// Vault returns the token service.
func (s *Server) Vault() *vault.Vault { return s.vault }

// Cloud returns the HCE cloud platform.
func (s *Server) Cloud() *cloud.Platform { return s.cloud }

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
	opts := []connection.Option{
		connection.SetMessageReader(frameReader{s}),
		connection.InboundMessageHandler(s.onMessage),
		connection.ErrorHandler(func(err error) { s.log.Debug("issuer connection", "error", err.Error()) }),
	}
	srv := server.New(isospec.Spec, isospec.ReadMessageLength, isospec.WriteMessageLength, opts...)
	if s.cfg.TLS != nil {
		tcfg := s.cfg.TLS.Clone()
		s.handshakes, s.endShakes = context.WithCancel(context.Background())
		hs := s.handshakes
		_ = srv.SetOptions(server.WithConnectionFactory(func(nc net.Conn) (*connection.Connection, error) {
			tc, err := tlsconf.Accept(hs, nc, tcfg, 0)
			if err != nil {
				if hs.Err() == nil {
					s.log.Warn("acquirer connection refused", "error", err.Error())
				}
				return nil, fmt.Errorf("issuerhost: %w", err)
			}
			s.log.Debug("acquirer connection secured", "remote", nc.RemoteAddr().String(), "tls", tlsconf.Describe(tc.ConnectionState()))
			return connection.NewFrom(tc, isospec.Spec, isospec.ReadMessageLength, isospec.WriteMessageLength, opts...)
		}))
	}
	if err := srv.Start(s.cfg.Listen); err != nil {
		stop()
		if s.endShakes != nil {
			s.endShakes()
		}
		return fmt.Errorf("issuerhost: listen: %w", err)
	}
	s.srv, s.addr = srv, srv.Addr
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
	endShakes := s.endShakes
	s.mu.Unlock()
	if endShakes != nil {
		endShakes()
	}
	if srv != nil {
		srv.Close()
	}
	s.inflight.Wait()
	if s.stop != nil {
		s.stop()
	}
	return nil
}

// frameReader reads one frame per message. It hands the connection a
// stand-in message and keeps the frame's bytes for onMessage, which
// parses them under the dialect's strict rules: a malformed frame is then
// answered (30) instead of being dropped.
type frameReader struct{ s *Server }

// standInMTI never looks like a response to the connection, so every
// frame reaches the inbound handler.
const standInMTI = "0000"

func (f frameReader) ReadMessage(r io.Reader) (*iso8583.Message, error) {
	b, err := isospec.ReadFrame(r)
	if err != nil {
		return nil, err
	}
	m := isospec.NewMessage()
	m.MTI(standInMTI)
	f.s.raw.Store(m, b)
	return m, nil
}

// onMessage answers one frame on its connection.
func (s *Server) onMessage(c *connection.Connection, m *iso8583.Message) {
	v, ok := s.raw.LoadAndDelete(m)
	if !ok {
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.inflight.Add(1)
	ctx := s.baseCtx
	s.mu.Unlock()
	defer s.inflight.Done()

	resp, err := s.HandleFrame(ctx, v.([]byte))
	if err != nil {
		s.log.Warn("issuer frame not answered, closing the connection", "error", err.Error())
		_ = c.Close()
		return
	}
	if resp == nil {
		return
	}
	frame := make([]byte, 0, isospec.HeaderLen+len(resp))
	frame = append(frame, byte(len(resp)>>8), byte(len(resp)))
	frame = append(frame, resp...)
	if _, err := c.Write(frame); err != nil {
		s.log.Warn("issuer response not sent", "error", err.Error())
	}
}

// HandleFrame is the message entry: one packed message in (length header
// excluded), its packed answer out. A malformed message is answered with
// 30; a frame with no readable request type gives ErrClose; a message the
// host does not answer (a response) gives nil and no error. It never
// panics and reads nothing past frame.
func (s *Server) HandleFrame(ctx context.Context, frame []byte) ([]byte, error) {
	msg, err := isospec.Unpack(frame)
	if err != nil {
		return s.malformed(frame, err)
	}
	mtiS, _ := msg.GetMTI()
	mti := isospec.MTI(mtiS)
	if !mti.IsRequest() {
		s.log.Debug("issuer ignores a non-request", "mti", mtiS)
		return nil, nil
	}
	// A request that carries a MAC gets a MACed answer, whatever it is,
	// so that the sender can trust the answer.
	macked := msg.GetField(isospec.FieldMAC) != nil || msg.GetField(isospec.FieldMAC2) != nil
	if err := isospec.Validate(msg); err != nil {
		s.log.Info("issuer format error", "mti", mtiS, "error", err.Error())
		return s.answer(msg, mti, isospec.RCFormatError, isospec.ReasonFormat, macked)
	}
	switch {
	case macked:
		if err := s.verifyMAC(frame); err != nil {
			s.log.Warn("issuer MAC check failed", "mti", mtiS, "summary", isospec.Summary(msg), "error", err.Error())
			return s.answer(msg, mti, isospec.RCSecurityViolation, isospec.ReasonMACInvalid, true)
		}
	case !s.cfg.MACOptional || mti.Class() == '4':
		s.log.Warn("issuer request without MAC refused", "mti", mtiS, "summary", isospec.Summary(msg))
		return s.answer(msg, mti, isospec.RCSecurityViolation, isospec.ReasonMACInvalid, false)
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

// malformed answers a frame that does not parse: 30 with the response
// type of its request type when that can be read, else ErrClose.
func (s *Server) malformed(frame []byte, cause error) ([]byte, error) {
	if len(frame) < 4 {
		return nil, fmt.Errorf("%w: %d bytes", ErrClose, len(frame))
	}
	mti := isospec.MTI(frame[:4])
	rmti, err := mti.Response()
	if err != nil || !mti.Known() {
		return nil, fmt.Errorf("%w: %v", ErrClose, cause)
	}
	s.log.Info("issuer malformed message", "mti", string(mti), "error", cause.Error())
	m := isospec.NewMessage()
	m.MTI(string(rmti))
	if err := m.Field(isospec.FieldResponseCode, string(isospec.RCFormatError)); err != nil {
		return nil, fmt.Errorf("issuerhost: %w", err)
	}
	if pd, err := (isospec.PrivateData{DeclineReason: isospec.ReasonFormat}).Encode(); err == nil {
		_ = m.Field(isospec.FieldPrivateData, pd)
	}
	return isospec.Pack(m)
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
		m := isospec.NewMessage()
		m.MTI(string(rmti))
		_ = m.Field(isospec.FieldResponseCode, string(rc))
		_ = m.Field(isospec.FieldPrivateData, pd)
		return isospec.Pack(m)
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
		ICC: r.ICCData, PINBlock: r.PINBlock, LocalDate: r.LocalDate, MCC: r.MCC, ConditionCode: r.POSConditionCode,
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
