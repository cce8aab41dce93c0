package cloud_test

import (
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/tapsim/tapsim/emv/cloud"
	"github.com/tapsim/tapsim/emv/cryptogram"
	"github.com/tapsim/tapsim/emv/keys"
)

func transaction(iad []byte) cryptogram.Values {
	h := func(s string) []byte { b, _ := hex.DecodeString(s); return b }
	return cryptogram.Values{
		0x9F02: h("000000012500"), 0x9F03: h("000000000000"), 0x9F1A: h("0158"), 0x95: h("0000008000"),
		0x5F2A: h("0901"), 0x9A: h("250314"), 0x9C: h("00"), 0x9F37: h("0BADCAFE"), 0x82: h("1980"),
		0x9F36: h("0042"), 0x9F10: iad,
	}
}

// A limited-use key made at one hour, used once, and refused the second
// time.
func Example_limitedUseKey() {
	mk := keys.MustHex(keys.TDES, "9249345E0220CEBA0D20D6A2453BF407") // the token's ICC master key
	made := time.Date(2025, time.February, 21, 10, 30, 0, 0, time.UTC)
	ki, _ := cloud.NewKeyIndex(made, 7)
	luk, _ := cloud.DeriveLUK(mk, 3, ki)
	fmt.Println("key index", ki, "LUK KCV", luk.KCVHex())

	// The phone.
	tags := transaction(cloud.VisaIAD(0x01, [4]byte{0x03, 0xA0}, ki))
	ac, _ := cloud.GenerateLUKAC(luk, tags)
	fmt.Printf("9F26 %X\n", ac)

	// The issuer.
	fmt.Println("cryptogram:", cloud.VerifyLUKAC(mk, 3, ki, tags, ac))
	fmt.Println("first use:", cloud.DefaultValidity.Check(ki, 0, made.Add(time.Minute)))
	err := cloud.DefaultValidity.Check(ki, 1, made.Add(2*time.Minute))
	fmt.Println("second use refused:", errors.Is(err, cloud.ErrKeyUsedUp))
	// Output:
	// key index 5123407 LUK KCV 33B3E8
	// 9F26 6326DB4510757A67
	// cryptogram: <nil>
	// first use: <nil>
	// second use refused: true
}

// Two cryptograms: the right PIN verifies the cardholder, a wrong one makes
// a cryptogram the issuer refuses.
func Example_singleUseKeys() {
	mkMD := keys.MustHex(keys.TDES, "9249345E0220CEBA0D20D6A2453BF407")
	mkUMD := keys.MustHex(keys.TDES, "5198E0086E1AA2B96D024958209E3213")
	salt, _ := hex.DecodeString("0001020304050607")
	const tur = "DWSPMC000000000132d72d4fcb2f4136a0532d3093ff1a45"

	// The platform, for ATC 0042.
	skMD, skUMD, _ := cloud.SessionKeys(mkMD, mkUMD, 0x0042)
	suk, _ := cloud.MakeSUK(skUMD, "2468", salt, tur)

	for _, pin := range []string{"2468", "2469"} {
		// The phone.
		k, _ := cloud.UnlockSUK(suk, pin, salt, tur)
		ac, iad, _ := cloud.GenerateMC(skMD, k, transaction(cloud.MCIAD(0x01, [4]byte{0x03, 0xA0}, [4]byte{})))
		// The issuer.
		v, err := cloud.VerifyMC(mkMD, mkUMD, transaction(iad), ac)
		fmt.Printf("PIN %s: 9F26 %X, MD %v, cardholder verified %v, %v\n", pin, ac, v.MD, v.CardholderVerified(), err)
	}
	// Output:
	// PIN 2468: 9F26 124135779495827F, MD true, cardholder verified true, <nil>
	// PIN 2469: 9F26 0C7F8E772D2A5A58, MD true, cardholder verified false, cloud: UMD cryptogram: cryptogram: mismatch
}
