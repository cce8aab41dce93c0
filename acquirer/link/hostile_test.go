package link

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/acquirer/internal/testhsm"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/isospec/frameserver"
	"github.com/tapsim/tapsim/isospec/frameserver/frametest"
	"github.com/tapsim/tapsim/isospec/tlsconf/tlstest"
)

// macFrame packs msg with a MAC under zak.
func macFrame(t *testing.T, m hsm.MAC, zak hsm.Handle, msg *iso8583.Message) []byte {
	t.Helper()
	b, err := isospec.PackWithMAC(msg, func(d []byte) ([]byte, error) { return m.GenerateMAC(zak, d) })
	require.NoError(t, err)
	return b
}

// floodingIssuer answers the link's network management (sign-on,
// sign-off, echo) and floods it with answers nobody asked for, echo
// requests of its own, garbage and half frames.
func floodingIssuer(t *testing.T) (*frametest.PeerServer, *testhsmKeys) {
	t.Helper()
	m, k := testhsm.New(t)
	unasked, err := isospec.Encode(isospec.NewNetworkManagement(isospec.NetEcho, "999999", t0))
	require.NoError(t, err)
	resp, err := isospec.NewNetworkManagement(isospec.NetEcho, "999999", t0).Response(isospec.RCApproved)
	require.NoError(t, err)
	late, err := isospec.Encode(resp)
	require.NoError(t, err)
	flood := [][]byte{
		frametest.Frame(macFrame(t, m, k.ZAK, late)),
		frametest.Frame(macFrame(t, m, k.ZAK, unasked)),
		frametest.Frame([]byte("garbage")),
		{0x00, 0x08, '0', '8', '1'}, // a frame in two writes: the client
		{'0', 'x', 'y', 'z', 'w'},   // reads half of it, then the rest
	}
	answer := func(f []byte) []byte {
		var req isospec.NetworkManagement
		if isospec.Unmarshal(f, &req) != nil || req.MTI != isospec.MTINetworkRequest {
			return nil
		}
		r, err := req.Response(isospec.RCApproved)
		if err != nil {
			return nil
		}
		msg, err := isospec.Encode(r)
		if err != nil {
			return nil
		}
		b, err := isospec.PackWithMAC(msg, func(d []byte) ([]byte, error) { return m.GenerateMAC(k.ZAK, d) })
		if err != nil {
			return nil
		}
		return b
	}
	return frametest.ServePeer(t, frametest.Peer{Answer: answer, Flood: flood}), &testhsmKeys{m: m, zak: k.ZAK}
}

// floodSeen waits until the link's connection has dropped an answer nobody
// asked for, answered a request of the issuer's and skipped garbage.
func floodSeen(l *Link) bool {
	deadline := time.Now().Add(frametest.Wait)
	for time.Now().Before(deadline) {
		l.mu.Lock()
		c := l.conn
		l.mu.Unlock()
		if c != nil {
			if s := c.Stats(); s.Late > 0 && s.Inbound > 0 && s.Malformed > 0 {
				return true
			}
		}
		time.Sleep(time.Millisecond)
	}
	return false
}

// A flood gives a few log lines and a count, not a line per message.
func TestFloodLogsLittle(t *testing.T) {
	peer, keys := floodingIssuer(t)
	var logs tlstest.LogBuffer
	var stan atomic.Uint32
	l, err := New(Config{
		Name: "issuer", Addr: peer.Addr(), AcquirerID: "400001", HSM: keys.m, ZAK: keys.zak,
		STAN: func(context.Context, time.Time) (string, error) {
			return isospec.FormatSTAN(100000 + stan.Add(1)), nil
		},
		Now:            func() time.Time { return t0 },
		NetworkTimeout: 200 * time.Millisecond,
		Logger:         slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
	})
	require.NoError(t, err)
	l.Start(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), frametest.Wait)
	defer cancel()
	require.NoError(t, l.WaitUp(ctx))
	require.Eventually(t, func() bool {
		l.mu.Lock()
		c := l.conn
		l.mu.Unlock()
		return c != nil && c.Stats().Late > 100
	}, frametest.Wait, time.Millisecond)
	require.NoError(t, l.Close())
	// Burst lines and a count per window of a minute; two windows at most
	// on a slow machine.
	n := logs.Count("unmatched answer dropped")
	require.GreaterOrEqual(t, n, frameserver.DefaultLogBurst)
	require.LessOrEqual(t, n, 2*(frameserver.DefaultLogBurst+1))
	require.Contains(t, logs.String(), "repeated=")
}

type testhsmKeys struct {
	m   hsm.MAC
	zak hsm.Handle
}

// No goroutine or descriptor outlives a link closed while the issuer
// floods it: 50 links sign on, see the flood, sign off and close.
func TestNoLeakUnderFlood(t *testing.T) {
	const links, parallel = 50, 10
	peer, keys := floodingIssuer(t)
	var stan atomic.Uint32
	base := frametest.Measure()
	var wg sync.WaitGroup
	slots := make(chan struct{}, parallel)
	for range links {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			l, err := New(Config{
				Name: "issuer", Addr: peer.Addr(), AcquirerID: "400001", HSM: keys.m, ZAK: keys.zak,
				STAN: func(context.Context, time.Time) (string, error) {
					return isospec.FormatSTAN(100000 + stan.Add(1)), nil
				},
				Now:            func() time.Time { return t0 },
				NetworkTimeout: 200 * time.Millisecond,
				MinBackoff:     10 * time.Millisecond,
				MaxBackoff:     50 * time.Millisecond,
			})
			if err != nil {
				t.Error(err)
				return
			}
			l.Start(context.Background())
			ctx, cancel := context.WithTimeout(context.Background(), frametest.Wait)
			defer cancel()
			if err := l.WaitUp(ctx); err != nil {
				t.Error(err)
			}
			if !floodSeen(l) {
				t.Error("flood not seen")
			}
			_ = l.Close()
		}()
	}
	wg.Wait()
	after := frametest.Settle(t, base, 0)
	t.Logf("%d links flooded then closed: before %+v, after %+v", links, base, after)
	require.GreaterOrEqual(t, peer.Accepted(), links)
}
