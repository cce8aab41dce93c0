package frameserver

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/isospec/internal/framewrite"
	"github.com/tapsim/tapsim/isospec/tlsconf"
)

// Defaults of the Config fields left zero.
const (
	// DefaultIdleTimeout closes a connection on which no frame starts for
	// 5 minutes: well above the issuer links' echo interval (30 s) and a
	// terminal's pause between sales, short enough that idle sockets do
	// not pile up.
	DefaultIdleTimeout = 5 * time.Minute
	// DefaultFrameTimeout bounds the reading of one frame, header to last
	// byte.
	DefaultFrameTimeout = 10 * time.Second
	// DefaultWriteTimeout bounds the writing of one reply.
	DefaultWriteTimeout = 10 * time.Second
	// DefaultMaxFrame is the largest frame accepted, header excluded: 8
	// KiB, five times isospec.MaxMessageLen, the longest legal message.
	DefaultMaxFrame = 8 << 10
	// DefaultMaxConns is the number of connections served at once.
	DefaultMaxConns = 256
	// DefaultEvictIdle is how long after its last byte before its first
	// frame a connection that has not proved its peer (Vouch) keeps its
	// place against a newcomer when MaxConns are open.
	DefaultEvictIdle = 2 * time.Second
	// DefaultMaxProved is how many connections one peer keeps proved at
	// once (see Vouch).
	DefaultMaxProved = 2
	// DefaultMaxInFlight is the number of frames of one connection handled
	// at once: an acquirer's issuer link carries every terminal's requests.
	DefaultMaxInFlight = 32
	// DefaultLogBurst is how many lines of one kind of network event are
	// logged per log interval before they are only counted.
	DefaultLogBurst = 10
)

// ErrConfig reports an unusable configuration given to Listen.
var ErrConfig = errors.New("frameserver: invalid configuration")

// Handler answers one frame (length header excluded). It returns the reply
// to write (nil for none) and whether to close the connection after the
// replies in hand are written. ctx ends once Close has finished waiting
// for the handlers. A Handler must not keep frame after it returns.
type Handler func(ctx context.Context, frame []byte) (reply []byte, hangUp bool)

// Config sets up a Server. Zero durations and sizes take the defaults
// above; a negative one is refused.
type Config struct {
	// Addr is the TCP address to listen on.
	Addr string
	// TLS, when set, makes every connection a TLS server (through
	// tlsconf.Accept) before its first frame; nil serves plain TCP.
	TLS *tls.Config
	// HandshakeTimeout bounds a TLS handshake
	// (tlsconf.DefaultHandshakeTimeout when zero).
	HandshakeTimeout time.Duration
	// IdleTimeout closes a connection on which no frame starts for that
	// long while none of its frames is in hand (read whole and not yet
	// answered, its reply written).
	IdleTimeout time.Duration
	// FrameTimeout is the deadline of one frame, from its first header
	// byte to its last byte.
	FrameTimeout time.Duration
	// WriteTimeout bounds the writing of one reply.
	WriteTimeout time.Duration
	// MaxFrame is the longest message accepted (header excluded), checked
	// on the header before anything is allocated; at most
	// isospec.MaxFrameLen.
	MaxFrame int
	// MaxConns caps the connections served at once, handshakes included.
	// When they are all open, a newcomer takes the place of an unproved
	// one (see Vouch), EvictIdle after the last byte read or written
	// before its first whole frame (handshake bytes included), after its
	// accept, or after the loss of its proof; the one longest past that
	// stops reading, the handlers of the frames it has in hand run and
	// their replies go out within WriteTimeout of the eviction (later
	// ones are dropped, as are frames queued past it), and it is closed.
	// Those closing do not count against MaxConns while there are fewer
	// than MaxConns of them (descriptors stay under twice the cap); with
	// as many, or with no unproved connection past EvictIdle, the
	// newcomer is closed at once. So clients that connect and say nothing,
	// or send what proves nothing, hold a place at the cap for EvictIdle
	// after their first frame, or about FrameTimeout (and HandshakeTimeout
	// over TLS) plus EvictIdle if they trickle bytes before it, rather
	// than IdleTimeout; a proved connection keeps its place until its idle
	// timeout.
	MaxConns int
	// EvictIdle is how long an unproved connection keeps its place once a
	// newcomer finds MaxConns open (DefaultEvictIdle when zero); one as
	// long as IdleTimeout or longer turns eviction off.
	EvictIdle time.Duration
	// MaxProved is how many connections one peer, as named to Vouch, keeps
	// proved at once (DefaultMaxProved when zero): proving another takes
	// the proof of the one proved least recently, so a replayed or stolen
	// proof holds few places.
	MaxProved int
	// MaxInFlight caps the frames of one connection handled at once.
	MaxInFlight int
	// Handler answers the frames. Required.
	Handler Handler
	// Peer names the clients in log lines ("terminal", "acquirer").
	Peer string
	// Logger receives the server's lines; nil discards them.
	Logger *slog.Logger
	// LogInterval and LogBurst set the Limiter of the network events
	// (DefaultLogInterval and DefaultLogBurst when zero).
	LogInterval time.Duration
	LogBurst    int
	// Now is the clock of the log limiter (time.Now when nil); deadlines
	// always use the system clock.
	Now func() time.Time
}

func (c *Config) check() error {
	switch {
	case c.Handler == nil:
		return fmt.Errorf("%w: no handler", ErrConfig)
	case c.IdleTimeout < 0 || c.FrameTimeout < 0 || c.WriteTimeout < 0 || c.HandshakeTimeout < 0 || c.EvictIdle < 0:
		return fmt.Errorf("%w: negative timeout", ErrConfig)
	case c.MaxFrame < 0 || c.MaxFrame > isospec.MaxFrameLen:
		return fmt.Errorf("%w: max frame %d outside 0..%d", ErrConfig, c.MaxFrame, isospec.MaxFrameLen)
	case c.MaxConns < 0 || c.MaxInFlight < 0 || c.MaxProved < 0:
		return fmt.Errorf("%w: negative limit", ErrConfig)
	}
	return nil
}

func (c *Config) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.IdleTimeout, DefaultIdleTimeout)
	def(&c.FrameTimeout, DefaultFrameTimeout)
	def(&c.WriteTimeout, DefaultWriteTimeout)
	def(&c.EvictIdle, DefaultEvictIdle)
	if c.MaxFrame == 0 {
		c.MaxFrame = DefaultMaxFrame
	}
	if c.MaxConns == 0 {
		c.MaxConns = DefaultMaxConns
	}
	if c.MaxProved == 0 {
		c.MaxProved = DefaultMaxProved
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	if c.LogBurst == 0 {
		c.LogBurst = DefaultLogBurst
	}
	if c.Peer == "" {
		c.Peer = "client"
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Stats counts what a server has seen since it started.
type Stats struct {
	// Active is the number of connections open now, those closing to make
	// room for a newcomer included.
	Active int
	// Accepted counts the connections served, OverCap those closed at once
	// because MaxConns were open and none could make room (none unproved
	// past EvictIdle, or MaxConns closing already), Evicted the unproved
	// ones closed to make room for a newcomer.
	Accepted, OverCap, Evicted uint64
	// Frames counts the frames read whole and handed to the Handler.
	Frames uint64
	// Idle counts connections closed for IdleTimeout, FrameTimeouts those
	// closed because a frame did not arrive in time, TooLong those closed
	// for a frame over MaxFrame.
	Idle, FrameTimeouts, TooLong uint64
	// Handshakes counts failed TLS handshakes (not those cut short by
	// Close or to make room), WriteErrors replies that could not be
	// written (the connection is then closed).
	Handshakes, WriteErrors uint64
	// Workers counts the goroutines started to handle frames. A connection
	// keeps its workers, at most MaxInFlight, until it ends: frames sent
	// one after the other on one connection are all handled by one.
	Workers uint64
}

// Server serves frames on one listener. Create it with Listen.
type Server struct {
	cfg   Config
	ln    net.Listener
	log   *slog.Logger
	limit *Limiter

	ctx    context.Context // handed to handlers; ends after Close
	cancel context.CancelFunc
	shakes context.Context // ends TLS handshakes when Close starts
	endHS  context.CancelFunc

	wg    sync.WaitGroup // accept loop and connections
	mu    sync.Mutex
	conns map[*conn]struct{}
	// evicting counts the connections of conns closed to make room, whose
	// goroutines are ending: they no longer count against MaxConns.
	evicting int
	// proved lists each peer's proved connections, the one proved least
	// recently first.
	proved map[string][]*conn
	closed bool
	done   chan struct{} // closed when Close has finished

	accepted, overCap, evicted, frames, idle, frameTimeouts, tooLong, handshakes, writeErrors, workers atomic.Uint64
}

// Listen checks cfg, listens on cfg.Addr and serves until Close.
func Listen(cfg Config) (*Server, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	cfg.defaults()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("frameserver: listen: %w", err)
	}
	return serve(ln, cfg), nil
}

func serve(ln net.Listener, cfg Config) *Server {
	s := &Server{
		cfg: cfg, ln: ln, log: cfg.Logger,
		limit:  &Limiter{Logger: cfg.Logger, Level: slog.LevelWarn, Interval: cfg.LogInterval, Burst: cfg.LogBurst, Now: cfg.Now},
		conns:  map[*conn]struct{}{},
		proved: map[string][]*conn{},
		done:   make(chan struct{}),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.shakes, s.endHS = context.WithCancel(context.Background())
	s.wg.Add(1)
	go s.acceptLoop()
	return s
}

// Addr returns the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	active := len(s.conns)
	s.mu.Unlock()
	return Stats{
		Active: active, Accepted: s.accepted.Load(), OverCap: s.overCap.Load(), Evicted: s.evicted.Load(), Frames: s.frames.Load(),
		Idle: s.idle.Load(), FrameTimeouts: s.frameTimeouts.Load(), TooLong: s.tooLong.Load(),
		Handshakes: s.handshakes.Load(), WriteErrors: s.writeErrors.Load(), Workers: s.workers.Load(),
	}
}

// Close stops accepting and reading, waits until every frame handed to a
// handler is answered (one still waiting for its MaxInFlight slot is
// dropped), closes the connections and returns once every goroutine of the
// server has ended. Later calls wait for the first to finish.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		<-s.done
		return nil
	}
	s.closed = true
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	err := s.ln.Close()
	s.endHS()
	for _, c := range conns {
		c.stop()
	}
	s.wg.Wait()
	s.cancel()
	s.limit.Flush()
	close(s.done)
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("frameserver: close listener: %w", err)
	}
	return nil
}

func (s *Server) acceptLoop() {
	defer s.wg.Done()
	var delay time.Duration
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || s.isClosed() {
				return
			}
			// Out of descriptors or a similar passing failure: back off
			// rather than spin.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.limit.Log(s.cfg.Peer+" accept failed", slog.String("error", err.Error()))
			time.Sleep(delay)
			continue
		}
		delay = 0
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			_ = nc.Close()
			return
		}
		var old *conn
		if len(s.conns)-s.evicting >= s.cfg.MaxConns {
			// Those closing count until they are gone once there are as
			// many as MaxConns: the descriptors stay within twice the cap.
			if s.evicting < s.cfg.MaxConns {
				old = s.unprovedLongest(time.Now())
			}
			if old == nil {
				s.mu.Unlock()
				s.overCap.Add(1)
				s.limit.Log(s.cfg.Peer+" connection over the cap closed", slog.Int("max_conns", s.cfg.MaxConns))
				_ = nc.Close()
				continue
			}
			old.evicted = true
			s.evicting++
			// It reads no more; the replies to the frames it has in hand
			// go out by one deadline (a handshake in progress ends now).
			by := time.Since(old.born) + s.cfg.WriteTimeout
			old.drainBy.Store(int64(by))
			if old.framed.Load() {
				_ = old.raw.SetWriteDeadline(old.born.Add(by))
			} else {
				_ = old.raw.SetWriteDeadline(time.Unix(1, 0))
			}
			old.stop()
			s.evicted.Add(1)
		}
		c := &conn{s: s, born: time.Now(), sem: make(chan struct{}, s.cfg.MaxInFlight),
			jobs: make(chan []byte, s.cfg.MaxInFlight), quit: make(chan struct{})}
		c.raw = &heardConn{Conn: nc, c: c}
		c.rw = c.raw
		c.ctx = context.WithValue(s.ctx, connKey{}, c)
		c.w = framewrite.New(func(b []byte) (int, error) {
			d := time.Now().Add(s.cfg.WriteTimeout)
			if by := c.drainBy.Load(); by != 0 {
				d = c.born.Add(time.Duration(by)) // evicted: no later than that
			}
			_ = c.raw.SetWriteDeadline(d)
			return c.rw.Write(b)
		})
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		s.accepted.Add(1)
		if old != nil {
			s.limit.Log(s.cfg.Peer+" connections at the cap: an unproved one closed for a newcomer",
				slog.Int("max_conns", s.cfg.MaxConns), slog.String("closed", old.raw.RemoteAddr().String()),
				slog.String("newcomer", nc.RemoteAddr().String()))
		}
		go s.serveConn(c)
	}
}

// unprovedLongest returns the unproved connection (see Vouch) that has
// been the longest past its last byte read or written before its first
// whole frame (or its accept, or the moment it lost its proof), if that is
// EvictIdle or more at now; nil if there is none, or if EvictIdle is not
// shorter than IdleTimeout. Connections already closing are left out.
// s.mu is held.
func (s *Server) unprovedLongest(now time.Time) *conn {
	if s.cfg.EvictIdle >= s.cfg.IdleTimeout {
		return nil
	}
	var best *conn
	var since time.Time
	for c := range s.conns {
		if c.evicted || c.down.Load() || c.peer != "" {
			continue
		}
		at := c.born.Add(time.Duration(max(c.heard.Load(), c.lost)))
		if now.Sub(at) < s.cfg.EvictIdle {
			continue
		}
		if best == nil || at.Before(since) {
			best, since = c, at
		}
	}
	return best
}

// heardConn records when bytes were last read from or written to a
// connection until its first frame has been read whole: a handshake, or a
// first frame, in progress keeps its place at the cap; once it has sent a
// frame, only a proof keeps it past EvictIdle.
type heardConn struct {
	net.Conn
	c *conn
}

func (h *heardConn) Read(b []byte) (int, error) {
	n, err := h.Conn.Read(b)
	if n > 0 && !h.c.framed.Load() {
		h.c.heard.Store(int64(time.Since(h.c.born)))
	}
	return n, err
}

func (h *heardConn) Write(b []byte) (int, error) {
	n, err := h.Conn.Write(b)
	if n > 0 && !h.c.framed.Load() {
		h.c.heard.Store(int64(time.Since(h.c.born)))
	}
	return n, err
}

// connKey is the context key of the connection a frame came on.
type connKey struct{}

// Vouch records that the frame being handled with ctx proved its peer,
// named peer (a MAC verified under the key the host holds for a terminal
// ID, say): at MaxConns a newcomer never takes the place of its
// connection. One peer keeps MaxProved connections proved: proving another
// takes the proof of the one that proved itself least recently, which
// from then on may make room like a connection just accepted. (A proof
// replayed by someone on the network path can so take a connection's;
// plain TCP does not stand against such an attacker, TLS with client
// certificates does.) A Handler calls it, before it returns, with the
// context it was given or one made by Carry; on any other context, with
// an empty peer, or for a connection closing, it does nothing. A TLS
// connection whose client certificate the handshake verified is proved
// from the start, its peer named by the certificate's subject.
func Vouch(ctx context.Context, peer string) {
	if c, ok := ctx.Value(connKey{}).(*conn); ok && peer != "" {
		c.s.vouch(c, peer)
	}
}

// vouch proves c as peer's; for the connection that proved itself last
// as peer's it only takes s.mu.
func (s *Server) vouch(c *conn, peer string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.evicted || c.gone || c.down.Load() {
		return
	}
	if list := s.proved[peer]; c.peer == peer && list[len(list)-1] == c {
		return // the peer's last proved already
	}
	// The peer's list runs from the connection proved least recently to
	// the one proved last: a proof taken falls on the one that has not
	// proved itself for longest.
	s.unprove(c)
	c.peer = peer
	list := append(s.proved[peer], c)
	if len(list) > s.cfg.MaxProved {
		old := list[0]
		old.peer = ""
		// Its place at the cap runs from now, behind the connections
		// that never proved anything.
		old.lost = int64(time.Since(old.born))
		list = list[1:]
	}
	s.proved[peer] = list
}

// unprove takes c's proof, if it has one. s.mu is held.
func (s *Server) unprove(c *conn) {
	if c.peer == "" {
		return
	}
	list := s.proved[c.peer]
	for i, x := range list {
		if x == c {
			list = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(s.proved, c.peer)
	} else {
		s.proved[c.peer] = list
	}
	c.peer = ""
}

// Carry returns parent carrying the connection of ctx, a Handler's
// context, so that Vouch on it reaches that connection: for a Handler that
// does its work under a context of its own.
func Carry(parent, ctx context.Context) context.Context {
	if c, ok := ctx.Value(connKey{}).(*conn); ok {
		return context.WithValue(parent, connKey{}, c)
	}
	return parent
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// conn is one client connection.
type conn struct {
	raw net.Conn // for deadlines and the final close
	rw  net.Conn // raw, or the TLS connection over it
	sem chan struct{}
	// born is when the connection was accepted (with the monotonic
	// clock's reading).
	born time.Time
	// pending counts the frames read and not yet answered: handled and
	// their replies written (sem is given back before the write).
	pending atomic.Int32
	// answered is when the last frame was answered, as the time since
	// born (0: none yet); it never goes back.
	answered atomic.Int64
	// heard is when bytes were last read or written before the first
	// frame was read whole (framed), as the time since born (0: none).
	heard  atomic.Int64
	framed atomic.Bool
	// peer names the peer a frame proved (Vouch), or its TLS client
	// certificate did; "" for none. lost is when another connection of
	// its peer took its proof (as the time since born), gone that it has
	// ended. Guarded by the server's mu.
	peer string
	lost int64
	gone bool
	s    *Server
	// ctx is the server's, carrying the connection for Vouch.
	ctx context.Context
	// drainBy, once the connection is closed to make room, is when the
	// replies still in hand must be out by (as the time since born).
	drainBy atomic.Int64
	// jobs queues frames for the connection's workers; workers counts
	// them (only the reader touches it).
	jobs    chan []byte
	workers int
	w       *framewrite.Writer // replies, coalesced when they are ready together
	wg      sync.WaitGroup
	quit    chan struct{}
	once    sync.Once
	down    atomic.Bool
	// evicted: closed to make room for a newcomer (guarded by the
	// server's mu).
	evicted bool
}

// stop makes the reader end: it sees down, or its read fails at once.
func (c *conn) stop() {
	c.once.Do(func() {
		c.down.Store(true)
		close(c.quit)
		_ = c.raw.SetReadDeadline(time.Unix(1, 0))
	})
}

// idleAt reports when the connection is idle for timeout: busy while a
// frame is pending (read and not answered, its reply written), else
// timeout after the last answer, or after the connection was accepted.
func (c *conn) idleAt(timeout time.Duration) (at time.Time, busy bool) {
	if c.pending.Load() > 0 {
		return time.Time{}, true
	}
	return c.born.Add(time.Duration(c.answered.Load()) + timeout), false
}

// markAnswered records an answer given now: the frame is no longer
// pending, and the connection's idle time counts from now (or from a
// later answer another worker recorded first).
func (c *conn) markAnswered(now time.Time) {
	since := int64(now.Sub(c.born))
	for {
		old := c.answered.Load()
		if since <= old || c.answered.CompareAndSwap(old, since) {
			break
		}
	}
	// After answered: a reader that sees nothing pending sees the answer.
	c.pending.Add(-1)
}

// setReadDeadline arms the read deadline and reports whether the
// connection is still to be read (stop may have run just before).
func (c *conn) setReadDeadline(t time.Time) bool {
	_ = c.raw.SetReadDeadline(t)
	return !c.down.Load()
}

func (s *Server) serveConn(c *conn) {
	defer s.wg.Done()
	defer func() {
		if c.drainBy.Load() != 0 {
			_ = c.raw.Close() // closed to make room: no TLS close_notify to wait on
		} else {
			_ = c.rw.Close()
		}
		s.mu.Lock()
		delete(s.conns, c)
		s.unprove(c)
		c.gone = true
		if c.evicted {
			s.evicting--
		}
		s.mu.Unlock()
	}()
	remote := c.raw.RemoteAddr().String()
	if s.cfg.TLS != nil {
		tc, err := tlsconf.Accept(s.shakes, c.raw, s.cfg.TLS, s.cfg.HandshakeTimeout)
		if err != nil {
			if s.shakes.Err() == nil && !c.down.Load() {
				s.handshakes.Add(1)
				s.limit.Log(s.cfg.Peer+" connection refused", slog.String("error", err.Error()))
			}
			return
		}
		c.rw = tc
		if ch := tc.ConnectionState().VerifiedChains; len(ch) > 0 && len(ch[0]) > 0 {
			s.vouch(c, "certificate "+ch[0][0].Subject.String())
		}
		s.log.Debug(s.cfg.Peer+" connection secured", slog.String("remote", remote), slog.String("tls", tlsconf.Describe(tc.ConnectionState())))
	}
	s.readLoop(c, remote)
	c.stop()
	close(c.jobs) // the workers answer what is queued, then end
	c.wg.Wait()
}

// readLoop reads frames and hands them to handlers until the connection
// ends, is stopped, idles out or breaks a limit.
func (s *Server) readLoop(c *conn, remote string) {
	br := bufio.NewReaderSize(c.rw, 1024)
	var idleUntil time.Time // set: the idle deadline, from the last answer
	for {
		deadline := idleUntil
		if deadline.IsZero() {
			deadline = time.Now().Add(s.cfg.IdleTimeout)
		}
		idleUntil = time.Time{}
		if !c.setReadDeadline(deadline) {
			return
		}
		first, err := br.ReadByte()
		if err != nil {
			if c.down.Load() {
				return
			}
			if isTimeout(err) {
				at, busy := c.idleAt(s.cfg.IdleTimeout)
				if busy {
					continue // not idle: frames in hand
				}
				if time.Now().Before(at) {
					idleUntil = at // answered since the deadline was armed
					continue
				}
				s.idle.Add(1)
				s.log.Debug(s.cfg.Peer+" connection idle, closed", slog.String("remote", remote), slog.Duration("idle", s.cfg.IdleTimeout))
				return
			}
			if !errors.Is(err, io.EOF) {
				s.log.Debug(s.cfg.Peer+" connection read failed", slog.String("remote", remote), slog.String("error", err.Error()))
			}
			return
		}
		if !c.setReadDeadline(time.Now().Add(s.cfg.FrameTimeout)) {
			return
		}
		second, err := br.ReadByte()
		n := int(first)<<8 | int(second)
		if err == nil && n > s.cfg.MaxFrame {
			s.tooLong.Add(1)
			s.limit.Log(s.cfg.Peer+" frame too long, connection closed", slog.String("remote", remote), slog.Int("bytes", n), slog.Int("max_frame", s.cfg.MaxFrame))
			return
		}
		var frame []byte
		if err == nil {
			frame = make([]byte, n)
			_, err = io.ReadFull(br, frame)
		}
		if err != nil {
			if c.down.Load() {
				return
			}
			if isTimeout(err) {
				s.frameTimeouts.Add(1)
				s.limit.Log(s.cfg.Peer+" frame not received in time, connection closed", slog.String("remote", remote), slog.Duration("frame_timeout", s.cfg.FrameTimeout))
				return
			}
			s.log.Debug(s.cfg.Peer+" connection ended inside a frame", slog.String("remote", remote), slog.String("error", err.Error()))
			return
		}
		s.frames.Add(1)
		c.framed.Store(true)
		c.pending.Add(1) // in hand from now (the idle timeout waits for it)
		select {
		case c.sem <- struct{}{}:
		case <-c.quit:
			c.pending.Add(-1)
			return
		}
		s.dispatch(c, frame)
	}
}

// dispatch gives a frame, whose slot the reader holds, to a worker of the
// connection: to a new one when the frames in hand outnumber the workers,
// else through the queue to one that is idle or about to be (a worker
// gives its slot back before it writes its reply). Workers live as long as
// the connection, so that a frame does not pay for a new goroutine and the
// growth of its stack; there are never more than MaxInFlight, and the
// queue never holds more than MaxInFlight frames, its capacity.
func (s *Server) dispatch(c *conn, frame []byte) {
	if len(c.sem) > c.workers {
		c.workers++
		s.workers.Add(1)
		c.wg.Add(1)
		go s.work(c, frame)
		return
	}
	c.jobs <- frame
}

// work answers frame, then the frames queued, until the reader closes the
// queue and it is empty: every frame read is answered.
func (s *Server) work(c *conn, frame []byte) {
	defer c.wg.Done()
	s.handle(c, frame)
	for frame := range c.jobs {
		s.handle(c, frame)
	}
}

// handle answers one frame. Its slot is given back once the handler has
// returned, before the reply is written.
func (s *Server) handle(c *conn, frame []byte) {
	defer func() { c.markAnswered(time.Now()) }()
	if by := c.drainBy.Load(); by != 0 && time.Since(c.born) >= time.Duration(by) {
		<-c.sem // closed to make room and past its deadline: no reply could go
		return
	}
	reply, hangUp := s.call(c.ctx, frame)
	<-c.sem
	if reply != nil {
		if err := s.write(c, reply); err != nil {
			s.writeErrors.Add(1)
			s.log.Debug(s.cfg.Peer+" reply not sent, connection closed", slog.String("error", err.Error()))
			hangUp = true
		}
	}
	if hangUp {
		c.stop()
	}
}

// call runs the handler; a panic closes the connection instead of the
// process.
func (s *Server) call(ctx context.Context, frame []byte) (reply []byte, hangUp bool) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error(s.cfg.Peer+" frame handler panicked, connection closed", slog.Any("panic", r))
			reply, hangUp = nil, true
		}
	}()
	return s.cfg.Handler(ctx, frame)
}

func (s *Server) write(c *conn, reply []byte) error {
	if len(reply) > isospec.MaxFrameLen {
		return fmt.Errorf("frameserver: reply of %d bytes does not fit the header: %w", len(reply), isospec.ErrFrame)
	}
	if _, err := c.w.Write(reply); err != nil {
		return fmt.Errorf("frameserver: write reply: %w", err)
	}
	return nil
}

func isTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
