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

var (
	vectorSK   = keys.MustHex(keys.TDES, "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB")
	vectorData = h("000000002000 000000000000 0124 0000008000 0124 110309 00 3804823E 5800 0001")
)

// Shared known answers for the AC and both ARPC methods (R-G2: integrity by
// a TDEA MAC).
func TestACAndARPCKnownAnswers(t *testing.T) {
	ac, err := cryptogram.ComputeAC(vectorSK, vectorData, mac.Method2)
	require.NoError(t, err)
	require.Equal(t, "3B76CF10FECD8789", hx(ac))

	arpc1, err := cryptogram.ARPCMethod1(vectorSK, h("1234567890ABCDEF"), h("0000"))
	require.NoError(t, err)
	require.Equal(t, "F5E6F44147E2F1B0", hx(arpc1))

	arpc2, err := cryptogram.ARPCMethod2(vectorSK, h("1234567890ABCDEF"), h("00000000"), nil)
	require.NoError(t, err)
	require.Equal(t, "9308BEBC", hx(arpc2))
}

// The AC is MAC algorithm 3 step by step: single-DES CBC under K1 over the
// padded data, then decrypt under K2 and encrypt under K1.
func TestACSteps(t *testing.T) {
	k1, err := des.NewCipher(h("AAAAAAAAAAAAAAAA"))
	require.NoError(t, err)
	k2, err := des.NewCipher(h("BBBBBBBBBBBBBBBB"))
	require.NoError(t, err)
	run := func(padded []byte) []byte {
		hb := make([]byte, 8)
		for i := 0; i < len(padded); i += 8 {
			for j := range 8 {
				hb[j] ^= padded[i+j]
			}
			k1.Encrypt(hb, hb)
		}
		k2.Decrypt(hb, hb)
		k1.Encrypt(hb, hb)
		return hb
	}
	// 33 bytes of data: method 2 appends 80 and six zeros, method 1 seven zeros.
	pad2 := append(append([]byte{}, vectorData...), h("80000000000000")...)
	pad1 := append(append([]byte{}, vectorData...), h("00000000000000")...)
	require.Len(t, pad2, 40)

	got2, err := cryptogram.ComputeAC(vectorSK, vectorData, mac.Method2)
	require.NoError(t, err)
	require.Equal(t, run(pad2), got2)

	got1, err := cryptogram.ComputeAC(vectorSK, vectorData, mac.Method1)
	require.NoError(t, err)
	require.Equal(t, run(pad1), got1)
	require.NotEqual(t, got1, got2)

	// Method 1 adds nothing to data that is already whole blocks; method 2
	// adds a whole block.
	whole := vectorData[:32]
	got1, err = cryptogram.ComputeAC(vectorSK, whole, mac.Method1)
	require.NoError(t, err)
	require.Equal(t, run(whole), got1)
	got2, err = cryptogram.ComputeAC(vectorSK, whole, mac.Method2)
	require.NoError(t, err)
	require.Equal(t, run(append(append([]byte{}, whole...), h("8000000000000000")...)), got2)
}

// AES cryptograms are CMAC truncated to 8 bytes (ARQC) or 4 bytes (ARPC
// method 2); cross-checked against the RFC 4493 section 4 examples (R-G1,
// R-G2: AES).
func TestAESMACAgainstRFC4493(t *testing.T) {
	k := keys.MustHex(keys.AES, "2b7e151628aed2a6abf7158809cf4f3c")
	msg := h("6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51 30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710")
	tests := []struct {
		n    int
		cmac string
	}{
		{0, "BB1D6929E95937287FA37D129B756746"},
		{16, "070A16B46B4D4144F79BDD9DD04A287C"},
		{40, "DFA66747DE9AE63030CA32611497C827"},
		{64, "51F0BEBF7E3B9D92FC49741779363CFE"},
	}
	for _, tc := range tests {
		ac, err := cryptogram.ComputeAC(k, msg[:tc.n], mac.Method2)
		require.NoError(t, err)
		require.Equal(t, tc.cmac[:16], hx(ac))
		// the padding argument does not change a CMAC
		ac1, err := cryptogram.ComputeAC(k, msg[:tc.n], mac.Method1)
		require.NoError(t, err)
		require.Equal(t, ac, ac1)
	}
	// ARPC method 2 with AES: the leftmost 4 bytes of CMAC(ARQC || CSU || prop);
	// 12 of the RFC's 16 message bytes as ARQC || CSU, the other 4 as prop.
	arpc, err := cryptogram.ARPCMethod2(k, msg[:8], msg[8:12], msg[12:16])
	require.NoError(t, err)
	require.Equal(t, "070A16B4", hx(arpc))
}

// ARPC method 1 step by step: TDES encipherment of ARQC xor (ARC || 00 x 6);
// for AES the block is zero-extended to 16 bytes and 8 bytes are kept.
func TestARPCMethod1Steps(t *testing.T) {
	arqc, arc := h("1234567890ABCDEF"), h("3030")
	enc := tdesBlock(t, vectorSK.Bytes())
	got, err := cryptogram.ARPCMethod1(vectorSK, arqc, arc)
	require.NoError(t, err)
	require.Equal(t, enc(h("2204567890ABCDEF")), got)

	ak := h("000102030405060708090A0B0C0D0E0F")
	c, err := aes.NewCipher(ak)
	require.NoError(t, err)
	want := make([]byte, 16)
	c.Encrypt(want, h("2204567890ABCDEF0000000000000000"))
	got, err = cryptogram.ARPCMethod1(keys.MustNew(keys.AES, ak), arqc, arc)
	require.NoError(t, err)
	require.Equal(t, want[:8], got)
}

// ARPC method 2 covers the proprietary authentication data too.
func TestARPCMethod2Steps(t *testing.T) {
	arqc, csu := h("1234567890ABCDEF"), h("00800000")
	for _, prop := range [][]byte{nil, h("01"), h("0102030405060708")} {
		data := append(append(append([]byte{}, arqc...), csu...), prop...)
		m, err := mac.Alg3(vectorSK, data, mac.Method2)
		require.NoError(t, err)
		got, err := cryptogram.ARPCMethod2(vectorSK, arqc, csu, prop)
		require.NoError(t, err)
		require.Equal(t, m[:4], got)
	}
}

func TestACAndARPCErrors(t *testing.T) {
	arqc := h("1234567890ABCDEF")
	_, err := cryptogram.ComputeAC(keys.Key{}, vectorData, mac.Method2)
	require.ErrorIs(t, err, cryptogram.ErrKey)
	_, err = cryptogram.ComputeAC(keys.MustHex(keys.TDES, "0123456789ABCDEF"), vectorData, mac.Method2)
	require.ErrorIs(t, err, cryptogram.ErrKey)
	_, err = cryptogram.MAC(vectorSK, vectorData, mac.Method2, 9)
	require.ErrorIs(t, err, cryptogram.ErrLength)
	_, err = cryptogram.ARPCMethod1(vectorSK, arqc[:7], h("0000"))
	require.ErrorIs(t, err, cryptogram.ErrLength)
	_, err = cryptogram.ARPCMethod1(vectorSK, arqc, h("00"))
	require.ErrorIs(t, err, cryptogram.ErrLength)
	_, err = cryptogram.ARPCMethod1(keys.Key{}, arqc, h("0000"))
	require.ErrorIs(t, err, cryptogram.ErrKey)
	_, err = cryptogram.ARPCMethod2(vectorSK, arqc, h("000000"), nil)
	require.ErrorIs(t, err, cryptogram.ErrLength)
	_, err = cryptogram.ARPCMethod2(vectorSK, arqc, h("00000000"), make([]byte, 9))
	require.ErrorIs(t, err, cryptogram.ErrLength)
	_, err = cryptogram.ARPCMethod2(vectorSK, arqc[:4], h("00000000"), nil)
	require.ErrorIs(t, err, cryptogram.ErrLength)
	_, err = cryptogram.ComputeARPC(cryptogram.ARPC1, vectorSK, arqc, h("0000"), h("01"))
	require.ErrorIs(t, err, cryptogram.ErrLength)
	_, err = cryptogram.ComputeARPC(cryptogram.ARPCMethod(3), vectorSK, arqc, h("0000"), nil)
	require.ErrorIs(t, err, cryptogram.ErrMethod)
}

func TestComputeARPCDispatch(t *testing.T) {
	got, err := cryptogram.ComputeARPC(cryptogram.ARPC1, vectorSK, h("1234567890ABCDEF"), h("0000"), nil)
	require.NoError(t, err)
	require.Equal(t, "F5E6F44147E2F1B0", hx(got))
	got, err = cryptogram.ComputeARPC(cryptogram.ARPC2, vectorSK, h("1234567890ABCDEF"), h("00000000"), nil)
	require.NoError(t, err)
	require.Equal(t, "9308BEBC", hx(got))
	m, err := cryptogram.ParseARPCMethod("2")
	require.NoError(t, err)
	require.Equal(t, cryptogram.ARPC2, m)
	_, err = cryptogram.ParseARPCMethod("3")
	require.ErrorIs(t, err, cryptogram.ErrMethod)
}

// TestCVC3KnownAnswer: the public example of the MasterCard CVC3 (the
// ICC CVC3 key by option A from the issuer's, the track 2 template in
// binary, ATC 005E, UN 00000899) gives CVC3 29488 (hex 7330).
func TestCVC3KnownAnswer(t *testing.T) {
	imk := keys.MustHex(keys.TDES, "01234567899876543210012345678998")
	kd, err := cryptogram.DeriveICCMK(cryptogram.OptionA, imk, "5123456789012345", "00")
	require.NoError(t, err)
	require.Equal(t, "BB8F", hx(kd.KCV())[:4])
	track := mustHex("5123456789012345D35121010000000000000F")
	iv, err := cryptogram.CVC3IV(kd, track)
	require.NoError(t, err)
	cvc3, err := cryptogram.ComputeCVC3(kd, iv, mustHex("00000899"), 0x005E)
	require.NoError(t, err)
	require.Equal(t, 29488, int(cvc3[0])<<8|int(cvc3[1]))
	require.NoError(t, cryptogram.VerifyCVC3(kd, track, mustHex("00000899"), 0x005E, cvc3))
}

// TestCVC3: the card's CVC3 verifies at the issuer over the same static
// track, number and ATC; any change fails.
func TestCVC3(t *testing.T) {
	kd := keys.MustHex(keys.TDES, "0123456789ABCDEFFEDCBA9876543210")
	track := []byte{0x54, 0x13, 0x33, 0x00, 0x89, 0x01, 0x00, 0x12, 0xD2, 0x91, 0x22, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0F}
	iv, err := cryptogram.CVC3IV(kd, track)
	require.NoError(t, err)
	require.Len(t, iv, 2)
	un := []byte{0x00, 0x01, 0x23, 0x45}
	cvc3, err := cryptogram.ComputeCVC3(kd, iv, un, 0x0123)
	require.NoError(t, err)
	require.Len(t, cvc3, 2)
	require.NoError(t, cryptogram.VerifyCVC3(kd, track, un, 0x0123, cvc3))
	require.ErrorIs(t, cryptogram.VerifyCVC3(kd, track, un, 0x0124, cvc3), cryptogram.ErrMismatch)
	require.ErrorIs(t, cryptogram.VerifyCVC3(kd, track, []byte{0, 1, 0x23, 0x46}, 0x0123, cvc3), cryptogram.ErrMismatch)
	other := append([]byte(nil), track...)
	other[3] ^= 1
	require.ErrorIs(t, cryptogram.VerifyCVC3(kd, other, un, 0x0123, cvc3), cryptogram.ErrMismatch)
	_, err = cryptogram.ComputeCVC3(kd, iv, un[:3], 1)
	require.ErrorIs(t, err, cryptogram.ErrLength)
	_, err = cryptogram.CVC3IV(kd, nil)
	require.ErrorIs(t, err, cryptogram.ErrTrack)
}
