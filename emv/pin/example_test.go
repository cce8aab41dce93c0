package pin_test

import (
	"bytes"
	"encoding/hex"
	"fmt"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/emv/pin"
)

// A format 0 PIN block: PIN field 041234FFFFFFFFFF XOR PAN field
// 0000433221100996.
func ExampleEncode() {
	block, _ := pin.Encode(pin.Format0, "1234", "5544332211009966", nil)
	fmt.Printf("%X\n", block)
	p, _ := pin.Decode(pin.Format0, block, "5544332211009966")
	fmt.Println(p)
	// Output:
	// 041277CDDEEFF669
	// 1234
}

// A format 3 block with fixed fill, for a reproducible example: only the
// nibbles A-F of the random source become fill digits.
func ExampleEncode_format3() {
	fill, _ := hex.DecodeString("ABCDEFABCD")
	block, _ := pin.Encode(pin.Format3, "1234", "5544332211009966", bytes.NewReader(fill))
	fmt.Printf("%X\n", block)
	// Output:
	// 34127799ECFFA25B
}

// The format 0 block of ANSI X9.24-1 annex A enciphered under the DUKPT PIN
// key of its first transaction.
func ExampleEncrypt() {
	pinKey := keys.MustHex(keys.TDES, "042666B49184CF5C68DE9628D0397B36")
	clear, _ := pin.Encode(pin.Format0, "1234", "4012345678909", nil)
	enc, _ := pin.Encrypt(pinKey, clear)
	fmt.Printf("%X\n", enc)
	// Output:
	// 1B9C1845EB993A7A
}

// ISO 9564-1:2017 format 4 under an AES PIN key (ANSI X9.24-3 supplement
// test vector; the 8 random bytes are fixed here).
func ExampleEncipherFormat4() {
	k := keys.MustHex(keys.AES, "AF8CB133A78F8DC2D1359F18527593FB")
	random, _ := hex.DecodeString("2F69ADDE2E9E7ACE")
	block, _ := pin.EncipherFormat4(k, "1234", "4111111111111111", bytes.NewReader(random))
	fmt.Printf("%X\n", block)
	p, _ := pin.DecipherFormat4(k, block, "4111111111111111")
	fmt.Println(p)
	// Output:
	// A912150391AB65A67E52883D81CE2D15
	// 1234
}

// An acquirer's security module moves a PIN block from the terminal's key
// to the issuer's key without the PIN leaving it.
func ExampleTranslate() {
	terminalKey := keys.MustHex(keys.TDES, "042666B49184CF5C68DE9628D0397B36")
	issuerKey := keys.MustHex(keys.TDES, "C46551CEF9FD244FAA9AD834130D3B38")
	in, _ := hex.DecodeString("1B9C1845EB993A7A")
	out, err := pin.Translate(in, terminalKey, issuerKey, pin.Format0, pin.Format0, "4012345678909")
	fmt.Printf("%X %v\n", out, err)
	_, err = pin.Translate(in, terminalKey, issuerKey, pin.Format0, pin.Format1, "4012345678909")
	fmt.Println(err)
	// Output:
	// 10A01C8D02C69107 <nil>
	// pin: translation not permitted: ISO 9564-1 format 0 is bound to the PAN, ISO 9564-1 format 1 is not
}
