package mac_test

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/mac"
)

func h(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// RFC 4493 section 4 examples.
func TestCMACRFC4493(t *testing.T) {
	k := keys.MustHex(keys.AES, "2b7e151628aed2a6abf7158809cf4f3c")
	msg := h("6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51 30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710")
	tests := []struct {
		name string
		n    int
		want string
	}{
		{"empty", 0, "bb1d6929e95937287fa37d129b756746"},
		{"16 bytes", 16, "070a16b46b4d4144f79bdd9dd04a287c"},
		{"40 bytes", 40, "dfa66747de9ae63030ca32611497c827"},
		{"64 bytes", 64, "51f0bebf7e3b9d92fc49741779363cfe"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := mac.CMAC(k, msg[:tc.n])
			require.NoError(t, err)
			require.Equal(t, tc.want, hex.EncodeToString(got))
		})
	}
}

// The AC vector of the shared test vectors is MAC algorithm 3 with padding 2.
func TestAlg3KnownAnswer(t *testing.T) {
	sk := keys.MustHex(keys.TDES, "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB")
	data := h("000000002000 000000000000 0124 0000008000 0124 110309 00 3804823E 5800 0001")
	got, err := mac.Alg3(sk, data, mac.Method2)
	require.NoError(t, err)
	require.Equal(t, "3B76CF10FECD8789", strings.ToUpper(hex.EncodeToString(got)))
}

// Algorithm 3 equals full-TDES CBC-MAC when K1 == K2 is avoided: check the
// definition step by step against single DES CBC and the final TDES steps.
func TestAlg3Steps(t *testing.T) {
	kb := h("0123456789ABCDEFFEDCBA9876543210")
	k := keys.MustNew(keys.TDES, kb)
	data := []byte("a message of some length that spans blocks")
	got, err := mac.Alg3(k, data, mac.Method2)
	require.NoError(t, err)

	k1 := keys.MustNew(keys.TDES, kb[:8])
	cbc, err := k1.EncryptCBC(nil, mac.Pad(data, 8, mac.Method2))
	require.NoError(t, err)
	last := cbc[len(cbc)-8:]
	k2 := keys.MustNew(keys.TDES, kb[8:])
	d, err := k2.DecryptECB(last)
	require.NoError(t, err)
	want, err := k1.EncryptECB(d)
	require.NoError(t, err)
	require.Equal(t, want, got)

	// With a 16-byte key whose halves are equal, algorithm 3 is single-DES CBC-MAC.
	same := keys.MustNew(keys.TDES, append(kb[:8:8], kb[:8]...))
	a3, err := mac.Alg3(same, data, mac.Method1)
	require.NoError(t, err)
	a1, err := mac.Alg1(k1, data, mac.Method1)
	require.NoError(t, err)
	require.Equal(t, a1, a3)
}

func TestAlg3RejectsAES(t *testing.T) {
	_, err := mac.Alg3(keys.MustHex(keys.AES, "2b7e151628aed2a6abf7158809cf4f3c"), nil, mac.Method2)
	require.ErrorIs(t, err, mac.ErrKey)
	require.NotContains(t, err.Error(), "2b7e", "error must not show the key")
}

func TestPad(t *testing.T) {
	tests := []struct {
		in   string
		p    mac.Padding
		want string
	}{
		{"", mac.Method1, "0000000000000000"},
		{"01", mac.Method1, "0100000000000000"},
		{"0102030405060708", mac.Method1, "0102030405060708"},
		{"", mac.Method2, "8000000000000000"},
		{"0102030405060708", mac.Method2, "01020304050607088000000000000000"},
		{"01020304050607", mac.Method2, "0102030405060780"},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, strings.ToUpper(hex.EncodeToString(mac.Pad(h(tc.in), 8, tc.p))), "%s method %d", tc.in, tc.p)
	}
}

func TestEqual(t *testing.T) {
	require.True(t, mac.Equal(h("0102"), h("0102")))
	require.False(t, mac.Equal(h("0102"), h("0103")))
	require.False(t, mac.Equal(h("0102"), h("01")))
}

func BenchmarkAlg3(b *testing.B) {
	k := keys.MustHex(keys.TDES, "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB")
	data := make([]byte, 64)
	for b.Loop() {
		_, _ = mac.Alg3(k, data, mac.Method2)
	}
}

// The AES KCV of ANSI X9.24-1:2017 is the CMAC of one zero block, cut to 5 bytes.
func TestKCVIsCMACOfZeroBlock(t *testing.T) {
	k := keys.MustHex(keys.AES, "2b7e151628aed2a6abf7158809cf4f3c")
	c, err := mac.CMAC(k, make([]byte, 16))
	require.NoError(t, err)
	require.Equal(t, c[:5], k.KCV())
}

// Algorithm 3 gives the definition's result for every length of input
// around block boundaries, with both paddings (the whole blocks are chained
// from the input and only the tail is padded).
func TestAlg3EveryLength(t *testing.T) {
	kb := h("0123456789ABCDEFFEDCBA9876543210")
	k := keys.MustNew(keys.TDES, kb)
	k1 := keys.MustNew(keys.TDES, kb[:8])
	k2 := keys.MustNew(keys.TDES, kb[8:])
	data := []byte("a message of some length that spans blocks and a few more")
	for _, p := range []mac.Padding{mac.Method1, mac.Method2} {
		for n := 0; n <= len(data); n++ {
			got, err := mac.Alg3(k, data[:n], p)
			require.NoError(t, err)
			cbc, err := k1.EncryptCBC(nil, mac.Pad(data[:n], 8, p))
			require.NoError(t, err)
			d, err := k2.DecryptECB(cbc[len(cbc)-8:])
			require.NoError(t, err)
			want, err := k1.EncryptECB(d)
			require.NoError(t, err)
			require.Equal(t, want, got, "padding %d, %d bytes", p, n)
		}
	}
}
