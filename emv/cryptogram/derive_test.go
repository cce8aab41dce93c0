package cryptogram_test

import (
	"crypto/aes"
	"crypto/des"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/keys"
)

func h(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

func hx(b []byte) string { return strings.ToUpper(hex.EncodeToString(b)) }

// Known answers: the shared test vector (Option A with a 17-digit PAN, which
// keeps the rightmost 16 digits of PAN || PSN) and values published with the
// open-source pyemv library's documentation.
func TestDeriveICCMKKnownAnswers(t *testing.T) {
	tests := []struct {
		name     string
		opt      cryptogram.Option
		imk      string
		pan, psn string
		want     string
	}{
		{"shared vector option A", cryptogram.OptionA, "0123456789ABCDEF0123456789ABCDEF", "43219876543210987", "00", "C8B507136D921FD05864C81F79F2D30B"},
		{"option A, 17-digit PAN, PSN 01", cryptogram.OptionA, "0123456789ABCDEFFEDCBA9876543210", "12345678901234567", "01", "73AD54688CEF2934B0979857E3C719F1"},
		{"option A, PSN 45", cryptogram.OptionA, "0123456789ABCDEFFEDCBA9876543210", "99012345678901234", "45", "67F8292358083E5EA7AB7FDA58D53B6B"},
		{"option B, 17-digit PAN (SHA-1 path)", cryptogram.OptionB, "0123456789ABCDEFFEDCBA9876543210", "12345678901234567", "01", "AD406D7F6D7570916D75E5DCAB8CF737"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			imk := keys.MustHex(keys.TDES, tc.imk)
			mk, err := cryptogram.DeriveICCMK(tc.opt, imk, tc.pan, tc.psn)
			require.NoError(t, err)
			require.Equal(t, tc.want, hx(mk.Bytes()))
			require.Equal(t, keys.TDES, mk.Alg())
			require.True(t, keys.HasOddParity(mk.Bytes()))
		})
	}
}

// Option A step by step: ZL = TDES(IMK)[Y], ZR = TDES(IMK)[Y xor FF..FF],
// then odd parity, checked against crypto/des directly.
func TestOptionASteps(t *testing.T) {
	imkBytes := h("0123456789ABCDEF0123456789ABCDEF")
	c, err := des.NewTripleDESCipher(append(append([]byte{}, imkBytes...), imkBytes[:8]...))
	require.NoError(t, err)
	y := h("1987654321098700") // rightmost 16 digits of 43219876543210987 || 00
	zl := make([]byte, 8)
	c.Encrypt(zl, y)
	zr := make([]byte, 8)
	c.Encrypt(zr, keys.XOR(y, h("FFFFFFFFFFFFFFFF")))
	want := keys.OddParity(append(zl, zr...))

	mk, err := cryptogram.DeriveICCMK(cryptogram.OptionA, keys.MustNew(keys.TDES, imkBytes), "43219876543210987", "00")
	require.NoError(t, err)
	require.Equal(t, want, mk.Bytes())

	// A short PAN || PSN is padded on the left with zeros.
	c.Encrypt(zl, h("0012345678901201"))
	mk, err = cryptogram.DeriveICCMK(cryptogram.OptionA, keys.MustNew(keys.TDES, imkBytes), "123456789012", "01")
	require.NoError(t, err)
	require.Equal(t, keys.OddParity(zl), mk.Bytes()[:8])
}

// Option B is option A for PANs of 16 digits or fewer.
func TestOptionBIsOptionAUpTo16Digits(t *testing.T) {
	imk := keys.MustHex(keys.TDES, "0123456789ABCDEFFEDCBA9876543210")
	for _, pan := range []string{"123456789012", "4111111111111111", "5413330089600010"} {
		a, err := cryptogram.DeriveICCMK(cryptogram.OptionA, imk, pan, "01")
		require.NoError(t, err)
		b, err := cryptogram.DeriveICCMK(cryptogram.OptionB, imk, pan, "01")
		require.NoError(t, err)
		require.True(t, a.Equal(b), pan)
	}
	// ... and differs from option A beyond 16 digits.
	a, err := cryptogram.DeriveICCMK(cryptogram.OptionA, imk, "12345678901234567", "01")
	require.NoError(t, err)
	b, err := cryptogram.DeriveICCMK(cryptogram.OptionB, imk, "12345678901234567", "01")
	require.NoError(t, err)
	require.False(t, a.Equal(b))
}

// Option C (AES, R-G1): Y is PAN || PSN left-padded to 16 bytes; AES-128
// gives AES(IMK)[Y]; AES-192/256 the leftmost bits of AES(IMK)[Y] ||
// AES(IMK)[Y xor FF..FF]. Checked against crypto/aes directly.
func TestOptionCSteps(t *testing.T) {
	pan, psn := "5413330089600010", "01"
	y := h("00000000000000541333008960001001")
	for _, n := range []int{16, 24, 32} {
		imkBytes := h("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F")[:n]
		c, err := aes.NewCipher(imkBytes)
		require.NoError(t, err)
		z := make([]byte, 32)
		c.Encrypt(z[:16], y)
		c.Encrypt(z[16:], keys.XOR(y, h(strings.Repeat("FF", 16))))

		mk, err := cryptogram.DeriveICCMK(cryptogram.OptionC, keys.MustNew(keys.AES, imkBytes), pan, psn)
		require.NoError(t, err)
		require.Equal(t, keys.AES, mk.Alg())
		require.Equal(t, z[:n], mk.Bytes(), "AES-%d", n*8)
	}
}

// Option C keeps every digit of a long PAN: two 19-digit PANs that share
// their rightmost 16 digits get different keys (option A would not).
func TestOptionCUsesWholePAN(t *testing.T) {
	imk := keys.MustHex(keys.AES, "000102030405060708090A0B0C0D0E0F")
	a, err := cryptogram.DeriveICCMK(cryptogram.OptionC, imk, "1234567890123456789", "00")
	require.NoError(t, err)
	b, err := cryptogram.DeriveICCMK(cryptogram.OptionC, imk, "9994567890123456789", "00")
	require.NoError(t, err)
	require.False(t, a.Equal(b))

	timk := keys.MustHex(keys.TDES, "0123456789ABCDEFFEDCBA9876543210")
	ta, err := cryptogram.DeriveICCMK(cryptogram.OptionA, timk, "1234567890123456789", "00")
	require.NoError(t, err)
	tb, err := cryptogram.DeriveICCMK(cryptogram.OptionA, timk, "9994567890123456789", "00")
	require.NoError(t, err)
	require.True(t, ta.Equal(tb))
}

func TestDeriveICCMKErrors(t *testing.T) {
	tdes := keys.MustHex(keys.TDES, "0123456789ABCDEFFEDCBA9876543210")
	aesKey := keys.MustHex(keys.AES, "0123456789ABCDEFFEDCBA9876543210")
	tests := []struct {
		name     string
		opt      cryptogram.Option
		imk      keys.Key
		pan, psn string
		err      error
	}{
		{"option A with AES key", cryptogram.OptionA, aesKey, "4111111111111111", "00", cryptogram.ErrKey},
		{"option B with AES key", cryptogram.OptionB, aesKey, "4111111111111111", "00", cryptogram.ErrKey},
		{"option C with TDES key", cryptogram.OptionC, tdes, "4111111111111111", "00", cryptogram.ErrKey},
		{"single DES key", cryptogram.OptionA, keys.MustHex(keys.TDES, "0123456789ABCDEF"), "4111111111111111", "00", cryptogram.ErrKey},
		{"zero key", cryptogram.OptionA, keys.Key{}, "4111111111111111", "00", cryptogram.ErrKey},
		{"unknown option", cryptogram.Option(9), tdes, "4111111111111111", "00", cryptogram.ErrOption},
		{"bad PAN", cryptogram.OptionA, tdes, "4111-1111", "00", cryptogram.ErrPAN},
		{"bad PSN", cryptogram.OptionA, tdes, "4111111111111111", "x", cryptogram.ErrPSN},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := cryptogram.DeriveICCMK(tc.opt, tc.imk, tc.pan, tc.psn)
			require.ErrorIs(t, err, tc.err)
			// R-G5b: no key material in errors.
			require.NotContains(t, strings.ToUpper(err.Error()), "0123456789ABCDEF")
			require.NotContains(t, err.Error(), "4111111111111111")
		})
	}
}

func TestParseOption(t *testing.T) {
	for in, want := range map[string]cryptogram.Option{"a": cryptogram.OptionA, "B": cryptogram.OptionB, " c ": cryptogram.OptionC, "option-a": cryptogram.OptionA} {
		got, err := cryptogram.ParseOption(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got)
	}
	_, err := cryptogram.ParseOption("d")
	require.ErrorIs(t, err, cryptogram.ErrOption)
	require.Equal(t, "B", cryptogram.OptionB.String())
}
