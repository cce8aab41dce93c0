package link

import (
	"context"
	"crypto/tls"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/isospec/tlsconf/tlstest"
)

// R-S4b: the issuer link signs on and exchanges over mutual TLS, and
// refuses an issuer it cannot authenticate.
func TestLinkOverTLS(t *testing.T) {
	p := tlstest.NewPKI(t, "issuer", "acquirer")
	good := p.Server("issuer")
	bad := p.RogueServer("issuer")
	client := p.Client("acquirer", "")
	wrongName := p.Client("acquirer", "issuer.example")

	t.Run("mutual", func(t *testing.T) {
		var shakes func() int
		r := newRig(t, func(c *Config) {
			c.Addr, shakes = tlstest.Front(t, good, c.Addr)
			c.TLS = client
		})
		r.start(t)
		require.Equal(t, 1, shakes())
		resp, err := r.link.Exchange(auth(t, "000001"), time.Second)
		require.NoError(t, err)
		code, _ := resp.GetString(isospec.FieldResponseCode)
		require.Equal(t, string(isospec.RCApproved), code)
	})
	for name, tc := range map[string]struct{ srv, cli *tls.Config }{
		"issuer from another CA": {bad, client},
		"issuer name mismatch":   {good, wrongName},
		"plain client":           {good, nil},
	} {
		t.Run(name, func(t *testing.T) {
			var shakes func() int
			r := newRig(t, func(c *Config) {
				c.Addr, shakes = tlstest.Front(t, tc.srv, c.Addr)
				c.TLS = tc.cli
				c.ConnectTimeout = time.Second
			})
			r.link.Start(context.Background())
			require.Eventually(t, func() bool { return r.link.Stats().Connects >= 2 }, 5*time.Second, 5*time.Millisecond)
			require.False(t, r.link.Up())
			require.Zero(t, r.link.Stats().SignOns)
			require.Zero(t, shakes())
			require.Empty(t, r.iss.Received(), "nothing reached the issuer")
			_, err := r.link.Exchange(auth(t, "000002"), time.Second)
			require.ErrorIs(t, err, ErrDown)
		})
	}
}
