package hceflow_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards/emvapp"
	"github.com/tapsim/tapsim/cards/phone"
	"github.com/tapsim/tapsim/cards/testca"
	"github.com/tapsim/tapsim/emv/oda"
	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/issuerhost/authz"
	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/kernel/entry"
	"github.com/tapsim/tapsim/provision/wire"
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
	cfg, err := card.AppConfig(ph.Holder(), wiretest.NewSeeded(9), nil)
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

// R-S2e: an mc-cloud card tapped on the kernel (M/Chip path): the phone
// unlocks the SUK with the mobile PIN typed at the tap; the issuer host
// approves with the right PIN, declines a wrong one (the phone could not
// tell) with cloud_umd_invalid.
func TestHCEKernelTapMobilePIN(t *testing.T) {
	w := newWorld(t)
	is := w.startIssuer()
	app := w.phone("carol-phone", 5)
	card, err := app.Enrol(ctx, w.requestID(), carolRef, w.codes[carolPAN], "2580",
		func(context.Context, wire.HCERegisterResult) (string, error) { return w.lastOTP(carolPhoneNo), nil })
	require.NoError(t, err)

	ph, err := phone.New(phone.Config{Kind: phone.HCE, CloudKeys: card, LowWater: 1, Passcode: "5791", Clock: w.clock.Now, Rand: wiretest.NewSeeded(8)})
	require.NoError(t, err)
	typed := ""
	cfg, err := card.AppConfig(ph.Holder(), wiretest.NewSeeded(9), func() string { return typed })
	require.NoError(t, err)
	// A C-2 kernel approves on-device CVM only with CDA: the emulated
	// card data carry an ICC key pair certified by the issuer.
	is1, err := testca.Issuer(1, "issuer-a", oda.IssuerTemplate{IssuerID: carolCloudPAN[:6], Expiry: emvapp.Date{Year: 2030, Month: 12},
		Serial: [3]byte{0, 0, 1}})
	require.NoError(t, err)
	icc, err := testca.ICCKey("icc-c")
	require.NoError(t, err)
	cfg.ODA = &emvapp.ODA{CAIndex: 1, Issuer: is1, ICCKey: icc, ICCSerial: [3]byte{0, 0, 2}}
	a, err := emvapp.New(cfg)
	require.NoError(t, err)
	require.NoError(t, ph.Install(a))
	ph.CardOn()
	reader := inproc.New(ph)
	kcfg := kernel.DefaultConfig()
	kcfg.Clock = w.clock.Now
	kcfg.CAPublicKeys, err = testca.CAPublicKeys()
	require.NoError(t, err)

	for _, tc := range []struct {
		pin    string
		code   isospec.ResponseCode
		reason isospec.DeclineReason
	}{
		{"2580", isospec.RCApproved, ""},
		{"8052", "55", isospec.DeclineReason(authz.CloudUMDInvalid)},
	} {
		typed = tc.pin
		require.NoError(t, ph.Unlock("5791"))
		out, err := entry.Run(ctx, reader, kcfg, kernel.Transaction{Amount: 1200, Type: kernel.Purchase})
		require.NoError(t, err)
		require.Equal(t, kernel.OnlineRequest, out.Type, out.Reason)
		icc, err := out.DataRecord.Encode()
		require.NoError(t, err)
		code, why := is.authoriseICC(icc, carolCloudPAN, 1200)
		require.Equal(t, tc.code, code, why)
		require.Equal(t, tc.reason, why)
	}
	require.Equal(t, 3, card.KeysLeft())
}
