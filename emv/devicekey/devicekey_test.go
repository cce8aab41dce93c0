package devicekey_test

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/devicekey"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/keywrap"
)

func deviceKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	return k
}

var mk = keys.MustHex(keys.TDES, "0123456789ABCDEFFEDCBA9876543210")

func TestRoundTrip(t *testing.T) {
	dev := deviceKey(t)
	for _, k := range []keys.Key{mk, keys.MustHex(keys.AES, "000102030405060708090A0B0C0D0E0F1011121314151617")} {
		w, err := devicekey.Wrap(nil, &dev.PublicKey, k)
		require.NoError(t, err)
		require.Len(t, w, 1+65+k.Len()+8)
		require.Equal(t, byte(devicekey.Version), w[0])
		got, err := devicekey.UnwrapChecked(dev, k.Alg(), w, k.KCVHex())
		require.NoError(t, err)
		require.True(t, got.Equal(k))
	}
}

// TestFormat rebuilds the KEK by the documented steps from the device's
// side and opens the key wrap with emv/keywrap directly.
func TestFormat(t *testing.T) {
	dev := deviceKey(t)
	w, err := devicekey.Wrap(rand.Reader, &dev.PublicKey, mk)
	require.NoError(t, err)
	priv, err := dev.ECDH()
	require.NoError(t, err)
	eph, err := ecdh.P256().NewPublicKey(w[1:66])
	require.NoError(t, err)
	z, err := priv.ECDH(eph)
	require.NoError(t, err)
	pub := priv.PublicKey().Bytes()
	enc := base64.RawURLEncoding
	jwk := `{"crv":"P-256","kty":"EC","x":"` + enc.EncodeToString(pub[1:33]) + `","y":"` + enc.EncodeToString(pub[33:]) + `"}`
	tp := sha256.Sum256([]byte(jwk))
	got, err := devicekey.Thumbprint(&dev.PublicKey)
	require.NoError(t, err)
	require.Equal(t, tp[:], got)
	info := append([]byte(devicekey.Info), w[1:66]...)
	info = append(info, tp[:]...)
	kek, err := hkdf.Key(sha256.New, z, nil, string(info), 16)
	require.NoError(t, err)
	p, err := keywrap.Unwrap(keys.MustNew(keys.AES, kek), w[66:])
	require.NoError(t, err)
	require.Equal(t, mk.Bytes(), p)
}

func TestThumbprintRejectsOtherCurves(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	_, err = devicekey.Thumbprint(&k.PublicKey)
	require.ErrorIs(t, err, devicekey.ErrKey)
	_, err = devicekey.Wrap(nil, &k.PublicKey, mk)
	require.ErrorIs(t, err, devicekey.ErrKey)
}

func TestAttacks(t *testing.T) {
	dev, other := deviceKey(t), deviceKey(t)
	w, err := devicekey.Wrap(nil, &dev.PublicKey, mk)
	require.NoError(t, err)

	_, err = devicekey.Unwrap(other, keys.TDES, w)
	require.ErrorIs(t, err, devicekey.ErrWrapped, "another device's key")

	for i := range w {
		bad := append([]byte(nil), w...)
		bad[i] ^= 0x01
		_, err = devicekey.Unwrap(dev, keys.TDES, bad)
		require.ErrorIs(t, err, devicekey.ErrWrapped, "byte %d altered", i)
	}
	_, err = devicekey.Unwrap(dev, keys.TDES, w[:len(w)-8])
	require.ErrorIs(t, err, devicekey.ErrWrapped, "truncated")

	_, err = devicekey.UnwrapChecked(dev, keys.TDES, w, "000000")
	require.ErrorIs(t, err, devicekey.ErrKCV)
	_, err = devicekey.UnwrapChecked(dev, keys.TDES, w, "")
	require.ErrorIs(t, err, devicekey.ErrKCV)
}

func TestFreshEphemeralKey(t *testing.T) {
	dev := deviceKey(t)
	a, err := devicekey.Wrap(nil, &dev.PublicKey, mk)
	require.NoError(t, err)
	b, err := devicekey.Wrap(nil, &dev.PublicKey, mk)
	require.NoError(t, err)
	require.NotEqual(t, hex.EncodeToString(a), hex.EncodeToString(b))
}
