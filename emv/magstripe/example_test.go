package magstripe_test

import (
	"fmt"

	"github.com/tapsim/tapsim/emv/magstripe"
)

// A reader writes the dynamic digits of a mag-stripe mode transaction into
// track 2; the issuer reads them back and gets the track as personalised.
func Example() {
	static := []byte{0x54, 0x13, 0x33, 0x00, 0x89, 0x01, 0x00, 0x12, 0xD2, 0x91, 0x22, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0F}
	t, err := magstripe.ParseTrack2(static)
	if err != nil {
		fmt.Println(err)
		return
	}
	l := magstripe.Layout{PCVC3: 0x000E, PUNATC: 0x0FF0, NATC: 3}
	filled, err := magstripe.Fill(t, l, magstripe.Dynamic{CVC3: []byte{0x30, 0x39}, UN: []byte{0x00, 0x01, 0x23, 0x45}, ATC: 291})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("nUN %d, track %X\n", l.NUN(), filled.Bytes()[8:])
	st, cvc3, un, atc, _ := magstripe.Read(filled, l)
	fmt.Printf("CVC3 digits %d, UN %X, ATC digits %d, static %X\n", cvc3, un, atc, st.Bytes()[8:])
	// Output:
	// nUN 5, track D29122010291123453455F
	// CVC3 digits 345, UN 00012345, ATC digits 291, static D29122010000000000000F
}
