package keywrap_test

import (
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/keywrap"
)

// RFC 3394 section 4.1: 128 bits of key data under a 128-bit KEK.
func ExampleWrap() {
	kek := keys.MustHex(keys.AES, "000102030405060708090A0B0C0D0E0F")
	data, _ := hex.DecodeString("00112233445566778899AABBCCDDEEFF")
	w, _ := keywrap.Wrap(kek, data)
	fmt.Printf("%X\n", w)
	// Output: 1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5
}

// Unwrapping checks integrity: one altered byte is refused.
func ExampleUnwrap() {
	kek := keys.MustHex(keys.AES, "000102030405060708090A0B0C0D0E0F")
	w, _ := hex.DecodeString("1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5")
	p, err := keywrap.Unwrap(kek, w)
	fmt.Printf("%X %v\n", p, err)
	w[10] ^= 0x01
	_, err = keywrap.Unwrap(kek, w)
	fmt.Println(errors.Is(err, keywrap.ErrIntegrity))
	// Output:
	// 00112233445566778899AABBCCDDEEFF <nil>
	// true
}
