package client_test

import (
	"context"
	"crypto/tls"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/isospec/tlsconf/tlstest"
	"github.com/tapsim/tapsim/terminal/client"
)

// startTLSEcho is an acquirer stand-in over TLS (cfg) answering every 0800;
// it counts the frames it received.
func startTLSEcho(t *testing.T, cfg *tls.Config) (string, *atomic.Int32) {
	t.Helper()
	var frames atomic.Int32
	addr, _ := tlstest.Serve(t, cfg, func(tc *tls.Conn) {
		for {
			f, err := isospec.ReadFrame(tc)
			if err != nil {
				return
			}
			frames.Add(1)
			if isospec.WriteFrame(tc, answerFrame(t, f)) != nil {
				return
			}
		}
	})
	return addr, &frames
}

// R-S4b: the terminal dials the acquirer over mutual TLS, verifying the
// acquirer's certificate and name and presenting its own.
func TestSendOverTLS(t *testing.T) {
	p := tlstest.NewPKI(t, "acquirer", "terminal")
	addr, frames := startTLSEcho(t, p.Server("acquirer"))

	c := client.New(addr, client.Options{TLS: p.Client("terminal", "localhost")})
	defer c.Close()
	resp, err := c.Send(context.Background(), request(t, "000001"), 2*time.Second)
	require.NoError(t, err)
	mti, _ := resp.GetMTI()
	require.Equal(t, "0810", mti)
	require.Equal(t, int32(1), frames.Load())

	tests := []struct {
		name string
		cfg  *tls.Config
		want error
	}{
		// The terminal refuses the acquirer during its handshake: nothing sent.
		{"acquirer from another CA", p.DistrustingClient("terminal", ""), client.ErrNotSent},
		{"acquirer name mismatch", p.Client("terminal", "acquirer.example"), client.ErrNotSent},
		// The acquirer refuses the terminal's certificate: with TLS 1.3
		// the terminal learns it on its first read.
		{"terminal from another CA", p.RogueClient("terminal", ""), nil},
		{"plain terminal", nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := client.New(addr, client.Options{TLS: tc.cfg})
			defer c.Close()
			_, err := c.Send(context.Background(), request(t, "000002"), time.Second)
			require.Error(t, err)
			if tc.want != nil {
				require.ErrorIs(t, err, tc.want)
			} else {
				require.True(t, errors.Is(err, client.ErrNotSent) || errors.Is(err, client.ErrNoAnswer), err)
			}
			require.Equal(t, int32(1), frames.Load(), "nothing reached the acquirer")
		})
	}
}
