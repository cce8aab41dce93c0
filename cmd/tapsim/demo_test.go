package main

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/isospec"
	"github.com/tapsim/tapsim/issuerhost/store"
	"github.com/tapsim/tapsim/lab"
)

// Every row of the demo gets its expected DE39 and decline reason over the
// embedded network, and the issuer's state says why (R-G3c, R-S5b, R-G4).
func TestDemoRows(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	rows, err := runDemo(ctx, demoConfig{Dir: dir})
	require.NoError(t, err)
	want := []struct {
		card   string
		code   isospec.ResponseCode
		reason isospec.DeclineReason
		cvm    string
	}{
		{"visa-plastic", "00", "", "no_cvm"},
		{"visa-se-phone", "00", "", "cdcvm"},
		{"visa-plastic", "00", "", "online_pin"},
		{"mc-plastic", "55", isospec.ReasonPINIncorrect, "online_pin"},
		{"mc-plastic", "55", isospec.ReasonPINIncorrect, "online_pin"},
		{"mc-plastic", "55", isospec.ReasonPINIncorrect, "online_pin"},
		{"mc-plastic", "55", isospec.ReasonPINIncorrect, "online_pin"},
		{"mc-plastic", "75", isospec.ReasonPINTriesExceeded, "online_pin"},
		{"mc-plastic", "75", isospec.ReasonPINLocked, "online_pin"},
		{"hce-phone", "00", "", "cdcvm"},
		{"hce-phone (restored)", "82", isospec.ReasonHCEKeyUsed, "cdcvm"},
		{"visa-plastic (replayed 0100)", "82", isospec.ReasonCryptogramReplay, "no_cvm"},
		{"visa-plastic (tampered)", "13", "amount_mismatch", "no_cvm"},
		{"visa-plastic (tampered)", "63", "cvm_claim_unverified", "no_cvm"},
		{"wallet-phone", "62", isospec.ReasonTokenSuspended, "cdcvm"},
		{"visa-plastic", "91", isospec.ReasonIssuerUnavailable, "no_cvm"},
	}
	require.Len(t, rows, len(want))
	for i, w := range want {
		r := rows[i]
		require.NoError(t, r.Err, "row %d %s", i, w.card)
		require.True(t, r.OK(), "row %d %s: %s", i, w.card, r.Got)
		require.Equal(t, w.card, r.Card, "row %d", i)
		require.Equal(t, w.code, r.Got, "row %d %s", i, w.card)
		require.Equal(t, w.reason, r.Reason, "row %d %s", i, w.card)
		require.Equal(t, w.cvm, r.CVM, "row %d %s", i, w.card)
	}
	// Approvals carry the ARPC (tag 91) back to the terminal; the HCE
	// phone's limited-use key gets none (the issuer answers a cloud
	// cryptogram without one).
	require.Contains(t, rows[0].ARPC, "received")
	require.Equal(t, "none", rows[9].ARPC)
	require.Contains(t, rows[15].Note, "1 reversal advice(s) acknowledged")

	// The state the demo left, read from the issuer's store.
	r, err := lab.OpenIssuer(ctx, dir+"/issuer", "", nil)
	require.NoError(t, err)
	defer r.Close()
	db := r.DB
	require.NoError(t, db.View(ctx, func(tx *store.Tx) error {
		c, err := tx.Card(ctx, "mc-plastic")
		require.NoError(t, err)
		require.True(t, c.PINLocked, "R-G3c")
		// The wallet phone's token, made by the wallet flow for the
		// sample device when the world was created.
		ds, err := tx.DevicesByID(ctx, "3520990017629911")
		require.NoError(t, err)
		require.Len(t, ds, 1)
		tok, err := tx.Token(ctx, ds[0].TokenID)
		require.NoError(t, err)
		require.Equal(t, store.TokenSuspended, tok.Status)
		log, err := tx.AuthLog(ctx, 100)
		require.NoError(t, err)
		var reversal bool
		for _, r := range log {
			require.NotContains(t, r.MaskedPAN, "4761739001010010")
			if strings.HasPrefix(r.MTI, "042") {
				reversal = true
			}
		}
		require.True(t, reversal, "the reversal advice reached the issuer")
		return nil
	}))
}

func TestDemoCommand(t *testing.T) {
	dir := t.TempDir() + "/data"
	code, out, errOut := runCLI(t, "demo", "--data", dir)
	require.Equal(t, 0, code, out+errOut)
	require.Contains(t, out, "all 16 rows as expected")
	for _, secret := range []string{"4761739001010010", "5413330089010012", "4895370012340011", "0EA47A138CD931454F044620F738B3F4"} {
		require.NotContains(t, out+errOut, secret)
	}
	// The same directory again: refused, the cards would be replays.
	code, out, errOut = runCLI(t, "demo", "--data", dir)
	requireUsageError(t, code, out, errOut, "earlier run")

	code, out, errOut = runCLI(t, "demo", "--bogus")
	requireUsageError(t, code, out, errOut, "unknown flag")
}
