package acquirer_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/acquirer"
	"github.com/tapsim/tapsim/acquirer/internal/testhsm"
	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/isospec/frameserver/frametest"
	"github.com/tapsim/tapsim/isospec/tlsconf/tlstest"
)

// 1,000 malformed frames give a handful of log lines: the first of each
// kind, then a count (DESIGN.md Decisions; logs cannot be flooded).
func TestMalformedLinesLimited(t *testing.T) {
	logs := &tlstest.LogBuffer{}
	r := newRig(t, func(c *acquirer.Config) { c.Logger = slog.New(slog.NewTextHandler(logs, nil)) })
	for _, f := range malformedFrames(t, r, 1000) {
		reply, hangUp := r.acq.HandleFrame(context.Background(), f)
		require.False(t, hangUp)
		require.NotNil(t, reply)
	}
	require.Equal(t, 1, logs.Count("malformed terminal frame"), "the first only, for now")
	require.NoError(t, r.acq.Close())
	require.Equal(t, 2, logs.Count("malformed terminal frame"), "then the count")
	require.Contains(t, logs.String(), `msg="malformed terminal frame" repeated=999`)
	require.NotContains(t, logs.String(), visaPAN)
}

// Every frame gets an answer that echoes what could be read of it (DE7,
// DE11, DE41), with 30 and a MAC under the TAK of the terminal DE41 names
// when the acquirer knows it, or a clean close: frames that do not parse,
// a response sent to the acquirer, a type with no response (9999).
// R-S5f, DESIGN.md Decisions.
func TestAnswersEchoWhatCanBeRead(t *testing.T) {
	r := newRig(t, nil)
	req := r.authReq(visaPAN, 100)
	good, err := isospec.Pack(r.encode(req))
	require.NoError(t, err)
	stranger := r.authReq(visaPAN, 100)
	stranger.TerminalID = "T0000009"
	unknownTID, err := isospec.Marshal(stranger)
	require.NoError(t, err)
	resp, err := isospec.NewAuthorizationResponse(req, isospec.RCApproved)
	require.NoError(t, err)
	respFrame, err := isospec.Marshal(resp)
	require.NoError(t, err)
	nm := isospec.NewMessage()
	nm.MTI("9999")
	require.NoError(t, nm.Field(isospec.FieldSTAN, "000001"))
	nines, err := isospec.Pack(nm)
	require.NoError(t, err)

	all := [3]string{req.TransmissionDateTime, req.STAN, req.TerminalID}
	for _, tc := range []struct {
		name  string
		frame []byte
		mti   string
		echo  [3]string // DE7, DE11, DE41
		mac   bool
		close bool
	}{
		{name: "cut short", frame: good[:len(good)-3], mti: "0110", echo: all, mac: true},
		{name: "trailing byte", frame: append(bytes.Clone(good), 0), mti: "0110", echo: all, mac: true},
		{name: "unknown terminal, cut short", frame: unknownTID[:len(unknownTID)-1], mti: "0110",
			echo: [3]string{stranger.TransmissionDateTime, stranger.STAN, stranger.TerminalID}},
		{name: "response 0110", frame: respFrame, mti: "0110", echo: all, mac: true},
		{name: "broken response", frame: []byte("0110\x00"), mti: "0110"},
		{name: "9999", frame: nines, close: true},
		{name: "empty", frame: nil, close: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reply, hangUp := r.acq.HandleFrame(context.Background(), tc.frame)
			if tc.close {
				require.True(t, hangUp)
				require.Nil(t, reply)
				return
			}
			require.False(t, hangUp)
			m, err := isospec.Unpack(reply)
			require.NoError(t, err)
			require.Equal(t, tc.mti, de(t, m, 0))
			require.Equal(t, "30", de(t, m, isospec.FieldResponseCode))
			require.Equal(t, isospec.ReasonFormat, reason(t, de(t, m, isospec.FieldPrivateData)))
			for i, id := range []int{isospec.FieldTransmissionDateTime, isospec.FieldSTAN, isospec.FieldTerminalID} {
				require.Equal(t, tc.echo[i], de(t, m, id), "field %d", id)
			}
			if tc.mac {
				r.requireTerminalMAC(m)
			} else {
				require.Nil(t, m.GetField(isospec.FieldMAC))
			}
		})
	}
}

// R-S5f, DESIGN.md Decisions: a hostile network cannot tire the acquirer.
// 200 idle connections against a cap of 20 (none silent long enough to
// make room): the others closed at once, the 20 after the idle timeout;
// connections that say nothing, or send what proves nothing (no MAC, a
// wrong one, an unknown terminal, junk), neither close the terminal's nor
// keep it out; a stalled frame closed at its
// deadline; an over-long length closed before anything is read; 300
// connections each with a frame the acquirer cannot answer and three
// small frames queued behind it leave no goroutine or descriptor behind;
// and a good sale is approved after it all.
func TestHostileNetwork(t *testing.T) {
	t.Run("cap and idle", func(t *testing.T) {
		const idle = 2 * time.Second
		r := newRig(t, func(c *acquirer.Config) { c.MaxConns = 20; c.IdleTimeout = idle; c.EvictIdle = time.Hour })
		// The rig's own terminal holds one of the 20 slots.
		require.Eventually(t, func() bool { return r.acq.NetStats().Active == 1 }, frametest.Wait, 5*time.Millisecond)
		start := time.Now()
		conns := make([]net.Conn, 200)
		for i := range conns {
			conns[i] = frametest.Dial(t, r.acq.Addr())
		}
		require.Eventually(t, func() bool {
			st := r.acq.NetStats()
			return st.Accepted+st.OverCap == 201
		}, frametest.Wait, 5*time.Millisecond)
		st := r.acq.NetStats()
		require.EqualValues(t, 20, st.Accepted, "cap enforced")
		require.EqualValues(t, 181, st.OverCap)
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
		require.Equal(t, 181, early, "over the cap: closed at once")
		require.Equal(t, 19, late, "served: closed after the idle timeout, not before")
		require.Eventually(t, func() bool { return r.acq.NetStats().Active == 0 }, frametest.Wait, 5*time.Millisecond)
		r.connect() // the rig's terminal was idle too
		require.Equal(t, isospec.RCApproved, r.authorise(r.authReq(visaPAN, 100)).ResponseCode)
	})

	t.Run("unproved connections at the cap", func(t *testing.T) {
		r := newRig(t, func(c *acquirer.Config) { c.MaxConns = 20; c.EvictIdle = time.Nanosecond })
		// The terminal's MACed sale proves its connection.
		require.Equal(t, isospec.RCApproved, r.authorise(r.authReq(visaPAN, 100)).ResponseCode)

		// Attackers whose frames are answered but prove nothing.
		echo, err := isospec.Marshal(&isospec.NetworkManagement{MTI: isospec.MTINetworkRequest,
			TransmissionDateTime: isospec.TransmissionDateTime(r.clock.Now()), STAN: "000000", TerminalID: tid,
			NetworkCode: isospec.NetEcho})
		require.NoError(t, err)
		wrongMAC, err := isospec.Pack(r.encode(r.authReq(visaPAN, 100)))
		require.NoError(t, err)
		wrongMAC[len(wrongMAC)-1] ^= 1
		stranger := r.authReq(visaPAN, 100)
		stranger.TerminalID = "T0000009"
		unknownTID, err := isospec.Pack(r.encode(stranger))
		require.NoError(t, err)
		frames := map[string][]byte{"echo without a MAC": echo, "wrong MAC": wrongMAC,
			"unknown terminal": unknownTID, "junk": []byte("0110\x00")}
		attackers := map[string]net.Conn{}
		for name, f := range frames {
			c := frametest.Dial(t, r.acq.Addr())
			_, err := c.Write(frametest.Frame(f))
			require.NoError(t, err)
			require.NoError(t, c.SetReadDeadline(time.Now().Add(frametest.Wait)))
			_, err = isospec.ReadFrameLimit(c, isospec.MaxFrameLen)
			require.NoError(t, err, name)
			attackers[name] = c
		}
		for i := range 40 {
			frametest.Dial(t, r.acq.Addr()) // connects, says nothing
			require.Eventually(t, func() bool {
				st := r.acq.NetStats()
				return st.Accepted == uint64(i+6) && st.Active <= 20
			}, frametest.Wait, time.Millisecond)
		}
		st := r.acq.NetStats()
		require.Zero(t, st.OverCap, "every newcomer took the place of an unproved connection")
		require.EqualValues(t, 25, st.Evicted)
		for name, c := range attackers {
			require.Less(t, frametest.ClosedBy(t, c), frametest.Wait, name)
		}
		require.Equal(t, isospec.RCApproved, r.authorise(r.authReq(visaPAN, 200)).ResponseCode, "the terminal sells on")
	})

	t.Run("stalled and over-long frames", func(t *testing.T) {
		const frameTimeout = 300 * time.Millisecond
		r := newRig(t, func(c *acquirer.Config) { c.FrameTimeout = frameTimeout })
		for name, b := range map[string][]byte{
			"legal length then silence": {0x02, 0x00, '0', '1'},
			"half a header":             {0x00},
		} {
			c := frametest.Dial(t, r.acq.Addr())
			_, err := c.Write(b)
			require.NoError(t, err)
			require.GreaterOrEqual(t, frametest.ClosedBy(t, c), frameTimeout*3/4, name)
		}
		require.EqualValues(t, 2, r.acq.NetStats().FrameTimeouts)

		// 65535 announced, then silence: refused on the header, before any
		// allocation or read of the body (the frame deadline is an hour).
		r2 := newRig(t, func(c *acquirer.Config) { c.FrameTimeout = time.Hour; c.MaxFrame = 2048 })
		for _, n := range []int{2049, 0xFFFF} {
			c := frametest.Dial(t, r2.acq.Addr())
			_, err := c.Write([]byte{byte(n >> 8), byte(n)})
			require.NoError(t, err)
			frametest.ClosedBy(t, c)
		}
		require.EqualValues(t, 2, r2.acq.NetStats().TooLong)
		require.Equal(t, isospec.RCApproved, r2.authorise(r2.authReq(visaPAN, 100)).ResponseCode)
	})

	t.Run("bad frames with frames queued", func(t *testing.T) {
		r := newRig(t, nil)
		require.Equal(t, isospec.RCApproved, r.authorise(r.authReq(visaPAN, 100)).ResponseCode)
		base := frametest.Measure()

		small := isospec.NewMessage()
		small.MTI("0800")
		require.NoError(t, small.Field(isospec.FieldSTAN, "000001"))
		sf, err := isospec.Pack(small)
		require.NoError(t, err)
		data := frametest.Frame([]byte("XX garbage")) // no MTI: closes
		for range 3 {
			data = append(data, frametest.Frame(sf)...)
		}
		var peak frametest.Resources
		stop, done := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(done)
			for {
				m := frametest.Measure()
				peak.Goroutines, peak.FDs = max(peak.Goroutines, m.Goroutines), max(peak.FDs, m.FDs)
				select {
				case <-stop:
					return
				case <-time.After(2 * time.Millisecond):
				}
			}
		}()
		closed := frametest.Burst(t, r.acq.Addr(), 300, 100, data)
		close(stop)
		<-done
		require.Equal(t, 300, closed, "every connection closed by the acquirer")
		after := frametest.Settle(t, base, 2)
		t.Logf("acquirer, 300 hostile connections: goroutines %d before, %d peak, %d after; fds %d before, %d peak, %d after",
			base.Goroutines, peak.Goroutines, after.Goroutines, base.FDs, peak.FDs, after.FDs)
		require.Equal(t, isospec.RCApproved, r.authorise(r.authReq(visaPAN, 100)).ResponseCode, "still serving")
	})
}

// Network management refusals say why in DE48, as every other refusal
// does; an approval carries no reason.
func TestNetworkRefusalsSayWhy(t *testing.T) {
	r := newRig(t, nil)
	nm := func(code isospec.NetworkCode, tid string) *isospec.NetworkManagement {
		n := isospec.NewNetworkManagement(code, r.nextSTAN(), r.clock.Now())
		n.TerminalID = tid
		return n
	}
	unsigned, err := isospec.Encode(nm(isospec.NetSignOn, tid))
	require.NoError(t, err)
	badMAC, err := isospec.Encode(nm(isospec.NetEcho, tid))
	require.NoError(t, err)
	require.NoError(t, isospec.SetMAC(badMAC, func(d []byte) ([]byte, error) { return terminalMACWith(testhsm.ZAK, d) }))
	for _, tc := range []struct {
		name   string
		msg    *iso8583.Message
		code   string
		reason isospec.DeclineReason
	}{
		{"sign-on", r.encode(nm(isospec.NetSignOn, tid)), "00", ""},
		{"sign-on without a MAC", unsigned, "00", ""},
		{"key change", r.encode(nm(isospec.NetKeyChange, tid)), "12", "key_change_not_supported"},
		{"unknown terminal", r.encode(nm(isospec.NetEcho, "T0000009")), "63", "unknown_terminal"},
		{"wrong MAC", badMAC, "63", isospec.ReasonMACInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := r.send(tc.msg)
			require.Equal(t, tc.code, de(t, resp, isospec.FieldResponseCode))
			pd := de(t, resp, isospec.FieldPrivateData)
			if tc.reason == "" {
				require.Empty(t, pd)
				return
			}
			require.Equal(t, tc.reason, reason(t, pd))
		})
	}
}
