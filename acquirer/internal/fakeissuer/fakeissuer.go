// Package fakeissuer is a scripted issuer host for the acquirer's tests:
// an ISO 8583 server on loopback (iso8583-connection) that answers network
// management, authorisations, reversals and advices with MACs under the
// zone MAC key, or stays silent, as the test says, and records what it
// received.
package fakeissuer

import (
	"net"
	"sync"
	"testing"

	"github.com/moov-io/iso8583"
	connection "github.com/moov-io/iso8583-connection"
	"github.com/moov-io/iso8583-connection/server"

	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/isospec"
)

// Mode is how the issuer treats a class of requests.
type Mode int

const (
	// Answer answers normally.
	Answer Mode = iota
	// Silent never answers.
	Silent
	// BadMAC answers with a corrupted MAC.
	BadMAC
	// Malfunction answers 96 (the issuer could not take it).
	Malfunction
)

// AuthFunc decides the answer to an authorisation: response code, auth
// code, private data and ICC data.
type AuthFunc func(req *isospec.AuthorizationRequest) (rc isospec.ResponseCode, authCode string, pd isospec.PrivateData, icc []byte)

// Issuer is the fake issuer host.
type Issuer struct {
	t   testing.TB
	hsm hsm.MAC
	zak hsm.Handle
	srv *server.Server

	mu       sync.Mutex
	auth     Mode
	advice   Mode
	network  Mode
	authFunc AuthFunc
	received []*iso8583.Message
	conns    []*connection.Connection
	closed   bool
}

// Approve approves with auth code 123456 and an ARPC-like DE55 tag 91.
func Approve(*isospec.AuthorizationRequest) (isospec.ResponseCode, string, isospec.PrivateData, []byte) {
	return isospec.RCApproved, "123456", isospec.PrivateData{}, []byte{0x91, 0x0A, 1, 2, 3, 4, 5, 6, 7, 8, 0x30, 0x30}
}

// Start listens on addr ("127.0.0.1:0" for any port) and serves until the
// test ends or Close.
func Start(t testing.TB, addr string, m hsm.MAC, zak hsm.Handle) *Issuer {
	t.Helper()
	is := &Issuer{t: t, hsm: m, zak: zak, authFunc: Approve}
	is.srv = server.New(isospec.Spec, isospec.ReadMessageLength, isospec.WriteMessageLength)
	err := is.srv.SetOptions(server.WithConnectionFactory(func(nc net.Conn) (*connection.Connection, error) {
		c, err := connection.NewFrom(nc, isospec.Spec, isospec.ReadMessageLength, isospec.WriteMessageLength,
			connection.SetMessageReader(isospec.Framer{}),
			connection.SetMessageWriter(isospec.Framer{}),
			connection.SetRequestIDGenerator(isospec.RequestIDGenerator{}),
			connection.InboundMessageHandler(is.handle),
		)
		if err == nil {
			is.mu.Lock()
			is.conns = append(is.conns, c)
			is.mu.Unlock()
		}
		return c, err
	}))
	if err != nil {
		t.Fatal(err)
	}
	if err := is.srv.Start(addr); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(is.Close)
	return is
}

// Addr returns the listening address.
func (is *Issuer) Addr() string { return is.srv.Addr }

// Close stops listening and drops every connection.
func (is *Issuer) Close() {
	is.mu.Lock()
	conns := is.conns
	is.conns = nil
	is.closed = true
	is.mu.Unlock()
	for _, c := range conns {
		c.TriggerFailure(net.ErrClosed)
	}
	is.srv.Close()
}

// SetAuth sets the mode for authorisations and reversals (0100, 0400).
func (is *Issuer) SetAuth(m Mode) { is.mu.Lock(); is.auth = m; is.mu.Unlock() }

// SetAdvice sets the mode for reversal advices (0420, 0421).
func (is *Issuer) SetAdvice(m Mode) { is.mu.Lock(); is.advice = m; is.mu.Unlock() }

// SetNetwork sets the mode for network management (0800).
func (is *Issuer) SetNetwork(m Mode) { is.mu.Lock(); is.network = m; is.mu.Unlock() }

// SetAuthFunc sets the authorisation decision.
func (is *Issuer) SetAuthFunc(f AuthFunc) { is.mu.Lock(); is.authFunc = f; is.mu.Unlock() }

// Received returns the messages received so far, in order.
func (is *Issuer) Received() []*iso8583.Message {
	is.mu.Lock()
	defer is.mu.Unlock()
	return append([]*iso8583.Message(nil), is.received...)
}

// ReceivedMTI returns the received messages of one type.
func (is *Issuer) ReceivedMTI(mti isospec.MTI) []*iso8583.Message {
	var out []*iso8583.Message
	for _, m := range is.Received() {
		if s, _ := m.GetMTI(); isospec.MTI(s) == mti {
			out = append(out, m)
		}
	}
	return out
}

// MACOK reports whether a received message's MAC verifies under the ZAK.
func (is *Issuer) MACOK(msg *iso8583.Message) bool {
	packed, err := isospec.Pack(msg)
	if err != nil {
		return false
	}
	return isospec.VerifyMAC(packed, func(d, m []byte) error { return is.hsm.VerifyMAC(is.zak, d, m) }) == nil
}

func (is *Issuer) handle(c *connection.Connection, msg *iso8583.Message) {
	is.mu.Lock()
	is.received = append(is.received, msg)
	auth, advice, network, af := is.auth, is.advice, is.network, is.authFunc
	is.mu.Unlock()
	if !is.MACOK(msg) {
		is.fail("fake issuer: message without a valid ZAK MAC")
		return
	}
	mti, _ := msg.GetMTI()
	var (
		resp any
		mode Mode
		err  error
	)
	switch isospec.MTI(mti) {
	case isospec.MTINetworkRequest:
		mode = network
		var req isospec.NetworkManagement
		if err = isospec.Decode(msg, &req); err == nil {
			resp, err = req.Response(isospec.RCApproved)
		}
	case isospec.MTIAuthorizationRequest, isospec.MTIFinancialRequest:
		mode = auth
		var req isospec.AuthorizationRequest
		if err = isospec.Decode(msg, &req); err == nil {
			rc, code, pd, icc := af(&req)
			var r *isospec.AuthorizationResponse
			if r, err = isospec.NewAuthorizationResponse(&req, rc); err == nil {
				r.AuthCode, r.ICCData = code, icc
				r.PrivateData, err = pd.Encode()
				resp = r
			}
		}
	case isospec.MTIReversalRequest, isospec.MTIReversalAdvice, isospec.MTIReversalAdviceRepeat,
		isospec.MTIAuthorizationAdvice, isospec.MTIAuthorizationAdviceRepeat:
		mode = auth
		if isospec.MTI(mti) != isospec.MTIReversalRequest {
			mode = advice
		}
		var req isospec.ReversalRequest
		if err = isospec.Decode(msg, &req); err == nil {
			rc := isospec.RCApproved
			if mode == Malfunction {
				rc = isospec.RCSystemMalfunction
			}
			resp, err = isospec.NewReversalResponse(&req, rc)
		}
	default:
		return
	}
	if err != nil {
		is.fail("fake issuer: " + err.Error())
		return
	}
	if mode == Silent {
		return
	}
	out, err := isospec.Encode(resp)
	if err == nil {
		err = isospec.SetMAC(out, func(d []byte) ([]byte, error) {
			m, err := is.hsm.GenerateMAC(is.zak, d)
			if mode == BadMAC && err == nil {
				m[0] ^= 0xFF
			}
			return m, err
		})
	}
	if err != nil {
		is.fail("fake issuer: " + err.Error())
		return
	}
	// A reply that cannot be sent is the connection closing: nothing to
	// report.
	_ = c.Reply(out)
}

// fail reports a test failure unless the issuer was already closed (the
// test may be over).
func (is *Issuer) fail(msg string) {
	is.mu.Lock()
	closed := is.closed
	is.mu.Unlock()
	if !closed {
		is.t.Error(msg)
	}
}

// Send sends msg, MACed under the ZAK, to the acquirer on the latest
// connection and returns the answer, as an issuer's own echo test does.
func (is *Issuer) Send(msg *iso8583.Message) (*iso8583.Message, error) {
	is.mu.Lock()
	var c *connection.Connection
	if n := len(is.conns); n > 0 {
		c = is.conns[n-1]
	}
	is.mu.Unlock()
	if c == nil {
		return nil, net.ErrClosed
	}
	if err := isospec.SetMAC(msg, func(d []byte) ([]byte, error) { return is.hsm.GenerateMAC(is.zak, d) }); err != nil {
		return nil, err
	}
	return c.Send(msg)
}
