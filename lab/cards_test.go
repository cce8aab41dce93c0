package lab

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards"
)

// The replenish glue of a phone built from its profile (the issuer host's
// own key service): a phone that lost its keys gets a batch even though
// the platform still counts them usable; a stocked phone gets none; only
// an HCE phone can ask, and only while the issuer host runs. (The world's
// hce-phone asks the cloud platform: TestSampleHCEPhone.)
func TestReplenishPhone(t *testing.T) {
	ctx := context.Background()
	net := startNetwork(t)
	const name = "hce-phone-mc"

	c, err := Card(name, time.Now())
	require.NoError(t, err)
	ph, ok := cards.Phone(c)
	require.True(t, ok)
	require.Equal(t, 5, ph.KeysLeft())
	n, err := Replenish(ctx, net, name, c)
	require.NoError(t, err)
	require.Zero(t, n, "5 keys left: above the low-water mark")

	first, ok := ph.KeyStore().NextATC()
	require.True(t, ok)
	ph.KeyStore().Discard()
	n, err = Replenish(ctx, net, name, c)
	require.NoError(t, err)
	require.Equal(t, 5, n)
	require.Equal(t, 5, ph.KeysLeft())
	next, ok := ph.KeyStore().NextATC()
	require.True(t, ok)
	require.Greater(t, next, first+4, "the new batch follows every ATC issued")

	for _, name := range []string{"visa-plastic", "visa-se-phone"} {
		c, err := Card(name, time.Now())
		require.NoError(t, err)
		_, err = Replenish(ctx, net, name, c)
		require.ErrorContains(t, err, "not an HCE phone")
	}

	require.NoError(t, net.StopIssuer())
	ph.KeyStore().Discard()
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
	require.Equal(t, "device 3520990017614831: tokens suspended: hce-phone-mc; 5 keys voided", got)
	got, err = ReportLost(ctx, net, "hce-phone-mc")
	require.NoError(t, err)
	require.Equal(t, "device 3520990017614831: tokens suspended: none left active; 0 keys voided", got)

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
