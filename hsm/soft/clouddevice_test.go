package soft_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/cloud"
	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/devicekey"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/hsm/soft"
)

// The keys a phone unwraps are the limited-use keys derived step by step
// from the primitives, and another phone cannot unwrap them (R-S3f).
func TestExportLUKsToDevice(t *testing.T) {
	m, err := soft.Open(soft.Config{LMK: keys.MustHex(keys.AES, "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F")})
	require.NoError(t, err)
	defer m.Close()
	imkKey := keys.MustHex(keys.TDES, "0123456789ABCDEFFEDCBA9876543210")
	imk, err := m.ImportKey("issuer/cloud-imk", hsm.UsageIMKAC, imkKey)
	require.NoError(t, err)
	phone, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	at := time.Date(2026, 3, 15, 10, 0, 0, 0, time.UTC)
	ki0, err := cloud.NewKeyIndex(at, 0)
	require.NoError(t, err)
	ki1, err := cloud.NewKeyIndex(at, 1)
	require.NoError(t, err)
	const pan, psn = "4761739001010010", "00"

	got, err := m.ExportLUKsToDevice(imk, pan, psn, 7, []cloud.KeyIndex{ki0, ki1}, &phone.PublicKey)
	require.NoError(t, err)
	require.Len(t, got, 2)
	mk, err := cryptogram.DeriveICCMK(cryptogram.OptionA, imkKey, pan, psn)
	require.NoError(t, err)
	for i, ki := range []cloud.KeyIndex{ki0, ki1} {
		want, err := cloud.DeriveLUK(mk, 7, ki)
		require.NoError(t, err)
		require.Equal(t, ki.String(), got[i].KeyIndex)
		require.Equal(t, want.KCVHex(), got[i].KCV)
		luk, err := devicekey.UnwrapChecked(phone, keys.TDES, got[i].Wrapped, got[i].KCV)
		require.NoError(t, err)
		require.Equal(t, want.Bytes(), luk.Bytes())
		_, err = devicekey.Unwrap(other, keys.TDES, got[i].Wrapped)
		require.Error(t, err)
	}

	for _, tc := range []struct {
		name string
		kis  []cloud.KeyIndex
		dev  *ecdsa.PublicKey
	}{
		{"no device", []cloud.KeyIndex{ki0}, nil},
		{"no keys", nil, &phone.PublicKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := m.ExportLUKsToDevice(imk, pan, psn, 7, tc.kis, tc.dev)
			require.ErrorIs(t, err, hsm.ErrInput)
		})
	}
}

// The pairs a phone unwraps are SK_MD and the PIN-masked SK_UMD computed
// step by step; the right PIN unlocks SK_UMD, and the module refuses a
// batch made of one master key twice.
func TestExportSUKsToDevice(t *testing.T) {
	m, err := soft.Open(soft.Config{LMK: keys.MustHex(keys.AES, "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F")})
	require.NoError(t, err)
	defer m.Close()
	mdKey := keys.MustHex(keys.TDES, "0123456789ABCDEFFEDCBA9876543210")
	umdKey := keys.MustHex(keys.TDES, "5198E0086E1AA2B96D024958209E3213")
	md, err := m.ImportKey("issuer/mc-md", hsm.UsageIMKAC, mdKey)
	require.NoError(t, err)
	umd, err := m.ImportKey("issuer/mc-umd", hsm.UsageIMKAC, umdKey)
	require.NoError(t, err)
	phone, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	const pan, psn, tur = "5204740000009997", "00", "tur-1"
	salt := []byte("saltsaltsalt")

	got, err := m.ExportSUKsToDevice(md, umd, pan, psn, 7, 2, "2468", salt, tur, &phone.PublicKey)
	require.NoError(t, err)
	require.Len(t, got, 2)
	mkMD, err := cryptogram.DeriveICCMK(cryptogram.OptionA, mdKey, pan, psn)
	require.NoError(t, err)
	mkUMD, err := cryptogram.DeriveICCMK(cryptogram.OptionA, umdKey, pan, psn)
	require.NoError(t, err)
	for i, w := range got {
		require.Equal(t, uint16(7+i), w.ATC)
		wantMD, wantUMD, err := cloud.SessionKeys(mkMD, mkUMD, w.ATC)
		require.NoError(t, err)
		skMD, err := devicekey.UnwrapChecked(phone, keys.TDES, w.MDWrapped, w.MDKCV)
		require.NoError(t, err)
		require.Equal(t, wantMD.Bytes(), skMD.Bytes())
		suk, err := devicekey.UnwrapChecked(phone, keys.TDES, w.SUKWrapped, w.SUKKCV)
		require.NoError(t, err)
		skUMD, err := cloud.UnlockSUK(suk, "2468", salt, tur)
		require.NoError(t, err)
		require.Equal(t, wantUMD.Bytes(), skUMD.Bytes())
		require.NotEqual(t, wantUMD.KCVHex(), w.SUKKCV)
	}
	_, err = m.ExportSUKsToDevice(md, md, pan, psn, 7, 2, "2468", salt, tur, &phone.PublicKey)
	require.ErrorIs(t, err, hsm.ErrInput)
	_, err = m.ExportSUKsToDevice(md, umd, pan, psn, 7, 2, "24", salt, tur, &phone.PublicKey)
	require.ErrorIs(t, err, hsm.ErrInput)
	_, err = m.ExportSUKsToDevice(md, umd, pan, psn, 0xFFFF, 2, "2468", salt, tur, &phone.PublicKey)
	require.ErrorIs(t, err, hsm.ErrInput)
}
