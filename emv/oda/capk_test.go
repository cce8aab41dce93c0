package oda

import (
	"crypto/sha1"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestCAPublicKeyChecksumInput(t *testing.T) {
	k := CAPublicKey{RID: TestRID, Index: 0x92, Modulus: hx("C1C2C3"), Exponent: hx("03")}
	want := sha1.Sum(hx("F000000001 92 C1C2C3 03"))
	require.Equal(t, want, k.Checksum())
	k.Exponent = hx("010001")
	want = sha1.Sum(hx("F000000001 92 C1C2C3 010001"))
	require.Equal(t, want, k.Checksum())
}

func TestKeyID(t *testing.T) {
	k := CAPublicKey{RID: TestRID, Index: 0x92}
	require.Equal(t, KeyID{RID: [5]byte{0xF0, 0, 0, 0, 1}, Index: 0x92}, k.ID())
	require.Equal(t, "F000000001/92", k.ID().String())
	require.Contains(t, visaTestCA92.String(), "A000000003/92 RSA-1408 e=03 checksum 429C954A")
}

func TestCAStore(t *testing.T) {
	c := chainA(t)
	expiring := c.caPub
	expiring.Index = 0x99
	expiring.Expiry = time.Date(2026, time.March, 31, 23, 59, 59, 0, time.UTC)
	s, err := NewCAStore(c.caPub, visaTestCA92, expiring)
	require.NoError(t, err)
	require.Equal(t, 3, s.Len())

	k, err := s.Lookup(TestRID, 0x92, testNow)
	require.NoError(t, err)
	require.Equal(t, c.caPub.Modulus, k.Modulus)

	_, err = s.Lookup(TestRID, 0x93, testNow)
	require.ErrorIs(t, err, ErrUnknownCA)
	require.Contains(t, err.Error(), "F000000001/93")
	_, err = s.Lookup([5]byte{0xA0, 0, 0, 0, 4}, 0x92, testNow)
	require.ErrorIs(t, err, ErrUnknownCA)

	_, err = s.Lookup(TestRID, 0x99, testNow)
	require.NoError(t, err)
	_, err = s.Lookup(TestRID, 0x99, time.Date(2026, time.April, 1, 0, 0, 0, 0, time.UTC))
	require.ErrorIs(t, err, ErrExpired)

	// The store keeps its own copy.
	mod := append([]byte(nil), c.caPub.Modulus...)
	var own CAPublicKey = c.caPub
	own.Modulus = mod
	own.Index = 0x50
	require.NoError(t, s.Add(own))
	mod[0] = 0
	k, err = s.Lookup(TestRID, 0x50, testNow)
	require.NoError(t, err)
	require.Equal(t, c.caPub.Modulus, k.Modulus)

	// Invalid keys are refused.
	_, err = NewCAStore(CAPublicKey{RID: TestRID, Modulus: hx("00C5"), Exponent: hx("03")})
	require.ErrorIs(t, err, ErrKeyLength)
	require.ErrorIs(t, s.Add(CAPublicKey{Modulus: c.caPub.Modulus, Exponent: hx("11")}), ErrExponent)
	require.ErrorIs(t, s.Add(CAPublicKey{Modulus: hx("C4"), Exponent: hx("03")}), ErrKeyLength, "even modulus")

	var zero CAStore
	_, err = zero.Lookup(TestRID, 0x92, testNow)
	require.ErrorIs(t, err, ErrUnknownCA)
}

// TestCAStoreChain looks the CA key up by the RID of the AID and tag 8F, as
// a kernel does, then recovers the issuer key.
func TestCAStoreChain(t *testing.T) {
	c := chainA(t)
	s, err := NewCAStore(c.caPub)
	require.NoError(t, err)
	for _, tc := range []struct {
		name  string
		index byte
		want  error
	}{
		{"right index", 0x92, nil},
		{"wrong CA index", 0x91, ErrUnknownCA},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ca, err := s.Lookup(TestRID, tc.index, testNow)
			if tc.want != nil {
				require.ErrorIs(t, err, tc.want)
				return
			}
			require.NoError(t, err)
			_, err = RecoverIssuerPublicKey(ca, c.issuer.Certificate, c.pan, testNow)
			require.NoError(t, err)
		})
	}
}

func TestCAStoreConcurrent(t *testing.T) {
	c := chainA(t)
	var s CAStore
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			k := c.caPub
			k.Index = byte(i)
			require.NoError(t, s.Add(k))
			_, _ = s.Lookup(TestRID, byte(i), testNow)
		}(i)
	}
	wg.Wait()
	require.Equal(t, 8, s.Len())
}

func TestRevocationList(t *testing.T) {
	c := chainA(t)
	ipk, err := RecoverIssuerPublicKey(c.caPub, c.issuer.Certificate, c.pan, testNow)
	require.NoError(t, err)

	var l RevocationList
	require.NoError(t, l.Check(ipk))
	l.Add(KeyID{TestRID, 0x92}, [3]byte{0x00, 0x01, 0x24})
	l.Add(KeyID{TestRID, 0x91}, [3]byte{0x00, 0x01, 0x23})
	require.NoError(t, l.Check(ipk), "other serial, other CA key")
	l.Add(KeyID{TestRID, 0x92}, [3]byte{0x00, 0x01, 0x23})
	err = l.Check(ipk)
	require.ErrorIs(t, err, ErrRevoked)
	require.ErrorIs(t, l.Check(nil), ErrInvalid)
}
