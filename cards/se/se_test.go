package se

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/keys"
)

type applet struct{ aid []byte }

func (a applet) AID() []byte { return a.aid }

var (
	isdAID   = []byte{0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00}
	bankAAID = []byte{0xA0, 0x00, 0x00, 0x01, 0x51, 0x53, 0x50, 0x01}
	bankBAID = []byte{0xA0, 0x00, 0x00, 0x01, 0x51, 0x53, 0x50, 0x02}
	visaAID  = []byte{0xA0, 0x00, 0x00, 0x00, 0x03, 0x10, 0x10}
	mcAID    = []byte{0xA0, 0x00, 0x00, 0x00, 0x04, 0x10, 0x10}
	keyA     = keys.MustHex(keys.AES, "404142434445464748494A4B4C4D4E4F")
	keyB     = keys.MustHex(keys.AES, "505152535455565758595A5B5C5D5E5F")
	keyISD   = keys.MustHex(keys.TDES, "0123456789ABCDEFFEDCBA9876543210")
)

func newSE(t *testing.T) *SE {
	t.Helper()
	s := New(bytes.NewReader(bytes.Repeat([]byte{0x42}, 4096)))
	require.NoError(t, s.CreateDomain(isdAID, "SE issuer", keyISD))
	require.NoError(t, s.CreateDomain(bankAAID, "bank A", keyA))
	require.NoError(t, s.CreateDomain(bankBAID, "bank B", keyB))
	return s
}

// R-G5d: each domain opens only with its own key; a session reaches only its
// own domain's data and applet.
func TestFirewall(t *testing.T) {
	s := newSE(t)
	a, err := s.Open(bankAAID, keyA)
	require.NoError(t, err)
	require.NoError(t, a.Put("icc-mk", []byte{1, 2, 3}))
	require.NoError(t, a.Install(applet{visaAID}))

	b, err := s.Open(bankBAID, keyB)
	require.NoError(t, err)
	require.NoError(t, b.Put("icc-mk", []byte{9, 9, 9}))
	require.NoError(t, b.Install(applet{mcAID}))

	// Bank B's key does not open bank A's domain, nor does the SE issuer's.
	for _, k := range []keys.Key{keyB, keyISD, keys.MustHex(keys.AES, "404142434445464748494A4B4C4D4E40")} {
		_, err = s.Open(bankAAID, k)
		require.ErrorIs(t, err, ErrAuth, "R-G5d")
		require.NotContains(t, err.Error(), "4041424344")
	}

	// Each session sees its own data only.
	v, ok, err := a.Get("icc-mk")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, []byte{1, 2, 3}, v)
	v, _, _ = b.Get("icc-mk")
	require.Equal(t, []byte{9, 9, 9}, v)

	// B cannot install an applet under A's applet AID.
	require.ErrorIs(t, b.Install(applet{visaAID}), ErrExists)

	// The contactless side reaches applets, never data.
	require.Len(t, s.Selectable(), 2)
	require.NotNil(t, s.Select(visaAID))
	require.Nil(t, s.Select(bankAAID), "a domain is not selectable over contactless")

	// Returned data is a copy: changing it does not change the domain.
	v[0] = 0
	v2, _, _ := b.Get("icc-mk")
	require.Equal(t, byte(9), v2[0])
}

func TestLockHidesApplet(t *testing.T) {
	s := newSE(t)
	a, err := s.Open(bankAAID, keyA)
	require.NoError(t, err)
	require.NoError(t, a.Install(applet{visaAID}))
	require.NoError(t, a.Lock())
	require.True(t, a.Locked())
	require.Nil(t, s.Select(visaAID))
	require.Empty(t, s.Selectable())
	require.Contains(t, s.String(), "locked")
	a2, err := s.Open(bankAAID, keyA)
	require.NoError(t, err, "the owner can still open a locked domain")
	require.NoError(t, a2.Unlock())
	require.NotNil(t, s.Select(visaAID))
}

func TestSessionClose(t *testing.T) {
	s := newSE(t)
	a, err := s.Open(bankAAID, keyA)
	require.NoError(t, err)
	a.Close()
	require.ErrorIs(t, a.Put("x", nil), ErrClosed)
	_, _, err = a.Get("x")
	require.ErrorIs(t, err, ErrClosed)
	require.ErrorIs(t, a.Install(applet{visaAID}), ErrClosed)
	require.ErrorIs(t, a.Lock(), ErrClosed)
	require.Equal(t, "session(closed)", a.String())
	require.Nil(t, a.AID())
}

func TestDeleteAndNames(t *testing.T) {
	s := newSE(t)
	a, err := s.Open(bankAAID, keyA)
	require.NoError(t, err)
	require.NoError(t, a.Put("b", []byte{1}))
	require.NoError(t, a.Put("a", []byte{2}))
	n, err := a.Names()
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b"}, n)
	require.NoError(t, a.Install(applet{visaAID}))
	require.NoError(t, a.Delete())
	n, _ = a.Names()
	require.Empty(t, n)
	got, err := a.Applet()
	require.NoError(t, err)
	require.Nil(t, got)
}

func TestCreateDomainErrors(t *testing.T) {
	s := newSE(t)
	require.ErrorIs(t, s.CreateDomain(bankAAID, "again", keyA), ErrExists)
	require.ErrorIs(t, s.CreateDomain([]byte{1, 2, 3}, "short", keyA), ErrAID)
	require.ErrorIs(t, s.CreateDomain(visaAID, "no key", keys.Key{}), ErrKey)
	require.ErrorIs(t, s.CreateDomain(visaAID, "single DES", keys.MustHex(keys.TDES, "0123456789ABCDEF")), ErrKey)
	_, err := s.Open(visaAID, keyA)
	require.ErrorIs(t, err, ErrNoDomain)
	_, err = s.Owner(visaAID)
	require.ErrorIs(t, err, ErrNoDomain)
	o, err := s.Owner(bankBAID)
	require.NoError(t, err)
	require.Equal(t, "bank B", o)
	require.Len(t, s.Domains(), 3)
	_, err = New(nil).Open(bankAAID, keyA)
	require.Error(t, err)
}

// Keys never print: not in the SE, not in sessions.
func TestNoKeyInOutput(t *testing.T) {
	s := newSE(t)
	a, _ := s.Open(bankAAID, keyA)
	for _, out := range []string{s.String(), a.String(), fmt.Sprintf("%v %+v", s, a)} {
		require.NotContains(t, out, "404142")
		require.NotContains(t, out, "0123456789")
	}
}
