package frameserver

import (
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
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
// longest: no frame answered, none in hand, nothing heard (a handshake's
// bytes count) for EvictIdle; never one closing already.
func TestSilentest(t *testing.T) {
	t0 := time.Now()
	now := t0.Add(10 * time.Second)
	mk := func(born time.Duration) *conn { return &conn{born: t0.Add(born)} }
	handshaking := mk(0)
	handshaking.heard.Store(int64(9 * time.Second)) // a byte 1 s ago
	silent := mk(time.Second)                       // nothing for 9 s
	answered := mk(-5 * time.Second)
	answered.answered.Store(int64(time.Second))
	inHand := mk(-5 * time.Second)
	inHand.pending.Add(1)
	closing := mk(-6 * time.Second)
	closing.evicted = true
	down := mk(-7 * time.Second)
	down.down.Store(true)
	s := &Server{cfg: Config{EvictIdle: 2 * time.Second, IdleTimeout: time.Minute}, conns: map[*conn]struct{}{}}
	for _, c := range []*conn{handshaking, silent, answered, inHand, closing, down} {
		s.conns[c] = struct{}{}
	}
	require.Same(t, silent, s.silentest(now))

	older := mk(500 * time.Millisecond)
	s.conns[older] = struct{}{}
	require.Same(t, older, s.silentest(now), "the one silent longest")
	require.Nil(t, s.silentest(t0.Add(2*time.Second)), "none silent for EvictIdle yet")

	s.cfg.EvictIdle = s.cfg.IdleTimeout
	require.Nil(t, s.silentest(now.Add(time.Hour)), "EvictIdle as long as IdleTimeout: off")
}

// heardConn records when bytes came.
func TestHeardConn(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	c := &conn{born: time.Now()}
	h := &heardConn{Conn: b, c: c}
	go func() { _, _ = a.Write([]byte("x")) }()
	buf := make([]byte, 1)
	n, err := h.Read(buf)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Positive(t, c.heard.Load())
}
