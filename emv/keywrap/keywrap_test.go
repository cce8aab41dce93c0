package keywrap_test

import (
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/keywrap"
)

func h(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	require.NoError(t, err)
	return b
}

// The six test vectors of RFC 3394 section 4.
var rfc3394 = []struct {
	name, kek, data, wrapped string
}{
	{"4.1 128-bit data, 128-bit KEK", "000102030405060708090A0B0C0D0E0F",
		"00112233445566778899AABBCCDDEEFF",
		"1FA68B0A8112B447 AEF34BD8FB5A7B82 9D3E862371D2CFE5"},
	{"4.2 128-bit data, 192-bit KEK", "000102030405060708090A0B0C0D0E0F1011121314151617",
		"00112233445566778899AABBCCDDEEFF",
		"96778B25AE6CA435 F92B5B97C050AED2 468AB8A17AD84E5D"},
	{"4.3 128-bit data, 256-bit KEK", "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
		"00112233445566778899AABBCCDDEEFF",
		"64E8C3F9CE0F5BA2 63E9777905818A2A 93C8191E7D6E8AE7"},
	{"4.4 192-bit data, 192-bit KEK", "000102030405060708090A0B0C0D0E0F1011121314151617",
		"00112233445566778899AABBCCDDEEFF0001020304050607",
		"031D33264E15D332 68F24EC260743EDC E1C6C7DDEE725A93 6BA814915C6762D2"},
	{"4.5 192-bit data, 256-bit KEK", "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
		"00112233445566778899AABBCCDDEEFF0001020304050607",
		"A8F9BC1612C68B3F F6E6F4FBE30E71E4 769C8B80A32CB895 8CD5D17D6B254DA1"},
	{"4.6 256-bit data, 256-bit KEK", "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
		"00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F",
		"28C9F404C4B810F4 CBCCB35CFB87F826 3F5786E2D80ED326 CBC7F0E71A99F43B FB988B9B7A02DD21"},
}

func TestRFC3394Vectors(t *testing.T) {
	for _, v := range rfc3394 {
		t.Run(v.name, func(t *testing.T) {
			kek := keys.MustHex(keys.AES, v.kek)
			w, err := keywrap.Wrap(kek, h(t, v.data))
			require.NoError(t, err)
			require.Equal(t, h(t, v.wrapped), w)
			p, err := keywrap.Unwrap(kek, w)
			require.NoError(t, err)
			require.Equal(t, h(t, v.data), p)
		})
	}
}

// shiftWrap is the other formulation of the wrap in RFC 3394 section
// 2.2.1, with a shift register instead of indexes: for t = 1 .. 6n,
// B = AES(K)[A | R1], A = MSB64(B) xor t, R1 .. Rn-1 = R2 .. Rn, Rn =
// LSB64(B). It shares no code with the package.
func shiftWrap(t *testing.T, kek keys.Key, p []byte) []byte {
	t.Helper()
	n := len(p) / 8
	a := append([]byte(nil), keywrap.DefaultIV[:]...)
	r := append([]byte(nil), p...)
	for step := 1; step <= 6*n; step++ {
		b, err := kek.EncryptECB(append(append([]byte(nil), a...), r[:8]...))
		require.NoError(t, err)
		a = b[:8]
		var tb [8]byte
		binary.BigEndian.PutUint64(tb[:], uint64(step))
		a = keys.XOR(a, tb[:])
		r = append(r[8:], b[8:]...)
	}
	return append(a, r...)
}

func TestWrapAgreesWithShiftForm(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for _, kl := range []int{16, 24, 32} {
		for blocks := 2; blocks <= 7; blocks++ {
			kb := make([]byte, kl)
			p := make([]byte, 8*blocks)
			for i := range kb {
				kb[i] = byte(rnd.UintN(256))
			}
			for i := range p {
				p[i] = byte(rnd.UintN(256))
			}
			kek := keys.MustNew(keys.AES, kb)
			w, err := keywrap.Wrap(kek, p)
			require.NoError(t, err)
			require.Equal(t, shiftWrap(t, kek, p), w, "KEK %d bytes, %d blocks", kl, blocks)
			back, err := keywrap.Unwrap(kek, w)
			require.NoError(t, err)
			require.Equal(t, p, back)
		}
	}
}

// Any altered bit, or another key-encryption key, fails the integrity check.
func TestUnwrapDetectsTampering(t *testing.T) {
	kek := keys.MustHex(keys.AES, "000102030405060708090A0B0C0D0E0F")
	w := h(t, "1FA68B0A8112B447 AEF34BD8FB5A7B82 9D3E862371D2CFE5")
	for i := range len(w) * 8 {
		bad := append([]byte(nil), w...)
		bad[i/8] ^= 1 << (i % 8)
		p, err := keywrap.Unwrap(kek, bad)
		require.ErrorIs(t, err, keywrap.ErrIntegrity, "bit %d", i)
		require.Nil(t, p)
	}
	other := keys.MustHex(keys.AES, "000102030405060708090A0B0C0D0E0E")
	_, err := keywrap.Unwrap(other, w)
	require.ErrorIs(t, err, keywrap.ErrIntegrity)
	// Swapping the two data blocks is detected too.
	swapped := append(append(append([]byte(nil), w[:8]...), w[16:]...), w[8:16]...)
	_, err = keywrap.Unwrap(kek, swapped)
	require.ErrorIs(t, err, keywrap.ErrIntegrity)
}

func TestLengthsAndKeys(t *testing.T) {
	aes := keys.MustHex(keys.AES, "000102030405060708090A0B0C0D0E0F")
	tdes := keys.MustHex(keys.TDES, "0123456789ABCDEFFEDCBA9876543210")
	tests := []struct {
		name string
		kek  keys.Key
		data []byte
		err  error
	}{
		{"TDES key-encryption key", tdes, make([]byte, 16), keywrap.ErrKey},
		{"no key", keys.Key{}, make([]byte, 16), keywrap.ErrKey},
		{"one block", aes, make([]byte, 8), keywrap.ErrLength},
		{"empty", aes, nil, keywrap.ErrLength},
		{"not whole blocks", aes, make([]byte, 20), keywrap.ErrLength},
		{"too long", aes, make([]byte, keywrap.MaxData+8), keywrap.ErrLength},
	}
	for _, tc := range tests {
		t.Run("wrap "+tc.name, func(t *testing.T) {
			_, err := keywrap.Wrap(tc.kek, tc.data)
			require.ErrorIs(t, err, tc.err)
		})
		t.Run("unwrap "+tc.name, func(t *testing.T) {
			_, err := keywrap.Unwrap(tc.kek, append(make([]byte, 8), tc.data...))
			require.ErrorIs(t, err, tc.err)
		})
	}
	// A 16-byte wrapped block (one data block) is refused before any
	// decryption: RFC 3394 wraps at least two blocks.
	_, err := keywrap.Unwrap(aes, make([]byte, 16))
	require.ErrorIs(t, err, keywrap.ErrLength)
	// The largest data passes.
	w, err := keywrap.Wrap(aes, make([]byte, keywrap.MaxData))
	require.NoError(t, err)
	_, err = keywrap.Unwrap(aes, w)
	require.NoError(t, err)
}
