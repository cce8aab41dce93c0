package issuerhost_test

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	connection "github.com/moov-io/iso8583-connection"
	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/isospec/tlsconf"
	"github.com/tapsim/tapsim/issuerhost"
	"github.com/tapsim/tapsim/issuerhost/internal/issuertest"
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

// testPKI is a network CA with the issuer's and the acquirer's
// certificates, and a CA of somebody else with one certificate.
type testPKI struct {
	ca, rogueCA      *tlsconf.Authority
	issuer, acquirer *tlsconf.Identity
	rogue            *tlsconf.Identity
}

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	now := time.Now()
	var p testPKI
	var err error
	p.ca, err = tlsconf.NewCA(rand.Reader, "network CA", now, time.Hour)
	require.NoError(t, err)
	p.rogueCA, err = tlsconf.NewCA(rand.Reader, "rogue CA", now, time.Hour)
	require.NoError(t, err)
	hosts := []string{"localhost", "127.0.0.1"}
	p.issuer, err = p.ca.Issue(rand.Reader, "issuer", hosts, now, time.Hour)
	require.NoError(t, err)
	p.acquirer, err = p.ca.Issue(rand.Reader, "acquirer", hosts, now, time.Hour)
	require.NoError(t, err)
	p.rogue, err = p.rogueCA.Issue(rand.Reader, "acquirer", hosts, now, time.Hour)
	require.NoError(t, err)
	return p
}

// dialTLS opens an acquirer-side connection with cfg (nil: plain TCP);
// the connect itself may succeed even when the server then refuses the
// client's certificate (TLS 1.3).
func dialTLS(t *testing.T, addr string, cfg *tls.Config) (*connection.Connection, error) {
	t.Helper()
	c, err := connection.New(addr, isospec.Spec, isospec.ReadMessageLength, isospec.WriteMessageLength,
		connection.SetMessageReader(isospec.Framer{}), connection.SetMessageWriter(isospec.Framer{}),
		connection.SetRequestIDGenerator(isospec.RequestIDGenerator{}), connection.SendTimeout(3*time.Second),
		func(o *connection.Options) error { o.TLSConfig = cfg; return nil },
	)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c, c.Connect()
}

// R-S4b, R-G1, R-G2: the acquirer link is mutually authenticated TLS;
// clients that cannot prove themselves are refused, logged in one line
// each, and the host keeps serving the others.
func TestServerMutualTLS(t *testing.T) {
	p := newTestPKI(t)
	srvCfg, err := tlsconf.Server(p.issuer.TLSCertificate(), p.ca.Pool())
	require.NoError(t, err)
	logs := &syncBuffer{}
	n := issuertest.New(t)
	s := newServer(t, n, issuerhost.Config{TLS: srvCfg, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	now := n.Clock.Now()

	good, err := tlsconf.Client(p.acquirer.TLSCertificate(), p.ca.Pool(), "")
	require.NoError(t, err)
	signOn := func(c *connection.Connection) error {
		m, err := isospec.Encode(isospec.NewNetworkManagement(isospec.NetSignOn, n.NextSTAN(), now))
		require.NoError(t, err)
		resp, err := c.Send(m)
		if err != nil {
			return err
		}
		var nm isospec.NetworkManagement
		require.NoError(t, isospec.Decode(resp, &nm))
		require.Equal(t, isospec.RCApproved, nm.ResponseCode)
		return nil
	}
	c, err := dialTLS(t, s.Addr(), good)
	require.NoError(t, err)
	require.NoError(t, signOn(c))
	// An authorisation over TLS, MACed.
	resp := decodeAuth(t, send(t, c, isoRequest(n.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: 25000})), true))
	require.Equal(t, isospec.RCApproved, resp.ResponseCode)

	// A plain client: its frame is no TLS handshake; the connection closes.
	raw, err := net.DialTimeout("tcp", s.Addr(), 3*time.Second)
	require.NoError(t, err)
	m, err := isospec.Encode(isospec.NewNetworkManagement(isospec.NetSignOn, n.NextSTAN(), now))
	require.NoError(t, err)
	frame, err := isospec.Pack(m)
	require.NoError(t, err)
	writeFrame(t, raw, frame)
	_ = raw.SetReadDeadline(time.Now().Add(3 * time.Second))
	_, err = raw.Read(make([]byte, 64))
	require.Error(t, err, "a plain client gets no answer")
	_ = raw.Close()

	// Without a certificate, or with one from another CA.
	noCert := good.Clone()
	noCert.Certificates = nil
	rogue, err := tlsconf.Client(p.rogue.TLSCertificate(), p.ca.Pool(), "")
	require.NoError(t, err)
	for _, cfg := range []*tls.Config{noCert, rogue} {
		c, err := dialTLS(t, s.Addr(), cfg)
		if err == nil {
			err = signOn(c)
		}
		require.Error(t, err)
	}
	// The acquirer that does not trust the issuer's CA refuses it.
	distrust, err := tlsconf.Client(p.acquirer.TLSCertificate(), p.rogueCA.Pool(), "")
	require.NoError(t, err)
	_, err = dialTLS(t, s.Addr(), distrust)
	require.ErrorContains(t, err, "certificate")

	refused := func() int { return strings.Count(logs.String(), "acquirer connection refused") }
	require.Eventually(t, func() bool { return refused() == 4 }, 5*time.Second, 10*time.Millisecond, logs.String())
	require.NotContains(t, logs.String(), "PRIVATE KEY")

	// The first connection and new ones go on.
	require.NoError(t, signOn(c))
	c2, err := dialTLS(t, s.Addr(), good)
	require.NoError(t, err)
	require.NoError(t, signOn(c2))
}

// A client still in its handshake does not hold up Close.
func TestServerTLSCloseDuringHandshake(t *testing.T) {
	p := newTestPKI(t)
	srvCfg, err := tlsconf.Server(p.issuer.TLSCertificate(), p.ca.Pool())
	require.NoError(t, err)
	n := issuertest.New(t)
	s, err := issuerhost.New(n.DB, n.HSM, issuerhost.Config{TLS: srvCfg})
	require.NoError(t, err)
	require.NoError(t, s.Start(ctx))
	raw, err := net.Dial("tcp", s.Addr())
	require.NoError(t, err)
	defer raw.Close()
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	require.NoError(t, s.Close())
	require.Less(t, time.Since(start), 3*time.Second)
}
