package lab

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/issuerhost/store"
	"github.com/tapsim/tapsim/provision/wire"
)

// The world's wallet phone gets its token through the wallet flow when the
// world is created (R-M5): a token the token service made for the sample
// device and the profile's funding card, downloaded and bound to the
// device (R-S5d), that pays; the profile's own token is not in the world's
// vault, and the same phone built for another device is refused.
func TestSampleWalletPhone(t *testing.T) {
	ctx := context.Background()
	n, err := Start(ctx, Options{Dir: t.TempDir(), Rand: newSeededRand(11), IssuerTimeout: testIssuerTimeout})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, n.Close()) })
	w := n.SampleWallet()
	require.NotNil(t, w.Phone)
	require.Equal(t, "3520990017629911", w.DeviceID)
	c, err := n.Card(SampleWalletProfile, time.Now())
	require.NoError(t, err)
	require.True(t, c == w.Phone, "the world's wallet-phone is the provisioned phone")

	prof, err := cards.Builtin(SampleWalletProfile)
	require.NoError(t, err)
	require.NoError(t, n.Issuer().Store().View(ctx, func(tx *store.Tx) error {
		k, err := tx.Token(ctx, w.TokenRef)
		require.NoError(t, err)
		require.Equal(t, store.TokenActive, k.Status)
		require.True(t, k.DeviceBound)
		require.Equal(t, "funding-wallet-phone", k.CardID)
		require.NotEqual(t, prof.App.PAN, k.Number, "a token the token service drew")
		_, err = tx.Token(ctx, SampleWalletProfile)
		require.ErrorIs(t, err, store.ErrNotFound, "the profile's token is seeded for an issuer run on its own only")
		ds, err := tx.DevicesByID(ctx, w.DeviceID)
		require.NoError(t, err)
		require.Len(t, ds, 1)
		require.Equal(t, w.TokenRef, ds[0].TokenID)
		return nil
	}))
	recs, err := n.Provisioning().CardTokens(ctx, "funding-wallet-phone")
	require.NoError(t, err)
	require.Len(t, recs, 1)
	require.True(t, recs[0].Downloaded)

	rc, err := n.Provisioning().TapPhone(ctx, w.Phone, 350000)
	require.NoError(t, err)
	require.Equal(t, isospec.RCApproved, rc)

	// The token's credentials on another device (its ATC one tap behind,
	// so that the second tap passes the replay check): refused (R-S5d).
	data, err := w.App.Card(w.TokenRef)
	require.NoError(t, err)
	data.DeviceID = "3520990017629912"
	other, err := WalletPhone(data, "0051", time.Now)
	require.NoError(t, err)
	rc, err = n.Provisioning().TapPhone(ctx, other, 350000)
	require.NoError(t, err)
	require.Equal(t, isospec.RCCryptogramFailure, rc)
	rc, err = n.Provisioning().TapPhone(ctx, other, 350000)
	require.NoError(t, err)
	require.Equal(t, isospec.RCSecurityViolation, rc)
}

// The world's provisioning services follow the issuer host when it is
// stopped and started again on the same data: nothing is provisioned
// while it is down; after the restart a card is added and the world's
// wallet phone is reported lost.
func TestProvisioningAfterIssuerRestart(t *testing.T) {
	ctx := context.Background()
	n := startNetwork(t)
	p := n.Provisioning()
	require.NoError(t, n.StopIssuer())
	_, err := p.AddToWallet(ctx, WalletRequest{Profile: "visa-plastic", DeviceID: "35209900AABB0301"}, nil)
	require.ErrorIs(t, err, ErrIssuerDown)
	_, err = p.Inbox(ctx, "3520990017629911")
	require.ErrorIs(t, err, ErrIssuerDown)

	require.NoError(t, n.RestartIssuer(ctx))
	res, err := p.AddToWallet(ctx, WalletRequest{Profile: "visa-plastic", DeviceID: "35209900AABB0301"}, nil)
	require.NoError(t, err)
	require.Equal(t, wire.StatusActive, res.Status)
	got, err := ReportLost(ctx, n, SampleWalletProfile)
	require.NoError(t, err)
	require.Contains(t, got, "tokens suspended at the token service: "+n.SampleWallet().TokenRef)
}
