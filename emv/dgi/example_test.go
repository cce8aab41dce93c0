package dgi_test

import (
	"fmt"

	"github.com/tapsim/tapsim/emv/dgi"
	"github.com/tapsim/tapsim/emv/keys"
)

// A record DGI in clear and a key DGI enciphered under K-DEK, as STORE DATA
// carries them.
func Example() {
	dek := keys.MustHex(keys.AES, "404142434445464748494A4B4C4D4E4F")
	mk := []byte("0123456789ABCDEF")
	enc, _ := dgi.Encipher(dek, mk)
	b, _ := dgi.Encode(
		dgi.DGI{Tag: dgi.Record(1, 1), Data: []byte{0x70, 0x03, 0x5F, 0x20, 0x00}},
		dgi.DGI{Tag: dgi.KeysDES, Data: enc},
	)
	ds, _ := dgi.Parse(b)
	for _, d := range ds {
		fmt.Println(d, "sensitive:", dgi.Sensitive(d.Tag))
	}
	clear, _ := dgi.Decipher(dek, ds[1].Data)
	fmt.Println(string(clear) == string(mk))
	// Output:
	// DGI 0101 (5 bytes) sensitive: false
	// DGI 8000 (32 bytes) sensitive: true
	// true
}
