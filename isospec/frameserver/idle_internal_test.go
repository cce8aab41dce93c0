package frameserver

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/isospec"
)

// A connection is idle IdleTimeout after its last answer, or after it was
// accepted when it has answered nothing; never while a frame is pending.
// An answer recorded late by a slower worker does not move the time back.
func TestIdleAt(t *testing.T) {
	born := time.Now()
	c := &conn{born: born}
	const idle = 10 * time.Second

	at, busy := c.idleAt(idle)
	require.False(t, busy)
	require.Equal(t, born.Add(idle), at, "nothing answered yet: from the accept")

	c.pending.Add(2) // two frames read
	_, busy = c.idleAt(idle)
	require.True(t, busy)

	c.markAnswered(born.Add(5 * time.Second))
	_, busy = c.idleAt(idle)
	require.True(t, busy, "one frame still pending")

	c.markAnswered(born.Add(3 * time.Second)) // a worker that took longer to record
	at, busy = c.idleAt(idle)
	require.False(t, busy)
	require.Equal(t, born.Add(15*time.Second), at, "from the latest answer")
	require.True(t, born.Add(12*time.Second).Before(at), "a deadline passed 12 s in is not idle yet")
	require.False(t, born.Add(16*time.Second).Before(at), "16 s in it is")
}

// The newcomer at MaxConns takes the place of the connection silent
// longest: its peer not proved, no frame in hand, nothing read or written
// (a handshake's bytes count) for EvictIdle; never one closing already.
func TestSilentest(t *testing.T) {
	t0 := time.Now()
	now := t0.Add(10 * time.Second)
	mk := func(born time.Duration) *conn { return &conn{born: t0.Add(born)} }
	handshaking := mk(0)
	handshaking.heard.Store(int64(9 * time.Second)) // a byte 1 s ago
	silent := mk(time.Second)                       // nothing for 9 s
	proved := mk(-5 * time.Second)
	proved.vouched.Store(true)
	inHand := mk(-5 * time.Second)
	inHand.pending.Add(1)
	closing := mk(-6 * time.Second)
	closing.evicted = true
	down := mk(-7 * time.Second)
	down.down.Store(true)
	s := &Server{cfg: Config{EvictIdle: 2 * time.Second, IdleTimeout: time.Minute}, conns: map[*conn]struct{}{}}
	for _, c := range []*conn{handshaking, silent, proved, inHand, closing, down} {
		s.conns[c] = struct{}{}
	}
	require.Same(t, silent, s.silentest(now))

	answered := mk(-time.Second) // answered, unproved: silent from its last write
	answered.answered.Store(int64(2 * time.Second))
	answered.heard.Store(int64(time.Second + 500*time.Millisecond))
	s.conns[answered] = struct{}{}
	require.Same(t, answered, s.silentest(now), "the one silent longest")
	require.Nil(t, s.silentest(t0.Add(2*time.Second)), "none silent for EvictIdle yet")

	s.cfg.EvictIdle = s.cfg.IdleTimeout
	require.Nil(t, s.silentest(now.Add(time.Hour)), "EvictIdle as long as IdleTimeout: off")
}

// A served connection records the bytes it reads and writes until its
// peer is proved; Vouch reaches it through the handler's context or one
// Carry made, and does nothing on another.
func TestHeardAndVouch(t *testing.T) {
	s, err := Listen(Config{Addr: "127.0.0.1:0", Handler: func(ctx context.Context, frame []byte) ([]byte, bool) {
		switch string(frame) {
		case "carry":
			Vouch(Carry(context.Background(), ctx))
		case "direct":
			Vouch(ctx)
		}
		Vouch(context.Background()) // no connection: nothing
		return frame, false
	}})
	require.NoError(t, err)
	defer s.Close()
	only := func() *conn {
		s.mu.Lock()
		defer s.mu.Unlock()
		require.Len(t, s.conns, 1)
		for c := range s.conns {
			return c
		}
		return nil
	}
	for _, f := range []string{"carry", "direct"} {
		nc, err := net.Dial("tcp", s.Addr().String())
		require.NoError(t, err)
		require.NoError(t, isospec.WriteFrame(nc, []byte("x")))
		_, err = isospec.ReadFrameLimit(nc, isospec.MaxFrameLen)
		require.NoError(t, err)
		c := only()
		require.Positive(t, c.heard.Load(), "bytes read and written")
		require.False(t, c.vouched.Load())
		require.NoError(t, isospec.WriteFrame(nc, []byte(f)))
		_, err = isospec.ReadFrameLimit(nc, isospec.MaxFrameLen)
		require.NoError(t, err)
		require.True(t, c.vouched.Load(), f)
		require.NoError(t, nc.Close())
		require.Eventually(t, func() bool { return s.Stats().Active == 0 }, 20*time.Second, 5*time.Millisecond)
	}
}
