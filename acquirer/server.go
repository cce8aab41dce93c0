package acquirer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tapsim/tapsim/acquirer/dedup"
	"github.com/tapsim/tapsim/acquirer/link"
	"github.com/tapsim/tapsim/acquirer/store"
	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/isospec/frameserver"
)

// ErrClosed reports use of a closed server.
var ErrClosed = errors.New("acquirer: server closed")

// Server is the acquirer host. Create it with New, then Start it.
type Server struct {
	cfg       Config
	log       *slog.Logger
	store     store.Store
	ownStore  bool
	numbers   Numbers
	dedup     *dedup.Detector
	links     map[string]*link.Pool // by issuer name
	issuers   map[string]Issuer
	terminals map[string]Terminal

	srv    *frameserver.Server
	addr   string
	cancel context.CancelFunc
	kick   chan struct{}
	bg     sync.WaitGroup       // advice worker, shutdown watcher
	noisy  *frameserver.Limiter // malformed and unanswerable frames
	alarms *frameserver.Limiter // MAC failures (warning)

	adviceMu sync.Mutex // one advice pass at a time

	// ruleCtx ends when Close begins, cutting short the delays of rules.
	ruleCtx  context.Context
	ruleStop context.CancelFunc

	ready atomic.Bool // started and not closed: messages may be handled

	mu        sync.Mutex
	started   bool
	closed    bool
	closeDone chan struct{} // closed when Close has finished
}

// New checks cfg and returns a server that is not started. The store is
// opened and the issuer links are made by Start.
func New(cfg Config) (*Server, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	cfg.defaults()
	s := &Server{
		cfg:       cfg,
		log:       cfg.Logger,
		dedup:     dedup.NewSize(cfg.DuplicateWindow, cfg.DuplicateMemory),
		links:     map[string]*link.Pool{},
		issuers:   map[string]Issuer{},
		terminals: map[string]Terminal{},
		kick:      make(chan struct{}, 1),
		closeDone: make(chan struct{}),
		noisy:     &frameserver.Limiter{Logger: cfg.Logger, Level: slog.LevelInfo},
		alarms:    &frameserver.Limiter{Logger: cfg.Logger, Level: slog.LevelWarn, Burst: 10},
	}
	s.ruleCtx, s.ruleStop = context.WithCancel(context.Background())
	for _, t := range cfg.Terminals {
		if t.BDK.IsZero() {
			t.BDK = cfg.BDK
		}
		s.terminals[t.TID] = t
	}
	for _, is := range cfg.Issuers {
		s.issuers[is.Name] = is
	}
	return s, nil
}

// Start opens the store, primes the duplicate detector from the journal,
// starts the issuer links and the advice queue, and listens for terminals.
// Everything stops when ctx ends or Close is called.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return ErrClosed
	case s.started:
		return errors.New("acquirer: already started")
	}
	if err := s.open(ctx); err != nil {
		s.closeStore()
		return err
	}
	// The links and the worker stop when Close says so, not when ctx ends:
	// ctx ending calls Close, which signs the links off first.
	parent := ctx
	ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	for _, is := range s.cfg.Issuers {
		p, err := s.pool(is)
		if err != nil {
			s.stopLinks()
			s.cancel()
			s.closeStore()
			return fmt.Errorf("acquirer: %w", err)
		}
		s.links[is.Name] = p
		p.Start(ctx)
	}
	srv, err := frameserver.Listen(frameserver.Config{
		Addr: s.cfg.Listen, TLS: s.cfg.TLS,
		IdleTimeout: s.cfg.IdleTimeout, FrameTimeout: s.cfg.FrameTimeout,
		MaxFrame: s.cfg.MaxFrame, MaxConns: s.cfg.MaxConns, EvictIdle: s.cfg.EvictIdle, MaxInFlight: s.cfg.MaxInFlight,
		Handler: s.serveFrame, Peer: "terminal", Logger: s.log,
	})
	if err != nil {
		s.stopLinks()
		s.cancel()
		s.closeStore()
		return fmt.Errorf("acquirer: listen: %w", err)
	}
	s.srv, s.addr = srv, srv.Addr().String()
	s.started = true
	s.ready.Store(true)
	s.bg.Add(2)
	go func() { defer s.bg.Done(); s.adviceLoop(ctx) }()
	go func() {
		defer s.bg.Done()
		select {
		case <-parent.Done():
			go s.Close()
		case <-ctx.Done():
		}
	}()
	s.log.Info("acquirer listening", slog.String("addr", s.addr), slog.Bool("tls", s.cfg.TLS != nil), slog.Int("issuers", len(s.links)), slog.Int("terminals", len(s.terminals)))
	for _, t := range s.cfg.Terminals {
		if t.MACOptional {
			s.log.Warn("MAC optional: requests from this terminal without a MAC are accepted (R-G2 off for it)", slog.String("tid", t.TID))
		}
	}
	return nil
}

// pool makes the links to the endpoints of issuer is, one per address.
func (s *Server) pool(is Issuer) (*link.Pool, error) {
	var links []*link.Link
	for _, addr := range append([]string{is.Addr}, is.Endpoints...) {
		l, err := link.New(link.Config{
			Name: is.Name, Addr: addr, AcquirerID: s.cfg.AcquirerID,
			HSM: s.cfg.HSM, ZAK: is.ZAK,
			STAN: func(ctx context.Context, now time.Time) (string, error) {
				stan, _, err := s.numbers.Next(ctx, now)
				return stan, err
			},
			Now:            s.cfg.Now,
			ConnectTimeout: s.cfg.ConnectTimeout,
			NetworkTimeout: s.cfg.NetworkTimeout,
			EchoInterval:   s.cfg.EchoInterval,
			MinBackoff:     s.cfg.ReconnectMin,
			MaxBackoff:     s.cfg.ReconnectMax,
			TLS:            is.TLS,
			OnUp:           s.kickAdvices,
			Logger:         s.log,
		})
		if err != nil {
			return nil, err
		}
		links = append(links, l)
	}
	return link.NewPool(link.PoolConfig{Name: is.Name, Links: links, Rest: s.cfg.EndpointRest, Now: s.cfg.Now, Logger: s.log})
}

func (s *Server) open(ctx context.Context) error {
	s.store = s.cfg.Store
	if s.store == nil {
		st, err := store.Open(s.cfg.DataDir)
		if err != nil {
			return fmt.Errorf("acquirer: %w", err)
		}
		s.store, s.ownStore = st, true
	}
	s.numbers = s.cfg.Numbers
	if s.numbers == nil {
		s.numbers = &DurableNumbers{Store: s.store}
	}
	// The detector starts with the journal's most recent lines of the
	// window, as many as it holds; when the window holds more, the older
	// ones are looked up in the journal (see duplicate).
	now := s.cfg.Now()
	recent, err := s.store.Recent(ctx, now.Add(-s.cfg.DuplicateWindow), s.cfg.DuplicateMemory)
	if err != nil {
		return fmt.Errorf("acquirer: prime duplicate detection: %w", err)
	}
	for _, e := range recent {
		if e.ResponseCode == string(isospec.RCDuplicateTransmission) {
			continue // a refusal: the window runs from the sighting it repeated
		}
		s.dedup.Remember(dedup.Key{Class: e.MTI, TID: e.TID, STAN: e.TermSTAN, DE7: e.TermDE7}, e.At)
	}
	if len(recent) == s.cfg.DuplicateMemory {
		s.dedup.MarkIncomplete(recent[0].At.Add(time.Nanosecond))
	}
	return nil
}

func (s *Server) closeStore() {
	if s.ownStore && s.store != nil {
		_ = s.store.Close()
	}
}

func (s *Server) stopLinks() {
	for _, l := range s.links {
		_ = l.Close()
	}
}

// Addr returns the address terminals connect to, once started.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// LinkUp reports whether a link to the named issuer (to one of its
// endpoints) is signed on.
func (s *Server) LinkUp(issuer string) bool {
	l := s.links[issuer]
	return l != nil && l.Up()
}

// LinksUp counts the links to the named issuer's endpoints that are
// signed on, out of all of them.
func (s *Server) LinksUp(issuer string) (up, all int) {
	p := s.links[issuer]
	if p == nil {
		return 0, 0
	}
	for _, l := range p.Links() {
		if l.Up() {
			up++
		}
	}
	return up, len(p.Links())
}

// WaitLinks waits until every issuer link (one per endpoint) is signed
// on, or ctx ends.
func (s *Server) WaitLinks(ctx context.Context) error {
	for _, l := range s.links {
		if err := l.WaitUp(ctx); err != nil {
			return fmt.Errorf("acquirer: %w", err)
		}
	}
	return nil
}

// Close stops listening, lets the messages in hand finish, stops the
// advice queue, signs off the issuer links and closes the store. Stored
// advices stay for the next start. Every call returns once the server has
// stopped.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		<-s.closeDone
		return nil
	}
	s.closed = true
	started := s.started
	s.mu.Unlock()
	s.ruleStop()
	defer close(s.closeDone)
	if !started {
		return nil
	}
	s.ready.Store(false)
	_ = s.srv.Close() // waits for the messages in hand
	s.noisy.Flush()
	s.alarms.Flush()
	s.stopLinks() // signs off
	s.cancel()
	s.bg.Wait()
	s.closeStore()
	s.log.Info("acquirer stopped")
	return nil
}

// Journal lists the journal lines received at or after since.
func (s *Server) Journal(ctx context.Context, since time.Time) ([]store.Entry, error) {
	if s.store == nil {
		return nil, ErrClosed
	}
	return s.store.Since(ctx, since)
}

// PendingAdvices counts the reversal advices not yet acknowledged.
func (s *Server) PendingAdvices(ctx context.Context) (int, error) {
	if s.store == nil {
		return 0, ErrClosed
	}
	return s.store.Pending(ctx)
}

// NetStats returns the terminal listener's counters (zero before Start).
func (s *Server) NetStats() frameserver.Stats {
	s.mu.Lock()
	srv := s.srv
	s.mu.Unlock()
	if srv == nil {
		return frameserver.Stats{}
	}
	return srv.Stats()
}

// serveFrame is the listener's handler: one terminal frame in, its reply
// out, and whether to close the connection. The frame's work does not end
// with the listener's context; it carries the connection for Vouch.
func (s *Server) serveFrame(ctx context.Context, frame []byte) ([]byte, bool) {
	return s.HandleFrame(frameserver.Carry(context.Background(), ctx), frame)
}
