package tsm

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

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
	// Peers are the client certificate names the order listener accepts;
	// any certificate of the trusted CA when empty.
	Peers []string
	// SETSM is the SE TSM's name; SETSMURL its back-office listener; Client
	// the mutually authenticated client that reaches it.
	SETSM    string
	SETSMURL string
	Client   *wire.Client
	Now      func() time.Time
	Rand     interface{ Read([]byte) (int, error) }
	Logger   *slog.Logger
}

// SPTSM is the service provider's TSM: it takes the issuer's orders and
// passes them to the SE TSM once the SE is confirmed.
type SPTSM struct {
	cfg    SPConfig
	replay *wire.MemoryReplayCache
	log    Log

	mu      sync.Mutex
	status  map[string]string // order -> status, nothing else
	written map[string]string // SEID|SSD and device -> order: one set each (R-S4e)
}

// NewSPTSM makes an SP TSM.
func NewSPTSM(cfg SPConfig) (*SPTSM, error) {
	if cfg.Party == nil || cfg.Trust == nil || cfg.Client == nil || cfg.Now == nil || cfg.SETSM == "" {
		return nil, errors.New("tsm: SP TSM needs a party, a trust list, a client, a clock and the SE TSM")
	}
	return &SPTSM{cfg: cfg, replay: wire.NewMemoryReplayCache(4096), status: map[string]string{}, written: map[string]string{}}, nil
}

// Log is the transaction log (R-S4d).
func (s *SPTSM) Log() []Entry { return s.log.Entries() }

// Dump is everything the SP TSM keeps: order statuses, no data (R-G5g).
func (s *SPTSM) Dump() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for id, st := range s.status {
		out = append(out, id+" "+st)
	}
	return out
}

func (s *SPTSM) record(o Order, step, outcome string) {
	s.log.add(Entry{At: s.cfg.Now(), Order: o.OrderID, SEID: o.SEID, Step: step, Outcome: outcome})
	if s.cfg.Logger != nil {
		s.cfg.Logger.Info("sp tsm", "order", o.OrderID, "se", o.SEID, "step", step, "outcome", outcome)
	}
}

// Handler serves POST /order (JOSE, from an issuer).
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
		ok := false
		for _, n := range s.cfg.Issuers {
			ok = ok || n == c.Issuer
		}
		if !ok {
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
	return mux
}

func (s *SPTSM) take(ctx context.Context, o Order) error {
	s.record(o, "order", "received")
	if o.Shared && !o.IssuerConsent {
		s.record(o, "order", ReasonNoConsent)
		return errNoConsent
	}
	key, dev := "se|"+o.SEID+"|"+o.SSD, "device|"+o.DeviceID
	for _, k := range []string{key, dev} {
		if err := s.free(ctx, o, k); err != nil {
			return err
		}
	}
	s.mu.Lock()
	if s.written[key] != "" || s.written[dev] != "" {
		s.mu.Unlock()
		s.record(o, "order", ReasonInProgress)
		return errInProgress
	}
	s.written[key], s.written[dev] = o.OrderID, o.OrderID
	s.mu.Unlock()
	release := func() {
		s.mu.Lock()
		delete(s.written, key)
		delete(s.written, dev)
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
	s.status[o.OrderID] = "handed over"
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
	prev := s.written[k]
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
	if s.written[k] == prev {
		delete(s.written, k)
	}
	s.mu.Unlock()
	s.record(o, "order", "earlier order "+prev+" ended "+res.Status)
	return nil
}

func mustParty(d *wire.TrustList, name string) wire.PublicKeys {
	p, _ := d.Party(name)
	return p
}
