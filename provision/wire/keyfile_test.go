package wire_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/provision/wire"
)

// A party written to a key file reads back with the same keys, and the
// file is 0600 (R-G5 keys never readable by others).
func TestPartyKeyFileRoundTrip(t *testing.T) {
	p := newSoftKeyed(t, "token-service", 1)
	dir := t.TempDir()
	path := filepath.Join(dir, "token-service.jose.pem")
	require.NoError(t, p.WriteFile(path, false))
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, fs.FileMode(0o600), fi.Mode().Perm())

	got, err := wire.LoadParty(path)
	require.NoError(t, err)
	require.Equal(t, p.Public().SignKID, got.Public().SignKID)
	require.Equal(t, p.Public().EncKID, got.Public().EncKID)
	require.Equal(t, "token-service", got.Name())

	require.ErrorIs(t, p.WriteFile(path, false), fs.ErrExist, "an existing file is kept")
	require.NoError(t, p.WriteFile(path, true))

	require.NoError(t, os.Chmod(path, 0o644))
	_, err = wire.LoadParty(path)
	require.ErrorIs(t, err, wire.ErrKeyFileMode)
}

// A trust file reads back as the same list.
func TestTrustFileRoundTrip(t *testing.T) {
	a, b := newSoftKeyed(t, "token-service", 1), newSoftKeyed(t, "wallet-provider", 2)
	tl, err := wire.NewTrustList(a.Public(), b.Public())
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "directory.json")
	require.NoError(t, wire.WriteTrustFile(path, tl, false))
	got, err := wire.LoadTrustList(path)
	require.NoError(t, err)
	require.Equal(t, []string{"token-service", "wallet-provider"}, got.Names())
	k, ok := got.Party("wallet-provider")
	require.True(t, ok)
	require.Equal(t, b.Public().SignKID, k.SignKID)

	_, err = wire.LoadTrustList(filepath.Join(t.TempDir(), "missing.json"))
	require.ErrorIs(t, err, wire.ErrConfig)
}

func pemBlock(t testing.TB, k *ecdsa.PrivateKey, party, use string) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	require.NoError(t, err)
	h := map[string]string{}
	if party != "" {
		h[wire.PEMHeaderParty] = party
	}
	if use != "" {
		h[wire.PEMHeaderUse] = use
	}
	return pem.EncodeToMemory(&pem.Block{Type: wire.PEMTypePartyKey, Headers: h, Bytes: der})
}

// Every malformed key file is refused with ErrKey and no key material in
// the error.
func TestParsePartyPEMRefuses(t *testing.T) {
	p := newSoftKeyed(t, "issuer", 3)
	good, err := p.MarshalPEM()
	require.NoError(t, err)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), seeded(9))
	require.NoError(t, err)
	cases := map[string][]byte{
		"empty":         nil,
		"one key":       pemBlock(t, p.sign, "issuer", wire.UseSign),
		"two sign keys": append(pemBlock(t, p.sign, "issuer", wire.UseSign), pemBlock(t, p.enc, "issuer", wire.UseSign)...),
		"same key":      append(pemBlock(t, p.sign, "issuer", wire.UseSign), pemBlock(t, p.sign, "issuer", wire.UseEnc)...),
		"two names":     append(pemBlock(t, p.sign, "issuer", wire.UseSign), pemBlock(t, p.enc, "other", wire.UseEnc)...),
		"no use":        append(pemBlock(t, p.sign, "issuer", wire.UseSign), pemBlock(t, p.enc, "issuer", "")...),
		"no name":       append(pemBlock(t, p.sign, "", wire.UseSign), pemBlock(t, p.enc, "", wire.UseEnc)...),
		"P-384":         append(pemBlock(t, p.sign, "issuer", wire.UseSign), pemBlock(t, p384, "issuer", wire.UseEnc)...),
		"three blocks":  append(append([]byte{}, good...), pemBlock(t, p.enc, "issuer", wire.UseEnc)...),
		"trailing junk": append(append([]byte{}, good...), "junk"...),
		"not a key": append(pemBlock(t, p.sign, "issuer", wire.UseSign),
			pem.EncodeToMemory(&pem.Block{Type: wire.PEMTypePartyKey, Headers: map[string]string{"Party": "issuer", "Use": "enc"}, Bytes: []byte("x")})...),
		"too long": bytes.Repeat([]byte("A"), wire.MaxKeyFile+1),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := wire.ParsePartyPEM(b)
			require.Error(t, err)
			require.True(t, errors.Is(err, wire.ErrKey), "%v", err)
			require.NotContains(t, err.Error(), p.sign.D.String())
		})
	}
	_, err = wire.ParsePartyPEM(good)
	require.NoError(t, err)
}

// FuzzParsePartyPEM: a party key file comes from disk, so any bytes are
// either a party or an ErrKey, never a panic.
func FuzzParsePartyPEM(f *testing.F) {
	p := newSoftKeyed(f, "wallet-provider", 4)
	good, err := p.MarshalPEM()
	require.NoError(f, err)
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte(strings.Replace(string(good), "Use: enc", "Use: sig", 1)))
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		q, err := wire.ParsePartyPEM(b)
		if err != nil {
			require.ErrorIs(t, err, wire.ErrKey)
			return
		}
		again, err := q.MarshalPEM()
		require.NoError(t, err)
		r, err := wire.ParsePartyPEM(again)
		require.NoError(t, err)
		require.Equal(t, q.Public().SignKID, r.Public().SignKID)
	})
}

// FuzzParseTrustList: the directory file comes from disk, so any bytes
// are either a trust list or an ErrKey, never a panic, and a list read
// writes back to one with the same parties.
func FuzzParseTrustList(f *testing.F) {
	a, b := newSoftKeyed(f, "token-service", 1), newSoftKeyed(f, "wallet-provider", 2)
	tl, err := wire.NewTrustList(a.Public(), b.Public())
	require.NoError(f, err)
	good, err := tl.MarshalJSON()
	require.NoError(f, err)
	f.Add(good)
	f.Add([]byte(`[]`))
	f.Add([]byte(`[{"name":"x","keys":[]}]`))
	f.Add(good[:len(good)/2])
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := wire.ParseTrustList(b)
		if err != nil {
			require.ErrorIs(t, err, wire.ErrKey)
			return
		}
		again, err := got.MarshalJSON()
		require.NoError(t, err)
		back, err := wire.ParseTrustList(again)
		require.NoError(t, err)
		require.Equal(t, got.Names(), back.Names())
	})
}
