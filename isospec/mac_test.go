package isospec_test

import (
	"bytes"
	"crypto/des"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/mac"
	"github.com/tapsim/tapsim/isospec"
)

// The terminal MAC key of the tests (ANSI X9.19 retail MAC, 2-key TDES).
var macKey = keys.MustHex(keys.TDES, "0123456789ABCDEFFEDCBA9876543210")

// otherKey is a MAC key the host does not share.
var otherKey = keys.MustHex(keys.TDES, "FEDCBA98765432100123456789ABCDEF")

func retailMAC(k keys.Key) isospec.MACFunc {
	return func(data []byte) ([]byte, error) { return mac.Alg3(k, data, mac.Method1) }
}

func retailVerify(k keys.Key) isospec.VerifyFunc {
	return func(data, m []byte) error {
		want, err := mac.Alg3(k, data, mac.Method1)
		if err != nil {
			return err
		}
		if !mac.Equal(want, m) {
			return errors.New("test: retail MAC differs")
		}
		return nil
	}
}

// x919 computes the ANSI X9.19 retail MAC step by step with crypto/des
// alone: zero padding, single-DES CBC under K1 over every block, then the
// last block decrypted under K2 and encrypted under K1.
func x919(t *testing.T, key, data []byte) []byte {
	t.Helper()
	k1, err := des.NewCipher(key[:8])
	require.NoError(t, err)
	k2, err := des.NewCipher(key[8:16])
	require.NoError(t, err)
	padded := append([]byte(nil), data...)
	for len(padded)%8 != 0 {
		padded = append(padded, 0)
	}
	chain := make([]byte, 8)
	for i := 0; i < len(padded); i += 8 {
		for j := range 8 {
			chain[j] ^= padded[i+j]
		}
		k1.Encrypt(chain, chain)
	}
	k2.Decrypt(chain, chain)
	k1.Encrypt(chain, chain)
	return chain
}

// The MAC input is the packed message without the length header, up to
// but not including the MAC's 8 bytes, with the MAC's bitmap bit set.
// R-G2: message integrity by a TDEA (or AES) MAC.
func TestMACInputIsExactlyThePackedMessage(t *testing.T) {
	msg := encode(t, isospec.NewNetworkManagement(isospec.NetEcho, "000001", when))
	packed, err := isospec.PackWithMAC(msg, retailMAC(macKey))
	require.NoError(t, err)

	input := append([]byte("0800"),
		0x82, 0x20, 0, 0, 0, 0, 0, 0, // bits 1, 7, 11
		0x04, 0, 0, 0, 0, 0, 0, 0x01, // bits 70 and 128 (the MAC)
	)
	input = append(input, "0315103000"+"000001"+"301"...)
	want := x919(t, macKey.Bytes(), input)

	require.Equal(t, append(append([]byte(nil), input...), want...), packed)
	data, m, err := isospec.MACInput(packed)
	require.NoError(t, err)
	require.Equal(t, input, data)
	require.Equal(t, want, m)
	require.NoError(t, isospec.VerifyMAC(packed, retailVerify(macKey)))

	var back isospec.NetworkManagement
	require.NoError(t, isospec.Unmarshal(packed, &back))
	require.Equal(t, want, back.MAC)
}

func TestMACFieldByBitmap(t *testing.T) {
	tests := []struct {
		name  string
		v     any
		field int
	}{
		{"0100 has no secondary bitmap: DE64", sample0100(t), 64},
		{"0110: DE64", sample0110(t), 64},
		{"0400 has DE90: DE128", sample0400(t), 128},
		{"0800 has DE70: DE128", sample0800KeyChange(t), 128},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg := encode(t, tc.v)
			require.Equal(t, tc.field, isospec.MACField(msg))
			packed, err := isospec.PackWithMAC(msg, retailMAC(macKey))
			require.NoError(t, err)
			data, m, err := isospec.MACInput(packed)
			require.NoError(t, err)
			require.Equal(t, x919(t, macKey.Bytes(), data), m)
			require.Equal(t, packed[:len(packed)-8], data)
			require.NoError(t, isospec.VerifyMAC(packed, retailVerify(macKey)))
			got, err := msg.GetBytes(tc.field)
			require.NoError(t, err)
			require.Equal(t, m, got)
			require.NoError(t, isospec.Validate(msg))

			// A second SetMAC replaces the first and gives the same bytes.
			again, err := isospec.PackWithMAC(msg, retailMAC(macKey))
			require.NoError(t, err)
			require.Equal(t, packed, again)
		})
	}
}

// Any change to the MACed bytes is caught: either the frame no longer
// parses or the MAC no longer matches. Changing the MAC itself too. R-G2.
func TestVerifyMACDetectsEveryChange(t *testing.T) {
	packed, err := isospec.PackWithMAC(encode(t, sample0100(t)), retailMAC(macKey))
	require.NoError(t, err)
	for i := range packed {
		c := bytes.Clone(packed)
		c[i] ^= 0x01
		require.Error(t, isospec.VerifyMAC(c, retailVerify(macKey)), "byte %d", i)
	}
	c := bytes.Clone(packed)
	c[len(c)-1] ^= 0x80
	err = isospec.VerifyMAC(c, retailVerify(macKey))
	require.ErrorIs(t, err, isospec.ErrMACMismatch)
	require.ErrorContains(t, err, "test: retail MAC differs")

	require.ErrorIs(t, isospec.VerifyMAC(packed, retailVerify(otherKey)), isospec.ErrMACMismatch)
}

func TestVerifyMACMissingOrMisplaced(t *testing.T) {
	noMAC := mustMarshal(t, sample0100(t))
	err := isospec.VerifyMAC(noMAC, retailVerify(macKey))
	require.ErrorIs(t, err, isospec.ErrMACMissing)
	requireFieldError(t, err, 64, isospec.ErrMACMissing)

	// DE64 in a message with a secondary bitmap.
	msg := encode(t, sample0400(t))
	require.NoError(t, msg.BinaryField(64, make([]byte, 8)))
	b, err := isospec.Pack(msg)
	require.NoError(t, err)
	requireFieldError(t, isospec.VerifyMAC(b, retailVerify(macKey)), 64, isospec.ErrMACMissing)

	// DE128 without any other secondary field is fine on the wire but the
	// MAC must then be in DE64.
	msg = encode(t, sample0100(t))
	require.NoError(t, msg.BinaryField(128, make([]byte, 8)))
	b, err = isospec.Pack(msg)
	require.NoError(t, err)
	_, _, err = isospec.MACInput(b)
	require.NoError(t, err) // DE128 makes a secondary bitmap: the right place
	msg.UnsetField(128)
	require.NoError(t, msg.BinaryField(64, make([]byte, 8)))
	require.NoError(t, msg.BinaryField(128, make([]byte, 8)))
	b, err = isospec.Pack(msg)
	require.NoError(t, err)
	requireFieldError(t, isospec.VerifyMAC(b, retailVerify(macKey)), 64, isospec.ErrMACMissing)

	// A malformed frame is a *FieldError, not a verify call.
	called := false
	err = isospec.VerifyMAC([]byte("0100"), func(_, _ []byte) error { called = true; return nil })
	requireFieldError(t, err, 1, isospec.ErrTruncated)
	require.False(t, called)
	require.ErrorIs(t, isospec.VerifyMAC(noMAC, nil), isospec.ErrType)
}

// AES-CMAC (RFC 4493 key) truncated to 8 bytes works the same way.
func TestSetMACWithCMAC(t *testing.T) {
	k := keys.MustHex(keys.AES, "2b7e151628aed2a6abf7158809cf4f3c")
	cmac := func(data []byte) ([]byte, error) { return mac.CMAC(k, data) } // 16 bytes: truncated
	packed, err := isospec.PackWithMAC(encode(t, sample0110(t)), cmac)
	require.NoError(t, err)
	err = isospec.VerifyMAC(packed, func(data, m []byte) error {
		full, err := mac.CMAC(k, data)
		require.NoError(t, err)
		require.Len(t, m, 8)
		if !mac.Equal(full[:8], m) {
			return errors.New("test: CMAC differs")
		}
		return nil
	})
	require.NoError(t, err)
}

func TestSetMACErrors(t *testing.T) {
	msg := encode(t, sample0100(t))
	err := isospec.SetMAC(msg, func([]byte) ([]byte, error) { return make([]byte, 4), nil })
	requireFieldError(t, err, 64, isospec.ErrLength)
	boom := errors.New("hsm: key not loaded")
	err = isospec.SetMAC(msg, func([]byte) ([]byte, error) { return nil, boom })
	require.ErrorIs(t, err, boom)
	require.ErrorIs(t, isospec.SetMAC(nil, retailMAC(macKey)), isospec.ErrType)
	require.ErrorIs(t, isospec.SetMAC(msg, nil), isospec.ErrType)

	// A message with a bad field is not MACed.
	bad := sample0100(t)
	bad.STAN = "1"
	m := isospec.NewMessage()
	require.NoError(t, m.Marshal(bad))
	requireFieldError(t, isospec.SetMAC(m, retailMAC(macKey)), 11, isospec.ErrLength)
}

// PackWithMAC packs once; its bytes are those Pack gives for the message it
// leaves behind, MAC included, in DE64 and in DE128.
func TestPackWithMACIsPackOfTheMACedMessage(t *testing.T) {
	for _, v := range []any{sample0100(t), sample0110(t), isospec.NewNetworkManagement(isospec.NetEcho, "000001", when)} {
		msg := encode(t, v)
		packed, err := isospec.PackWithMAC(msg, retailMAC(macKey))
		require.NoError(t, err)
		again, err := isospec.Pack(msg)
		require.NoError(t, err)
		require.Equal(t, again, packed)
		require.NoError(t, isospec.VerifyMAC(packed, retailVerify(macKey)))
	}
}
