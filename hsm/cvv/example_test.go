package cvv_test

import (
	"fmt"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm/cvv"
)

// The code printed on the back of a card: service code 000.
func ExampleCompute() {
	cvk := keys.MustHex(keys.TDES, "0123456789ABCDEFFEDCBA9876543210")
	code, err := cvv.Compute(cvk, "1234567890123456", "9912", "220")
	fmt.Println(code, err)
	// Output: 170 <nil>
}
