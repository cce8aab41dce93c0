package issuerhost_test

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/isospec/rules"
	"github.com/tapsim/tapsim/issuerhost"
	"github.com/tapsim/tapsim/issuerhost/internal/issuertest"
)

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}
func (b *lockedBuf) String() string { b.mu.Lock(); defer b.mu.Unlock(); return b.b.String() }

// The issuer's rules replace the engine's decision; the answers stay
// MACed under the ZAK unless a rule spoils the MAC.
func TestIssuerRules(t *testing.T) {
	n := issuertest.New(t)
	rs, err := rules.Parse("rules.yaml", []byte(`
rules:
  - name: nsf
    match: {amount: {ends: "51"}}
    respond: "51"
  - name: by-profile
    match: {profile: visa-plastic, amount: {ends: "54"}}
    respond: "54"
  - name: half
    match: {amount: {ends: "10"}}
    partial: {amount: 1000}
    balance: 0
  - name: slow
    match: {amount: {ends: "22"}}
    delay_ms: 1500
  - name: silent
    match: {amount: {ends: "91"}}
    no_answer: true
  - name: hang-up
    match: {amount: {ends: "93"}}
    close: true
  - name: bad-mac
    match: {amount: {ends: "63"}}
    respond: "00"
    corrupt_mac: true
`))
	require.NoError(t, err)
	var slept []time.Duration
	var mu sync.Mutex
	logs := &lockedBuf{}
	set := rules.New(rs, rules.Options{Logger: slog.New(slog.NewTextHandler(logs, nil)), Sleep: func(_ context.Context, d time.Duration) error {
		mu.Lock()
		slept = append(slept, d)
		mu.Unlock()
		return nil
	}})
	s := newServer(t, n, issuerhost.Config{Rules: set})

	frame := func(amount int64) []byte {
		m, err := isospec.Encode(isoRequest(n.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: amount})))
		require.NoError(t, err)
		b, err := isospec.PackWithMAC(m, zakMAC)
		require.NoError(t, err)
		return b
	}
	answer := func(b []byte) (isospec.AuthorizationResponse, error) {
		m, err := isospec.Unpack(b)
		require.NoError(t, err)
		var r isospec.AuthorizationResponse
		require.NoError(t, isospec.Decode(m, &r))
		return r, isospec.VerifyMAC(b, func(d, m []byte) error {
			want, err := zakMAC(d)
			require.NoError(t, err)
			if !bytes.Equal(want, m) {
				return isospec.ErrMACMismatch
			}
			return nil
		})
	}
	for _, tc := range []struct {
		name   string
		amount int64
		code   isospec.ResponseCode
		reason isospec.DeclineReason
		amt    int64
		de54   string
	}{
		{"amount ending 51", 25051, "51", isospec.ReasonInsufficientFunds, 25051, ""},
		{"profile", 25054, "54", isospec.ReasonCardExpired, 25054, ""},
		{"partial", 25010, "10", "", 1000, "0002901C000000000000"},
		{"delay then the engine", 25022, "00", "", 25022, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reply, err := s.HandleFrame(ctx, frame(tc.amount))
			require.NoError(t, err)
			r, macErr := answer(reply)
			require.NoError(t, macErr, "a rule's answer is MACed")
			require.Equal(t, tc.code, r.ResponseCode)
			require.Equal(t, tc.amt, r.Amount)
			require.Equal(t, tc.de54, r.AdditionalAmounts)
			if tc.reason != "" {
				require.Equal(t, tc.reason, reason(t, r.PrivateData))
			}
		})
	}
	require.Equal(t, []time.Duration{1500 * time.Millisecond}, slept)

	reply, err := s.HandleFrame(ctx, frame(25091))
	require.NoError(t, err)
	require.Nil(t, reply, "no answer")

	reply, err = s.HandleFrame(ctx, frame(25063))
	require.NoError(t, err)
	r, macErr := answer(reply)
	require.Equal(t, isospec.RCApproved, r.ResponseCode)
	require.ErrorIs(t, macErr, isospec.ErrMACMismatch)

	// Over TCP: a rule that closes the connection; the host keeps serving.
	c := dial(t, s.Addr())
	m, err := isospec.Encode(isoRequest(n.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: 25093})))
	require.NoError(t, err)
	require.NoError(t, isospec.SetMAC(m, zakMAC))
	_, err = c.Send(m)
	require.Error(t, err)
	c2 := dial(t, s.Addr())
	resp := decodeAuth(t, send(t, c2, isoRequest(n.Request(issuertest.VisaPlastic, issuertest.Tap{Amount: 25051})), true))
	require.Equal(t, isospec.RCInsufficientFunds, resp.ResponseCode)

	require.Contains(t, logs.String(), "rule nsf fired")
	require.NotContains(t, logs.String(), "4761739001010010")
}

// An authorisation advice (0120) of a stand-in approval is acknowledged
// with an 0130, MACed.
func TestIssuerStandInAdvice(t *testing.T) {
	n := issuertest.New(t)
	s := newServer(t, n, issuerhost.Config{})
	c := dial(t, s.Addr())
	now := n.Clock.Now()
	de90, err := isospec.OriginalData{MTI: isospec.MTIAuthorizationRequest, STAN: "000042", TransmissionDateTime: isospec.TransmissionDateTime(now), AcquirerID: "400001"}.Encode()
	require.NoError(t, err)
	pd, err := isospec.PrivateData{StandIn: true}.Encode()
	require.NoError(t, err)
	adv := &isospec.AuthorizationAdvice{MTI: isospec.MTIAuthorizationAdvice, ProcessingCode: isospec.ProcPurchase, Amount: 150000,
		TransmissionDateTime: isospec.TransmissionDateTime(now), STAN: n.NextSTAN(), AcquirerID: "400001", RRN: "000000000042",
		AuthCode: "S00042", ResponseCode: isospec.RCApproved, TerminalID: "T0000001", MerchantID: "M00000000000001",
		PrivateData: pd, Currency: "901", OriginalData: de90}
	var r isospec.AuthorizationAdviceResponse
	require.NoError(t, isospec.Decode(send(t, c, adv, true), &r))
	require.Equal(t, isospec.MTIAuthorizationAdviceResponse, r.MTI)
	require.Equal(t, isospec.RCApproved, r.ResponseCode)
}
