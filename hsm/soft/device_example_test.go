package soft_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	mrand "math/rand/v2"

	"github.com/tapsim/tapsim/emv/devicekey"
	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/hsm/soft"
)

// A token service personalising a wallet phone asks the issuer's module
// for the token's ICC master key wrapped for the phone's key; the phone
// unwraps it and checks its KCV.
func ExampleHSM_ExportICCMKToDevice() {
	lmk := keys.MustHex(keys.AES, "7D1A3C5E9B2F4866A1C3E5079B2D4F6183A5C7E90B2D4F6183A5C7E90B2D4F61")
	m, err := soft.Open(soft.Config{LMK: lmk, Rand: mrand.NewChaCha8([32]byte{})})
	if err != nil {
		panic(err)
	}
	defer m.Close()
	imk, _ := m.ImportKey("issuer/token-imk", hsm.UsageIMKAC, keys.MustHex(keys.TDES, "0123456789ABCDEFFEDCBA9876543210"))
	phone, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)

	wrapped, kcv, err := m.ExportICCMKToDevice(imk, "visa22", "1234567890123456", "00", &phone.PublicKey)
	if err != nil {
		panic(err)
	}
	mk, err := devicekey.UnwrapChecked(phone, keys.TDES, wrapped, kcv)
	fmt.Println(len(wrapped), "bytes, KCV", kcv, err == nil, mk.Len())
	// Output:
	// 90 bytes, KCV BAB02F true 16
}
