package link

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/acquirer/internal/fakeissuer"
	"github.com/tapsim/tapsim/acquirer/internal/testhsm"
	"github.com/tapsim/tapsim/isospec"
)

var t0 = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

type rig struct {
	iss  *fakeissuer.Issuer
	link *Link
	keys testhsm.Keys
}

func newRig(t *testing.T, mod func(*Config)) *rig {
	t.Helper()
	m, k := testhsm.New(t)
	iss := fakeissuer.Start(t, "127.0.0.1:0", m, k.ZAK)
	var stan atomic.Uint32
	cfg := Config{
		Name: "issuer", Addr: iss.Addr(), AcquirerID: "400001",
		HSM: m, ZAK: k.ZAK,
		STAN:           func(context.Context, time.Time) (string, error) { return isospec.FormatSTAN(900000 + stan.Add(1)), nil },
		Now:            func() time.Time { return t0 },
		NetworkTimeout: time.Second,
		MinBackoff:     10 * time.Millisecond,
		MaxBackoff:     50 * time.Millisecond,
	}
	if mod != nil {
		mod(&cfg)
	}
	l, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	return &rig{iss: iss, link: l, keys: k}
}

func (r *rig) start(t *testing.T) {
	t.Helper()
	r.link.Start(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, r.link.WaitUp(ctx))
}

func auth(t *testing.T, stan string) *iso8583.Message {
	t.Helper()
	msg, err := isospec.Encode(&isospec.AuthorizationRequest{
		MTI: isospec.MTIAuthorizationRequest, PAN: "4761739001010010", ProcessingCode: isospec.ProcPurchase,
		Amount: 1500, TransmissionDateTime: "0314092653", STAN: stan, POSEntryMode: "072",
		TerminalID: "T0000001", Currency: "901", ICCData: []byte{0x9F, 0x26, 0x01, 0x00},
	})
	require.NoError(t, err)
	return msg
}

func networkCodes(msgs []*iso8583.Message) []string {
	var out []string
	for _, m := range msgs {
		c, _ := m.GetString(isospec.FieldNetworkCode)
		out = append(out, c)
	}
	return out
}

func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	require.Eventually(t, f, 5*time.Second, 5*time.Millisecond, what)
}

func TestSignOnThenExchange(t *testing.T) {
	r := newRig(t, nil)
	require.False(t, r.link.Up())
	_, err := r.link.Exchange(auth(t, "000001"), time.Second)
	require.ErrorIs(t, err, ErrDown, "not started: nothing sent")

	r.start(t)
	nm := r.iss.ReceivedMTI(isospec.MTINetworkRequest)
	require.Equal(t, []string{"001"}, networkCodes(nm), "sign-on first")
	acq, _ := nm[0].GetString(isospec.FieldAcquirerID)
	require.Equal(t, "400001", acq)
	require.True(t, r.iss.MACOK(nm[0]), "sign-on MACed under the ZAK")

	resp, err := r.link.Exchange(auth(t, "000002"), time.Second)
	require.NoError(t, err)
	var ar isospec.AuthorizationResponse
	require.NoError(t, isospec.Decode(resp, &ar))
	require.Equal(t, isospec.RCApproved, ar.ResponseCode)
	require.Equal(t, "000002", ar.STAN)
	require.Equal(t, "123456", ar.AuthCode)
	require.Equal(t, 1, r.link.Stats().SignOns)
}

func TestSilentIssuerIsNoAnswer(t *testing.T) {
	r := newRig(t, nil)
	r.start(t)
	r.iss.SetAuth(fakeissuer.Silent)
	start := time.Now()
	_, err := r.link.Exchange(auth(t, "000003"), 100*time.Millisecond)
	require.ErrorIs(t, err, ErrNoAnswer)
	require.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond)
	require.Len(t, r.iss.ReceivedMTI(isospec.MTIAuthorizationRequest), 1, "the request did leave")
}

// R-G2: an answer whose MAC does not verify is not believed.
func TestBadMACAnswer(t *testing.T) {
	r := newRig(t, nil)
	r.start(t)
	r.iss.SetAuth(fakeissuer.BadMAC)
	_, err := r.link.Exchange(auth(t, "000004"), time.Second)
	require.ErrorIs(t, err, ErrBadMAC)
}

func TestEchoWhenIdle(t *testing.T) {
	r := newRig(t, func(c *Config) { c.EchoInterval = 30 * time.Millisecond })
	r.start(t)
	eventually(t, "two echoes", func() bool { return r.link.Stats().Echoes >= 2 })
	codes := networkCodes(r.iss.ReceivedMTI(isospec.MTINetworkRequest))
	require.Equal(t, "001", codes[0])
	require.Contains(t, codes[1:], "301")
}

func TestEchoUnansweredReconnects(t *testing.T) {
	r := newRig(t, func(c *Config) {
		c.EchoInterval = 30 * time.Millisecond
		c.NetworkTimeout = 50 * time.Millisecond
	})
	r.start(t)
	r.iss.SetNetwork(fakeissuer.Silent)
	eventually(t, "echo failure drops the link", func() bool { return r.link.Stats().EchoFailures >= 1 && !r.link.Up() })
	r.iss.SetNetwork(fakeissuer.Answer)
	eventually(t, "signed on again", func() bool { return r.link.Up() && r.link.Stats().SignOns >= 2 })
}

func TestSignOnRefusedOrSilentKeepsLinkDown(t *testing.T) {
	r := newRig(t, func(c *Config) { c.NetworkTimeout = 30 * time.Millisecond })
	r.iss.SetNetwork(fakeissuer.BadMAC)
	r.link.Start(context.Background())
	eventually(t, "several sign-on attempts", func() bool { return r.link.Stats().Connects >= 3 })
	require.False(t, r.link.Up())
	require.Zero(t, r.link.Stats().SignOns)
	_, err := r.link.Exchange(auth(t, "000005"), time.Second)
	require.ErrorIs(t, err, ErrDown)

	r.iss.SetNetwork(fakeissuer.Answer)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, r.link.WaitUp(ctx))
}

func TestReconnectAfterIssuerRestart(t *testing.T) {
	r := newRig(t, nil)
	r.start(t)
	addr := r.iss.Addr()
	r.iss.Close()
	eventually(t, "link notices the drop", func() bool { return !r.link.Up() })
	_, err := r.link.Exchange(auth(t, "000006"), time.Second)
	require.ErrorIs(t, err, ErrDown)

	m, k := testhsm.New(t)
	iss2 := fakeissuer.Start(t, addr, m, k.ZAK)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, r.link.WaitUp(ctx))
	require.Equal(t, []string{"001"}, networkCodes(iss2.ReceivedMTI(isospec.MTINetworkRequest)))
	_, err = r.link.Exchange(auth(t, "000007"), time.Second)
	require.NoError(t, err)
}

func TestBackoffGrows(t *testing.T) {
	// Nothing listens: attempts are spaced by a doubling wait.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	r := newRig(t, func(c *Config) {
		c.Addr = addr
		c.MinBackoff = 20 * time.Millisecond
		c.MaxBackoff = 80 * time.Millisecond
	})
	r.link.Start(context.Background())
	time.Sleep(400 * time.Millisecond)
	n := r.link.Stats().Connects
	// Waits of 10-20, 20-40, 40-80 then 40-80 ms: between 5 and 12 attempts
	// fit in 400 ms; without backoff it would be hundreds.
	require.GreaterOrEqual(t, n, 4)
	require.LessOrEqual(t, n, 14)
}

func TestCloseSignsOff(t *testing.T) {
	r := newRig(t, nil)
	r.start(t)
	require.NoError(t, r.link.Close())
	require.Equal(t, []string{"001", "002"}, networkCodes(r.iss.ReceivedMTI(isospec.MTINetworkRequest)))
	require.False(t, r.link.Up())
	_, err := r.link.Exchange(auth(t, "000008"), time.Second)
	require.ErrorIs(t, err, ErrClosed)
	require.ErrorIs(t, r.link.WaitUp(context.Background()), ErrClosed)
	require.NoError(t, r.link.Close(), "idempotent")
}

func TestAnswersIssuerEcho(t *testing.T) {
	r := newRig(t, nil)
	r.start(t)
	nm := isospec.NewNetworkManagement(isospec.NetEcho, "777777", t0)
	msg, err := isospec.Encode(nm)
	require.NoError(t, err)
	resp, err := r.iss.Send(msg)
	require.NoError(t, err)
	var got isospec.NetworkManagement
	require.NoError(t, isospec.Decode(resp, &got))
	require.Equal(t, isospec.MTINetworkResponse, got.MTI)
	require.Equal(t, isospec.RCApproved, got.ResponseCode)
	require.Equal(t, "777777", got.STAN)
	require.True(t, r.iss.MACOK(resp))

	// A key change is refused: keys are loaded through the HSM.
	kc, err := isospec.Encode(isospec.NewNetworkManagement(isospec.NetKeyChange, "777778", t0))
	require.NoError(t, err)
	resp, err = r.iss.Send(kc)
	require.NoError(t, err)
	var refused isospec.NetworkManagement
	require.NoError(t, isospec.Decode(resp, &refused))
	require.Equal(t, isospec.RCInvalidTransaction, refused.ResponseCode)
	pd, err := isospec.ParsePrivateData(refused.PrivateData)
	require.NoError(t, err)
	require.Equal(t, isospec.ReasonKeyChange, pd.DeclineReason)
	require.True(t, r.iss.MACOK(resp))
}

func TestNewRejects(t *testing.T) {
	m, k := testhsm.New(t)
	stan := func(context.Context, time.Time) (string, error) { return "000001", nil }
	for i, cfg := range []Config{
		{Addr: "x", HSM: m, ZAK: k.ZAK, STAN: stan},
		{Name: "a", HSM: m, ZAK: k.ZAK, STAN: stan},
		{Name: "a", Addr: "x", STAN: stan},
		{Name: "a", Addr: "x", HSM: m, ZAK: k.ZAK},
	} {
		_, err := New(cfg)
		require.Error(t, err, fmt.Sprint(i))
	}
}
