package pvv_test

import (
	"errors"
	"fmt"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm/pvv"
)

// An issuer computes the PVV it keeps for a card, then checks PINs against
// it.
func ExampleCompute() {
	pvk := keys.MustHex(keys.TDES, "5CA64B3C22BEC347CA7E6609904BAAED")
	v, _ := pvv.Compute(pvk, "4564320000980369", "2205", 1)
	fmt.Println(v)
	fmt.Println(pvv.Verify(pvk, "4564320000980369", "2205", 1, v))
	fmt.Println(errors.Is(pvv.Verify(pvk, "4564320000980369", "2206", 1, v), pvv.ErrMismatch))
	// Output:
	// 3856
	// <nil>
	// true
}

// The transformed security parameter: 11 PAN digits before the check
// digit, the key index, the 4 leftmost PIN digits.
func ExampleTSP() {
	tsp, _ := pvv.TSP("4441234567890123", "1234", 1)
	fmt.Println(tsp)
	// Output: 2345678901211234
}
