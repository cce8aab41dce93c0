package acquirer_test

import (
	"crypto/tls"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/acquirer"
	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/isospec/tlsconf/tlstest"
)

// R-S4b, R-G1, R-G2: terminal -> acquirer -> issuer with mutual TLS on
// both links; terminals that cannot prove themselves are refused, one log
// line each, and the acquirer keeps serving.
func TestMutualTLSBothLinks(t *testing.T) {
	p := tlstest.NewPKI(t, "issuer", "acquirer", "terminal")
	logs := &tlstest.LogBuffer{}
	var issuerHandshakes func() int
	r := newRig(t, func(c *acquirer.Config) {
		c.Issuers[0].Addr, issuerHandshakes = tlstest.Front(t, p.Server("issuer"), c.Issuers[0].Addr)
		c.Issuers[0].TLS = p.Client("acquirer", "localhost")
		c.TLS = p.Server("acquirer")
		c.Logger = slog.New(slog.NewTextHandler(logs, nil))
	})
	require.True(t, r.acq.LinkUp("issuer"))
	require.Equal(t, 1, issuerHandshakes(), "the issuer link came up over TLS")

	termCfg := p.Client("terminal", "")
	var err error
	r.term, err = tlstest.Dial(t, r.acq.Addr(), termCfg)
	require.NoError(t, err)
	resp := r.authorise(r.authReq(visaPAN, 1500))
	require.Equal(t, isospec.RCApproved, resp.ResponseCode)

	// A plain terminal (the rig's own first connection is one, silent so
	// far): its frame is refused at the handshake.
	plain, err := tlstest.Dial(t, r.acq.Addr(), nil)
	require.NoError(t, err, "TCP connects")
	_, err = plain.Send(r.encode(r.authReq(visaPAN, 1600)))
	require.Error(t, err)

	noCert := termCfg.Clone()
	noCert.Certificates = nil
	for _, cfg := range []*tls.Config{noCert, p.RogueClient("terminal", "")} {
		c, err := tlstest.Dial(t, r.acq.Addr(), cfg)
		if err == nil {
			_, err = c.Send(r.encode(r.authReq(visaPAN, 1700)))
		}
		require.Error(t, err)
	}
	refused := func() int { return logs.Count("terminal connection refused") }
	require.Eventually(t, func() bool { return refused() == 3 }, 5*time.Second, 10*time.Millisecond, logs.String())
	require.NotContains(t, logs.String(), "PRIVATE KEY")
	require.NotContains(t, logs.String(), visaPAN)

	// The good terminal goes on, and so does a new one.
	require.Equal(t, isospec.RCApproved, r.authorise(r.authReq(visaPAN, 1800)).ResponseCode)
	r.term, err = tlstest.Dial(t, r.acq.Addr(), termCfg)
	require.NoError(t, err)
	require.Equal(t, isospec.RCApproved, r.authorise(r.authReq(visaPAN, 1900)).ResponseCode)
	require.Len(t, r.iss.ReceivedMTI(isospec.MTIAuthorizationRequest), 3, "only the good terminal's requests reached the issuer")

	// Close does not wait for the silent plain connection's handshake.
	start := time.Now()
	require.NoError(t, r.acq.Close())
	require.Less(t, time.Since(start), 3*time.Second)
}
