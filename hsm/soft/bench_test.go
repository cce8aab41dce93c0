package soft_test

import (
	"testing"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm"
)

func BenchmarkVerifyARQC(b *testing.B) {
	f := newHSM(b, "")
	imk := mustImport(b, f.hsm, "imk", hsm.UsageIMKAC, keys.TDES, katIMK)
	for _, v := range arqcVectors(b)[:3] {
		arqc := h(b, v.arqc)
		b.Run(v.cvn, func(b *testing.B) {
			for b.Loop() {
				if err := f.hsm.VerifyARQC(imk, v.cvn, katPAN, "00", v.tags, arqc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkGenerateARPC(b *testing.B) {
	f := newHSM(b, "")
	imk := mustImport(b, f.hsm, "imk", hsm.UsageIMKAC, keys.TDES, katIMK)
	v := arqcVectors(b)[1]
	arqc, resp := h(b, v.arqc), h(b, v.resp)
	for b.Loop() {
		if _, err := f.hsm.GenerateARPC(imk, v.cvn, katPAN, "00", v.tags, arqc, resp, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTranslatePINDUKPT(b *testing.B) {
	f := newHSM(b, "")
	bdk := mustImport(b, f.hsm, "bdk", hsm.UsageBDK, keys.TDES, x924BDK)
	zpk := mustImport(b, f.hsm, "zpk", hsm.UsageZPK, keys.TDES, zpkHex)
	aesBDK := mustImport(b, f.hsm, "aes-bdk", hsm.UsageBDK, keys.AES, "FEDCBA9876543210F1F1F1F1F1F1F1F1")
	aesZPK := mustImport(b, f.hsm, "aes-zpk", hsm.UsageZPK, keys.AES, aesZPK)
	cases := []struct {
		name       string
		bdk, zpk   hsm.Handle
		ksn, block []byte
		pan        string
	}{
		{"tdes/counter-1", bdk, zpk, h(b, "FFFF9876543210E00001"), h(b, "1B9C1845EB993A7A"), x924PAN},
		{"tdes/counter-F00000", bdk, zpk, h(b, "FFFF9876543210F00000"), h(b, "73EC88AD0AC5830E"), x924PAN},
		{"aes-to-aes", aesBDK, aesZPK, h(b, "123456789012345600000001"), h(b, "A912150391AB65A67E52883D81CE2D15"), "4111111111111111"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := f.hsm.TranslatePINDUKPT(c.bdk, c.ksn, c.block, c.zpk, c.pan); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerifyPIN(b *testing.B) {
	f := newHSM(b, "")
	zpk := mustImport(b, f.hsm, "zpk", hsm.UsageZPK, keys.TDES, zpkHex)
	pvk := mustImport(b, f.hsm, "pvk", hsm.UsagePVK, keys.TDES, "5CA64B3C22BEC347CA7E6609904BAAED")
	blk := encPIN(b, zpkHex, "2205", "4564320000980369")
	for b.Loop() {
		if err := f.hsm.VerifyPIN(zpk, blk, "4564320000980369", pvk, 1, "3856"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyMAC(b *testing.B) {
	f := newHSM(b, "")
	tak := mustImport(b, f.hsm, "tak", hsm.UsageTAK, keys.TDES, "042666B4918430A368DE9628D03984C9")
	msg := make([]byte, 256)
	m, err := f.hsm.GenerateMAC(tak, msg)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := f.hsm.VerifyMAC(tak, msg, m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecryptData opens one sealed field, as the issuer's store does
// for a card's PAN, expiry and PVV on every authorisation.
func BenchmarkDecryptData(b *testing.B) {
	f := newHSM(b, "")
	dek, err := f.hsm.GenerateKey("issuer/dek", hsm.UsageDEK, keys.AES, 32)
	if err != nil {
		b.Fatal(err)
	}
	aad := []byte("cards/c1/pan")
	sealed, err := f.hsm.EncryptData(dek, []byte("4761739001010010"), aad)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.hsm.DecryptData(dek, sealed, aad); err != nil {
			b.Fatal(err)
		}
	}
}
