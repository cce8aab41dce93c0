package soft_test

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/hsm/soft"
)

func unhex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// An issuer host checks a card's ARQC and answers with an ARPC; the issuer
// master key never leaves the module, and using it for anything else is
// refused.
func Example() {
	lmk := keys.MustHex(keys.AES, "7D1A3C5E9B2F4866A1C3E5079B2D4F6183A5C7E90B2D4F6183A5C7E90B2D4F61")
	m, err := soft.Open(soft.Config{LMK: lmk, Rand: rand.NewChaCha8([32]byte{})})
	if err != nil {
		panic(err)
	}
	defer m.Close()

	imk, _ := m.ImportKey("issuer/imk-ac", hsm.UsageIMKAC, keys.MustHex(keys.TDES, "0123456789ABCDEFFEDCBA9876543210"))
	fmt.Println(imk)

	tags := cryptogram.Values{
		0x9F02: unhex("000000004000"), 0x9F03: unhex("000000000000"), 0x9F1A: unhex("0124"),
		0x95: unhex("8000048000"), 0x5F2A: unhex("0124"), 0x9A: unhex("191105"), 0x9C: unhex("01"),
		0x9F37: unhex("52BF4585"), 0x82: unhex("1800"), 0x9F36: unhex("001C"), 0x9F10: unhex("06011203A0B800"),
	}
	arqc := unhex("7A788EA6B8A3E733")
	fmt.Println("ARQC ok:", m.VerifyARQC(imk, "visa18", "1234567890123456", "00", tags, arqc) == nil)
	arpc, _ := m.GenerateARPC(imk, "visa18", "1234567890123456", "00", tags, arqc, unhex("00000000"), nil)
	fmt.Printf("ARPC %X\n", arpc)

	_, err = m.GenerateMAC(imk, []byte("0110"))
	fmt.Println(errors.Is(err, hsm.ErrUsage))
	// Output:
	// IMK-AC "issuer/imk-ac" TDES-128 KCV 08D7B4
	// ARQC ok: true
	// ARPC 9AF514C1
	// true
}

// An acquirer re-enciphers a PIN pad's DUKPT PIN block under the zone PIN
// key it shares with the issuer (ANSI X9.24-1 annex A, first transaction).
func ExampleHSM_TranslatePINDUKPT() {
	lmk := keys.MustHex(keys.AES, "7D1A3C5E9B2F4866A1C3E5079B2D4F6183A5C7E90B2D4F6183A5C7E90B2D4F61")
	m, _ := soft.Open(soft.Config{LMK: lmk, Rand: rand.NewChaCha8([32]byte{})})
	defer m.Close()
	bdk, _ := m.ImportKey("acquirer/bdk", hsm.UsageBDK, keys.MustHex(keys.TDES, "0123456789ABCDEFFEDCBA9876543210"))
	zpk, _ := m.ImportKey("acquirer/zpk", hsm.UsageZPK, keys.MustHex(keys.TDES, "89ABCDEF0123456776543210FEDCBA98"))

	out, err := m.TranslatePINDUKPT(bdk, unhex("FFFF9876543210E00001"), unhex("1B9C1845EB993A7A"), zpk, "4012345678909")
	fmt.Printf("%X %v\n", out, err)
	// Output: 33358C5F4C389652 <nil>
}

// The issuer verifies the PIN against the card's Visa PVV.
func ExampleHSM_VerifyPIN() {
	lmk := keys.MustHex(keys.AES, "7D1A3C5E9B2F4866A1C3E5079B2D4F6183A5C7E90B2D4F6183A5C7E90B2D4F61")
	m, _ := soft.Open(soft.Config{LMK: lmk, Rand: rand.NewChaCha8([32]byte{})})
	defer m.Close()
	pvk, _ := m.ImportKey("issuer/pvk", hsm.UsagePVK, keys.MustHex(keys.TDES, "5CA64B3C22BEC347CA7E6609904BAAED"))
	bdk, _ := m.ImportKey("acquirer/bdk", hsm.UsageBDK, keys.MustHex(keys.TDES, "0123456789ABCDEFFEDCBA9876543210"))
	zpk, _ := m.ImportKey("zpk", hsm.UsageZPK, keys.MustHex(keys.TDES, "89ABCDEF0123456776543210FEDCBA98"))

	pvv, _ := m.GeneratePVV(pvk, "4012345678909", "1234", 1) // when the card is issued
	block, _ := m.TranslatePINDUKPT(bdk, unhex("FFFF9876543210E00001"), unhex("1B9C1845EB993A7A"), zpk, "4012345678909")
	fmt.Println(m.VerifyPIN(zpk, block, "4012345678909", pvk, 1, pvv))
	// Output: <nil>
}

// A PAN kept at rest: sealed under a data-encryption key, found again by
// its keyed hash; an altered value is refused rather than read wrong.
func ExampleHSM_EncryptData() {
	lmk := keys.MustHex(keys.AES, "7D1A3C5E9B2F4866A1C3E5079B2D4F6183A5C7E90B2D4F6183A5C7E90B2D4F61")
	m, err := soft.Open(soft.Config{LMK: lmk, Rand: rand.NewChaCha8([32]byte{})})
	if err != nil {
		panic(err)
	}
	defer m.Close()
	dek, _ := m.GenerateKey("issuer/dek", hsm.UsageDEK, keys.AES, 32)
	idx, _ := m.GenerateKey("issuer/pan-hmac", hsm.UsageDataHash, keys.AES, 32)

	aad := []byte("cards/c1/pan")
	sealed, _ := m.EncryptData(dek, []byte("4761739001010010"), aad)
	plain, _ := m.DecryptData(dek, sealed, aad)
	a, _ := m.HashData(idx, []byte("4761739001010010"))
	b, _ := m.HashData(idx, plain)
	fmt.Println(string(plain), len(sealed), hex.EncodeToString(a) == hex.EncodeToString(b))

	sealed[20] ^= 1
	_, err = m.DecryptData(dek, sealed, aad)
	fmt.Println(errors.Is(err, hsm.ErrDecrypt))
	// Output:
	// 4761739001010010 44 true
	// true
}
