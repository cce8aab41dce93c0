package oda

import (
	"bytes"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestGenerateKeyDeterministic(t *testing.T) {
	for _, e := range []int{3, 65537} {
		t.Run(fmt.Sprint(e), func(t *testing.T) {
			k1, err := GenerateKey(seeded(1), 1024, e)
			require.NoError(t, err)
			k2, err := GenerateKey(seeded(1), 1024, e)
			require.NoError(t, err)
			k3, err := GenerateKey(seeded(2), 1024, e)
			require.NoError(t, err)
			require.True(t, k1.Equal(k2), "same seed, same key")
			require.False(t, k1.PublicKey.Equal(&k3.PublicKey))
			require.Equal(t, 1024, k1.N.BitLen())
			require.Equal(t, e, k1.E)
			require.NoError(t, k1.Validate())
			one := big.NewInt(1)
			for _, p := range k1.Primes {
				require.Equal(t, 512, p.BitLen())
				g := new(big.Int).GCD(nil, nil, new(big.Int).Sub(p, one), big.NewInt(int64(e)))
				require.Zero(t, g.Cmp(one), "p-1 coprime to e")
			}
		})
	}
}

func TestGenerateKeyRejects(t *testing.T) {
	for _, tc := range []struct {
		bits, e int
		want    error
	}{
		{1016, 3, ErrKeyLength},
		{1028, 3, ErrKeyLength},
		{1992, 3, ErrKeyLength},
		{512, 65537, ErrKeyLength},
		{1024, 5, ErrExponent},
		{1024, 17, ErrExponent},
	} {
		_, err := GenerateKey(seeded(1), tc.bits, tc.e)
		require.ErrorIs(t, err, tc.want, "%d bits e=%d", tc.bits, tc.e)
	}
	_, err := GenerateKey(nil, 1024, 3)
	require.ErrorIs(t, err, ErrInvalid)
	_, err = GenerateKey(bytes.NewReader(make([]byte, 10)), 1024, 3)
	require.Error(t, err, "short random source")
	_, err = GenerateKey(zeroReader{}, 1024, 3)
	require.ErrorIs(t, err, ErrInvalid, "a source of zeros never gives a prime")
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestCAKeyLengths shows the EMVCo CA lengths (R-G1): each fixed key of an
// accepted length makes a CA; other lengths are refused.
func TestCAKeyLengths(t *testing.T) {
	require.Equal(t, []int{1024, 1152, 1408, 1984}, CAKeyLengths())
	for _, name := range []string{"ca1024_e3", "ca1152_e65537", "ca1408_e3", "ca1984_e65537"} {
		t.Run(name, func(t *testing.T) {
			k := loadKey(t, name)
			ca, err := NewCA(TestRID, 1, k)
			require.NoError(t, err)
			require.Equal(t, k.N.BitLen(), ca.PublicKey().Key().Bits())
		})
	}
	k1088, err := GenerateKey(seeded(3), 1088, 3)
	require.NoError(t, err)
	_, err = NewCA(TestRID, 1, k1088)
	require.ErrorIs(t, err, ErrKeyLength)
	for _, bits := range []int{768, 1088, 1280, 1536, 2048} {
		_, err := GenerateCA(seeded(1), bits, 3, TestRID, 1)
		require.ErrorIs(t, err, ErrKeyLength, bits)
	}
	_, err = NewCA(TestRID, 1, nil)
	require.ErrorIs(t, err, ErrInvalid)
}

func TestNewSignerRejects(t *testing.T) {
	k := loadKey(t, "issuer1024_e3")
	bad := *k
	bad.D = new(big.Int).Add(k.D, big.NewInt(2))
	_, err := newSigner(&bad, MinKeyBits, 1984)
	require.ErrorIs(t, err, ErrInvalid)

	e5 := *k
	e5.E = 5
	_, err = newSigner(&e5, MinKeyBits, 1984)
	require.ErrorIs(t, err, ErrExponent)

	_, err = newSigner(k, 1152, 1984)
	require.ErrorIs(t, err, ErrKeyLength)
}

func TestSignerCRTAndPlain(t *testing.T) {
	k := loadKey(t, "icc1024_e65537")
	s, err := newSigner(k, MinKeyBits, 1984)
	require.NoError(t, err)
	require.NotNil(t, s.p, "two primes: CRT")
	block := append([]byte{0x6A}, bytes.Repeat([]byte{0x5A}, 127)...)
	sig, err := s.sign(block)
	require.NoError(t, err)
	// Independent check: s^e mod n with math/big.
	got := new(big.Int).Exp(new(big.Int).SetBytes(sig), big.NewInt(65537), k.N)
	require.Equal(t, block, got.FillBytes(make([]byte, 128)))
	// And the same result without the CRT.
	want := new(big.Int).Exp(new(big.Int).SetBytes(block), k.D, k.N)
	require.Equal(t, want.FillBytes(make([]byte, 128)), sig)

	plain := *s
	plain.p = nil
	sig2, err := plain.sign(block)
	require.NoError(t, err)
	require.Equal(t, sig, sig2)

	_, err = s.sign(block[1:])
	require.ErrorIs(t, err, ErrLength)
	_, err = s.sign(bytes.Repeat([]byte{0xFF}, 128))
	require.ErrorIs(t, err, ErrSignature)

	// A fault in the CRT values is caught before a signature leaves.
	faulty := *s
	faulty.dp = new(big.Int).Add(s.dp, big.NewInt(2))
	_, err = faulty.sign(block)
	require.ErrorIs(t, err, errFault)
}

func TestPEM(t *testing.T) {
	for _, name := range []string{"ca1024_e3", "ca1152_e65537"} { // PKCS #1 and PKCS #8
		b, err := os.ReadFile(filepath.Join("testdata", name+".pem"))
		require.NoError(t, err)
		k, err := ParsePrivateKeyPEM(b)
		require.NoError(t, err)
		out, err := MarshalPrivateKeyPEM(k)
		require.NoError(t, err)
		require.Contains(t, string(out), "-----BEGIN PRIVATE KEY-----")
		k2, err := ParsePrivateKeyPEM(out)
		require.NoError(t, err)
		require.True(t, k.Equal(k2))
	}
	secret := "-----BEGIN RSA PRIVATE KEY-----\nc2VjcmV0LWtleS1ieXRlcw==\n-----END RSA PRIVATE KEY-----\n"
	for _, in := range []string{"", "not pem", secret,
		"-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1ieXRlcw==\n-----END PRIVATE KEY-----\n",
		"-----BEGIN CERTIFICATE-----\nc2VjcmV0LWtleS1ieXRlcw==\n-----END CERTIFICATE-----\n"} {
		_, err := ParsePrivateKeyPEM([]byte(in))
		require.ErrorIs(t, err, ErrInvalid)
		require.NotContains(t, err.Error(), "c2VjcmV0")
		require.NotContains(t, err.Error(), "secret")
	}
	_, err := MarshalPrivateKeyPEM(&rsa.PrivateKey{})
	require.ErrorIs(t, err, ErrInvalid)
}

func TestPublicKey(t *testing.T) {
	k := loadKey(t, "issuer1152_e65537")
	p, err := NewPublicKey(&k.PublicKey)
	require.NoError(t, err)
	require.Equal(t, 144, p.Size())
	require.Equal(t, 1152, p.Bits())
	require.Equal(t, hx("010001"), p.Exponent)
	r, err := p.RSA()
	require.NoError(t, err)
	require.True(t, r.Equal(&k.PublicKey))
	require.Contains(t, p.String(), "RSA-1152 e=010001 n=")

	p3, err := NewPublicKey(&loadKey(t, "ca1024_e3").PublicKey)
	require.NoError(t, err)
	require.Equal(t, hx("03"), p3.Exponent)

	_, err = NewPublicKey(&rsa.PublicKey{N: k.N, E: 7})
	require.ErrorIs(t, err, ErrExponent)
	_, err = NewPublicKey(nil)
	require.ErrorIs(t, err, ErrKeyLength)
	_, err = PublicKey{Modulus: p.Modulus, Exponent: hx("0003")}.RSA()
	require.ErrorIs(t, err, ErrExponent, "exponent must be minimally encoded")
	require.ErrorIs(t, PublicKey{Modulus: make([]byte, 249), Exponent: hx("03")}.Validate(), ErrKeyLength)
}

// TestNoPrivateKeyInOutput prints the signers every way a log might.
func TestNoPrivateKeyInOutput(t *testing.T) {
	c := chainA(t)
	var out bytes.Buffer
	for _, v := range []any{c.ca, c.issuer, c.icc} {
		fmt.Fprintf(&out, "%v|%+v|%#v|%s|%x|%d\n", v, v, v, v, v, v)
		slog.New(slog.NewJSONHandler(&out, nil)).Info("signer", "v", v)
		slog.New(slog.NewTextHandler(&out, nil)).Info("signer", "v", v)
		b, _ := json.Marshal(v)
		out.Write(b)
	}
	s := out.String()
	for _, name := range []string{"ca1024_e3", "issuer1024_e3", "icc1024_e3"} {
		k := loadKey(t, name)
		for _, secret := range []*big.Int{k.D, k.Primes[0], k.Primes[1]} {
			require.NotContains(t, s, secret.String())
			require.NotContains(t, s, fmt.Sprintf("%x", secret))
			require.NotContains(t, strings.ToLower(s), fmt.Sprintf("%x", secret.Bytes()[:8]))
		}
	}
	require.Contains(t, s, "CA F000000001/92 RSA-1024 e=03")
	for _, v := range []fmt.Stringer{(*CA)(nil), (*Issuer)(nil), (*ICC)(nil)} {
		require.Contains(t, v.String(), "no key")
	}
}
