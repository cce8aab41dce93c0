package cloud_test

import (
	"fmt"
	"time"

	emvcloud "github.com/tapsim/tapsim/emv/cloud"
	"github.com/tapsim/tapsim/issuerhost/cloud"
)

// The issuer's ledger of cloud keys: the platform records each key it
// issues to a phone; a lost phone is suspended, the account's other
// phones go on (R-C1, R-S5d). The Verifier refuses the suspended phone's
// keys at the next tap.
func ExampleLedger() {
	now := func() time.Time { return time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC) }
	l := cloud.NewLedger(now)
	ki, _ := emvcloud.NewKeyIndex(now(), 0)
	_ = l.IssueLUK("card-1", "phone-1", ki, 1)
	ki2, _ := emvcloud.NewKeyIndex(now(), 1)
	_ = l.IssueLUK("card-1", "phone-2", ki2, 1)
	_ = l.SuspendDevice("card-1", "phone-1")
	fmt.Println("phone-1 suspended:", l.Suspended("card-1", "phone-1"))
	fmt.Println("phone-2 suspended:", l.Suspended("card-1", "phone-2"))
	fmt.Println("keys of card-1:", len(l.Keys("card-1")))
	// Output:
	// phone-1 suspended: true
	// phone-2 suspended: false
	// keys of card-1: 2
}
