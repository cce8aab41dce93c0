package seflow_test

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards/phone"
	"github.com/tapsim/tapsim/emv/dgi"
	"github.com/tapsim/tapsim/emv/gp"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/scp03"
	"github.com/tapsim/tapsim/kernel"
	"github.com/tapsim/tapsim/provision/tsm"
	"github.com/tapsim/tapsim/provision/wire/wiretest"
)

// R-M2, R-S1, R-G5d, R-G5e, R-S4a: on an SE shared with a mobile network
// operator, the operator's SE TSM creates the issuer's SSD with an initial
// key set in its own ISD session and hands that set, sealed, to the SP TSM,
// which holds the issuer's keys: the SP TSM rotates the set with PUT KEY
// and runs the issuer's session itself, the SE TSM relaying secured
// commands only. The operator's copy of the initial set opens nothing
// afterwards, no state of the SE TSM holds an SSD key, and the operator's
// ISD keys cannot remove the issuer's applet. Without the issuer's consent
// the SP TSM refuses the order.
func TestSharedSE(t *testing.T) {
	r := newRig(t)
	d := r.device("bob-phone", 2, true)
	p := perso(t, "visa-se-phone")
	issuerKeys := tsm.Keys{KVN: 0x31, Keys: keySet(0x70)}
	sc, err := tsm.Shared(issuerKeys, p)
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

	// No state of the SE TSM holds a key of the SSD, old or new, nor the
	// SP TSM's afterwards (R-M2, R-G5g).
	initial := r.operatorCopy(d.seid)
	state := strings.ToLower(strings.Join(append(r.se.State(), r.sp.Dump()...), "\n"))
	for _, k := range []keys.Key{initial.Keys.ENC, initial.Keys.MAC, initial.Keys.DEK, issuerKeys.Keys.ENC, issuerKeys.Keys.MAC, issuerKeys.Keys.DEK} {
		require.NotContains(t, state, hex.EncodeToString(k.Bytes()))
	}
	require.Contains(t, strings.Join(r.se.State(), "\n"), "personalised "+d.seid)

	// A key set the operator still knows opens nothing (R-M2, R-G5e): the
	// initial version is gone, and under the issuer's version the
	// operator's keys fail the card cryptogram.
	_, err = gp.Open(d.transport(), gp.Config{SD: p.SD, KeyVersion: initial.KVN, Keys: initial.Keys, Level: scp03.LevelCMAC, Rand: wiretest.NewSeeded(12)})
	var se *gp.StatusError
	require.ErrorAs(t, err, &se)
	require.Equal(t, uint16(0x6A88), se.SW)
	_, err = gp.Open(d.transport(), gp.Config{SD: p.SD, KeyVersion: issuerKeys.KVN, Keys: initial.Keys, Level: scp03.LevelCMAC, Rand: wiretest.NewSeeded(15)})
	require.ErrorIs(t, err, scp03.ErrCryptogram)
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
	require.Error(t, isd.SetStatus(p.App, 0x83))
	require.Empty(t, r.se.Dump(), "R-G5g")
}

// R-M2: an SE TSM that tries to run the issuer's download with the SSD's
// old keys is refused by the SE: after the rotation, a second order for
// the same SE (its SSD already written) gets no further, and an OTA
// session whose SE TSM replays the initial set's session against the SSD
// fails the card cryptogram.
func TestOperatorKeysAfterRotation(t *testing.T) {
	r := newRig(t)
	d := r.device("bill-phone", 23, true)
	p := perso(t, "mc-se-phone")
	issuerKeys := tsm.Keys{KVN: 0x31, Keys: keySet(0x74)}
	sc, err := tsm.Shared(issuerKeys, p)
	require.NoError(t, err)
	o := r.order(d, p, sc, true)
	require.NoError(t, r.submit(o))
	res, err := r.agent(d).Run(ctx, o.OrderID, o.otp)
	require.NoError(t, err)
	require.Equal(t, tsm.ReasonPersonalised, res.Outcome)

	// The operator's TSM, keeping its copy, opens the SSD as if it were
	// the issuer's under each version it might try.
	initial := r.operatorCopy(d.seid)
	for _, kvn := range []byte{initial.KVN, issuerKeys.KVN, 0} {
		_, err := gp.Open(d.transport(), gp.Config{SD: p.SD, KeyVersion: kvn, Keys: initial.Keys, Level: scp03.LevelCMACCDec, Rand: wiretest.NewSeeded(kvn, 16)})
		require.Error(t, err, "key version %02X", kvn)
	}
	// A second shared order for the SE is refused: the SSD is written.
	require.Equal(t, tsm.ReasonAlreadyDone, reason(t, r.submit(r.order(d, p, sc, true))))
}

// R-M2: a shared SE whose operator registered no ISD keys cannot have an
// SSD created: the SE TSM refuses the hand-over with its reason.
func TestSharedSEWithoutOperatorKeys(t *testing.T) {
	r := newRig(t)
	d := r.device("beth-phone", 24, false)
	require.NoError(t, r.se.Register(tsm.Binding{SEID: d.seid, DeviceID: d.id, PhoneNumber: phoneNo}))
	p := perso(t, "visa-se-phone")
	sc, err := tsm.Shared(tsm.Keys{KVN: 0x31, Keys: keySet(0x70)}, p)
	require.NoError(t, err)
	require.Equal(t, tsm.ReasonNoOperatorKeys, reason(t, r.submit(r.order(d, p, sc, true))))
}
