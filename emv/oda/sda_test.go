package oda

import (
	"bytes"
	"crypto/sha1"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSSADLayout checks the recovered Signed Static Application Data
// against Book 2 Table 4 and its hash against Table 5.
func TestSSADLayout(t *testing.T) {
	c := chainA(t)
	ipk := c.issuer.PublicKey()
	ssad, err := c.issuer.SignStaticData([2]byte{0xDA, 0xC5}, c.static)
	require.NoError(t, err)
	require.Len(t, ssad, ipk.Size())
	block, err := ipk.recoverBlock(ObjectSSAD, ssad)
	require.NoError(t, err)
	n := len(block)
	require.Equal(t, hx("6A 03 01 DAC5"), block[:5])
	require.Equal(t, bytes.Repeat([]byte{0xBB}, n-26), block[5:n-21], "pad pattern")
	h := sha1.Sum(append(append([]byte(nil), block[1:n-21]...), c.static...))
	require.Equal(t, h[:], block[n-21:n-1])
	require.Equal(t, byte(0xBC), block[n-1])
}

func TestVerifyStaticDataFailures(t *testing.T) {
	c := chainA(t)
	ipk := c.issuer.PublicKey()
	good, err := c.issuer.SignStaticData([2]byte{0xDA, 0xC5}, c.static)
	require.NoError(t, err)
	n := len(good)
	re := func(mutate func(b []byte)) []byte { return resign(t, c.issuer.s, ipk, ObjectSSAD, good, mutate) }
	sealed := func(mutate func(b []byte)) []byte {
		return re(func(b []byte) { mutate(b); reseal(b, c.static) })
	}
	for _, tc := range []struct {
		name   string
		key    PublicKey
		ssad   []byte
		static []byte
		want   error
	}{
		{"flipped byte", ipk, flip(good, 0), c.static, ErrTrailer},
		{"short", ipk, good[1:], c.static, ErrLength},
		{"empty", ipk, nil, c.static, ErrLength},
		{"header", ipk, re(func(b []byte) { b[0] = 0x00 }), c.static, ErrHeader},
		{"trailer", ipk, re(func(b []byte) { b[n-1] = 0x00 }), c.static, ErrTrailer},
		{"format 05", ipk, sealed(func(b []byte) { b[1] = 0x05 }), c.static, ErrFormat},
		{"hash algorithm", ipk, sealed(func(b []byte) { b[2] = 0x02 }), c.static, ErrHashAlg},
		{"DAC changed, hash not", ipk, re(func(b []byte) { b[3] = 0x00 }), c.static, ErrHash},
		{"static data changed", ipk, good, flip(c.static, 3), ErrHash},
		{"static data missing", ipk, good, nil, ErrHash},
		{"ICC key", c.icc.PublicKey(), good, c.static, ErrTrailer},
		{"key too short for the format", PublicKey{Modulus: hx("C5"), Exponent: hx("03")}, hx("01"), c.static, ErrLength},
		{"key without modulus", PublicKey{Exponent: hx("03")}, good, c.static, ErrKeyLength},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := VerifyStaticData(tc.key, tc.ssad, tc.static)
			require.ErrorIs(t, err, tc.want)
			var oe *Error
			require.True(t, errors.As(err, &oe))
			require.Equal(t, ObjectSSAD, oe.Object)
		})
	}
}

func TestSignStaticDataNilIssuer(t *testing.T) {
	var is *Issuer
	_, err := is.SignStaticData([2]byte{}, nil)
	require.ErrorIs(t, err, ErrInvalid)
}
