package seflow_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards/phone"
	"github.com/tapsim/tapsim/emv/dgi"
	"github.com/tapsim/tapsim/emv/gp"
	"github.com/tapsim/tapsim/emv/scp03"
	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/provision/tsm"
	"github.com/tapsim/tapsim/provision/wire"
	"github.com/tapsim/tapsim/provision/wire/wiretest"
)

// R-M2, R-S1, R-G5d, R-G5e: on an SE shared with a mobile network
// operator, the operator creates the issuer's SSD with initial keys and
// hands them to the issuer sealed; the issuer's script rotates them with
// PUT KEY in the download session, so the operator's keys open nothing
// afterwards, and the operator's ISD keys cannot remove the issuer's
// applet. Without the issuer's consent the SP TSM refuses the order.
func TestSharedSE(t *testing.T) {
	r := newRig(t)
	d := r.device("bob-phone", 2, true)
	p := perso(t, "visa-se-phone")
	initial := tsm.Keys{KVN: 0x30, Keys: keySet(0x50)}
	require.NoError(t, tsm.CreateSSD(d.transport(), phone.ISDAID, d.isdKeys, p.SD, p.Owner, initial, wiretest.NewSeeded(10)))

	// The operator's hand-over, sealed to the issuer.
	operator := wiretest.Party(t, "se-operator", 11)
	tok, err := wire.Seal(tsm.HandOver(p.SD, initial), operator, r.issuer.Public(), wire.Header{Type: tsm.TypeSSDKeys, Clock: r.clock.Now})
	require.NoError(t, err)
	trust, err := wire.NewTrustList(operator.Public())
	require.NoError(t, err)
	var got tsm.SSDKeys
	_, err = wire.OpenInto(tok, r.issuer, trust, wire.Expect{Type: tsm.TypeSSDKeys, Replay: wire.NewMemoryReplayCache(8), Clock: r.clock.Now}, &got)
	require.NoError(t, err)
	require.NoError(t, got.Validate())
	handed, err := got.Keys()
	require.NoError(t, err)

	issuerKeys := tsm.Keys{KVN: 0x31, Keys: keySet(0x70)}
	sc, err := tsm.Shared(handed, issuerKeys, p)
	require.NoError(t, err)

	noConsent := r.order(d, p, sc, true)
	noConsent.IssuerConsent = false
	require.Equal(t, tsm.ReasonNoConsent, reason(t, r.submit(noConsent)), "R-S1")

	o := r.order(d, p, sc, true)
	require.NoError(t, r.submit(o))
	res, err := r.agent(d).Run(ctx, o.OrderID, o.otp)
	require.NoError(t, err)
	require.Equal(t, tsm.ReasonPersonalised, res.Outcome)
	_, err = d.ph.SyncSE()
	require.NoError(t, err)
	out := tap(t, r, d)
	require.Equal(t, kernel.OnlineRequest, out.Type, out.Reason)

	// A key set the operator still knows opens nothing (R-M2, R-G5e).
	_, err = gp.Open(d.transport(), gp.Config{SD: p.SD, KeyVersion: initial.KVN, Keys: initial.Keys, Level: scp03.LevelCMAC, Rand: wiretest.NewSeeded(12)})
	var se *gp.StatusError
	require.ErrorAs(t, err, &se)
	require.Equal(t, uint16(0x6A88), se.SW)
	// The issuer's rotated set does.
	s, err := gp.Open(d.transport(), gp.Config{SD: p.SD, KeyVersion: issuerKeys.KVN, Keys: issuerKeys.Keys, Level: scp03.LevelCMACCDec, Rand: wiretest.NewSeeded(13)})
	require.NoError(t, err)
	// R-S4e: the SSD written once takes no second set.
	require.Error(t, s.StoreDGIs([]dgi.DGI{{Tag: 0x0101, Data: []byte{0x70, 0x00}}}))

	// R-G5d: the operator's ISD keys can neither delete the issuer's applet
	// nor lock it.
	isd, err := gp.Open(d.transport(), gp.Config{SD: phone.ISDAID, KeyVersion: d.isdKeys.KVN, Keys: d.isdKeys.Keys, Level: scp03.LevelCMACCDec, Rand: wiretest.NewSeeded(14)})
	require.NoError(t, err)
	require.Error(t, isd.Delete(p.App))
	require.Empty(t, r.se.Dump(), "R-G5g")
}
