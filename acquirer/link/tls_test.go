package link

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/isospec/tlsconf"
)

// tlsFront accepts TLS with cfg and relays the bytes to backend, a plain
// host; it counts the handshakes it completed.
func tlsFront(t *testing.T, cfg *tls.Config, backend string) (string, *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	var n atomic.Int32
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
				n.Add(1)
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
	return ln.Addr().String(), &n
}

// R-S4b: the issuer link signs on and exchanges over mutual TLS, and
// refuses an issuer it cannot authenticate.
func TestLinkOverTLS(t *testing.T) {
	now := time.Now()
	ca, err := tlsconf.NewCA(rand.Reader, "network CA", now, time.Hour)
	require.NoError(t, err)
	rogueCA, err := tlsconf.NewCA(rand.Reader, "rogue CA", now, time.Hour)
	require.NoError(t, err)
	hosts := []string{"localhost", "127.0.0.1"}
	issuer, err := ca.Issue(rand.Reader, "issuer", hosts, now, time.Hour)
	require.NoError(t, err)
	rogue, err := rogueCA.Issue(rand.Reader, "issuer", hosts, now, time.Hour)
	require.NoError(t, err)
	acq, err := ca.Issue(rand.Reader, "acquirer", hosts, now, time.Hour)
	require.NoError(t, err)
	good, err := tlsconf.Server(issuer.TLSCertificate(), ca.Pool())
	require.NoError(t, err)
	bad, err := tlsconf.Server(rogue.TLSCertificate(), ca.Pool())
	require.NoError(t, err)
	client, err := tlsconf.Client(acq.TLSCertificate(), ca.Pool(), "")
	require.NoError(t, err)
	wrongName, err := tlsconf.Client(acq.TLSCertificate(), ca.Pool(), "issuer.example")
	require.NoError(t, err)

	t.Run("mutual", func(t *testing.T) {
		var shakes *atomic.Int32
		r := newRig(t, func(c *Config) {
			c.Addr, shakes = tlsFront(t, good, c.Addr)
			c.TLS = client
		})
		r.start(t)
		require.Equal(t, int32(1), shakes.Load())
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
			var shakes *atomic.Int32
			r := newRig(t, func(c *Config) {
				c.Addr, shakes = tlsFront(t, tc.srv, c.Addr)
				c.TLS = tc.cli
				c.ConnectTimeout = time.Second
			})
			r.link.Start(context.Background())
			require.Eventually(t, func() bool { return r.link.Stats().Connects >= 2 }, 5*time.Second, 5*time.Millisecond)
			require.False(t, r.link.Up())
			require.Zero(t, r.link.Stats().SignOns)
			require.Zero(t, shakes.Load())
			require.Empty(t, r.iss.Received(), "nothing reached the issuer")
			_, err := r.link.Exchange(auth(t, "000002"), time.Second)
			require.ErrorIs(t, err, ErrDown)
		})
	}
}
