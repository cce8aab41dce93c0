package cryptogram_test

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/mac"
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// An issuer derives a card's master key from its issuer master key.
func ExampleDeriveICCMK() {
	imk := keys.MustHex(keys.TDES, "0123456789ABCDEF0123456789ABCDEF")
	mk, err := cryptogram.DeriveICCMK(cryptogram.OptionA, imk, "43219876543210987", "00")
	if err != nil {
		panic(err)
	}
	fmt.Printf("%X\n", mk.Bytes())
	fmt.Println(mk) // formatting a key shows its check value only
	// Output:
	// C8B507136D921FD05864C81F79F2D30B
	// TDES-128 key KCV 0DA897
}

// The EMV common session key for ATC 001C.
func ExampleSessionKey() {
	mk := keys.MustHex(keys.TDES, "0123456789ABCDEFFEDCBA9876543210")
	sk, err := cryptogram.SessionKey(cryptogram.SessionEMV, mk, mustHex("001C"), nil)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%X\n", sk.Bytes())
	// Output: E9FB384AF807B940FEDCEA613461B0C4
}

// The cryptogram and both ARPC methods with a known session key.
func ExampleComputeAC() {
	sk := keys.MustHex(keys.TDES, "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB")
	data := mustHex("000000002000 000000000000 0124 0000008000 0124 110309 00 3804823E 5800 0001")
	ac, _ := cryptogram.ComputeAC(sk, data, mac.Method2)
	arpc1, _ := cryptogram.ARPCMethod1(sk, mustHex("1234567890ABCDEF"), mustHex("0000"))
	arpc2, _ := cryptogram.ARPCMethod2(sk, mustHex("1234567890ABCDEF"), mustHex("00000000"), nil)
	fmt.Printf("AC %X\nARPC1 %X\nARPC2 %X\n", ac, arpc1, arpc2)
	// Output:
	// AC 3B76CF10FECD8789
	// ARPC1 F5E6F44147E2F1B0
	// ARPC2 9308BEBC
}

// A card computes its ARQC; the issuer finds the CVN from 9F10, verifies
// the ARQC with the same table entry and answers with an ARPC.
func ExampleCVN_GenerateAC() {
	imk := keys.MustHex(keys.TDES, "0123456789ABCDEFFEDCBA9876543210")
	tags := cryptogram.Values{
		0x9F02: mustHex("000000004000"), 0x9F03: mustHex("000000000000"),
		0x9F1A: mustHex("0124"), 0x95: mustHex("8000048000"), 0x5F2A: mustHex("0124"),
		0x9A: mustHex("191105"), 0x9C: mustHex("01"), 0x9F37: mustHex("52BF4585"),
		0x82: mustHex("1800"), 0x9F36: mustHex("001C"), 0x9F10: mustHex("06011203A0B800"),
	}

	// Card side.
	card, _ := cryptogram.Lookup("visa18")
	mk, _ := card.DeriveMK(imk, "1234567890123456", "00")
	arqc, _ := card.GenerateAC(mk, tags)
	fmt.Printf("ARQC %X\n", arqc)

	// Issuer side.
	issuer, _ := cryptogram.DetectCVN(tags[0x9F10])
	fmt.Println("CVN", issuer)
	fmt.Println("verified:", issuer.VerifyARQC(mk, tags, arqc) == nil)
	arpc, _ := issuer.ARPC(mk, tags, arqc, mustHex("00000000"), nil)
	fmt.Printf("ARPC %X\n", arpc)

	// A changed amount no longer matches.
	tags[0x9F02] = mustHex("000000009999")
	fmt.Println(errors.Is(issuer.VerifyARQC(mk, tags, arqc), cryptogram.ErrMismatch))
	// Output:
	// ARQC 7A788EA6B8A3E733
	// CVN visa18 (CVN 12)
	// verified: true
	// ARPC 9AF514C1
	// true
}

// Issuer Application Data split by the Mastercard layout.
func ExampleParseIAD() {
	iad, err := cryptogram.ParseIAD(cryptogram.SchemeMastercard, mustHex("0111A04000000000 1234 0001000200030004"))
	if err != nil {
		panic(err)
	}
	fmt.Printf("DKI %02X CVN %02X CVR %X counters %X\n", iad.DKI, iad.CVN, iad.CVR, iad.Counters)
	// Output: DKI 01 CVN 11 CVR A04000000000 counters 0001000200030004
}

// A missing data element is reported by tag.
func ExampleCVN_Data() {
	c, _ := cryptogram.Lookup("mc16")
	_, err := c.Data(cryptogram.Values{0x9F02: mustHex("000000001000")})
	fmt.Println(err)
	// Output: cryptogram: missing data element 9F03
}
