package frameclient

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/moov-io/iso8583"

	"github.com/tapsim/tapsim/isospec"
)

// FuzzRead feeds whatever a peer may send to a connection with a request
// waiting: the reader must not panic, must end when the peer closes, and
// the waiting Send must return.
func FuzzRead(f *testing.F) {
	req := isospec.NewNetworkManagement(isospec.NetEcho, "000001", time.Date(2026, 1, 15, 10, 30, 0, 0, time.UTC))
	req.TerminalID = "T0000001"
	msg, err := isospec.Encode(req)
	if err != nil {
		f.Fatal(err)
	}
	resp, err := req.Response(isospec.RCApproved)
	if err != nil {
		f.Fatal(err)
	}
	ans, err := isospec.Marshal(resp)
	if err != nil {
		f.Fatal(err)
	}
	own, err := isospec.Pack(msg)
	if err != nil {
		f.Fatal(err)
	}
	frame := func(b []byte) []byte { return append([]byte{byte(len(b) >> 8), byte(len(b))}, b...) }
	f.Add(frame(ans))
	f.Add(frame(own))
	f.Add(append(frame([]byte("garbage")), frame(ans)...))
	f.Add([]byte{0xFF, 0xFF})
	f.Add([]byte{0x00})
	f.Add([]byte{0x00, 0x00})
	f.Add(frame(ans)[:10])
	f.Fuzz(func(t *testing.T, data []byte) {
		here, there := net.Pipe()
		c := start(here, here, Config{
			Addr: "pipe", FrameTimeout: time.Second, WriteTimeout: time.Second,
			MaxFrame: DefaultMaxFrame, MaxInFlight: 1,
			RequestID: isospec.RequestIDGenerator{}.GenerateRequestID,
			Inbound:   func(context.Context, *Conn, *iso8583.Message) {},
			Unmatched: func(context.Context, *Conn, *iso8583.Message) {},
		})
		sent := make(chan error, 1)
		go func() {
			_, err := c.Send(context.Background(), msg, 5*time.Second)
			sent <- err
		}()
		// The request comes first: read it, then play the peer.
		if _, err := isospec.ReadFrame(there); err != nil {
			t.Fatal(err)
		}
		_ = there.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = there.Write(data)
		_ = there.Close()
		select {
		case <-c.finished:
		case <-time.After(10 * time.Second):
			t.Fatal("reader did not end")
		}
		select {
		case err := <-sent:
			if err != nil && !errors.Is(err, ErrClosed) {
				t.Fatalf("send: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("send did not return")
		}
		_ = c.Close()
	})
}
