package hceflow_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards/emvapp"
	"github.com/tapsim/tapsim/cards/phone"
	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/issuerhost/authz"
	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/kernel/entry"
	"github.com/tapsim/tapsim/provision/wire/wiretest"
	"github.com/tapsim/tapsim/terminal/inproc"
)

// R-M7, R-S2e, R-S5b: a phone enrolled with the cloud platform is tapped
// on a terminal's kernel over APDUs: its EMV application takes one
// limited-use key per tap and writes the visa-cloud IAD; the kernel's
// data record, sent as DE55 to the issuer host over TCP, is approved once
// the cardholder unlocked the phone, and the same tap again is declined.
// Without the unlock the phone asks to be verified first (See Phone).
func TestHCEKernelTap(t *testing.T) {
	w := newWorld(t)
	is := w.startIssuer()
	app := w.phone("alice-phone-1", 1)
	card := w.enrol(app, aliceRef, alicePAN, alicePhoneNo)

	ph, err := phone.New(phone.Config{Kind: phone.HCE, CloudKeys: card, LowWater: 1, Passcode: "5791", Clock: w.clock.Now, Rand: wiretest.NewSeeded(8)})
	require.NoError(t, err)
	cfg, err := card.AppConfig(ph.Holder(), wiretest.NewSeeded(9))
	require.NoError(t, err)
	a, err := emvapp.New(cfg)
	require.NoError(t, err)
	require.NoError(t, ph.Install(a))
	ph.CardOn()
	reader := inproc.New(ph)
	kcfg := kernel.DefaultConfig()
	kcfg.Clock = w.clock.Now
	txn := kernel.Transaction{Amount: 1200, Type: kernel.Purchase}

	out, err := entry.Run(ctx, reader, kcfg, txn)
	require.NoError(t, err)
	require.NotEqual(t, kernel.OnlineRequest, out.Type, "not verified: the phone asks for its holder first")
	require.Equal(t, 5, card.KeysLeft(), "no key spent")

	require.NoError(t, ph.Unlock("5791"))
	out, err = entry.Run(ctx, reader, kcfg, txn)
	require.NoError(t, err)
	require.Equal(t, kernel.OnlineRequest, out.Type, out.Reason)
	require.Equal(t, 4, card.KeysLeft())
	require.Equal(t, 4, ph.KeysLeft())
	require.False(t, ph.NeedsReplenish())

	icc, err := out.DataRecord.Encode()
	require.NoError(t, err)
	code, why := is.authoriseICC(icc, aliceCloudPAN, 1200)
	require.Equal(t, isospec.RCApproved, code, why)
	code, why = is.authoriseICC(icc, aliceCloudPAN, 1200)
	require.NotEqual(t, isospec.RCApproved, code)
	require.Equal(t, isospec.DeclineReason(authz.KeyUsed), why)

	// The phone spends its keys, one per verified tap, then offers no
	// card and asks for replenishment.
	for range 4 {
		require.NoError(t, ph.Unlock("5791"))
		out, err = entry.Run(ctx, reader, kcfg, txn)
		require.NoError(t, err)
		require.Equal(t, kernel.OnlineRequest, out.Type, out.Reason)
	}
	require.True(t, ph.NeedsReplenish())
	require.Contains(t, ph.Events(), phone.EventReplenish)
	require.NoError(t, ph.Unlock("5791"))
	out, err = entry.Run(ctx, reader, kcfg, txn)
	require.NoError(t, err)
	require.NotEqual(t, kernel.OnlineRequest, out.Type)
	w.clock.Advance(10 * time.Minute)
	asked, err := app.ReplenishIfLow(ctx, aliceRef, 1)
	require.NoError(t, err)
	require.True(t, asked)
	out, err = entry.Run(ctx, reader, kcfg, txn)
	require.NoError(t, err)
	require.Equal(t, kernel.OnlineRequest, out.Type, out.Reason)
}
