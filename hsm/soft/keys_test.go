package soft_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/hsm/keyblock"
	"github.com/tapsim/tapsim/hsm/soft"
)

const testKEKHex = "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F"

// exportClear reveals a key for a test by exporting it under a KEK whose
// clear value the test knows: the only way out of the module.
func exportClear(t *testing.T, s hsm.KeyManager, hd hsm.Handle) keyblock.Block {
	t.Helper()
	kek, err := s.Lookup("test/kek")
	if errors.Is(err, hsm.ErrUnknownKey) {
		kek = mustImport(t, s, "test/kek", hsm.UsageKEK, keys.AES, testKEKHex)
	}
	w, err := s.ExportKey(hd, kek)
	require.NoError(t, err)
	b, err := keyblock.Open(keys.MustHex(keys.AES, testKEKHex), w)
	require.NoError(t, err)
	return b
}

// R-G5a: keys generated inside the module have odd parity, are never weak,
// differ from one another and carry their usage.
func TestGenerateKey(t *testing.T) {
	f := newHSM(t, "")
	tests := []struct {
		usage hsm.Usage
		alg   keys.Alg
		n     int
	}{
		{hsm.UsageIMKAC, keys.TDES, 16},
		{hsm.UsageIMKAC, keys.AES, 32},
		{hsm.UsageIMKSMI, keys.TDES, 16},
		{hsm.UsageIMKSMC, keys.TDES, 24},
		{hsm.UsageBDK, keys.TDES, 16},
		{hsm.UsageBDK, keys.AES, 16},
		{hsm.UsageZPK, keys.TDES, 16},
		{hsm.UsageZPK, keys.AES, 16},
		{hsm.UsageTPK, keys.TDES, 24},
		{hsm.UsageZAK, keys.TDES, 16},
		{hsm.UsageTAK, keys.AES, 24},
		{hsm.UsagePVK, keys.TDES, 16},
		{hsm.UsageKEK, keys.AES, 32},
	}
	seen := map[string]bool{}
	for i, tc := range tests {
		label := string(tc.usage) + "/" + tc.alg.String() + "/" + string(rune('a'+i))
		hd, err := f.hsm.GenerateKey(label, tc.usage, tc.alg, tc.n)
		require.NoError(t, err, label)
		require.Equal(t, tc.usage, hd.Usage)
		require.Equal(t, tc.alg, hd.Alg)
		require.Equal(t, tc.n, hd.Len)
		require.NotEmpty(t, hd.ID)
		b := exportClear(t, f.hsm, hd)
		require.Equal(t, tc.usage, b.Usage)
		require.Equal(t, hd.KCV, b.Key.KCVHex())
		require.NoError(t, b.Key.CheckWeak())
		if tc.alg == keys.TDES {
			require.True(t, keys.HasOddParity(b.Key.Bytes()), label)
		}
		require.False(t, seen[string(b.Key.Bytes())], "a key drawn twice")
		seen[string(b.Key.Bytes())] = true
	}
}

// A usage takes only the algorithms and lengths that suit it.
func TestUsageAdmission(t *testing.T) {
	f := newHSM(t, "")
	tests := []struct {
		usage hsm.Usage
		alg   keys.Alg
		n     int
		err   error
	}{
		{hsm.UsageKEK, keys.TDES, 16, hsm.ErrKeyType},     // key wrap is AES
		{hsm.UsagePVK, keys.AES, 16, hsm.ErrKeyType},      // Visa PVV is TDES
		{hsm.UsagePVK, keys.TDES, 24, hsm.ErrKeyType},     // double length only
		{hsm.UsageBDK, keys.TDES, 24, hsm.ErrKeyType},     // X9.24-1 BDKs are double length
		{hsm.UsageZPK, keys.TDES, 8, hsm.ErrKeyType},      // no single DES
		{hsm.UsageSessionAC, keys.TDES, 16, hsm.ErrUsage}, // never stored
		{hsm.Usage("CVK2"), keys.TDES, 16, hsm.ErrUsage},  // unknown usage
		{hsm.UsageCVK, keys.TDES, 24, hsm.ErrKeyType},     // Visa CVV: double length only
		{hsm.UsageIMKAC, keys.Alg(9), 16, hsm.ErrKeyType}, // unknown algorithm
		{hsm.UsageIMKAC, keys.AES, 20, hsm.ErrKeyType},    // no such AES key
	}
	for _, tc := range tests {
		_, err := f.hsm.GenerateKey("x", tc.usage, tc.alg, tc.n)
		require.ErrorIs(t, err, tc.err, "%s %v %d", tc.usage, tc.alg, tc.n)
	}
	list, err := f.hsm.List()
	require.NoError(t, err)
	require.Empty(t, list)
}

// R-G5a: weak keys are refused on import; TDES keys are stored with odd
// parity, which changes neither the cipher nor the check value.
func TestImportKey(t *testing.T) {
	f := newHSM(t, "")
	weak := []struct {
		name string
		key  keys.Key
	}{
		{"K1 = K2 (single DES)", keys.MustHex(keys.TDES, "0123456789ABCDEF0123456789ABCDEF")},
		{"weak DES half", keys.MustHex(keys.TDES, "0101010101010101FEDCBA9876543210")},
		{"semi-weak DES half", keys.MustHex(keys.TDES, "01FE01FE01FE01FE0123456789ABCDEF")},
		{"K2 = K3", keys.MustHex(keys.TDES, "0123456789ABCDEFFEDCBA9876543210FEDCBA9876543210")},
		{"all-zero AES", keys.MustNew(keys.AES, make([]byte, 16))},
		{"no key", keys.Key{}},
	}
	for _, w := range weak {
		t.Run(w.name, func(t *testing.T) {
			usage := hsm.UsageZPK
			_, err := f.hsm.ImportKey("weak", usage, w.key)
			require.Error(t, err)
			if !w.key.IsZero() {
				require.ErrorIs(t, err, hsm.ErrWeakKey)
				require.ErrorIs(t, err, keys.ErrWeakKey)
			}
		})
	}

	even := keys.MustHex(keys.TDES, "5CA64B3C22BEC347CA7E6609904BAAED") // not odd parity
	hd, err := f.hsm.ImportKey("pvk", hsm.UsagePVK, even)
	require.NoError(t, err)
	require.Equal(t, even.KCVHex(), hd.KCV)
	b := exportClear(t, f.hsm, hd)
	require.True(t, keys.HasOddParity(b.Key.Bytes()))
	require.True(t, even.WithOddParity().Equal(b.Key))

	_, err = f.hsm.ImportKey("pvk", hsm.UsagePVK, keys.MustHex(keys.TDES, "0123456789ABCDEFFEDCBA9876543210"))
	require.ErrorIs(t, err, hsm.ErrExists)
}

func TestLabels(t *testing.T) {
	f := newHSM(t, "")
	k := keys.MustHex(keys.TDES, "0123456789ABCDEFFEDCBA9876543210")
	for _, bad := range []string{"", "a\nb", "tab\there", string(make([]byte, soft.MaxLabel+1)), "bad\xffutf8"} {
		_, err := f.hsm.ImportKey(bad, hsm.UsageZPK, k)
		require.ErrorIs(t, err, soft.ErrLabel, "%q", bad)
	}
	_, err := f.hsm.ImportKey("acquirer/zpk issuer-1 (2025)", hsm.UsageZPK, k)
	require.NoError(t, err)
}

// Look-up, listing, description and retirement (R-G5c).
func TestLookupListDelete(t *testing.T) {
	f := newHSM(t, "")
	zpk := mustImport(t, f.hsm, "b/zpk", hsm.UsageZPK, keys.TDES, "0123456789ABCDEFFEDCBA9876543210")
	tak, err := f.hsm.GenerateKey("a/tak", hsm.UsageTAK, keys.TDES, 16)
	require.NoError(t, err)

	got, err := f.hsm.Lookup("b/zpk")
	require.NoError(t, err)
	require.Equal(t, zpk, got)
	require.Equal(t, "08D7B4", got.KCV)
	info, err := f.hsm.KeyInfo(hsm.Handle{ID: zpk.ID})
	require.NoError(t, err)
	require.Equal(t, zpk, info)
	list, err := f.hsm.List()
	require.NoError(t, err)
	require.Equal(t, []hsm.Handle{tak, zpk}, list)

	require.NoError(t, f.hsm.DeleteKey(zpk))
	_, err = f.hsm.Lookup("b/zpk")
	require.ErrorIs(t, err, hsm.ErrUnknownKey)
	_, err = f.hsm.TranslatePIN(zpk, make([]byte, 8), zpk, "4012345678909")
	require.ErrorIs(t, err, hsm.ErrUnknownKey)
	require.ErrorIs(t, f.hsm.DeleteKey(zpk), hsm.ErrUnknownKey)
	_, err = f.hsm.KeyInfo(hsm.Handle{})
	require.ErrorIs(t, err, hsm.ErrUnknownKey)

	// The label is free again.
	_, err = f.hsm.ImportKey("b/zpk", hsm.UsageZPK, keys.MustHex(keys.TDES, "89ABCDEF0123456776543210FEDCBA98"))
	require.NoError(t, err)
}

// R-G5e: keys are exchanged wrapped under a KEK, with their usage bound.
func TestExportImportWrapped(t *testing.T) {
	acq := newHSM(t, "")
	iss := newHSM(t, "")
	zmkHex := "1F2E3D4C5B6A79880F1E2D3C4B5A69780F1E2D3C4B5A69781F2E3D4C5B6A7988"
	zmkA := mustImport(t, acq.hsm, "zmk", hsm.UsageKEK, keys.AES, zmkHex)
	zmkI := mustImport(t, iss.hsm, "zmk", hsm.UsageKEK, keys.AES, zmkHex)
	require.Equal(t, zmkA.KCV, zmkI.KCV)

	zpkA, err := acq.hsm.GenerateKey("zpk", hsm.UsageZPK, keys.TDES, 16)
	require.NoError(t, err)
	block, err := acq.hsm.ExportKey(zpkA, zmkA)
	require.NoError(t, err)
	zpkI, err := iss.hsm.ImportWrappedKey("zpk", hsm.UsageZPK, zmkI, block)
	require.NoError(t, err)
	require.Equal(t, zpkA.KCV, zpkI.KCV)
	require.NotEqual(t, zpkA.ID, zpkI.ID)

	// The two modules now share the key: a PIN block made for one is read
	// by the other.
	pvk := mustImport(t, iss.hsm, "pvk", hsm.UsagePVK, keys.TDES, "5CA64B3C22BEC347CA7E6609904BAAED")
	tpk := mustImport(t, acq.hsm, "tpk", hsm.UsageTPK, keys.TDES, "89ABCDEF0123456776543210FEDCBA98")
	blk := encPIN(t, "89ABCDEF0123456776543210FEDCBA98", "2205", "4564320000980369")
	zblk, err := acq.hsm.TranslatePIN(tpk, blk, zpkA, "4564320000980369")
	require.NoError(t, err)
	require.NoError(t, iss.hsm.VerifyPIN(zpkI, zblk, "4564320000980369", pvk, 1, "3856"))

	// The usage travels with the key and cannot be changed on import.
	_, err = iss.hsm.ImportWrappedKey("zak", hsm.UsageZAK, zmkI, block)
	require.ErrorIs(t, err, hsm.ErrUsage)
	// Another KEK cannot open the block.
	other, err := iss.hsm.GenerateKey("other-kek", hsm.UsageKEK, keys.AES, 32)
	require.NoError(t, err)
	_, err = iss.hsm.ImportWrappedKey("zpk2", hsm.UsageZPK, other, block)
	require.ErrorIs(t, err, hsm.ErrKeyBlock)
	// An altered block is refused.
	block[5] ^= 1
	_, err = iss.hsm.ImportWrappedKey("zpk2", hsm.UsageZPK, zmkI, block)
	require.ErrorIs(t, err, hsm.ErrKeyBlock)
	// Only a KEK wraps; a key is not wrapped under itself.
	_, err = acq.hsm.ExportKey(zpkA, zpkA)
	require.ErrorIs(t, err, hsm.ErrUsage)
	_, err = acq.hsm.ExportKey(zmkA, zmkA)
	require.ErrorIs(t, err, hsm.ErrInput)
	_, err = iss.hsm.ImportWrappedKey("zpk3", hsm.UsageZPK, zpkI, block)
	require.ErrorIs(t, err, hsm.ErrUsage)
}

func TestClose(t *testing.T) {
	f := newHSM(t, "")
	zpk := mustImport(t, f.hsm, "zpk", hsm.UsageZPK, keys.TDES, "0123456789ABCDEFFEDCBA9876543210")
	require.NoError(t, f.hsm.Close())
	_, err := f.hsm.KeyInfo(zpk)
	require.ErrorIs(t, err, hsm.ErrClosed)
	_, err = f.hsm.GenerateKey("x", hsm.UsageZPK, keys.TDES, 16)
	require.ErrorIs(t, err, hsm.ErrClosed)
	_, err = f.hsm.List()
	require.ErrorIs(t, err, hsm.ErrClosed)
	_, err = f.hsm.Lookup("zpk")
	require.ErrorIs(t, err, hsm.ErrClosed)
	require.ErrorIs(t, f.hsm.DeleteKey(zpk), hsm.ErrClosed)
	_, err = f.hsm.GenerateMAC(zpk, nil)
	require.ErrorIs(t, err, hsm.ErrClosed)
}

func TestOpenRefusesBadLMK(t *testing.T) {
	for _, k := range []keys.Key{
		{},
		keys.MustHex(keys.AES, "000102030405060708090A0B0C0D0E0F"),
		keys.MustHex(keys.TDES, "0123456789ABCDEFFEDCBA9876543210"),
		keys.MustNew(keys.AES, make([]byte, 32)),
	} {
		_, err := soft.Open(soft.Config{LMK: k})
		require.ErrorIs(t, err, soft.ErrLMK, "%v", k)
	}
}

// R-G5b: printing the module in any form shows no key.
func TestPrintingShowsNoKey(t *testing.T) {
	f := newHSM(t, "")
	mustImport(t, f.hsm, "zpk", hsm.UsageZPK, keys.TDES, zpkHex)
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(format, f.hsm)
		require.Equal(t, "soft HSM (1 keys, LMK KCV "+testLMK.KCVHex()+")", out)
	}
	cfg := soft.Config{LMK: testLMK}
	for _, format := range []string{"%v", "%+v", "%#v"} {
		out := strings.ToUpper(fmt.Sprintf(format, cfg))
		require.NotContains(t, out, hx(testLMK.Bytes()))
		require.Contains(t, out, testLMK.KCVHex())
	}
}
