package issuerhost_test

import (
	"bytes"
	"errors"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/mac"
	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/isospec/frameserver/frametest"
	"github.com/tapsim/tapsim/isospec/tlsconf/tlstest"
	"github.com/tapsim/tapsim/issuerhost"
	"github.com/tapsim/tapsim/issuerhost/internal/issuertest"
)

func verifyZAK(t testing.TB, packed []byte) {
	t.Helper()
	require.NoError(t, isospec.VerifyMAC(packed, func(data, got []byte) error {
		want, err := zakMAC(data)
		if err != nil {
			return err
		}
		if !mac.Equal(want, got) {
			return errors.New("answer MAC")
		}
		return nil
	}), "the answer is MACed under the ZAK")
}

// Every frame gets an answer that echoes what could be read of it (DE7,
// DE11, DE41), with 30 and a MAC under the ZAK, or a clean close: frames
// that do not parse, a response sent to the host, an unknown request
// type; a type with no response (9999) closes. R-S5f, DESIGN.md Decisions.
func TestAnswersEchoWhatCanBeRead(t *testing.T) {
	n := issuertest.New(t)
	logs := &tlstest.LogBuffer{}
	s, err := issuerhost.New(n.DB, n.HSM, issuerhost.Config{Now: n.Clock.Now, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	require.NoError(t, err)
	req := isoRequest(n.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: 100}))
	good, err := isospec.Marshal(req)
	require.NoError(t, err)
	resp, err := isospec.NewAuthorizationResponse(req, isospec.RCApproved)
	require.NoError(t, err)
	respFrame, err := isospec.Marshal(resp)
	require.NoError(t, err)
	odd := isospec.NewMessage()
	odd.MTI("0300")
	require.NoError(t, odd.Field(isospec.FieldSTAN, "000777"))
	oddFrame, err := isospec.Pack(odd)
	require.NoError(t, err)
	odd.MTI("9999")
	nines, err := isospec.Pack(odd)
	require.NoError(t, err)
	badPAN := bytes.Clone(good)
	badPAN[12] = 'A' // DE2's length prefix, before every identifier

	all := [3]string{req.TransmissionDateTime, req.STAN, req.TerminalID}
	for _, tc := range []struct {
		name  string
		frame []byte
		mti   isospec.MTI
		echo  [3]string // DE7, DE11, DE41
		close bool
	}{
		{name: "cut short", frame: good[:len(good)-1], mti: "0110", echo: all},
		{name: "trailing byte", frame: append(bytes.Clone(good), 0), mti: "0110", echo: all},
		{name: "bad PAN prefix", frame: badPAN, mti: "0110"},
		{name: "MTI only", frame: []byte("0200"), mti: "0210"},
		{name: "response 0110", frame: respFrame, mti: "0110", echo: all},
		{name: "unknown request 0300", frame: oddFrame, mti: "0310", echo: [3]string{"", "000777", ""}},
		{name: "9999", frame: nines, close: true},
		{name: "no MTI", frame: []byte("AB"), close: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := s.HandleFrame(ctx, tc.frame)
			if tc.close {
				require.ErrorIs(t, err, issuerhost.ErrClose)
				require.Nil(t, out)
				return
			}
			require.NoError(t, err)
			m, err := isospec.Unpack(out)
			require.NoError(t, err)
			mti, _ := m.GetMTI()
			require.Equal(t, string(tc.mti), mti)
			for i, id := range []int{isospec.FieldTransmissionDateTime, isospec.FieldSTAN, isospec.FieldTerminalID} {
				v, _ := m.GetString(id)
				require.Equal(t, tc.echo[i], v, "field %d", id)
			}
			rc, _ := m.GetString(isospec.FieldResponseCode)
			require.Equal(t, "30", rc)
			verifyZAK(t, out)
		})
	}
	require.NotContains(t, logs.String(), req.PAN)
}

// Malformed frames are logged rate-limited: the first, then a count.
func TestMalformedLinesLimited(t *testing.T) {
	n := issuertest.New(t)
	logs := &tlstest.LogBuffer{}
	s, err := issuerhost.New(n.DB, n.HSM, issuerhost.Config{Now: n.Clock.Now, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	require.NoError(t, err)
	frames := malformedFrames(t, n, 1000)
	for _, f := range frames {
		_, _ = s.HandleFrame(ctx, f)
	}
	require.NoError(t, s.Close())
	lines := bytes.Count([]byte(logs.String()), []byte("\n"))
	require.LessOrEqual(t, lines, 8, logs.String())
	require.Contains(t, logs.String(), "repeated=")
}

// R-S5f, DESIGN.md Decisions: a hostile network cannot tire the issuer
// host. 200 idle connections against a cap of 20 (none silent long enough
// to make room): 180 closed at once, the 20 closed after the idle timeout;
// connections that say nothing, or send what proves nothing (no MAC under
// --mac-optional, a wrong one), do not close an acquirer's; a stalled frame closed at its deadline; an over-long length closed before
// anything is read; 300 connections each with a frame the host cannot
// answer and three small frames queued behind it leave no goroutine or
// descriptor behind; and a good authorisation is approved after it all.
func TestHostileNetwork(t *testing.T) {
	n := issuertest.New(t)
	const idle = 2 * time.Second

	t.Run("cap and idle", func(t *testing.T) {
		s := newServer(t, n, issuerhost.Config{MaxConns: 20, IdleTimeout: idle, EvictIdle: time.Hour})
		start := time.Now()
		conns := make([]net.Conn, 200)
		for i := range conns {
			conns[i] = frametest.Dial(t, s.Addr())
		}
		require.Eventually(t, func() bool {
			st := s.NetStats()
			return st.Accepted+st.OverCap == 200
		}, frametest.Wait, 5*time.Millisecond)
		st := s.NetStats()
		require.EqualValues(t, 20, st.Accepted, "cap enforced")
		require.EqualValues(t, 180, st.OverCap)
		require.Equal(t, 20, st.Active)
		// When each connection closes, measured from before the first dial.
		at := make([]time.Duration, len(conns))
		var wg sync.WaitGroup
		for i, c := range conns {
			wg.Add(1)
			go func() { defer wg.Done(); frametest.ClosedBy(t, c); at[i] = time.Since(start) }()
		}
		wg.Wait()
		early, late := 0, 0
		for _, d := range at {
			if d >= idle {
				late++
			} else {
				early++
			}
		}
		require.Equal(t, 180, early, "over the cap: closed at once")
		require.Equal(t, 20, late, "served: closed after the idle timeout, not before")
		require.Eventually(t, func() bool { return s.NetStats().Active == 0 }, frametest.Wait, 5*time.Millisecond)
		require.EqualValues(t, 20, s.NetStats().Idle)
	})

	t.Run("unproved connections at the cap", func(t *testing.T) {
		s := newServer(t, n, issuerhost.Config{MaxConns: 4, EvictIdle: time.Nanosecond, MACOptional: true})
		acq := dial(t, s.Addr())
		auth := func(amount int64) isospec.ResponseCode {
			req := isoRequest(n.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: amount}))
			return decodeAuth(t, send(t, acq, req, true)).ResponseCode
		}
		require.Equal(t, isospec.RCApproved, auth(100)) // MACed: proves the acquirer
		// Attackers answered without proving anything: a request without a
		// MAC (taken, as --mac-optional allows), one with a wrong MAC, one
		// MACed that names no acquirer (DE32).
		attack := func(mac isospec.MACFunc, acquirerID string, want isospec.ResponseCode) net.Conn {
			req := isoRequest(n.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: 100}))
			req.AcquirerID = acquirerID
			m, err := isospec.Encode(req)
			require.NoError(t, err)
			if mac != nil {
				require.NoError(t, isospec.SetMAC(m, mac))
			}
			f, err := isospec.Pack(m)
			require.NoError(t, err)
			c := frametest.Dial(t, s.Addr())
			_, err = c.Write(frametest.Frame(f))
			require.NoError(t, err)
			require.NoError(t, c.SetReadDeadline(time.Now().Add(frametest.Wait)))
			reply, err := isospec.ReadFrameLimit(c, isospec.MaxFrameLen)
			require.NoError(t, err)
			got, err := isospec.Unpack(reply)
			require.NoError(t, err)
			rc, _ := got.GetString(isospec.FieldResponseCode)
			require.Equal(t, string(want), rc)
			return c
		}
		noMAC := attack(nil, "400001", isospec.RCApproved)
		wrong := attack(func([]byte) ([]byte, error) { return make([]byte, isospec.MACLen), nil }, "400001",
			isospec.RCSecurityViolation)
		noDE32 := attack(zakMAC, "", isospec.RCApproved)
		for i := range 10 {
			frametest.Dial(t, s.Addr()) // connects, says nothing
			require.Eventually(t, func() bool {
				st := s.NetStats()
				return st.Accepted == uint64(i+5) && st.Active <= 4
			}, frametest.Wait, time.Millisecond)
		}
		st := s.NetStats()
		require.Zero(t, st.OverCap)
		require.EqualValues(t, 10, st.Evicted)
		require.Less(t, frametest.ClosedBy(t, noDE32), frametest.Wait, "no DE32")
		require.Less(t, frametest.ClosedBy(t, wrong), frametest.Wait, "wrong MAC")
		require.Less(t, frametest.ClosedBy(t, noMAC), frametest.Wait, "without a MAC")
		require.Equal(t, isospec.RCApproved, auth(200), "the acquirer's connection serves on")
	})

	t.Run("stalled and over-long frames", func(t *testing.T) {
		const frameTimeout = 300 * time.Millisecond
		s := newServer(t, n, issuerhost.Config{FrameTimeout: frameTimeout})
		for name, b := range map[string][]byte{
			"legal length then silence": {0x02, 0x00, '0', '1'},
			"half a header":             {0x00},
		} {
			c := frametest.Dial(t, s.Addr())
			_, err := c.Write(b)
			require.NoError(t, err)
			require.GreaterOrEqual(t, frametest.ClosedBy(t, c), frameTimeout*3/4, name)
		}
		require.EqualValues(t, 2, s.NetStats().FrameTimeouts)

		// 65535 announced, then silence: refused on the header, before any
		// allocation or read of the body (the frame deadline is an hour).
		s2 := newServer(t, n, issuerhost.Config{FrameTimeout: time.Hour})
		c := frametest.Dial(t, s2.Addr())
		_, err := c.Write([]byte{0xFF, 0xFF})
		require.NoError(t, err)
		frametest.ClosedBy(t, c)
		require.EqualValues(t, 1, s2.NetStats().TooLong)
		require.Zero(t, s2.NetStats().Frames)
	})

	t.Run("bad frames with frames queued", func(t *testing.T) {
		s := newServer(t, n, issuerhost.Config{})
		c := dial(t, s.Addr())
		resp := decodeAuth(t, send(t, c, isoRequest(n.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: 100})), true))
		require.Equal(t, isospec.RCApproved, resp.ResponseCode)
		base := frametest.Measure()

		small := isospec.NewMessage()
		small.MTI("0800")
		require.NoError(t, small.Field(isospec.FieldSTAN, "000001"))
		sf, err := isospec.Pack(small)
		require.NoError(t, err)
		var data []byte
		data = append(data, frametest.Frame([]byte("XX garbage"))...) // no MTI: closes
		for range 3 {
			data = append(data, frametest.Frame(sf)...)
		}
		var peak frametest.Resources
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				r := frametest.Measure()
				peak.Goroutines, peak.FDs = max(peak.Goroutines, r.Goroutines), max(peak.FDs, r.FDs)
				select {
				case <-stop:
					return
				case <-time.After(2 * time.Millisecond):
				}
			}
		}()
		closed := frametest.Burst(t, s.Addr(), 300, 100, data)
		close(stop)
		<-done
		require.Equal(t, 300, closed, "every connection closed by the host")
		after := frametest.Settle(t, base, 2)
		t.Logf("issuer host, 300 hostile connections: goroutines %d before, %d peak, %d after; fds %d before, %d peak, %d after",
			base.Goroutines, peak.Goroutines, after.Goroutines, base.FDs, peak.FDs, after.FDs)

		resp = decodeAuth(t, send(t, c, isoRequest(n.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: 100})), true))
		require.Equal(t, isospec.RCApproved, resp.ResponseCode, "still serving")
	})
}

// BenchmarkHostileBurst is the defect's reproduction, 3,000 connections
// (at most 200 at a time) that each send a frame the host cannot answer
// with three small frames queued behind it. It reports what is left once
// they have ended: goroutines and descriptors over the baseline (0
// expected), and the resident memory.
func BenchmarkHostileBurst(b *testing.B) {
	n := issuertest.New(b)
	s := newServer(b, n, issuerhost.Config{})
	small := isospec.NewMessage()
	small.MTI("0800")
	require.NoError(b, small.Field(isospec.FieldSTAN, "000001"))
	sf, err := isospec.Pack(small)
	require.NoError(b, err)
	data := frametest.Frame([]byte("XX garbage"))
	for range 3 {
		data = append(data, frametest.Frame(sf)...)
	}
	base := frametest.Measure()
	b.ResetTimer()
	for range b.N {
		if closed := frametest.Burst(b, s.Addr(), 3000, 200, data); closed != 3000 {
			b.Fatalf("%d of 3000 closed by the host", closed)
		}
	}
	b.StopTimer()
	after := frametest.Settle(b, base, 2)
	b.ReportMetric(float64(after.Goroutines-base.Goroutines), "goroutines-left")
	b.ReportMetric(float64(after.FDs-base.FDs), "fds-left")
	b.ReportMetric(float64(rssKiB())/1024, "rss-MiB")
}

// rssKiB is the process's resident set size, from /proc/self/status (0
// when unreadable).
func rssKiB() int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return n
		}
	}
	return 0
}
