package phone_test

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/tapsim/tapsim/cards/passcode"
	"github.com/tapsim/tapsim/cards/phone"
)

func Example() {
	p, err := phone.New(phone.Config{Kind: phone.Wallet, Passcode: "5791", Rand: bytes.NewReader(make([]byte, 256))})
	if err != nil {
		fmt.Println(err)
		return
	}
	for range 5 {
		err = p.Unlock("0000")
	}
	fmt.Println(errors.Is(err, passcode.ErrLocked), p.Locked())
	fmt.Println(p.IssuerReset("2468"), p.Unlock("2468"), p.Verified())
	fmt.Println(phone.MaskPAN("4761739001010010"))
	// Output:
	// true true
	// <nil> <nil> true
	// 476173******0010
}
