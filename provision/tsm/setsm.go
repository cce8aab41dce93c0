package tsm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sort"
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
	// ISDKeys are the SE operator's keys of the SE's Issuer Security
	// Domain, with which the SE TSM creates an issuer's SSD on a shared SE
	// (R-M2); kept sealed under the security module's key. Nil on an SE
	// the issuer owns: its SE TSM then only relays.
	ISDKeys *Keys `json:"-"`
}

// String names the binding, never its keys.
func (b Binding) String() string { return "SE " + b.SEID + " of device " + b.DeviceID }

// GoString is String.
func (b Binding) GoString() string { return b.String() }

// binding is a Binding as kept: the ISD keys sealed.
type binding struct {
	Binding
	ISD []byte `json:"isd,omitempty"`
}

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
	// Registrars are the names of the SE operator's systems allowed to
	// register SEs with their ISD keys over the back office (POST
	// /register, sealed and signed, R-G5e).
	Registrars []string
	// BackOfficePeers are the client certificate names the back-office
	// listener accepts (R-S4b); any certificate of the trusted CA when
	// empty.
	BackOfficePeers []string
	// ISD is where the CPLC is read and, on a shared SE, the SSD created;
	// DefaultISD when nil.
	ISD []byte
	// SPTSMURLs are the SP TSMs' listeners by name, where the SE TSM
	// relays each download to the SP TSM that runs it; Client reaches them
	// with the SE TSM's certificate.
	SPTSMURLs map[string]string
	Client    *wire.Client
	// NewKeys draws the initial key set of an SSD the SE TSM creates on
	// the shared SE seid; from Rand when nil.
	NewKeys func(seid string) (scp03.StaticKeys, error)
	// Vault and DEK keep the operator's ISD keys encrypted at rest under a
	// key the security module holds and never releases (R-S4a, R-S4f);
	// both required.
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
	// SweepEvery is how often the TTLs are applied without a request;
	// SweepInterval when 0.
	SweepEvery time.Duration
	// Store keeps the SE TSM's state and log; a MemoryStore when nil.
	Store Store
	// Now and Rand: the clock and the random source (session IDs, host
	// challenges).
	Now  func() time.Time
	Rand io.Reader
	// Logger gets one line per step, no data; none when nil.
	Logger *slog.Logger
}

// SETSM is the SE TSM: the SE operator's registry of designated SEs, the
// orders waiting for their device, and the OTA relay. It holds no key of
// an issuer's security domain: the SP TSM secures every command to it, the
// SE TSM passes them to the phone's agent and the responses back.
type SETSM struct {
	cfg    SEConfig
	replay *wire.MemoryReplayCache
	log    Log

	mu       sync.Mutex
	bindings *pmap[binding]  // by device
	pending  *pmap[*pending] // by device
	sessions map[string]*otaSession
	closed   map[string]bool
	done     *pmap[bool]   // SEID|SSD personalised
	status   *pmap[string] // order -> status or outcome
	stop     chan struct{}
	wg       sync.WaitGroup
}

type pending struct {
	Order Order     `json:"order"` // no script: the SP TSM keeps it
	SP    string    `json:"sp"`
	At    time.Time `json:"at"`
}

// sweep ends the silent OTA sessions and erases the stale orders; s.mu
// held.
func (s *SETSM) sweep() {
	now := s.cfg.Now()
	for dev, p := range s.pending.m {
		if now.Sub(p.At) > s.cfg.PendingTTL {
			s.pending.del(dev)
			s.status.set(p.Order.OrderID, "expired")
			s.log.add(Entry{At: now, Order: p.Order.OrderID, SEID: p.Order.SEID, Step: "order", Outcome: "expired"})
		}
	}
	for id, x := range s.sessions {
		if now.Sub(x.last) > s.cfg.SessionTTL {
			x.cancel()
			delete(s.sessions, id)
			s.closed[id] = true
			s.status.set(x.order.OrderID, "expired")
			s.log.add(Entry{At: now, Order: x.order.OrderID, SEID: x.order.SEID, Step: "download", Outcome: "expired"})
		}
	}
}

// NewSETSM makes an SE TSM.
func NewSETSM(cfg SEConfig) (*SETSM, error) {
	if cfg.Party == nil || cfg.Trust == nil || cfg.Now == nil || cfg.Rand == nil || cfg.Vault == nil || cfg.Client == nil {
		return nil, errors.New("tsm: SE TSM needs a party, a trust list, a security module, a client, a clock and a random source")
	}
	if cfg.NewKeys == nil {
		rnd := cfg.Rand
		cfg.NewKeys = func(string) (scp03.StaticKeys, error) { return RandomKeys(rnd) }
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
	if cfg.Store == nil {
		cfg.Store = NewMemoryStore()
	}
	s := &SETSM{cfg: cfg, replay: wire.NewMemoryReplayCache(4096), sessions: map[string]*otaSession{}, closed: map[string]bool{},
		stop: make(chan struct{})}
	var err error
	if s.bindings, err = newPmap[binding](cfg.Store, "binding", s.storeErr); err != nil {
		return nil, err
	}
	if s.pending, err = newPmap[*pending](cfg.Store, "pending", s.storeErr); err != nil {
		return nil, err
	}
	if s.done, err = newPmap[bool](cfg.Store, "done", s.storeErr); err != nil {
		return nil, err
	}
	if s.status, err = newPmap[string](cfg.Store, "status", s.storeErr); err != nil {
		return nil, err
	}
	if err := reopen(s.status, &s.log, cfg.Store, s.storeErr); err != nil {
		return nil, err
	}
	startSweeper(&s.wg, s.stop, s.cfg.SweepEvery, &s.mu, s.sweep)
	return s, nil
}

// storeErr reports a store that failed to keep a change.
func (s *SETSM) storeErr(err error) {
	if s.cfg.Logger != nil {
		s.cfg.Logger.Error("se tsm: store", "err", err)
	}
}

// Register records the SE the operator issued to a device (R-S3a), its
// ISD keys, if any, sealed under the security module's key.
func (s *SETSM) Register(b Binding) error {
	kept := binding{Binding: b}
	if b.ISDKeys != nil {
		plain, err := json.Marshal(HandOver(s.cfg.ISD, *b.ISDKeys))
		if err != nil {
			return err
		}
		if kept.ISD, err = sealAtRest(s.cfg.Vault, s.cfg.DEK, s.cfg.Rand, plain, []byte("isd|"+b.SEID)); err != nil {
			return err
		}
		clear(plain)
		kept.ISDKeys = nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bindings.set(b.DeviceID, kept)
	return nil
}

// isdKeys opens the operator's ISD keys of a binding.
func (s *SETSM) isdKeys(b binding) (Keys, error) {
	if b.ISD == nil {
		return Keys{}, errSealed
	}
	plain, err := openAtRest(s.cfg.Vault, s.cfg.DEK, b.ISD, []byte("isd|"+b.SEID))
	if err != nil {
		return Keys{}, err
	}
	defer clear(plain)
	var k SSDKeys
	if err := json.Unmarshal(plain, &k); err != nil {
		return Keys{}, err
	}
	return k.Keys()
}

// RegisterBy is Register done by a TSM operator, who must log in (R-S4c);
// the attempt is audited either way, by the operator's name (R-S4d).
func (s *SETSM) RegisterBy(a *Accounts, operator, password string, b Binding) error {
	if err := a.Login(operator, password); err != nil {
		s.log.add(Entry{At: s.cfg.Now(), Order: "-", SEID: b.SEID, Step: "register by " + operator, Outcome: loginReason(err)})
		return err
	}
	if err := s.Register(b); err != nil {
		return err
	}
	s.log.add(Entry{At: s.cfg.Now(), Order: "-", SEID: b.SEID, Step: "register by " + operator, Outcome: "registered"})
	return nil
}

// Log is the transaction log (R-S4d).
func (s *SETSM) Log() []Entry { return s.log.Entries() }

// Close ends the running OTA sessions.
func (s *SETSM) Close() {
	stopAll(&s.mu, s.stop, &s.wg)
}

// Dump is everything the SE TSM keeps about orders in progress (R-G5g:
// after a download, nothing).
func (s *SETSM) Dump() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for id, p := range s.pending.m {
		out = append(out, fmt.Sprintf("pending %s %+v", id, p.Order))
	}
	for id, x := range s.sessions {
		out = append(out, fmt.Sprintf("session %s %+v", id, x.order))
	}
	sort.Strings(out)
	return out
}

// State is everything the SE TSM keeps, as stored: the bindings with their
// sealed ISD keys, the orders in progress and how every order ended
// (tests: no key of an issuer's security domain is among it, R-M2).
func (s *SETSM) State() []string {
	out := s.Dump()
	s.mu.Lock()
	defer s.mu.Unlock()
	for dev, b := range s.bindings.m {
		out = append(out, fmt.Sprintf("binding %s %s %s isd-sealed %x", dev, b.SEID, b.PhoneNumber, b.ISD))
	}
	for id, st := range s.status.m {
		out = append(out, "order "+id+" "+st)
	}
	for k := range s.done.m {
		out = append(out, "personalised "+k)
	}
	sort.Strings(out)
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
	b, ok := s.bindings.m[c.DeviceID]
	return ok && b.SEID == c.SEID && b.PhoneNumber == c.PhoneNumber
}

// handover is an Order as handed over: without its script.
type handover Order

func (h *handover) Validate() error { return Order(*h).ValidateHandover() }

// ReasonNoOperatorKeys refuses a shared SE's order when the SE operator
// registered no ISD keys to create the SSD with.
const ReasonNoOperatorKeys = "no_operator_isd_keys"

var errNoOperatorKeys = refuse(http.StatusConflict, ReasonNoOperatorKeys, "the SE operator holds no ISD keys of this SE")

// TypeRegister: SE operator to SE TSM, an SE issued to a device.
const TypeRegister = "tsm.register"

// Registration is an SE the SE operator issued, sealed to the SE TSM.
type Registration struct {
	SEID        string   `json:"se_id"`
	DeviceID    string   `json:"device_id"`
	PhoneNumber string   `json:"phone_number"`
	ISD         *SSDKeys `json:"isd_keys,omitempty"`
}

// String never shows keys.
func (r Registration) String() string { return "registration of SE " + r.SEID }

// GoString is String.
func (r Registration) GoString() string { return r.String() }

// Validate checks the form.
func (r Registration) Validate() error {
	if err := (Check{SEID: r.SEID, DeviceID: r.DeviceID, PhoneNumber: r.PhoneNumber}).Validate(); err != nil {
		return err
	}
	if r.ISD != nil && r.ISD.Validate() != nil {
		return fmt.Errorf("%w: ISD keys", wire.ErrInvalid)
	}
	return nil
}

// BackOffice is the handler of the listener the SP TSMs reach (R-S4b):
// POST /check, /status and /handover, JOSE from an SP TSM, and POST
// /register, JOSE from the SE operator's registrars.
func (s *SETSM) BackOffice() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/register", wire.Handle(func(r *wire.Request) (wire.Response, error) {
		if !peerAllowed(r, s.cfg.BackOfficePeers) {
			return wire.Response{}, errPeer
		}
		var reg Registration
		c, err := wire.OpenInto(string(r.Body), s.cfg.Party, s.cfg.Trust, wire.Expect{Type: TypeRegister, Replay: s.replay, Clock: s.cfg.Now}, &reg)
		if err != nil {
			return wire.Response{}, err
		}
		if !slices.Contains(s.cfg.Registrars, c.Issuer) {
			return wire.Response{}, wire.ErrIssuer
		}
		if err := reg.Validate(); err != nil {
			return wire.Response{}, err
		}
		b := Binding{SEID: reg.SEID, DeviceID: reg.DeviceID, PhoneNumber: reg.PhoneNumber}
		if reg.ISD != nil {
			k, _ := reg.ISD.Keys()
			b.ISDKeys = &k
		}
		if err := s.Register(b); err != nil {
			return wire.Response{}, err
		}
		s.record("-", reg.SEID, "register by "+c.Issuer, "registered")
		return wire.JSONResponse(http.StatusOK, Result{Status: "registered"})
	}, wire.HandlerOptions{Log: s.cfg.Logger}))
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
		st, ok := s.status.m[q.OrderID]
		s.mu.Unlock()
		if !ok {
			st = StatusUnknown
		}
		return wire.JSONResponse(http.StatusOK, Result{OrderID: q.OrderID, Status: st})
	}, wire.HandlerOptions{Log: s.cfg.Logger}))
	mux.Handle("/handover", wire.Handle(func(r *wire.Request) (wire.Response, error) {
		var h handover
		c, err := s.openFrom(r, TypeHandover, &h)
		if err != nil {
			return wire.Response{}, err
		}
		o := Order(h)
		if !s.designated(Check{SEID: o.SEID, DeviceID: o.DeviceID, PhoneNumber: o.PhoneNumber}) {
			s.record(o.OrderID, o.SEID, "handover", ReasonNotDesignated)
			return wire.Response{}, errNotDesignated
		}
		if _, ok := s.cfg.SPTSMURLs[c.Issuer]; !ok {
			return wire.Response{}, wire.ErrIssuer
		}
		s.mu.Lock()
		if o.Shared && s.bindings.m[o.DeviceID].ISD == nil {
			s.mu.Unlock()
			s.record(o.OrderID, o.SEID, "handover", ReasonNoOperatorKeys)
			return wire.Response{}, errNoOperatorKeys
		}
		if s.done.m[o.SEID+"|"+o.SSD] {
			s.mu.Unlock()
			s.record(o.OrderID, o.SEID, "handover", ReasonAlreadyDone)
			return wire.Response{}, errAlreadyDone
		}
		s.pending.set(o.DeviceID, &pending{Order: o, SP: c.Issuer, At: s.cfg.Now()})
		s.status.set(o.OrderID, StatusWaiting)
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
		next, err := s.open(r.HTTP.Context(), m, peerID(r))
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

// peerID names the client certificate of a request.
func peerID(r *wire.Request) string {
	h := sha256.Sum256(r.Peer.Raw)
	return hex.EncodeToString(h[:])
}

// verifyAtSP passes the cardholder's code to the SP TSM that handed the
// order over, for the issuer's ID&V.
func (s *SETSM) verifyAtSP(ctx context.Context, p *pending, otp string) error {
	url, ok := s.cfg.SPTSMURLs[p.SP]
	if !ok {
		return wire.ErrIssuer
	}
	tok, err := wire.Seal(VerifyOTP{OrderID: p.Order.OrderID, OTP: otp}, s.cfg.Party, mustParty(s.cfg.Trust, p.SP),
		wire.Header{Type: TypeVerify, Clock: s.cfg.Now, Rand: s.cfg.Rand})
	if err != nil {
		return err
	}
	_, _, err = s.cfg.Client.Post(ctx, url+"/verify", wire.MediaJOSE, []byte(tok))
	return err
}

func (s *SETSM) open(ctx context.Context, m OTAOpen, peer string) (OTANext, error) {
	if !idRE.MatchString(m.DeviceID) || !idRE.MatchString(m.OrderID) || len(m.OTP) > 16 {
		return OTANext{}, fmt.Errorf("%w: open", wire.ErrInvalid)
	}
	s.mu.Lock()
	s.sweep()
	p, ok := s.pending.m[m.DeviceID]
	if !ok || p.Order.OrderID != m.OrderID {
		s.mu.Unlock()
		return OTANext{}, errNoOrder
	}
	if s.cfg.Now().Sub(p.At) > s.cfg.OTPTTL {
		s.pending.del(m.DeviceID)
		s.status.set(m.OrderID, ReasonOTPExpired)
		s.mu.Unlock()
		s.record(m.OrderID, p.Order.SEID, "cardholder verification", ReasonOTPExpired)
		return OTANext{}, errOTPExpired
	}
	// The issuer's ID&V checks the code, through the SP TSM.
	s.mu.Unlock()
	if err := s.verifyAtSP(ctx, p, m.OTP); err != nil {
		ref := wire.RefusalFor(err)
		s.record(m.OrderID, p.Order.SEID, "cardholder verification by the issuer", ref.Reason)
		if ref.Reason != ReasonOTPWrong {
			s.mu.Lock()
			if s.pending.m[m.DeviceID] == p {
				s.pending.del(m.DeviceID)
				s.status.set(m.OrderID, ref.Reason)
			}
			s.mu.Unlock()
		}
		return OTANext{}, ref
	}
	s.mu.Lock()
	if s.pending.m[m.DeviceID] != p {
		s.mu.Unlock()
		return OTANext{}, errNoOrder
	}
	s.pending.del(m.DeviceID)
	id := make([]byte, 16)
	if _, err := io.ReadFull(s.cfg.Rand, id); err != nil {
		s.mu.Unlock()
		return OTANext{}, err
	}
	x := &otaSession{stepper: newStepper(s.stop), id: hex.EncodeToString(id), order: p.Order, sp: p.SP, last: s.cfg.Now(), peer: peer}
	s.sessions[x.id] = x
	s.status.set(m.OrderID, StatusDownloading)
	s.wg.Add(1)
	s.mu.Unlock()
	s.record(m.OrderID, p.Order.SEID, "cardholder verification", "verified")
	go func() {
		defer s.wg.Done()
		x.end <- s.run(x)
	}()
	return s.next(x)(x.first())
}

// next turns the stepper's answer into the agent's.
func (s *SETSM) next(x *otaSession) func(cmd []byte, step int, out string, err error) (OTANext, error) {
	return func(cmd []byte, step int, out string, err error) (OTANext, error) {
		if err != nil {
			return OTANext{}, err
		}
		if cmd != nil {
			return OTANext{Session: x.id, Step: step, Command: hex.EncodeToString(cmd)}, nil
		}
		s.mu.Lock()
		delete(s.sessions, x.id)
		s.closed[x.id] = true
		if out == ReasonPersonalised {
			s.done.set(x.order.SEID+"|"+x.order.SSD, true)
		}
		s.status.set(x.order.OrderID, out)
		s.mu.Unlock()
		s.record(x.order.OrderID, x.order.SEID, "download", out)
		return OTANext{Session: x.id, Step: step, Done: true, Outcome: out}, nil
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
	next, err := s.next(x)(x.answer(m.Step, rapdu))
	if errors.Is(err, errOTAReplay) {
		s.record(x.order.OrderID, x.order.SEID, fmt.Sprintf("OTA step %d", m.Step), ReasonOTAReplay)
	}
	return next, err
}

// otaSession is one download in progress: the runner goroutine drives the
// GlobalPlatform sessions and its transport hands each command to the
// agent's next request.
type otaSession struct {
	*stepper
	id    string
	order Order
	sp    string    // the SP TSM that runs the download
	last  time.Time // s.mu
	// peer is the client certificate that opened the session: every step
	// comes with the same one.
	peer string
}

func (s *SETSM) run(x *otaSession) string {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-x.abort:
		case <-s.stop:
		case <-ctx.Done():
		}
		cancel()
	}()
	transport := x.transport
	o := x.order
	cplc, err := gp.ReadCPLC(transport, s.cfg.ISD)
	if err != nil {
		return ReasonTransport
	}
	if cplc.SEID() != o.SEID {
		return ReasonNotDesignated
	}
	start := Relay{OrderID: o.OrderID}
	if o.Shared {
		hand, reason := s.createSSD(transport, o)
		if reason != "" {
			return reason
		}
		start.Initial = &hand
	}
	return s.relayDownload(ctx, x, start)
}

// createSSD is the SE operator's own session on a shared SE (R-M2): in its
// ISD, under its keys, it checks the SE's identity under R-MAC, creates
// the issuer's SSD and puts a fresh initial key set there, which it hands
// to the SP TSM and forgets: the SP TSM replaces it with the issuer's.
func (s *SETSM) createSSD(t gp.Transport, o Order) (SSDKeys, string) {
	s.mu.Lock()
	b := s.bindings.m[o.DeviceID]
	s.mu.Unlock()
	isd, err := s.isdKeys(b)
	if err != nil {
		return SSDKeys{}, ReasonNoOperatorKeys
	}
	ssd, _ := hex.DecodeString(o.SSD)
	sess, err := gp.Open(t, gp.Config{SD: s.cfg.ISD, KeyVersion: isd.KVN, Keys: isd.Keys, Level: scp03.LevelCMACCDecRMAC, Rand: s.cfg.Rand})
	if err != nil {
		s.record(o.OrderID, o.SEID, "open the ISD", "failed")
		return SSDKeys{}, classify(err, 0)
	}
	defer sess.Close()
	s.record(o.OrderID, o.SEID, fmt.Sprintf("open the operator's session on %X", s.cfg.ISD), "open")
	raw, err := sess.GetData(gp.TagCPLC)
	if err != nil {
		return SSDKeys{}, classify(err, 0xCA)
	}
	if c, err := gp.ParseCPLC(raw); err != nil || c.SEID() != o.SEID {
		return SSDKeys{}, ReasonNotDesignated
	}
	if err := sess.InstallApplet(gp.SDLoadFile, gp.SDModule, ssd, []byte{gp.PrivSecurityDomain}, []byte(o.Owner), true); err != nil {
		s.record(o.OrderID, o.SEID, "INSTALL [for install] of the SSD", "failed")
		return SSDKeys{}, classify(err, 0xE6)
	}
	s.record(o.OrderID, o.SEID, fmt.Sprintf("INSTALL [for install] of SSD %X", ssd), "9000")
	if err := sess.Personalize(ssd); err != nil {
		return SSDKeys{}, classify(err, 0xE6)
	}
	initial, err := s.cfg.NewKeys(o.SEID)
	if err != nil {
		return SSDKeys{}, ReasonTransport
	}
	ks := Keys{KVN: InitialKVN, Keys: initial}
	if err := sess.PutKey(0, ks.KVN, ks.Keys); err != nil {
		s.record(o.OrderID, o.SEID, "PUT KEY of the initial key set", "failed")
		return SSDKeys{}, classify(err, 0xD8)
	}
	s.record(o.OrderID, o.SEID, fmt.Sprintf("PUT KEY: initial key set %02X of SSD %X, handed to the SP TSM", ks.KVN, ssd), "9000")
	return HandOver(ssd, ks), ""
}

// InitialKVN is the key version of the initial key set the SE TSM puts in
// an SSD it creates.
const InitialKVN = 0x30

// relayDownload passes the SP TSM's secured commands to the SE and the
// SE's responses back until the SP TSM ends the download.
func (s *SETSM) relayDownload(ctx context.Context, x *otaSession, req Relay) string {
	o := x.order
	url, ok := s.cfg.SPTSMURLs[x.sp]
	if !ok {
		return wire.ReasonIssuer
	}
	to := mustParty(s.cfg.Trust, x.sp)
	abort := func() {
		actx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _ = s.relayPost(actx, url, to, Relay{OrderID: o.OrderID, Abort: true})
	}
	for i := 0; i <= MaxRelaySteps; i++ {
		next, err := s.relayPost(ctx, url, to, req)
		req.Initial = nil
		if err != nil {
			if ctx.Err() != nil {
				abort()
				return ReasonTransport
			}
			return wire.RefusalFor(err).Reason
		}
		if next.OrderID != o.OrderID || (!next.Done && next.Step != req.Step+1) {
			abort()
			return ReasonTransport
		}
		if next.Done {
			return next.Outcome
		}
		cmd, _ := hex.DecodeString(next.Command)
		resp, err := x.transport(cmd)
		if err != nil || len(resp) < 2 {
			abort()
			return ReasonTransport
		}
		s.record(o.OrderID, o.SEID, "relay "+gp.Describe(cmd), fmt.Sprintf("%02X%02X", resp[len(resp)-2], resp[len(resp)-1]))
		req = Relay{OrderID: o.OrderID, Step: next.Step, Response: hex.EncodeToString(resp)}
	}
	abort()
	return ReasonTransport
}

// relayPost seals req to the SP TSM, posts it and opens the answer.
func (s *SETSM) relayPost(ctx context.Context, url string, to wire.PublicKeys, req Relay) (RelayNext, error) {
	tok, err := wire.Seal(req, s.cfg.Party, to, wire.Header{Type: TypeRelay, Clock: s.cfg.Now, Rand: s.cfg.Rand})
	if err != nil {
		return RelayNext{}, err
	}
	ans, err := s.cfg.Client.PostEnvelope(ctx, url+"/relay", tok)
	if err != nil {
		return RelayNext{}, err
	}
	var next RelayNext
	c, err := wire.OpenInto(ans, s.cfg.Party, s.cfg.Trust, wire.Expect{Type: TypeRelayNext, Replay: s.replay, Clock: s.cfg.Now}, &next)
	if err != nil {
		return RelayNext{}, err
	}
	if _, ok := s.cfg.SPTSMURLs[c.Issuer]; !ok || c.Issuer != to.Name {
		return RelayNext{}, wire.ErrIssuer
	}
	return next, next.Validate()
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
