package oda

import (
	"bytes"
	"crypto/sha1"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestChainRoundTrip(t *testing.T) {
	for _, spec := range chainSpecs {
		t.Run(spec.name, func(t *testing.T) {
			c := newChain(t, spec)
			require.Len(t, c.issuer.Certificate.Data, c.caPub.Key().Size())
			require.Len(t, c.issuer.Certificate.Remainder, spec.issuerRem)
			require.Len(t, c.icc.Certificate.Data, c.issuer.PublicKey().Size())
			require.Len(t, c.icc.Certificate.Remainder, spec.iccRem)

			ipk, err := RecoverIssuerPublicKey(c.caPub, c.issuer.Certificate, c.pan, testNow)
			require.NoError(t, err)
			require.True(t, ipk.PublicKey.Equal(c.issuer.PublicKey()))
			require.Equal(t, "476173", ipk.IssuerID)
			require.Equal(t, Date{2030, time.December}, ipk.Expiry)
			require.Equal(t, [3]byte{0x00, 0x01, 0x23}, ipk.Serial)
			require.Equal(t, HashSHA1, ipk.HashAlg)
			require.Equal(t, AlgRSA, ipk.PKAlg)
			require.Equal(t, KeyID{TestRID, 0x92}, ipk.CA)

			icc, err := RecoverICCPublicKey(ipk.PublicKey, c.icc.Certificate, c.pan, c.static, testNow)
			require.NoError(t, err)
			require.True(t, icc.PublicKey.Equal(c.icc.PublicKey()))
			require.Equal(t, [3]byte{0, 0, 7}, icc.Serial)

			ssad, err := c.issuer.SignStaticData([2]byte{0x12, 0x34}, c.static)
			require.NoError(t, err)
			dac, err := VerifyStaticData(ipk.PublicKey, ssad, c.static)
			require.NoError(t, err)
			require.Equal(t, [2]byte{0x12, 0x34}, dac)

			tdd := hx("01020304")
			sdad, err := c.icc.SignDDA(hx("A1B2C3D4"), tdd)
			require.NoError(t, err)
			d, err := VerifyDDA(icc.PublicKey, sdad, tdd)
			require.NoError(t, err)
			require.Equal(t, hx("A1B2C3D4"), d.Number)
		})
	}
}

// TestIssuerCertificateLayout checks each field of the recovered issuer
// certificate against Book 2 Table 6, and the hash against Table 7.
func TestIssuerCertificateLayout(t *testing.T) {
	for _, spec := range chainSpecs {
		t.Run(spec.name, func(t *testing.T) {
			c := newChain(t, spec)
			cert := c.issuer.Certificate
			ca := c.caPub.Key()
			block, err := ca.recoverBlock(ObjectIssuerCert, cert.Data)
			require.NoError(t, err)
			nca, ni := ca.Size(), c.issuer.PublicKey().Size()
			mod := c.issuer.PublicKey().Modulus

			require.Equal(t, byte(0x6A), block[0], "header")
			require.Equal(t, byte(0x02), block[1], "format")
			require.Equal(t, hx("476173FF"), block[2:6], "issuer identifier padded with F")
			require.Equal(t, hx("1230"), block[6:8], "expiry MMYY")
			require.Equal(t, hx("000123"), block[8:11], "serial")
			require.Equal(t, byte(0x01), block[11], "hash algorithm")
			require.Equal(t, byte(0x01), block[12], "public key algorithm")
			require.Equal(t, byte(ni), block[13], "issuer key length")
			require.Equal(t, byte(len(cert.Exponent)), block[14], "exponent length")
			field := block[15 : nca-21]
			require.Len(t, field, nca-36)
			if ni <= nca-36 {
				require.Equal(t, mod, field[:ni])
				require.Equal(t, bytes.Repeat([]byte{0xBB}, nca-36-ni), field[ni:], "pad with BB")
				require.Empty(t, cert.Remainder)
			} else {
				require.Equal(t, mod[:nca-36], field)
				require.Equal(t, mod[nca-36:], cert.Remainder)
			}
			h := sha1.Sum(append(append(append([]byte(nil), block[1:nca-21]...), cert.Remainder...), cert.Exponent...))
			require.Equal(t, h[:], block[nca-21:nca-1], "hash over fields 2-10, remainder, exponent")
			require.Equal(t, byte(0xBC), block[nca-1], "trailer")
		})
	}
}

// TestICCCertificateLayout checks the ICC certificate against Book 2 Table
// 14, and its hash against Table 15 (which includes the static data).
func TestICCCertificateLayout(t *testing.T) {
	for _, spec := range chainSpecs {
		t.Run(spec.name, func(t *testing.T) {
			c := newChain(t, spec)
			cert := c.icc.Certificate
			ipk := c.issuer.PublicKey()
			block, err := ipk.recoverBlock(ObjectICCCert, cert.Data)
			require.NoError(t, err)
			ni, nic := ipk.Size(), c.icc.PublicKey().Size()
			mod := c.icc.PublicKey().Modulus

			require.Equal(t, byte(0x6A), block[0])
			require.Equal(t, byte(0x04), block[1])
			require.Equal(t, hx("4761739001010010FFFF"), block[2:12], "PAN padded with F to 10 bytes")
			require.Equal(t, hx("1230"), block[12:14])
			require.Equal(t, hx("000007"), block[14:17])
			require.Equal(t, []byte{0x01, 0x01, byte(nic), byte(len(cert.Exponent))}, block[17:21])
			field := block[21 : ni-21]
			require.Len(t, field, ni-42)
			if nic <= ni-42 {
				require.Equal(t, mod, field[:nic])
				require.Equal(t, bytes.Repeat([]byte{0xBB}, ni-42-nic), field[nic:])
			} else {
				require.Equal(t, mod[:ni-42], field)
				require.Equal(t, mod[ni-42:], cert.Remainder)
			}
			var in []byte
			in = append(in, block[1:ni-21]...)
			in = append(in, cert.Remainder...)
			in = append(in, cert.Exponent...)
			in = append(in, c.static...)
			h := sha1.Sum(in)
			require.Equal(t, h[:], block[ni-21:ni-1])
			require.Equal(t, byte(0xBC), block[ni-1])
		})
	}
}

func TestRecoverIssuerPublicKeyFailures(t *testing.T) {
	c := chainA(t)
	good := c.issuer.Certificate
	caPub := c.caPub.Key()
	n := caPub.Size()
	re := func(mutate func(b []byte)) []byte {
		return resign(t, c.ca.s, caPub, ObjectIssuerCert, good.Data, mutate)
	}
	sealed := func(mutate func(b []byte)) []byte {
		return re(func(b []byte) { mutate(b); reseal(b, good.Remainder, good.Exponent) })
	}
	otherCA, err := NewCA(TestRID, 0x93, loadKey(t, "ca1024b_e65537"))
	require.NoError(t, err)
	longCA, err := NewCA(TestRID, 0x94, loadKey(t, "ca1152_e65537"))
	require.NoError(t, err)
	withData := func(d []byte) Certificate {
		return Certificate{Data: d, Remainder: good.Remainder, Exponent: good.Exponent}
	}

	for _, tc := range []struct {
		name string
		ca   CAPublicKey
		cert Certificate
		pan  string
		now  time.Time
		want error
	}{
		{"flipped certificate byte", c.caPub, withData(flip(good.Data, 40)), c.pan, testNow, ErrTrailer},
		{"short certificate", c.caPub, withData(good.Data[1:]), c.pan, testNow, ErrLength},
		{"long certificate", c.caPub, withData(append([]byte{0}, good.Data...)), c.pan, testNow, ErrLength},
		{"empty certificate", c.caPub, withData(nil), c.pan, testNow, ErrLength},
		{"certificate not below modulus", c.caPub, withData(bytes.Repeat([]byte{0xFF}, n)), c.pan, testNow, ErrSignature},
		{"header 6B", c.caPub, withData(re(func(b []byte) { b[0] = 0x6B })), c.pan, testNow, ErrHeader},
		{"trailer BD", c.caPub, withData(re(func(b []byte) { b[n-1] = 0xBD })), c.pan, testNow, ErrTrailer},
		{"format 04", c.caPub, withData(sealed(func(b []byte) { b[1] = 0x04 })), c.pan, testNow, ErrFormat},
		{"hash algorithm 02", c.caPub, withData(sealed(func(b []byte) { b[11] = 0x02 })), c.pan, testNow, ErrHashAlg},
		{"key algorithm 02", c.caPub, withData(sealed(func(b []byte) { b[12] = 0x02 })), c.pan, testNow, ErrPKAlg},
		{"hash result flipped", c.caPub, withData(re(func(b []byte) { b[n-2] ^= 1 })), c.pan, testNow, ErrHash},
		{"field changed, hash not", c.caPub, withData(re(func(b []byte) { b[20] ^= 1 })), c.pan, testNow, ErrHash},
		{"wrong remainder", c.caPub, Certificate{Data: good.Data, Remainder: flip(good.Remainder, 3), Exponent: good.Exponent}, c.pan, testNow, ErrHash},
		{"short remainder", c.caPub, Certificate{Data: good.Data, Remainder: good.Remainder[1:], Exponent: good.Exponent}, c.pan, testNow, ErrRemainder},
		{"missing remainder", c.caPub, Certificate{Data: good.Data, Exponent: good.Exponent}, c.pan, testNow, ErrRemainder},
		{"wrong exponent", c.caPub, Certificate{Data: good.Data, Remainder: good.Remainder, Exponent: hx("010001")}, c.pan, testNow, ErrHash},
		{"exponent length field", c.caPub, withData(sealed(func(b []byte) { b[14] = 3 })), c.pan, testNow, ErrExponent},
		{"key length field zero", c.caPub, Certificate{Data: re(func(b []byte) { b[13] = 0; reseal(b, good.Exponent) }), Exponent: good.Exponent}, c.pan, testNow, ErrKeyLength},
		{"wrong PAN", c.caPub, good, "4761749001010010", testNow, ErrIssuerID},
		{"PAN shorter than identifier", c.caPub, good, "47617", testNow, ErrIssuerID},
		{"PAN not digits", c.caPub, good, "47617A9001010010", testNow, ErrIssuerID},
		{"identifier of 2 digits", c.caPub, withData(sealed(func(b []byte) { copy(b[2:6], hx("47FFFFFF")) })), c.pan, testNow, ErrIssuerID},
		{"identifier with F inside", c.caPub, withData(sealed(func(b []byte) { copy(b[2:6], hx("476F73FF")) })), c.pan, testNow, ErrIssuerID},
		{"expired", c.caPub, good, c.pan, time.Date(2031, time.January, 1, 0, 0, 0, 0, time.UTC), ErrExpired},
		{"bad expiry month", c.caPub, withData(sealed(func(b []byte) { copy(b[6:8], hx("1330")) })), c.pan, testNow, ErrDate},
		{"no date", c.caPub, good, c.pan, time.Time{}, ErrInvalid},
		{"other CA key of the same length", otherCA.PublicKey(), good, c.pan, testNow, ErrTrailer},
		{"CA key of another length", longCA.PublicKey(), good, c.pan, testNow, ErrLength},
		{"CA key with bad exponent", CAPublicKey{Modulus: c.caPub.Modulus, Exponent: hx("05")}, good, c.pan, testNow, ErrExponent},
		{"empty CA key", CAPublicKey{}, good, c.pan, testNow, ErrKeyLength},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := RecoverIssuerPublicKey(tc.ca, tc.cert, tc.pan, tc.now)
			require.ErrorIs(t, err, tc.want)
			require.Nil(t, k)
			var oe *Error
			require.True(t, errors.As(err, &oe))
			require.Equal(t, ObjectIssuerCert, oe.Object)
			require.True(t, strings.HasPrefix(err.Error(), "oda: issuer public key certificate (90): "), err.Error())
			require.NotContains(t, err.Error(), tc.pan)
		})
	}
}

func TestRecoverIssuerExpiryBoundary(t *testing.T) {
	c := chainA(t)
	// Valid through the last day of the expiry month (December 2030).
	last := time.Date(2030, time.December, 31, 23, 59, 59, 0, time.UTC)
	_, err := RecoverIssuerPublicKey(c.caPub, c.issuer.Certificate, c.pan, last)
	require.NoError(t, err)
	_, err = RecoverIssuerPublicKey(c.caPub, c.issuer.Certificate, c.pan, last.Add(time.Second))
	require.ErrorIs(t, err, ErrExpired)
}

func TestRecoverIssuerIdentifierLengths(t *testing.T) {
	c := chainA(t)
	pub := c.issuer.PublicKey()
	for _, id := range []string{"476", "4761", "47617", "476173", "4761739", "47617390"} {
		t.Run(id, func(t *testing.T) {
			cert, err := c.ca.CertifyIssuer(pub, IssuerTemplate{IssuerID: id, Expiry: Date{2030, time.June}})
			require.NoError(t, err)
			k, err := RecoverIssuerPublicKey(c.caPub, cert, c.pan, testNow)
			require.NoError(t, err)
			require.Equal(t, id, k.IssuerID)
			_, err = RecoverIssuerPublicKey(c.caPub, cert, "5"+c.pan[1:], testNow)
			require.ErrorIs(t, err, ErrIssuerID)
		})
	}
}

func TestRecoverICCPublicKeyFailures(t *testing.T) {
	c := chainA(t)
	good := c.icc.Certificate
	ipk := c.issuer.PublicKey()
	n := ipk.Size()
	re := func(mutate func(b []byte)) []byte {
		return resign(t, c.issuer.s, ipk, ObjectICCCert, good.Data, mutate)
	}
	sealed := func(mutate func(b []byte)) []byte {
		return re(func(b []byte) { mutate(b); reseal(b, good.Remainder, good.Exponent, c.static) })
	}
	withData := func(d []byte) Certificate {
		return Certificate{Data: d, Remainder: good.Remainder, Exponent: good.Exponent}
	}
	other := newChain(t, chainSpecs[3]).issuer.PublicKey()

	for _, tc := range []struct {
		name   string
		issuer PublicKey
		cert   Certificate
		pan    string
		static []byte
		now    time.Time
		want   error
	}{
		{"flipped certificate byte", ipk, withData(flip(good.Data, 7)), c.pan, c.static, testNow, ErrTrailer},
		{"short certificate", ipk, withData(good.Data[:n-1]), c.pan, c.static, testNow, ErrLength},
		{"header", ipk, withData(re(func(b []byte) { b[0] = 0x6C })), c.pan, c.static, testNow, ErrHeader},
		{"issuer certificate format", ipk, withData(sealed(func(b []byte) { b[1] = 0x02 })), c.pan, c.static, testNow, ErrFormat},
		{"hash algorithm", ipk, withData(sealed(func(b []byte) { b[17] = 0x03 })), c.pan, c.static, testNow, ErrHashAlg},
		{"key algorithm", ipk, withData(sealed(func(b []byte) { b[18] = 0x00 })), c.pan, c.static, testNow, ErrPKAlg},
		{"wrong static data", ipk, good, c.pan, append(append([]byte(nil), c.static...), 0x00), testNow, ErrHash},
		{"static data without AIP", ipk, good, c.pan, c.static[:len(c.static)-2], testNow, ErrHash},
		{"wrong remainder", ipk, Certificate{Data: good.Data, Remainder: flip(good.Remainder, 0), Exponent: good.Exponent}, c.pan, c.static, testNow, ErrHash},
		{"long remainder", ipk, Certificate{Data: good.Data, Remainder: append(append([]byte(nil), good.Remainder...), 1), Exponent: good.Exponent}, c.pan, c.static, testNow, ErrRemainder},
		{"wrong PAN", ipk, good, "4761739001010028", c.static, testNow, ErrPAN},
		{"PAN prefix", ipk, good, "476173900101001", c.static, testNow, ErrPAN},
		{"PAN with extra digit", ipk, good, "47617390010100100", c.static, testNow, ErrPAN},
		{"PAN too long", ipk, good, "47617390010100100000", c.static, testNow, ErrPAN},
		{"empty PAN", ipk, good, "", c.static, testNow, ErrPAN},
		{"expired", ipk, good, c.pan, c.static, time.Date(2031, time.February, 1, 0, 0, 0, 0, time.UTC), ErrExpired},
		{"expiry not BCD", ipk, withData(sealed(func(b []byte) { copy(b[12:14], hx("1A30")) })), c.pan, c.static, testNow, ErrDate},
		{"other issuer key", other, good, c.pan, c.static, testNow, ErrLength},
		{"CA key instead of issuer key", c.caPub.Key(), good, c.pan, c.static, testNow, ErrTrailer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := RecoverICCPublicKey(tc.issuer, tc.cert, tc.pan, tc.static, tc.now)
			require.ErrorIs(t, err, tc.want)
			require.Nil(t, k)
			var oe *Error
			require.True(t, errors.As(err, &oe))
			require.Equal(t, ObjectICCCert, oe.Object)
			if tc.pan != "" {
				require.NotContains(t, err.Error(), tc.pan)
			}
		})
	}
}

func TestCertifyRejects(t *testing.T) {
	c := chainA(t)
	big := newChain(t, chainSpecs[1]) // 1984-bit CA, 1408-bit issuer
	pub := c.issuer.PublicKey()
	for _, tc := range []struct {
		name string
		run  func() error
		want error
	}{
		{"issuer id too short", func() error {
			_, err := c.ca.CertifyIssuer(pub, IssuerTemplate{IssuerID: "47", Expiry: Date{2030, 1}})
			return err
		}, ErrInvalid},
		{"issuer id too long", func() error {
			_, err := c.ca.CertifyIssuer(pub, IssuerTemplate{IssuerID: "476173900", Expiry: Date{2030, 1}})
			return err
		}, ErrInvalid},
		{"issuer id not digits", func() error {
			_, err := c.ca.CertifyIssuer(pub, IssuerTemplate{IssuerID: "47A173", Expiry: Date{2030, 1}})
			return err
		}, ErrInvalid},
		{"bad expiry", func() error {
			_, err := c.ca.CertifyIssuer(pub, IssuerTemplate{IssuerID: "476173", Expiry: Date{2030, 13}})
			return err
		}, ErrDate},
		{"issuer key longer than CA key", func() error {
			_, err := c.ca.CertifyIssuer(big.issuer.PublicKey(), IssuerTemplate{IssuerID: "476173", Expiry: Date{2030, 1}})
			return err
		}, ErrKeyLength},
		{"issuer key with exponent 5", func() error {
			_, err := c.ca.CertifyIssuer(PublicKey{Modulus: pub.Modulus, Exponent: hx("05")}, IssuerTemplate{IssuerID: "476173", Expiry: Date{2030, 1}})
			return err
		}, ErrExponent},
		{"nil CA", func() error {
			var ca *CA
			_, err := ca.CertifyIssuer(pub, IssuerTemplate{IssuerID: "476173", Expiry: Date{2030, 1}})
			return err
		}, ErrInvalid},
		{"ICC PAN not digits", func() error {
			_, err := c.issuer.CertifyICC(c.icc.PublicKey(), ICCTemplate{PAN: "4761-7390", Expiry: Date{2030, 1}})
			return err
		}, ErrInvalid},
		{"ICC PAN of 20 digits", func() error {
			_, err := c.issuer.CertifyICC(c.icc.PublicKey(), ICCTemplate{PAN: "47617390010100100000", Expiry: Date{2030, 1}})
			return err
		}, ErrInvalid},
		{"ICC key longer than issuer key", func() error {
			_, err := c.issuer.CertifyICC(big.issuer.PublicKey(), ICCTemplate{PAN: testPAN, Expiry: Date{2030, 1}})
			return err
		}, ErrKeyLength},
		{"nil issuer", func() error {
			var is *Issuer
			_, err := is.CertifyICC(c.icc.PublicKey(), ICCTemplate{PAN: testPAN, Expiry: Date{2030, 1}})
			return err
		}, ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorIs(t, tc.run(), tc.want)
		})
	}
}

func TestNewIssuerAndICCChecks(t *testing.T) {
	c := chainA(t)
	// Certificate exponent must be the key's.
	_, err := NewIssuer(loadKey(t, "issuer1024_e3"), Certificate{Data: c.issuer.Certificate.Data, Exponent: hx("010001")})
	require.ErrorIs(t, err, ErrExponent)
	_, err = NewICC(loadKey(t, "icc1024_e3"), Certificate{Data: c.icc.Certificate.Data, Exponent: hx("010001")})
	require.ErrorIs(t, err, ErrExponent)
	_, err = NewICC(nil, c.icc.Certificate)
	require.ErrorIs(t, err, ErrInvalid)

	// The pair keeps its own copy of the certificate.
	cert := Certificate{Data: append([]byte(nil), c.icc.Certificate.Data...), Remainder: append([]byte(nil), c.icc.Certificate.Remainder...), Exponent: hx("03")}
	icc, err := NewICC(loadKey(t, "icc1024_e3"), cert)
	require.NoError(t, err)
	cert.Data[0] ^= 0xFF
	require.Equal(t, c.icc.Certificate.Data, icc.Certificate.Data)
}

func TestGenerateChain(t *testing.T) {
	r := seeded(7)
	ca, err := GenerateCA(r, 1024, 3, TestRID, 0x01)
	require.NoError(t, err)
	issuer, err := GenerateIssuer(r, ca, 1024, 65537, IssuerTemplate{IssuerID: "476173", Expiry: Date{2029, time.May}, Serial: [3]byte{1, 2, 3}})
	require.NoError(t, err)
	icc, err := GenerateICC(r, issuer, 1024, 3, ICCTemplate{PAN: testPAN, Expiry: Date{2029, time.May}, StaticData: testStatic})
	require.NoError(t, err)

	ipk, err := RecoverIssuerPublicKey(ca.PublicKey(), issuer.Certificate, testPAN, testNow)
	require.NoError(t, err)
	require.Equal(t, hx("010001"), ipk.Exponent)
	ick, err := RecoverICCPublicKey(ipk.PublicKey, icc.Certificate, testPAN, testStatic, testNow)
	require.NoError(t, err)
	require.Equal(t, hx("03"), ick.Exponent)

	_, err = GenerateCA(r, 1280, 3, TestRID, 0x02)
	require.ErrorIs(t, err, ErrKeyLength)
	_, err = GenerateIssuer(r, ca, 1032, 3, IssuerTemplate{IssuerID: "476173", Expiry: Date{2029, 1}})
	require.ErrorIs(t, err, ErrKeyLength, "issuer key longer than the CA key")
}
