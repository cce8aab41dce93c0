package link

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/moov-io/iso8583"
)

// DefaultRest is how long an endpoint that left a request unanswered gets
// no new requests while another endpoint of its issuer is up.
const DefaultRest = 30 * time.Second

// PoolConfig describes the endpoints of one issuer.
type PoolConfig struct {
	// Name is the issuer's name (the routing table's).
	Name string
	// Links are the links to the issuer's endpoints, one each: processes
	// of one issuer host that share its state, so that any of them may
	// take any request, reversal or advice. Their order is the order of
	// the first round.
	Links []*Link
	// Rest is how long an endpoint that left a request unanswered (no
	// answer in time, an answer whose MAC fails) gets no new requests
	// while another endpoint is up (DefaultRest when 0).
	Rest time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives the pool's events; nil discards them.
	Logger *slog.Logger
}

// Pool spreads one issuer's traffic over the links to its endpoints. Each
// request goes to the endpoint that is signed on and has the fewest
// requests in hand, taking turns between equals; an endpoint resting after
// a request it left unanswered is chosen only when no other is up.
//
// A request that never left (ErrDown) is offered to the next endpoint;
// one that left and got no valid answer (ErrNoAnswer, ErrBadMAC) is never
// sent anywhere else: the caller reverses it, as with a single link. A
// pool of one link behaves as that link. It is safe for concurrent use.
type Pool struct {
	name string
	eps  []*endpoint
	rest time.Duration
	now  func() time.Time
	log  *slog.Logger
	turn atomic.Uint64
}

// endpoint is one link of a pool and what the pool knows of it.
type endpoint struct {
	l        *Link
	inFlight atomic.Int64
	// restUntil is when the endpoint's rest ends (Unix nanoseconds; 0:
	// not resting).
	restUntil atomic.Int64
}

// NewPool checks the configuration and returns a pool over its links,
// which it does not start.
func NewPool(cfg PoolConfig) (*Pool, error) {
	switch {
	case cfg.Name == "":
		return nil, errors.New("link: pool without an issuer name")
	case len(cfg.Links) == 0:
		return nil, fmt.Errorf("link: issuer %s: no endpoint", cfg.Name)
	}
	if cfg.Rest <= 0 {
		cfg.Rest = DefaultRest
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	p := &Pool{name: cfg.Name, rest: cfg.Rest, now: cfg.Now, log: cfg.Logger.With(slog.String("issuer", cfg.Name))}
	seen := map[string]bool{}
	for _, l := range cfg.Links {
		if l == nil {
			return nil, fmt.Errorf("link: issuer %s: nil link", cfg.Name)
		}
		if seen[l.Addr()] {
			return nil, fmt.Errorf("link: issuer %s: endpoint %s listed twice", cfg.Name, l.Addr())
		}
		seen[l.Addr()] = true
		p.eps = append(p.eps, &endpoint{l: l})
	}
	return p, nil
}

// Links returns the pool's links, in their configured order.
func (p *Pool) Links() []*Link {
	out := make([]*Link, len(p.eps))
	for i, ep := range p.eps {
		out[i] = ep.l
	}
	return out
}

// Start starts every link (see Link.Start).
func (p *Pool) Start(ctx context.Context) {
	for _, ep := range p.eps {
		ep.l.Start(ctx)
	}
}

// Close signs off and closes every link.
func (p *Pool) Close() error {
	for _, ep := range p.eps {
		_ = ep.l.Close()
	}
	return nil
}

// Up reports whether at least one endpoint is signed on.
func (p *Pool) Up() bool {
	for _, ep := range p.eps {
		if ep.l.Up() {
			return true
		}
	}
	return false
}

// WaitUp waits until every endpoint is signed on, or ctx ends.
func (p *Pool) WaitUp(ctx context.Context) error {
	for _, ep := range p.eps {
		if err := ep.l.WaitUp(ctx); err != nil {
			return err
		}
	}
	return nil
}

// pick chooses the endpoint for the next attempt among those not tried:
// signed on, not resting, fewest requests in hand, in turn from start;
// when every one that is up is resting, the resting one with the fewest.
// It returns the endpoint's index, or -1 when none is up.
func (p *Pool) pick(tried []bool, start int, now int64) int {
	best, bestResting := -1, -1
	bestN, bestRestingN := int64(0), int64(0)
	for k := range p.eps {
		i := (start + k) % len(p.eps)
		ep := p.eps[i]
		if tried[i] || !ep.l.Up() {
			continue
		}
		n := ep.inFlight.Load()
		if until := ep.restUntil.Load(); until != 0 && now < until {
			if bestResting < 0 || n < bestRestingN {
				bestResting, bestRestingN = i, n
			}
			continue
		}
		if best < 0 || n < bestN {
			best, bestN = i, n
		}
	}
	if best < 0 {
		return bestResting
	}
	return best
}

// Exchange sends msg to one endpoint of the issuer (see Link.Exchange) and
// returns its answer. The errors are Link.Exchange's: ErrDown when no
// endpoint took the message (it never left); ErrNoAnswer or ErrBadMAC
// when it left for one endpoint and got no valid answer: it has not been
// sent to another, and must be reversed.
func (p *Pool) Exchange(msg *iso8583.Message, timeout time.Duration) (*iso8583.Message, error) {
	if len(p.eps) == 1 {
		return p.eps[0].l.Exchange(msg, timeout)
	}
	tried := make([]bool, len(p.eps))
	start := int((p.turn.Add(1) - 1) % uint64(len(p.eps)))
	var lastErr error
	for range p.eps {
		i := p.pick(tried, start, p.now().UnixNano())
		if i < 0 {
			break
		}
		tried[i] = true
		ep := p.eps[i]
		ep.inFlight.Add(1)
		resp, err := ep.l.Exchange(msg, timeout)
		ep.inFlight.Add(-1)
		switch {
		case err == nil:
			// A rest runs out by itself: an answer to a request sent
			// before it began says nothing of the endpoint now.
			return resp, nil
		case errors.Is(err, ErrClosed):
			return nil, err
		case errors.Is(err, ErrDown):
			// It never left: another endpoint may take it.
			lastErr = err
			continue
		case !errors.Is(err, ErrNoAnswer) && !errors.Is(err, ErrBadMAC):
			// A fault of this side (packing, the MAC's security module):
			// nothing says the endpoint is at fault, so it does not rest;
			// the message is not offered to another endpoint either.
			return nil, err
		}
		// It left and got no valid answer: not sent again anywhere.
		now := p.now()
		if old := ep.restUntil.Swap(now.Add(p.rest).UnixNano()); old == 0 || now.UnixNano() >= old {
			p.log.Warn("issuer endpoint left a request unanswered: it rests while another endpoint is up",
				slog.String("addr", ep.l.Addr()), slog.Duration("rest", p.rest), slog.String("error", err.Error()))
		}
		return nil, err
	}
	if lastErr == nil {
		lastErr = fmt.Errorf("%w: issuer %s: no endpoint signed on", ErrDown, p.name)
	}
	return nil, lastErr
}
