// Package client is the terminal's ISO 8583 link to the acquirer: one TCP
// connection (isospec/frameclient) speaking the isospec dialect, opened on
// first use and opened again after it fails. Closing the client, or losing
// the connection, ends every goroutine of the connection, whatever the
// acquirer still sends.
//
// Send tells the caller what it must do about a request that got no answer.
// An error wrapping ErrNotSent means the request never left: nothing to
// undo. An error wrapping ErrNoAnswer means it may have reached the host: the
// terminal must reverse it. Frames the acquirer sends that do not parse are
// skipped; the connection keeps reading. A frame that does not arrive whole
// within frameclient.DefaultFrameTimeout, or announces more than the longest
// message of the dialect, closes the connection.
package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/moov-io/iso8583"

	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/isospec/frameclient"
)

// Sentinel errors; every error of Send wraps one of them.
var (
	// ErrNotSent reports a request that never reached the wire: the
	// acquirer could not be reached, or the message does not pack.
	ErrNotSent = errors.New("client: request not sent")
	// ErrNoAnswer reports a request that was (or may have been) sent but got
	// no answer in time, or whose connection dropped before the answer.
	ErrNoAnswer = errors.New("client: no answer from host")
	// ErrClosed reports a client that was closed.
	ErrClosed = errors.New("client: closed")
)

// DefaultConnectTimeout bounds the connect, TLS handshake included.
const DefaultConnectTimeout = 5 * time.Second

// Options tune a Client. The zero value is usable.
type Options struct {
	// ConnectTimeout bounds each connection attempt; zero means
	// DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// TLS, when set, makes the client dial TLS with this configuration
	// (the acquirer's CA, the terminal's own certificate, the server name;
	// see isospec/tlsconf); nil dials plain TCP. Over TLS 1.3 a certificate
	// the acquirer refuses shows only on the first read, so a request sent
	// on such a connection fails with ErrNoAnswer, not ErrNotSent.
	TLS *tls.Config
	// OnUnmatched, when set, receives messages from the host that answer
	// no pending request (a response that came after its request timed
	// out, or a request from the host). It is called on its own goroutine,
	// a few at a time; Close waits for the calls under way.
	OnUnmatched func(*iso8583.Message)
	// OnError, when set, receives errors of the connection that no caller
	// sees (an unreadable frame from the host, a dropped connection). It
	// must return promptly: the connection reads nothing meanwhile. The
	// errors never hold message contents.
	OnError func(error)
}

// Client is a connection to one acquirer. It is safe for concurrent use.
type Client struct {
	addr string
	opts Options

	mu     sync.Mutex
	conn   *frameclient.Conn
	closed bool
}

// New returns a client for the acquirer at addr (host:port). It connects on
// the first Send.
func New(addr string, o Options) *Client {
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = DefaultConnectTimeout
	}
	return &Client{addr: addr, opts: o}
}

// Addr is the acquirer's address.
func (c *Client) Addr() string { return c.addr }

// Connect opens the connection now if it is not open.
func (c *Client) Connect(ctx context.Context) error {
	_, err := c.connection(ctx)
	return err
}

// connection returns the open connection, opening one if needed. The lock
// is held while dialling so that concurrent Sends share one connection.
func (c *Client) connection(ctx context.Context) (*frameclient.Conn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, fmt.Errorf("%w: %w", ErrNotSent, ErrClosed)
	}
	if c.conn != nil {
		select {
		case <-c.conn.Done():
			c.conn = nil // dropped: its reader has ended or is ending
		default:
			return c.conn, nil
		}
	}
	cfg := frameclient.Config{
		Addr:        c.addr,
		TLS:         c.opts.TLS,
		DialTimeout: c.opts.ConnectTimeout,
	}
	if f := c.opts.OnUnmatched; f != nil {
		cfg.Inbound = func(_ context.Context, _ *frameclient.Conn, m *iso8583.Message) { f(m) }
		cfg.Unmatched = cfg.Inbound
	}
	if f := c.opts.OnError; f != nil {
		cfg.OnError = func(err error) { f(fmt.Errorf("client: %s: %w", c.addr, err)) }
	}
	conn, err := frameclient.Dial(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotSent, err)
	}
	c.conn = conn
	return conn, nil
}

// Send sends req and waits up to timeout (or the context's end, if sooner)
// for the answer with the same terminal ID and STAN. The message is packed
// and checked before anything is written, so a message that does not pack
// is ErrNotSent. A connection that cannot be opened is ErrNotSent; an
// answer that does not come in time, or a connection lost while waiting, is
// ErrNoAnswer.
func (c *Client) Send(ctx context.Context, req *iso8583.Message, timeout time.Duration) (*iso8583.Message, error) {
	if req == nil {
		return nil, fmt.Errorf("%w: no message", ErrNotSent)
	}
	packed, err := isospec.Pack(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotSent, err)
	}
	return c.SendPacked(ctx, req, packed, timeout)
}

// SendPacked is Send for a request the caller has already packed (and so
// checked) with isospec.Pack or isospec.PackWithMAC: packed is written as
// it is.
func (c *Client) SendPacked(ctx context.Context, req *iso8583.Message, packed []byte, timeout time.Duration) (*iso8583.Message, error) {
	resp, _, err := c.Exchange(ctx, req, packed, timeout)
	return resp, err
}

// Exchange is SendPacked that also returns the frame the answer came in
// (length header excluded), for a MAC check over the bytes received.
func (c *Client) Exchange(ctx context.Context, req *iso8583.Message, packed []byte, timeout time.Duration) (*iso8583.Message, []byte, error) {
	if req == nil {
		return nil, nil, fmt.Errorf("%w: no message", ErrNotSent)
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrNotSent, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl); left < timeout {
			timeout = left
		}
	}
	if timeout <= 0 {
		return nil, nil, fmt.Errorf("%w: no time left", ErrNotSent)
	}
	conn, err := c.connection(ctx)
	if err != nil {
		return nil, nil, err
	}
	resp, frame, err := conn.Exchange(ctx, req, packed, timeout)
	switch {
	case err == nil:
		return resp, frame, nil
	case errors.Is(err, frameclient.ErrNotSent):
		if errors.Is(err, frameclient.ErrClosed) {
			c.forget(conn)
		}
		return nil, nil, fmt.Errorf("%w: %w", ErrNotSent, err)
	case errors.Is(err, frameclient.ErrClosed):
		c.forget(conn)
		return nil, nil, fmt.Errorf("%w: connection to %s closed: %w", ErrNoAnswer, c.addr, err)
	}
	return nil, nil, fmt.Errorf("%w: %w", ErrNoAnswer, err)
}

// forget drops conn so that the next Send opens a new connection, and
// closes it.
func (c *Client) forget(conn *frameclient.Conn) {
	c.mu.Lock()
	if c.conn == conn {
		c.conn = nil
	}
	c.mu.Unlock()
	_ = conn.Close()
}

// Close closes the connection and returns once its goroutines have ended;
// later Sends fail with ErrClosed.
func (c *Client) Close() error {
	c.mu.Lock()
	conn := c.conn
	c.conn = nil
	c.closed = true
	c.mu.Unlock()
	if conn != nil {
		return conn.Close()
	}
	return nil
}
