package scp03_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/mac"
	"github.com/tapsim/tapsim/emv/scp03"
)

// The PRF of the KDF is AES-CMAC; RFC 4493 section 4, example 2 anchors it.
func TestPRFIsAESCMAC(t *testing.T) {
	k := keys.MustHex(keys.AES, "2b7e151628aed2a6abf7158809cf4f3c")
	got, err := mac.CMAC(k, h("6bc1bee22e409f96e93d7e117393172a"))
	require.NoError(t, err)
	require.Equal(t, h("070a16b46b4d4144f79bdd9dd04a287c"), got)
}

// The fixed input of one iteration, byte by byte (Amendment D 4.1.5).
func TestDerivationData(t *testing.T) {
	ctx := h("b13e5f938fc108c4 3eb51047495b249f")
	for _, tc := range []struct {
		constant byte
		l        int
		i        byte
		want     string
	}{
		{scp03.ConstSENC, 128, 1, "0000000000000000000000 04 00 0080 01"},
		{scp03.ConstSMAC, 192, 2, "0000000000000000000000 06 00 00C0 02"},
		{scp03.ConstSRMAC, 256, 1, "0000000000000000000000 07 00 0100 01"},
		{scp03.ConstCardCryptogram, 64, 1, "0000000000000000000000 00 00 0040 01"},
		{scp03.ConstHostCryptogram, 128, 1, "0000000000000000000000 01 00 0080 01"},
		{scp03.ConstCardChallenge, 64, 1, "0000000000000000000000 02 00 0040 01"},
	} {
		got := scp03.DerivationData(tc.constant, ctx, tc.l, tc.i)
		require.Equal(t, append(h(tc.want), ctx...), got)
	}
}

// KDF against a direct CMAC over hand-built derivation data: one block for
// L = 128, two concatenated blocks (i = 1, 2) cut to 192 and 256 bits.
func TestKDFStepByStep(t *testing.T) {
	ctx := h("b13e5f938fc108c4 3eb51047495b249f")
	label := func(c byte) []byte { return append(make([]byte, 11), c) }
	data := func(c byte, l string, i byte) []byte {
		d := append(label(c), 0x00)
		d = append(d, h(l)...)
		d = append(d, i)
		return append(d, ctx...)
	}
	k := keys.MustHex(keys.AES, "000102030405060708090a0b0c0d0e0f")
	cm := func(d []byte) []byte {
		b, err := mac.CMAC(k, d)
		require.NoError(t, err)
		return b
	}

	got, err := scp03.KDF(k, 0x04, ctx, 128)
	require.NoError(t, err)
	require.Equal(t, cm(data(0x04, "0080", 1)), got)

	got, err = scp03.KDF(k, 0x06, ctx, 192)
	require.NoError(t, err)
	require.Equal(t, append(cm(data(0x06, "00C0", 1)), cm(data(0x06, "00C0", 2))...)[:24], got)

	got, err = scp03.KDF(k, 0x07, ctx, 256)
	require.NoError(t, err)
	require.Equal(t, append(cm(data(0x07, "0100", 1)), cm(data(0x07, "0100", 2))...), got)

	got, err = scp03.KDF(k, 0x00, ctx, 64)
	require.NoError(t, err)
	require.Equal(t, cm(data(0x00, "0040", 1))[:8], got)

	// L is part of the input: a shorter output is not a prefix of a longer.
	long, err := scp03.KDF(k, 0x04, ctx, 256)
	require.NoError(t, err)
	short, err := scp03.KDF(k, 0x04, ctx, 128)
	require.NoError(t, err)
	require.NotEqual(t, long[:16], short)
}

// An L that is not a whole number of bytes keeps the leftmost bits.
func TestKDFPartialByte(t *testing.T) {
	k := keys.MustHex(keys.AES, "404142434445464748494A4B4C4D4E4F")
	got, err := scp03.KDF(k, 0x02, h("0000010102030405"), 12)
	require.NoError(t, err)
	require.Len(t, got, 2)
	d := scp03.DerivationData(0x02, h("0000010102030405"), 12, 1)
	full, err := mac.CMAC(k, d)
	require.NoError(t, err)
	require.Equal(t, full[0], got[0])
	require.Equal(t, full[1]&0xF0, got[1])
}

func TestKDFErrors(t *testing.T) {
	aes := keys.MustHex(keys.AES, "404142434445464748494A4B4C4D4E4F")
	tdes := keys.MustHex(keys.TDES, "404142434445464748494A4B4C4D4E4F")
	_, err := scp03.KDF(tdes, 0x04, nil, 128)
	require.ErrorIs(t, err, scp03.ErrKey)
	require.NotContains(t, err.Error(), "4041424344")
	_, err = scp03.KDF(keys.Key{}, 0x04, nil, 128)
	require.ErrorIs(t, err, scp03.ErrKey)
	for _, l := range []int{0, -8, scp03.MaxKDFBits + 1} {
		_, err = scp03.KDF(aes, 0x04, nil, l)
		require.ErrorIs(t, err, scp03.ErrLength, "L=%d", l)
	}
	got, err := scp03.KDF(aes, 0x04, nil, scp03.MaxKDFBits)
	require.NoError(t, err)
	require.Len(t, got, scp03.MaxKDFBits/8)
}
