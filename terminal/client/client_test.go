package client_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/terminal/client"
)

// rawServer is a TCP server that reads isospec frames and lets handle write
// whatever it likes back: good answers, garbage, nothing, or a close.
type rawServer struct {
	ln      net.Listener
	handle  func(conn net.Conn, frame []byte) bool // false closes the connection
	mu      sync.Mutex
	frames  [][]byte
	accepts atomic.Int32
}

func startRaw(t *testing.T, handle func(conn net.Conn, frame []byte) bool) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &rawServer{ln: ln, handle: handle}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.accepts.Add(1)
			go func() {
				defer c.Close()
				for {
					f, err := isospec.ReadFrame(c)
					if err != nil {
						return
					}
					s.mu.Lock()
					s.frames = append(s.frames, f)
					s.mu.Unlock()
					if !s.handle(c, f) {
						return
					}
				}
			}()
		}
	}()
	return s
}

func (s *rawServer) received() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.frames)
}

func request(t *testing.T, stan string) *iso8583.Message {
	t.Helper()
	m, err := isospec.Encode(&isospec.NetworkManagement{
		MTI: isospec.MTINetworkRequest, TransmissionDateTime: "0115103000", STAN: stan,
		TerminalID: "T0000001", NetworkCode: isospec.NetEcho,
	})
	require.NoError(t, err)
	return m
}

// answerFrame packs the 0810 answering frame.
func answerFrame(t *testing.T, frame []byte) []byte {
	var nm isospec.NetworkManagement
	if err := isospec.Unmarshal(frame, &nm); err != nil {
		t.Error(err)
		return nil
	}
	resp, err := nm.Response(isospec.RCApproved)
	if err != nil {
		t.Error(err)
		return nil
	}
	b, err := isospec.Marshal(resp)
	if err != nil {
		t.Error(err)
	}
	return b
}

func echo(t *testing.T) func(net.Conn, []byte) bool {
	return func(c net.Conn, f []byte) bool {
		return isospec.WriteFrame(c, answerFrame(t, f)) == nil
	}
}

func TestSendAnswered(t *testing.T) {
	s := startRaw(t, echo(t))
	c := client.New(s.ln.Addr().String(), client.Options{})
	defer c.Close()
	require.Equal(t, s.ln.Addr().String(), c.Addr())
	for _, stan := range []string{"000001", "000002", "000003"} {
		resp, err := c.Send(context.Background(), request(t, stan), time.Second)
		require.NoError(t, err)
		mti, _ := resp.GetMTI()
		require.Equal(t, "0810", mti)
		got, _ := resp.GetString(isospec.FieldSTAN)
		require.Equal(t, stan, got)
	}
	require.Equal(t, int32(1), s.accepts.Load(), "one connection for all")
}

func TestSendTimeoutIsNoAnswer(t *testing.T) {
	s := startRaw(t, func(net.Conn, []byte) bool { return true })
	c := client.New(s.ln.Addr().String(), client.Options{})
	defer c.Close()
	start := time.Now()
	_, err := c.Send(context.Background(), request(t, "000001"), 150*time.Millisecond)
	require.ErrorIs(t, err, client.ErrNoAnswer)
	require.NotErrorIs(t, err, client.ErrNotSent)
	require.GreaterOrEqual(t, time.Since(start), 150*time.Millisecond)
	require.Equal(t, 1, s.received())
}

func TestLateAnswerGoesToOnUnmatched(t *testing.T) {
	late := make(chan *iso8583.Message, 1)
	s := startRaw(t, func(c net.Conn, f []byte) bool {
		time.Sleep(200 * time.Millisecond)
		return isospec.WriteFrame(c, answerFrame(t, f)) == nil
	})
	c := client.New(s.ln.Addr().String(), client.Options{OnUnmatched: func(m *iso8583.Message) { late <- m }})
	defer c.Close()
	_, err := c.Send(context.Background(), request(t, "000001"), 50*time.Millisecond)
	require.ErrorIs(t, err, client.ErrNoAnswer)
	select {
	case m := <-late:
		stan, _ := m.GetString(isospec.FieldSTAN)
		require.Equal(t, "000001", stan)
	case <-time.After(2 * time.Second):
		t.Fatal("late answer not delivered")
	}
}

func TestUnreachableIsNotSent(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	c := client.New(addr, client.Options{ConnectTimeout: time.Second})
	defer c.Close()
	_, err = c.Send(context.Background(), request(t, "000001"), time.Second)
	require.ErrorIs(t, err, client.ErrNotSent)
	require.NotErrorIs(t, err, client.ErrNoAnswer)
	require.ErrorIs(t, c.Connect(context.Background()), client.ErrNotSent)
}

func TestUnpackableIsNotSent(t *testing.T) {
	s := startRaw(t, echo(t))
	c := client.New(s.ln.Addr().String(), client.Options{})
	defer c.Close()
	m := isospec.NewMessage()
	m.MTI("0800")
	require.NoError(t, m.Field(isospec.FieldSTAN, "ABCDEF")) // n6 with letters
	_, err := c.Send(context.Background(), m, time.Second)
	require.ErrorIs(t, err, client.ErrNotSent)
	_, err = c.Send(context.Background(), nil, time.Second)
	require.ErrorIs(t, err, client.ErrNotSent)
	require.Equal(t, 0, s.received())
}

// The host drops the connection while the request waits: no answer, and
// the next Send opens a new connection.
func TestDroppedConnectionReconnects(t *testing.T) {
	var n atomic.Int32
	s := startRaw(t, func(c net.Conn, f []byte) bool {
		if n.Add(1) == 1 {
			return false // close without answering
		}
		return isospec.WriteFrame(c, answerFrame(t, f)) == nil
	})
	c := client.New(s.ln.Addr().String(), client.Options{})
	defer c.Close()
	_, err := c.Send(context.Background(), request(t, "000001"), 2*time.Second)
	require.ErrorIs(t, err, client.ErrNoAnswer)
	var resp *iso8583.Message
	require.Eventually(t, func() bool {
		resp, err = c.Send(context.Background(), request(t, "000002"), time.Second)
		return err == nil
	}, 5*time.Second, 20*time.Millisecond)
	stan, _ := resp.GetString(isospec.FieldSTAN)
	require.Equal(t, "000002", stan)
	require.GreaterOrEqual(t, s.accepts.Load(), int32(2))
}

// Garbage from the host is skipped: the answer that follows it is matched.
func TestGarbageFramesSkipped(t *testing.T) {
	var errs atomic.Int32
	s := startRaw(t, func(c net.Conn, f []byte) bool {
		for _, g := range [][]byte{{}, []byte("0810"), []byte("08x0\x00\x00\x00\x00\x00\x00\x00\x00"), make([]byte, 40)} {
			if isospec.WriteFrame(c, g) != nil {
				return false
			}
		}
		return isospec.WriteFrame(c, answerFrame(t, f)) == nil
	})
	c := client.New(s.ln.Addr().String(), client.Options{OnError: func(err error) { errs.Add(1) }})
	defer c.Close()
	resp, err := c.Send(context.Background(), request(t, "000007"), 2*time.Second)
	require.NoError(t, err)
	stan, _ := resp.GetString(isospec.FieldSTAN)
	require.Equal(t, "000007", stan)
	require.Eventually(t, func() bool { return errs.Load() >= 4 }, 2*time.Second, 10*time.Millisecond)
}

func TestContextEnds(t *testing.T) {
	s := startRaw(t, func(net.Conn, []byte) bool { return true })
	c := client.New(s.ln.Addr().String(), client.Options{})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 80*time.Millisecond)
	defer cancel()
	_, err := c.Send(ctx, request(t, "000001"), 10*time.Second)
	require.ErrorIs(t, err, client.ErrNoAnswer)

	done, cancel2 := context.WithCancel(context.Background())
	cancel2()
	_, err = c.Send(done, request(t, "000002"), time.Second)
	require.ErrorIs(t, err, client.ErrNotSent)
	require.True(t, errors.Is(err, context.Canceled))
}

func TestClosed(t *testing.T) {
	s := startRaw(t, echo(t))
	c := client.New(s.ln.Addr().String(), client.Options{})
	require.NoError(t, c.Connect(context.Background()))
	require.NoError(t, c.Close())
	_, err := c.Send(context.Background(), request(t, "000001"), time.Second)
	require.ErrorIs(t, err, client.ErrNotSent)
	require.ErrorIs(t, err, client.ErrClosed)
	require.NoError(t, c.Close())
}
