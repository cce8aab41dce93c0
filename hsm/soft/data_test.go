package soft_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/hsm/soft"
)

// A value sealed under the DEK opens under the same key and additional
// data only; anything altered is hsm.ErrDecrypt, never a wrong value.
func TestEncryptData(t *testing.T) {
	f := newHSM(t, "")
	dek, err := f.hsm.GenerateKey("issuer/dek", hsm.UsageDEK, keys.AES, 32)
	require.NoError(t, err)
	other, err := f.hsm.GenerateKey("other/dek", hsm.UsageDEK, keys.AES, 16)
	require.NoError(t, err)
	pan := []byte("4761739001010010")
	aad := []byte("cards\x00visa-plastic\x00pan")

	a, err := f.hsm.EncryptData(dek, pan, aad)
	require.NoError(t, err)
	b, err := f.hsm.EncryptData(dek, pan, aad)
	require.NoError(t, err)
	require.Len(t, a, 12+len(pan)+16)
	require.NotEqual(t, a, b, "a fresh nonce every time")
	require.False(t, bytes.Contains(a, pan))

	got, err := f.hsm.DecryptData(dek, a, aad)
	require.NoError(t, err)
	require.Equal(t, pan, got)

	for name, tc := range map[string]struct {
		key    hsm.Handle
		sealed []byte
		aad    []byte
	}{
		"altered ciphertext": {dek, flip(a, 14), aad},
		"altered nonce":      {dek, flip(a, 0), aad},
		"altered tag":        {dek, flip(a, len(a)-1), aad},
		"other row":          {dek, a, []byte("cards\x00mc-plastic\x00pan")},
		"other key":          {other, a, aad},
		"truncated":          {dek, a[:20], aad},
		"empty":              {dek, nil, aad},
	} {
		_, err := f.hsm.DecryptData(tc.key, tc.sealed, tc.aad)
		require.ErrorIs(t, err, hsm.ErrDecrypt, name)
		require.NotContains(t, err.Error(), string(pan), name)
	}

	// Only a DEK encrypts; a DEK hashes nothing.
	zpk := mustImport(t, f.hsm, "zpk", hsm.UsageZPK, keys.TDES, "BFE3DAFE23CB9B570EF4238616F12FD9")
	_, err = f.hsm.EncryptData(zpk, pan, nil)
	require.ErrorIs(t, err, hsm.ErrUsage)
	_, err = f.hsm.DecryptData(zpk, a, aad)
	require.ErrorIs(t, err, hsm.ErrUsage)
	_, err = f.hsm.HashData(dek, pan)
	require.ErrorIs(t, err, hsm.ErrUsage)
	_, err = f.hsm.EncryptData(dek, make([]byte, soft.MaxData+1), nil)
	require.ErrorIs(t, err, hsm.ErrInput)
	_, err = f.hsm.GenerateKey("tdes/dek", hsm.UsageDEK, keys.TDES, 16)
	require.ErrorIs(t, err, hsm.ErrKeyType)

	// The audit log names the key, never the data.
	require.Contains(t, f.log.String(), `"op":"encrypt-data"`)
	require.NotContains(t, f.log.String(), string(pan))
}

// HashData is HMAC-SHA-256 under the keyed-hash key (RFC 4231 test case 2
// cannot be used: the key is held as an AES-256 key, so a key of 32 bytes
// is checked against crypto/hmac).
func TestHashData(t *testing.T) {
	f := newHSM(t, "")
	raw := "4A656665000000000000000000000000000000000000000000000000000000AA"
	k := mustImport(t, f.hsm, "issuer/pan-hmac", hsm.UsageDataHash, keys.AES, raw)
	got, err := f.hsm.HashData(k, []byte("what do ya want for nothing?"))
	require.NoError(t, err)
	m := hmac.New(sha256.New, h(t, raw))
	m.Write([]byte("what do ya want for nothing?"))
	require.Equal(t, m.Sum(nil), got)

	again, err := f.hsm.HashData(k, []byte("what do ya want for nothing?"))
	require.NoError(t, err)
	require.Equal(t, got, again, "deterministic: an index")
	_, err = f.hsm.GenerateKey("short", hsm.UsageDataHash, keys.AES, 16)
	require.ErrorIs(t, err, hsm.ErrKeyType)
	g, err := f.hsm.GenerateKey("gen/pan-hmac", hsm.UsageDataHash, keys.AES, 32)
	require.NoError(t, err)
	_, err = f.hsm.EncryptData(g, []byte("x"), nil)
	require.ErrorIs(t, err, hsm.ErrUsage)
}

// The data keys persist in the keystore like every other key: wrapped
// under the LMK, shown by check value only, and the keystore is 0600.
func TestDataKeysPersist(t *testing.T) {
	path := tempStore(t)
	f := newHSM(t, path)
	dek, err := f.hsm.GenerateKey("issuer/dek", hsm.UsageDEK, keys.AES, 32)
	require.NoError(t, err)
	sealed, err := f.hsm.EncryptData(dek, []byte("5413330089020011"), nil)
	require.NoError(t, err)
	require.NoError(t, f.hsm.Close())

	st, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	g := newHSM(t, path)
	again, err := g.hsm.Lookup("issuer/dek")
	require.NoError(t, err)
	require.Equal(t, dek.KCV, again.KCV)
	plain, err := g.hsm.DecryptData(again, sealed, nil)
	require.NoError(t, err)
	require.Equal(t, "5413330089020011", string(plain))
}

func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 0x01
	return c
}
