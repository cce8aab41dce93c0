package lab

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/issuerhost/authz"
	"github.com/tapsim/tapsim/issuerhost/store"
	"github.com/tapsim/tapsim/provision/wire/wiretest"
)

// The world's mc-cloud phone (hce-phone-mc) is enrolled with the cloud
// platform at start: its mobile PIN unlocks the UMD key at each tap, it
// asks the platform for keys at its low-water mark only, and only an HCE
// phone can ask, only while the issuer host runs.
func TestReplenishPhone(t *testing.T) {
	ctx := context.Background()
	clk := wiretest.NewClock(time.Now())
	net, err := Start(ctx, Options{Dir: t.TempDir(), Rand: newSeededRand(21), Clock: clk.Now, IssuerTimeout: testIssuerTimeout})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, net.Close()) })
	const name = "hce-phone-mc"

	h, ok := net.SampleHCEOf(name)
	require.True(t, ok)
	c, err := net.Card(name, time.Now())
	require.NoError(t, err)
	require.True(t, c == h.Phone, "the world's hce-phone-mc is the enrolled phone")
	require.Equal(t, "3520990017614831", h.DeviceID)
	require.Equal(t, 5, h.Card.KeysLeft())
	require.NoError(t, net.Issuer().Store().View(ctx, func(tx *store.Tx) error {
		k, err := tx.Token(ctx, h.Ref)
		require.NoError(t, err)
		require.Equal(t, authz.CVNMCCloud, k.CVN)
		ds, err := tx.DevicesByID(ctx, h.DeviceID)
		require.NoError(t, err)
		require.Empty(t, ds, "no key of the issuer host's own key service")
		return nil
	}))
	n, err := Replenish(ctx, net, name, c)
	require.NoError(t, err)
	require.Zero(t, n, "5 keys left: above the low-water mark")

	cl := net.Cloud()
	for h.Card.KeysLeft() > 1 {
		code, why, err := cl.Tap(ctx, c, "5791", 10000)
		require.NoError(t, err)
		require.Equal(t, isospec.RCApproved, code, why)
	}
	clk.Advance(sampleReplenishInterval)
	n, err = Replenish(ctx, net, name, c)
	require.NoError(t, err)
	require.Equal(t, 5, n)
	code, why, err := cl.Tap(ctx, c, "5791", 10000)
	require.NoError(t, err)
	require.Equal(t, isospec.RCApproved, code, why)

	for _, name := range []string{"visa-plastic", "visa-se-phone"} {
		c, err := Card(name, time.Now())
		require.NoError(t, err)
		_, err = Replenish(ctx, net, name, c)
		require.ErrorContains(t, err, "not an HCE phone")
	}

	other, err := Card(name, time.Now())
	require.NoError(t, err)
	_, err = Replenish(ctx, net, name, other)
	require.ErrorContains(t, err, "not enrolled with the world's cloud platform")

	require.NoError(t, net.StopIssuer())
	_, err = Replenish(ctx, net, name, c)
	require.ErrorContains(t, err, "issuer host not running")
}

// The report-lost glue refuses what is not a phone, or no issuer; a
// second report of an HCE phone finds nothing left to suspend or void.
func TestReportLostPhone(t *testing.T) {
	ctx := context.Background()
	net := startNetwork(t)

	for _, name := range []string{"visa-plastic", "mc-plastic", "recorded-visa", "no-such-card", "PC/SC reader"} {
		_, err := ReportLost(ctx, net, name)
		require.EqualError(t, err, name+" is not a phone")
	}

	got, err := ReportLost(ctx, net, "hce-phone-mc")
	require.NoError(t, err)
	require.Equal(t, "device 3520990017614831: cloud binding of hce-phone-mc suspended, its 5 keys refused from now on", got)

	got, err = ReportLost(ctx, net, "mc-se-phone")
	require.NoError(t, err)
	require.Equal(t, "card marked lost: mc-se-phone", got)
	w := net.SampleWallet()
	got, err = ReportLost(ctx, net, "wallet-phone")
	require.NoError(t, err)
	require.Equal(t, "device 3520990017629911: tokens suspended at the token service: "+w.TokenRef, got)
	got, err = ReportLost(ctx, net, "wallet-phone")
	require.NoError(t, err)
	require.Equal(t, "device 3520990017629911: tokens suspended at the token service: none left active", got)

	require.NoError(t, net.StopIssuer())
	_, err = ReportLost(ctx, net, "visa-se-phone")
	require.EqualError(t, err, "issuer host not running")
}
