package tsm

import (
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tapsim/tapsim/emv/gp"
	"github.com/tapsim/tapsim/emv/scp03"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/provision/wire"
)

// SPConfig configures an SP TSM.
type SPConfig struct {
	// Party is the SP TSM's JOSE identity; Trust holds the issuers and the
	// SE TSM.
	Party *wire.Party
	Trust *wire.TrustList
	// Issuers are the names of the issuers it takes orders from.
	Issuers []string
	// Peers are the client certificate names the order path accepts;
	// SETSMPeers those the relay path accepts (the SE TSM's); any
	// certificate of the trusted CA when empty.
	Peers      []string
	SETSMPeers []string
	// SETSM is the SE TSM's name; SETSMURL its back-office listener; Client
	// the mutually authenticated client that reaches it.
	SETSM    string
	SETSMURL string
	Client   *wire.Client
	// Vault and DEK keep the issuer's scripts, and the keys in them,
	// enciphered at rest under a key the security module holds and never
	// releases (R-S4a, R-S4f); both required.
	Vault hsm.Data
	DEK   hsm.Handle
	// SessionTTL ends a download whose SE TSM is silent that long;
	// OrderTTL erases a script whose download did not start within it. 5
	// and 6 minutes when 0 (the cardholder's code is good for 5).
	SessionTTL, OrderTTL time.Duration
	// SweepEvery is how often the TTLs are applied without a request;
	// SweepInterval when 0.
	SweepEvery time.Duration
	// Store keeps the SP TSM's state and log; a MemoryStore when nil.
	Store Store
	// SEAuthority, when set, is the key of the authority that certifies
	// SEs' key-agreement keys: on a shared SE the SP TSM then rotates the
	// operator's initial key set with a confidential key setup
	// (gp.PutKeyAgreedCmd), which the SE TSM cannot read even with the
	// initial keys and a recording of the session; an SE without a valid
	// certificate is refused se_certificate. Without it, the new set
	// travels under the initial K-DEK.
	SEAuthority *ecdsa.PublicKey
	// Verifier is the issuer's ID&V, which checks the cardholder's
	// one-time code of each download (R-S3c); without it every order is
	// refused issuer_idv_required.
	Verifier CardholderVerifier
	Now      func() time.Time
	Rand     io.Reader
	Logger   *slog.Logger
}

// SPTSM is the service provider's TSM: it takes the issuer's orders,
// passes them to the SE TSM once the SE is confirmed, and, holding the
// issuer's keys, runs the SCP03 sessions to the issuer's security domain
// itself: the SE TSM only relays the secured commands (R-M2).
type SPTSM struct {
	cfg    SPConfig
	replay *wire.MemoryReplayCache
	log    Log

	mu      sync.Mutex
	status  *pmap[string]   // order -> status, nothing else
	written *pmap[string]   // SEID|SSD and device -> order: one set each (R-S4e)
	orders  *pmap[*spOrder] // waiting for their download, script sealed
	relays  map[string]*relaySession
	stop    chan struct{}
	wg      sync.WaitGroup
}

// spOrder is an order handed over, its script sealed at rest.
type spOrder struct {
	Order    Order     `json:"order"` // Script empty
	Sealed   []byte    `json:"sealed"`
	At       time.Time `json:"at"`
	Verified bool      `json:"verified,omitempty"` // by the issuer's ID&V
}

// relaySession is the SP TSM's side of one download.
type relaySession struct {
	*stepper
	order Order
	last  time.Time // SPTSM.mu
}

// NewSPTSM makes an SP TSM.
func NewSPTSM(cfg SPConfig) (*SPTSM, error) {
	if cfg.Party == nil || cfg.Trust == nil || cfg.Client == nil || cfg.Now == nil || cfg.Rand == nil || cfg.SETSM == "" || cfg.Vault == nil {
		return nil, errors.New("tsm: SP TSM needs a party, a trust list, a client, a security module, a clock, a random source and the SE TSM")
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 5 * time.Minute
	}
	if cfg.OrderTTL <= 0 {
		cfg.OrderTTL = DefaultOTPTTL + time.Minute
	}
	if cfg.Store == nil {
		cfg.Store = NewMemoryStore()
	}
	s := &SPTSM{cfg: cfg, replay: wire.NewMemoryReplayCache(4096), relays: map[string]*relaySession{}, stop: make(chan struct{})}
	var err error
	if s.status, err = newPmap[string](cfg.Store, "status", s.storeErr); err != nil {
		return nil, err
	}
	if s.written, err = newPmap[string](cfg.Store, "written", s.storeErr); err != nil {
		return nil, err
	}
	if s.orders, err = newPmap[*spOrder](cfg.Store, "order", s.storeErr); err != nil {
		return nil, err
	}
	if err := reopen(s.status, &s.log, cfg.Store, s.storeErr); err != nil {
		return nil, err
	}
	startSweeper(&s.wg, s.stop, s.cfg.SweepEvery, &s.mu, s.sweep)
	return s, nil
}

// storeErr reports a store that failed to keep a change.
func (s *SPTSM) storeErr(err error) {
	if s.cfg.Logger != nil {
		s.cfg.Logger.Error("sp tsm: store", "err", err)
	}
}

// StoreKinds are the record kinds a TSM's Store holds.
var StoreKinds = []string{"status", "written", "order", "binding", "pending", "done"}

// Log is the transaction log (R-S4d).
func (s *SPTSM) Log() []Entry { return s.log.Entries() }

// Close ends the running downloads.
func (s *SPTSM) Close() {
	stopAll(&s.mu, s.stop, &s.wg)
}

// Dump is everything the SP TSM keeps: order statuses, and the scripts
// still waiting for their download, sealed (R-G5g: after a download,
// nothing of it).
func (s *SPTSM) Dump() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for id, st := range s.status.m {
		out = append(out, id+" "+st)
	}
	for id, p := range s.orders.m {
		out = append(out, fmt.Sprintf("script %s %x", id, p.Sealed))
	}
	for id := range s.relays {
		out = append(out, "download "+id)
	}
	sort.Strings(out)
	return out
}

func (s *SPTSM) record(o Order, step, outcome string) {
	s.log.add(Entry{At: s.cfg.Now(), Order: o.OrderID, SEID: o.SEID, Step: step, Outcome: outcome})
	if s.cfg.Logger != nil {
		s.cfg.Logger.Info("sp tsm", "order", o.OrderID, "se", o.SEID, "step", step, "outcome", outcome)
	}
}

// Refusals of the SP TSM on an order's script.
var (
	errScriptMismatch = refuse(http.StatusBadRequest, ReasonScriptMismatch, "the script was written for another order or SE")
	errScript         = refuse(http.StatusBadRequest, ReasonScript, "the download script breaks its rules")
)

// Handler serves POST /order (JOSE, from an issuer), and POST /verify
// (the cardholder's code for the issuer's ID&V) and POST /relay (each
// step of a download), JOSE from the SE TSM.
func (s *SPTSM) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/order", wire.Handle(func(r *wire.Request) (wire.Response, error) {
		if !peerAllowed(r, s.cfg.Peers) {
			return wire.Response{}, errPeer
		}
		var o Order
		c, err := wire.OpenInto(string(r.Body), s.cfg.Party, s.cfg.Trust, wire.Expect{Type: TypeOrder, Replay: s.replay, Clock: s.cfg.Now}, &o)
		if err != nil {
			return wire.Response{}, err
		}
		if !slices.Contains(s.cfg.Issuers, c.Issuer) {
			return wire.Response{}, wire.ErrIssuer
		}
		if err := o.Validate(); err != nil {
			return wire.Response{}, err
		}
		if err := s.take(r.HTTP.Context(), o); err != nil {
			return wire.Response{}, err
		}
		return wire.JSONResponse(http.StatusAccepted, Result{OrderID: o.OrderID, Status: "handed over"})
	}, wire.HandlerOptions{Log: s.cfg.Logger}))
	mux.Handle("/verify", wire.Handle(func(r *wire.Request) (wire.Response, error) {
		var m VerifyOTP
		if err := s.openFromSETSM(r, TypeVerify, &m); err != nil {
			return wire.Response{}, err
		}
		if err := s.verify(r.HTTP.Context(), m); err != nil {
			return wire.Response{}, err
		}
		return wire.JSONResponse(http.StatusOK, Result{OrderID: m.OrderID, Status: "verified"})
	}, wire.HandlerOptions{Log: s.cfg.Logger}))
	mux.Handle("/relay", wire.Handle(func(r *wire.Request) (wire.Response, error) {
		var m Relay
		if err := s.openFromSETSM(r, TypeRelay, &m); err != nil {
			return wire.Response{}, err
		}
		next, err := s.relay(m)
		if err != nil {
			return wire.Response{}, err
		}
		tok, err := wire.Seal(next, s.cfg.Party, mustParty(s.cfg.Trust, s.cfg.SETSM), wire.Header{Type: TypeRelayNext, Clock: s.cfg.Now, Rand: s.cfg.Rand})
		if err != nil {
			return wire.Response{}, err
		}
		return wire.EnvelopeResponse(tok), nil
	}, wire.HandlerOptions{Log: s.cfg.Logger}))
	return mux
}

// openFromSETSM opens into m the request of type typ that the SE TSM
// sealed, from one of its peers, and checks it.
func (s *SPTSM) openFromSETSM(r *wire.Request, typ string, m interface{ Validate() error }) error {
	if !peerAllowed(r, s.cfg.SETSMPeers) {
		return errPeer
	}
	c, err := wire.OpenInto(string(r.Body), s.cfg.Party, s.cfg.Trust, wire.Expect{Type: typ, Replay: s.replay, Clock: s.cfg.Now}, m)
	if err != nil {
		return err
	}
	if c.Issuer != s.cfg.SETSM {
		return wire.ErrIssuer
	}
	return m.Validate()
}

// script opens the order's script, checks it is the issuer's, for this
// order and SE, and seals it at rest.
func (s *SPTSM) script(o Order) ([]byte, error) {
	var sc Script
	c, err := wire.OpenInto(o.Script, s.cfg.Party, s.cfg.Trust, wire.Expect{Type: TypeScript, Replay: s.replay, Clock: s.cfg.Now}, &sc)
	if err != nil {
		return nil, err
	}
	// Only an issuer writes scripts: the issuer of the order.
	if !slices.Contains(s.cfg.Issuers, c.Issuer) {
		return nil, wire.ErrIssuer
	}
	if sc.Validate() != nil {
		return nil, errScript
	}
	if sc.OrderID != o.OrderID || sc.SEID != o.SEID || (sc.Rotate != nil) != o.Shared ||
		(sc.Rotate != nil && !strings.EqualFold(sc.Rotate.SSD, o.SSD)) {
		return nil, errScriptMismatch
	}
	plain, err := json.Marshal(sc)
	if err != nil {
		return nil, err
	}
	return sealAtRest(s.cfg.Vault, s.cfg.DEK, s.cfg.Rand, plain, []byte("sp-script|"+o.OrderID))
}

func (s *SPTSM) take(ctx context.Context, o Order) error {
	s.record(o, "order", "received")
	if s.cfg.Verifier == nil {
		s.record(o, "order", ReasonIDVRequired)
		return errIDVRequired
	}
	if o.Shared && !o.IssuerConsent {
		s.record(o, "order", ReasonNoConsent)
		return errNoConsent
	}
	sealed, err := s.script(o)
	if err != nil {
		s.record(o, "order", wire.RefusalFor(err).Reason)
		return err
	}
	o.Script = ""
	key, dev := "se|"+o.SEID+"|"+o.SSD, "device|"+o.DeviceID
	for _, k := range []string{key, dev} {
		if err := s.free(ctx, o, k); err != nil {
			return err
		}
	}
	s.mu.Lock()
	if s.written.m[key] != "" || s.written.m[dev] != "" || s.orders.m[o.OrderID] != nil || s.relays[o.OrderID] != nil {
		s.mu.Unlock()
		s.record(o, "order", ReasonInProgress)
		return errInProgress
	}
	s.written.set(key, o.OrderID)
	s.written.set(dev, o.OrderID)
	s.orders.set(o.OrderID, &spOrder{Order: o, Sealed: sealed, At: s.cfg.Now()})
	s.mu.Unlock()
	release := func() {
		s.mu.Lock()
		s.written.del(key)
		s.written.del(dev)
		s.orders.del(o.OrderID)
		s.mu.Unlock()
	}
	post := func(path, typ string, v any) error { _, err := s.post(ctx, path, typ, v); return err }
	if err := post("/check", TypeCheck, Check{SEID: o.SEID, DeviceID: o.DeviceID, PhoneNumber: o.PhoneNumber}); err != nil {
		release()
		s.record(o, "check with SE operator", wire.RefusalFor(err).Reason)
		return wire.RefusalFor(err)
	}
	s.record(o, "check with SE operator", "designated")
	if err := post("/handover", TypeHandover, o); err != nil {
		release()
		s.record(o, "handover", wire.RefusalFor(err).Reason)
		return wire.RefusalFor(err)
	}
	s.mu.Lock()
	s.status.set(o.OrderID, "handed over")
	s.mu.Unlock()
	s.record(o, "handover", "accepted")
	return nil
}

// post seals v to the SE TSM and posts it to its back office.
func (s *SPTSM) post(ctx context.Context, path, typ string, v any) ([]byte, error) {
	tok, err := wire.Seal(v, s.cfg.Party, mustParty(s.cfg.Trust, s.cfg.SETSM), wire.Header{Type: typ, Clock: s.cfg.Now, Rand: s.cfg.Rand})
	if err != nil {
		return nil, err
	}
	_, b, err := s.cfg.Client.Post(ctx, s.cfg.SETSMURL+path, wire.MediaJOSE, []byte(tok))
	return b, err
}

// free releases the mark k when the order that holds it failed or expired
// at the SE TSM; a personalised SE or device keeps it for good (R-S4e).
func (s *SPTSM) free(ctx context.Context, o Order, k string) error {
	s.mu.Lock()
	prev := s.written.m[k]
	s.mu.Unlock()
	if prev == "" {
		return nil
	}
	b, err := s.post(ctx, "/status", TypeStatus, StatusQuery{OrderID: prev})
	if err != nil {
		return wire.RefusalFor(err)
	}
	var res Result
	if err := strictDecode(b, &res); err != nil {
		return err
	}
	switch res.Status {
	case ReasonPersonalised:
		s.record(o, "order", ReasonAlreadyDone)
		return errAlreadyDone
	case StatusWaiting, StatusDownloading:
		s.record(o, "order", ReasonInProgress)
		return errInProgress
	}
	s.mu.Lock()
	if s.written.m[k] == prev {
		s.written.del(k)
	}
	if p := s.orders.m[prev]; p != nil {
		s.orders.del(prev)
	}
	s.mu.Unlock()
	s.record(o, "order", "earlier order "+prev+" ended "+res.Status)
	return nil
}

// sweep ends silent downloads and erases stale scripts; s.mu held.
func (s *SPTSM) sweep() {
	now := s.cfg.Now()
	for id, p := range s.orders.m {
		if now.Sub(p.At) > s.cfg.OrderTTL {
			s.orders.del(id)
			s.status.set(id, "expired")
			s.log.add(Entry{At: now, Order: id, SEID: p.Order.SEID, Step: "order", Outcome: "expired"})
		}
	}
	for id, x := range s.relays {
		if now.Sub(x.last) > s.cfg.SessionTTL {
			x.cancel()
			delete(s.relays, id)
			s.status.set(id, "expired")
			s.log.add(Entry{At: now, Order: id, SEID: x.order.SEID, Step: "download", Outcome: "expired"})
		}
	}
}

var (
	errIDVRequired = refuse(http.StatusForbidden, ReasonIDVRequired,
		"the cardholder's code must be checked by the issuer's ID&V, which this SP TSM has no link to")
	errNoVerifier      = refuse(http.StatusServiceUnavailable, ReasonNoVerifier, "the issuer's ID&V cannot be reached")
	errAlreadyVerified = refuse(http.StatusConflict, ReasonAlreadyVerified, "the cardholder of this order was verified already")
	errNotVerified     = refuse(http.StatusForbidden, ReasonNotVerified, "the cardholder is not verified for this order")
)

// verify has the issuer's ID&V check the cardholder's code for an order
// waiting for its download (R-S3c). A wrong code leaves the order waiting
// for another try; any other refusal (locked, expired, used) cancels it
// and erases its script.
func (s *SPTSM) verify(ctx context.Context, m VerifyOTP) error {
	s.mu.Lock()
	s.sweep()
	p, ok := s.orders.m[m.OrderID]
	s.mu.Unlock()
	switch {
	case !ok:
		return errNoOrder
	case p.Verified:
		return errAlreadyVerified
	case s.cfg.Verifier == nil:
		return errNoVerifier
	}
	if err := s.cfg.Verifier.VerifyOTP(ctx, m.OrderID, m.OTP); err != nil {
		ref := wire.RefusalFor(err)
		s.record(p.Order, "cardholder verification by the issuer", ref.Reason)
		if ref.Reason != ReasonOTPWrong {
			s.mu.Lock()
			if s.orders.m[m.OrderID] == p {
				s.orders.del(m.OrderID)
				s.status.set(m.OrderID, ref.Reason)
			}
			s.mu.Unlock()
		}
		return ref
	}
	s.mu.Lock()
	p.Verified = true
	s.orders.set(m.OrderID, p)
	s.mu.Unlock()
	s.record(p.Order, "cardholder verification by the issuer", "verified")
	return nil
}

// relay answers one step of the SE TSM.
func (s *SPTSM) relay(m Relay) (RelayNext, error) {
	s.mu.Lock()
	s.sweep()
	x, running := s.relays[m.OrderID]
	if m.Abort {
		if running {
			x.cancel()
			delete(s.relays, m.OrderID)
			s.status.set(m.OrderID, ReasonOTAClosed)
		}
		s.orders.del(m.OrderID)
		s.mu.Unlock()
		return RelayNext{OrderID: m.OrderID, Done: true, Outcome: ReasonOTAClosed}, nil
	}
	var (
		cmd     []byte
		step    int
		outcome string
		err     error
	)
	if m.Step == 0 {
		if running {
			s.mu.Unlock()
			return RelayNext{}, errOTAReplay
		}
		p, ok := s.orders.m[m.OrderID]
		if !ok {
			s.mu.Unlock()
			return RelayNext{}, errNoOrder
		}
		if !p.Verified {
			s.mu.Unlock()
			return RelayNext{}, errNotVerified
		}
		s.orders.del(m.OrderID)
		x = &relaySession{stepper: newStepper(s.stop), order: p.Order, last: s.cfg.Now()}
		s.relays[m.OrderID] = x
		s.status.set(m.OrderID, StatusDownloading)
		s.wg.Add(1)
		s.mu.Unlock()
		var initial *Keys
		if m.Initial != nil && strings.EqualFold(m.Initial.SSD, p.Order.SSD) {
			k, err := m.Initial.Keys()
			if err == nil {
				initial = &k
			}
		}
		sealed := p.Sealed
		go func() {
			defer s.wg.Done()
			x.end <- s.run(x, sealed, initial)
		}()
		s.record(p.Order, "download", "started")
		cmd, step, outcome, err = x.first()
	} else {
		if !running {
			_, ended := s.status.m[m.OrderID]
			s.mu.Unlock()
			if ended {
				return RelayNext{}, errOTAClosed
			}
			return RelayNext{}, errNoOrder
		}
		x.last = s.cfg.Now()
		s.mu.Unlock()
		r, derr := hex.DecodeString(m.Response)
		if derr != nil {
			return RelayNext{}, fmt.Errorf("%w: relay response", wire.ErrInvalid)
		}
		cmd, step, outcome, err = x.answer(m.Step, r)
	}
	if err != nil {
		return RelayNext{}, err
	}
	if cmd == nil {
		s.mu.Lock()
		if s.relays[m.OrderID] == x {
			delete(s.relays, m.OrderID)
		}
		s.status.set(m.OrderID, outcome)
		s.mu.Unlock()
		s.record(x.order, "download", outcome)
		return RelayNext{OrderID: m.OrderID, Step: step, Done: true, Outcome: outcome}, nil
	}
	return RelayNext{OrderID: m.OrderID, Step: step, Command: hex.EncodeToString(cmd)}, nil
}

// ReasonSECertificate: the SE's key-agreement certificate is missing or
// not its authority's.
const ReasonSECertificate = "se_certificate"

// ReasonNoInitialKeys: on a shared SE, the SE TSM did not hand over the
// initial key set of the SSD it created.
const ReasonNoInitialKeys = "initial_keys_missing"

// run drives the issuer's sessions through x: the script is opened only
// now, its keys live in this goroutine for the download and are dropped
// with it.
func (s *SPTSM) run(x *relaySession, sealed []byte, initial *Keys) string {
	o := x.order
	plain, err := openAtRest(s.cfg.Vault, s.cfg.DEK, sealed, []byte("sp-script|"+o.OrderID))
	if err != nil {
		return ReasonScript
	}
	var sc Script
	if err := json.Unmarshal(plain, &sc); err != nil || sc.Validate() != nil {
		return ReasonScript
	}
	clear(plain)
	t := x.transport
	identified := false
	// The SE's identity, read under R-MAC in the first session: the agent
	// and the SE TSM cannot have made it up (R-S3a).
	identify := func(sess *gp.Session) string {
		if identified {
			return ""
		}
		identified = true
		b, err := sess.GetData(gp.TagCPLC)
		if err != nil {
			return classify(err, 0xCA)
		}
		c, err := gp.ParseCPLC(b)
		if err != nil || c.SEID() != o.SEID {
			return ReasonNotDesignated
		}
		return ""
	}
	if sc.Rotate != nil {
		if initial == nil {
			return ReasonNoInitialKeys
		}
		rot, _ := sc.Rotate.Keys()
		ssd, _ := hex.DecodeString(sc.Rotate.SSD)
		sess, err := gp.Open(t, gp.Config{SD: ssd, KeyVersion: initial.KVN, Keys: initial.Keys, Level: scp03.LevelCMACCDecRMAC, Rand: s.cfg.Rand})
		if err != nil {
			s.record(o, "open the SSD with the operator's initial keys", "failed")
			return classify(err, 0)
		}
		s.record(o, fmt.Sprintf("open session on %X with the operator's initial keys", ssd), "open")
		if r := identify(sess); r != "" {
			return r
		}
		var put []byte
		if s.cfg.SEAuthority != nil {
			cert, err := sess.GetData(gp.TagSECertificate)
			if err != nil {
				return ReasonSECertificate
			}
			pub, err := gp.VerifySECert(s.cfg.SEAuthority, o.SEID, cert)
			if err != nil {
				s.record(o, "SE certificate", ReasonSECertificate)
				return ReasonSECertificate
			}
			s.record(o, "SE certificate", "verified")
			put, err = gp.PutKeyAgreedCmd(initial.KVN, rot.KVN, pub, rot.Keys, s.cfg.Rand)
			if err != nil {
				return ReasonScript
			}
		} else if put, err = gp.PutKeyCmd(initial.KVN, rot.KVN, initial.Keys.DEK, rot.Keys); err != nil {
			return ReasonScript
		}
		if _, err := sess.Send("PUT KEY", put); err != nil {
			s.record(o, "PUT KEY", "failed")
			return classify(err, put[1])
		}
		s.record(o, fmt.Sprintf("PUT KEY: key set %02X replaced by the issuer's %02X", initial.KVN, rot.KVN), "9000")
		sess.Close()
	}
	for i, ss := range sc.Sessions {
		sd, _ := hex.DecodeString(ss.SD)
		ks, _ := ss.keys()
		sess, err := gp.Open(t, gp.Config{SD: sd, KeyVersion: ss.KVN, Keys: ks, Level: scp03.LevelCMACCDecRMAC, Rand: s.cfg.Rand})
		if err != nil {
			s.record(o, fmt.Sprintf("open session %d", i+1), "failed")
			return classify(err, 0)
		}
		s.record(o, fmt.Sprintf("open session %d on %X", i+1, sd), "open")
		if r := identify(sess); r != "" {
			return r
		}
		for _, cmd := range ss.Commands {
			b, _ := hex.DecodeString(cmd.APDU)
			what := gp.Describe(b)
			if _, err := sess.Send(what, b); err != nil {
				s.record(o, what, "failed")
				return classify(err, b[1])
			}
			s.record(o, what, "9000")
		}
		sess.Close()
	}
	return ReasonPersonalised
}

func mustParty(d *wire.TrustList, name string) wire.PublicKeys {
	p, _ := d.Party(name)
	return p
}
