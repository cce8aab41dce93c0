package frameclient

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moov-io/iso8583"

	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/isospec/internal/framewrite"
	"github.com/tapsim/tapsim/isospec/tlsconf"
)

// Sentinel errors; every error of Send wraps at least one of them.
var (
	// ErrNotSent reports a request that never reached the wire: it has no
	// request ID, does not pack, its context had ended, or the connection
	// was closed (then the error wraps ErrClosed too).
	ErrNotSent = errors.New("frameclient: request not sent")
	// ErrNoAnswer reports a request that was written but not answered
	// within its timeout or before its context ended.
	ErrNoAnswer = errors.New("frameclient: no answer in time")
	// ErrClosed reports a connection that is closed, or that closed while a
	// request waited for its answer.
	ErrClosed = errors.New("frameclient: connection closed")
	// ErrDial reports a connection that could not be opened: the dial or
	// the TLS handshake failed or took too long.
	ErrDial = errors.New("frameclient: connect failed")
	// ErrConfig reports an unusable configuration given to Dial.
	ErrConfig = errors.New("frameclient: invalid configuration")
)

// Defaults of the Config fields left zero.
const (
	// DefaultDialTimeout bounds a connect, TLS handshake included.
	DefaultDialTimeout = 5 * time.Second
	// DefaultFrameTimeout bounds the reading of one frame, header to last
	// byte.
	DefaultFrameTimeout = 10 * time.Second
	// DefaultWriteTimeout bounds the writing of one frame.
	DefaultWriteTimeout = 10 * time.Second
	// DefaultMaxFrame is the longest frame accepted (header excluded): the
	// longest message of the dialect.
	DefaultMaxFrame = isospec.MaxMessageLen
	// DefaultMaxInFlight is the number of handler calls of one connection
	// running at once.
	DefaultMaxInFlight = 8
)

// RequestIDFunc names the exchange a message belongs to: a request and its
// answer must give the same ID.
type RequestIDFunc func(*iso8583.Message) (string, error)

// Handler receives a message that no Send waits for, on its own goroutine.
// ctx ends when the connection closes. A Handler may answer through
// c.Reply; it must not call c.Close, which waits for the handlers.
type Handler func(ctx context.Context, c *Conn, msg *iso8583.Message)

// Config sets up a connection. Zero durations and sizes take the defaults
// above; a negative one is refused.
type Config struct {
	// Addr is the peer's TCP address, host:port.
	Addr string
	// TLS, when set, makes the connection a TLS client (through
	// tlsconf.Connect) with this configuration, typically built by
	// tlsconf.Client; nil dials plain TCP.
	TLS *tls.Config
	// DialTimeout bounds the whole connect, TLS handshake included.
	DialTimeout time.Duration
	// HandshakeTimeout bounds the TLS handshake within DialTimeout
	// (tlsconf.DefaultHandshakeTimeout when zero).
	HandshakeTimeout time.Duration
	// FrameTimeout is the deadline of one received frame, from its first
	// header byte to its last byte.
	FrameTimeout time.Duration
	// WriteTimeout bounds the writing of one frame.
	WriteTimeout time.Duration
	// IdleTimeout, when set, closes the connection when no frame starts
	// for that long; zero waits for frames without limit.
	IdleTimeout time.Duration
	// MaxFrame is the longest frame accepted (header excluded), checked on
	// the header before anything is allocated; at most isospec.MaxFrameLen.
	MaxFrame int
	// MaxInFlight caps the handler calls running at once.
	MaxInFlight int
	// RequestID matches answers to requests; nil means
	// isospec.RequestIDGenerator (terminal ID and STAN).
	RequestID RequestIDFunc
	// Inbound receives the messages that are not answers (requests,
	// advices from the peer); nil drops them.
	Inbound Handler
	// Unmatched receives the answers that no Send waits for, late answers
	// included; nil drops them. They are counted either way.
	Unmatched Handler
	// OnError, when set, receives what no Send sees: frames skipped
	// because they do not unpack, and why the connection ended. It runs on
	// the reader goroutine and must return promptly. The errors never hold
	// message contents.
	OnError func(error)
}

func (c *Config) check() error {
	switch {
	case c.Addr == "":
		return fmt.Errorf("%w: no address", ErrConfig)
	case c.DialTimeout < 0 || c.HandshakeTimeout < 0 || c.FrameTimeout < 0 || c.WriteTimeout < 0 || c.IdleTimeout < 0:
		return fmt.Errorf("%w: negative timeout", ErrConfig)
	case c.MaxFrame < 0 || c.MaxFrame > isospec.MaxFrameLen:
		return fmt.Errorf("%w: max frame %d outside 0..%d", ErrConfig, c.MaxFrame, isospec.MaxFrameLen)
	case c.MaxInFlight < 0:
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
	def(&c.DialTimeout, DefaultDialTimeout)
	def(&c.FrameTimeout, DefaultFrameTimeout)
	def(&c.WriteTimeout, DefaultWriteTimeout)
	if c.MaxFrame == 0 {
		c.MaxFrame = DefaultMaxFrame
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	if c.RequestID == nil {
		c.RequestID = isospec.RequestIDGenerator{}.GenerateRequestID
	}
	if c.TLS != nil {
		c.TLS = c.TLS.Clone()
	}
}

// Stats counts what a connection has seen.
type Stats struct {
	// Sent counts the requests written, Answered those that got their
	// answer, NoAnswer those that did not.
	Sent, Answered, NoAnswer uint64
	// Late counts the answers that no Send waited for (dropped, or handed
	// to Unmatched).
	Late uint64
	// Inbound counts the messages that were not answers.
	Inbound uint64
	// Malformed counts the frames skipped because they did not unpack or
	// gave no request ID.
	Malformed uint64
}

// Conn is one client connection. It is safe for concurrent use.
type Conn struct {
	cfg  Config
	raw  net.Conn // for deadlines and the final close
	rw   net.Conn // raw, or the TLS connection over it
	w    *framewrite.Writer
	sem  chan struct{}
	hwg  sync.WaitGroup // handler calls
	hctx context.Context
	stop context.CancelFunc

	mu      sync.Mutex
	pending map[string]chan answer
	cause   error

	once     sync.Once
	done     chan struct{} // closed when the connection starts closing
	finished chan struct{} // closed when the reader and handlers have ended

	lastWrite                                          atomic.Int64 // unix nanoseconds
	sent, answered, noAnswer, late, inbound, malformed atomic.Uint64
}

// Dial checks cfg, connects to cfg.Addr (and performs the TLS handshake)
// within cfg.DialTimeout, and starts reading. ctx bounds the connect only.
func Dial(ctx context.Context, cfg Config) (*Conn, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	cfg.defaults()
	dctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
	defer cancel()
	var d net.Dialer
	raw, err := d.DialContext(dctx, "tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrDial, cfg.Addr, err)
	}
	rw := raw
	if cfg.TLS != nil {
		tc, err := tlsconf.Connect(dctx, raw, cfg.TLS, cfg.HandshakeTimeout)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrDial, err)
		}
		rw = tc
	}
	return start(raw, rw, cfg), nil
}

func start(raw, rw net.Conn, cfg Config) *Conn {
	c := &Conn{
		cfg: cfg, raw: raw, rw: rw,
		w: framewrite.New(func(b []byte) (int, error) {
			_ = raw.SetWriteDeadline(time.Now().Add(cfg.WriteTimeout))
			return rw.Write(b)
		}),
		sem:      make(chan struct{}, cfg.MaxInFlight),
		pending:  map[string]chan answer{},
		done:     make(chan struct{}),
		finished: make(chan struct{}),
	}
	c.hctx, c.stop = context.WithCancel(context.Background())
	c.lastWrite.Store(time.Now().UnixNano())
	go c.readLoop()
	return c
}

// Addr is the peer's address as configured.
func (c *Conn) Addr() string { return c.cfg.Addr }

// Done is closed when the connection starts closing, by Close or because
// the peer or the network ended it.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err reports why the connection closed, or nil while it is open.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cause
}

// Idle is the time since a frame was last written (or since the connect).
func (c *Conn) Idle() time.Duration {
	return time.Since(time.Unix(0, c.lastWrite.Load()))
}

// Stats returns the connection's counters.
func (c *Conn) Stats() Stats {
	return Stats{
		Sent: c.sent.Load(), Answered: c.answered.Load(), NoAnswer: c.noAnswer.Load(),
		Late: c.late.Load(), Inbound: c.inbound.Load(), Malformed: c.malformed.Load(),
	}
}

// Close closes the connection: the reader ends, every waiting Send returns
// ErrClosed, and Close returns once the reader and every handler call have
// ended. Later calls wait the same way. It must not be called from a
// Handler.
func (c *Conn) Close() error {
	c.shut(ErrClosed)
	<-c.finished
	return nil
}

// shut starts closing once: it records why, wakes every waiting Send and
// closes the socket, which ends the reader and any write at once.
func (c *Conn) shut(cause error) {
	c.once.Do(func() {
		c.mu.Lock()
		c.cause = cause
		c.pending = nil
		c.mu.Unlock()
		close(c.done)
		c.stop()
		_ = c.raw.Close()
	})
}

// Send writes msg and waits up to timeout, or until ctx ends, for the
// answer with the same request ID. The message is packed and checked
// before anything is written. Errors: ErrNotSent (with ErrClosed when the
// connection was closed) when nothing was written; ErrNoAnswer when the
// answer did not come in time; ErrClosed alone when the connection closed
// after the request was written, or while it was being written.
func (c *Conn) Send(ctx context.Context, msg *iso8583.Message, timeout time.Duration) (*iso8583.Message, error) {
	if msg == nil {
		return nil, fmt.Errorf("%w: no message", ErrNotSent)
	}
	packed, err := isospec.Pack(msg)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotSent, err)
	}
	return c.SendPacked(ctx, msg, packed, timeout)
}

// SendPacked is Send for a message the caller has already packed (and so
// checked) with isospec.Pack or isospec.PackWithMAC: packed is written as
// it is, and msg gives the request ID.
func (c *Conn) SendPacked(ctx context.Context, msg *iso8583.Message, packed []byte, timeout time.Duration) (*iso8583.Message, error) {
	resp, _, err := c.Exchange(ctx, msg, packed, timeout)
	return resp, err
}

// answer is an answer as read: the message and the frame it came in.
type answer struct {
	msg   *iso8583.Message
	frame []byte
}

// Exchange is SendPacked that also returns the frame the answer came in
// (length header excluded), for a MAC check over the bytes received.
func (c *Conn) Exchange(ctx context.Context, msg *iso8583.Message, packed []byte, timeout time.Duration) (*iso8583.Message, []byte, error) {
	if msg == nil {
		return nil, nil, fmt.Errorf("%w: no message", ErrNotSent)
	}
	id, err := c.cfg.RequestID(msg)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: request ID: %w", ErrNotSent, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrNotSent, err)
	}
	if timeout <= 0 {
		return nil, nil, fmt.Errorf("%w: no time to wait for an answer", ErrNotSent)
	}
	ch := make(chan answer, 1) // the reader never waits on it
	c.mu.Lock()
	switch {
	case c.pending == nil:
		cause := c.cause
		c.mu.Unlock()
		return nil, nil, fmt.Errorf("%w: %w", ErrNotSent, closedErr(cause))
	case c.pending[id] != nil:
		c.mu.Unlock()
		return nil, nil, fmt.Errorf("%w: request %s already waits for its answer", ErrNotSent, id)
	}
	c.pending[id] = ch
	c.mu.Unlock()

	if n, err := c.write(packed); err != nil {
		c.forget(id, ch)
		if n == 0 {
			return nil, nil, fmt.Errorf("%w: %w", ErrNotSent, err)
		}
		return nil, nil, fmt.Errorf("frameclient: request %s cut short: %w", id, closedErr(err))
	}
	c.sent.Add(1)
	t := time.NewTimer(timeout)
	defer t.Stop()
	var why error
	select {
	case a := <-ch:
		c.answered.Add(1)
		return a.msg, a.frame, nil
	case <-t.C:
		why = fmt.Errorf("%w: request %s, %s", ErrNoAnswer, id, timeout)
	case <-ctx.Done():
		why = fmt.Errorf("%w: request %s: %w", ErrNoAnswer, id, ctx.Err())
	case <-c.done:
		why = fmt.Errorf("frameclient: request %s: %w", id, closedErr(c.Err()))
	}
	c.forget(id, ch)
	// The answer may have been handed over just as the wait ended.
	select {
	case a := <-ch:
		c.answered.Add(1)
		return a.msg, a.frame, nil
	default:
	}
	c.noAnswer.Add(1)
	return nil, nil, why
}

// closedErr wraps ErrClosed around why a connection closed.
func closedErr(cause error) error {
	if cause == nil || errors.Is(cause, ErrClosed) {
		return ErrClosed
	}
	return fmt.Errorf("%w: %w", ErrClosed, cause)
}

// forget stops waiting for id's answer.
func (c *Conn) forget(id string, ch chan answer) {
	c.mu.Lock()
	if c.pending != nil && c.pending[id] == ch {
		delete(c.pending, id)
	}
	c.mu.Unlock()
}

// Reply writes msg without waiting for anything: the answer to a request
// from the peer. The message is packed and checked first.
func (c *Conn) Reply(msg *iso8583.Message) error {
	if msg == nil {
		return fmt.Errorf("frameclient: reply: %w: no message", ErrNotSent)
	}
	packed, err := isospec.Pack(msg)
	if err != nil {
		return fmt.Errorf("frameclient: reply: %w: %w", ErrNotSent, err)
	}
	if _, err := c.write(packed); err != nil {
		return fmt.Errorf("frameclient: reply: %w", err)
	}
	return nil
}

// write writes one frame within WriteTimeout, alone or with the frames of
// concurrent calls (framewrite), and returns how many bytes of it were
// written. A failed write closes the connection: the stream may hold part
// of a frame.
func (c *Conn) write(packed []byte) (int, error) {
	if len(packed) > isospec.MaxFrameLen {
		return 0, fmt.Errorf("frameclient: frame of %d bytes does not fit the header: %w", len(packed), isospec.ErrFrame)
	}
	select {
	case <-c.done:
		return 0, closedErr(c.Err())
	default:
	}
	n, err := c.w.Write(packed)
	if err != nil {
		select {
		case <-c.done:
			err = fmt.Errorf("frameclient: write to %s: %w", c.cfg.Addr, closedErr(c.Err()))
		default:
			err = fmt.Errorf("frameclient: write to %s: %w", c.cfg.Addr, err)
		}
		c.shut(err)
		return n, err
	}
	c.lastWrite.Store(time.Now().UnixNano())
	return n, nil
}

// readLoop reads frames and hands them out until the connection ends; then
// it closes the connection, waits for the handlers and marks the end.
func (c *Conn) readLoop() {
	cause := c.read()
	c.shut(cause)
	c.hwg.Wait()
	if c.cfg.OnError != nil && !errors.Is(cause, ErrClosed) {
		c.cfg.OnError(cause)
	}
	close(c.finished)
}

// read is the reading itself; it returns why it stopped.
func (c *Conn) read() error {
	br := bufio.NewReaderSize(c.rw, 1024)
	for {
		idle := time.Time{}
		if c.cfg.IdleTimeout > 0 {
			idle = time.Now().Add(c.cfg.IdleTimeout)
		}
		_ = c.raw.SetReadDeadline(idle)
		first, err := br.ReadByte()
		if err != nil {
			return c.readErr("frameclient: connection idle", err)
		}
		_ = c.raw.SetReadDeadline(time.Now().Add(c.cfg.FrameTimeout))
		second, err := br.ReadByte()
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF // the frame had begun
		}
		if err != nil {
			return c.readErr("frameclient: frame header not complete in time", err)
		}
		n := int(first)<<8 | int(second)
		if n > c.cfg.MaxFrame {
			return fmt.Errorf("frameclient: frame from %s: %d bytes announced, limit %d: %w", c.cfg.Addr, n, c.cfg.MaxFrame, isospec.ErrFrameTooLong)
		}
		frame := make([]byte, n)
		if _, err := io.ReadFull(br, frame); err != nil {
			return c.readErr("frameclient: frame not complete in time", err)
		}
		if !c.dispatch(frame) {
			return ErrClosed
		}
	}
}

// readErr explains a failed read: the connection closed here, a deadline
// passed (timeout names which), or the peer or the network ended it.
func (c *Conn) readErr(timeout string, err error) error {
	select {
	case <-c.done:
		return ErrClosed
	default:
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("%s: %s: %w", timeout, c.cfg.Addr, err)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("frameclient: %s closed the connection: %w", c.cfg.Addr, err)
	}
	return fmt.Errorf("frameclient: read from %s: %w", c.cfg.Addr, err)
}

// dispatch hands one frame to its waiting Send or to a handler; false
// means the connection is closing.
func (c *Conn) dispatch(frame []byte) bool {
	msg, err := isospec.Unpack(frame)
	if err != nil {
		c.skip(fmt.Errorf("frameclient: frame from %s skipped: %w", c.cfg.Addr, err))
		return true
	}
	mti, _ := msg.GetMTI()
	if !IsAnswer(isospec.MTI(mti)) {
		c.inbound.Add(1)
		return c.handle(c.cfg.Inbound, msg)
	}
	id, err := c.cfg.RequestID(msg)
	if err != nil {
		c.skip(fmt.Errorf("frameclient: answer from %s skipped: %w", c.cfg.Addr, err))
		return true
	}
	c.mu.Lock()
	ch := c.pending[id]
	if ch != nil {
		delete(c.pending, id)
	}
	c.mu.Unlock()
	if ch != nil {
		ch <- answer{msg, frame} // room for one, and only this reader sends
		return true
	}
	c.late.Add(1)
	return c.handle(c.cfg.Unmatched, msg)
}

func (c *Conn) skip(err error) {
	c.malformed.Add(1)
	if c.cfg.OnError != nil {
		c.cfg.OnError(err)
	}
}

// handle runs h on its own goroutine once a slot is free; false means the
// connection closed while waiting for one.
func (c *Conn) handle(h Handler, msg *iso8583.Message) bool {
	if h == nil {
		return true
	}
	select {
	case <-c.done:
		return false
	default:
	}
	select {
	case c.sem <- struct{}{}:
	case <-c.done:
		return false
	}
	c.hwg.Add(1)
	go func() {
		defer c.hwg.Done()
		defer func() { <-c.sem }()
		defer func() {
			if r := recover(); r != nil {
				c.shut(fmt.Errorf("frameclient: handler panicked: %v", r))
			}
		}()
		h(c.hctx, c, msg)
	}()
	return true
}

// IsAnswer reports whether mti is an answer to a request: its third digit
// (the message function) is odd, as in 0110, 0810 or 0430.
func IsAnswer(mti isospec.MTI) bool {
	return len(mti) == 4 && mti[2] >= '0' && mti[2] <= '9' && (mti[2]-'0')%2 == 1
}
