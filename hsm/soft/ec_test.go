package soft_test

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/hex"
	"math/big"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/hsm/soft"
)

// A signing key pair signs digests that verify with its public key; a key
// agreement key pair agrees on the same Z as the peer computes.
func TestP256SignAndAgree(t *testing.T) {
	f := newHSM(t, "")
	sh, spub, err := f.hsm.GenerateP256("svc/sign", hsm.UsageECSign)
	require.NoError(t, err)
	require.Equal(t, hsm.UsageECSign, sh.Usage)
	require.Equal(t, 32, sh.Len)
	require.Len(t, sh.KCV, 10)
	require.Equal(t, `EC-SIGN "svc/sign" P-256 KCV `+sh.KCV, sh.String())

	d := sha256.Sum256([]byte("payload"))
	sig, err := f.hsm.SignES256(sh, d[:])
	require.NoError(t, err)
	require.Len(t, sig, 64)
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	require.True(t, ecdsa.Verify(spub, d[:], r, s))
	other := sha256.Sum256([]byte("other"))
	require.False(t, ecdsa.Verify(spub, other[:], r, s))

	eh, epub, err := f.hsm.GenerateP256("svc/enc", hsm.UsageECDH)
	require.NoError(t, err)
	peer, err := ecdh.P256().NewPrivateKey(h(t, "C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721"))
	require.NoError(t, err)
	peerPub, err := ecdsa.ParseUncompressedPublicKey(epub.Curve, peer.PublicKey().Bytes())
	require.NoError(t, err)
	z, err := f.hsm.ECDH(eh, peerPub)
	require.NoError(t, err)
	mine, err := epub.ECDH()
	require.NoError(t, err)
	want, err := peer.ECDH(mine)
	require.NoError(t, err)
	require.Equal(t, want, z)

	got, err := f.hsm.PublicP256(eh)
	require.NoError(t, err)
	require.True(t, got.Equal(epub))

	log := f.log.String()
	require.Contains(t, log, `"op":"generate-p256"`)
	require.Contains(t, log, `"op":"sign-es256"`)
	require.Contains(t, log, `"op":"ecdh"`)
	require.Contains(t, log, `"jwk_thumbprint"`)
	require.NotContains(t, strings.ToUpper(log), hx(z))
}

// A key pair serves only its usage; symmetric usages never make key
// pairs, and key pairs never leave the module.
func TestP256Usage(t *testing.T) {
	f := newHSM(t, "")
	sh, spub, err := f.hsm.GenerateP256("svc/sign", hsm.UsageECSign)
	require.NoError(t, err)
	eh, _, err := f.hsm.GenerateP256("svc/enc", hsm.UsageECDH)
	require.NoError(t, err)
	d := sha256.Sum256([]byte("x"))

	_, err = f.hsm.SignES256(eh, d[:])
	var ue *hsm.UsageError
	require.ErrorAs(t, err, &ue)
	require.Equal(t, hsm.UsageECDH, ue.Have)
	_, err = f.hsm.ECDH(sh, spub)
	require.ErrorIs(t, err, hsm.ErrUsage)

	zpk := mustImport(t, f.hsm, "zpk", hsm.UsageZPK, keys.TDES, "0123456789ABCDEFFEDCBA9876543210")
	_, err = f.hsm.SignES256(zpk, d[:])
	require.ErrorIs(t, err, hsm.ErrUsage)
	_, err = f.hsm.PublicP256(zpk)
	require.ErrorIs(t, err, hsm.ErrUsage)

	_, _, err = f.hsm.GenerateP256("x", hsm.UsageZPK)
	require.ErrorIs(t, err, hsm.ErrUsage)
	_, err = f.hsm.GenerateKey("y", hsm.UsageECSign, keys.AES, 32)
	require.ErrorIs(t, err, hsm.ErrKeyType)
	_, err = f.hsm.ImportKey("y", hsm.UsageECDH, keys.MustHex(keys.AES, strings.Repeat("1F", 32)))
	require.ErrorIs(t, err, hsm.ErrKeyType)
	_, _, err = f.hsm.GenerateP256("svc/sign", hsm.UsageECSign)
	require.ErrorIs(t, err, hsm.ErrExists)

	kek, err := f.hsm.GenerateKey("kek", hsm.UsageKEK, keys.AES, 32)
	require.NoError(t, err)
	_, err = f.hsm.ExportKey(sh, kek)
	require.ErrorIs(t, err, hsm.ErrUsage)

	_, err = f.hsm.SignES256(sh, d[:16])
	require.ErrorIs(t, err, hsm.ErrInput)
	_, err = f.hsm.ECDH(eh, nil)
	require.ErrorIs(t, err, hsm.ErrInput)
	require.Contains(t, f.log.String(), `"result":"refused"`)
}

// Key pairs are sealed in the keystore under the LMK and come back, with
// the same public key, when the keystore is opened again.
func TestP256SurvivesReopen(t *testing.T) {
	path := tempStore(t)
	f := newHSM(t, path)
	sh, spub, err := f.hsm.GenerateP256("svc/sign", hsm.UsageECSign)
	require.NoError(t, err)
	eh, epub, err := f.hsm.GenerateP256("svc/enc", hsm.UsageECDH)
	require.NoError(t, err)
	require.NoError(t, f.hsm.Close())

	file, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Contains(t, string(file), `"alg": "P-256"`)
	require.Contains(t, string(file), `"usage": "EC-SIGN"`)

	g := newHSM(t, path)
	sh2, err := g.hsm.Lookup("svc/sign")
	require.NoError(t, err)
	require.Equal(t, sh, sh2)
	pub, err := g.hsm.PublicP256(sh2)
	require.NoError(t, err)
	require.True(t, pub.Equal(spub))
	eh2, err := g.hsm.Lookup("svc/enc")
	require.NoError(t, err)
	require.Equal(t, eh, eh2)
	pub, err = g.hsm.PublicP256(eh2)
	require.NoError(t, err)
	require.True(t, pub.Equal(epub))
	d := sha256.Sum256([]byte("after reopen"))
	sig, err := g.hsm.SignES256(sh2, d[:])
	require.NoError(t, err)
	require.True(t, ecdsa.Verify(spub, d[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])))

	// An altered check value is caught on load.
	require.NoError(t, g.hsm.Close())
	bad := strings.Replace(string(file), `"kcv": "`+sh.KCV+`"`, `"kcv": "0000000000"`, 1)
	require.NotEqual(t, string(file), bad)
	require.NoError(t, os.WriteFile(path, []byte(bad), 0o600))
	_, err = soft.Open(soft.Config{LMK: testLMK, Path: path})
	require.ErrorIs(t, err, soft.ErrKeystore)
}

// The same random source gives the same key pair.
func TestP256Deterministic(t *testing.T) {
	open := func() *soft.HSM {
		s, err := soft.Open(soft.Config{LMK: testLMK, Rand: rand.NewChaCha8([32]byte{9})})
		require.NoError(t, err)
		return s
	}
	a, b := open(), open()
	_, pa, err := a.GenerateP256("k", hsm.UsageECDH)
	require.NoError(t, err)
	hb, pb, err := b.GenerateP256("k", hsm.UsageECDH)
	require.NoError(t, err)
	require.True(t, pa.Equal(pb))
	raw, err := pa.Bytes()
	require.NoError(t, err)
	require.NotContains(t, hb.String(), hex.EncodeToString(raw))
}

// An imported key pair works as a generated one and keeps its public key.
func TestP256Import(t *testing.T) {
	f := newHSM(t, "")
	k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), h(t, "C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721"))
	require.NoError(t, err)
	hd, err := f.hsm.ImportP256("imported", hsm.UsageECSign, k)
	require.NoError(t, err)
	pub, err := f.hsm.PublicP256(hd)
	require.NoError(t, err)
	require.True(t, pub.Equal(&k.PublicKey))
	require.Contains(t, f.log.String(), `"op":"import-p256"`)
	require.NotContains(t, strings.ToUpper(f.log.String()), "C9AFA9D845BA7516")

	_, err = f.hsm.ImportP256("x", hsm.UsageKEK, k)
	require.ErrorIs(t, err, hsm.ErrUsage)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), nil)
	require.NoError(t, err)
	_, err = f.hsm.ImportP256("x", hsm.UsageECDH, p384)
	require.ErrorIs(t, err, hsm.ErrKeyType)
	_, err = f.hsm.ImportP256("x", hsm.UsageECDH, nil)
	require.ErrorIs(t, err, hsm.ErrKeyType)
}
