package frameserver_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/isospec/frameserver"
	"github.com/tapsim/tapsim/isospec/tlsconf/tlstest"
)

// wait is the generous deadline of every poll: the machine may be busy.
const wait = 20 * time.Second

func echo(_ context.Context, frame []byte) ([]byte, bool) {
	if bytes.Equal(frame, []byte("bye")) {
		return []byte("bye"), true
	}
	return append([]byte("re:"), frame...), false
}

func listen(t testing.TB, cfg frameserver.Config) *frameserver.Server {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.Handler == nil {
		cfg.Handler = echo
	}
	s, err := frameserver.Listen(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

func dial(t testing.TB, s *frameserver.Server) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", s.Addr().String(), wait)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func send(t testing.TB, c net.Conn, b []byte) {
	t.Helper()
	require.NoError(t, isospec.WriteFrame(c, b))
}

func recv(t testing.TB, c net.Conn) []byte {
	t.Helper()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(wait)))
	b, err := isospec.ReadFrameLimit(c, isospec.MaxFrameLen)
	require.NoError(t, err)
	return b
}

// closedBy reads until the server closes c and returns how long that
// took; it fails if the server has not closed c within wait.
func closedBy(t testing.TB, c net.Conn) time.Duration {
	t.Helper()
	start := time.Now()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(wait)))
	_, err := io.Copy(io.Discard, c)
	if err != nil {
		require.True(t, errors.Is(err, syscall.ECONNRESET), "closed by the server, not timed out: %v", err)
	}
	return time.Since(start)
}

func eventually(t testing.TB, cond func() bool, msg string, args ...any) {
	t.Helper()
	require.Eventually(t, cond, wait, 5*time.Millisecond, append([]any{msg}, args...)...)
}

func TestEchoAndHangUp(t *testing.T) {
	s := listen(t, frameserver.Config{})
	c := dial(t, s)
	for _, f := range [][]byte{[]byte("0800"), {}, bytes.Repeat([]byte{7}, frameserver.DefaultMaxFrame)} {
		send(t, c, f)
		require.Equal(t, append([]byte("re:"), f...), recv(t, c))
	}
	send(t, c, []byte("bye"))
	require.Equal(t, []byte("bye"), recv(t, c))
	closedBy(t, c)
	eventually(t, func() bool { return s.Stats().Active == 0 }, "connection released")
	require.EqualValues(t, 4, s.Stats().Frames)
}

func TestConfigRefused(t *testing.T) {
	for name, cfg := range map[string]frameserver.Config{
		"no handler":       {Addr: "127.0.0.1:0"},
		"negative timeout": {Addr: "127.0.0.1:0", Handler: echo, IdleTimeout: -1},
		"frame too big":    {Addr: "127.0.0.1:0", Handler: echo, MaxFrame: isospec.MaxFrameLen + 1},
		"negative cap":     {Addr: "127.0.0.1:0", Handler: echo, MaxConns: -1},
		"negative evict":   {Addr: "127.0.0.1:0", Handler: echo, EvictIdle: -time.Second},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := frameserver.Listen(cfg)
			require.ErrorIs(t, err, frameserver.ErrConfig)
		})
	}
	_, err := frameserver.Listen(frameserver.Config{Addr: "256.0.0.1:0", Handler: echo})
	require.Error(t, err)
}

// DESIGN.md Decisions (connection cap), R-S5f availability: beyond
// MaxConns a connection is closed at once and logged in a bounded number
// of lines; a slot given back serves a new client.
func TestConnectionCap(t *testing.T) {
	logs := &tlstest.LogBuffer{}
	s := listen(t, frameserver.Config{MaxConns: 3, Peer: "terminal", LogBurst: 1, LogInterval: time.Hour,
		EvictIdle: time.Hour, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	var held []net.Conn
	for range 3 {
		c := dial(t, s)
		send(t, c, []byte("x"))
		recv(t, c)
		held = append(held, c)
	}
	require.Equal(t, 3, s.Stats().Active)
	for range 20 {
		c := dial(t, s)
		require.Less(t, closedBy(t, c), wait)
	}
	require.EqualValues(t, 20, s.Stats().OverCap)
	require.Equal(t, 1, logs.Count("terminal connection over the cap closed"), logs.String())

	require.NoError(t, held[0].Close())
	eventually(t, func() bool { return s.Stats().Active == 2 }, "slot given back")
	c := dial(t, s)
	send(t, c, []byte("y"))
	require.Equal(t, []byte("re:y"), recv(t, c))
	for _, c := range held[1:] {
		send(t, c, []byte("z"))
		require.Equal(t, []byte("re:z"), recv(t, c), "the held connections still work")
	}
	require.NoError(t, s.Close())
	require.Contains(t, logs.String(), "repeated=19", "the count of the lines not written")
}

// holdingEcho is echo, except that a frame "hold" is answered only once
// release is closed (each such frame is announced on held first), and a
// frame "mac PEER" proves its connection as PEER's (frameserver.Vouch).
func holdingEcho(release <-chan struct{}, held chan<- struct{}) frameserver.Handler {
	return func(ctx context.Context, frame []byte) ([]byte, bool) {
		switch {
		case string(frame) == "hold":
			held <- struct{}{}
			<-release
		case bytes.HasPrefix(frame, []byte("mac ")):
			frameserver.Vouch(ctx, string(frame[4:]))
		}
		return echo(ctx, frame)
	}
}

// capServer is a server of holdingEcho with MaxConns max whose
// unproved connections make room at once (EvictIdle 1 ns); talk sends a
// frame and checks its echo, then waits until only want frames are in
// hand (an answer read may be a moment ahead of its connection's
// bookkeeping).
func capServer(t *testing.T, cfg frameserver.Config) (s *frameserver.Server, held <-chan struct{}, unblock func(), talk func(c net.Conn, f string, want int)) {
	release := make(chan struct{})
	h := make(chan struct{}, 1)
	cfg.EvictIdle, cfg.Handler = time.Nanosecond, holdingEcho(release, h)
	s = listen(t, cfg)
	var once sync.Once
	unblock = func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock)
	talk = func(c net.Conn, f string, want int) {
		t.Helper()
		send(t, c, []byte(f))
		require.Equal(t, []byte("re:"+f), recv(t, c))
		eventually(t, func() bool { return frameserver.InHand(s) == want }, "%d frames in hand", want)
	}
	return s, h, unblock, talk
}

// DESIGN.md Decisions (connection cap), R-S5f availability: clients that
// connect and say nothing, or send what proves nothing, hold a place at
// the cap for EvictIdle, not for the idle timeout. At MaxConns a newcomer
// takes the place of the unproved connection longest past its last byte
// before its first frame; a proved connection keeps its place, even with
// a frame in hand, and with no unproved connection left the newcomer is
// closed at once.
func TestCapEvictsSilent(t *testing.T) {
	logs := &tlstest.LogBuffer{}
	s, held, unblock, talk := capServer(t, frameserver.Config{MaxConns: 5, Peer: "terminal",
		Logger: slog.New(slog.NewTextHandler(logs, nil))})

	first := dial(t, s) // attackers: connect, never send
	eventually(t, func() bool { return s.Stats().Accepted == 1 }, "first accepted")
	second := dial(t, s)
	eventually(t, func() bool { return s.Stats().Accepted == 2 }, "second accepted")
	junk := dial(t, s) // an attacker that talks: answered, proves nothing
	talk(junk, "junk", 0)
	a := dial(t, s)
	talk(a, "mac a", 0)
	busy := dial(t, s) // proved, then a frame in hand
	talk(busy, "mac busy", 0)
	send(t, busy, []byte("hold"))
	<-held
	require.Equal(t, 5, s.Stats().Active)

	talk(junk, "more junk", 1) // talking proves nothing
	for i, gone := range []net.Conn{first, second, junk} {
		c := dial(t, s)
		talk(c, fmt.Sprintf("mac newcomer %d", i), 1)
		require.Less(t, closedBy(t, gone), wait, "newcomer %d", i)
	}
	for range 3 { // none unproved left: the proved and the busy ones stay
		require.Less(t, closedBy(t, dial(t, s)), wait)
	}
	st := s.Stats()
	require.EqualValues(t, 3, st.Evicted)
	require.EqualValues(t, 3, st.OverCap)
	require.Contains(t, logs.String(), "terminal connections at the cap: an unproved one closed for a newcomer")
	talk(a, "still here", 1)
	unblock()
	require.Equal(t, []byte("re:hold"), recv(t, busy), "the busy connection was never taken")
	eventually(t, func() bool { return s.Stats().Active == 5 }, "the evicted ones' places given back")
}

// One peer keeps MaxProved connections proved: a third proof (a replayed
// frame, say) takes the proof of the one proved least recently, which
// then makes room like any unproved connection.
func TestCapProvedPerPeer(t *testing.T) {
	s, _, _, talk := capServer(t, frameserver.Config{MaxConns: 3, MaxProved: 2})
	var p [3]net.Conn
	for i := range p {
		p[i] = dial(t, s)
		talk(p[i], "mac p", 0)
	}
	newcomer := dial(t, s)
	require.Less(t, closedBy(t, p[0]), wait, "the oldest proof was taken")
	eventually(t, func() bool { return s.Stats().Active == 3 }, "its place given back")
	dial(t, s)
	require.Less(t, closedBy(t, newcomer), wait, "then the silent newcomer's place is taken")
	for _, c := range p[1:] {
		talk(c, "still here", 0)
	}
	require.EqualValues(t, 2, s.Stats().Evicted)
}

// An unproved connection that makes room with a frame in hand reads no
// more, but the reply to that frame still goes out before it is closed.
func TestCapEvictsGracefully(t *testing.T) {
	s, held, unblock, talk := capServer(t, frameserver.Config{MaxConns: 1, WriteTimeout: 2 * wait})
	old := dial(t, s)
	send(t, old, []byte("hold"))
	<-held
	c := dial(t, s)
	eventually(t, func() bool { return s.Stats().Evicted == 1 }, "the unproved one makes room")
	unblock()
	require.Equal(t, []byte("re:hold"), recv(t, old), "its reply still goes out")
	require.Less(t, closedBy(t, old), wait)
	talk(c, "mac newcomer", 0)
	require.Zero(t, s.Stats().WriteErrors)
}

// DESIGN.md Decisions (idle timeout): a connection with no frame for
// IdleTimeout is closed; one that keeps talking is not.
func TestIdleTimeout(t *testing.T) {
	const idleTimeout = 150 * time.Millisecond
	s := listen(t, frameserver.Config{IdleTimeout: idleTimeout})
	start := time.Now()
	idle := dial(t, s)
	busy := dial(t, s)
	closed := make(chan time.Duration, 1)
	go func() { closedBy(t, idle); closed <- time.Since(start) }()
	// The talker keeps going for four idle timeouts.
	for time.Since(start) < 4*idleTimeout {
		send(t, busy, []byte("ping"))
		recv(t, busy)
		time.Sleep(idleTimeout / 5) // the pace of the talker, not a wait for the server
	}
	require.GreaterOrEqual(t, <-closed, idleTimeout, "not closed before the idle timeout")
	send(t, busy, []byte("ping"))
	require.Equal(t, []byte("re:ping"), recv(t, busy))
	require.GreaterOrEqual(t, s.Stats().Idle, uint64(1))
}

// A frame in hand is not idleness: a slow handler keeps its connection.
func TestSlowHandlerIsNotIdle(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	s := listen(t, frameserver.Config{IdleTimeout: 50 * time.Millisecond, Handler: func(ctx context.Context, f []byte) ([]byte, bool) {
		<-release
		return f, false
	}})
	c := dial(t, s)
	send(t, c, []byte("slow"))
	eventually(t, func() bool { return s.Stats().Frames == 1 }, "frame in hand")
	time.Sleep(200 * time.Millisecond) // several idle timeouts pass with the frame in hand
	once.Do(func() { close(release) })
	require.Equal(t, []byte("slow"), recv(t, c))
}

// DESIGN.md Decisions (per-frame read deadline): a header announcing
// 65535 bytes then silence, half a header, or a body that stops, is closed
// after FrameTimeout.
func TestFrameTimeout(t *testing.T) {
	s := listen(t, frameserver.Config{FrameTimeout: 200 * time.Millisecond, MaxFrame: isospec.MaxFrameLen, IdleTimeout: time.Hour})
	for name, b := range map[string][]byte{
		"65535 announced": {0xFF, 0xFF},
		"half a header":   {0x00},
		"body cut":        {0x00, 0x10, '0', '1', '0', '0'},
	} {
		t.Run(name, func(t *testing.T) {
			before := s.Stats().FrameTimeouts
			c := dial(t, s)
			_, err := c.Write(b)
			require.NoError(t, err)
			took := closedBy(t, c)
			require.GreaterOrEqual(t, took, 150*time.Millisecond, "not before the deadline")
			eventually(t, func() bool { return s.Stats().FrameTimeouts == before+1 }, "counted")
		})
	}
	require.Zero(t, s.Stats().Frames)
}

// DESIGN.md Decisions (size limit checked before allocation): an
// announced length over MaxFrame closes the connection as soon as the
// header is read, long before the frame deadline, without waiting for (or
// reading, or allocating for) the body.
func TestMaxFrame(t *testing.T) {
	var called atomic.Int32
	s := listen(t, frameserver.Config{MaxFrame: 100, FrameTimeout: time.Hour, IdleTimeout: time.Hour,
		Handler: func(context.Context, []byte) ([]byte, bool) { called.Add(1); return nil, false }})
	for _, n := range []int{101, isospec.MaxFrameLen} {
		c := dial(t, s)
		_, err := c.Write([]byte{byte(n >> 8), byte(n)})
		require.NoError(t, err)
		require.Less(t, closedBy(t, c), wait)
	}
	require.EqualValues(t, 2, s.Stats().TooLong)
	require.Zero(t, called.Load())
	c := dial(t, s)
	send(t, c, bytes.Repeat([]byte{'a'}, 100))
	eventually(t, func() bool { return called.Load() == 1 }, "100 bytes is within the limit")
}

// At most MaxInFlight frames of a connection are in hand at once; the
// others wait unread; every one is answered, each reply whole.
func TestHandlerConcurrency(t *testing.T) {
	var cur, peak atomic.Int32
	release := make(chan struct{})
	s := listen(t, frameserver.Config{MaxInFlight: 3, Handler: func(_ context.Context, f []byte) ([]byte, bool) {
		n := cur.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		<-release
		cur.Add(-1)
		return bytes.Repeat(f, 500), false
	}})
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	t.Cleanup(free)
	c := dial(t, s)
	for i := range 10 {
		send(t, c, []byte{byte('a' + i)})
	}
	eventually(t, func() bool { return cur.Load() == 3 }, "three in hand")
	eventually(t, func() bool { return s.Stats().Frames == 4 }, "a fourth read, waiting for a slot")
	time.Sleep(50 * time.Millisecond) // give a wrong reader the time to read a fifth
	require.EqualValues(t, 4, s.Stats().Frames, "the fifth is not read while three are in hand")
	free()
	seen := map[byte]bool{}
	for range 10 {
		r := recv(t, c)
		require.Len(t, r, 500)
		require.Equal(t, bytes.Repeat(r[:1], 500), r, "replies are not interleaved")
		seen[r[0]] = true
	}
	require.Len(t, seen, 10)
	require.EqualValues(t, 3, peak.Load())
	require.EqualValues(t, 3, s.Stats().Workers, "ten frames, three workers")
}

// A connection's frames one after the other are handled by one worker,
// which ends with the connection; another connection starts its own.
func TestWorkersKept(t *testing.T) {
	g0 := runtime.NumGoroutine()
	s := listen(t, frameserver.Config{})
	c := dial(t, s)
	for i := range 50 {
		f := []byte{byte(i)}
		send(t, c, f)
		require.Equal(t, append([]byte("re:"), f...), recv(t, c))
	}
	require.EqualValues(t, 1, s.Stats().Workers)
	require.NoError(t, c.Close())
	eventually(t, func() bool { return s.Stats().Active == 0 }, "connection released")
	eventually(t, func() bool { return runtime.NumGoroutine() <= g0+2 }, "the worker ended with its connection")
	c = dial(t, s)
	send(t, c, []byte("again"))
	require.Equal(t, []byte("re:again"), recv(t, c))
	require.EqualValues(t, 2, s.Stats().Workers)
}

// Close waits for the frames in hand, whose replies are written, then
// closes the connections; a closed server accepts nobody.
func TestCloseWaitsForHandlers(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	s, err := frameserver.Listen(frameserver.Config{Addr: "127.0.0.1:0", Handler: func(ctx context.Context, f []byte) ([]byte, bool) {
		close(entered)
		<-release
		require.NoError(t, ctx.Err(), "the context lasts while the handler runs")
		return []byte("done"), false
	}})
	require.NoError(t, err)
	c := dial(t, s)
	send(t, c, []byte("work"))
	<-entered
	closed := make(chan struct{})
	go func() { require.NoError(t, s.Close()); close(closed) }()
	select {
	case <-closed:
		t.Fatal("Close returned with a handler in hand")
	case <-time.After(100 * time.Millisecond):
	}
	once.Do(func() { close(release) })
	require.Equal(t, []byte("done"), recv(t, c), "the reply in hand is written")
	<-closed
	closedBy(t, c)
	require.NoError(t, s.Close(), "twice")
	_, err = net.DialTimeout("tcp", s.Addr().String(), time.Second)
	require.Error(t, err)
}

// A connection whose replies wait for the client to read them is not
// idle: it is not closed for IdleTimeout while they are written. (That
// idle time then counts from the last answer is TestIdleAt's.)
func TestRepliesBeingWrittenAreNotIdle(t *testing.T) {
	const replies, size = 300, 60000 // more than the sockets buffer
	s := listen(t, frameserver.Config{IdleTimeout: 100 * time.Millisecond, MaxInFlight: replies,
		Handler: func(_ context.Context, f []byte) ([]byte, bool) { return bytes.Repeat(f, size), false }})
	c := dial(t, s)
	for range replies {
		send(t, c, []byte("r"))
	}
	eventually(t, func() bool { return s.Stats().Frames == replies }, "every frame read")
	// The client reads nothing for five idle timeouts: the replies wait
	// in full socket buffers all along, so whenever the read deadline
	// passes, frames are in hand. (A slow machine can only make the
	// deadline pass fewer times, never make the connection idle.)
	time.Sleep(500 * time.Millisecond)
	require.Zero(t, s.Stats().Idle, "not closed with replies waiting")
	for range replies {
		require.Len(t, recv(t, c), size)
	}
}

// A handler that panics closes its connection, not the process.
func TestHandlerPanic(t *testing.T) {
	s := listen(t, frameserver.Config{Handler: func(context.Context, []byte) ([]byte, bool) { panic("boom") }})
	c := dial(t, s)
	send(t, c, []byte("x"))
	closedBy(t, c)
}

// A client that never reads its replies is closed once a write has waited
// WriteTimeout, and its goroutines end.
func TestWriteTimeout(t *testing.T) {
	big := bytes.Repeat([]byte{1}, isospec.MaxFrameLen)
	s := listen(t, frameserver.Config{WriteTimeout: 100 * time.Millisecond, MaxInFlight: 1,
		Handler: func(context.Context, []byte) ([]byte, bool) { return big, false }})
	c := dial(t, s)
	go func() {
		for {
			if isospec.WriteFrame(c, []byte("x")) != nil {
				return
			}
		}
	}()
	eventually(t, func() bool { return s.Stats().WriteErrors >= 1 }, "write timed out")
	eventually(t, func() bool { return s.Stats().Active == 0 }, "connection released")
}

func TestTLS(t *testing.T) {
	p := tlstest.NewPKI(t, "host", "client")
	logs := &tlstest.LogBuffer{}
	s := listen(t, frameserver.Config{TLS: p.Server("host"), Peer: "terminal", Logger: slog.New(slog.NewTextHandler(logs, nil))})
	tc, err := tlsDial(s.Addr().String(), p)
	require.NoError(t, err)
	defer tc.Close()
	send(t, tc, []byte("over tls"))
	require.Equal(t, []byte("re:over tls"), recv(t, tc))

	raw := dial(t, s)
	send(t, raw, []byte("plain"))
	closedBy(t, raw)
	eventually(t, func() bool { return s.Stats().Handshakes == 1 }, "handshake failure counted")
	eventually(t, func() bool { return logs.Count("terminal connection refused") == 1 }, "one line: %s", logs.String())
}

// Over TLS a connection that never starts its handshake is silent: a
// client that does takes its place, and the one closed is not counted as
// a failed handshake. A client whose certificate the handshake verified
// is proved from the start: no newcomer takes its place.
func TestTLSCapEvictsSilent(t *testing.T) {
	p := tlstest.NewPKI(t, "host", "client")
	s := listen(t, frameserver.Config{TLS: p.Server("host"), MaxConns: 1, EvictIdle: time.Nanosecond})
	silent := dial(t, s)
	eventually(t, func() bool { return s.Stats().Active == 1 }, "accepted")
	tc, err := tlsDial(s.Addr().String(), p)
	require.NoError(t, err)
	defer tc.Close()
	send(t, tc, []byte("over tls"))
	require.Equal(t, []byte("re:over tls"), recv(t, tc))
	require.Less(t, closedBy(t, silent), wait)
	eventually(t, func() bool { return s.Stats().Active == 1 }, "the silent one gone")
	require.Less(t, closedBy(t, dial(t, s)), wait, "the certified one stays")
	st := s.Stats()
	require.EqualValues(t, 1, st.Evicted)
	require.EqualValues(t, 1, st.OverCap)
	require.Zero(t, st.Handshakes)
}

// fdCount is the number of open file descriptors of the process.
func fdCount(t testing.TB) int {
	t.Helper()
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(es)
}

// DESIGN.md Decisions (no goroutine outlives its connection), R-S5f: 300
// connections each send a frame that closes the connection followed by
// small frames queued behind it, others stall mid-frame or idle; after
// they end the server's goroutines and descriptors are back to the
// baseline, and it still serves.
func TestNoLeak(t *testing.T) {
	s := listen(t, frameserver.Config{FrameTimeout: 300 * time.Millisecond, IdleTimeout: 300 * time.Millisecond})
	c := dial(t, s)
	send(t, c, []byte("warm"))
	recv(t, c)
	require.NoError(t, c.Close())
	eventually(t, func() bool { return s.Stats().Active == 0 }, "warm-up connection gone")
	runtime.GC()
	g0, fd0 := runtime.NumGoroutine(), fdCount(t)

	var wg sync.WaitGroup
	for i := range 300 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.DialTimeout("tcp", s.Addr().String(), wait)
			if err != nil {
				return
			}
			defer c.Close()
			var buf bytes.Buffer
			switch i % 3 {
			case 0: // a hang-up frame with three frames behind it
				for _, f := range []string{"bye", "a", "b", "c"} {
					_ = isospec.WriteFrame(&buf, []byte(f))
				}
			case 1: // a stalled frame
				buf.Write([]byte{0x00, 0x40, '0'})
			case 2: // nothing
			}
			_, _ = c.Write(buf.Bytes())
			_ = c.SetReadDeadline(time.Now().Add(wait))
			_, _ = io.Copy(io.Discard, c)
		}()
	}
	wg.Wait()
	eventually(t, func() bool { return s.Stats().Active == 0 }, "every connection released: %+v", s.Stats())
	eventually(t, func() bool { return runtime.NumGoroutine() <= g0+2 }, "goroutines back to %d", g0)
	eventually(t, func() bool { return fdCount(t) <= fd0 }, "descriptors back to %d", fd0)
	t.Logf("goroutines %d -> %d, fds %d -> %d, stats %+v", g0, runtime.NumGoroutine(), fd0, fdCount(t), s.Stats())
	c = dial(t, s)
	send(t, c, []byte("still"))
	require.Equal(t, []byte("re:still"), recv(t, c))
}

func TestLimiter(t *testing.T) {
	var buf bytes.Buffer
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := &frameserver.Limiter{Logger: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}})), Interval: time.Minute, Burst: 2, Now: func() time.Time { return now }}
	for i := range 10 {
		l.Log("bad frame", "n", i)
	}
	l.Log("other", "n", 0)
	now = now.Add(time.Minute)
	l.Log("bad frame", "n", 10)
	l.Log("bad frame", "n", 11)
	l.Log("bad frame", "n", 12)
	l.Flush()
	l.Flush()
	want := []string{
		`level=INFO msg="bad frame" n=0`,
		`level=INFO msg="bad frame" n=1`,
		`level=INFO msg=other n=0`,
		`level=INFO msg="bad frame" repeated=8`,
		`level=INFO msg="bad frame" n=10`,
		`level=INFO msg="bad frame" n=11`,
		`level=INFO msg="bad frame" repeated=1`,
	}
	require.Equal(t, want, strings.Split(strings.TrimSpace(buf.String()), "\n"))
	var zero frameserver.Limiter
	zero.Log("nothing")
	zero.Flush()
}

func tlsDial(addr string, p *tlstest.PKI) (*tls.Conn, error) {
	return tls.DialWithDialer(&net.Dialer{Timeout: wait}, "tcp", addr, p.Client("client", "127.0.0.1"))
}
