package issuerhost_test

import (
	"crypto/tls"
	"log/slog"
	"net"
	"testing"
	"time"

	connection "github.com/moov-io/iso8583-connection"
	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/isospec/tlsconf/tlstest"
	"github.com/tapsim/tapsim/issuerhost"
	"github.com/tapsim/tapsim/issuerhost/internal/issuertest"
)

// R-S4b, R-G1, R-G2: the acquirer link is mutually authenticated TLS;
// clients that cannot prove themselves are refused, logged in one line
// each, and the host keeps serving the others.
func TestServerMutualTLS(t *testing.T) {
	p := tlstest.NewPKI(t, "issuer", "acquirer")
	srvCfg := p.Server("issuer")
	logs := &tlstest.LogBuffer{}
	n := issuertest.New(t)
	s := newServer(t, n, issuerhost.Config{TLS: srvCfg, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	now := n.Clock.Now()

	good := p.Client("acquirer", "")
	signOn := func(c *connection.Connection) error {
		m, err := isospec.Encode(isospec.NewNetworkManagement(isospec.NetSignOn, n.NextSTAN(), now))
		require.NoError(t, err)
		require.NoError(t, isospec.SetMAC(m, zakMAC))
		resp, err := c.Send(m)
		if err != nil {
			return err
		}
		var nm isospec.NetworkManagement
		require.NoError(t, isospec.Decode(resp, &nm))
		require.Equal(t, isospec.RCApproved, nm.ResponseCode)
		return nil
	}
	c, err := tlstest.Dial(t, s.Addr(), good)
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
	for _, cfg := range []*tls.Config{noCert, p.RogueClient("acquirer", "")} {
		c, err := tlstest.Dial(t, s.Addr(), cfg)
		if err == nil {
			err = signOn(c)
		}
		require.Error(t, err)
	}
	// The acquirer that does not trust the issuer's CA refuses it.
	_, err = tlstest.Dial(t, s.Addr(), p.DistrustingClient("acquirer", ""))
	require.ErrorContains(t, err, "certificate")

	refused := func() int { return logs.Count("acquirer connection refused") }
	require.Eventually(t, func() bool { return refused() == 4 }, 5*time.Second, 10*time.Millisecond, logs.String())
	require.NotContains(t, logs.String(), "PRIVATE KEY")

	// The first connection and new ones go on.
	require.NoError(t, signOn(c))
	c2, err := tlstest.Dial(t, s.Addr(), good)
	require.NoError(t, err)
	require.NoError(t, signOn(c2))
}

// A client still in its handshake does not hold up Close.
func TestServerTLSCloseDuringHandshake(t *testing.T) {
	srvCfg := tlstest.NewPKI(t, "issuer").Server("issuer")
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
