package cryptogram_test

import (
	"crypto/aes"
	"crypto/des"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/mac"
)

// Shared known answer: EMV common session key, MK 0123..3210, ATC 001C.
func TestCommonSessionKeyKnownAnswer(t *testing.T) {
	mk := keys.MustHex(keys.TDES, "0123456789ABCDEFFEDCBA9876543210")
	sk, err := cryptogram.SessionKey(cryptogram.SessionEMV, mk, h("001C"), nil)
	require.NoError(t, err)
	require.Equal(t, "E9FB384AF807B940FEDCEA613461B0C4", hx(sk.Bytes()))

	// The same through the general function with R = ATC || 00 x 6.
	sk2, err := cryptogram.DeriveSessionKey(mk, h("001C000000000000"))
	require.NoError(t, err)
	require.True(t, sk.Equal(sk2))
}

func tdesBlock(t *testing.T, key []byte) func([]byte) []byte {
	t.Helper()
	full := append(append([]byte{}, key...), key[:8]...)
	c, err := des.NewTripleDESCipher(full)
	require.NoError(t, err)
	return func(in []byte) []byte {
		out := make([]byte, 8)
		c.Encrypt(out, in)
		return out
	}
}

// The two halves of a TDES session key, step by step (R-G4: each ATC gives
// a fresh key).
func TestSessionKeyHalves(t *testing.T) {
	mkb := h("0123456789ABCDEFFEDCBA9876543210")
	enc := tdesBlock(t, mkb)
	mk := keys.MustNew(keys.TDES, mkb)

	t.Run("EMV common session key", func(t *testing.T) {
		sk, err := cryptogram.SessionKey(cryptogram.SessionEMV, mk, h("1234"), nil)
		require.NoError(t, err)
		left := keys.OddParity(enc(h("1234F00000000000")))
		right := keys.OddParity(enc(h("12340F0000000000")))
		require.Equal(t, left, sk.Bytes()[:8])
		require.Equal(t, right, sk.Bytes()[8:])
	})
	t.Run("Mastercard session key with UN", func(t *testing.T) {
		sk, err := cryptogram.SessionKey(cryptogram.SessionMastercard, mk, h("001C"), h("ABCDEF12"))
		require.NoError(t, err)
		// R = ATC || 00 00 || UN; third byte F0 for the left half, 0F for the right.
		require.Equal(t, keys.OddParity(enc(h("001CF000ABCDEF12"))), sk.Bytes()[:8])
		require.Equal(t, keys.OddParity(enc(h("001C0F00ABCDEF12"))), sk.Bytes()[8:])
	})
	t.Run("each ATC its own key", func(t *testing.T) {
		a, err := cryptogram.SessionKey(cryptogram.SessionEMV, mk, h("0001"), nil)
		require.NoError(t, err)
		b, err := cryptogram.SessionKey(cryptogram.SessionEMV, mk, h("0002"), nil)
		require.NoError(t, err)
		require.False(t, a.Equal(b))
	})
	t.Run("none is the master key", func(t *testing.T) {
		sk, err := cryptogram.SessionKey(cryptogram.SessionNone, mk, h("0001"), nil)
		require.NoError(t, err)
		require.True(t, sk.Equal(mk))
	})
}

// Mastercard session key cross-checked with values published with pyemv's
// HSM-checked tests: ICC MK from IMK 0123..3210, PAN 1234567890123456, PSN 00
// (KCV BAB0...), ATC 001C, UN ABCDEF12 gives a session key of KCV 2FD5...,
// whose ARQC over that test's data is 18932FECA2D84326 and whose ARPC (method
// 1, ARC 0000) is 4DF171A49396C363.
func TestMastercardSessionKeyCrossCheck(t *testing.T) {
	imk := keys.MustHex(keys.TDES, "0123456789ABCDEFFEDCBA9876543210")
	mk, err := cryptogram.DeriveICCMK(cryptogram.OptionA, imk, "1234567890123456", "00")
	require.NoError(t, err)
	require.Equal(t, "BAB0", mk.KCVHex()[:4])

	sk, err := cryptogram.SessionKey(cryptogram.SessionMastercard, mk, h("001C"), h("ABCDEF12"))
	require.NoError(t, err)
	require.Equal(t, "2FD5", sk.KCVHex()[:4])

	data := h("000000009999 000000000000 0124 8000000000 0124 209906 00 ABCDEF12 1800 001C" +
		"1501850440B100000000B00000000000000000000000")
	arqc, err := cryptogram.ComputeAC(sk, data, mac.Method2)
	require.NoError(t, err)
	require.Equal(t, "18932FECA2D84326", hx(arqc))

	arpc, err := cryptogram.ARPCMethod1(sk, arqc, h("0000"))
	require.NoError(t, err)
	require.Equal(t, "4DF171A49396C363", hx(arpc))
}

// AES common session keys (EMV Book 2 A1.3.1): for AES-128 (k = 8n) the key
// is AES(MK)[R] with R = ATC || 00 x 14; for AES-192/256 (8n < k <= 16n) the
// leftmost k bits of AES(MK)[F1] || AES(MK)[F2], F1/F2 being R with its third
// byte set to F0/0F. Checked against crypto/aes directly.
func TestAESSessionKey(t *testing.T) {
	all := h("2B7E151628AED2A6ABF7158809CF4F3C762E7160F38B4DA56A784D9045190CFE")
	atc := h("0A1B")
	for _, n := range []int{16, 24, 32} {
		c, err := aes.NewCipher(all[:n])
		require.NoError(t, err)
		enc := func(in []byte) []byte {
			out := make([]byte, 16)
			c.Encrypt(out, in)
			return out
		}
		r := append(append([]byte{}, atc...), make([]byte, 14)...)
		var want []byte
		if n == 16 {
			want = enc(r)
		} else {
			f1 := append([]byte{}, r...)
			f1[2] = 0xF0
			f2 := append([]byte{}, r...)
			f2[2] = 0x0F
			want = append(enc(f1), enc(f2)...)[:n]
		}
		sk, err := cryptogram.SessionKey(cryptogram.SessionEMV, keys.MustNew(keys.AES, all[:n]), atc, nil)
		require.NoError(t, err)
		require.Equal(t, keys.AES, sk.Alg())
		require.Equal(t, want, sk.Bytes(), "AES-%d", n*8)
	}
}

func TestSessionKeyErrors(t *testing.T) {
	tdes := keys.MustHex(keys.TDES, "0123456789ABCDEFFEDCBA9876543210")
	aesKey := keys.MustHex(keys.AES, "0123456789ABCDEFFEDCBA9876543210")
	tests := []struct {
		name    string
		m       cryptogram.SessionMethod
		mk      keys.Key
		atc, un []byte
		err     error
	}{
		{"short ATC", cryptogram.SessionEMV, tdes, h("01"), nil, cryptogram.ErrLength},
		{"long ATC", cryptogram.SessionMastercard, tdes, h("000102"), h("01020304"), cryptogram.ErrLength},
		{"short UN", cryptogram.SessionMastercard, tdes, h("0001"), h("010203"), cryptogram.ErrLength},
		{"Mastercard with AES", cryptogram.SessionMastercard, aesKey, h("0001"), h("01020304"), cryptogram.ErrKey},
		{"triple-length TDES", cryptogram.SessionEMV, keys.MustHex(keys.TDES, "0123456789ABCDEFFEDCBA987654321089ABCDEF01234567"), h("0001"), nil, cryptogram.ErrKey},
		{"single DES", cryptogram.SessionEMV, keys.MustHex(keys.TDES, "0123456789ABCDEF"), h("0001"), nil, cryptogram.ErrKey},
		{"zero key", cryptogram.SessionEMV, keys.Key{}, h("0001"), nil, cryptogram.ErrKey},
		{"zero key, no derivation", cryptogram.SessionNone, keys.Key{}, h("0001"), nil, cryptogram.ErrKey},
		{"unknown method", cryptogram.SessionMethod(0), tdes, h("0001"), nil, cryptogram.ErrMethod},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := cryptogram.SessionKey(tc.m, tc.mk, tc.atc, tc.un)
			require.ErrorIs(t, err, tc.err)
			require.NotContains(t, err.Error(), "0123456789")
		})
	}
	_, err := cryptogram.DeriveSessionKey(tdes, h("0001"))
	require.ErrorIs(t, err, cryptogram.ErrLength)
}

func TestParseSessionMethod(t *testing.T) {
	for in, want := range map[string]cryptogram.SessionMethod{"emv": cryptogram.SessionEMV, "CSK": cryptogram.SessionEMV, "mc": cryptogram.SessionMastercard, "none": cryptogram.SessionNone} {
		got, err := cryptogram.ParseSessionMethod(in)
		require.NoError(t, err)
		require.Equal(t, want, got)
		back, err := cryptogram.ParseSessionMethod(got.String())
		require.NoError(t, err)
		require.Equal(t, got, back)
	}
	_, err := cryptogram.ParseSessionMethod("visa")
	require.ErrorIs(t, err, cryptogram.ErrMethod)
}
