package cryptogram_test

import (
	"testing"

	"github.com/tapsim/tapsim/emv/cryptogram"
)

// BenchmarkGenerateAC measures the card side: session key, data, MAC.
func BenchmarkGenerateAC(b *testing.B) {
	for _, c := range cryptogram.CVNs() {
		b.Run(c.Name, func(b *testing.B) {
			tags := txTags(c.Name)
			mk := iccMK(b, c)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.GenerateAC(mk, tags); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifyARQC measures the issuer side: recompute and compare.
func BenchmarkVerifyARQC(b *testing.B) {
	for _, c := range cryptogram.CVNs() {
		b.Run(c.Name, func(b *testing.B) {
			tags := txTags(c.Name)
			mk := iccMK(b, c)
			arqc, err := c.GenerateAC(mk, tags)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := c.VerifyARQC(mk, tags, arqc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
