package keyblock_test

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/keywrap"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/hsm/keyblock"
)

func h(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	require.NoError(t, err)
	return b
}

var (
	kek  = keys.MustHex(keys.AES, "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F")
	zpk  = keys.MustHex(keys.TDES, "0123456789ABCDEFFEDCBA9876543210")
	aesK = keys.MustHex(keys.AES, "2B7E151628AED2A6ABF7158809CF4F3C")
)

// The block is the RFC 3394 wrap of the 8-byte header and the key, built
// here byte by byte.
func TestLayout(t *testing.T) {
	got, err := keyblock.Wrap(kek, hsm.UsageZPK, 0, zpk)
	require.NoError(t, err)
	plain := h(t, "01 20 01 10 00000000 0123456789ABCDEFFEDCBA9876543210")
	want, err := keywrap.Wrap(kek, plain)
	require.NoError(t, err)
	require.Equal(t, want, got)
	require.Len(t, got, 32)

	got, err = keyblock.Wrap(kek, hsm.UsageSessionAC, 0x001C, aesK)
	require.NoError(t, err)
	want, err = keywrap.Wrap(kek, h(t, "01 60 02 10 0000001C 2B7E151628AED2A6ABF7158809CF4F3C"))
	require.NoError(t, err)
	require.Equal(t, want, got)
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		usage hsm.Usage
		key   keys.Key
		ctx   uint32
	}{
		{hsm.UsageZPK, zpk, 0},
		{hsm.UsageZPK, keys.MustHex(keys.TDES, "0123456789ABCDEFFEDCBA987654321089ABCDEF01234567"), 0},
		{hsm.UsageZAK, aesK, 7},
		{hsm.UsageKEK, kek, 0},
		{hsm.UsageBDK, zpk, 0},
		{hsm.UsageIMKAC, keys.MustHex(keys.AES, "000102030405060708090A0B0C0D0E0F1011121314151617"), 0},
		{hsm.UsagePVK, zpk, 0},
		{hsm.UsageSessionAC, zpk, 0xFFFF},
	}
	for _, tc := range tests {
		t.Run(string(tc.usage), func(t *testing.T) {
			w, err := keyblock.Wrap(kek, tc.usage, tc.ctx, tc.key)
			require.NoError(t, err)
			require.Len(t, w, 8+8+tc.key.Len())
			require.NotContains(t, hex.EncodeToString(w), hex.EncodeToString(tc.key.Bytes()))
			b, err := keyblock.Open(kek, w)
			require.NoError(t, err)
			require.Equal(t, tc.usage, b.Usage)
			require.Equal(t, tc.ctx, b.Context)
			require.True(t, tc.key.Equal(b.Key))
			require.NotContains(t, b.String(), hex.EncodeToString(tc.key.Bytes()))
			require.Contains(t, b.String(), tc.key.KCVHex())
		})
	}
}

// R-G5e: a block opened with another key, or altered, is refused, and the
// usage cannot be changed without the key-encryption key.
func TestOpenRefuses(t *testing.T) {
	good, err := keyblock.Wrap(kek, hsm.UsageZPK, 0, zpk)
	require.NoError(t, err)

	other := keys.MustHex(keys.AES, "FF0102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F")
	_, err = keyblock.Open(other, good)
	require.ErrorIs(t, err, hsm.ErrKeyBlock)
	require.ErrorIs(t, err, keywrap.ErrIntegrity)

	for i := range good {
		bad := append([]byte(nil), good...)
		bad[i] ^= 0x80
		_, err := keyblock.Open(kek, bad)
		require.ErrorIs(t, err, hsm.ErrKeyBlock, "byte %d", i)
	}

	wrapRaw := func(plain string) []byte {
		w, err := keywrap.Wrap(kek, h(t, plain))
		require.NoError(t, err)
		return w
	}
	bad := []struct {
		name  string
		block []byte
	}{
		{"empty", nil},
		{"short", good[:24]},
		{"odd length", append(append([]byte(nil), good...), 0)},
		{"version 2", wrapRaw("02 20 01 10 00000000 0123456789ABCDEFFEDCBA9876543210")},
		{"unknown usage code", wrapRaw("01 7F 01 10 00000000 0123456789ABCDEFFEDCBA9876543210")},
		{"usage code zero", wrapRaw("01 00 01 10 00000000 0123456789ABCDEFFEDCBA9876543210")},
		{"unknown algorithm", wrapRaw("01 20 03 10 00000000 0123456789ABCDEFFEDCBA9876543210")},
		{"length field too long", wrapRaw("01 20 01 18 00000000 0123456789ABCDEFFEDCBA9876543210")},
		{"PVK of AES", wrapRaw("01 40 02 10 00000000 0123456789ABCDEFFEDCBA9876543210")},
		{"KEK of TDES", wrapRaw("01 50 01 10 00000000 0123456789ABCDEFFEDCBA9876543210")},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := keyblock.Open(kek, tc.block)
			require.ErrorIs(t, err, hsm.ErrKeyBlock)
			require.NotContains(t, err.Error(), "0123456789")
		})
	}
}

func TestWrapRefuses(t *testing.T) {
	_, err := keyblock.Wrap(kek, hsm.Usage("NOPE"), 0, zpk)
	require.ErrorIs(t, err, hsm.ErrKeyBlock)
	_, err = keyblock.Wrap(kek, hsm.UsageKEK, 0, zpk) // a KEK must be AES
	require.ErrorIs(t, err, hsm.ErrKeyBlock)
	require.ErrorIs(t, err, hsm.ErrKeyType)
	_, err = keyblock.Wrap(zpk, hsm.UsageZPK, 0, zpk) // the wrapping key must be AES
	require.ErrorIs(t, err, hsm.ErrKeyBlock)
	require.ErrorIs(t, err, keywrap.ErrKey)
	_, err = keyblock.Wrap(kek, hsm.UsageZPK, 0, keys.Key{})
	require.ErrorIs(t, err, hsm.ErrKeyBlock)
}
