package lab

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/issuerhost/authz"
	"github.com/tapsim/tapsim/issuerhost/store"
	"github.com/tapsim/tapsim/provision/wire"
	"github.com/tapsim/tapsim/provision/wire/wiretest"
)

// R-M3, R-M7, R-S3d, R-S3e, R-S5b, R-S2e, R-C1: the world's hce-phone
// gets its card from the world's cloud platform when the world starts
// (registration with the OTP from the cardholder's inbox, challenge-signed
// download) and pays with limited-use keys the issuer host checks through
// its key ledger: a verified tap is approved, the same key from a restored
// backup is refused, a tap without cardholder verification is declined,
// the phone replenishes at its low-water mark, and once reported lost its
// keys are refused.
func TestSampleHCEPhone(t *testing.T) {
	ctx := context.Background()
	clk := wiretest.NewClock(time.Now())
	n, err := Start(ctx, Options{Dir: t.TempDir(), Rand: newSeededRand(12), Clock: clk.Now, IssuerTimeout: testIssuerTimeout})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, n.Close()) })
	h := n.SampleHCE()
	require.NotNil(t, h.Phone)
	require.Equal(t, "3520990017614823", h.DeviceID)
	require.Equal(t, "489537******0011", h.Masked)
	c, err := n.Card(SampleHCEProfile, time.Now())
	require.NoError(t, err)
	require.True(t, c == h.Phone, "the world's hce-phone is the enrolled phone")
	require.Equal(t, 5, h.Card.KeysLeft())

	cl := n.Cloud()
	bs := cl.Service().Bindings(h.Ref)
	require.Len(t, bs, 1)
	require.Equal(t, wire.HCEBindingActive, bs[0].Status)
	require.Len(t, cl.Ledger().Keys(h.Ref), 5)
	require.NoError(t, n.Issuer().Store().View(ctx, func(tx *store.Tx) error {
		k, err := tx.Token(ctx, h.Ref)
		require.NoError(t, err)
		require.Equal(t, authz.CVNVisaCloud, k.CVN)
		require.Equal(t, CloudIMKLabel, k.IMKRef)
		require.Equal(t, "visa-se-phone", k.CardID, "the profile's funding card")
		ds, err := tx.DevicesByID(ctx, h.DeviceID)
		require.NoError(t, err)
		require.Empty(t, ds, "no key of the issuer host's own key service")
		return nil
	}))

	code, why, err := cl.Tap(ctx, c, "5791", 350000)
	require.NoError(t, err)
	require.Equal(t, isospec.RCApproved, code, why)
	require.Equal(t, 4, h.Card.KeysLeft())

	restored, err := n.RestoredCard(SampleHCEProfile, time.Now())
	require.NoError(t, err)
	code, why, err = cl.Tap(ctx, restored, "5791", 120000)
	require.NoError(t, err)
	require.Equal(t, isospec.RCCryptogramFailure, code)
	require.Equal(t, isospec.ReasonHCEKeyUsed, why)

	code, _, err = cl.Tap(ctx, c, "", 1)
	require.NoError(t, err)
	require.NotEqual(t, isospec.RCApproved, code, "no tap without the holder (R-S2e)")

	k, err := Replenish(ctx, n, SampleHCEProfile, c)
	require.NoError(t, err)
	require.Zero(t, k, "4 keys: above the low-water mark")
	for h.Card.KeysLeft() > 1 {
		code, why, err = cl.Tap(ctx, c, "5791", 1000)
		require.NoError(t, err)
		require.Equal(t, isospec.RCApproved, code, why)
	}
	clk.Advance(sampleReplenishInterval)
	got, err := Replenish(ctx, n, SampleHCEProfile, c)
	require.NoError(t, err)
	require.Equal(t, 5, got)
	require.Equal(t, 6, h.Card.KeysLeft())

	msg, err := ReportLost(ctx, n, SampleHCEProfile)
	require.NoError(t, err)
	require.Equal(t, "device 3520990017614823: cloud binding of hce-phone suspended, its 6 keys refused from now on", msg)
	code, why, err = cl.Tap(ctx, c, "5791", 1000)
	require.NoError(t, err)
	require.Equal(t, isospec.ResponseCode("62"), code)
	require.Equal(t, isospec.DeclineReason(authz.DeviceLost), why)
	clk.Advance(sampleReplenishInterval)
	_, err = h.App.Replenish(ctx, h.Ref)
	require.ErrorIs(t, err, wire.ErrRefused, "a suspended phone gets no keys")
}

// The world's cloud platform and the issuer host's cryptogram check
// follow the issuer when it is stopped and started again on the same
// data (a new security module on the same keystore, the same key
// ledger): the platform refuses nothing for it, the phone's keys issued
// before the restart still pay, a new batch is issued after it.
func TestSampleHCEAfterIssuerRestart(t *testing.T) {
	ctx := context.Background()
	clk := wiretest.NewClock(time.Now())
	n, err := Start(ctx, Options{Dir: t.TempDir(), Rand: newSeededRand(13), Clock: clk.Now, IssuerTimeout: 500 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, n.Close()) })
	h, cl := n.SampleHCE(), n.Cloud()

	require.NoError(t, n.StopIssuer())
	clk.Advance(sampleReplenishInterval)
	_, err = h.App.Replenish(ctx, h.Ref)
	require.Error(t, err, "no security module while the issuer is down")
	code, _, err := cl.Tap(ctx, h.Phone, SampleHCEPasscode, 150000)
	require.NoError(t, err)
	require.Equal(t, isospec.RCIssuerInoperative, code)
	require.NoError(t, n.RestartIssuer(ctx))
	waitAdvices(t, n) // the link is up again

	code, why, err := cl.Tap(ctx, h.Phone, SampleHCEPasscode, 150000)
	require.NoError(t, err)
	require.Equal(t, isospec.RCApproved, code, why)
	for h.Card.KeysLeft() > 1 {
		code, why, err = cl.Tap(ctx, h.Phone, SampleHCEPasscode, 1000)
		require.NoError(t, err)
		require.Equal(t, isospec.RCApproved, code, why)
	}
	clk.Advance(sampleReplenishInterval)
	got, err := Replenish(ctx, n, SampleHCEProfile, h.Phone)
	require.NoError(t, err)
	require.Equal(t, 5, got)
	code, why, err = cl.Tap(ctx, h.Phone, SampleHCEPasscode, 1000)
	require.NoError(t, err)
	require.Equal(t, isospec.RCApproved, code, why)
}
