package tsm

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/tapsim/tapsim/emv/gp"
	"github.com/tapsim/tapsim/emv/scp03"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/provision/wire"
)

// DefaultISD is the GlobalPlatform default AID of the Issuer Security
// Domain, where the SE TSM reads the CPLC.
var DefaultISD = []byte{0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00}

// Binding is an SE the SE operator registered for a device and phone
// number (R-S3a).
type Binding struct {
	SEID        string
	DeviceID    string
	PhoneNumber string
}

// MaxOTPAttempts is the number of wrong one-time codes that cancels an
// order.
const MaxOTPAttempts = 3

// DefaultOTPTTL is how long a one-time code is good for, as the issuer's
// ID&V codes (R-G3c).
const DefaultOTPTTL = 5 * time.Minute

// SEConfig configures an SE TSM.
type SEConfig struct {
	// Party is the SE TSM's JOSE identity; Trust holds the SP TSMs and
	// issuers it accepts envelopes from.
	Party *wire.Party
	Trust *wire.TrustList
	// SPTSMs are the names of the SP TSMs allowed to hand orders over;
	// Issuers those whose download scripts it runs.
	SPTSMs  []string
	Issuers []string
	// BackOfficePeers are the client certificate names the back-office
	// listener accepts (R-S4b); any certificate of the trusted CA when
	// empty.
	BackOfficePeers []string
	// ISD is where the CPLC is read; DefaultISD when nil.
	ISD []byte
	// Vault and DEK keep the sealed scripts waiting for their device
	// encrypted at rest under a key the security module holds and never
	// releases (R-S4a, R-S4f); both required.
	Vault hsm.Data
	DEK   hsm.Handle
	// SessionTTL ends an OTA session whose agent is silent that long;
	// PendingTTL erases an order no device opened within it. 5 minutes and
	// 24 hours when 0.
	SessionTTL, PendingTTL time.Duration
	// OTPTTL is how long after the order's hand-over the cardholder's
	// one-time code is accepted, as the issuer's ID&V codes are; later
	// the order is cancelled as expired. DefaultOTPTTL when 0; an issuer
	// seals the script for at least that long.
	OTPTTL time.Duration
	// Now and Rand: the clock and the random source (session IDs, host
	// challenges).
	Now  func() time.Time
	Rand io.Reader
	// Logger gets one line per step, no data; none when nil.
	Logger *slog.Logger
}

// SETSM is the SE TSM: the SE operator's registry of designated SEs, the
// store of sealed scripts waiting for their device, and the OTA relay.
type SETSM struct {
	cfg    SEConfig
	replay *wire.MemoryReplayCache
	log    Log

	mu       sync.Mutex
	bindings map[string]Binding // by device
	pending  map[string]*pending
	sessions map[string]*otaSession
	closed   map[string]bool
	done     map[string]bool   // SEID|SSD personalised
	status   map[string]string // order -> status or outcome
	stop     chan struct{}
	wg       sync.WaitGroup
}

type pending struct {
	order    Order // Script empty: it is in sealed
	sealed   []byte
	attempts int
	at       time.Time
}

// sweep ends the silent OTA sessions and erases the stale orders; s.mu
// held.
func (s *SETSM) sweep() {
	now := s.cfg.Now()
	for dev, p := range s.pending {
		if now.Sub(p.at) > s.cfg.PendingTTL {
			delete(s.pending, dev)
			s.status[p.order.OrderID] = "expired"
			s.log.add(Entry{At: now, Order: p.order.OrderID, SEID: p.order.SEID, Step: "order", Outcome: "expired"})
		}
	}
	for id, x := range s.sessions {
		if now.Sub(x.last) > s.cfg.SessionTTL {
			close(x.abort)
			delete(s.sessions, id)
			s.closed[id] = true
			s.status[x.order.OrderID] = "expired"
			s.log.add(Entry{At: now, Order: x.order.OrderID, SEID: x.order.SEID, Step: "download", Outcome: "expired"})
		}
	}
}

// NewSETSM makes an SE TSM.
func NewSETSM(cfg SEConfig) (*SETSM, error) {
	if cfg.Party == nil || cfg.Trust == nil || cfg.Now == nil || cfg.Rand == nil || cfg.Vault == nil {
		return nil, errors.New("tsm: SE TSM needs a party, a trust list, a security module, a clock and a random source")
	}
	if cfg.ISD == nil {
		cfg.ISD = DefaultISD
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 5 * time.Minute
	}
	if cfg.PendingTTL <= 0 {
		cfg.PendingTTL = 24 * time.Hour
	}
	if cfg.OTPTTL <= 0 {
		cfg.OTPTTL = DefaultOTPTTL
	}
	return &SETSM{cfg: cfg, replay: wire.NewMemoryReplayCache(4096), bindings: map[string]Binding{},
		pending: map[string]*pending{}, sessions: map[string]*otaSession{}, closed: map[string]bool{},
		done: map[string]bool{}, status: map[string]string{}, stop: make(chan struct{})}, nil
}

// Register records the SE the operator issued to a device (R-S3a).
func (s *SETSM) Register(b Binding) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bindings[b.DeviceID] = b
}

// RegisterBy is Register done by a TSM operator, who must log in (R-S4c);
// the attempt is audited either way, by the operator's name (R-S4d).
func (s *SETSM) RegisterBy(a *Accounts, operator, password string, b Binding) error {
	if err := a.Login(operator, password); err != nil {
		s.log.add(Entry{At: s.cfg.Now(), Order: "-", SEID: b.SEID, Step: "register by " + operator, Outcome: loginReason(err)})
		return err
	}
	s.Register(b)
	s.log.add(Entry{At: s.cfg.Now(), Order: "-", SEID: b.SEID, Step: "register by " + operator, Outcome: "registered"})
	return nil
}

// Log is the transaction log (R-S4d).
func (s *SETSM) Log() []Entry { return s.log.Entries() }

// Close ends the running OTA sessions.
func (s *SETSM) Close() {
	s.mu.Lock()
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// Dump is everything the SE TSM keeps about orders (R-G5g: after a
// download, no personalisation data).
func (s *SETSM) Dump() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for id, p := range s.pending {
		out = append(out, fmt.Sprintf("pending %s %s%x", id, p.order.Script, p.sealed))
	}
	for id, x := range s.sessions {
		out = append(out, fmt.Sprintf("session %s %s%x", id, x.order.Script, x.sealed))
	}
	return out
}

func (s *SETSM) record(order, seid, step, outcome string) {
	s.log.add(Entry{At: s.cfg.Now(), Order: order, SEID: seid, Step: step, Outcome: outcome})
	if s.cfg.Logger != nil {
		s.cfg.Logger.Info("se tsm", "order", order, "se", seid, "step", step, "outcome", outcome)
	}
}

func (s *SETSM) openFrom(r *wire.Request, typ string, v interface{ Validate() error }) (wire.Claims, error) {
	if !peerAllowed(r, s.cfg.BackOfficePeers) {
		return wire.Claims{}, errPeer
	}
	c, err := wire.OpenInto(string(r.Body), s.cfg.Party, s.cfg.Trust, wire.Expect{Type: typ, Replay: s.replay, Clock: s.cfg.Now}, v)
	if err != nil {
		return c, err
	}
	ok := false
	for _, n := range s.cfg.SPTSMs {
		ok = ok || n == c.Issuer
	}
	if !ok {
		return c, wire.ErrIssuer
	}
	return c, v.Validate()
}

// Validate checks a Check.
func (c Check) Validate() error {
	if !seidRE.MatchString(c.SEID) || !idRE.MatchString(c.DeviceID) || !phoneRE.MatchString(c.PhoneNumber) {
		return fmt.Errorf("%w: check", wire.ErrInvalid)
	}
	return nil
}

func (s *SETSM) designated(c Check) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.bindings[c.DeviceID]
	return ok && b.SEID == c.SEID && b.PhoneNumber == c.PhoneNumber
}

// BackOffice is the handler of the listener the SP TSMs reach (R-S4b):
// POST /check and POST /handover, JOSE from an SP TSM.
func (s *SETSM) BackOffice() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/check", wire.Handle(func(r *wire.Request) (wire.Response, error) {
		var c Check
		if _, err := s.openFrom(r, TypeCheck, &c); err != nil {
			return wire.Response{}, err
		}
		if !s.designated(c) {
			s.record("-", c.SEID, "check", ReasonNotDesignated)
			return wire.Response{}, errNotDesignated
		}
		return wire.JSONResponse(http.StatusOK, Result{Status: "designated"})
	}, wire.HandlerOptions{Log: s.cfg.Logger}))
	mux.Handle("/status", wire.Handle(func(r *wire.Request) (wire.Response, error) {
		var q StatusQuery
		if _, err := s.openFrom(r, TypeStatus, &q); err != nil {
			return wire.Response{}, err
		}
		s.mu.Lock()
		st, ok := s.status[q.OrderID]
		s.mu.Unlock()
		if !ok {
			st = StatusUnknown
		}
		return wire.JSONResponse(http.StatusOK, Result{OrderID: q.OrderID, Status: st})
	}, wire.HandlerOptions{Log: s.cfg.Logger}))
	mux.Handle("/handover", wire.Handle(func(r *wire.Request) (wire.Response, error) {
		var o Order
		if _, err := s.openFrom(r, TypeHandover, &o); err != nil {
			return wire.Response{}, err
		}
		if !s.designated(Check{SEID: o.SEID, DeviceID: o.DeviceID, PhoneNumber: o.PhoneNumber}) {
			s.record(o.OrderID, o.SEID, "handover", ReasonNotDesignated)
			return wire.Response{}, errNotDesignated
		}
		s.mu.Lock()
		if s.done[o.SEID+"|"+o.SSD] {
			s.mu.Unlock()
			s.record(o.OrderID, o.SEID, "handover", ReasonAlreadyDone)
			return wire.Response{}, errAlreadyDone
		}
		sealed, err := sealAtRest(s.cfg.Vault, s.cfg.DEK, s.cfg.Rand, []byte(o.Script), []byte(o.OrderID))
		if err != nil {
			s.mu.Unlock()
			return wire.Response{}, err
		}
		o.Script = ""
		s.pending[o.DeviceID] = &pending{order: o, sealed: sealed, at: s.cfg.Now()}
		s.status[o.OrderID] = StatusWaiting
		s.mu.Unlock()
		s.record(o.OrderID, o.SEID, "handover", "waiting for device")
		return wire.JSONResponse(http.StatusAccepted, Result{OrderID: o.OrderID, Status: "waiting"})
	}, wire.HandlerOptions{Log: s.cfg.Logger}))
	return mux
}

// OTA is the handler of the listener the phones' OTA agents reach: POST
// /open then POST /step until done, JSON.
func (s *SETSM) OTA() http.Handler {
	mux := http.NewServeMux()
	opt := wire.HandlerOptions{MediaTypes: []string{wire.MediaJSON}, MaxBody: 4 << 10, Log: s.cfg.Logger}
	mux.Handle("/open", wire.Handle(func(r *wire.Request) (wire.Response, error) {
		var m OTAOpen
		if err := strictDecode(r.Body, &m); err != nil {
			return wire.Response{}, err
		}
		next, err := s.open(m, peerID(r))
		if err != nil {
			return wire.Response{}, err
		}
		return wire.JSONResponse(http.StatusOK, next)
	}, opt))
	mux.Handle("/step", wire.Handle(func(r *wire.Request) (wire.Response, error) {
		var m OTAStep
		if err := strictDecode(r.Body, &m); err != nil {
			return wire.Response{}, err
		}
		next, err := s.step(m, peerID(r))
		if err != nil {
			return wire.Response{}, err
		}
		return wire.JSONResponse(http.StatusOK, next)
	}, opt))
	return mux
}

// OTPCheck is the Order.OTPCheck of a one-time code.
func OTPCheck(orderID, otp string) string {
	h := sha256.Sum256([]byte(orderID + "|" + otp))
	return hex.EncodeToString(h[:])
}

// peerID names the client certificate of a request.
func peerID(r *wire.Request) string {
	h := sha256.Sum256(r.Peer.Raw)
	return hex.EncodeToString(h[:])
}

func (s *SETSM) open(m OTAOpen, peer string) (OTANext, error) {
	if !idRE.MatchString(m.DeviceID) || !idRE.MatchString(m.OrderID) || len(m.OTP) > 16 {
		return OTANext{}, fmt.Errorf("%w: open", wire.ErrInvalid)
	}
	s.mu.Lock()
	s.sweep()
	p, ok := s.pending[m.DeviceID]
	if !ok || p.order.OrderID != m.OrderID {
		s.mu.Unlock()
		return OTANext{}, errNoOrder
	}
	if s.cfg.Now().Sub(p.at) > s.cfg.OTPTTL {
		delete(s.pending, m.DeviceID)
		s.status[m.OrderID] = ReasonOTPExpired
		s.mu.Unlock()
		s.record(m.OrderID, p.order.SEID, "cardholder verification", ReasonOTPExpired)
		return OTANext{}, errOTPExpired
	}
	sum := OTPCheck(m.OrderID, m.OTP)
	if subtle.ConstantTimeCompare([]byte(sum), []byte(p.order.OTPCheck)) != 1 {
		p.attempts++
		if p.attempts >= MaxOTPAttempts {
			delete(s.pending, m.DeviceID)
			s.status[m.OrderID] = ReasonOTPLocked
			s.mu.Unlock()
			s.record(m.OrderID, p.order.SEID, "cardholder verification", ReasonOTPLocked)
			return OTANext{}, errOTPLocked
		}
		s.mu.Unlock()
		s.record(m.OrderID, p.order.SEID, "cardholder verification", ReasonOTP)
		return OTANext{}, errOTP
	}
	delete(s.pending, m.DeviceID)
	id := make([]byte, 16)
	if _, err := io.ReadFull(s.cfg.Rand, id); err != nil {
		s.mu.Unlock()
		return OTANext{}, err
	}
	x := &otaSession{id: hex.EncodeToString(id), order: p.order, sealed: p.sealed, cmd: make(chan []byte), resp: make(chan []byte), end: make(chan string, 1),
		abort: make(chan struct{}), last: s.cfg.Now(), peer: peer}
	s.sessions[x.id] = x
	s.status[m.OrderID] = StatusDownloading
	s.wg.Add(1)
	s.mu.Unlock()
	s.record(m.OrderID, p.order.SEID, "cardholder verification", "verified")
	go func() {
		defer s.wg.Done()
		x.end <- s.run(x)
	}()
	return s.next(x)
}

// next waits for the runner's next command or its end.
func (s *SETSM) next(x *otaSession) (OTANext, error) {
	select {
	case c := <-x.cmd:
		x.step++
		return OTANext{Session: x.id, Step: x.step, Command: hex.EncodeToString(c)}, nil
	case <-x.abort:
		return OTANext{}, errOTAClosed
	case out := <-x.end:
		s.mu.Lock()
		delete(s.sessions, x.id)
		s.closed[x.id] = true
		if out == ReasonPersonalised {
			s.done[x.order.SEID+"|"+x.order.SSD] = true
		}
		s.status[x.order.OrderID] = out
		s.mu.Unlock()
		s.record(x.order.OrderID, x.order.SEID, "download", out)
		return OTANext{Session: x.id, Step: x.step, Done: true, Outcome: out}, nil
	}
}

func (s *SETSM) step(m OTAStep, peer string) (OTANext, error) {
	rapdu, err := hex.DecodeString(m.Response)
	if err != nil || len(rapdu) < 2 || len(rapdu) > 258 || len(m.Session) != 32 {
		return OTANext{}, fmt.Errorf("%w: step", wire.ErrInvalid)
	}
	s.mu.Lock()
	s.sweep()
	x, ok := s.sessions[m.Session]
	closed := s.closed[m.Session]
	if ok && x.peer != peer {
		s.mu.Unlock()
		s.record(x.order.OrderID, x.order.SEID, fmt.Sprintf("OTA step %d", m.Step), ReasonPeer)
		return OTANext{}, errPeer
	}
	if ok {
		x.last = s.cfg.Now()
	}
	s.mu.Unlock()
	if !ok {
		if closed {
			return OTANext{}, errOTAClosed
		}
		return OTANext{}, errNoOrder
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if m.Step != x.step || x.answered == x.step {
		s.record(x.order.OrderID, x.order.SEID, fmt.Sprintf("OTA step %d", m.Step), ReasonOTAReplay)
		return OTANext{}, errOTAReplay
	}
	x.answered = x.step
	select {
	case x.resp <- rapdu:
	case <-s.stop:
		return OTANext{}, errOTAClosed
	case <-x.abort:
		return OTANext{}, errOTAClosed
	}
	return s.next(x)
}

// otaSession is one download in progress: the runner goroutine drives the
// GlobalPlatform sessions and its transport hands each command to the
// agent's next request.
type otaSession struct {
	id       string
	order    Order
	sealed   []byte
	cmd      chan []byte
	resp     chan []byte
	end      chan string
	mu       sync.Mutex
	step     int
	answered int
	last     time.Time // s.mu
	abort    chan struct{}
	// peer is the client certificate that opened the session: every step
	// comes with the same one.
	peer string
}

var errStopped = errors.New("tsm: stopped")

func (s *SETSM) run(x *otaSession) string {
	transport := func(c []byte) ([]byte, error) {
		select {
		case x.cmd <- c:
		case <-s.stop:
			return nil, errStopped
		case <-x.abort:
			return nil, errStopped
		}
		select {
		case r := <-x.resp:
			return r, nil
		case <-s.stop:
			return nil, errStopped
		case <-x.abort:
			return nil, errStopped
		}
	}
	o := x.order
	cplc, err := gp.ReadCPLC(transport, s.cfg.ISD)
	if err != nil {
		return ReasonTransport
	}
	if cplc.SEID() != o.SEID {
		return ReasonNotDesignated
	}
	// The script is opened only now, for the SE it is meant for (R-S4f).
	s.mu.Lock()
	sealed := x.sealed
	x.sealed = nil
	s.mu.Unlock()
	tok, err := openAtRest(s.cfg.Vault, s.cfg.DEK, sealed, []byte(o.OrderID))
	if err != nil {
		return ReasonScript
	}
	var sc Script
	c, err := wire.OpenInto(string(tok), s.cfg.Party, s.cfg.Trust, wire.Expect{Type: TypeScript, Replay: s.replay, Clock: s.cfg.Now}, &sc)
	if err != nil {
		return wire.RefusalFor(err).Reason
	}
	// Only an issuer writes scripts: an SP TSM cannot forge one.
	if !slices.Contains(s.cfg.Issuers, c.Issuer) {
		return wire.ReasonIssuer
	}
	if err := sc.Validate(); err != nil {
		return ReasonScript
	}
	if sc.OrderID != o.OrderID || sc.SEID != cplc.SEID() || sc.OTPCheck != o.OTPCheck {
		return ReasonScriptMismatch
	}
	for i, ss := range sc.Sessions {
		sd, _ := hex.DecodeString(ss.SD)
		ks, _ := ss.keys()
		sess, err := gp.Open(transport, gp.Config{SD: sd, KeyVersion: ss.KVN, Keys: ks, Level: scp03.LevelCMACCDecRMAC, Rand: s.cfg.Rand})
		if err != nil {
			s.record(o.OrderID, o.SEID, fmt.Sprintf("open session %d", i+1), "failed")
			return classify(err, 0)
		}
		s.record(o.OrderID, o.SEID, fmt.Sprintf("open session %d on %X", i+1, sd), "open")
		if i == 0 {
			// The SE's identity again, now under R-MAC: the agent cannot
			// have made it up (R-S3a).
			b, err := sess.GetData(gp.TagCPLC)
			if err != nil {
				return classify(err, 0xCA)
			}
			c, err := gp.ParseCPLC(b)
			if err != nil || c.SEID() != o.SEID {
				return ReasonNotDesignated
			}
		}
		for _, cmd := range ss.Commands {
			b, _ := hex.DecodeString(cmd.APDU)
			what := gp.Describe(b)
			if _, err := sess.Send(what, b); err != nil {
				s.record(o.OrderID, o.SEID, what, "failed")
				return classify(err, b[1])
			}
			s.record(o.OrderID, o.SEID, what, "9000")
		}
		sess.Close()
	}
	return ReasonPersonalised
}

// classify names a failed GlobalPlatform step.
func classify(err error, ins byte) string {
	var se *gp.StatusError
	switch {
	case errors.Is(err, scp03.ErrCryptogram):
		return ReasonCardCryptogram
	case errors.Is(err, scp03.ErrMAC), errors.Is(err, scp03.ErrResponse):
		return ReasonBadRMAC
	case errors.As(err, &se):
		switch {
		case se.Cmd == "INITIALIZE UPDATE" && se.SW == 0x6A88:
			return ReasonKeyVersion
		case se.Cmd == "EXTERNAL AUTHENTICATE":
			return ReasonHostCryptogram
		case se.SW == 0x6982:
			return ReasonBadMAC
		case ins == 0xE2 && se.SW == 0x6A86:
			return ReasonOutOfOrder
		case se.SW == 0x6985 && (ins == 0xE2 || ins == 0xE6):
			return ReasonSSDWritten
		}
		return fmt.Sprintf("%s_%04x", ReasonSERefused, se.SW)
	}
	return ReasonTransport
}

func strictDecode(b []byte, v any) error {
	d := jsonDecoder(bytes.NewReader(b))
	if err := d.Decode(v); err != nil || d.More() {
		return fmt.Errorf("%w: body", wire.ErrMalformed)
	}
	return nil
}
