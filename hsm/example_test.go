package hsm_test

import (
	"errors"
	"fmt"

	"github.com/tapsim/tapsim/emv/keys"
	"github.com/tapsim/tapsim/hsm"
)

// A usage says which keys it takes; a zone PIN key may be TDES or AES, a
// key-encryption key only AES (it wraps with RFC 3394).
func ExampleUsage_Admits() {
	fmt.Println(hsm.UsageZPK.Admits(keys.TDES, 16))
	fmt.Println(hsm.UsageKEK.Admits(keys.TDES, 16))
	// Output:
	// <nil>
	// hsm: key algorithm or length not allowed for its usage: KEK takes AES 16/24/32 bytes, not TDES of 16 bytes
}

// Callers see handles, never keys; a key presented for an operation its
// usage does not allow is refused with a *UsageError.
func ExampleUsageError() {
	h := hsm.Handle{ID: "k7f3a", Label: "acquirer/tak", Usage: hsm.UsageTAK, Alg: keys.TDES, Len: 16, KCV: "91A1BB"}
	fmt.Println(h)
	var err error = &hsm.UsageError{Op: "translate-pin", Label: h.Label, Have: h.Usage, Want: []hsm.Usage{hsm.UsageTPK, hsm.UsageZPK}}
	fmt.Println(errors.Is(err, hsm.ErrUsage))
	fmt.Println(err)
	// Output:
	// TAK "acquirer/tak" TDES-128 KCV 91A1BB
	// true
	// hsm: key usage does not allow the operation: translate-pin needs a TPK or ZPK key, "acquirer/tak" is TAK
}
