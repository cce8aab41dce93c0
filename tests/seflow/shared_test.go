package seflow_test

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/cards/phone"
	"github.com/tapsim/tapsim/cards/se"
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
	require.Equal(t, tsm.ReasonPersonalised, r.download(t, d, o))
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

// R-M2, R-G5b: an SE TSM that kept the initial key set it created and
// recorded every command it relayed learns nothing of the issuer's keys:
// it can replay the card's side of the session under the initial keys and
// read the PUT KEY in clear, but the new set in it is enciphered under a
// key the SP TSM agreed with the SE's certified key-agreement key, not
// under the initial K-DEK. Its keys open nothing on the SE afterwards,
// under any key version, and a second order for the SE is refused.
func TestOperatorKeysAfterRotation(t *testing.T) {
	r := newRig(t)
	d := r.device("bill-phone", 23, true)
	p := perso(t, "mc-se-phone")
	issuerKeys := tsm.Keys{KVN: 0x31, Keys: keySet(0x74)}
	sc, err := tsm.Shared(issuerKeys, p)
	require.NoError(t, err)
	o := r.order(d, p, sc, true)
	require.NoError(t, r.submit(o))
	type exchange struct{ cmd, resp []byte }
	var rec []exchange
	a := r.agent(d)
	a.SE = func(c []byte) []byte {
		resp := d.ph.SE().Process(c)
		rec = append(rec, exchange{append([]byte(nil), c...), append([]byte(nil), resp...)})
		return resp
	}
	res, err := a.Run(ctx, o.OrderID, o.otp)
	require.NoError(t, err)
	require.Equal(t, tsm.ReasonPersonalised, res.Outcome)

	// The recording SE TSM replays the card's side under the initial keys.
	initial := r.operatorCopy(d.seid)
	card := &scp03.Card{Keys: initial.Keys, KeyVersion: initial.KVN, Param: se.Param, AID: p.SD}
	var ch *scp03.Channel
	var putKey []byte
	for _, x := range rec {
		switch {
		case x.cmd[1] == 0x50 && x.cmd[2] == initial.KVN:
			copy(card.DiversificationData[:], x.resp) // public: the SE says it
			got, err := card.InitializeUpdate(x.cmd)
			require.NoError(t, err)
			require.Equal(t, x.resp, got, "the initial keys recompute the card's answer")
		case x.cmd[1] == 0x82 && ch == nil && card != nil:
			if ch, err = card.ExternalAuthenticate(x.cmd); err != nil {
				ch = nil
			}
		case ch != nil && putKey == nil && x.cmd[0]&0x04 != 0:
			clear, err := ch.UnwrapCommand(x.cmd)
			require.NoError(t, err)
			if clear[1] == 0xD8 {
				putKey = clear
			}
		}
	}
	require.NotNil(t, putKey, "the PUT KEY was read in clear under the initial keys")
	data := putKey[5 : 5+int(putKey[4])]
	require.True(t, gp.AgreedPutKey(data), "the new set is under an agreed key")
	_, got, err := gp.ParsePutKey(putKey[3], append([]byte{data[0]}, data[3+65:]...), initial.Keys.DEK)
	if err == nil {
		require.NotEqual(t, issuerKeys.Keys.ENC.Bytes(), got.ENC.Bytes())
	}

	for _, kvn := range []byte{initial.KVN, issuerKeys.KVN, 0} {
		_, err := gp.Open(d.transport(), gp.Config{SD: p.SD, KeyVersion: kvn, Keys: initial.Keys, Level: scp03.LevelCMACCDec, Rand: wiretest.NewSeeded(kvn, 16)})
		require.Error(t, err, "key version %02X", kvn)
	}
	require.Equal(t, tsm.ReasonAlreadyDone, reason(t, r.submit(r.order(d, p, sc, true))))
}

// R-M2: an SE whose key-agreement certificate is not its authority's does
// not get the issuer's keys: the SP TSM refuses it se_certificate.
func TestSharedSEWithForgedCertificate(t *testing.T) {
	r := newRig(t)
	d := r.device("ben-phone", 27, true)
	rogue, err := ecdsa.GenerateKey(elliptic.P256(), wiretest.NewSeeded(33))
	require.NoError(t, err)
	agree, err := ecdh.P256().GenerateKey(wiretest.NewSeeded(34))
	require.NoError(t, err)
	cert, err := gp.SignSECert(rogue, d.seid, agree.PublicKey(), wiretest.NewSeeded(35))
	require.NoError(t, err)
	d.ph.SE().SetAgreementKey(agree, cert)
	p := perso(t, "visa-se-phone")
	sc, err := tsm.Shared(tsm.Keys{KVN: 0x31, Keys: keySet(0x70)}, p)
	require.NoError(t, err)
	o := r.order(d, p, sc, true)
	require.Equal(t, tsm.ReasonSECertificate, r.download(t, d, o))
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
