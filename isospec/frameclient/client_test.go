package frameclient_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/isospec/frameclient"
	"github.com/tapsim/tapsim/isospec/frameserver/frametest"
	"github.com/tapsim/tapsim/isospec/tlsconf"
	"github.com/tapsim/tapsim/isospec/tlsconf/tlstest"
)

var t0 = time.Date(2026, 1, 15, 10, 30, 0, 0, time.UTC)

// echoReq is an 0800 echo test of terminal T0000001 with stan.
func echoReq(t *testing.T, stan string) *iso8583.Message {
	t.Helper()
	nm := isospec.NewNetworkManagement(isospec.NetEcho, stan, t0)
	nm.TerminalID = "T0000001"
	m, err := isospec.Encode(nm)
	require.NoError(t, err)
	return m
}

// answer packs the 0810 answering the 0800 frame f, or nil.
func answer(f []byte) []byte {
	var nm isospec.NetworkManagement
	if isospec.Unmarshal(f, &nm) != nil || nm.MTI != isospec.MTINetworkRequest {
		return nil
	}
	r, err := nm.Response(isospec.RCApproved)
	if err != nil {
		return nil
	}
	b, _ := isospec.Marshal(r)
	return b
}

func stanOf(m *iso8583.Message) string {
	s, _ := m.GetString(isospec.FieldSTAN)
	return s
}

// rawPeer listens on loopback and runs serve on each connection, which it
// closes when serve returns; everything is closed and waited for at the
// end of the test.
func rawPeer(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				serve(c)
			}()
		}
	}()
	return ln.Addr().String()
}

func dial(t *testing.T, cfg frameclient.Config) *frameclient.Conn {
	t.Helper()
	c, err := frameclient.Dial(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// waitDone waits for the connection to close.
func waitDone(t *testing.T, c *frameclient.Conn) {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(frametest.Wait):
		t.Fatal("connection not closed")
	}
}

func TestOutOfOrderAnswers(t *testing.T) {
	const n = 5
	addr := rawPeer(t, func(c net.Conn) {
		var frames [][]byte
		for range n {
			f, err := isospec.ReadFrame(c)
			if err != nil {
				return
			}
			frames = append(frames, f)
		}
		for i := len(frames) - 1; i >= 0; i-- {
			if isospec.WriteFrame(c, answer(frames[i])) != nil {
				return
			}
		}
		_, _ = io.Copy(io.Discard, c)
	})
	c := dial(t, frameclient.Config{Addr: addr})
	var wg sync.WaitGroup
	errs := make([]error, n)
	got := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, err := c.Send(context.Background(), echoReq(t, isospec.FormatSTAN(uint32(i+1))), frametest.Wait)
			errs[i] = err
			if err == nil {
				got[i] = stanOf(m)
			}
		}()
	}
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i])
		require.Equal(t, isospec.FormatSTAN(uint32(i+1)), got[i])
	}
	s := c.Stats()
	require.Equal(t, uint64(n), s.Sent)
	require.Equal(t, uint64(n), s.Answered)
	require.Zero(t, s.Late)
}

// An answer that comes after its Send gave up is dropped, counted and
// handed to Unmatched.
func TestLateAnswerDropped(t *testing.T) {
	release := make(chan struct{})
	addr := rawPeer(t, func(c net.Conn) {
		f, err := isospec.ReadFrame(c)
		if err != nil {
			return
		}
		<-release
		if isospec.WriteFrame(c, answer(f)) != nil {
			return
		}
		_, _ = io.Copy(io.Discard, c)
	})
	late := make(chan *iso8583.Message, 1)
	c := dial(t, frameclient.Config{Addr: addr, Unmatched: func(_ context.Context, _ *frameclient.Conn, m *iso8583.Message) { late <- m }})
	start := time.Now()
	_, err := c.Send(context.Background(), echoReq(t, "000001"), 50*time.Millisecond)
	require.ErrorIs(t, err, frameclient.ErrNoAnswer)
	require.NotErrorIs(t, err, frameclient.ErrNotSent)
	require.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond)
	close(release)
	select {
	case m := <-late:
		require.Equal(t, "000001", stanOf(m))
	case <-time.After(frametest.Wait):
		t.Fatal("late answer not seen")
	}
	s := c.Stats()
	require.Equal(t, uint64(1), s.Late)
	require.Equal(t, uint64(1), s.NoAnswer)
	require.Zero(t, s.Answered)
}

func TestContextEndsWait(t *testing.T) {
	addr := rawPeer(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
	c := dial(t, frameclient.Config{Addr: addr})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		// Cancel once the request is on its way: the wait starts after.
		for c.Stats().Sent == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	_, err := c.Send(ctx, echoReq(t, "000001"), frametest.Wait)
	require.ErrorIs(t, err, frameclient.ErrNoAnswer)
	require.ErrorIs(t, err, context.Canceled)
}

// The peer's own requests go to Inbound, which answers through Reply.
func TestInboundHandler(t *testing.T) {
	got := make(chan []byte, 1)
	addr := rawPeer(t, func(c net.Conn) {
		if isospec.WriteFrame(c, mustPack(t, echoReq(t, "777777"))) != nil {
			return
		}
		f, err := isospec.ReadFrame(c)
		if err != nil {
			return
		}
		got <- f
		_, _ = io.Copy(io.Discard, c)
	})
	c := dial(t, frameclient.Config{Addr: addr, Inbound: func(_ context.Context, c *frameclient.Conn, m *iso8583.Message) {
		var nm isospec.NetworkManagement
		if isospec.Decode(m, &nm) != nil {
			return
		}
		r, err := nm.Response(isospec.RCApproved)
		if err != nil {
			return
		}
		out, err := isospec.Encode(r)
		if err == nil {
			_ = c.Reply(out)
		}
	}})
	select {
	case f := <-got:
		var nm isospec.NetworkManagement
		require.NoError(t, isospec.Unmarshal(f, &nm))
		require.Equal(t, isospec.MTINetworkResponse, nm.MTI)
		require.Equal(t, "777777", nm.STAN)
	case <-time.After(frametest.Wait):
		t.Fatal("inbound request not answered")
	}
	require.Equal(t, uint64(1), c.Stats().Inbound)
}

func mustPack(t *testing.T, m *iso8583.Message) []byte {
	t.Helper()
	b, err := isospec.Pack(m)
	require.NoError(t, err)
	return b
}

// What the peer can do to a connection with a request waiting: each ends
// the connection, and the waiting Send learns it was sent but unanswered.
func TestPeerBreaksConnection(t *testing.T) {
	tests := []struct {
		name  string
		write []byte
		cfg   frameclient.Config
		want  error
	}{
		{"oversize header", []byte{0xFF, 0xFF}, frameclient.Config{}, isospec.ErrFrameTooLong},
		{"over MaxFrame", []byte{0x00, 0x41}, frameclient.Config{MaxFrame: 64}, isospec.ErrFrameTooLong},
		{"close mid-frame", []byte{0x00, 0x40, '0', '8', '1'}, frameclient.Config{}, io.ErrUnexpectedEOF},
		{"close mid-header", []byte{0x00}, frameclient.Config{}, io.ErrUnexpectedEOF},
		{"stall mid-frame", []byte{0x00, 0x40, '0'}, frameclient.Config{FrameTimeout: 100 * time.Millisecond}, os.ErrDeadlineExceeded},
		{"stall mid-header", []byte{0x00}, frameclient.Config{FrameTimeout: 100 * time.Millisecond}, os.ErrDeadlineExceeded},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stall := tc.want == os.ErrDeadlineExceeded
			addr := rawPeer(t, func(c net.Conn) {
				if _, err := isospec.ReadFrame(c); err != nil {
					return
				}
				if _, err := c.Write(tc.write); err != nil || !stall {
					return
				}
				_, _ = io.Copy(io.Discard, c)
			})
			var reported atomic.Value
			cfg := tc.cfg
			cfg.Addr = addr
			cfg.OnError = func(err error) { reported.Store(err) }
			c := dial(t, cfg)
			_, err := c.Send(context.Background(), echoReq(t, "000001"), frametest.Wait)
			require.ErrorIs(t, err, frameclient.ErrClosed)
			require.NotErrorIs(t, err, frameclient.ErrNotSent)
			waitDone(t, c)
			require.ErrorIs(t, c.Err(), tc.want)
			_, err = c.Send(context.Background(), echoReq(t, "000002"), time.Second)
			require.ErrorIs(t, err, frameclient.ErrNotSent)
			require.ErrorIs(t, err, frameclient.ErrClosed)
			require.NoError(t, c.Close())
			require.ErrorIs(t, reported.Load().(error), tc.want)
		})
	}
}

// Frames that do not unpack, or answers without a request ID, are skipped;
// the answer that follows is matched.
func TestMalformedSkipped(t *testing.T) {
	noSTAN := isospec.NewMessage()
	noSTAN.MTI("0810")
	addr := rawPeer(t, func(c net.Conn) {
		f, err := isospec.ReadFrame(c)
		if err != nil {
			return
		}
		for _, g := range [][]byte{{}, []byte("0810"), make([]byte, 40), mustPack(t, noSTAN), answer(f)} {
			if isospec.WriteFrame(c, g) != nil {
				return
			}
		}
		_, _ = io.Copy(io.Discard, c)
	})
	var errs atomic.Int32
	c := dial(t, frameclient.Config{Addr: addr, OnError: func(error) { errs.Add(1) }})
	m, err := c.Send(context.Background(), echoReq(t, "000009"), frametest.Wait)
	require.NoError(t, err)
	require.Equal(t, "000009", stanOf(m))
	require.Equal(t, uint64(4), c.Stats().Malformed)
	require.Equal(t, int32(4), errs.Load())
}

func TestNotSent(t *testing.T) {
	addr := rawPeer(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
	c := dial(t, frameclient.Config{Addr: addr})
	noSTAN := isospec.NewMessage()
	noSTAN.MTI("0800")
	badSTAN := isospec.NewMessage()
	badSTAN.MTI("0800")
	require.NoError(t, badSTAN.Field(isospec.FieldSTAN, "ABCDEF"))
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		msg     *iso8583.Message
		timeout time.Duration
		also    error
	}{
		{"nil message", context.Background(), nil, time.Second, nil},
		{"no STAN", context.Background(), noSTAN, time.Second, isospec.ErrMissing},
		{"does not pack", context.Background(), badSTAN, time.Second, isospec.ErrCharset},
		{"context ended", cancelled, echoReq(t, "000001"), time.Second, context.Canceled},
		{"no time", context.Background(), echoReq(t, "000001"), 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Send(tc.ctx, tc.msg, tc.timeout)
			require.ErrorIs(t, err, frameclient.ErrNotSent)
			if tc.also != nil {
				require.ErrorIs(t, err, tc.also)
			}
		})
	}
	require.Zero(t, c.Stats().Sent)

	// The same request ID twice at once: the second is refused.
	first, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.Send(first, echoReq(t, "000005"), frametest.Wait)
		done <- err
	}()
	require.Eventually(t, func() bool { return c.Stats().Sent == 1 }, frametest.Wait, time.Millisecond)
	_, err := c.Send(context.Background(), echoReq(t, "000005"), time.Second)
	require.ErrorIs(t, err, frameclient.ErrNotSent)
	stop()
	require.ErrorIs(t, <-done, frameclient.ErrNoAnswer)
	require.Equal(t, uint64(1), c.Stats().Sent)
}

// Close with Sends waiting: every one returns ErrClosed, nothing is left
// running.
func TestCloseWithSendsWaiting(t *testing.T) {
	const n = 20
	addr := rawPeer(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
	base := frametest.Measure()
	c, err := frameclient.Dial(context.Background(), frameclient.Config{Addr: addr})
	require.NoError(t, err)
	errs := make(chan error, n)
	for i := range n {
		go func() {
			_, err := c.Send(context.Background(), echoReq(t, isospec.FormatSTAN(uint32(i+1))), frametest.Wait)
			errs <- err
		}()
	}
	require.Eventually(t, func() bool { return c.Stats().Sent == n }, frametest.Wait, time.Millisecond)
	require.NoError(t, c.Close())
	for range n {
		err := <-errs
		require.ErrorIs(t, err, frameclient.ErrClosed)
		require.NotErrorIs(t, err, frameclient.ErrNotSent)
	}
	require.NoError(t, c.Close(), "idempotent")
	require.ErrorIs(t, c.Err(), frameclient.ErrClosed)
	frametest.Settle(t, base, 2) // the peer's side of the connection may still be ending
}

func TestIdleTimeout(t *testing.T) {
	addr := rawPeer(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
	start := time.Now()
	c := dial(t, frameclient.Config{Addr: addr, IdleTimeout: 100 * time.Millisecond})
	waitDone(t, c)
	require.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond)
	require.ErrorIs(t, c.Err(), os.ErrDeadlineExceeded)
}

// A handler that panics closes the connection, not the process.
func TestHandlerPanic(t *testing.T) {
	addr := rawPeer(t, func(c net.Conn) {
		if isospec.WriteFrame(c, mustPack(t, echoReq(t, "777777"))) == nil {
			_, _ = io.Copy(io.Discard, c)
		}
	})
	c := dial(t, frameclient.Config{Addr: addr, Inbound: func(context.Context, *frameclient.Conn, *iso8583.Message) {
		panic("handler bug")
	}})
	waitDone(t, c)
	require.ErrorContains(t, c.Err(), "handler panicked")
	require.NoError(t, c.Close())
}

func TestDialFails(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	_, err = frameclient.Dial(context.Background(), frameclient.Config{Addr: addr, DialTimeout: time.Second})
	require.ErrorIs(t, err, frameclient.ErrDial)

	for name, cfg := range map[string]frameclient.Config{
		"no address":       {},
		"negative timeout": {Addr: addr, FrameTimeout: -1},
		"max frame":        {Addr: addr, MaxFrame: isospec.MaxFrameLen + 1},
		"negative limit":   {Addr: addr, MaxInFlight: -1},
	} {
		_, err := frameclient.Dial(context.Background(), cfg)
		require.ErrorIs(t, err, frameclient.ErrConfig, name)
	}
}

func TestTLS(t *testing.T) {
	p := tlstest.NewPKI(t, "acquirer", "terminal")
	addr, shakes := tlstest.Serve(t, p.Server("acquirer"), func(c *tls.Conn) {
		for {
			f, err := isospec.ReadFrame(c)
			if err != nil || isospec.WriteFrame(c, answer(f)) != nil {
				return
			}
		}
	})
	c := dial(t, frameclient.Config{Addr: addr, TLS: p.Client("terminal", "")})
	m, err := c.Send(context.Background(), echoReq(t, "000001"), frametest.Wait)
	require.NoError(t, err)
	require.Equal(t, "000001", stanOf(m))
	require.Equal(t, 1, shakes())

	tests := []struct {
		name string
		cfg  *tls.Config
	}{
		{"server from another CA", p.DistrustingClient("terminal", "")},
		{"server name mismatch", p.Client("terminal", "acquirer.example")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := frameclient.Dial(context.Background(), frameclient.Config{Addr: addr, TLS: tc.cfg, DialTimeout: 5 * time.Second})
			require.ErrorIs(t, err, frameclient.ErrDial)
			require.ErrorIs(t, err, tlsconf.ErrHandshake)
		})
	}
}

func TestIsAnswer(t *testing.T) {
	for mti, want := range map[isospec.MTI]bool{
		"0100": false, "0110": true, "0800": false, "0810": true, "0420": false, "0430": true,
		"": false, "08": false, "08x0": false, "0200": false, "0210": true,
	} {
		require.Equal(t, want, frameclient.IsAnswer(mti), string(mti))
	}
}

// The hostile peer: 100 connections flooded with answers nobody asked
// for, garbage and half frames, each closed by the client while frames
// are still arriving. Goroutines and descriptors come back to where they
// were.
func TestNoLeakUnderFlood(t *testing.T) {
	const conns, parallel = 100, 10
	unasked := answer(mustPack(t, echoReq(t, "999999")))
	peer := frametest.ServePeer(t, frametest.Peer{
		Answer: answer,
		Flood: [][]byte{
			frametest.Frame(unasked),
			frametest.Frame([]byte("garbage")),
			frametest.Frame(mustPack(t, echoReq(t, "888888"))),
			{0x00, 0x08, '0', '8', '1'}, // a frame in two writes: the client
			{'0', 'x', 'y', 'z', 'w'},   // reads half of it, then the rest
		},
	})
	base := frametest.Measure()
	var (
		wg     sync.WaitGroup
		failed atomic.Int32
	)
	slots := make(chan struct{}, parallel)
	for i := range conns {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			if err := floodOne(peer.Addr(), echoReq(t, isospec.FormatSTAN(uint32(i+1)))); err != nil {
				failed.Add(1)
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	require.Zero(t, failed.Load())
	after := frametest.Settle(t, base, 0)
	t.Logf("%d connections flooded then closed: before %+v, after %+v", conns, base, after)
	require.Equal(t, conns, peer.Accepted())
}

// floodOne sends one request on a new connection, waits until the flood
// has shown unmatched answers and skipped frames, and closes.
func floodOne(addr string, req *iso8583.Message) error {
	c, err := frameclient.Dial(context.Background(), frameclient.Config{Addr: addr, Inbound: func(context.Context, *frameclient.Conn, *iso8583.Message) {}})
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Send(context.Background(), req, frametest.Wait); err != nil {
		return err
	}
	deadline := time.Now().Add(frametest.Wait)
	for s := c.Stats(); s.Late == 0 || s.Malformed == 0 || s.Inbound == 0; s = c.Stats() {
		if time.Now().After(deadline) {
			return errors.New("flood not seen")
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}

// Exchange writes the packed bytes as given and returns the answer with
// the frame it came in, byte for byte.
func TestExchangeGivesTheFrame(t *testing.T) {
	sent := make(chan []byte, 1)
	reply := make(chan []byte, 1)
	addr := rawPeer(t, func(c net.Conn) {
		f, err := isospec.ReadFrame(c)
		if err != nil {
			return
		}
		sent <- f
		a := answer(f)
		reply <- a
		if isospec.WriteFrame(c, a) != nil {
			return
		}
		_, _ = io.Copy(io.Discard, c)
	})
	c := dial(t, frameclient.Config{Addr: addr})
	req := echoReq(t, "000042")
	packed := mustPack(t, req)
	resp, frame, err := c.Exchange(context.Background(), req, packed, frametest.Wait)
	require.NoError(t, err)
	require.Equal(t, packed, <-sent)
	require.Equal(t, <-reply, frame)
	require.Equal(t, "000042", stanOf(resp))
}
