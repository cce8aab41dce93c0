package keyblock_test

import (
	"fmt"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm"
	"github.com/tapsim/tapsim/hsm/keyblock"
)

// A zone PIN key travels between two modules wrapped under their shared
// key-encryption key; the receiver gets the key and its usage back.
func ExampleWrap() {
	kek := keys.MustHex(keys.AES, "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F")
	zpk := keys.MustHex(keys.TDES, "0123456789ABCDEFFEDCBA9876543210")
	block, _ := keyblock.Wrap(kek, hsm.UsageZPK, 0, zpk)
	fmt.Println(len(block), "bytes")

	b, err := keyblock.Open(kek, block)
	fmt.Println(b, err)
	// Output:
	// 32 bytes
	// key block ZPK context 0 TDES-128 key KCV 08D7B4 <nil>
}
