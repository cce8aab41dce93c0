package client_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/isospec/frameserver/frametest"
	"github.com/tapsim/tapsim/terminal/client"
)

// floodFrames is what a hostile acquirer writes again and again: answers
// nobody asked for, requests of its own, garbage, and a frame written in
// two halves.
func floodFrames(t *testing.T) [][]byte {
	t.Helper()
	unasked := answerFrame(t, frameOf(t, request(t, "999999")))
	return [][]byte{
		frametest.Frame(unasked),
		frametest.Frame([]byte("garbage")),
		frametest.Frame(frameOf(t, request(t, "888888"))),
		{0x00, 0x08, '0', '8', '1'}, // a frame in two writes: the client
		{'0', 'x', 'y', 'z', 'w'},   // reads half of it, then the rest
	}
}

func frameOf(t *testing.T, m *iso8583.Message) []byte {
	t.Helper()
	b, err := isospec.Pack(m)
	require.NoError(t, err)
	return b
}

// No goroutine or descriptor outlives a connection closed while the
// acquirer floods it: 100 connections, each sending a request, seeing the
// flood (a skipped frame, unmatched messages) and closing.
func TestNoLeakUnderFlood(t *testing.T) {
	const conns, parallel = 100, 10
	peer := frametest.ServePeer(t, frametest.Peer{
		Answer: func(f []byte) []byte { return answerFrame(t, f) },
		Flood:  floodFrames(t),
	})
	base := frametest.Measure()
	var wg sync.WaitGroup
	slots := make(chan struct{}, parallel)
	for i := range conns {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			var errs, unmatched atomic.Int32
			c := client.New(peer.Addr(), client.Options{
				OnError:     func(error) { errs.Add(1) },
				OnUnmatched: func(*iso8583.Message) { unmatched.Add(1) },
			})
			_, err := c.Send(context.Background(), request(t, isospec.FormatSTAN(uint32(i+1))), frametest.Wait)
			if err != nil {
				t.Error(err)
			}
			deadline := time.Now().Add(frametest.Wait)
			seen := func() bool { return errs.Load() > 0 && unmatched.Load() > 1 }
			for !seen() && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			if !seen() {
				t.Error("flood not seen")
			}
			_ = c.Close()
		}()
	}
	wg.Wait()
	after := frametest.Settle(t, base, 0)
	t.Logf("%d connections flooded then closed: before %+v, after %+v", conns, base, after)
	require.Equal(t, conns, peer.Accepted())
}
