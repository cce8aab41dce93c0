package hce

import (
	"encoding/hex"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/keys"
)

func h(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func cvn(t *testing.T, name string) *cryptogram.CVN {
	t.Helper()
	c, err := cryptogram.Lookup(name)
	require.NoError(t, err)
	return c
}

// The batch is the EMV common session key per ATC: the published vector
// (MK 0123..3210, ATC 001C) comes out as the credential for ATC 001C.
func TestDeriveBatchKnownAnswer(t *testing.T) {
	mk := keys.MustHex(keys.TDES, "0123456789ABCDEFFEDCBA9876543210")
	creds, err := DeriveBatch(cvn(t, "mc20"), mk, 0x001A, 3)
	require.NoError(t, err)
	require.Len(t, creds, 3)
	require.Equal(t, uint16(0x001C), creds[2].ATC)
	require.Equal(t, h("E9FB384AF807B940FEDCEA613461B0C4"), creds[2].Key.Bytes())
	for i, c := range creds {
		require.Equal(t, uint16(0x001A+i), c.ATC)
		sk, err := cryptogram.SessionKey(cryptogram.SessionEMV, mk, []byte{0, byte(0x1A + i)}, nil)
		require.NoError(t, err)
		require.True(t, sk.Equal(c.Key))
		require.False(t, c.Key.Equal(mk), "R-S5c: a credential is never the master key")
	}
}

func TestDeriveBatchErrors(t *testing.T) {
	mk := keys.MustHex(keys.TDES, "0123456789ABCDEFFEDCBA9876543210")
	for _, name := range []string{"visa10", "mc16", "mc17"} {
		_, err := DeriveBatch(cvn(t, name), mk, 1, 5)
		require.ErrorIs(t, err, ErrCVN, name)
	}
	_, err := DeriveBatch(nil, mk, 1, 5)
	require.ErrorIs(t, err, ErrCVN)
	for _, n := range []int{0, -1, MaxBatch + 1} {
		_, err = DeriveBatch(cvn(t, "visa18"), mk, 1, n)
		require.ErrorIs(t, err, ErrCount)
	}
	_, err = DeriveBatch(cvn(t, "visa18"), mk, 0xFFFE, 3)
	require.ErrorIs(t, err, ErrCount)
	creds, err := DeriveBatch(cvn(t, "visa18"), mk, 0xFFFE, 2)
	require.NoError(t, err)
	require.Equal(t, uint16(0xFFFF), creds[1].ATC)
}

func txTags(iad string, atc uint16) cryptogram.Values {
	return cryptogram.Values{
		cryptogram.TagAmountAuthorised: h("000000012500"),
		cryptogram.TagAmountOther:      h("000000000000"),
		cryptogram.TagTerminalCountry:  h("0158"),
		cryptogram.TagTVR:              h("0000000000"),
		cryptogram.TagCurrency:         h("0901"),
		cryptogram.TagTransactionDate:  h("261124"),
		cryptogram.TagTransactionType:  h("00"),
		cryptogram.TagUnpredictableNum: h("1A2B3C4D"),
		cryptogram.TagAIP:              h("0000"),
		cryptogram.TagATC:              {byte(atc >> 8), byte(atc)},
		cryptogram.TagIssuerAppData:    h(iad),
	}
}

// The phone's cryptogram, made with a single-use key, verifies at the issuer
// from the issuer master key by the ordinary CVN path.
func TestGenerateACVerifiesAtIssuer(t *testing.T) {
	imk := keys.MustHex(keys.TDES, "0123456789ABCDEF0123456789ABCDEF")
	pan, psn := "4895370012345678", "00"
	for _, tc := range []struct {
		cvn string
		iad string
	}{
		{"visa18", "06011203A00000"},
		{"visa22", "1F2201A000000000" + "000000000000000000000000000000000000000000000000"},
		{"mc20", "011403000000000000000000"},
		{"mc21", "0115A50000000000" + "0000" + "0000000000000000"},
	} {
		t.Run(tc.cvn, func(t *testing.T) {
			c := cvn(t, tc.cvn)
			mk, err := c.DeriveMK(imk, pan, psn)
			require.NoError(t, err)
			creds, err := DeriveBatch(c, mk, 7, 2)
			require.NoError(t, err)
			tags := txTags(tc.iad, 8)
			ac, err := GenerateAC(c, creds[1], tags)
			require.NoError(t, err)
			require.Len(t, ac, 8)
			require.NoError(t, c.VerifyARQC(mk, tags, ac))

			// Wrong credential for the ATC: refused before any MAC.
			_, err = GenerateAC(c, creds[0], tags)
			require.ErrorIs(t, err, ErrATC)
			// Replaying the ATC with another amount fails at the issuer.
			tags[cryptogram.TagAmountAuthorised] = h("000000099900")
			require.ErrorIs(t, c.VerifyARQC(mk, tags, ac), cryptogram.ErrMismatch)
		})
	}
	_, err := GenerateAC(cvn(t, "mc16"), Credential{ATC: 1, Key: imk}, txTags("0110A00000000000000000", 1))
	require.ErrorIs(t, err, ErrCVN)
}

// R-S5b: each credential serves one transaction and is gone once taken.
func TestStoreSingleUse(t *testing.T) {
	mk := keys.MustHex(keys.TDES, "0123456789ABCDEFFEDCBA9876543210")
	creds, err := DeriveBatch(cvn(t, "visa18"), mk, 1, 3)
	require.NoError(t, err)
	s := NewStore(1)
	require.True(t, s.NeedsReplenish())
	require.NoError(t, s.Add(creds[2], creds[0], creds[1]))
	require.Equal(t, 3, s.Len())
	require.False(t, s.NeedsReplenish())
	next, ok := s.NextATC()
	require.True(t, ok)
	require.Equal(t, uint16(1), next)

	seen := map[uint16]bool{}
	for i := range 3 {
		c, err := s.Take()
		require.NoError(t, err)
		require.Equal(t, uint16(i+1), c.ATC, "oldest ATC first")
		require.False(t, seen[c.ATC])
		seen[c.ATC] = true
		require.True(t, s.Used(c.ATC))
	}
	require.True(t, s.NeedsReplenish())
	_, err = s.Take()
	require.ErrorIs(t, err, ErrExhausted)
	_, ok = s.NextATC()
	require.False(t, ok)

	// A used key can never come back, even in a new batch.
	require.ErrorIs(t, s.Add(creds[0]), ErrDuplicate)
	more, err := DeriveBatch(cvn(t, "visa18"), mk, 4, 2)
	require.NoError(t, err)
	require.ErrorIs(t, s.Add(more[0], more[0]), ErrDuplicate)
	require.Equal(t, 0, s.Len(), "a refused batch loads nothing")
	require.NoError(t, s.Add(more...))
	require.Equal(t, 2, s.Len())
	require.False(t, s.NeedsReplenish(), "2 left, low-water mark 1")
	require.Error(t, s.Add(Credential{ATC: 99}))

	s.Discard()
	require.Equal(t, 0, s.Len())
	require.True(t, s.Used(4) && s.Used(5))
}

func TestNoKeyInOutput(t *testing.T) {
	k := keys.MustHex(keys.TDES, "0123456789ABCDEFFEDCBA9876543210")
	c := Credential{ATC: 0x12, Key: k}
	for _, out := range []string{c.String(), fmt.Sprintf("%v %+v", c, c), NewStore(0).String()} {
		require.NotContains(t, out, "0123456789")
	}
	require.Contains(t, c.String(), "0012")
}
