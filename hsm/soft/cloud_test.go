package soft_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/cloud"
	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/hsm/keyblock"
)

// The known answers of emv/cloud (kat_test.go there, computed step by step
// from crypto/des and crypto/hmac), reproduced through the module boundary.
const (
	cloudIMKUMD  = "FEDCBA9876543210F1E2D3C4B5A69788"
	cloudPAN     = "43219876543210987"
	cloudKI      = "5123407"
	cloudAPI     = 3
	cloudLUK     = "468A76C840D0234C9E4F072CF2F1195E"
	cloudVisaAC  = "6326DB4510757A67"
	cloudVisaIAD = "0AC10103A00000051234070000000000"
	cloudSKMD    = "13B629FB31DC4F15E0AB92C4311534CB"
	cloudMCAC    = "124135779495827F"
	cloudMCIAD   = "0AC20103A000005505425F0000000000"
	cloudPIN     = "2468"
	cloudSalt    = "0001020304050607"
	cloudTUR     = "DWSPMC000000000132d72d4fcb2f4136a0532d3093ff1a45"
	cloudSUK     = "05732CDC95DF5C5CB18107E0680707E3"
	cloudWrongAC = "0C7F8E772D2A5A58" // 9F26 of the phone given PIN 2469
	cloudKEK     = "8E1F6A0C3B5D7E9F1A2B3C4D5E6F70819A8B7C6D5E4F30211203F4E5D6C7B8A9"
)

func cloudTags(t testing.TB, iad string) cryptogram.Values {
	return cryptogram.Values{
		0x9F02: h(t, "000000012500"), 0x9F03: h(t, "000000000000"), 0x9F1A: h(t, "0158"),
		0x95: h(t, "0000008000"), 0x5F2A: h(t, "0901"), 0x9A: h(t, "250314"), 0x9C: h(t, "00"),
		0x9F37: h(t, "0BADCAFE"), 0x82: h(t, "1980"), 0x9F36: h(t, "0042"), 0x9F10: h(t, iad),
	}
}

type cloudFixture struct {
	fixture
	imk, imkUMD, kek, zpk, aesIMK hsm.Handle
	kekKey                        keys.Key
}

func newCloudHSM(t *testing.T) cloudFixture {
	f := newHSM(t, "")
	return cloudFixture{
		fixture: f,
		imk:     mustImport(t, f.hsm, "iss/imk-md", hsm.UsageIMKAC, keys.TDES, katIMK),
		imkUMD:  mustImport(t, f.hsm, "iss/imk-umd", hsm.UsageIMKAC, keys.TDES, cloudIMKUMD),
		kek:     mustImport(t, f.hsm, "phone/transport", hsm.UsageKEK, keys.AES, cloudKEK),
		zpk:     mustImport(t, f.hsm, "zone/zpk", hsm.UsageZPK, keys.TDES, cloudIMKUMD),
		aesIMK:  mustImport(t, f.hsm, "iss/imk-aes", hsm.UsageIMKAC, keys.AES, cloudKEK[:32]),
		kekKey:  keys.MustHex(keys.AES, cloudKEK),
	}
}

func cloudKeyIndex(t testing.TB) cloud.KeyIndex {
	ki, err := cloud.ParseKeyIndex(cloudKI)
	require.NoError(t, err)
	return ki
}

func TestCloudLUKKnownAnswer(t *testing.T) {
	f := newCloudHSM(t)
	ki := cloudKeyIndex(t)
	w, err := f.hsm.ExportLUK(f.imk, cloudPAN, "00", cloudAPI, ki, f.kek)
	require.NoError(t, err)
	require.Equal(t, cloudKI, w.KeyIndex)
	require.NotContains(t, w.String(), cloudLUK)

	// The phone opens the block: the known LUK, bound to its key index.
	b, err := keyblock.Open(f.kekKey, w.Block)
	require.NoError(t, err)
	require.Equal(t, hsm.UsageSessionAC, b.Usage)
	require.Equal(t, uint32(5123407), b.Context)
	require.Equal(t, cloudLUK, hx(b.Key.Bytes()))
	require.Equal(t, b.Key.KCVHex(), w.KCV)

	// The library from the clear keys gives the same.
	mk, err := cryptogram.DeriveICCMK(cryptogram.OptionA, keys.MustHex(keys.TDES, katIMK), cloudPAN, "00")
	require.NoError(t, err)
	luk, err := cloud.DeriveLUK(mk, cloudAPI, ki)
	require.NoError(t, err)
	require.True(t, luk.Equal(b.Key))
	ac, err := cloud.GenerateLUKAC(b.Key, cloudTags(t, cloudVisaIAD))
	require.NoError(t, err)
	require.Equal(t, cloudVisaAC, hx(ac))

	require.NoError(t, f.hsm.VerifyLUKCryptogram(f.imk, cloudPAN, "00", cloudAPI, ki, cloudTags(t, cloudVisaIAD), h(t, cloudVisaAC)))
	require.NotContains(t, strings.ToUpper(f.log.String()), cloudLUK)
}

func TestCloudLUKRefusals(t *testing.T) {
	f := newCloudHSM(t)
	ki := cloudKeyIndex(t)
	other, err := cloud.ParseKeyIndex("5123408")
	require.NoError(t, err)
	tags := cloudTags(t, cloudVisaIAD)
	tests := []struct {
		name string
		imk  hsm.Handle
		pan  string
		api  uint16
		ki   cloud.KeyIndex
		tags cryptogram.Values
		ac   string
		want error
	}{
		{"another key index expected", f.imk, cloudPAN, cloudAPI, other, tags, cloudVisaAC, cloud.ErrKeyIndex},
		{"another account parameters index", f.imk, cloudPAN, cloudAPI + 1, ki, tags, cloudVisaAC, hsm.ErrVerify},
		{"another token", f.imk, "43219876543210988", cloudAPI, ki, tags, cloudVisaAC, hsm.ErrVerify},
		{"another ATC", f.imk, cloudPAN, cloudAPI, ki, with(tags, 0x9F36, h(t, "0043")), cloudVisaAC, hsm.ErrVerify},
		{"cryptogram altered", f.imk, cloudPAN, cloudAPI, ki, tags, "6326DB4510757A66", hsm.ErrVerify},
		{"mc-cloud IAD", f.imk, cloudPAN, cloudAPI, ki, with(tags, 0x9F10, h(t, cloudMCIAD)), cloudVisaAC, hsm.ErrInput},
		{"bad PAN", f.imk, "4321X", cloudAPI, ki, tags, cloudVisaAC, hsm.ErrInput},
		{"a zone PIN key", f.zpk, cloudPAN, cloudAPI, ki, tags, cloudVisaAC, hsm.ErrUsage},
		{"an AES issuer key", f.aesIMK, cloudPAN, cloudAPI, ki, tags, cloudVisaAC, hsm.ErrKeyType},
		{"no key", hsm.Handle{}, cloudPAN, cloudAPI, ki, tags, cloudVisaAC, hsm.ErrUnknownKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := f.hsm.VerifyLUKCryptogram(tc.imk, tc.pan, "00", tc.api, tc.ki, tc.tags, h(t, tc.ac))
			require.ErrorIs(t, err, tc.want)
		})
	}
	t.Run("key index mismatch is a verification failure", func(t *testing.T) {
		err := f.hsm.VerifyLUKCryptogram(f.imk, cloudPAN, "00", cloudAPI, other, tags, h(t, cloudVisaAC))
		require.ErrorIs(t, err, hsm.ErrVerify)
	})
	t.Run("export under a key that is not a KEK", func(t *testing.T) {
		_, err := f.hsm.ExportLUK(f.imk, cloudPAN, "00", cloudAPI, ki, f.zpk)
		require.ErrorIs(t, err, hsm.ErrUsage)
	})
	t.Run("export of a bad key index", func(t *testing.T) {
		_, err := f.hsm.ExportLUK(f.imk, cloudPAN, "00", cloudAPI, cloud.KeyIndex{Counter: 100}, f.kek)
		require.ErrorIs(t, err, hsm.ErrInput)
	})
}

func with(v cryptogram.Values, tag uint32, val []byte) cryptogram.Values {
	out := cryptogram.Values{}
	for k, x := range v {
		out[k] = x
	}
	out[tag] = val
	return out
}

func TestCloudMCKnownAnswer(t *testing.T) {
	f := newCloudHSM(t)
	ws, err := f.hsm.ExportSUKs(f.imk, f.imkUMD, cloudPAN, "00", 0x0041, 3, cloudPIN, h(t, cloudSalt), cloudTUR, f.kek)
	require.NoError(t, err)
	require.Len(t, ws, 3)
	w := ws[1]
	require.Equal(t, uint16(0x0042), w.ATC)

	md, err := keyblock.Open(f.kekKey, w.MDBlock)
	require.NoError(t, err)
	require.Equal(t, uint32(0x42), md.Context)
	require.Equal(t, cloudSKMD, hx(md.Key.Bytes()))
	require.Equal(t, md.Key.KCVHex(), w.MDKCV)
	suk, err := keyblock.Open(f.kekKey, w.SUKBlock)
	require.NoError(t, err)
	require.Equal(t, cloudSUK, hx(suk.Key.Bytes()))
	require.Equal(t, suk.Key.KCVHex(), w.SUKKCV)

	for _, tc := range []struct {
		pin  string
		ac   string
		want error
	}{{cloudPIN, cloudMCAC, nil}, {"2469", cloudWrongAC, cloud.ErrUMDMismatch}} {
		// The phone.
		k, err := cloud.UnlockSUK(suk.Key, tc.pin, h(t, cloudSalt), cloudTUR)
		require.NoError(t, err)
		ac, iad, err := cloud.GenerateMC(md.Key, k, cloudTags(t, cloudMCIAD))
		require.NoError(t, err)
		require.Equal(t, tc.ac, hx(ac))
		require.Equal(t, cloudMCIAD, hx(iad))
		// The issuer, through the module.
		v, err := f.hsm.VerifyMCCryptograms(f.imk, f.imkUMD, cloudPAN, "00", cloudTags(t, hx(iad)), ac)
		require.True(t, v.MD)
		if tc.want == nil {
			require.NoError(t, err)
			require.True(t, v.CardholderVerified())
		} else {
			require.ErrorIs(t, err, hsm.ErrVerify)
			require.ErrorIs(t, err, tc.want)
			require.False(t, v.CardholderVerified())
		}
	}
	log := strings.ToUpper(f.log.String())
	for _, secret := range []string{cloudSKMD, cloudSUK, cloudPIN + `"`} {
		require.NotContains(t, log, secret)
	}
}

func TestCloudMCRefusals(t *testing.T) {
	f := newCloudHSM(t)
	tags := cloudTags(t, cloudMCIAD)
	tests := []struct {
		name        string
		md, umd     hsm.Handle
		tags        cryptogram.Values
		ac          string
		want, cause error
		mdOK        bool
	}{
		{"wrong PIN", f.imk, f.imkUMD, tags, cloudWrongAC, hsm.ErrVerify, cloud.ErrUMDMismatch, true},
		{"keys swapped", f.imkUMD, f.imk, tags, cloudMCAC, hsm.ErrVerify, cloud.ErrMDMismatch, false},
		{"another ATC", f.imk, f.imkUMD, with(tags, 0x9F36, h(t, "0043")), cloudMCAC, hsm.ErrVerify, cloud.ErrMDMismatch, false},
		{"MD altered", f.imk, f.imkUMD, with(tags, 0x9F10, h(t, "0AC20103A000005505425E0000000000")), cloudMCAC, hsm.ErrVerify, cloud.ErrMDMismatch, false},
		{"visa-cloud IAD", f.imk, f.imkUMD, with(tags, 0x9F10, h(t, cloudVisaIAD)), cloudMCAC, hsm.ErrInput, cloud.ErrIAD, false},
		{"a zone PIN key", f.imk, f.zpk, tags, cloudMCAC, hsm.ErrUsage, hsm.ErrUsage, false},
		{"an AES issuer key", f.aesIMK, f.imkUMD, tags, cloudMCAC, hsm.ErrKeyType, hsm.ErrKeyType, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := f.hsm.VerifyMCCryptograms(tc.md, tc.umd, cloudPAN, "00", tc.tags, h(t, tc.ac))
			require.ErrorIs(t, err, tc.want)
			require.ErrorIs(t, err, tc.cause)
			require.Equal(t, tc.mdOK, v.MD)
			require.False(t, v.CardholderVerified())
		})
	}
	salt := h(t, cloudSalt)
	exports := []struct {
		name      string
		md, umd   hsm.Handle
		first     uint16
		n         int
		pin, tur  string
		salt      []byte
		transport hsm.Handle
		want      error
	}{
		{"PIN of 3 digits", f.imk, f.imkUMD, 1, 1, "246", cloudTUR, salt, f.kek, hsm.ErrInput},
		{"short salt", f.imk, f.imkUMD, 1, 1, cloudPIN, cloudTUR, salt[:4], f.kek, hsm.ErrInput},
		{"no token reference", f.imk, f.imkUMD, 1, 1, cloudPIN, "", salt, f.kek, hsm.ErrInput},
		{"no keys", f.imk, f.imkUMD, 1, 0, cloudPIN, cloudTUR, salt, f.kek, hsm.ErrInput},
		{"past ATC FFFF", f.imk, f.imkUMD, 0xFFFF, 2, cloudPIN, cloudTUR, salt, f.kek, hsm.ErrInput},
		{"one key for both", f.imk, f.imk, 1, 1, cloudPIN, cloudTUR, salt, f.kek, hsm.ErrInput},
		{"transport not a KEK", f.imk, f.imkUMD, 1, 1, cloudPIN, cloudTUR, salt, f.zpk, hsm.ErrUsage},
	}
	for _, tc := range exports {
		t.Run("export: "+tc.name, func(t *testing.T) {
			_, err := f.hsm.ExportSUKs(tc.md, tc.umd, cloudPAN, "00", tc.first, tc.n, tc.pin, tc.salt, tc.tur, tc.transport)
			require.ErrorIs(t, err, tc.want)
		})
	}
}
