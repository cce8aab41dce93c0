package acquirer_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	connection "github.com/moov-io/iso8583-connection"
	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/acquirer"
	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/isospec/tlsconf"
)

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// tlsFront is the TLS face of a plain host: it accepts TLS with cfg and
// relays the bytes to backend. It counts the handshakes it completed.
func tlsFront(t testing.TB, cfg *tls.Config, backend string) (addr string, handshakes func() int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	var mu sync.Mutex
	n := 0
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				tc, err := tlsconf.Accept(context.Background(), nc, cfg, 5*time.Second)
				if err != nil {
					return
				}
				mu.Lock()
				n++
				mu.Unlock()
				bc, err := net.Dial("tcp", backend)
				if err != nil {
					_ = tc.Close()
					return
				}
				go func() { _, _ = io.Copy(bc, tc); _ = bc.Close() }()
				_, _ = io.Copy(tc, bc)
				_ = tc.Close()
			}()
		}
	}()
	return ln.Addr().String(), func() int { mu.Lock(); defer mu.Unlock(); return n }
}

type tlsPKI struct {
	ca, rogueCA                       *tlsconf.Authority
	issuer, acquirer, terminal, rogue *tlsconf.Identity
}

func newTLSPKI(t testing.TB) tlsPKI {
	t.Helper()
	now := time.Now()
	var p tlsPKI
	var err error
	p.ca, err = tlsconf.NewCA(rand.Reader, "network CA", now, time.Hour)
	require.NoError(t, err)
	p.rogueCA, err = tlsconf.NewCA(rand.Reader, "rogue CA", now, time.Hour)
	require.NoError(t, err)
	hosts := []string{"localhost", "127.0.0.1"}
	for _, x := range []struct {
		id   **tlsconf.Identity
		ca   *tlsconf.Authority
		name string
	}{{&p.issuer, p.ca, "issuer"}, {&p.acquirer, p.ca, "acquirer"}, {&p.terminal, p.ca, "terminal"}, {&p.rogue, p.rogueCA, "terminal"}} {
		*x.id, err = x.ca.Issue(rand.Reader, x.name, hosts, now, time.Hour)
		require.NoError(t, err)
	}
	return p
}

// dialTerminal opens a terminal connection with cfg (nil: plain TCP).
func dialTerminal(t testing.TB, addr string, cfg *tls.Config) (*connection.Connection, error) {
	t.Helper()
	c, err := connection.New(addr, isospec.Spec, isospec.ReadMessageLength, isospec.WriteMessageLength,
		connection.SetMessageReader(isospec.Framer{}),
		connection.SetMessageWriter(isospec.Framer{}),
		connection.SetRequestIDGenerator(isospec.RequestIDGenerator{}),
		connection.SendTimeout(3*time.Second),
		func(o *connection.Options) error { o.TLSConfig = cfg; return nil },
	)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c, c.Connect()
}

// R-S4b, R-G1, R-G2: terminal -> acquirer -> issuer with mutual TLS on
// both links; terminals that cannot prove themselves are refused, one log
// line each, and the acquirer keeps serving.
func TestMutualTLSBothLinks(t *testing.T) {
	p := newTLSPKI(t)
	logs := &syncBuffer{}
	var issuerHandshakes func() int
	r := newRig(t, func(c *acquirer.Config) {
		issSrv, err := tlsconf.Server(p.issuer.TLSCertificate(), p.ca.Pool())
		require.NoError(t, err)
		c.Issuers[0].Addr, issuerHandshakes = tlsFront(t, issSrv, c.Issuers[0].Addr)
		c.Issuers[0].TLS, err = tlsconf.Client(p.acquirer.TLSCertificate(), p.ca.Pool(), "localhost")
		require.NoError(t, err)
		c.TLS, err = tlsconf.Server(p.acquirer.TLSCertificate(), p.ca.Pool())
		require.NoError(t, err)
		c.Logger = slog.New(slog.NewTextHandler(logs, nil))
	})
	require.True(t, r.acq.LinkUp("issuer"))
	require.Equal(t, 1, issuerHandshakes(), "the issuer link came up over TLS")

	termCfg, err := tlsconf.Client(p.terminal.TLSCertificate(), p.ca.Pool(), "")
	require.NoError(t, err)
	r.term, err = dialTerminal(t, r.acq.Addr(), termCfg)
	require.NoError(t, err)
	resp := r.authorise(r.authReq(visaPAN, 1500))
	require.Equal(t, isospec.RCApproved, resp.ResponseCode)

	// A plain terminal (the rig's own first connection is one, silent so
	// far): its frame is refused at the handshake.
	plain, err := dialTerminal(t, r.acq.Addr(), nil)
	require.NoError(t, err, "TCP connects")
	_, err = plain.Send(r.encode(r.authReq(visaPAN, 1600)))
	require.Error(t, err)

	noCert := termCfg.Clone()
	noCert.Certificates = nil
	rogue, err := tlsconf.Client(p.rogue.TLSCertificate(), p.ca.Pool(), "")
	require.NoError(t, err)
	for _, cfg := range []*tls.Config{noCert, rogue} {
		c, err := dialTerminal(t, r.acq.Addr(), cfg)
		if err == nil {
			_, err = c.Send(r.encode(r.authReq(visaPAN, 1700)))
		}
		require.Error(t, err)
	}
	refused := func() int { return strings.Count(logs.String(), "terminal connection refused") }
	require.Eventually(t, func() bool { return refused() == 3 }, 5*time.Second, 10*time.Millisecond, logs.String())
	require.NotContains(t, logs.String(), "PRIVATE KEY")
	require.NotContains(t, logs.String(), visaPAN)

	// The good terminal goes on, and so does a new one.
	require.Equal(t, isospec.RCApproved, r.authorise(r.authReq(visaPAN, 1800)).ResponseCode)
	r.term, err = dialTerminal(t, r.acq.Addr(), termCfg)
	require.NoError(t, err)
	require.Equal(t, isospec.RCApproved, r.authorise(r.authReq(visaPAN, 1900)).ResponseCode)
	require.Len(t, r.iss.ReceivedMTI(isospec.MTIAuthorizationRequest), 3, "only the good terminal's requests reached the issuer")

	// Close does not wait for the silent plain connection's handshake.
	start := time.Now()
	require.NoError(t, r.acq.Close())
	require.Less(t, time.Since(start), 3*time.Second)
}
