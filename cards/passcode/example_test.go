package passcode_test

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/tapsim/tapsim/cards/passcode"
)

func Example() {
	salt := bytes.NewReader(make([]byte, 64)) // use crypto/rand.Reader outside tests
	if err := passcode.Check("1234"); errors.Is(err, passcode.ErrSequence) {
		fmt.Println("1234 refused:", err)
	}
	p, _ := passcode.New("5791", salt)
	for range 5 {
		_ = p.Verify("0000")
	}
	fmt.Println(p.Verify("5791"))
	_ = p.Reset("2468", salt)
	fmt.Println(p.Verify("2468"), p.Failed())
	// Output:
	// 1234 refused: passcode: run of consecutive digits (R-G3b)
	// passcode: locked after 5 wrong entries, issuer reset required (R-G3c)
	// <nil> 0
}
