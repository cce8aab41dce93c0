package acquirer_test

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/acquirer"
	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/isospec/rules"
)

const testRules = `
rules:
  - name: nsf
    match: {amount: {ends: "51"}}
    respond: "51"
  - name: refer
    match: {amount: {ends: "01"}, tid: T0000001}
    refer: true
  - name: half
    match: {amount: {ends: "10"}, pan: {prefix: "476173"}}
    partial: {percent: 50}
    balance: 0
  - name: balance
    match: {processing_code: "30"}
    balance: 1234500
  - name: slow
    match: {amount: {ends: "22"}}
    delay_ms: 2500
  - name: late
    match: {amount: {ends: "92"}}
    after_timeout: true
    respond: "05"
  - name: silent
    match: {amount: {ends: "91"}}
    no_answer: true
  - name: hang-up
    match: {amount: {ends: "93"}}
    close: true
  - name: bad-mac
    match: {amount: {ends: "63"}}
    corrupt_mac: true
  - name: once-only
    match: {amount: {ends: "77"}}
    respond: "62"
    once: true
`

// sleeper records the delays of rules instead of waiting.
type sleeper struct {
	mu    sync.Mutex
	slept []time.Duration
}

func (s *sleeper) Sleep(_ context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.slept = append(s.slept, d)
	return nil
}

func (s *sleeper) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.slept...)
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuf) Write(p []byte) (int, error) { b.mu.Lock(); defer b.mu.Unlock(); return b.b.Write(p) }
func (b *syncBuf) String() string              { b.mu.Lock(); defer b.mu.Unlock(); return b.b.String() }

func newRulesRig(t *testing.T) (*rig, *sleeper, *syncBuf) {
	r, err := rules.Parse("rules.yaml", []byte(testRules))
	require.NoError(t, err)
	sl := &sleeper{}
	logs := &syncBuf{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	set := rules.New(r, rules.Options{Logger: log, Sleep: sl.Sleep, TerminalTimeout: 15 * time.Second})
	return newRig(t, func(c *acquirer.Config) { c.Rules = set; c.Logger = log }), sl, logs
}

func TestRulesAnswer(t *testing.T) {
	r, _, logs := newRulesRig(t)
	for _, tc := range []struct {
		name       string
		amount     int64
		proc       isospec.ProcessingCode
		code       isospec.ResponseCode
		reason     isospec.DeclineReason
		amountBack int64
		balance    string
	}{
		{"amount ending 51", 150051, "", "51", isospec.ReasonInsufficientFunds, 150051, ""},
		{"referral", 150001, "", "01", "refer_to_card_issuer", 150001, ""},
		{"partial approval", 150010, "", "10", "", 75005, "0002901C000000000000"},
		{"balance inquiry", 0, isospec.ProcBalanceInquiry, "00", "", 0, "0002901C000001234500"},
		{"once, first", 150077, "", "62", isospec.ReasonCardBlocked, 150077, ""},
		{"once, then forwarded", 150077, "", "00", "", 150077, ""},
		{"no rule: forwarded", 150000, "", "00", "", 150000, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(r.iss.Received())
			req := r.authReq(visaPAN, tc.amount)
			if tc.proc != "" {
				req.ProcessingCode = tc.proc
			}
			ar := r.authorise(req)
			require.Equal(t, tc.code, ar.ResponseCode)
			require.Equal(t, tc.amountBack, ar.Amount)
			require.Equal(t, tc.balance, ar.AdditionalAmounts)
			if tc.reason != "" {
				require.Equal(t, tc.reason, reason(t, ar.PrivateData))
			}
			forwarded := len(r.iss.Received()) > before
			require.Equal(t, tc.name == "no rule: forwarded" || tc.name == "once, then forwarded", forwarded)
		})
	}
	require.Contains(t, logs.String(), "rule nsf fired: answer 51 (insufficient funds)")
	require.Contains(t, logs.String(), "pan=476173******0010")
	require.NotContains(t, logs.String(), visaPAN)
	// The rule's answers are in the journal, not forwarded.
	j := r.journal()
	require.Equal(t, "51", j[0].Code)
	require.Equal(t, "rule:nsf", j[0].Reason)
	require.Equal(t, "476173******0010", j[0].Masked)
}

func TestRulesDelayAndWithhold(t *testing.T) {
	r, sl, _ := newRulesRig(t)
	frame := func(amount int64) []byte {
		b, err := isospec.Pack(r.encode(r.authReq(visaPAN, amount)))
		require.NoError(t, err)
		return b
	}
	decode := func(b []byte) isospec.AuthorizationResponse {
		m, err := isospec.Unpack(b)
		require.NoError(t, err)
		var ar isospec.AuthorizationResponse
		require.NoError(t, isospec.Decode(m, &ar))
		return ar
	}
	ctx := context.Background()

	reply, hang := r.acq.HandleFrame(ctx, frame(150022))
	require.False(t, hang)
	require.Equal(t, isospec.RCApproved, decode(reply).ResponseCode, "delayed, then the issuer's answer")

	reply, hang = r.acq.HandleFrame(ctx, frame(150092))
	require.False(t, hang)
	require.Equal(t, isospec.RCDoNotHonour, decode(reply).ResponseCode)
	require.Equal(t, []time.Duration{2500 * time.Millisecond, 15*time.Second + rules.AfterTimeoutMargin}, sl.all())

	reply, hang = r.acq.HandleFrame(ctx, frame(150091))
	require.Nil(t, reply, "no answer")
	require.False(t, hang)

	reply, hang = r.acq.HandleFrame(ctx, frame(150093))
	require.Nil(t, reply)
	require.True(t, hang, "connection closed")

	reply, hang = r.acq.HandleFrame(ctx, frame(150063))
	require.False(t, hang)
	require.Equal(t, isospec.RCApproved, decode(reply).ResponseCode)
	err := isospec.VerifyMAC(reply, func(d, m []byte) error {
		want, err := terminalMAC(d)
		require.NoError(t, err)
		if !bytes.Equal(want, m) {
			return isospec.ErrMACMismatch
		}
		return nil
	})
	require.ErrorIs(t, err, isospec.ErrMACMismatch, "the MAC is corrupted")
}

// A request with a bad MAC is refused (63) before any rule is consulted.
func TestRulesAfterMACCheck(t *testing.T) {
	r, _, logs := newRulesRig(t)
	msg, err := isospec.Encode(r.authReq(visaPAN, 150051))
	require.NoError(t, err)
	require.NoError(t, isospec.SetMAC(msg, func([]byte) ([]byte, error) { return make([]byte, 8), nil }))
	resp := r.send(msg)
	require.Equal(t, "63", de(t, resp, isospec.FieldResponseCode))
	require.NotContains(t, logs.String(), "rule nsf fired")
}

// A delay in hand is cut short when the acquirer closes.
func TestRulesDelayEndsOnClose(t *testing.T) {
	rs, err := rules.Parse("rules.yaml", []byte("rules:\n  - name: slow\n    delay_ms: 60000\n"))
	require.NoError(t, err)
	started := make(chan struct{})
	set := rules.New(rs, rules.Options{Sleep: func(ctx context.Context, _ time.Duration) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	}})
	r := newRig(t, func(c *acquirer.Config) { c.Rules = set })
	b, err := isospec.Pack(r.encode(r.authReq(visaPAN, 1000)))
	require.NoError(t, err)
	type out struct {
		reply []byte
		hang  bool
	}
	done := make(chan out)
	go func() {
		reply, hang := r.acq.HandleFrame(context.Background(), b)
		done <- out{reply, hang}
	}()
	<-started
	go r.acq.Close()
	o := <-done
	require.Nil(t, o.reply)
	require.True(t, o.hang)
}

// A delayed answer is made first and then held back: the request is
// forwarded and journalled before the delay, so a terminal that reverses
// meanwhile finds it.
func TestRulesDelayAfterForwarding(t *testing.T) {
	rs, err := rules.Parse("rules.yaml", []byte("rules:\n  - name: late\n    after_timeout: true\n"))
	require.NoError(t, err)
	var r *rig
	var seen, journalled atomic.Int64
	set := rules.New(rs, rules.Options{Sleep: func(context.Context, time.Duration) error {
		seen.Store(int64(len(r.iss.ReceivedMTI(isospec.MTIAuthorizationRequest))))
		journalled.Store(int64(len(r.journal())))
		return nil
	}})
	r = newRig(t, func(c *acquirer.Config) { c.Rules = set })
	require.Equal(t, isospec.RCApproved, r.authorise(r.authReq(visaPAN, 1000)).ResponseCode)
	require.Equal(t, int64(1), seen.Load(), "forwarded before the delay")
	require.Equal(t, int64(1), journalled.Load())
}
