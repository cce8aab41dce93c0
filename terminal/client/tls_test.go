package client_test

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/isospec/tlsconf"
	"github.com/tapsim/tapsim/terminal/client"
)

// startTLSEcho is an acquirer stand-in over TLS (cfg) answering every 0800;
// it counts the frames it received.
func startTLSEcho(t *testing.T, cfg *tls.Config) (string, *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	var frames atomic.Int32
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
				defer tc.Close()
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
			}()
		}
	}()
	return ln.Addr().String(), &frames
}

// R-S4b: the terminal dials the acquirer over mutual TLS, verifying the
// acquirer's certificate and name and presenting its own.
func TestSendOverTLS(t *testing.T) {
	now := time.Now()
	ca, err := tlsconf.NewCA(rand.Reader, "network CA", now, time.Hour)
	require.NoError(t, err)
	rogueCA, err := tlsconf.NewCA(rand.Reader, "rogue CA", now, time.Hour)
	require.NoError(t, err)
	hosts := []string{"localhost", "127.0.0.1"}
	acq, err := ca.Issue(rand.Reader, "acquirer", hosts, now, time.Hour)
	require.NoError(t, err)
	term, err := ca.Issue(rand.Reader, "terminal", hosts, now, time.Hour)
	require.NoError(t, err)
	rogue, err := rogueCA.Issue(rand.Reader, "terminal", hosts, now, time.Hour)
	require.NoError(t, err)
	srv, err := tlsconf.Server(acq.TLSCertificate(), ca.Pool())
	require.NoError(t, err)
	addr, frames := startTLSEcho(t, srv)

	good, err := tlsconf.Client(term.TLSCertificate(), ca.Pool(), "localhost")
	require.NoError(t, err)
	c := client.New(addr, client.Options{TLS: good})
	defer c.Close()
	resp, err := c.Send(context.Background(), request(t, "000001"), 2*time.Second)
	require.NoError(t, err)
	mti, _ := resp.GetMTI()
	require.Equal(t, "0810", mti)
	require.Equal(t, int32(1), frames.Load())

	distrust, err := tlsconf.Client(term.TLSCertificate(), rogueCA.Pool(), "")
	require.NoError(t, err)
	wrongName, err := tlsconf.Client(term.TLSCertificate(), ca.Pool(), "acquirer.example")
	require.NoError(t, err)
	refusedCert, err := tlsconf.Client(rogue.TLSCertificate(), ca.Pool(), "")
	require.NoError(t, err)
	tests := []struct {
		name string
		cfg  *tls.Config
		want error
	}{
		// The terminal refuses the acquirer during its handshake: nothing sent.
		{"acquirer from another CA", distrust, client.ErrNotSent},
		{"acquirer name mismatch", wrongName, client.ErrNotSent},
		// The acquirer refuses the terminal's certificate: with TLS 1.3
		// the terminal learns it on its first read.
		{"terminal from another CA", refusedCert, nil},
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
