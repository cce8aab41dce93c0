package cards_test

import (
	"bytes"
	"fmt"
	"time"

	"github.com/tapsim/tapsim/cards"
	"github.com/tapsim/tapsim/emv/apdu"
)

func Example() {
	p, _ := cards.Builtin("visa-plastic")
	card, _ := cards.FromProfile(p, cards.Options{
		Rand:  bytes.NewReader(make([]byte, 4096)), // fixed source: repeatable runs
		Clock: func() time.Time { return time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC) },
	})
	for _, cmd := range []apdu.Command{apdu.SelectPPSE(), apdu.Select([]byte{0xA0, 0, 0, 0, 0x03, 0x10, 0x10}, true)} {
		b, _ := cmd.Bytes()
		r, _ := apdu.ParseResponse(card.Process(b))
		fmt.Println(cmd, "->", apdu.Describe(r.SW))
	}
	r, _ := apdu.ParseResponse(card.Process([]byte{0x80, 0xCA, 0x9F, 0x36, 0x00}))
	fmt.Printf("ATC %X\n", r.Data)
	// Output:
	// 00A40400 Lc=14 Le=256 -> 9000: normal processing
	// 00A40400 Lc=7 Le=256 -> 9000: normal processing
	// ATC 9F36020000
}

func ExamplePhone() {
	p, _ := cards.Builtin("hce-phone")
	card, _ := cards.FromProfile(p, cards.Options{Rand: bytes.NewReader(make([]byte, 4096))})
	phone, _ := cards.Phone(card)
	fmt.Println(phone.Kind(), phone.KeysLeft(), phone.LookupPAN())
	fmt.Println(phone.Unlock("1234"))
	fmt.Println(phone.Unlock("5791"), phone.Verified())
	// Output:
	// hce-phone 5 [489537******0011]
	// passcode: wrong passcode, 4 tries left
	// <nil> true
}
