package oda

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Fuzz kinds: the low bits pick the object; fuzzSigned marks data as a
// signature to recover as is. Without it, data is a recovered block which
// the target signs first with the right test key (when it fits), so the
// fuzzer reaches every check after the RSA step.
const (
	fuzzIssuerCert = iota
	fuzzICCCert
	fuzzSSAD
	fuzzDDA
	fuzzCDA
	fuzzKinds

	fuzzSigned = 0x80
)

// FuzzRecover feeds certificates and signatures, or blocks to be signed,
// to every recovery and verification function: none may panic, every
// failure must be an *Error, and every success must satisfy the format.
func FuzzRecover(f *testing.F) {
	c := chainA(f)
	ca, ipk, icc := c.caPub.Key(), c.issuer.PublicKey(), c.icc.PublicKey()
	plain := func(k PublicKey, sig []byte) []byte {
		b, err := k.recoverBlock(ObjectSDAD, sig)
		require.NoError(f, err)
		return b
	}
	ic, cc := c.issuer.Certificate, c.icc.Certificate
	ssad, err := c.issuer.SignStaticData([2]byte{0xDA, 0xC5}, c.static)
	require.NoError(f, err)
	tdd := hx("11223344")
	dda, err := c.icc.SignDDA(hx("0102"), tdd)
	require.NoError(f, err)
	resp := hx("9F2701809F36020001")
	tdhc, err := TransactionData{Response: resp}.Hash()
	require.NoError(f, err)
	cda, err := c.icc.SignCDA(DynamicData{Number: hx("0102"), CID: 0x80, AC: make([]byte, 8), TransactionDataHash: tdhc}, tdd)
	require.NoError(f, err)

	f.Add(byte(fuzzIssuerCert), plain(ca, ic.Data), ic.Remainder, ic.Exponent, c.pan, []byte(nil))
	f.Add(byte(fuzzIssuerCert|fuzzSigned), ic.Data, ic.Remainder, ic.Exponent, c.pan, []byte(nil))
	f.Add(byte(fuzzICCCert), plain(ipk, cc.Data), cc.Remainder, cc.Exponent, c.pan, c.static)
	f.Add(byte(fuzzICCCert|fuzzSigned), cc.Data, cc.Remainder, cc.Exponent, c.pan, c.static)
	f.Add(byte(fuzzSSAD), plain(ipk, ssad), []byte(nil), []byte(nil), "", c.static)
	f.Add(byte(fuzzDDA), plain(icc, dda), []byte(nil), []byte(nil), "", tdd)
	f.Add(byte(fuzzCDA), plain(icc, cda), resp, []byte{0x80}, "", tdd)
	f.Add(byte(fuzzIssuerCert|fuzzSigned), []byte{}, []byte{}, []byte{}, "", []byte{})
	f.Add(byte(fuzzICCCert|fuzzSigned), bytes.Repeat([]byte{0xFF}, 128), []byte{1}, []byte{3}, "1", []byte{})

	f.Fuzz(func(t *testing.T, kind byte, data, rem, exp []byte, pan string, extra []byte) {
		obj := int(kind&^fuzzSigned) % fuzzKinds
		sig := data
		if kind&fuzzSigned == 0 {
			s := c.ca.s
			if obj != fuzzIssuerCert {
				s = c.issuer.s
			}
			if obj == fuzzDDA || obj == fuzzCDA {
				s = c.icc.s
			}
			if out, err := s.sign(data); err == nil {
				sig = out
			}
		}
		var err error
		switch obj {
		case fuzzIssuerCert:
			var k *IssuerPublicKey
			k, err = RecoverIssuerPublicKey(c.caPub, Certificate{Data: sig, Remainder: rem, Exponent: exp}, pan, testNow)
			if err == nil {
				require.NoError(t, k.Validate())
				require.True(t, strings.HasPrefix(pan, k.IssuerID))
				require.GreaterOrEqual(t, len(k.IssuerID), 3)
				require.False(t, k.Expiry.Expired(testNow))
				require.Equal(t, exp, k.Exponent)
				if len(rem) > 0 {
					require.True(t, bytes.HasSuffix(k.Modulus, rem))
				}
			}
		case fuzzICCCert:
			var k *ICCPublicKey
			k, err = RecoverICCPublicKey(ipk, Certificate{Data: sig, Remainder: rem, Exponent: exp}, pan, extra, testNow)
			if err == nil {
				require.NoError(t, k.Validate())
				require.LessOrEqual(t, len(pan), 19)
				require.False(t, k.Expiry.Expired(testNow))
			}
		case fuzzSSAD:
			_, err = VerifyStaticData(ipk, sig, extra)
		case fuzzDDA:
			var d *DynamicData
			d, err = VerifyDDA(icc, sig, extra)
			if err == nil {
				require.LessOrEqual(t, len(d.Number)+len(d.Extra)+1, icc.Size()-sdadOverhead)
			}
		case fuzzCDA:
			var cid byte
			if len(exp) > 0 {
				cid = exp[0]
			}
			var d *DynamicData
			d, err = VerifyCDA(icc, sig, CDAInput{UnpredictableNumber: extra, CID: cid, Transaction: TransactionData{Response: rem}})
			if err == nil {
				require.Equal(t, cid, d.CID)
				require.Len(t, d.AC, ACLen)
				require.Len(t, d.TransactionDataHash, hashLen)
			}
		}
		if err != nil {
			var oe *Error
			require.True(t, errors.As(err, &oe), "%v is not an *Error", err)
			if len(pan) >= 10 {
				require.NotContains(t, err.Error(), pan)
			}
		}
	})
}

// FuzzTransactionDataHash checks the response walker: no panic, and a
// Signed Dynamic Application Data object anywhere between objects never
// changes the hash.
func FuzzTransactionDataHash(f *testing.F) {
	f.Add([]byte{}, hx("9F2701809F36020001"))
	f.Add(hx("0102"), hx("9F2701809F4B03010203DF810182000100"))
	f.Add([]byte{}, hx("00FF9F10"))
	f.Add([]byte{}, hx("9F27"))
	f.Add([]byte{}, hx("5F8181"))
	f.Fuzz(func(t *testing.T, cdol, resp []byte) {
		h, err := TransactionData{CDOL1: cdol, Response: resp}.Hash()
		if err != nil {
			require.ErrorIs(t, err, ErrTLV)
			return
		}
		require.Len(t, h, hashLen)
		withSDAD := append(append([]byte(nil), resp...), hx("9F4B0401020304")...)
		h2, err := TransactionData{CDOL1: cdol, Response: withSDAD}.Hash()
		require.NoError(t, err)
		require.Equal(t, h, h2)
	})
}

// FuzzParseMMYY checks that every date that parses writes back the same.
func FuzzParseMMYY(f *testing.F) {
	for _, s := range []string{"1230", "0000", "1299", "FFFF", "12", ""} {
		f.Add(hx(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseMMYY(b)
		if err != nil {
			require.ErrorIs(t, err, ErrDate)
			return
		}
		out, err := d.MMYY()
		require.NoError(t, err)
		require.Equal(t, b, out[:])
	})
}

// FuzzDecodePAN checks that every PAN that decodes packs back the same.
func FuzzDecodePAN(f *testing.F) {
	for _, s := range []string{"4761739001010010", "476173900101001F", "4761739001010010FFFF", "FF", ""} {
		f.Add(hx(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		pan, err := DecodePAN(b)
		if err != nil {
			require.ErrorIs(t, err, ErrInvalid)
			return
		}
		require.True(t, validPAN(pan))
		out, ok := packDigits(pan, len(b))
		require.True(t, ok)
		require.Equal(t, b, out)
	})
}
