package gp_test

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/gp"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/scp03"
)

func agreementSet(b byte) scp03.StaticKeys {
	k := func(o byte) keys.Key { return keys.MustNew(keys.AES, bytes.Repeat([]byte{b + o}, 16)) }
	return scp03.StaticKeys{ENC: k(0), MAC: k(1), DEK: k(2)}
}

// R-M2: a key set sent under a key agreed with the SE's certified key
// opens only with the SE's private key, never with the K-DEK of the
// session; a certificate of another authority, or of another SE, is
// refused.
func TestConfidentialPutKey(t *testing.T) {
	ca, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	se, err := ecdh.P256().GenerateKey(rand.Reader)
	require.NoError(t, err)
	cert, err := gp.SignSECert(ca, "479050400000010001", se.PublicKey(), rand.Reader)
	require.NoError(t, err)
	pub, err := gp.VerifySECert(&ca.PublicKey, "479050400000010001", append([]byte{0x7F, 0x21, 0x81, byte(len(cert))}, cert...))
	require.NoError(t, err)
	require.True(t, pub.Equal(se.PublicKey()))
	_, err = gp.VerifySECert(&ca.PublicKey, "479050400000010002", cert)
	require.ErrorIs(t, err, gp.ErrCertificate, "another SE's")
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	_, err = gp.VerifySECert(&other.PublicKey, "479050400000010001", cert)
	require.ErrorIs(t, err, gp.ErrCertificate, "another authority's")
	_, err = gp.VerifySECert(&ca.PublicKey, "479050400000010001", cert[:40])
	require.ErrorIs(t, err, gp.ErrMalformed)

	ks := agreementSet(0x70)
	cmd, err := gp.PutKeyAgreedCmd(0x30, 0x31, pub, ks, rand.Reader)
	require.NoError(t, err)
	data := cmd[5 : 5+int(cmd[4])]
	require.True(t, gp.AgreedPutKey(data))
	kvn, got, err := gp.ParsePutKeyAgreed(cmd[3], data, se)
	require.NoError(t, err)
	require.Equal(t, byte(0x31), kvn)
	require.Equal(t, ks.DEK.Bytes(), got.DEK.Bytes())
	for _, k := range []keys.Key{ks.ENC, ks.MAC, ks.DEK} {
		require.NotContains(t, string(cmd), string(k.Bytes()), "no key in clear")
	}
	// The session's K-DEK (here the initial set's) opens nothing of it.
	_, _, err = gp.ParsePutKey(cmd[3], append([]byte{data[0]}, data[3+65:]...), agreementSet(0x50).DEK)
	require.Error(t, err)
	// Nor does another SE's key.
	stranger, err := ecdh.P256().GenerateKey(rand.Reader)
	require.NoError(t, err)
	_, _, err = gp.ParsePutKeyAgreed(cmd[3], data, stranger)
	require.Error(t, err)
}

// FuzzAgreement: PUT KEY data and SE certificates, from outside the SE and
// the TSM, never panic the parsers.
func FuzzAgreement(f *testing.F) {
	se, _ := ecdh.P256().GenerateKey(rand.Reader)
	ca, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	cmd, _ := gp.PutKeyAgreedCmd(0x30, 0x31, se.PublicKey(), agreementSet(0x10), rand.Reader)
	cert, _ := gp.SignSECert(ca, "SE1", se.PublicKey(), rand.Reader)
	f.Add(cmd[5:])
	f.Add(cert)
	f.Add([]byte{0x31, 0xB0, 0x41})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _, _ = gp.ParsePutKeyAgreed(gp.PutKeyP2, b, se)
		_, _ = gp.VerifySECert(&ca.PublicKey, "SE1", b)
	})
}

// An authority whose key stays in a security module (signing an ES256
// digest, r||s) makes certificates VerifySECert accepts; a signature of
// the wrong length is refused.
func TestCertifySE(t *testing.T) {
	ca, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	se, err := ecdh.P256().GenerateKey(rand.Reader)
	require.NoError(t, err)
	sign := func(digest []byte) ([]byte, error) {
		r, s, err := ecdsa.Sign(rand.Reader, ca, digest)
		if err != nil {
			return nil, err
		}
		return append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...), nil
	}
	cert, err := gp.CertifySE("479050400000010001", se.PublicKey(), sign)
	require.NoError(t, err)
	pub, err := gp.VerifySECert(&ca.PublicKey, "479050400000010001", cert)
	require.NoError(t, err)
	require.True(t, pub.Equal(se.PublicKey()))
	_, err = gp.VerifySECert(&ca.PublicKey, "479050400000010002", cert)
	require.ErrorIs(t, err, gp.ErrCertificate)
	_, err = gp.CertifySE("SE1", se.PublicKey(), func([]byte) ([]byte, error) { return make([]byte, 63), nil })
	require.ErrorIs(t, err, gp.ErrParam)
	_, err = gp.CertifySE("SE1", se.PublicKey(), nil)
	require.ErrorIs(t, err, gp.ErrParam)
}
