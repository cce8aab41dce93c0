package oda

import (
	"testing"
)

// Benchmarks of the operations on the path of a tap, with 1024-bit keys
// (exponent 3) as in chain A.

func BenchmarkSignFDDA(b *testing.B) {
	c := chainA(b)
	tdd := hx("2C975EAC000000001800097801253996170000")
	number := hx("0002")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.icc.SignDDA(number, tdd); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyFDDA(b *testing.B) {
	c := chainA(b)
	tdd := hx("2C975EAC000000001800097801253996170000")
	sdad, err := c.icc.SignDDA(hx("0002"), tdd)
	if err != nil {
		b.Fatal(err)
	}
	pub := c.icc.PublicKey()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := VerifyDDA(pub, sdad, tdd); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSignCDA(b *testing.B) {
	c := chainA(b)
	d := DynamicData{Number: hx("0011223344556677"), CID: 0x80, AC: hx("8E5A1C2B3D4E5F60"), TransactionDataHash: make([]byte, 20)}
	un := hx("0BADBEEF")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.icc.SignCDA(d, un); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyCDA(b *testing.B) {
	c := chainA(b)
	x := newCDACase(b, c)
	pub := c.icc.PublicKey()
	in := x.input()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := VerifyCDA(pub, x.sdad, in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRecoverChain is the certificate work of a tap: issuer and ICC
// public keys recovered and checked.
func BenchmarkRecoverChain(b *testing.B) {
	c := chainA(b)
	b.ReportAllocs()
	for b.Loop() {
		ipk, err := RecoverIssuerPublicKey(c.caPub, c.issuer.Certificate, c.pan, testNow)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := RecoverICCPublicKey(ipk.PublicKey, c.icc.Certificate, c.pan, c.static, testNow); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGenerateKey1024 is the cost of a new 1024-bit card key.
func BenchmarkGenerateKey1024(b *testing.B) {
	r := seeded(9)
	for b.Loop() {
		if _, err := GenerateKey(r, 1024, 3); err != nil {
			b.Fatal(err)
		}
	}
}
