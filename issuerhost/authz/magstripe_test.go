package authz_test

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/magstripe"
	"github.com/tapsim/tapsim/issuerhost/authz"
	"github.com/tapsim/tapsim/issuerhost/internal/issuertest"
	"github.com/tapsim/tapsim/issuerhost/store"
)

// magStripeTrack is the track 2 a C-2 reader sends for the sample
// Mastercard card in mag-stripe mode: the CVC3 the card computes over its
// personalised track, the number un and the ATC, written in the
// discretionary data (magstripe.DefaultLayout).
func magStripeTrack(t *testing.T, un []byte, atc uint16, tamper bool) string {
	t.Helper()
	cvn, err := cryptogram.Lookup("mc16")
	require.NoError(t, err)
	imk, err := keys.ParseHex(keys.TDES, issuertest.IMKMC)
	require.NoError(t, err)
	mk, err := cvn.DeriveMK(imk, "5413330089010012", "01")
	require.NoError(t, err)
	static, err := hex.DecodeString("5413330089010012D29122010000000000000F")
	require.NoError(t, err)
	iv, err := cryptogram.CVC3IV(mk, static)
	require.NoError(t, err)
	cvc3, err := cryptogram.ComputeCVC3(mk, iv, un, atc)
	require.NoError(t, err)
	if tamper {
		cvc3[1] ^= 0x01
	}
	tr, err := magstripe.ParseTrack2(static)
	require.NoError(t, err)
	filled, err := magstripe.Fill(tr, magstripe.DefaultLayout, magstripe.Dynamic{CVC3: cvc3, UN: un, ATC: atc})
	require.NoError(t, err)
	return strings.TrimRight(strings.ToUpper(hex.EncodeToString(filled.Bytes())), "F")
}

// TestMagStripeCVC3: the issuer verifies a contactless mag-stripe mode
// transaction's CVC3 in its security module, rebuilding the ATC from the
// track's digits; a wrong CVC3 or a replayed track declines.
func TestMagStripeCVC3(t *testing.T) {
	n := issuertest.New(t)
	e := engine(t, n, authz.Policy{})
	req := func(amount int64, track string) authz.Request {
		r := n.Request(issuertest.MCPlastic, issuertest.Tap{Amount: amount})
		r.ICC, r.EntryMode, r.Track2 = nil, "912", track
		return r
	}
	un := []byte{0x00, 0x01, 0x23, 0x45}

	d := decide(t, e, req(150000, magStripeTrack(t, un, 1, false)))
	require.Equal(t, authz.Approved, d.Reason, d.Reason)
	require.Empty(t, d.IssuerAuthData, "no ARPC for a mag-stripe transaction")

	d = decide(t, e, req(150000, magStripeTrack(t, un, 1, false)))
	require.NotEqual(t, authz.Approved, d.Reason, "the same track again")

	d = decide(t, e, req(150000, magStripeTrack(t, un, 2, true)))
	require.Equal(t, authz.ARQCInvalid, d.Reason, "a wrong CVC3")

	d = decide(t, e, req(350000, magStripeTrack(t, []byte{0, 0, 0, 7}, 3, false)))
	require.Equal(t, authz.CVMRequired, d.Reason, "above the no-signature limit without PIN (R-S2d)")

	d = decide(t, e, req(150000, "5413330089010012D2912201"))
	require.Equal(t, authz.FormatError, d.Reason, "no discretionary data for the digits")

	// nUN' = (nUN + 5) mod 10 as the last digit after an on-device CVM:
	// the CVC3 is still over the number in the nUN positions.
	od := magStripeTrack(t, un, 5, false)
	require.Equal(t, byte('5'), od[len(od)-1], "nUN")
	d = decide(t, e, req(150000, od[:len(od)-1]+"0"))
	require.Equal(t, authz.Approved, d.Reason, "nUN' accepted")
	d = decide(t, e, req(150000, magStripeTrack(t, un, 6, false)[:len(od)-1]+"3"))
	require.Equal(t, authz.FormatError, d.Reason, "neither nUN nor nUN'")

	r := req(150000, magStripeTrack(t, un, 7, false))
	r.EntryMode = "072"
	d = decide(t, e, r)
	require.NotEqual(t, authz.Approved, d.Reason, "a chip entry mode without chip data")
}

// TestMagStripeCVC3Guessing: a CVC3 has a few digits only; the issuer
// counts consecutive failures per card. A CVC3 that verifies before the
// bound clears the count; at the bound the card's mag-stripe transactions
// are declined unchecked, the right CVC3 too, until the service centre
// lifts the block.
func TestMagStripeCVC3Guessing(t *testing.T) {
	n := issuertest.New(t)
	e := engine(t, n, authz.Policy{MaxCVC3Failures: 3})
	atc := uint16(0)
	try := func(wrong bool) authz.Reason {
		atc++
		un := []byte{0, 0, 0x10, byte(atc)}
		r := n.Request(issuertest.MCPlastic, issuertest.Tap{Amount: 1000})
		r.ICC, r.EntryMode, r.Track2 = nil, "912", magStripeTrack(t, un, atc, wrong)
		return decide(t, e, r).Reason
	}
	require.Equal(t, authz.ARQCInvalid, try(true))
	require.Equal(t, authz.ARQCInvalid, try(true))
	require.Equal(t, authz.Approved, try(false), "below the bound: the count starts again")
	require.Equal(t, authz.ARQCInvalid, try(true))
	require.Equal(t, authz.ARQCInvalid, try(true))
	require.Equal(t, authz.CVC3TriesExceeded, try(true), "the third in a row")
	require.Equal(t, "63", authz.CVC3TriesExceeded.Code())
	require.Equal(t, authz.CVC3TriesExceeded, try(false), "blocked: the right CVC3 is not looked at")

	_, err := authz.ResetCVC3(ctx, n.DB, issuertest.MCPlastic, "", n.Clock.Now())
	require.Error(t, err, "an operator is named")
	_, err = authz.ResetCVC3(ctx, n.DB, "no-such-card", "agent-7", n.Clock.Now())
	require.ErrorIs(t, err, store.ErrNotFound)
	cleared, err := authz.ResetCVC3(ctx, n.DB, issuertest.MCPlastic, "agent-7", n.Clock.Now())
	require.NoError(t, err)
	require.Equal(t, 3, cleared)
	require.Equal(t, authz.Approved, try(false))
}
