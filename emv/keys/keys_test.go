package keys_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/keys"
)

func TestNewLengths(t *testing.T) {
	tests := []struct {
		alg keys.Alg
		n   int
		ok  bool
	}{
		{keys.TDES, 8, true}, {keys.TDES, 16, true}, {keys.TDES, 24, true}, {keys.TDES, 15, false},
		{keys.AES, 16, true}, {keys.AES, 24, true}, {keys.AES, 32, true}, {keys.AES, 8, false},
	}
	for _, tc := range tests {
		_, err := keys.New(tc.alg, make([]byte, tc.n))
		if tc.ok {
			require.NoError(t, err, "%v %d", tc.alg, tc.n)
		} else {
			require.ErrorIs(t, err, keys.ErrKeyLength, "%v %d", tc.alg, tc.n)
		}
	}
}

// Keys are shown only as check values (R-G5b).
func TestKeyNeverPrinted(t *testing.T) {
	k := keys.MustHex(keys.TDES, "0123456789ABCDEFFEDCBA9876543210")
	var logbuf bytes.Buffer
	slog.New(slog.NewTextHandler(&logbuf, nil)).Info("loaded", "key", k)
	js, err := json.Marshal(struct{ K keys.Key }{k})
	require.NoError(t, err)
	for _, s := range []string{
		fmt.Sprint(k), fmt.Sprintf("%x", k), fmt.Sprintf("%X", k), fmt.Sprintf("%#v", k),
		fmt.Sprintf("%v", []keys.Key{k}), fmt.Sprintf("%+v", struct{ K keys.Key }{k}),
		logbuf.String(), string(js),
	} {
		require.NotContains(t, strings.ToUpper(s), "0123456789ABCDEF")
		require.NotContains(t, strings.ToUpper(s), "FEDCBA9876543210")
		require.Contains(t, s, "08D7B4", "shows the KCV: %s", s)
	}
	_, err = keys.ParseHex(keys.TDES, "0123456789ABCDEFXX")
	require.Error(t, err)
	require.NotContains(t, err.Error(), "0123")
}

func TestKCV(t *testing.T) {
	tests := []struct {
		alg    keys.Alg
		key    string
		method keys.KCVMethod
		want   string
	}{
		// Double-length TDES key 0123...3210: the well-known KCV 08D7B4.
		{keys.TDES, "0123456789ABCDEFFEDCBA9876543210", keys.KCVZeros, "08D7B4"},
		// E(K, 0) under the RFC 4493 key is the RFC's L value 7df76b0c...
		{keys.AES, "2b7e151628aed2a6abf7158809cf4f3c", keys.KCVZeros, "7DF76B"},
	}
	for _, tc := range tests {
		got, err := keys.MustHex(tc.alg, tc.key).KCVWith(tc.method)
		require.NoError(t, err)
		require.Equal(t, tc.want, strings.ToUpper(hex.EncodeToString(got)))
	}
	aes := keys.MustHex(keys.AES, "2b7e151628aed2a6abf7158809cf4f3c")
	require.Len(t, aes.KCV(), 5)
	ones, err := aes.KCVWith(keys.KCVOnes)
	require.NoError(t, err)
	enc, err := aes.EncryptECB(bytes.Repeat([]byte{1}, 16))
	require.NoError(t, err)
	require.Equal(t, enc[:3], ones)
}

func TestParity(t *testing.T) {
	p := keys.OddParity([]byte{0x00, 0x01, 0xFE, 0xFF, 0x12})
	require.Equal(t, []byte{0x01, 0x01, 0xFE, 0xFE, 0x13}, p)
	require.True(t, keys.HasOddParity(p))
	require.False(t, keys.HasOddParity([]byte{0x00}))
}

func TestCheckWeak(t *testing.T) {
	tests := []struct {
		alg  keys.Alg
		key  string
		weak bool
	}{
		{keys.TDES, "0123456789ABCDEFFEDCBA9876543210", false},
		{keys.TDES, "01010101010101010123456789ABCDEF", true}, // weak K1
		{keys.TDES, "0123456789ABCDEF011F011F010E010E", true}, // semi-weak K2
		{keys.TDES, "0123456789ABCDEF0123456789ABCDEF", true}, // K1 == K2
		{keys.TDES, "0023456789ABCDEF0123456789ABCDEF", true}, // equal once parity is fixed
		{keys.AES, "00000000000000000000000000000000", true},  // all zero
		{keys.AES, "2b7e151628aed2a6abf7158809cf4f3c", false},
	}
	for _, tc := range tests {
		err := keys.MustHex(tc.alg, tc.key).CheckWeak()
		if tc.weak {
			require.ErrorIs(t, err, keys.ErrWeakKey, tc.key)
		} else {
			require.NoError(t, err, tc.key)
		}
	}
}

// Generate never returns a weak key and sets odd parity (R-G5a).
func TestGenerateSkipsWeak(t *testing.T) {
	weak := bytes.Repeat([]byte{0x01}, 16)
	good := []byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF, 0xFE, 0xDC, 0xBA, 0x98, 0x76, 0x54, 0x32, 0x10}
	k, err := keys.Generate(keys.TDES, 16, bytes.NewReader(append(weak, good...)))
	require.NoError(t, err)
	require.True(t, keys.HasOddParity(k.Bytes()))
	require.Equal(t, "08D7B4", k.KCVHex())
	_, err = keys.Generate(keys.TDES, 16, bytes.NewReader(nil))
	require.Error(t, err)
}

func TestECBCBCRoundTrip(t *testing.T) {
	for _, k := range []keys.Key{
		keys.MustHex(keys.TDES, "0123456789ABCDEFFEDCBA9876543210"),
		keys.MustHex(keys.TDES, "0123456789ABCDEFFEDCBA987654321089ABCDEF01234567"),
		keys.MustHex(keys.AES, "2b7e151628aed2a6abf7158809cf4f3c"),
	} {
		data := bytes.Repeat([]byte{0x5A}, 2*k.BlockSize())
		e, err := k.EncryptCBC(nil, data)
		require.NoError(t, err)
		d, err := k.DecryptCBC(nil, e)
		require.NoError(t, err)
		require.Equal(t, data, d)
		e, err = k.EncryptECB(data)
		require.NoError(t, err)
		d, err = k.DecryptECB(e)
		require.NoError(t, err)
		require.Equal(t, data, d)
		_, err = k.EncryptECB(data[:3])
		require.Error(t, err)
	}
}

// A Key in an unexported field is printed by reflection, where fmt cannot
// call Format: the material must still not show (R-G5b).
func TestKeyInUnexportedFieldNotPrinted(t *testing.T) {
	type holder struct {
		name string
		key  keys.Key
	}
	h := holder{"mk", keys.MustHex(keys.TDES, "0123456789ABCDEFFEDCBA9876543210")}
	for _, s := range []string{fmt.Sprintf("%v", h), fmt.Sprintf("%+v", h), fmt.Sprintf("%#v", h), fmt.Sprintf("%v", &h)} {
		require.NotContains(t, s, "[1 35 69")
		require.NotContains(t, strings.ToUpper(s), "0123456789ABCDEF")
	}
}
