package soft_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/devicekey"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm"
)

func phoneKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	return k
}

// R-G5b, R-G5e: the ICC master key the module exports for a phone is the
// one emv/cryptogram derives from the clear IMK by the CVN's option, and
// only the phone's private key opens it.
func TestExportICCMKToDevice(t *testing.T) {
	f := newHSM(t, "")
	tdes := mustImport(t, f.hsm, "iss/imk-ac", hsm.UsageIMKAC, keys.TDES, katIMK)
	aesHex := "000102030405060708090A0B0C0D0E0F"
	aes := mustImport(t, f.hsm, "iss/imk-aes", hsm.UsageIMKAC, keys.AES, aesHex)
	phone := phoneKey(t)
	tests := []struct {
		cvn, pan, psn string
		imk           hsm.Handle
		clear         keys.Key
	}{
		{"visa10", katPAN, "00", tdes, keys.MustHex(keys.TDES, katIMK)},
		{"visa18", katPAN, "01", tdes, keys.MustHex(keys.TDES, katIMK)},
		{"visa22", "4895370012345674", "00", tdes, keys.MustHex(keys.TDES, katIMK)},
		{"mc16", "5413330089020011", "00", tdes, keys.MustHex(keys.TDES, katIMK)},
		{"visa18", "4895370012345678901", "00", tdes, keys.MustHex(keys.TDES, katIMK)}, // 19 digits: option B
		{"aes", "4761739001010010", "01", aes, keys.MustHex(keys.AES, aesHex)},
	}
	for _, tc := range tests {
		t.Run(tc.cvn+"/"+tc.pan, func(t *testing.T) {
			cvn, err := cryptogram.Lookup(tc.cvn)
			require.NoError(t, err)
			want, err := cvn.DeriveMK(tc.clear, tc.pan, tc.psn)
			require.NoError(t, err)
			w, kcv, err := f.hsm.ExportICCMKToDevice(tc.imk, tc.cvn, tc.pan, tc.psn, &phone.PublicKey)
			require.NoError(t, err)
			require.Equal(t, want.KCVHex(), kcv)
			require.NotContains(t, strings.ToUpper(hx(w)), hx(want.Bytes()))
			got, err := devicekey.UnwrapChecked(phone, cvn.Alg, w, kcv)
			require.NoError(t, err)
			require.True(t, got.Equal(want), "unwrapped key is the derived ICC master key")
		})
	}
	// Option B really differs from option A for a long PAN.
	a, err := cryptogram.DeriveICCMK(cryptogram.OptionA, keys.MustHex(keys.TDES, katIMK), "4895370012345678901", "00")
	require.NoError(t, err)
	b, err := cryptogram.DeriveICCMK(cryptogram.OptionB, keys.MustHex(keys.TDES, katIMK), "4895370012345678901", "00")
	require.NoError(t, err)
	require.False(t, a.Equal(b))
}

// Attacks: another phone cannot open the key, an altered blob does not
// open, a wrong check value is caught by the phone.
func TestExportICCMKToDeviceAttacks(t *testing.T) {
	f := newHSM(t, "")
	imk := mustImport(t, f.hsm, "iss/imk-ac", hsm.UsageIMKAC, keys.TDES, katIMK)
	phone, thief := phoneKey(t), phoneKey(t)
	w, kcv, err := f.hsm.ExportICCMKToDevice(imk, "visa22", "4895370012345674", "00", &phone.PublicKey)
	require.NoError(t, err)

	_, err = devicekey.Unwrap(thief, keys.TDES, w)
	require.ErrorIs(t, err, devicekey.ErrWrapped)

	bad := append([]byte(nil), w...)
	bad[len(bad)-1] ^= 0x01
	_, err = devicekey.Unwrap(phone, keys.TDES, bad)
	require.ErrorIs(t, err, devicekey.ErrWrapped)

	other := "00112233"[:len(kcv)]
	_, err = devicekey.UnwrapChecked(phone, keys.TDES, w, other)
	require.ErrorIs(t, err, devicekey.ErrKCV)
}

// Only an IMK-AC key derives ICC master keys; other keys, unknown CVNs,
// bad PANs and missing or foreign device keys are refused, and every
// export, refused or not, is in the audit log without key material.
func TestExportICCMKToDeviceRefusals(t *testing.T) {
	f := newHSM(t, "")
	imk := mustImport(t, f.hsm, "iss/imk-ac", hsm.UsageIMKAC, keys.TDES, katIMK)
	phone := phoneKey(t)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	for _, u := range []hsm.Usage{hsm.UsageIMKSMI, hsm.UsageIMKSMC, hsm.UsageZPK, hsm.UsageKEK, hsm.UsageDEK} {
		alg, hexKey := keys.TDES, "FEDCBA98765432100123456789ABCDEF"
		if u == hsm.UsageKEK || u == hsm.UsageDEK {
			alg = keys.AES
		}
		k := mustImport(t, f.hsm, "iss/"+string(u), u, alg, hexKey)
		_, _, err := f.hsm.ExportICCMKToDevice(k, "visa18", katPAN, "00", &phone.PublicKey)
		require.ErrorIs(t, err, hsm.ErrUsage, "%s", u)
		var ue *hsm.UsageError
		require.ErrorAs(t, err, &ue)
	}
	tests := []struct {
		name   string
		imk    hsm.Handle
		cvn    string
		pan    string
		device *ecdsa.PublicKey
		target error
	}{
		{"unknown key", hsm.Handle{ID: "k00"}, "visa18", katPAN, &phone.PublicKey, hsm.ErrUnknownKey},
		{"unknown CVN", imk, "visa17", katPAN, &phone.PublicKey, hsm.ErrInput},
		{"AES CVN with a TDES IMK", imk, "aes", katPAN, &phone.PublicKey, hsm.ErrKeyType},
		{"bad PAN", imk, "visa18", "12345678901234AB", &phone.PublicKey, hsm.ErrInput},
		{"no device key", imk, "visa18", katPAN, nil, hsm.ErrInput},
		{"P-384 device key", imk, "visa18", katPAN, &p384.PublicKey, hsm.ErrInput},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, kcv, err := f.hsm.ExportICCMKToDevice(tc.imk, tc.cvn, tc.pan, "00", tc.device)
			require.ErrorIs(t, err, tc.target)
			require.Nil(t, w)
			require.Empty(t, kcv)
		})
	}

	_, kcv, err := f.hsm.ExportICCMKToDevice(imk, "visa18", katPAN, "00", &phone.PublicKey)
	require.NoError(t, err)
	var ok, refused int
	for _, line := range strings.Split(strings.TrimSpace(f.log.String()), "\n") {
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rec))
		if rec["op"] != "export-icc-mk-to-device" {
			continue
		}
		switch rec["result"] {
		case "ok":
			ok++
			require.Equal(t, kcv, rec["kcv"])
			tp, err := devicekey.Thumbprint(&phone.PublicKey)
			require.NoError(t, err)
			require.NotEmpty(t, tp)
			require.NotEmpty(t, rec["device_key"])
		case "refused":
			refused++
		}
		require.NotContains(t, line, katPAN)
		require.NotContains(t, line, katIMK)
	}
	require.Equal(t, 1, ok)
	require.Equal(t, 5+len(tests), refused)
}
