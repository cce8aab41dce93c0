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

// The newcomer at MaxConns takes the place of the unproved connection
// longest past its last byte before its first frame (a handshake's bytes
// count), or past the loss of its proof, if that is EvictIdle; never one
// closing already. Frames in hand, a handler running or a reply waiting
// on a slow reader, hold nothing.
func TestUnprovedLongest(t *testing.T) {
	t0 := time.Now()
	now := t0.Add(10 * time.Second)
	mk := func(born time.Duration) *conn { return &conn{born: t0.Add(born)} }
	handshaking := mk(0)
	handshaking.heard.Store(int64(9 * time.Second)) // a byte 1 s ago
	silent := mk(time.Second)                       // nothing for 9 s
	proved := mk(-5 * time.Second)
	proved.peer = "p"
	closing := mk(-6 * time.Second)
	closing.evicted = true
	down := mk(-7 * time.Second)
	down.down.Store(true)
	s := &Server{cfg: Config{EvictIdle: 2 * time.Second, IdleTimeout: time.Minute}, conns: map[*conn]struct{}{}}
	for _, c := range []*conn{handshaking, silent, proved, closing, down} {
		s.conns[c] = struct{}{}
	}
	require.Same(t, silent, s.unprovedLongest(now))

	talker := mk(-time.Second) // its first frame 0.5 s in, answered since: it proves nothing
	talker.heard.Store(int64(time.Second + 500*time.Millisecond))
	talker.framed.Store(true)
	talker.answered.Store(int64(10 * time.Second))
	s.conns[talker] = struct{}{}
	require.Same(t, talker, s.unprovedLongest(now), "the one longest past its first frame")
	require.Nil(t, s.unprovedLongest(t0.Add(2*time.Second)), "none past EvictIdle yet")

	slowReader := mk(-4 * time.Second) // its first frame at once, frames in hand since
	slowReader.framed.Store(true)
	slowReader.pending.Add(3)
	slowReader.sem = make(chan struct{}, 3)
	slowReader.sem <- struct{}{}
	s.conns[slowReader] = struct{}{}
	require.Same(t, slowReader, s.unprovedLongest(now), "frames in hand hold nothing")
	slowReader.lost = int64(13 * time.Second) // its proof taken 9 s in
	require.Same(t, talker, s.unprovedLongest(now), "from the loss of its proof")

	s.cfg.EvictIdle = s.cfg.IdleTimeout
	require.Nil(t, s.unprovedLongest(now.Add(time.Hour)), "EvictIdle as long as IdleTimeout: off")
}

// A served connection records the bytes it reads and writes until its
// first frame is read whole; Vouch reaches it through the handler's
// context or one Carry made, and does nothing on another context or with
// no peer. A peer keeps MaxProved connections proved, and a connection
// that ends gives its proof back.
func TestHeardAndVouch(t *testing.T) {
	s, err := Listen(Config{Addr: "127.0.0.1:0", MaxProved: 1, Handler: func(ctx context.Context, frame []byte) ([]byte, bool) {
		switch string(frame) {
		case "carry":
			Vouch(Carry(context.Background(), ctx), "p")
		case "direct":
			Vouch(ctx, "p")
		case "nobody":
			Vouch(ctx, "")
		}
		Vouch(context.Background(), "p") // no connection: nothing
		return frame, false
	}})
	require.NoError(t, err)
	defer s.Close()
	peerOf := func(c *conn) string {
		s.mu.Lock()
		defer s.mu.Unlock()
		return c.peer
	}
	exchange := func(nc net.Conn, f string) {
		require.NoError(t, isospec.WriteFrame(nc, []byte(f)))
		_, err := isospec.ReadFrameLimit(nc, isospec.MaxFrameLen)
		require.NoError(t, err)
	}
	var conns []*conn
	var ncs []net.Conn
	for i, f := range []string{"carry", "direct"} {
		nc, err := net.Dial("tcp", s.Addr().String())
		require.NoError(t, err)
		defer nc.Close()
		ncs = append(ncs, nc)
		exchange(nc, "nobody")
		var c *conn
		require.Eventually(t, func() bool {
			s.mu.Lock()
			defer s.mu.Unlock()
			for x := range s.conns {
				if len(conns) == 0 || x != conns[0] {
					c = x
				}
			}
			return len(s.conns) == i+1 && c != nil
		}, 20*time.Second, time.Millisecond)
		heard := c.heard.Load()
		require.Positive(t, heard, "bytes of the first frame")
		require.Empty(t, peerOf(c))
		exchange(nc, f)
		require.Equal(t, heard, c.heard.Load(), "not counted after the first frame")
		require.Equal(t, "p", peerOf(c), f)
		conns = append(conns, c)
	}
	require.Empty(t, peerOf(conns[0]), "MaxProved 1: the second proof took the first")
	s.mu.Lock()
	require.Equal(t, []*conn{conns[1]}, s.proved["p"])
	s.mu.Unlock()
	require.NoError(t, ncs[1].Close())
	require.Eventually(t, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.proved) == 0
	}, 20*time.Second, time.Millisecond, "the proof given back when its connection ended")
}

// A peer's proofs go to the connections that proved themselves last: a
// connection that proves itself again keeps its proof, and a connection
// that ends gives its proof back and proves nothing more.
func TestVouchOrder(t *testing.T) {
	s := &Server{cfg: Config{MaxProved: 2}, proved: map[string][]*conn{}}
	t0 := time.Now()
	a, b, c := &conn{born: t0.Add(-time.Second)}, &conn{born: t0.Add(-time.Second)}, &conn{born: t0.Add(-time.Second)}
	s.vouch(a, "p")
	s.vouch(b, "p")
	s.vouch(a, "p") // a again: b is now the least recent
	s.vouch(c, "p")
	require.Equal(t, []*conn{a, c}, s.proved["p"])
	require.Empty(t, b.peer)
	require.Positive(t, b.lost)
	s.vouch(b, "q")
	require.Equal(t, "q", b.peer)

	s.unprove(c) // as the connection's end does
	c.gone = true
	s.vouch(c, "p")
	require.Equal(t, []*conn{a}, s.proved["p"])
	s.unprove(a)
	s.unprove(b)
	require.Empty(t, s.proved, "no peer left behind")
}

// A frame of a connection closed to make room whose drain deadline has
// passed is not handed to the handler: no reply could go.
func TestHandleAfterDrain(t *testing.T) {
	called := 0
	s := &Server{cfg: Config{Handler: func(context.Context, []byte) ([]byte, bool) { called++; return nil, false }}}
	c := &conn{born: time.Now().Add(-time.Minute), sem: make(chan struct{}, 1), ctx: context.Background()}
	c.drainBy.Store(int64(30 * time.Second))
	c.sem <- struct{}{}
	c.pending.Add(1)
	s.handle(c, []byte("late"))
	require.Zero(t, called)
	require.Zero(t, len(c.sem), "its slot given back")
	require.Zero(t, c.pending.Load(), "no longer in hand")

	c.drainBy.Store(int64(2 * time.Minute)) // not yet past
	c.sem <- struct{}{}
	c.pending.Add(1)
	s.handle(c, []byte("in time"))
	require.Equal(t, 1, called)
}
