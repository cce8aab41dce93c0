package lab

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/issuerhost/authz"
	"github.com/tapsim/tapsim/issuerhost/store"
	"github.com/tapsim/tapsim/provision/wire"
	"github.com/tapsim/tapsim/provision/wire/wiretest"
	"github.com/tapsim/tapsim/terminal/inproc"
	"github.com/tapsim/tapsim/terminal/pos"
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

// R-S5b, R-S3d, R-S5e: the world's cloud platform and the issuer's key
// ledger are kept in the issuer's database under the world's data
// directory, and the sample HCE phones' storage beside it: a world
// started again on it finds the phone bound (no second enrolment), with
// the keys it had left, which still pay; a key the phone spent before the
// restart is still refused from a backup. A world that keeps the platform
// in memory enrols its phones afresh.
func TestSampleHCEDurable(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clk := wiretest.NewClock(time.Now())
	n, err := Start(ctx, Options{Dir: dir, Rand: newSeededRand(41), Clock: clk.Now})
	require.NoError(t, err)
	h := n.SampleHCE()
	cl := n.Cloud()
	backup, err := n.RestoredCard(SampleHCEProfile, time.Now())
	require.NoError(t, err)
	code, why, err := cl.Tap(ctx, h.Phone, "5791", 150000)
	require.NoError(t, err)
	require.Equal(t, isospec.RCApproved, code, why)
	binding := cl.Service().Bindings(h.Ref)[0].BindingID
	require.NoError(t, n.Close())

	n, err = Start(ctx, Options{Dir: dir, Rand: newSeededRand(42), Clock: clk.Now})
	require.NoError(t, err)
	h2 := n.SampleHCE()
	cl = n.Cloud()
	bs := cl.Service().Bindings(h2.Ref)
	require.Len(t, bs, 1, "the same binding, no second enrolment")
	require.Equal(t, binding, bs[0].BindingID)
	require.Equal(t, 4, h2.Card.KeysLeft(), "the keys the phone had left")
	require.Len(t, cl.Ledger().Keys(h2.Ref), 5)
	// A terminal whose STANs go on from the first run's: the acquirer
	// keeps its duplicate check under dir too.
	term, link, err := n.NewTerminal(pos.Options{STAN: pos.NewCounter(100)})
	require.NoError(t, err)
	defer link.Close()
	sale := func(c cards.Card, amount int64) (isospec.ResponseCode, isospec.DeclineReason) {
		ph, ok := cards.Phone(c)
		require.True(t, ok)
		require.NoError(t, ph.Unlock("5791"))
		res, err := term.Sale(ctx, amount, inproc.New(c))
		require.NoError(t, err)
		return res.ResponseCode, res.DeclineReason
	}
	code, why = sale(h2.Phone, 150000)
	require.Equal(t, isospec.RCApproved, code, why)
	code, why = sale(backup, 120000)
	require.Equal(t, isospec.RCCryptogramFailure, code)
	require.Equal(t, isospec.ReasonHCEKeyUsed, why, "spent before the restart")
	require.NoError(t, n.Close())

	mem, err := Start(ctx, Options{Dir: t.TempDir(), Rand: newSeededRand(43), Clock: clk.Now, CloudInMemory: true})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, mem.Close()) })
	require.Equal(t, 5, mem.SampleHCE().Card.KeysLeft())
	_, err = os.Stat(HCEPhoneFile(filepath.Join(mem.dir, "issuer"), SampleHCEProfile))
	require.ErrorIs(t, err, os.ErrNotExist, "no phone storage when the platform lives in memory")
}
