package tlstest

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/isospec/tlsconf"
)

// HandshakeTimeout bounds each handshake of a Serve or Front listener.
const HandshakeTimeout = 5 * time.Second

// Serve listens on a free loopback port, performs the TLS handshake of
// every connection with cfg and passes the connections that complete it to
// handle, each on its own goroutine; it closes a connection when handle
// returns. handshakes reports how many handshakes have completed.
//
// At the end of the test the listener and every open connection are
// closed, and Serve waits for the handlers: handle must return once its
// connection is closed.
func Serve(t testing.TB, cfg *tls.Config, handle func(*tls.Conn)) (addr string, handshakes func() int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &server{conns: make(map[net.Conn]struct{})}
	t.Cleanup(func() {
		_ = ln.Close()
		s.closeAll()
		s.wg.Wait()
	})
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			if !s.track(nc) {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer s.untrack(nc)
				tc, err := tlsconf.Accept(context.Background(), nc, cfg, HandshakeTimeout)
				if err != nil {
					return
				}
				defer tc.Close()
				s.handshakes.Add(1)
				handle(tc)
			}()
		}
	}()
	return ln.Addr().String(), func() int { return int(s.handshakes.Load()) }
}

// Front is the TLS face of a plain host: it accepts TLS with cfg (see
// Serve) and relays the bytes of each connection to and from a new TCP
// connection to backend. handshakes reports how many handshakes it
// completed, whether or not backend then answered.
func Front(t testing.TB, cfg *tls.Config, backend string) (addr string, handshakes func() int) {
	t.Helper()
	return Serve(t, cfg, func(tc *tls.Conn) {
		bc, err := net.DialTimeout("tcp", backend, HandshakeTimeout)
		if err != nil {
			return
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, _ = io.Copy(bc, tc)
			_ = bc.Close()
		}()
		_, _ = io.Copy(tc, bc)
		_ = tc.Close()
		<-done
	})
}

// server is the book-keeping of a Serve listener.
type server struct {
	wg         sync.WaitGroup
	handshakes atomic.Int64

	mu     sync.Mutex
	closed bool
	conns  map[net.Conn]struct{}
}

// track records an accepted connection; after closeAll it closes nc and
// reports false.
func (s *server) track(nc net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		_ = nc.Close()
		return false
	}
	s.conns[nc] = struct{}{}
	return true
}

func (s *server) untrack(nc net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, nc)
}

func (s *server) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for nc := range s.conns {
		_ = nc.Close()
	}
}
