package cloud_test

import (
	"encoding/hex"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	emvcloud "github.com/tapsim/tapsim/emv/cloud"
	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/hsm/soft"
	"github.com/tapsim/tapsim/issuerhost/cloud"
)

const (
	cloudPAN = "4895370012345671"
	imkHex   = "0123456789ABCDEFFEDCBA9876543210"
	umdHex   = "5198E0086E1AA2B96D024958209E3213"
)

var at = time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)

type verifyRig struct {
	v          *cloud.Verifier
	ledger     *cloud.Ledger
	now        time.Time
	mk, md, um keys.Key
}

func newVerifyRig(t *testing.T) *verifyRig {
	t.Helper()
	m, err := soft.Open(soft.Config{LMK: keys.MustHex(keys.AES, "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F")})
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	_, err = m.ImportKey("imk", hsm.UsageIMKAC, keys.MustHex(keys.TDES, imkHex))
	require.NoError(t, err)
	_, err = m.ImportKey("imk/umd", hsm.UsageIMKAC, keys.MustHex(keys.TDES, umdHex))
	require.NoError(t, err)
	r := &verifyRig{now: at}
	r.ledger = cloud.NewLedger(func() time.Time { return r.now })
	r.v = &cloud.Verifier{HSM: m, Ledger: r.ledger, Now: func() time.Time { return r.now }}
	r.mk, err = cryptogram.DeriveICCMK(cryptogram.OptionA, keys.MustHex(keys.TDES, imkHex), cloudPAN, "00")
	require.NoError(t, err)
	r.md = r.mk
	r.um, err = cryptogram.DeriveICCMK(cryptogram.OptionA, keys.MustHex(keys.TDES, umdHex), cloudPAN, "00")
	require.NoError(t, err)
	return r
}

func txnTags(atc uint16) cryptogram.Values {
	h := func(s string) []byte { b, _ := hex.DecodeString(s); return b }
	return cryptogram.Values{
		0x9F02: h("000000001000"), 0x9F03: h("000000000000"), 0x9F1A: h("0158"), 0x95: h("0000000000"),
		0x5F2A: h("0901"), 0x9A: h("261207"), 0x9C: h("00"), 0x9F37: h("0BADCAFE"), 0x82: h("1980"),
		0x9F36: {byte(atc >> 8), byte(atc)},
	}
}

func (r *verifyRig) luk(t *testing.T, ki emvcloud.KeyIndex, cdcvm bool) (cryptogram.Values, []byte) {
	t.Helper()
	tags := txnTags(1)
	var cvr [4]byte
	if cdcvm {
		cvr[0] = emvcloud.CVRCDCVM
	}
	tags[0x9F10] = emvcloud.VisaIAD(1, cvr, ki)
	k, err := emvcloud.DeriveLUK(r.mk, 1, ki)
	require.NoError(t, err)
	ac, err := emvcloud.GenerateLUKAC(k, tags)
	require.NoError(t, err)
	return tags, ac
}

func (r *verifyRig) suk(t *testing.T, atc uint16, pin string) (cryptogram.Values, []byte) {
	t.Helper()
	tags := txnTags(atc)
	tags[0x9F10] = emvcloud.MCIAD(1, [4]byte{}, [4]byte{})
	skMD, skUMD, err := emvcloud.SessionKeys(r.md, r.um, atc)
	require.NoError(t, err)
	suk, err := emvcloud.MakeSUK(skUMD, "2468", []byte("saltsalt"), "tur-1")
	require.NoError(t, err)
	k, err := emvcloud.UnlockSUK(suk, pin, []byte("saltsalt"), "tur-1")
	require.NoError(t, err)
	ac, iad, err := emvcloud.GenerateMC(skMD, k, tags)
	require.NoError(t, err)
	tags[0x9F10] = iad
	return tags, ac
}

var (
	visaCard = cloud.CloudCard{Ref: "card-1", PAN: cloudPAN, PSN: "00", CVN: emvcloud.CVNVisaCloud, IMK: "imk"}
	mcCard   = cloud.CloudCard{Ref: "card-1", PAN: cloudPAN, PSN: "00", CVN: emvcloud.CVNMCCloud, MKMD: "imk", MKUMD: "imk/umd"}
)

// Each refusal of the cloud cryptogram check has its reason, its rule and
// its response code; a good tap names the key's phone.
func TestVerifier(t *testing.T) {
	r := newVerifyRig(t)
	ki := func(c int) emvcloud.KeyIndex {
		k, err := emvcloud.NewKeyIndex(at, c)
		require.NoError(t, err)
		return k
	}
	for c, dev := range []string{"phone-1", "phone-1", "phone-2", "phone-2", "phone-1"} {
		require.NoError(t, r.ledger.IssueLUK("card-1", dev, ki(c), 1))
	}
	require.ErrorIs(t, r.ledger.IssueLUK("card-1", "phone-3", ki(0), 1), cloud.ErrLedger)
	require.ErrorIs(t, r.ledger.IssueLUK("", "phone-3", ki(9), 1), cloud.ErrLedger)
	for atc := uint16(1); atc <= 3; atc++ {
		require.NoError(t, r.ledger.IssueSUK("card-1", "phone-1", atc))
	}

	for _, tc := range []struct {
		name   string
		tap    func() cloud.Tap
		reason cloud.TapReason
		rule   string
		code   string
		device string
	}{
		{"visa ok", func() cloud.Tap {
			tags, ac := r.luk(t, ki(0), true)
			return cloud.Tap{Card: visaCard, Tags: tags, AC: ac, DeviceID: "phone-1"}
		}, "", "", "", "phone-1"},
		{"visa reused", func() cloud.Tap {
			tags, ac := r.luk(t, ki(0), true)
			return cloud.Tap{Card: visaCard, Tags: tags, AC: ac}
		}, cloud.TapKeyUsed, "R-S5b", "82", ""},
		{"visa not issued", func() cloud.Tap {
			tags, ac := r.luk(t, ki(40), true)
			return cloud.Tap{Card: visaCard, Tags: tags, AC: ac}
		}, cloud.TapKeyNotIssued, "R-S5b", "82", ""},
		{"visa other phone", func() cloud.Tap {
			tags, ac := r.luk(t, ki(1), true)
			return cloud.Tap{Card: visaCard, Tags: tags, AC: ac, DeviceID: "phone-2"}
		}, cloud.TapKeyOtherDevice, "R-S5d", "82", ""},
		{"visa bad cryptogram", func() cloud.Tap {
			tags, ac := r.luk(t, ki(2), true)
			ac[0] ^= 1
			return cloud.Tap{Card: visaCard, Tags: tags, AC: ac}
		}, cloud.TapCryptogramInvalid, "R-G2", "82", ""},
		{"visa no CDCVM", func() cloud.Tap {
			tags, ac := r.luk(t, ki(3), false)
			return cloud.Tap{Card: visaCard, Tags: tags, AC: ac}
		}, cloud.TapCardholderNotVerified, "R-S2e", "55", "phone-2"},
		{"mc IAD on a visa card", func() cloud.Tap {
			tags, ac := r.suk(t, 1, "2468")
			return cloud.Tap{Card: visaCard, Tags: tags, AC: ac}
		}, cloud.TapIADInvalid, "R-G2", "30", ""},
		{"mc ok", func() cloud.Tap {
			tags, ac := r.suk(t, 1, "2468")
			return cloud.Tap{Card: mcCard, Tags: tags, AC: ac}
		}, "", "", "", "phone-1"},
		{"mc wrong PIN", func() cloud.Tap {
			tags, ac := r.suk(t, 2, "1357")
			return cloud.Tap{Card: mcCard, Tags: tags, AC: ac}
		}, cloud.TapCardholderNotVerified, "R-S2e", "55", "phone-1"},
		{"mc single use", func() cloud.Tap {
			tags, ac := r.suk(t, 2, "2468")
			return cloud.Tap{Card: mcCard, Tags: tags, AC: ac}
		}, cloud.TapKeyUsed, "R-S5b", "82", ""},
		{"mc altered MD", func() cloud.Tap {
			tags, ac := r.suk(t, 3, "2468")
			iad := append([]byte(nil), tags[0x9F10]...)
			iad[7] ^= 1
			tags[0x9F10] = iad
			return cloud.Tap{Card: mcCard, Tags: tags, AC: ac}
		}, cloud.TapMDInvalid, "R-G2", "82", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := r.v.Verify(tc.tap())
			if tc.reason == "" {
				require.NoError(t, err)
				require.True(t, v.CardholderVerified)
			} else {
				require.ErrorIs(t, err, cloud.ErrTap)
				require.ErrorIs(t, err, &cloud.TapError{Reason: tc.reason})
				require.Equal(t, tc.rule, tc.reason.Requirement())
				require.Equal(t, tc.code, tc.reason.ResponseCode())
				require.False(t, v.CardholderVerified)
			}
			require.Equal(t, tc.device, v.DeviceID)
		})
	}

	// R-C1: a suspended phone's key, and keys past their time.
	require.NoError(t, r.ledger.SuspendDevice("card-1", "phone-1"))
	require.True(t, r.ledger.Suspended("card-1", "phone-1"))
	tags, ac := r.luk(t, ki(4), true)
	_, err := r.v.Verify(cloud.Tap{Card: visaCard, Tags: tags, AC: ac})
	require.ErrorIs(t, err, &cloud.TapError{Reason: cloud.TapDeviceSuspended})
	r.now = at.Add(25 * time.Hour)
	require.NoError(t, r.ledger.IssueLUK("card-1", "phone-2", ki(5), 1))
	tags, ac = r.luk(t, ki(5), true)
	_, err = r.v.Verify(cloud.Tap{Card: visaCard, Tags: tags, AC: ac})
	require.ErrorIs(t, err, &cloud.TapError{Reason: cloud.TapKeyExpired})
	require.Len(t, r.ledger.Keys("card-1"), 9)
}

// A ledger snapshot read back from disk: any bytes restore or are refused
// with ErrLedger, and a refused one changes nothing.
func FuzzLedgerRestore(f *testing.F) {
	l := cloud.NewLedger(func() time.Time { return at })
	ki, _ := emvcloud.NewKeyIndex(at, 3)
	_ = l.IssueLUK("card-1", "phone-1", ki, 1)
	_ = l.IssueSUK("card-1", "phone-1", 7)
	_ = l.SuspendDevice("card-1", "phone-2")
	snap, err := l.Snapshot()
	require.NoError(f, err)
	f.Add(snap)
	f.Add([]byte(`{"keys":[{"kind":"suk","cardRef":"c","deviceId":"d","atc":1}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m := cloud.NewLedger(func() time.Time { return at })
		require.NoError(t, m.Restore(snap))
		if err := m.Restore(b); err != nil {
			require.ErrorIs(t, err, cloud.ErrLedger)
			require.Len(t, m.Keys("card-1"), 2)
		}
	})
}
