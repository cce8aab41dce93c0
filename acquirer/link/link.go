// Package link keeps the acquirer's connection to one issuer host: a
// persistent ISO 8583 connection (isospec/frameclient) that signs on when it
// connects (0800, DE70 001), sends an echo test (DE70 301) when idle, signs
// off when closed (DE70 002) and reconnects with exponential backoff when it
// drops or an echo goes unanswered. The issuer's own network management
// requests are answered. A connection's goroutines all end with it,
// whatever the issuer still sends.
//
// Every message sent carries a MAC under the zone MAC key (ZAK) computed in
// the security module, and every answer's MAC is checked before it is
// believed (R-G2). Exchange tells apart a message that never left (ErrDown:
// nothing to reverse) from one that left and got no valid answer
// (ErrNoAnswer, ErrBadMAC: the caller must reverse it).
package link

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/moov-io/iso8583"

	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/isospec/frameclient"
	"github.com/tapsim/tapsim/isospec/frameserver"
)

var (
	// ErrDown reports a link that is not signed on: the message was not
	// sent.
	ErrDown = errors.New("link: issuer link down")
	// ErrNoAnswer reports a message that was sent (or may have been) and
	// got no answer in time, or whose connection dropped while waiting.
	ErrNoAnswer = errors.New("link: no answer from issuer")
	// ErrBadMAC reports an answer whose MAC is missing or wrong: it cannot
	// be trusted, and the request counts as unanswered.
	ErrBadMAC = errors.New("link: answer MAC invalid")
	// ErrSignOn reports a sign-on the issuer refused or did not answer.
	ErrSignOn = errors.New("link: sign-on failed")
	// ErrClosed reports use of a closed link.
	ErrClosed = errors.New("link: closed")
)

// STANFunc hands out trace numbers for the link's network management
// messages.
type STANFunc func(ctx context.Context, now time.Time) (string, error)

// Config describes one issuer link.
type Config struct {
	// Name identifies the issuer (the routing table's issuer name).
	Name string
	// Addr is the issuer host's address, host:port.
	Addr string
	// AcquirerID goes in DE32 of the network management messages.
	AcquirerID string
	// HSM computes and checks MACs; ZAK is the zone MAC key.
	HSM hsm.MAC
	ZAK hsm.Handle
	// STAN numbers the link's own messages (sign-on, echo, sign-off).
	STAN STANFunc
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// TLS, when set, makes the link dial TLS with this client configuration
	// (the issuer's CA, the acquirer's certificate, the server name; see
	// isospec/tlsconf); nil dials plain TCP.
	TLS *tls.Config
	// ConnectTimeout bounds a connect, TLS handshake included (5 s when 0).
	ConnectTimeout time.Duration
	// NetworkTimeout bounds the wait for a network management answer (5 s
	// when 0).
	NetworkTimeout time.Duration
	// EchoInterval is the idle time after which an echo test is sent (30 s
	// when 0).
	EchoInterval time.Duration
	// MinBackoff and MaxBackoff bound the wait between reconnection
	// attempts, doubled after each failure (100 ms and 10 s when 0).
	MinBackoff, MaxBackoff time.Duration
	// OnUp is called (in its own goroutine) each time the link has signed
	// on, for example to send stored advices.
	OnUp func()
	// Logger receives the link's events; nil discards them.
	Logger *slog.Logger
}

func (c *Config) defaults() {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 5 * time.Second
	}
	if c.NetworkTimeout <= 0 {
		c.NetworkTimeout = 5 * time.Second
	}
	if c.EchoInterval <= 0 {
		c.EchoInterval = 30 * time.Second
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = 100 * time.Millisecond
	}
	if c.MaxBackoff < c.MinBackoff {
		c.MaxBackoff = max(10*time.Second, c.MinBackoff)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Link is one issuer link. It is safe for concurrent use.
type Link struct {
	cfg Config
	log *slog.Logger
	// info and warn log what the issuer can repeat at will (messages
	// nobody asked for, bad MACs) a few times a minute, then a count.
	info, warn *frameserver.Limiter

	mu     sync.Mutex
	conn   *frameclient.Conn // signed on, or nil
	upCh   chan struct{}     // closed while up
	closed bool
	cancel context.CancelFunc
	done   chan struct{}

	stats Stats
}

// Stats counts a link's events.
type Stats struct {
	// Connects counts connection attempts, SignOns successful sign-ons.
	Connects, SignOns int
	// Echoes and EchoFailures count echo tests answered and not.
	Echoes, EchoFailures int
	// Drops counts signed-on connections lost.
	Drops int
}

// New checks the configuration and returns a link that is not started.
func New(cfg Config) (*Link, error) {
	switch {
	case cfg.Name == "":
		return nil, errors.New("link: no issuer name")
	case cfg.Addr == "":
		return nil, fmt.Errorf("link: issuer %s: no address", cfg.Name)
	case cfg.HSM == nil || cfg.ZAK.IsZero():
		return nil, fmt.Errorf("link: issuer %s: no zone MAC key", cfg.Name)
	case cfg.STAN == nil:
		return nil, fmt.Errorf("link: issuer %s: no trace number source", cfg.Name)
	}
	cfg.defaults()
	log := cfg.Logger.With(slog.String("issuer", cfg.Name))
	limiter := func(lvl slog.Level) *frameserver.Limiter {
		return &frameserver.Limiter{Logger: log, Level: lvl, Burst: frameserver.DefaultLogBurst}
	}
	return &Link{
		cfg:  cfg,
		log:  log,
		info: limiter(slog.LevelInfo),
		warn: limiter(slog.LevelWarn),
		upCh: make(chan struct{}),
	}, nil
}

// Name returns the issuer's name.
func (l *Link) Name() string { return l.cfg.Name }

// Addr returns the issuer host's address.
func (l *Link) Addr() string { return l.cfg.Addr }

// Start connects in the background and keeps the link up until Close or
// until ctx ends.
func (l *Link) Start(ctx context.Context) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || l.done != nil {
		return
	}
	ctx, l.cancel = context.WithCancel(ctx)
	l.done = make(chan struct{})
	go l.run(ctx)
}

// Up reports whether the link is signed on.
func (l *Link) Up() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.conn != nil
}

// WaitUp waits until the link is signed on or ctx ends.
func (l *Link) WaitUp(ctx context.Context) error {
	for {
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			return ErrClosed
		}
		if l.conn != nil {
			l.mu.Unlock()
			return nil
		}
		ch := l.upCh
		l.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("link: issuer %s: %w", l.cfg.Name, ctx.Err())
		}
	}
}

// Stats returns the link's counters.
func (l *Link) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stats
}

// Close signs off, closes the connection and stops reconnecting.
func (l *Link) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	c := l.conn
	cancel, done := l.cancel, l.done
	l.mu.Unlock()
	if c != nil {
		// Signed off before the connection closes: a closed connection
		// sends nothing.
		l.signOff(c)
		_ = c.Close()
	}
	if cancel != nil {
		cancel()
		<-done
	}
	l.info.Flush()
	l.warn.Flush()
	return nil
}

func (l *Link) run(ctx context.Context) {
	defer close(l.done)
	wait := l.cfg.MinBackoff
	failures := 0
	for ctx.Err() == nil && !l.isClosed() {
		c, err := l.connect(ctx)
		if err == nil {
			wait, failures = l.cfg.MinBackoff, 0
			l.setUp(c)
			l.keepAlive(ctx, c)
			l.setDown(c)
			_ = c.Close()
			if ctx.Err() != nil {
				return
			}
		} else {
			// The first failure of a series is a warning, the retries
			// are not.
			failures++
			lvl := slog.LevelDebug
			if failures == 1 {
				lvl = slog.LevelWarn
			}
			l.log.Log(ctx, lvl, "issuer link connect failed", slog.String("error", err.Error()),
				slog.Int("attempt", failures), slog.Duration("retry_in", wait))
		}
		// Half the wait plus a random part of the other half, so that
		// several links do not reconnect in step.
		d := wait/2 + rand.N(wait/2+1)
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		}
		if err != nil {
			wait = min(2*wait, l.cfg.MaxBackoff)
		}
	}
}

// keepAlive sends an echo test whenever c has been idle (nothing written)
// for EchoInterval, until c drops, an echo fails or ctx ends.
func (l *Link) keepAlive(ctx context.Context, c *frameclient.Conn) {
	t := time.NewTimer(l.cfg.EchoInterval)
	defer t.Stop()
	for {
		select {
		case <-c.Done():
			if !errors.Is(c.Err(), frameclient.ErrClosed) {
				l.log.Warn("issuer link dropped", slog.String("error", c.Err().Error()))
			}
			return
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if left := l.cfg.EchoInterval - c.Idle(); left > 0 {
			t.Reset(left)
			continue
		}
		if !l.echo(c) {
			return
		}
		t.Reset(l.cfg.EchoInterval)
	}
}

func (l *Link) isClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

func (l *Link) setUp(c *frameclient.Conn) {
	l.mu.Lock()
	l.conn = c
	l.stats.SignOns++
	close(l.upCh)
	closed := l.closed
	l.mu.Unlock()
	l.log.Info("issuer link signed on", slog.String("addr", l.cfg.Addr))
	if closed {
		_ = c.Close()
		return
	}
	if l.cfg.OnUp != nil {
		go l.cfg.OnUp()
	}
}

func (l *Link) setDown(c *frameclient.Conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn == c {
		l.conn = nil
		l.upCh = make(chan struct{})
		l.stats.Drops++
	}
}

// connect dials the issuer and signs on.
func (l *Link) connect(ctx context.Context) (*frameclient.Conn, error) {
	l.mu.Lock()
	l.stats.Connects++
	l.mu.Unlock()
	c, err := frameclient.Dial(ctx, frameclient.Config{
		Addr:        l.cfg.Addr,
		TLS:         l.cfg.TLS,
		DialTimeout: l.cfg.ConnectTimeout,
		Inbound:     l.inbound,
		Unmatched:   l.unmatched,
		OnError: func(err error) {
			l.log.Debug("issuer link error", slog.String("error", err.Error()))
		},
	})
	if err != nil {
		return nil, fmt.Errorf("link: issuer %s: %w", l.cfg.Name, err)
	}
	if err := l.signOn(c); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("link: issuer %s: %w", l.cfg.Name, err)
	}
	return c, nil
}

// network sends an 0800 with code on c and checks the 0810.
func (l *Link) network(c *frameclient.Conn, code isospec.NetworkCode) error {
	now := l.cfg.Now()
	stan, err := l.cfg.STAN(context.Background(), now)
	if err != nil {
		return err
	}
	nm := isospec.NewNetworkManagement(code, stan, now)
	nm.AcquirerID = l.cfg.AcquirerID
	msg, err := isospec.Encode(nm)
	if err != nil {
		return err
	}
	resp, err := l.send(c, msg, l.cfg.NetworkTimeout)
	if err != nil {
		return err
	}
	var r isospec.NetworkManagement
	if err := isospec.Decode(resp, &r); err != nil {
		return err
	}
	if r.MTI != isospec.MTINetworkResponse || r.NetworkCode != code {
		return fmt.Errorf("link: %s answered with MTI %s code %s", code.Name(), r.MTI, r.NetworkCode)
	}
	if !r.ResponseCode.Approved() {
		return fmt.Errorf("link: %s refused: %v", code.Name(), r.ResponseCode)
	}
	return nil
}

func (l *Link) signOn(c *frameclient.Conn) error {
	if err := l.network(c, isospec.NetSignOn); err != nil {
		return fmt.Errorf("%w: %w", ErrSignOn, err)
	}
	return nil
}

func (l *Link) signOff(c *frameclient.Conn) {
	if err := l.network(c, isospec.NetSignOff); err != nil {
		l.log.Debug("issuer link sign-off unanswered", slog.String("error", err.Error()))
	}
}

// echo sends an echo test on c; a failure closes c, so that the link
// reconnects, and gives false.
func (l *Link) echo(c *frameclient.Conn) bool {
	err := l.network(c, isospec.NetEcho)
	l.mu.Lock()
	if err == nil {
		l.stats.Echoes++
	} else {
		l.stats.EchoFailures++
	}
	l.mu.Unlock()
	if err != nil {
		l.log.Warn("issuer link echo failed: reconnecting", slog.String("error", err.Error()))
		_ = c.Close()
		return false
	}
	return true
}

// inbound answers the network management requests the issuer sends on its
// own (echo tests, sign-on and off); a key change is refused, anything else
// dropped.
func (l *Link) inbound(_ context.Context, c *frameclient.Conn, msg *iso8583.Message) {
	mti, _ := msg.GetMTI()
	if isospec.MTI(mti) != isospec.MTINetworkRequest {
		l.info.Log("issuer link: unsolicited message dropped", slog.String("mti", mti))
		return
	}
	if err := l.verify(msg); err != nil {
		l.warn.Log("issuer link: network request with bad MAC dropped")
		return
	}
	var req isospec.NetworkManagement
	if err := isospec.Decode(msg, &req); err != nil {
		return
	}
	rc, reason := isospec.RCApproved, isospec.DeclineReason("")
	if req.NetworkCode == isospec.NetKeyChange {
		// Keys are loaded through the HSM only.
		rc, reason = isospec.RCInvalidTransaction, isospec.ReasonKeyChange
	}
	r, err := req.Response(rc)
	if err != nil {
		return
	}
	if reason != "" {
		if r.PrivateData, err = (isospec.PrivateData{DeclineReason: reason}).Encode(); err != nil {
			return
		}
	}
	out, err := isospec.Encode(r)
	if err == nil {
		err = isospec.SetMAC(out, l.mac)
	}
	if err == nil {
		err = c.Reply(out)
	}
	if err != nil {
		l.log.Warn("issuer link: network answer failed", slog.String("error", err.Error()))
	}
}

// unmatched logs an answer that no request waits for: a late answer to a
// request that timed out, and was therefore reversed.
func (l *Link) unmatched(_ context.Context, _ *frameclient.Conn, msg *iso8583.Message) {
	mti, _ := msg.GetMTI()
	l.info.Log("issuer link: unmatched answer dropped", slog.String("mti", mti))
}

func (l *Link) mac(data []byte) ([]byte, error) { return l.cfg.HSM.GenerateMAC(l.cfg.ZAK, data) }

// verify checks the MAC of a received message.
func (l *Link) verify(msg *iso8583.Message) error {
	packed, err := isospec.Pack(msg)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadMAC, err)
	}
	return l.verifyPacked(packed)
}

// verifyPacked checks the MAC of a message as received (length header
// excluded).
func (l *Link) verifyPacked(packed []byte) error {
	if err := isospec.VerifyMAC(packed, func(data, m []byte) error {
		return l.cfg.HSM.VerifyMAC(l.cfg.ZAK, data, m)
	}); err != nil {
		return fmt.Errorf("%w: %w", ErrBadMAC, err)
	}
	return nil
}

// send MACs msg, sends it on c and checks the answer's MAC.
func (l *Link) send(c *frameclient.Conn, msg *iso8583.Message, timeout time.Duration) (*iso8583.Message, error) {
	packed, err := isospec.PackWithMAC(msg, l.mac)
	if err != nil {
		return nil, fmt.Errorf("link: issuer %s: %w", l.cfg.Name, err)
	}
	resp, frame, err := c.Exchange(context.Background(), msg, packed, timeout)
	switch {
	case errors.Is(err, frameclient.ErrNotSent):
		// Nothing left: the connection had closed, or the message has no
		// trace number.
		return nil, fmt.Errorf("%w: issuer %s: %w", ErrDown, l.cfg.Name, err)
	case err != nil:
		return nil, fmt.Errorf("%w: issuer %s: %w", ErrNoAnswer, l.cfg.Name, err)
	}
	if err := l.verifyPacked(frame); err != nil {
		return nil, fmt.Errorf("issuer %s: %w", l.cfg.Name, err)
	}
	return resp, nil
}

// Exchange sends msg to the issuer with a MAC under the ZAK and waits up to
// timeout for its answer, whose MAC it checks. The errors tell the caller
// what to do: ErrDown, the message was not sent; ErrNoAnswer or ErrBadMAC,
// it was (or may have been) and must be reversed.
func (l *Link) Exchange(msg *iso8583.Message, timeout time.Duration) (*iso8583.Message, error) {
	l.mu.Lock()
	c, closed := l.conn, l.closed
	l.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	if c == nil {
		return nil, fmt.Errorf("%w: issuer %s", ErrDown, l.cfg.Name)
	}
	return l.send(c, msg, timeout)
}
